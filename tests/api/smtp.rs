//! A real SMTP server on 127.0.0.1 for the mail tests (mailin-embedded,
//! speaking SMTP over TCP in threads of its own), and a reading of what it
//! received through an independent MIME parser.

#![allow(dead_code)]

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig, response};

use crate::support::wait::wait_for;

/// One message as the server took it in.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub data: Vec<u8>,
}

type Inbox = Arc<Mutex<Vec<Delivery>>>;

#[derive(Clone)]
struct Collect {
    inbox: Inbox,
    current: Option<Delivery>,
    /// When set, mail is taken only after AUTH with these (user, password).
    credentials: Option<(String, String)>,
    authenticated: bool,
}

impl Handler for Collect {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        if self.credentials.is_some() && !self.authenticated { response::AUTHENTICATION_REQUIRED } else { response::OK }
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        let matches = self.credentials.as_ref().is_some_and(|(u, p)| u == authentication_id && p == password);
        self.authenticated = matches;
        if matches { response::AUTH_OK } else { response::INVALID_CREDENTIALS }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Delivery { envelope_from: from.to_owned(), envelope_to: to.to_vec(), data: Vec::new() });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(d) = &mut self.current {
            d.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(d) = self.current.take() {
            self.inbox.lock().expect("inbox").push(d);
        }
        response::OK
    }

    fn helo(&mut self, ip: IpAddr, _domain: &str) -> Response {
        assert!(ip.is_loopback());
        response::OK
    }
}

pub struct SmtpServer {
    pub port: u16,
    inbox: Inbox,
}

impl SmtpServer {
    /// Listens on a port of its own; serves until the test process ends.
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").expect("bind the SMTP server"))
    }

    /// Serves on `listener` until the test process ends.
    pub fn start_on(listener: TcpListener) -> Self {
        Self::serve(listener, SslConfig::None, None)
    }

    /// STARTTLS with `tls`'s certificate, and AUTH PLAIN required (offered
    /// only once the connection is encrypted).
    pub fn start_tls(tls: &TlsFiles, user: &str, password: &str) -> Self {
        let ssl = SslConfig::SelfSigned {
            cert_path: tls.cert.display().to_string(),
            key_path: tls.key.display().to_string(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP server");
        Self::serve(listener, ssl, Some((user.to_owned(), password.to_owned())))
    }

    fn serve(listener: TcpListener, ssl: SslConfig, credentials: Option<(String, String)>) -> Self {
        let port = listener.local_addr().expect("addr").port();
        let inbox: Inbox = Arc::default();
        let auth = credentials.is_some();
        let mut server =
            Server::new(Collect { inbox: inbox.clone(), current: None, credentials, authenticated: false });
        // One thread per open connection: lettre's pools keep connections
        // open between messages, and with the default four a few idle
        // pooled connections would leave a new one waiting for minutes.
        server
            .with_name("smtp.test")
            .with_num_threads(64)
            .with_ssl(ssl)
            .expect("TLS setup")
            .with_tcp_listener(listener);
        if auth {
            server.with_auth(AuthMechanism::Plain);
        }
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                eprintln!("the test SMTP server stopped: {e}");
            }
        });
        Self { port, inbox }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inbox.lock().expect("inbox").clone()
    }

    /// The messages delivered to `address` so far, oldest first.
    pub fn mailbox(&self, address: &str) -> Vec<Mail> {
        self.deliveries()
            .iter()
            .filter(|d| d.envelope_to.iter().any(|to| to.eq_ignore_ascii_case(address)))
            .map(|d| Mail::parse(&d.data))
            .collect()
    }

    /// Waits until `address` has received at least `n` messages.
    pub async fn wait_for_mailbox(&self, address: &str, n: usize, within: Duration) -> Vec<Mail> {
        wait_for(within, &format!("{n} messages to reach {address}"), async || {
            let got = self.mailbox(address);
            if got.len() >= n { Ok(got) } else { Err(format!("{} did", got.len())) }
        })
        .await
    }

    /// Waits until at least `n` messages arrived; fails the test otherwise.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Delivery> {
        wait_for(within, &format!("{n} messages to arrive"), async || {
            let got = self.deliveries();
            if got.len() >= n { Ok(got) } else { Err(format!("{} did", got.len())) }
        })
        .await
    }
}

/// What the tests look at in a message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    /// Without the angle brackets.
    pub message_id: String,
    pub multipart_alternative: bool,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl Mail {
    pub fn parse(raw: &[u8]) -> Mail {
        let m = MessageParser::default().parse(raw).expect("a parseable message");
        let first = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned()
        };
        let text_part = m.text_part(0).expect("a text part");
        let html_part = m.html_part(0).expect("an HTML part");
        assert!(text_part.is_content_type("text", "plain"), "the text part is text/plain");
        assert!(html_part.is_content_type("text", "html"), "the HTML part is text/html");
        Mail {
            from: first(m.from()),
            to: first(m.to()),
            subject: m.subject().unwrap_or_default().to_owned(),
            message_id: m.message_id().unwrap_or_default().to_owned(),
            multipart_alternative: m.root_part().is_content_type("multipart", "alternative"),
            text: text_part.text_contents().unwrap_or_default().to_owned(),
            html: html_part.text_contents().unwrap_or_default().to_owned(),
            raw: String::from_utf8_lossy(raw).into_owned(),
        }
    }

    /// The confirmation token in the text part's link under `base`.
    pub fn token(&self, base: &str) -> String {
        self.link_token(base, "/confirm-email").unwrap_or_else(|| panic!("no confirmation link in:\n{}", self.text))
    }

    /// The token of the text part's link to `{base}{path}?token=`, if any.
    pub fn link_token(&self, base: &str, path: &str) -> Option<String> {
        let prefix = format!("{base}{path}?token=");
        let start = self.text.find(&prefix)?;
        Some(
            self.text[start + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
                .collect(),
        )
    }
}

/// A private CA, and a certificate it signed for 127.0.0.1 and localhost.
pub struct TlsFiles {
    /// The CA's certificate: what a client must trust.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn make(dir: &Path) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "keyward test CA");
        let ca = ca.self_signed(&ca_key).expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
        leaf.distinguished_name.push(DnType::CommonName, "smtp.test");
        let leaf = leaf.signed_by(&key, &ca, &ca_key).expect("server certificate");
        let files = Self { ca: dir.join("ca.pem"), cert: dir.join("smtp.pem"), key: dir.join("smtp.key") };
        std::fs::write(&files.ca, ca.pem()).expect("write");
        std::fs::write(&files.cert, leaf.pem()).expect("write");
        std::fs::write(&files.key, key.serialize_pem()).expect("write");
        files
    }
}
