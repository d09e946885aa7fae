//! Use cases. Each public operation states the role it needs first, runs in
//! one transaction with its audit event, and answers in domain terms; the
//! HTTP layer and the command line are thin shells around it.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod decision;
pub mod email;
pub mod error;
pub mod idempotency;
pub mod invitations;
pub mod keys;
pub mod leaks;
pub mod mail;
pub mod meter;
pub mod orgs;
pub mod page;
pub mod passwords;
pub mod principal;
pub mod retention;
pub mod sealing;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use error::ServiceError;
pub use page::Page;
pub use principal::Principal;

use crate::domain::{Clock, SealingKey, SystemClock, UnixTime};
use crate::metrics::Metrics;
use crate::store::Store;

/// The knobs of the service layer, filled from configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Keys an account may hold at once (expired ones do not count).
    pub max_keys_per_account: i64,
    /// At most one `lastUsed` write per key per this many seconds.
    pub last_used_interval: Duration,
    /// How often the uses noted in memory are written out.
    pub usage_flush: Duration,
    /// How often a node checks whether another node revoked a credential.
    pub revocation_poll: Duration,
    /// The organization policy's longest key lifetime; `None`: unlimited.
    pub max_key_lifetime: Option<Duration>,
    /// The lifetime of a key created without one; `None`: it never expires
    /// (or, under a maximum, it gets the maximum).
    pub default_key_lifetime: Option<Duration>,
    /// Failed credentials from one address (or for one key id, or one login
    /// email) before further failures are answered `429`.
    pub throttle: throttle::ThrottlePolicy,
    /// How often a node purges the accounts deleted long enough ago.
    pub purge_interval: Duration,
    /// Where rate-limited keys are counted: this node's memory (`None`), or
    /// a Redis server shared by every node.
    pub redis: Option<RedisSettings>,
    /// Webhook targets and delivery.
    pub webhooks: webhooks::WebhookSettings,
}

/// `--redis` and `--rate-limit-on-error`.
#[derive(Clone)]
pub struct RedisSettings {
    pub url: String,
    pub on_error: meter::OnError,
    /// How long a use waits for Redis before `on_error` decides.
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("RedisSettings")
            .field("url", &crate::redact::url(&self.url))
            .field("on_error", &self.on_error)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_keys_per_account: 10,
            last_used_interval: Duration::from_secs(60),
            usage_flush: Duration::from_secs(1),
            revocation_poll: Duration::from_millis(250),
            max_key_lifetime: None,
            default_key_lifetime: None,
            throttle: throttle::ThrottlePolicy::default(),
            purge_interval: Duration::from_secs(3600),
            redis: None,
            webhooks: webhooks::WebhookSettings::default(),
        }
    }
}

/// The shared handle to everything a request may need. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    limits: Limits,
    metrics: Metrics,
    credentials: auth::CredentialCache,
    /// Woken when another node wrote to the credential change feed.
    feed_written: tokio::sync::Notify,
    usage: usage::UsageRecorder,
    /// Failed API credentials, by client address and by key id.
    auth_failures: throttle::Throttle,
    /// Lookups of secrets for anonymous callers (self-revocation), node-wide.
    anonymous_lookups: throttle::Allowance,
    /// Failed password logins, by client address and by email.
    login_failures: throttle::Throttle,
    /// The access-token signing keys, loaded on first use and again after
    /// any credential change (see `tokens::Keyring`).
    issuer: std::sync::RwLock<Option<Arc<tokens::Keyring>>>,
    /// Bumped when the keyring is forgotten, so that a load that raced the
    /// change does not put back what it read before.
    issuer_generation: std::sync::atomic::AtomicU64,
    /// Seals what the database keeps but must not reveal.
    sealing: SealingKey,
    /// The global limit on password hashing.
    passwords: passwords::PasswordWork,
    /// Counts the uses of rate-limited keys.
    meter: meter::Meter,
}

impl Service {
    /// Call `adopt_secret_key` before serving: it checks `sealing` against
    /// the database.
    pub fn new(store: Store, limits: Limits, sealing: SealingKey) -> Self {
        Self::with_clock(store, limits, sealing, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Store, limits: Limits, sealing: SealingKey, clock: Arc<dyn Clock>) -> Self {
        let usage = usage::UsageRecorder::new(limits.last_used_interval);
        let meter = match &limits.redis {
            None => meter::Meter::local(),
            Some(redis) => meter::Meter::with_redis(&redis.url, redis.on_error, redis.timeout).unwrap_or_else(|err| {
                // Settings check the URL first; this is the last resort.
                tracing::error!(error = %err, "--redis is unusable; counting rate limits on this node only");
                meter::Meter::local()
            }),
        };
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                auth_failures: throttle::Throttle::new(limits.throttle),
                anonymous_lookups: throttle::Allowance::new(leaks::ANONYMOUS_LOOKUPS_PER_SECOND),
                login_failures: throttle::Throttle::new(limits.throttle),
                issuer: std::sync::RwLock::new(None),
                issuer_generation: std::sync::atomic::AtomicU64::new(0),
                sealing,
                passwords: passwords::PasswordWork::default(),
                limits,
                metrics: Metrics::default(),
                credentials: auth::CredentialCache::default(),
                feed_written: tokio::sync::Notify::new(),
                usage,
                meter,
            }),
        }
    }

    /// Starts the background work a serving node needs: flushing `lastUsed`,
    /// watching for revocations made by other nodes, purging accounts
    /// deleted long ago, and connecting to the Redis that shares rate-limit
    /// counts. Reads where the credential change feed stands first, so that
    /// the node follows it from there once it serves.
    pub async fn spawn_background(&self) {
        if let Err(err) = self.follow_changes().await {
            tracing::debug!(error = %err, "could not read the credential change feed; following it later");
        }
        tokio::spawn(usage::flush_forever(self.clone()));
        tokio::spawn(retention::purge_forever(self.clone()));
        tokio::spawn(auth::watch_revocations(self.clone()));
        tokio::spawn(auth::listen_for_revocations(self.clone()));
        let service = self.clone();
        tokio::spawn(async move { service.inner.meter.warm_up().await });
    }

    /// Opens and migrates the database at `database` and serves over it.
    /// Call `adopt_secret_key` before serving.
    pub async fn open(database: &str, limits: Limits, sealing: SealingKey) -> anyhow::Result<Self> {
        Ok(Self::new(Store::open(database).await?, limits, sealing))
    }

    /// Opens the database at `database` and applies what migrations it lacks.
    pub async fn migrate(database: &str) -> anyhow::Result<()> {
        Store::open(database).await?.close().await;
        Ok(())
    }

    /// Storage answers (readiness).
    pub async fn ping(&self) -> Result<(), ServiceError> {
        Ok(self.inner.store.ping().await?)
    }

    /// Closes storage's connections once the work in flight is done.
    pub async fn close(&self) {
        self.inner.store.close().await;
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }
}
