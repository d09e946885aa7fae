//! Where messages go: an SMTP server, or `.eml` files in a folder.
//!
//! SMTP URLs are lettre's: `smtp://host:port` (no TLS, for a relay on
//! loopback), `smtp://host:port?tls=required` (STARTTLS, refusing a server
//! that does not offer it), `smtps://host:port` (TLS from the first byte);
//! `user:password@` before the host adds credentials (percent-encoded).
//! Servers are verified against the Mozilla root certificates, and against
//! the certificates of `--mail-ca` (a private CA's PEM file) when given.

use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

use anyhow::Context;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The longest one SMTP conversation may take before it counts as failed.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Transport {
    Smtp {
        inner: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL without its password, for the log.
        shown: String,
    },
    /// One `{Message-ID local part}.eml` per message in `dir`: a retry
    /// rewrites the same file instead of adding a second one.
    File { dir: PathBuf },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Transport {
    /// `--mail`: absent or `file` is the file transport under `data_dir`.
    /// An SMTP transport starts its connection pool on the current runtime;
    /// `ca` adds trusted certificates for its TLS.
    pub fn parse(mail: Option<&str>, data_dir: &Path, ca: Option<&Path>) -> anyhow::Result<Self> {
        match mail.map(str::trim) {
            None | Some("" | "file") => {
                // Absolute, so that the startup log says where without doubt.
                let dir = data_dir.join("outbox");
                Ok(Transport::File { dir: std::path::absolute(&dir).unwrap_or(dir) })
            }
            Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                let shown = crate::redact::url(url);
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .with_context(|| format!("--mail {shown:?} is not a usable SMTP URL"))?
                    .timeout(Some(SMTP_TIMEOUT));
                if let Some(ca) = ca {
                    builder = builder.tls(tls_trusting(url, ca)?);
                }
                let inner = builder.build();
                if sends_password_in_clear(url) {
                    tracing::warn!(
                        mail = %shown,
                        "the SMTP password would cross the network unencrypted: use ?tls=required or smtps://"
                    );
                }
                Ok(Transport::Smtp { inner, shown })
            }
            Some(other) => anyhow::bail!(
                "--mail {:?}: use smtp://[user:pass@]host[:port][?tls=required], smtps://… or file",
                crate::redact::url(other)
            ),
        }
    }

    /// For the startup log: the server (password hidden) or the folder.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { shown, .. } => shown.clone(),
            Transport::File { dir } => format!("files in {}", dir.display()),
        }
    }

    /// Delivers `message`, whose Message-ID local part is `id`.
    pub async fn send(&self, id: &str, message: &Message) -> anyhow::Result<()> {
        match self {
            Transport::Smtp { inner, .. } => {
                inner.send(message.clone()).await?;
                Ok(())
            }
            Transport::File { dir } => write_eml(dir, id, &message.formatted()).await,
        }
    }
}

/// The TLS that `url` asks for, trusting the certificates in `ca` as well.
fn tls_trusting(url: &str, ca: &Path) -> anyhow::Result<Tls> {
    let pem = std::fs::read(ca).with_context(|| format!("reading --mail-ca {}", ca.display()))?;
    let url = Url::parse(url).with_context(|| format!("{} is not a URL", crate::redact::url(url)))?;
    let host = host_of(&url).context("the mail URL names no host")?;
    let mut params = TlsParameters::builder(host);
    let mut found = 0;
    for block in String::from_utf8_lossy(&pem).split_inclusive("-----END CERTIFICATE-----") {
        if let Some(start) = block.find("-----BEGIN CERTIFICATE-----") {
            let cert = Certificate::from_pem(&block.as_bytes()[start..])
                .with_context(|| format!("--mail-ca {}: a certificate could not be read", ca.display()))?;
            params = params.add_root_certificate(cert);
            found += 1;
        }
    }
    anyhow::ensure!(found > 0, "--mail-ca {} holds no PEM certificate", ca.display());
    let params = params.build_rustls()?;
    Ok(match (url.scheme(), tls_asked(&url).as_deref()) {
        ("smtps", _) => Tls::Wrapper(params),
        (_, Some("required")) => Tls::Required(params),
        (_, Some("opportunistic")) => Tls::Opportunistic(params),
        _ => anyhow::bail!("--mail-ca is for TLS: use smtps:// or smtp://…?tls=required"),
    })
}

/// A URL's host, an IPv6 address without its brackets.
pub(super) fn host_of(url: &Url) -> Option<String> {
    match url.host()? {
        url::Host::Domain(name) if !name.is_empty() => Some(name.to_owned()),
        url::Host::Domain(_) => None,
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

/// The `tls=` of a mail URL's query.
fn tls_asked(url: &Url) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned())
}

/// Credentials over plain `smtp://` to a host other than loopback.
fn sends_password_in_clear(url: &str) -> bool {
    let Ok(url) = Url::parse(url) else { return false };
    let loopback = host_of(&url).is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "::1");
    url.scheme() == "smtp" && url.password().is_some() && tls_asked(&url).as_deref() != Some("required") && !loopback
}

/// Written beside, then renamed into place: a reader never sees half a file.
/// Only the owner may read it, since it may hold a confirmation link.
async fn write_eml(dir: &Path, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let (dir, id, bytes) = (dir.to_path_buf(), id.to_owned(), bytes.to_vec());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        crate::files::prepare_private_dir(&dir)?;
        let tmp = dir.join(format!(".{id}.eml.tmp"));
        let path = dir.join(format!("{id}.eml"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        std::io::Write::write_all(&mut file, &bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    // Building an SMTP transport starts its connection pool's task.
    #[tokio::test]
    async fn urls() {
        let dir = Path::new("/data");
        let file = |mail| matches!(Transport::parse(mail, dir, None), Ok(Transport::File { dir }) if dir == Path::new("/data/outbox"));
        assert!(file(None) && file(Some("file")));
        for good in [
            "smtp://127.0.0.1:2525",
            "smtp://user:pa%40ss@mail.example.com:587?tls=required",
            "smtps://user:secret@mail.example.com",
        ] {
            let t = Transport::parse(Some(good), dir, None).expect(good);
            assert!(!t.describe().contains("secret") && !t.describe().contains("pa%40ss"), "{}", t.describe());
        }
        for bad in ["ftp://x", "smtp://", "smtp://host?tls=sometimes", "sendmail"] {
            assert!(Transport::parse(Some(bad), dir, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn warns_of_passwords_in_clear() {
        assert!(sends_password_in_clear("smtp://u:p@mail.example.com:25"));
        assert!(!sends_password_in_clear("smtp://u:p@mail.example.com:587?tls=required"));
        assert!(!sends_password_in_clear("smtp://u:p@127.0.0.1:25"));
        assert!(!sends_password_in_clear("smtps://u:p@mail.example.com"));
        assert!(!sends_password_in_clear("smtp://mail.example.com"));
    }
}
