//! Native TLS: the certificate and key files, read and checked; the
//! certificate handshakes are given, which a reload swaps for new
//! connections while open ones keep theirs; and what starts a reload
//! (SIGHUP, or the files' contents changing).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};
use x509_cert::der::Decode;

use crate::config::TlsFiles;

/// How often the files are read for a change. Reading two small files and
/// hashing them costs microseconds; a renewal is seen within seconds.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

/// Why a pair of files cannot be served. The messages name the flag and the
/// file, never what the key file holds.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{flag} {}: could not read it: {error}", path.display())]
    Unreadable { flag: &'static str, path: PathBuf, error: std::io::Error },
    #[error("--tls-cert {}: {detail}", path.display())]
    Certificate { path: PathBuf, detail: String },
    #[error("--tls-key {}: {detail}", path.display())]
    Key { path: PathBuf, detail: String },
    #[error(
        "--tls-key {} is not the private key of the certificate in --tls-cert {}: their public keys differ",
        key.display(),
        cert.display()
    )]
    Mismatch { cert: PathBuf, key: PathBuf },
}

/// What a log line says of the certificate being served.
#[derive(Debug, Clone)]
struct Summary {
    subject: String,
    serial: String,
    not_before: String,
    not_after: String,
    /// Outside its validity now: clients that verify refuse it.
    expired: bool,
    not_yet_valid: bool,
}

/// The contents of both files, read together so that one reload sees one
/// state of them.
struct Contents {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl Contents {
    fn read(files: &TlsFiles) -> Result<Self, TlsError> {
        let read = |flag, path: &Path| {
            std::fs::read(path).map_err(|error| TlsError::Unreadable { flag, path: path.to_owned(), error })
        };
        Ok(Self { cert: read("--tls-cert", &files.cert)?, key: read("--tls-key", &files.key)? })
    }

    /// Tells a change of either file, including one that kept its
    /// modification time (`cp -p`, an archive).
    fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update((self.cert.len() as u64).to_be_bytes());
        hash.update(&self.cert);
        hash.update(&self.key);
        hash.finalize().into()
    }

    fn certified_key(&self, files: &TlsFiles, provider: &CryptoProvider) -> Result<(CertifiedKey, Summary), TlsError> {
        let cert_error = |detail: String| TlsError::Certificate { path: files.cert.clone(), detail };
        let key_error = |detail: String| TlsError::Key { path: files.key.clone(), detail };
        let chain = CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| cert_error(format!("not valid PEM: {}", pem_problem(&e))))?;
        let Some(leaf) = chain.first() else {
            let hint = if PrivateKeyDer::from_pem_slice(&self.cert).is_ok() {
                " (it holds a private key: are --tls-cert and --tls-key swapped?)"
            } else {
                ""
            };
            return Err(cert_error(format!("holds no PEM certificate (-----BEGIN CERTIFICATE-----){hint}")));
        };
        let summary =
            summarize(leaf).map_err(|e| cert_error(format!("its first certificate is not valid X.509: {e}")))?;
        for (i, other) in chain.iter().enumerate().skip(1) {
            x509_cert::Certificate::from_der(other)
                .map_err(|e| cert_error(format!("certificate {} of the chain is not valid X.509: {e}", i + 1)))?;
        }
        let key = match PrivateKeyDer::from_pem_slice(&self.key) {
            Ok(key) => key,
            Err(pem::Error::NoItemsFound) => {
                return Err(key_error(
                    "holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)".into(),
                ));
            }
            Err(e) => return Err(key_error(format!("not valid PEM: {}", pem_problem(&e)))),
        };
        let signing_key = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| key_error(format!("not a usable RSA, ECDSA or Ed25519 private key: {e}")))?;
        let certified = CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            Ok(()) => Ok((certified, summary)),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                Err(TlsError::Mismatch { cert: files.cert.clone(), key: files.key.clone() })
            }
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
                Err(key_error("its public key cannot be derived to check it against the certificate".into()))
            }
            Err(e) => Err(cert_error(format!("its first certificate cannot be used: {e}"))),
        }
    }
}

fn summarize(leaf: &CertificateDer<'_>) -> Result<Summary, x509_cert::der::Error> {
    let cert = x509_cert::Certificate::from_der(leaf)?;
    let tbs = cert.tbs_certificate;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Ok(Summary {
        subject: tbs.subject.to_string(),
        serial: tbs.serial_number.to_string(),
        not_before: tbs.validity.not_before.to_string(),
        not_after: tbs.validity.not_after.to_string(),
        expired: tbs.validity.not_after.to_unix_duration() < now,
        not_yet_valid: tbs.validity.not_before.to_unix_duration() > now,
    })
}

/// The certificate every new handshake is given.
struct Served(ArcSwap<CertifiedKey>);

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Served(<certificate and key>)")
    }
}

impl ResolvesServerCert for Served {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// Native TLS for one listener: the files, the certificate served from
/// them, and the fingerprint of what was last read.
pub struct Tls {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    served: Arc<Served>,
    config: Arc<ServerConfig>,
    /// The last contents tried (served, or refused and logged), so that the
    /// poll acts once per change; an error text when they could not be read.
    last_seen: Mutex<Result<[u8; 32], String>>,
}

/// What asked for a reload, for the log.
#[derive(Debug, Clone, Copy)]
pub enum Trigger {
    Sighup,
    FileChange,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Sighup => "SIGHUP",
            Trigger::FileChange => "file change",
        }
    }
}

impl Tls {
    /// Reads and checks the files: at start, any fault is the caller's to
    /// report, and keyward does not start.
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let provider = Arc::new(ring::default_provider());
        let contents = Contents::read(files)?;
        let (key, summary) = contents.certified_key(files, &provider)?;
        log_served(&summary, None, "loaded the TLS certificate");
        let served = Arc::new(Served(ArcSwap::from_pointee(key)));
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(served.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        // No session is resumed: a resumed session skips the certificate,
        // so after a reload a client could go on resuming one made under the
        // old certificate (even one made by a handshake that straddled the
        // reload). Every connection is authenticated with the certificate
        // served at that moment; TLS 1.3's full handshake costs no more
        // round trips than a resumption.
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Self {
            files: files.clone(),
            provider,
            served,
            config: Arc::new(config),
            last_seen: Mutex::new(Ok(contents.fingerprint())),
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }

    /// Reads the files again and serves them to new connections; on any
    /// fault keeps serving what it served and logs why. A poll acts only
    /// when the contents differ from the last ones tried; SIGHUP always.
    pub fn reload(&self, trigger: Trigger) {
        let read = Contents::read(&self.files);
        let seen = match &read {
            Ok(contents) => Ok(contents.fingerprint()),
            Err(e) => Err(e.to_string()),
        };
        {
            let mut last = self.last_seen.lock().unwrap_or_else(PoisonError::into_inner);
            if matches!(trigger, Trigger::FileChange) && *last == seen {
                return;
            }
            *last = seen;
        }
        match read.and_then(|contents| contents.certified_key(&self.files, &self.provider)) {
            Ok((key, summary)) => {
                self.served.0.store(Arc::new(key));
                log_served(&summary, trigger, "reloaded the TLS certificate: new connections get it");
            }
            Err(e) => tracing::error!(
                trigger = trigger.as_str(),
                error = %e,
                "could not reload the TLS certificate: still serving the previous one"
            ),
        }
    }

    /// Reloads on SIGHUP and when the files change, for as long as the
    /// process runs. The SIGHUP handler is in place when this returns, so a
    /// signal sent from then on reloads rather than ends the process.
    pub fn spawn_reloads(self: Arc<Self>) -> std::io::Result<()> {
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            let mut poll = tokio::time::interval(POLL_EVERY);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            poll.tick().await;
            loop {
                #[cfg(unix)]
                let trigger = tokio::select! {
                    Some(()) = hangup.recv() => Trigger::Sighup,
                    _ = poll.tick() => Trigger::FileChange,
                };
                #[cfg(not(unix))]
                let trigger = {
                    poll.tick().await;
                    Trigger::FileChange
                };
                let tls = self.clone();
                // Reading files and parsing a key block: off the runtime's threads.
                let _ = tokio::task::spawn_blocking(move || tls.reload(trigger)).await;
            }
        });
        Ok(())
    }
}

fn log_served(summary: &Summary, trigger: impl Into<Option<Trigger>>, message: &str) {
    tracing::info!(
        trigger = trigger.into().map(Trigger::as_str),
        subject = %summary.subject,
        serial = %summary.serial,
        not_after = %summary.not_after,
        "{message}"
    );
    if summary.expired {
        tracing::warn!(
            not_after = %summary.not_after,
            "the TLS certificate has expired: clients that verify it refuse to connect; replace it and send SIGHUP"
        );
    } else if summary.not_yet_valid {
        tracing::warn!(
            not_before = %summary.not_before,
            "the TLS certificate is not valid yet: clients that verify it refuse to connect until then"
        );
    }
}

/// What is wrong with a PEM file, without quoting it: the parser's own
/// messages carry the offending text, which in a key file is the key.
fn pem_problem(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line inside a section (lost line breaks?)",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::NoItemsFound => "no PEM section",
        _ => "unreadable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, names: &[&str]) -> (rcgen::CertifiedKey, TlsFiles) {
        let made = rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("certificate");
        let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
        std::fs::write(&files.cert, made.cert.pem()).expect("write");
        std::fs::write(&files.key, made.key_pair.serialize_pem()).expect("write");
        (made, files)
    }

    fn message(files: &TlsFiles) -> String {
        Tls::load(files).err().expect("refused").to_string()
    }

    #[test]
    fn a_good_pair_loads_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (made, files) = pair(dir.path(), &["localhost"]);
        assert!(Tls::load(&files).is_ok());

        let other = rcgen::KeyPair::generate().expect("key");
        std::fs::write(&files.key, other.serialize_pem()).expect("write");
        let m = message(&files);
        assert!(m.contains("--tls-key") && m.contains("differ"), "{m}");

        std::fs::write(&files.key, made.cert.pem()).expect("write");
        let m = message(&files);
        assert!(m.contains("--tls-key") && m.contains("no PEM private key"), "{m}");

        std::fs::write(&files.key, made.key_pair.serialize_pem()).expect("write");
        std::fs::write(&files.cert, made.key_pair.serialize_pem()).expect("write");
        let m = message(&files);
        assert!(m.contains("--tls-cert") && m.contains("swapped"), "{m}");

        std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
            .expect("write");
        let m = message(&files);
        assert!(m.contains("--tls-cert") && m.contains("not valid PEM"), "{m}");

        std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").expect("write");
        let m = message(&files);
        assert!(m.contains("--tls-cert") && m.contains("X.509"), "{m}");

        std::fs::remove_file(&files.cert).expect("rm");
        let m = message(&files);
        assert!(m.contains("--tls-cert") && m.contains("could not read"), "{m}");
    }

    #[test]
    fn one_file_may_hold_both() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (made, _) = pair(dir.path(), &["localhost"]);
        let both = dir.path().join("both.pem");
        std::fs::write(&both, format!("{}{}", made.key_pair.serialize_pem(), made.cert.pem())).expect("write");
        assert!(Tls::load(&TlsFiles { cert: both.clone(), key: both }).is_ok());
    }

    #[test]
    fn a_refused_reload_keeps_the_served_certificate_and_a_good_one_replaces_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, files) = pair(dir.path(), &["first.test"]);
        let tls = Tls::load(&files).expect("load");
        let served = || tls.served.0.load_full().cert[0].as_ref().to_vec();
        assert_eq!(served(), first.cert.der().as_ref());

        std::fs::write(&files.key, "garbage").expect("write");
        tls.reload(Trigger::Sighup);
        assert_eq!(served(), first.cert.der().as_ref(), "kept after a bad key");

        let (second, _) = pair(dir.path(), &["second.test"]);
        tls.reload(Trigger::FileChange);
        assert_eq!(served(), second.cert.der().as_ref());
    }

    #[test]
    fn a_poll_acts_only_on_a_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, files) = pair(dir.path(), &["first.test"]);
        let tls = Tls::load(&files).expect("load");
        // Swapped behind its back without a change of contents seen: a poll
        // with the same fingerprint leaves the served certificate alone.
        let (second, _) = pair(dir.path(), &["second.test"]);
        *tls.last_seen.lock().expect("lock") = Ok(Contents::read(&files).expect("read").fingerprint());
        tls.reload(Trigger::FileChange);
        assert_eq!(tls.served.0.load_full().cert[0].as_ref(), first.cert.der().as_ref());
        tls.reload(Trigger::Sighup);
        assert_eq!(tls.served.0.load_full().cert[0].as_ref(), second.cert.der().as_ref());
    }
}
