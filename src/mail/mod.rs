//! Mail: the outbox worker, its transports (SMTP, or `.eml` files), and the
//! messages it renders.
//!
//! Changes that need an email queue an outbox row in their own transaction
//! (`crate::service::mail`); the worker on every serving node drains the
//! outbox in the background, so that no API call waits for, or fails because
//! of, a mail server. Rows hold no secret: a confirmation or invitation
//! link's token is minted at send time and only its hash is stored.

pub mod render;
pub mod transport;
pub mod worker;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;

pub use transport::Transport;
pub use worker::spawn;

use crate::config::Settings;
use crate::service::mail::OutboxPolicy;

/// Everything the worker needs, resolved from settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: Arc<Transport>,
    pub from: Mailbox,
    /// Links in messages start with this; no trailing slash.
    pub public_url: String,
    /// The right-hand side of every Message-ID: the public URL's host.
    pub message_id_host: String,
    /// Days before expiry that keys are warned about; 0: never.
    pub expiry_warning_days: u32,
    /// How often an idle worker looks for due messages.
    pub poll_interval: Duration,
    /// How often the worker looks for keys about to expire.
    pub scan_interval: Duration,
    /// Leases, retries and giving up.
    pub policy: OutboxPolicy,
}

impl MailConfig {
    /// A configuration with the defaults for everything but the essentials.
    pub fn new(mail: Option<&str>, mail_from: Option<&str>, data_dir: &Path, public_url: &str) -> anyhow::Result<Self> {
        Self::with_transport(Transport::parse(mail, data_dir, None)?, mail_from, public_url)
    }

    pub fn with_transport(transport: Transport, mail_from: Option<&str>, public_url: &str) -> anyhow::Result<Self> {
        let public_url = public_url.trim_end_matches('/').to_owned();
        let host = public_host(&public_url).context("the public URL has no host")?;
        let from = match mail_from {
            Some(from) => from.parse::<Mailbox>().with_context(|| format!("--mail-from {from:?} is not an address"))?,
            None => default_sender(&host)?,
        };
        Ok(Self {
            transport: Arc::new(transport),
            from,
            message_id_host: host,
            public_url,
            expiry_warning_days: crate::config::DEFAULT_EXPIRY_WARNING_DAYS,
            poll_interval: Duration::from_secs(1),
            scan_interval: Duration::from_secs(60),
            policy: OutboxPolicy {
                lease: crate::config::DEFAULT_MAIL_LEASE,
                give_up_after: crate::config::DEFAULT_MAIL_GIVE_UP_AFTER,
                first_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(3600),
            },
        })
    }

    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let transport = Transport::parse(s.mail.as_deref(), &s.data_dir, s.mail_ca.as_deref())?;
        let defaults = Self::with_transport(transport, s.mail_from.as_deref(), &s.public_url)?;
        Ok(Self {
            expiry_warning_days: s.expiry_warning_days,
            policy: OutboxPolicy { lease: s.mail_lease, give_up_after: s.mail_give_up_after, ..defaults.policy },
            ..defaults
        })
    }
}

/// `https://keys.example.com:8443/x` → `keys.example.com`.
fn public_host(public_url: &str) -> Option<String> {
    transport::host_of(&url::Url::parse(public_url).ok()?).map(|h| h.to_ascii_lowercase())
}

/// `keyward@` and the public host. A host that cannot stand in an address
/// (an IPv6 literal) gives `keyward@localhost`: mail still goes out, and
/// `--mail-from` says better.
fn default_sender(host: &str) -> anyhow::Result<Mailbox> {
    let address = format!("keyward@{host}")
        .parse::<Mailbox>()
        .or_else(|_| "keyward@localhost".parse::<Mailbox>())
        .context("the default sender is not an address: set --mail-from")?;
    Ok(Mailbox::new(Some("keyward".to_owned()), address.email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_hosts() {
        assert_eq!(public_host("https://keys.example.com:8443/x").as_deref(), Some("keys.example.com"));
        assert_eq!(public_host("http://127.0.0.1:8080").as_deref(), Some("127.0.0.1"));
        assert_eq!(public_host("http://[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(public_host("http://Example.COM").as_deref(), Some("example.com"));
        assert_eq!(public_host("http://"), None);
    }

    #[test]
    fn the_default_sender_is_keyward_at_the_public_host() {
        let dir = std::env::temp_dir();
        let c = MailConfig::new(None, None, &dir, "https://keys.example.com/").expect("config");
        assert_eq!(c.from.email.to_string(), "keyward@keys.example.com");
        assert_eq!(c.public_url, "https://keys.example.com");
        let c = MailConfig::new(None, None, &dir, "http://127.0.0.1:8080").expect("config");
        assert_eq!(c.from.email.to_string(), "keyward@127.0.0.1");
        let c = MailConfig::new(None, None, &dir, "http://[::1]:8080").expect("config");
        assert_eq!(c.from.email.to_string(), "keyward@localhost");
        let c = MailConfig::new(None, Some("Keys <noreply@example.org>"), &dir, "http://localhost:1").expect("config");
        assert_eq!(c.from.email.to_string(), "noreply@example.org");
        assert!(MailConfig::new(None, Some("not an address"), &dir, "http://localhost:1").is_err());
    }
}
