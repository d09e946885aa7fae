//! Configuration: typed defaults, then a TOML file, then `KEYWARD_*`
//! environment variables, then flags; each later source wins.
//!
//! `Knobs` is at once the flag set (clap merges flags over the environment)
//! and the file's shape, so a setting is declared once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use ipnet::IpNet;
use serde::Deserialize;

use crate::domain::leak_report::ReportKeys;
pub use crate::files::SecretKeySource;
use crate::service::leaks::LeakAction;
use crate::service::meter::OnError;
use crate::service::throttle::ThrottlePolicy;
use crate::service::{Limits, RedisSettings};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://keyward.db";
/// Read when present and no other file is named.
pub const DEFAULT_CONFIG_FILE: &str = "keyward.toml";

/// Defines `Knobs` and its field-by-field `or` from one list of fields, so
/// that a new setting cannot be forgotten in the merge.
macro_rules! knobs {
    ($(#[$meta:meta])* pub struct Knobs { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct Knobs { $($(#[$field_meta])* pub $field: $ty,)* }

        impl Knobs {
            /// Each setting from `self`, or else from `fallback`.
            pub fn or(self, fallback: Knobs) -> Knobs {
                Knobs { $($field: self.$field.or(fallback.$field),)* }
            }
        }
    };
}

knobs! {
/// Every setting, each optional: absent means "ask the next source".
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Knobs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, global = true, env = "KEYWARD_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// sqlite://FILE (created if missing), sqlite:///ABS/PATH or postgres://… [default: sqlite://keyward.db]
    #[arg(long, global = true, env = "KEYWARD_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// The URL people reach this server at, for links [default: http://LISTEN, or https://LISTEN with TLS]
    #[arg(long, global = true, env = "KEYWARD_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Serve HTTPS with this PEM certificate (its chain after it); with --tls-key. Reread on SIGHUP
    /// and when the file changes [default: none: plain HTTP]
    #[arg(long, global = true, env = "KEYWARD_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert's certificate (PKCS#8, RSA or EC); may be the same file
    #[arg(long, global = true, env = "KEYWARD_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Where keyward keeps files such as the mail outbox [default: .]
    #[arg(long, global = true, env = "KEYWARD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// smtp://user:pass@host:port, or file [default: file]
    #[arg(long, global = true, env = "KEYWARD_MAIL", value_name = "URL")]
    pub mail: Option<String>,
    /// The sender of keyward's email [default: keyward@ and the public URL's host]
    #[arg(long, global = true, env = "KEYWARD_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// A PEM file of CA certificates to trust for the SMTP server's TLS, beside the usual roots
    #[arg(long, global = true, env = "KEYWARD_MAIL_CA", value_name = "FILE")]
    pub mail_ca: Option<PathBuf>,
    /// Seconds a message may keep failing before it is given up on [default: 86400]
    #[arg(long, global = true, env = "KEYWARD_MAIL_GIVE_UP_AFTER", value_name = "SECONDS")]
    pub mail_give_up_after: Option<u64>,
    /// Days before a key expires to warn the account's confirmed address; 0 disables [default: 7]
    #[arg(long, global = true, env = "KEYWARD_EXPIRY_WARNING_DAYS", value_name = "DAYS")]
    pub expiry_warning_days: Option<u32>,
    /// Keys a service account may hold at once [default: 10]
    #[arg(long, global = true, env = "KEYWARD_MAX_KEYS_PER_ACCOUNT", value_name = "N")]
    pub max_keys_per_account: Option<i64>,
    /// Seconds between two writes of one key's lastUsed [default: 60]
    #[arg(long, global = true, env = "KEYWARD_LAST_USED_INTERVAL", value_name = "SECONDS")]
    pub last_used_interval: Option<u64>,
    /// Organization policy: the longest lifetime a key may have, in seconds [default: unlimited]
    #[arg(long, global = true, env = "KEYWARD_MAX_KEY_LIFETIME", value_name = "SECONDS")]
    pub max_key_lifetime: Option<u64>,
    /// Lifetime of a key created without one, in seconds [default: the maximum, else unlimited]
    #[arg(long, global = true, env = "KEYWARD_DEFAULT_KEY_LIFETIME", value_name = "SECONDS")]
    pub default_key_lifetime: Option<u64>,
    /// Failed authentications from one address allowed per window before 429 [default: 20]
    #[arg(long, global = true, env = "KEYWARD_AUTH_FAILURE_LIMIT", value_name = "N")]
    pub auth_failure_limit: Option<u32>,
    /// The throttling window, in seconds [default: 60]
    #[arg(long, global = true, env = "KEYWARD_AUTH_FAILURE_WINDOW", value_name = "SECONDS")]
    pub auth_failure_window: Option<u64>,
    /// The file holding the secret key that seals signing material in the database; keep it apart
    /// from the database and its backups. Or set KEYWARD_SECRET_KEY to the key itself
    /// [default: DATA_DIR/secret.key, created on first use]
    #[arg(long, global = true, env = "KEYWARD_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// The key itself, from KEYWARD_SECRET_KEY only (never a flag, which other users could read
    /// in the process list, nor the config file, which is often shared).
    #[arg(skip)]
    #[serde(skip)]
    pub secret_key: Option<String>,
    /// Reverse proxies whose X-Forwarded-For is believed, as CIDR ranges (comma-separated)
    /// [default: none: the client is the peer]
    #[arg(long, global = true, env = "KEYWARD_TRUSTED_PROXIES", value_name = "CIDRS", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Seconds a client has to send a request's headers, or may leave an answer unread; also how long an idle keep-alive connection stays open [default: 10]
    #[arg(long, global = true, env = "KEYWARD_HEADER_READ_TIMEOUT", value_name = "SECONDS")]
    pub header_read_timeout: Option<u64>,
    /// Client connections open at once; past it new ones wait in the OS backlog [default: 1024]
    #[arg(long, global = true, env = "KEYWARD_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds a node holds a message it is sending before another node may send it, should the
    /// first die mid-send; longer than the slowest send [default: 120]
    #[arg(long, global = true, env = "KEYWARD_MAIL_LEASE", value_name = "SECONDS")]
    pub mail_lease: Option<u64>,
    /// Seconds a stop waits for requests in flight before closing their connections [default: 30]
    #[arg(long, global = true, env = "KEYWARD_SHUTDOWN_TIMEOUT", value_name = "SECONDS")]
    pub shutdown_timeout: Option<u64>,
    /// GitHub's secret-scanning public keys (their meta/public_keys/secret_scanning JSON); enables
    /// POST /api/leak/v1/github [default: none: the endpoint answers 404]
    #[arg(long, global = true, env = "KEYWARD_LEAK_REPORT_KEYS", value_name = "FILE")]
    pub leak_report_keys: Option<PathBuf>,
    /// What a live key reported as leaked gets: disable, or notify (only recorded) [default: disable]
    #[arg(long, global = true, env = "KEYWARD_LEAK_ACTION", value_name = "ACTION")]
    pub leak_action: Option<LeakAction>,
    /// redis://… shared by every node for keys' rate limits [default: none: each node counts on its own]
    #[arg(long, global = true, env = "KEYWARD_REDIS", value_name = "URL")]
    pub redis: Option<String>,
    /// Milliseconds a use waits for Redis before --rate-limit-on-error decides [default: 50]
    #[arg(long, global = true, env = "KEYWARD_REDIS_TIMEOUT", value_name = "MILLISECONDS")]
    pub redis_timeout: Option<u64>,
    /// When Redis cannot answer in time: let rate-limited uses through (open) or refuse them (closed) [default: open]
    #[arg(long, global = true, env = "KEYWARD_RATE_LIMIT_ON_ERROR", value_name = "open|closed")]
    pub rate_limit_on_error: Option<String>,
    /// Let webhook endpoints resolve to loopback, private, link-local and CGNAT addresses
    /// (for a receiver on the same host or network) [default: false: such URLs are refused]
    #[arg(
        long,
        global = true,
        env = "KEYWARD_WEBHOOK_ALLOW_PRIVATE",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub webhook_allow_private: Option<bool>,
    /// Seconds a node holds a webhook delivery it is sending before another node may send it,
    /// should the first die mid-send; longer than an attempt (--webhook-timeout) [default: 60]
    #[arg(long, global = true, env = "KEYWARD_WEBHOOK_LEASE", value_name = "SECONDS")]
    pub webhook_lease: Option<u64>,
    /// Seconds one webhook attempt may take before it counts as failed and is retried; a slow
    /// receiver holds one lane no longer than this [default: 5]
    #[arg(long, global = true, env = "KEYWARD_WEBHOOK_TIMEOUT", value_name = "SECONDS")]
    pub webhook_timeout: Option<u64>,
}
}

impl Knobs {
    /// Reads `path`, or the default file if it exists, or nothing.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let (path, must_exist) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

/// Everything a node needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database: String,
    pub public_url: String,
    /// Native TLS; the files are read when the server starts.
    pub tls: Option<TlsFiles>,
    pub data_dir: PathBuf,
    pub mail: Option<String>,
    pub mail_from: Option<String>,
    pub mail_ca: Option<PathBuf>,
    /// How long a failing message is retried before it is marked failed.
    pub mail_give_up_after: Duration,
    /// How long a claimed message is held before another node may retry it.
    pub mail_lease: Duration,
    /// Days before expiry that a key's account is warned; 0: never.
    pub expiry_warning_days: u32,
    pub limits: Limits,
    pub secret_key: SecretKeySource,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// How long a client may take to send a request's headers, and how long
    /// a keep-alive connection may sit idle between requests.
    pub header_read_timeout: Duration,
    /// Client connections served at once.
    pub max_connections: usize,
    /// How long a stop waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// GitHub's leak-report keys, read and checked at start.
    pub leak_report_keys: Option<ReportKeys>,
    pub leak_action: LeakAction,
}

/// Native TLS's certificate (its chain after it) and private key, both PEM;
/// they may be one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The secret key file's name in the data folder, when none is named.
pub const DEFAULT_SECRET_KEY_FILE: &str = "secret.key";

/// Retry a failing message for a day before giving up on it.
pub const DEFAULT_MAIL_GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Longer than the slowest SMTP exchange a node should ever wait out.
pub const DEFAULT_MAIL_LEASE: Duration = Duration::from_secs(120);
/// Warn a week before a key expires.
pub const DEFAULT_EXPIRY_WARNING_DAYS: u32 = 7;
/// Ample for any real client's headers, short enough that a connection
/// trickling them (or sitting idle) gives its slot back soon.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Past an hour a slow client is no longer "cut"; the bound also keeps the
/// deadline arithmetic far from overflowing.
pub const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3600);
/// Under a flood, connections run out before CPU does: a key check costs
/// microseconds. 1024 is far more than a load balancer's upstream pool or a
/// fleet of keep-alive clients holds, and still bounds what stalled
/// connections can pin: a descriptor each and a read buffer that stops
/// growing past 64 KiB (well under 128 MiB in all).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// A gateway's check must stay fast; a local Redis answers in well under a
/// millisecond.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);
/// Receivers are asked to answer at once and work later; past a minute an
/// attempt is no longer an attempt, and a slow tenant would hold its lanes.
pub const MAX_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// Longer than the longest a request may run (10 s), so a stop never cuts
/// one that would still have finished.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

impl Settings {
    /// Fills what the knobs leave open with the defaults, and checks values.
    pub fn resolve(k: Knobs) -> anyhow::Result<Self> {
        let listen = k.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr =
            listen.parse().with_context(|| format!("--listen {listen:?} is not an address such as 127.0.0.1:8080"))?;
        let tls =
            match (k.tls_cert.filter(|p| !p.as_os_str().is_empty()), k.tls_key.filter(|p| !p.as_os_str().is_empty())) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                (Some(_), None) => anyhow::bail!(
                    "--tls-cert needs --tls-key (KEYWARD_TLS_KEY, tls-key): the certificate's private key"
                ),
                (None, Some(_)) => anyhow::bail!(
                    "--tls-key needs --tls-cert (KEYWARD_TLS_CERT, tls-cert): the certificate it belongs to"
                ),
            };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = k.public_url.unwrap_or_else(|| format!("{scheme}://{listen}"));
        anyhow::ensure!(
            public_url.starts_with("http://") || public_url.starts_with("https://"),
            "--public-url must start with http:// or https://"
        );
        let defaults = Limits::default();
        let max_keys = k.max_keys_per_account.unwrap_or(defaults.max_keys_per_account);
        anyhow::ensure!(max_keys >= 1, "--max-keys-per-account must be at least 1");
        let max_key_lifetime = k.max_key_lifetime.map(Duration::from_secs);
        let default_key_lifetime = k.default_key_lifetime.map(Duration::from_secs);
        anyhow::ensure!(
            max_key_lifetime.is_none_or(|d| !d.is_zero()) && default_key_lifetime.is_none_or(|d| !d.is_zero()),
            "key lifetimes must be at least one second"
        );
        if let (Some(max), Some(default)) = (max_key_lifetime, default_key_lifetime) {
            anyhow::ensure!(default <= max, "--default-key-lifetime must not exceed --max-key-lifetime");
        }
        let throttle = ThrottlePolicy {
            max_failures: k.auth_failure_limit.unwrap_or(defaults.throttle.max_failures),
            window: k.auth_failure_window.map_or(defaults.throttle.window, Duration::from_secs),
        };
        anyhow::ensure!(!throttle.window.is_zero(), "--auth-failure-window must be at least one second");
        let data_dir = k.data_dir.unwrap_or_else(|| PathBuf::from("."));
        let secret_key = match (k.secret_key_file, k.secret_key.filter(|v| !v.trim().is_empty())) {
            (Some(_), Some(_)) => anyhow::bail!("give --secret-key-file or KEYWARD_SECRET_KEY, not both"),
            (Some(path), None) => SecretKeySource::File { path, create: false },
            (None, Some(value)) => SecretKeySource::Value(value),
            (None, None) => SecretKeySource::File { path: data_dir.join(DEFAULT_SECRET_KEY_FILE), create: true },
        };
        let trusted_proxies = k
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|raw| parse_cidr(raw).with_context(|| format!("--trusted-proxies: {raw:?} is not a CIDR range")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let header_read_timeout = k.header_read_timeout.map_or(DEFAULT_HEADER_READ_TIMEOUT, Duration::from_secs);
        anyhow::ensure!(
            (1..=MAX_HEADER_READ_TIMEOUT.as_secs()).contains(&header_read_timeout.as_secs()),
            "--header-read-timeout must be at least one second (0 would leave slow clients uncut) and at most {}",
            MAX_HEADER_READ_TIMEOUT.as_secs()
        );
        let max_connections = k.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        anyhow::ensure!(
            (1..=tokio::sync::Semaphore::MAX_PERMITS).contains(&max_connections),
            "--max-connections must be at least 1 (0 would refuse every client) and at most {}",
            tokio::sync::Semaphore::MAX_PERMITS
        );
        let shutdown_timeout = k.shutdown_timeout.map_or(DEFAULT_SHUTDOWN_TIMEOUT, Duration::from_secs);
        anyhow::ensure!(
            !shutdown_timeout.is_zero(),
            "--shutdown-timeout must be at least one second (0 would cut the requests in flight)"
        );
        let mail_lease = k.mail_lease.map_or(DEFAULT_MAIL_LEASE, Duration::from_secs);
        anyhow::ensure!(!mail_lease.is_zero(), "--mail-lease must be at least one second");
        let webhook_lease = k.webhook_lease.map_or(defaults.webhooks.lease, Duration::from_secs);
        anyhow::ensure!(!webhook_lease.is_zero(), "--webhook-lease must be at least one second");
        let webhook_timeout = k.webhook_timeout.map_or(defaults.webhooks.timeout, Duration::from_secs);
        anyhow::ensure!(
            (1..=MAX_WEBHOOK_TIMEOUT.as_secs()).contains(&webhook_timeout.as_secs()),
            "--webhook-timeout must be at least one second and at most {} (a slow receiver holds a lane that long)",
            MAX_WEBHOOK_TIMEOUT.as_secs()
        );
        let leak_report_keys = match &k.leak_report_keys {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--leak-report-keys: reading {}", path.display()))?;
                Some(ReportKeys::from_json(&text).with_context(|| format!("--leak-report-keys: {}", path.display()))?)
            }
            None => None,
        };
        let on_error = match k.rate_limit_on_error.as_deref() {
            None => OnError::default(),
            Some(raw) => raw.parse().map_err(|e| anyhow::anyhow!("--rate-limit-on-error {raw:?}: {e}"))?,
        };
        let redis = match k.redis.filter(|u| !u.trim().is_empty()) {
            None => None,
            Some(url) => {
                redis::Client::open(url.as_str())
                    .with_context(|| format!("--redis {} is not a Redis URL", crate::redact::url(&url)))?;
                let timeout = k.redis_timeout.map_or(DEFAULT_REDIS_TIMEOUT, Duration::from_millis);
                anyhow::ensure!(
                    (1..=10_000).contains(&timeout.as_millis()),
                    "--redis-timeout must be from 1 to 10000 milliseconds"
                );
                Some(RedisSettings { url, on_error, timeout })
            }
        };
        Ok(Self {
            listen,
            database: k.database.unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            public_url: public_url.trim_end_matches('/').to_owned(),
            tls,
            data_dir,
            mail: k.mail,
            mail_from: k.mail_from,
            mail_ca: k.mail_ca,
            mail_give_up_after: k.mail_give_up_after.map_or(DEFAULT_MAIL_GIVE_UP_AFTER, Duration::from_secs),
            mail_lease,
            expiry_warning_days: k.expiry_warning_days.unwrap_or(DEFAULT_EXPIRY_WARNING_DAYS),
            limits: Limits {
                max_keys_per_account: max_keys,
                last_used_interval: k.last_used_interval.map_or(defaults.last_used_interval, Duration::from_secs),
                max_key_lifetime,
                default_key_lifetime,
                throttle,
                redis,
                webhooks: crate::service::webhooks::WebhookSettings {
                    allow_private: k.webhook_allow_private.unwrap_or(false),
                    lease: webhook_lease,
                    timeout: webhook_timeout,
                    ..defaults.webhooks.clone()
                },
                ..defaults
            },
            secret_key,
            trusted_proxies,
            header_read_timeout,
            max_connections,
            shutdown_timeout,
            leak_report_keys,
            leak_action: k.leak_action.unwrap_or_default(),
        })
    }
}

/// A CIDR range, or a single address (a /32 or /128).
pub fn parse_cidr(raw: &str) -> Result<IpNet, ipnet::AddrParseError> {
    let raw = raw.trim();
    raw.parse::<IpNet>().or_else(|e| raw.parse::<std::net::IpAddr>().map(IpNet::from).map_err(|_| e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let file: Knobs = toml::from_str(
            "listen = \"127.0.0.1:9000\"\ndatabase = \"sqlite://f.db\"\nmax-keys-per-account = 3\nauth-failure-limit = 5",
        )
        .expect("toml");
        let flags = Knobs { database: Some("sqlite://flag.db".into()), ..Default::default() };
        let s = Settings::resolve(flags.or(file)).expect("settings");
        assert_eq!(s.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(s.database, "sqlite://flag.db");
        assert_eq!(s.public_url, "http://127.0.0.1:9000");
        assert_eq!(s.limits.max_keys_per_account, 3);
        assert_eq!(s.limits.throttle.max_failures, 5);
    }

    #[test]
    fn defaults() {
        let s = Settings::resolve(Knobs::default()).expect("settings");
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.database, DEFAULT_DATABASE);
        assert_eq!(s.limits.max_keys_per_account, 10);
        assert_eq!(s.limits.throttle, ThrottlePolicy::default());
        assert_eq!(s.limits.max_key_lifetime, None);
        assert_eq!(s.mail_give_up_after, DEFAULT_MAIL_GIVE_UP_AFTER);
        assert_eq!(s.expiry_warning_days, 7);
    }

    #[test]
    fn mail_knobs_come_from_the_file_too() {
        let file: Knobs = toml::from_str("mail-give-up-after = 600\nexpiry-warning-days = 0").expect("toml");
        let s = Settings::resolve(Knobs::default().or(file)).expect("settings");
        assert_eq!(s.mail_give_up_after, Duration::from_secs(600));
        assert_eq!(s.expiry_warning_days, 0);
    }

    #[test]
    fn the_secret_key_comes_from_one_place() {
        let s = Settings::resolve(Knobs { data_dir: Some("/d".into()), ..Default::default() }).expect("settings");
        assert!(
            matches!(&s.secret_key, SecretKeySource::File { path, create: true } if path == Path::new("/d/secret.key"))
        );
        let named = Knobs { secret_key_file: Some("/k".into()), ..Default::default() };
        assert!(matches!(
            Settings::resolve(named).expect("settings").secret_key,
            SecretKeySource::File { create: false, .. }
        ));
        let value = Knobs { secret_key: Some("abc".into()), ..Default::default() };
        let s = Settings::resolve(value).expect("settings");
        assert!(matches!(&s.secret_key, SecretKeySource::Value(v) if v == "abc"));
        assert!(!format!("{s:?}").contains("abc"), "the key is never in a debug print");
        let both = Knobs { secret_key: Some("abc".into()), secret_key_file: Some("/k".into()), ..Default::default() };
        assert!(Settings::resolve(both).is_err());
    }

    #[test]
    fn webhook_private_targets_are_refused_unless_allowed() {
        assert!(!Settings::resolve(Knobs::default()).expect("settings").limits.webhooks.allow_private);
        let file: Knobs = toml::from_str("webhook-allow-private = true").expect("toml");
        assert!(Settings::resolve(file.clone()).expect("settings").limits.webhooks.allow_private);
        let flags = Knobs { webhook_allow_private: Some(false), ..Default::default() };
        assert!(!Settings::resolve(flags.or(file)).expect("settings").limits.webhooks.allow_private);
        let lease = Knobs { webhook_lease: Some(3), ..Default::default() };
        assert_eq!(Settings::resolve(lease).expect("settings").limits.webhooks.lease, Duration::from_secs(3));
        assert!(Settings::resolve(Knobs { webhook_lease: Some(0), ..Default::default() }).is_err());
    }

    #[test]
    fn the_webhook_timeout_is_five_seconds_unless_set_and_bounded() {
        let s = Settings::resolve(Knobs::default()).expect("settings");
        assert_eq!(s.limits.webhooks.timeout, Duration::from_secs(5));
        let file: Knobs = toml::from_str("webhook-timeout = 2").expect("toml");
        assert_eq!(Settings::resolve(file.clone()).expect("settings").limits.webhooks.timeout, Duration::from_secs(2));
        let flags = Knobs { webhook_timeout: Some(9), ..Default::default() };
        assert_eq!(
            Settings::resolve(flags.or(file)).expect("settings").limits.webhooks.timeout,
            Duration::from_secs(9)
        );
        for bad in [0, 61, u64::MAX] {
            let message = Settings::resolve(Knobs { webhook_timeout: Some(bad), ..Default::default() })
                .expect_err("refused")
                .to_string();
            assert!(message.contains("--webhook-timeout"), "{message}");
        }
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        let k = Knobs { trusted_proxies: Some(vec!["10.0.0.0/8".into(), "::1".into()]), ..Default::default() };
        let s = Settings::resolve(k).expect("settings");
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(s.trusted_proxies[1].contains(&"::1".parse::<std::net::IpAddr>().expect("ip")));
        let bad = Knobs { trusted_proxies: Some(vec!["10.0.0.0/33".into()]), ..Default::default() };
        assert!(Settings::resolve(bad).is_err());
        let file: Knobs = toml::from_str("trusted-proxies = [\"192.168.0.0/16\"]").expect("toml");
        assert_eq!(Settings::resolve(file).expect("settings").trusted_proxies.len(), 1);
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<Knobs>("lisen = \"x\"").is_err());
        for bad in [
            Knobs { listen: Some("nowhere".into()), ..Default::default() },
            Knobs { public_url: Some("ftp://x".into()), ..Default::default() },
            Knobs { max_keys_per_account: Some(0), ..Default::default() },
            Knobs { max_key_lifetime: Some(60), default_key_lifetime: Some(120), ..Default::default() },
        ] {
            assert!(Settings::resolve(bad.clone()).is_err(), "{bad:?}");
        }
    }

    /// The Debian package's configuration file, whose "#name = value" lines
    /// are the settings left at their defaults.
    const SHIPPED: &str = include_str!("../packaging/debian/keyward.toml");

    /// Every setting the shipped file names, each uncommented.
    fn shipped_settings() -> Knobs {
        let uncommented: String = SHIPPED
            .lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => rest,
                _ => line,
            })
            .map(|line| format!("{line}\n"))
            .collect();
        // deny_unknown_fields refuses a key the server does not know.
        let mut all: Knobs =
            toml::from_str(&uncommented).unwrap_or_else(|e| panic!("packaging/debian/keyward.toml: {}", e.message()));
        // From the environment only, never a file: it is not listed.
        all.secret_key = Some(String::new());
        all
    }

    #[test]
    fn or_takes_each_setting_given_and_falls_back_for_each_one_not() {
        let all = shipped_settings();
        assert_eq!(format!("{:?}", Knobs::default().or(all.clone())), format!("{all:?}"));
        assert_eq!(format!("{:?}", all.clone().or(Knobs::default())), format!("{all:?}"));
        let listen = Knobs { listen: Some("127.0.0.1:1".into()), ..Knobs::default() };
        assert_eq!(listen.or(all.clone()).listen.as_deref(), Some("127.0.0.1:1"));
    }

    /// Each default is written in four places: its constant, the option's
    /// help, the shipped file and the README's table. They must agree.
    #[test]
    fn every_default_reads_the_same_in_the_help_the_shipped_file_and_the_readme() {
        let readme = include_str!("../README.md");
        let help = <Knobs as clap::Args>::augment_args(clap::Command::new("keyward"));
        // (option, its default, quoted in TOML); the package sets its own
        // database, so its file does not show that default.
        let defaults: [(&str, String, bool); 11] = [
            ("listen", DEFAULT_LISTEN.to_owned(), true),
            ("database", DEFAULT_DATABASE.to_owned(), true),
            ("mail-give-up-after", DEFAULT_MAIL_GIVE_UP_AFTER.as_secs().to_string(), false),
            ("mail-lease", DEFAULT_MAIL_LEASE.as_secs().to_string(), false),
            ("expiry-warning-days", DEFAULT_EXPIRY_WARNING_DAYS.to_string(), false),
            ("header-read-timeout", DEFAULT_HEADER_READ_TIMEOUT.as_secs().to_string(), false),
            ("max-connections", DEFAULT_MAX_CONNECTIONS.to_string(), false),
            ("shutdown-timeout", DEFAULT_SHUTDOWN_TIMEOUT.as_secs().to_string(), false),
            ("redis-timeout", DEFAULT_REDIS_TIMEOUT.as_millis().to_string(), false),
            ("webhook-lease", crate::service::webhooks::WebhookSettings::default().lease.as_secs().to_string(), false),
            ("webhook-timeout", crate::service::webhooks::DEFAULT_TIMEOUT.as_secs().to_string(), false),
        ];
        for (name, value, quoted) in defaults {
            let arg = help.get_arguments().find(|a| a.get_long() == Some(name)).expect("an option");
            let text = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(text.contains(&format!("[default: {value}")), "--{name}'s help says no [default: {value}]: {text}");
            let line = if quoted { format!("#{name} = \"{value}\"") } else { format!("#{name} = {value}") };
            assert!(
                name == "database" || SHIPPED.lines().any(|l| l == line),
                "packaging/debian/keyward.toml lacks {line:?}"
            );
            let row = format!("| `--{name}` |");
            let row = readme.lines().find(|l| l.starts_with(&row)).unwrap_or_else(|| panic!("README has no row {row}"));
            assert!(row.contains(&format!("| `{value}`")), "README's row for --{name} does not say {value}: {row}");
        }
    }

    #[test]
    fn the_shipped_file_names_every_setting_and_no_other() {
        let all = shipped_settings();
        // Each field on a line of its own: those the file left unset.
        let missing: Vec<String> = format!("{all:#?}")
            .lines()
            .filter_map(|line| line.trim().strip_suffix(": None,"))
            .map(|field| field.replace('_', "-"))
            .collect();
        assert!(missing.is_empty(), "packaging/debian/keyward.toml lacks {missing:?}");
    }

    #[test]
    fn the_shipped_file_as_it_is_keeps_the_package_paths() {
        let shipped: Knobs = toml::from_str(SHIPPED).expect("the shipped file parses");
        let s = Settings::resolve(shipped).expect("settings");
        assert_eq!(s.database, "sqlite:///var/lib/keyward/keyward.db");
        assert_eq!(s.data_dir, Path::new("/var/lib/keyward"));
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn tls_takes_both_files_from_any_source_and_makes_the_public_url_https() {
        let plain = Settings::resolve(Knobs::default()).expect("settings");
        assert_eq!((plain.tls, plain.public_url.as_str()), (None, "http://127.0.0.1:8080"));

        let file: Knobs = toml::from_str("tls-cert = \"/etc/k/cert.pem\"\ntls-key = \"/etc/k/key.pem\"").expect("toml");
        let s = Settings::resolve(file.clone()).expect("settings");
        assert_eq!(s.tls, Some(TlsFiles { cert: "/etc/k/cert.pem".into(), key: "/etc/k/key.pem".into() }));
        assert_eq!(s.public_url, "https://127.0.0.1:8080");

        let flags = Knobs { tls_key: Some("/run/key.pem".into()), ..Default::default() };
        let s = Settings::resolve(flags.or(file)).expect("settings");
        assert_eq!(s.tls.expect("tls").key, PathBuf::from("/run/key.pem"));

        let named = Knobs {
            tls_cert: Some("c".into()),
            tls_key: Some("k".into()),
            public_url: Some("https://keys.example.com/".into()),
            ..Default::default()
        };
        assert_eq!(Settings::resolve(named).expect("settings").public_url, "https://keys.example.com");

        for (alone, says) in [
            (Knobs { tls_cert: Some("c".into()), ..Default::default() }, "--tls-cert needs --tls-key"),
            (Knobs { tls_key: Some("k".into()), ..Default::default() }, "--tls-key needs --tls-cert"),
        ] {
            let message = Settings::resolve(alone).expect_err("refused").to_string();
            assert!(message.contains(says), "{message:?}");
        }
    }

    #[test]
    fn connection_knobs_have_defaults_come_from_the_file_and_refuse_zero() {
        let s = Settings::resolve(Knobs::default()).expect("settings");
        assert_eq!(s.header_read_timeout, Duration::from_secs(10));
        assert_eq!(s.max_connections, 1024);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));

        let file: Knobs =
            toml::from_str("header-read-timeout = 3\nmax-connections = 50\nshutdown-timeout = 5").expect("toml");
        let flags = Knobs { max_connections: Some(7), ..Default::default() };
        let s = Settings::resolve(flags.or(file)).expect("settings");
        assert_eq!(s.header_read_timeout, Duration::from_secs(3));
        assert_eq!(s.max_connections, 7);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(5));

        for (bad, flag) in [
            (Knobs { header_read_timeout: Some(0), ..Default::default() }, "--header-read-timeout"),
            (Knobs { header_read_timeout: Some(u64::MAX), ..Default::default() }, "--header-read-timeout"),
            (Knobs { max_connections: Some(0), ..Default::default() }, "--max-connections"),
            (Knobs { shutdown_timeout: Some(0), ..Default::default() }, "--shutdown-timeout"),
        ] {
            let message = Settings::resolve(bad).expect_err("refused").to_string();
            assert!(message.contains(flag), "{message:?} does not name {flag}");
        }
    }
}
