//! The key check, on every request's path.
//!
//! A secret is parsed (prefix and checksum, no storage touched for garbage),
//! hashed once with SHA-256, and found by its hash: first in this node's
//! bounded cache (which also remembers hashes that named no key), else by
//! one indexed lookup. The stored hash is compared in constant
//! time. Nothing is written per request.
//!
//! The cache never outlives a revocation: every change that could revoke a
//! credential is written to a change feed in its own transaction, and this
//! node forgets the changed key or account before it answers; other nodes
//! read the feed within `revocation_poll` (at once on PostgreSQL, which
//! notifies them) and forget the same. Nothing else is dropped: a
//! revocation costs the other keys in play nothing. Expiry is checked
//! against the clock on every use.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use moka::sync::Cache;

use subtle::ConstantTimeEq;

use super::throttle::Subject;
use super::{Service, ServiceError};
use crate::domain::{Id, Narrowing, Role, Secret, SecretHash, UnixTime};
use crate::store::credential_changes::{self, CredentialChange};
use crate::store::{CredentialRecord, keys};

/// Keys a node keeps checked, at most: above the working set of a busy
/// gateway, and about 100 MiB at most (an entry is some 400 bytes). Past it
/// the least useful entries go (moka's TinyLFU), one at a time.
const CACHE_CAPACITY: u64 = 250_000;
/// Hashes known to name no key, at most: a client repeating a wrong key is
/// answered from memory rather than by storage.
const ABSENT_CAPACITY: u64 = 100_000;
/// Changes read from the feed at once; a node further behind forgets
/// everything instead, which is cheaper than replaying them one by one.
const FEED_BATCH: i64 = 1_000;
/// Where a node stands in the feed before it has read it.
const UNKNOWN: i64 = -1;

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
    /// When the key stops working, if ever.
    pub expires: Option<UnixTime>,
}

impl Authenticated {
    pub(crate) fn of(record: CredentialRecord) -> Self {
        Self {
            role: record.effective_role(),
            account_id: record.account_id,
            key_id: record.key_id,
            org_id: record.org_id,
            narrowing: record.narrowing,
            expires: record.expires,
        }
    }
}

pub struct CredentialCache {
    /// Bumped on every clear; a lookup that started under an older generation
    /// must not leave its answer in the cache, or it could put back what was
    /// just revoked.
    generation: AtomicU64,
    /// The last change of the feed this node has applied; `UNKNOWN` before
    /// it first looked, and after it lost track.
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
            revision: AtomicI64::new(UNKNOWN),
            // Closures let one key or account be forgotten without a scan on
            // the request path: moka checks them on reads until its
            // housekeeping has removed what they match.
            found: Cache::builder().max_capacity(CACHE_CAPACITY).support_invalidation_closures().build(),
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

    /// Forgets what `change` touched, and only that. A lookup in flight
    /// keeps its answer to itself (the generation moves on).
    fn forget(&self, change: &CredentialChange) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let forgotten = match change {
            CredentialChange::Key(id) => {
                let id = id.clone();
                self.found.invalidate_entries_if(move |_, c| c.record.key_id == id)
            }
            CredentialChange::Account(id) | CredentialChange::Restored(id) => {
                let id = id.clone();
                self.found.invalidate_entries_if(move |_, c| c.record.account_id == id)
            }
            CredentialChange::Everything => return self.clear(),
        };
        if forgotten.is_err() {
            self.clear();
        }
        // A restored account's keys were looked up as absent while it was
        // deleted; which hashes those were is not known, so none is kept.
        if matches!(change, CredentialChange::Restored(_)) {
            self.absent.invalidate_all();
        }
    }
}

impl Service {
    /// Proves a key (raw, Bearer or Basic): "who is calling?", and nothing
    /// counted. A request's key is decided by `decide_key`, which also
    /// counts the outcome and notes a use.
    pub async fn authenticate(&self, credential: &Credential) -> Result<Authenticated, AuthError> {
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
        self.metrics().credential_lookup(if found.is_some() { "found" } else { "absent" });
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
        self.note_failures(client, key_id, 1)
    }

    /// Counts `n` failures at once: an anonymous bulk call counts each of
    /// its guesses.
    pub fn note_failures(&self, client: Option<IpAddr>, key_id: Option<&str>, n: u32) -> Option<u64> {
        let now = self.now();
        let throttle = &self.inner.auth_failures;
        let by_client = client.and_then(|ip| throttle.fail_many(&Subject::addr(ip), n, now));
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

    /// Forgets every cached credential and the signing keys: after a change
    /// that touches them all (and in benchmarks of the storage lookup).
    pub fn credentials_changed(&self) {
        self.inner.credentials.clear();
        self.forget_signing_keys();
    }

    /// Forgets what a committed change touched: called by the node that
    /// made it before it answers, and by every node reading the feed.
    pub(crate) fn credential_changed(&self, change: &CredentialChange) {
        match change {
            CredentialChange::Everything => self.credentials_changed(),
            _ => self.inner.credentials.forget(change),
        }
    }

    /// Applies the changes other nodes (or command-line processes) made
    /// since this node last looked. Forgets everything when it cannot tell
    /// what changed: on its first look, when it fell too far behind or the
    /// feed was pruned past it, or when the database went backwards.
    pub(crate) async fn follow_changes(&self) -> Result<(), ServiceError> {
        let cache = &self.inner.credentials;
        let seen = cache.revision.load(Ordering::SeqCst);
        let mut conn = self.store().read().await?;
        let now = credential_changes::current(&mut conn).await?;
        if now == seen {
            return Ok(());
        }
        let changes = if seen == UNKNOWN || now < seen {
            Vec::new()
        } else {
            credential_changes::since(&mut conn, seen, FEED_BATCH).await?
        };
        drop(conn);
        let contiguous = changes.first().is_some_and(|(n, _)| *n == seen + 1)
            && changes.windows(2).all(|w| w[1].0 == w[0].0 + 1)
            && changes.len() < FEED_BATCH as usize;
        if contiguous {
            for (_, change) in &changes {
                self.credential_changed(change);
            }
            let last = changes.last().map_or(now, |(n, _)| *n);
            cache.revision.store(last, Ordering::SeqCst);
            self.metrics().credential_feed_position(last);
        } else {
            self.credentials_changed();
            cache.revision.store(now, Ordering::SeqCst);
            self.metrics().credential_feed_position(now);
        }
        Ok(())
    }

    /// Removes feed entries no node needs any more (one that slept longer
    /// finds the gap and forgets everything).
    pub(crate) async fn prune_credential_changes(&self) -> Result<u64, ServiceError> {
        let before = self.now().saturating_sub(FEED_RETENTION);
        let mut tx = self.store().begin().await?;
        let pruned = credential_changes::prune(tx.conn(), before).await?;
        crate::store::leak_reports::prune(tx.conn(), self.now().saturating_sub(LEAK_REPORT_RETENTION)).await?;
        tx.commit().await?;
        Ok(pruned)
    }
}

/// How long a signed leak report is remembered, so that its replay is not
/// acted on.
const LEAK_REPORT_RETENTION: UnixTime = 365 * 86_400;

/// How long the change feed keeps an entry.
const FEED_RETENTION: UnixTime = 3600;

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

/// Reads the change feed every `revocation_poll`, or at once when the
/// PostgreSQL listener hears of a change.
pub async fn watch_revocations(service: Service) {
    let mut tick = tokio::time::interval(service.limits().revocation_poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = service.inner.feed_written.notified() => {}
        }
        // Storage being away also makes every uncached lookup fail; the
        // cache is dropped so that nothing stale outlives the outage.
        if let Err(err) = service.follow_changes().await {
            tracing::debug!(error = %err, "could not read the credential change feed");
            service.credentials_changed();
            service.inner.credentials.revision.store(UNKNOWN, Ordering::SeqCst);
            service.metrics().credential_feed_position(UNKNOWN);
        }
    }
}

/// On PostgreSQL, wakes the feed reader the moment any node commits a
/// change that could revoke a credential (the migration's trigger
/// notifies). The poll stays as the safety net for lost connections.
pub async fn listen_for_revocations(service: Service) {
    loop {
        match service.store().listen(REVOCATION_CHANNEL).await {
            Ok(None) => return,
            Ok(Some(mut listener)) => loop {
                match listener.recv().await {
                    Ok(_) => service.inner.feed_written.notify_one(),
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

    /// Three keys in the cache: two of one account, one of another.
    fn three_keys(cache: &CredentialCache) -> Vec<(SecretHash, CredentialRecord)> {
        let shared_account = Id::generate();
        (0..3u8)
            .map(|i| {
                let hash = Secret::from_entropy([10 + i; 44]).hash();
                let mut r = record();
                if i < 2 {
                    r.account_id = shared_account.clone();
                }
                let generation = cache.generation.load(Ordering::SeqCst);
                cache.put(hash, Some(Arc::new(Checked { record: r.clone(), stored: None })), generation);
                (hash, r)
            })
            .collect()
    }

    fn cached(cache: &CredentialCache, hash: &SecretHash) -> bool {
        matches!(cache.get(hash), Known::Found(_))
    }

    #[test]
    fn a_changed_key_is_forgotten_alone() {
        let cache = CredentialCache::default();
        let keys = three_keys(&cache);
        cache.forget(&CredentialChange::Key(keys[0].1.key_id.clone()));
        assert_eq!(keys.iter().map(|(h, _)| cached(&cache, h)).collect::<Vec<_>>(), [false, true, true]);
    }

    #[test]
    fn a_changed_account_forgets_its_keys_and_no_other() {
        let cache = CredentialCache::default();
        let keys = three_keys(&cache);
        let absent = Secret::from_entropy([20; 44]).hash();
        cache.put(absent, None, cache.generation.load(Ordering::SeqCst));
        cache.forget(&CredentialChange::Account(keys[0].1.account_id.clone()));
        assert_eq!(keys.iter().map(|(h, _)| cached(&cache, h)).collect::<Vec<_>>(), [false, false, true]);
        assert!(matches!(cache.get(&absent), Known::Absent), "an unrelated absent hash stays known");
        // A restored account's keys may have been remembered as absent.
        cache.forget(&CredentialChange::Restored(keys[2].1.account_id.clone()));
        assert!(!cached(&cache, &keys[2].0));
        assert!(matches!(cache.get(&absent), Known::Unknown));
    }

    #[test]
    fn a_lookup_in_flight_across_a_change_keeps_its_answer_to_itself() {
        let cache = CredentialCache::default();
        let keys = three_keys(&cache);
        let hash = Secret::from_entropy([30; 44]).hash();
        let started = cache.generation.load(Ordering::SeqCst);
        cache.forget(&CredentialChange::Key(keys[1].1.key_id.clone()));
        cache.put(hash, checked(), started);
        assert!(matches!(cache.get(&hash), Known::Unknown));
        assert!(cached(&cache, &keys[0].0), "the others stay");
    }
}
