//! The key check, on every request's path.
//!
//! A secret is parsed (prefix and checksum, no storage touched for garbage),
//! hashed once with SHA-256, and found by its hash: first in this node's
//! bounded cache (which also remembers hashes that named no key), else by
//! one indexed lookup. The stored hash is compared in constant
//! time. Nothing is written per request.
//!
//! The cache never outlives a revocation: every change that could revoke a
//! credential bumps a revision in storage and clears this node's cache before
//! it answers; other nodes poll the revision and clear theirs within
//! `revocation_poll`. Expiry is checked against the clock on every use.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use moka::sync::Cache;

use subtle::ConstantTimeEq;

use super::throttle::Subject;
use super::{Service, ServiceError};
use crate::domain::{Id, Narrowing, Role, Secret, SecretHash, UnixTime};
use crate::store::{CredentialRecord, keys, revision};

/// Keys a node keeps checked, at most: above the working set of a busy
/// gateway, and about 100 MiB at most (an entry is some 400 bytes). Past it
/// the least useful entries go (moka's TinyLFU), one at a time.
const CACHE_CAPACITY: u64 = 250_000;
/// Hashes known to name no key, at most: a client repeating a wrong key is
/// answered from memory rather than by storage.
const ABSENT_CAPACITY: u64 = 100_000;

/// What a request presented.
#[derive(Debug)]
pub enum Credential {
    Key(Secret),
    /// HTTP Basic: `keyId:secret`, for accounts that allow it.
    Basic {
        key_id: String,
        secret: Secret,
    },
    /// `Bearer` with an access token from the token endpoint (checked by
    /// `verify_access_token`, which needs the issuer's URL).
    AccessToken(String),
}

/// Why a credential was refused. Each becomes a `401` (the reasons are for
/// logs and metrics, not for the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("no credentials")]
    Missing,
    #[error("malformed credentials")]
    Malformed,
    #[error("unknown key")]
    Unknown,
    #[error("key expired")]
    Expired,
    #[error("key disabled")]
    KeyDisabled,
    #[error("service account disabled")]
    AccountDisabled,
    #[error("basic auth not enabled for this service account")]
    BasicNotEnabled,
    /// The key may not be used from the client's address.
    #[error("the client's address is outside the key's allowed ranges")]
    OutsideAllowedCidrs,
}

impl AuthFailure {
    /// The label used in metrics.
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Unknown => "unknown",
            AuthFailure::Expired => "expired",
            AuthFailure::KeyDisabled => "key_disabled",
            AuthFailure::AccountDisabled => "account_disabled",
            AuthFailure::BasicNotEnabled => "basic_not_enabled",
            AuthFailure::OutsideAllowedCidrs => "outside_allowed_cidrs",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Refused(#[from] AuthFailure),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A service account proven by one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub account_id: Id,
    pub key_id: Id,
    pub org_id: Id,
    /// The effective role: the lesser of the key's and the account's.
    pub role: Role,
    /// What narrows the key, as loaded with its record (parsed once).
    pub narrowing: Arc<Narrowing>,
}

impl Authenticated {
    pub(crate) fn of(record: CredentialRecord) -> Self {
        Self {
            role: record.effective_role(),
            account_id: record.account_id,
            key_id: record.key_id,
            org_id: record.org_id,
            narrowing: record.narrowing,
        }
    }
}

pub struct CredentialCache {
    /// Bumped on every clear; a lookup that started under an older generation
    /// must not leave its answer in the cache, or it could put back what was
    /// just revoked.
    generation: AtomicU64,
    /// The storage revision this node last saw.
    revision: AtomicI64,
    /// Keys found, by the hash of their secret. Shared, so that a hit costs
    /// a reference count, not a copy of the record.
    found: Cache<SecretHash, Arc<Checked>>,
    /// Hashes that named no key when last looked up.
    absent: Cache<SecretHash, ()>,
}

/// A stored credential, as checked against presented secrets.
struct Checked {
    record: CredentialRecord,
    /// The stored hash, parsed once; `None` if storage held something else.
    stored: Option<SecretHash>,
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self {
            generation: AtomicU64::new(0),
            revision: AtomicI64::new(0),
            found: Cache::new(CACHE_CAPACITY),
            absent: Cache::new(ABSENT_CAPACITY),
        }
    }
}

/// What the cache knows of a hash.
enum Known {
    Found(Arc<Checked>),
    Absent,
    Unknown,
}

impl CredentialCache {
    fn get(&self, hash: &SecretHash) -> Known {
        if let Some(hit) = self.found.get(hash) {
            Known::Found(hit)
        } else if self.absent.contains_key(hash) {
            Known::Absent
        } else {
            Known::Unknown
        }
    }

    /// Keeps what a lookup begun under `generation` found. Checked again
    /// after the insert: a clear that raced with it then removes it (a clear
    /// bumps the generation before it empties the tables).
    fn put(&self, hash: SecretHash, found: Option<Arc<Checked>>, generation: u64) {
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        match found {
            Some(checked) => self.found.insert(hash, checked),
            None => self.absent.insert(hash, ()),
        }
        if self.generation.load(Ordering::SeqCst) != generation {
            self.found.invalidate(&hash);
            self.absent.invalidate(&hash);
        }
    }

    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.found.invalidate_all();
        self.absent.invalidate_all();
    }
}

impl Service {
    /// Answers "who is calling?" for a presented credential.
    pub async fn authenticate(&self, credential: &Credential) -> Result<Authenticated, AuthError> {
        let outcome = self.check(credential).await;
        match &outcome {
            Ok(who) => {
                self.metrics().auth_outcome("ok");
                self.note_use(&who.key_id, &who.account_id);
            }
            Err(AuthError::Refused(failure)) => {
                self.metrics().auth_outcome(failure.reason());
                match failure {
                    AuthFailure::Expired => self.metrics().lifecycle("expired"),
                    AuthFailure::KeyDisabled | AuthFailure::AccountDisabled => self.metrics().lifecycle("disabled"),
                    _ => {}
                }
            }
            Err(AuthError::Service(_)) => self.metrics().auth_outcome("error"),
        }
        outcome
    }

    async fn check(&self, credential: &Credential) -> Result<Authenticated, AuthError> {
        let (secret, basic_key_id) = match credential {
            Credential::Key(secret) => (secret, None),
            Credential::Basic { key_id, secret } => (secret, Some(key_id.as_str())),
            Credential::AccessToken(_) => return Err(AuthFailure::Malformed.into()),
        };
        let hash = secret.hash();
        let checked = self.lookup(&hash).await?;
        let record = &checked.record;
        if !checked.stored.is_some_and(|stored| stored.matches(&hash)) {
            return Err(AuthFailure::Unknown.into());
        }
        if let Some(claimed) = basic_key_id {
            let same_id: bool = claimed.as_bytes().ct_eq(record.key_id.as_str().as_bytes()).into();
            if !same_id {
                return Err(AuthFailure::Unknown.into());
            }
            if !record.enable_basic_auth {
                return Err(AuthFailure::BasicNotEnabled.into());
            }
        }
        judge(record, self.now())?;
        Ok(Authenticated::of(record.clone()))
    }

    /// Whether a key proven by `who` may be used from `client`: a request
    /// from outside its allowed ranges is refused like a wrong key.
    pub fn admit(&self, who: &Authenticated, client: Option<IpAddr>) -> Result<(), AuthFailure> {
        if who.narrowing.admits(client) {
            Ok(())
        } else {
            self.metrics().auth_outcome(AuthFailure::OutsideAllowedCidrs.reason());
            Err(AuthFailure::OutsideAllowedCidrs)
        }
    }

    /// Counts one use of a rate-limited key; `None` for a key without a
    /// rate limit (or when the shared count failed open).
    pub async fn meter(&self, who: &Authenticated) -> Option<super::meter::RateStatus> {
        let rate = who.narrowing.rate_limit?;
        self.inner.meter.acquire(&who.key_id, rate, super::meter::Use::Count, self.metrics()).await
    }

    /// Where a rate-limited key stands, without counting a use: for a
    /// request refused for what the key lacks, which is no use of it.
    pub async fn rate_standing(&self, who: &Authenticated) -> Option<super::meter::RateStatus> {
        let rate = who.narrowing.rate_limit?;
        self.inner.meter.acquire(&who.key_id, rate, super::meter::Use::Peek, self.metrics()).await
    }

    async fn lookup(&self, hash: &SecretHash) -> Result<Arc<Checked>, AuthError> {
        let cache = &self.inner.credentials;
        match cache.get(hash) {
            Known::Found(hit) => return Ok(hit),
            Known::Absent => return Err(AuthFailure::Unknown.into()),
            Known::Unknown => {}
        }
        let generation = cache.generation.load(Ordering::SeqCst);
        let mut conn = self.store().read().await.map_err(ServiceError::from)?;
        let found = keys::find_credential(&mut conn, hash).await.map_err(ServiceError::from)?.map(|record| {
            let stored = SecretHash::from_hex(&record.secret_hash);
            Arc::new(Checked { record, stored })
        });
        cache.put(*hash, found.clone(), generation);
        found.ok_or_else(|| AuthFailure::Unknown.into())
    }

    /// Notes a key's use for `lastUsed` (written later, in a batch).
    pub(crate) fn note_use(&self, key: &Id, account: &Id) {
        self.inner.usage.record(key, account, self.now());
    }

    /// Counts a refused credential against the client's address and the key
    /// id it named; answers the seconds to wait when either is now throttled.
    /// A valid key is never throttled: only failures are counted and refused.
    ///
    /// A key id that is not well formed names no key and is not counted: the
    /// address alone answers for it.
    pub fn note_failure(&self, client: Option<IpAddr>, key_id: Option<&str>) -> Option<u64> {
        let now = self.now();
        let throttle = &self.inner.auth_failures;
        let by_client = client.and_then(|ip| throttle.fail(&Subject::addr(ip), now));
        let by_key = key_id.and_then(Id::parse).and_then(|id| throttle.fail(&Subject::Key(id), now));
        let wait = by_client.max(by_key);
        if wait.is_some() {
            self.metrics().auth_outcome("throttled");
            self.metrics().lifecycle("throttled");
        }
        wait
    }

    /// Brings the throttle-size gauge up to date (read when metrics are).
    pub fn observe_throttles(&self) {
        let tracked = self.inner.auth_failures.tracked() + self.inner.login_failures.tracked();
        self.metrics().throttle_subjects(tracked);
    }

    /// Forgets every cached credential. Called after committing any change
    /// that could revoke one (and by benchmarks of the storage lookup).
    pub fn credentials_changed(&self) {
        self.inner.credentials.clear();
        // The signing key may be what changed.
        self.forget_signing_keys();
    }
}

/// The rules that can refuse a key whose secret is right.
pub(crate) fn judge(record: &CredentialRecord, now: UnixTime) -> Result<(), AuthFailure> {
    if record.account_disabled {
        Err(AuthFailure::AccountDisabled)
    } else if record.key_disabled {
        Err(AuthFailure::KeyDisabled)
    } else if record.expires.is_some_and(|at| at <= now) {
        Err(AuthFailure::Expired)
    } else {
        Ok(())
    }
}

/// Polls the credential revision and clears the cache when another node (or
/// a command-line process) changed something.
pub async fn watch_revocations(service: Service) {
    let mut tick = tokio::time::interval(service.limits().revocation_poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let seen = async {
            let mut conn = service.store().read().await?;
            revision::current(&mut conn).await
        }
        .await;
        match seen {
            Ok(now) => {
                let cache = &service.inner.credentials;
                if cache.revision.swap(now, Ordering::SeqCst) != now {
                    service.credentials_changed();
                }
            }
            // Storage being away also makes every uncached lookup fail; the
            // cache is dropped so that nothing stale outlives the outage.
            Err(err) => {
                tracing::debug!(error = %err, "could not read the credential revision");
                service.credentials_changed();
            }
        }
    }
}

/// On PostgreSQL, clears the cache the moment any node commits a change that
/// could revoke a credential (the migration's trigger notifies). The poll
/// above stays as the safety net for lost connections.
pub async fn listen_for_revocations(service: Service) {
    loop {
        match service.store().listen(REVOCATION_CHANNEL).await {
            Ok(None) => return,
            Ok(Some(mut listener)) => loop {
                match listener.recv().await {
                    Ok(_) => service.credentials_changed(),
                    Err(err) => {
                        tracing::debug!(error = %err, "revocation listener lost its connection");
                        service.credentials_changed();
                        break;
                    }
                }
            },
            Err(err) => tracing::debug!(error = %err, "could not listen for revocations"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

const REVOCATION_CHANNEL: &str = "keyward_credentials";

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CredentialRecord {
        CredentialRecord {
            key_id: Id::generate(),
            account_id: Id::generate(),
            secret_hash: String::new(),
            expires: None,
            key_disabled: false,
            org_id: Id::generate(),
            role: Role::Viewer,
            enable_basic_auth: false,
            account_disabled: false,
            narrowing: Arc::default(),
        }
    }

    #[test]
    fn expiry_is_exact_to_the_second() {
        let mut r = record();
        r.expires = Some(100);
        assert_eq!(judge(&r, 99), Ok(()));
        assert_eq!(judge(&r, 100), Err(AuthFailure::Expired));
    }

    #[test]
    fn disabled_account_wins_over_everything() {
        let mut r = record();
        r.account_disabled = true;
        r.key_disabled = true;
        assert_eq!(judge(&r, 0), Err(AuthFailure::AccountDisabled));
    }

    fn checked() -> Option<Arc<Checked>> {
        Some(Arc::new(Checked { record: record(), stored: None }))
    }

    #[test]
    fn a_stale_lookup_cannot_refill_a_cleared_cache() {
        let cache = CredentialCache::default();
        let hash = Secret::from_entropy([3; 44]).hash();
        let before_clear = cache.generation.load(Ordering::SeqCst);
        cache.clear();
        cache.put(hash, checked(), before_clear);
        assert!(matches!(cache.get(&hash), Known::Unknown));
        cache.put(hash, checked(), cache.generation.load(Ordering::SeqCst));
        assert!(matches!(cache.get(&hash), Known::Found(_)));
    }

    #[test]
    fn a_hash_known_absent_is_forgotten_with_everything_else() {
        let cache = CredentialCache::default();
        let hash = Secret::from_entropy([4; 44]).hash();
        cache.put(hash, None, cache.generation.load(Ordering::SeqCst));
        assert!(matches!(cache.get(&hash), Known::Absent));
        cache.clear();
        assert!(matches!(cache.get(&hash), Known::Unknown));
    }
}
