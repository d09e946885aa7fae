//! The key check, on every request's path.
//!
//! A secret is parsed (prefix and checksum, no storage touched for garbage),
//! turned into its lookup hash, SHA-256(SHA-256(secret)), and found by it:
//! first in this node's
//! bounded cache (which also remembers hashes that named no key), else by
//! one indexed lookup. The stored hash is compared in constant
//! time. Nothing is written per request.
//!
//! An access token seen before is found the same way, by its SHA-256, with
//! its key's record beside it: no signature check and no storage read.
//!
//! The cache never outlives a revocation: every change that could revoke a
//! credential is written to a change feed in its own transaction, and this
//! node forgets the changed key or account before it answers; other nodes
//! read the feed within `revocation_poll` (at once on PostgreSQL, which
//! notifies them) and forget the same. Forgetting is exact: an index lists
//! what is cached under each key (its secret, its tokens) and each
//! account's keys, so a change removes those entries by their hashes, at a
//! cost that depends on nothing else cached or forgotten. Nothing else is
//! dropped: a revocation costs the other keys in play nothing. A lookup in
//! flight across a change keeps its answer to itself (the cache's
//! generation moves on). Expiry, of keys and of tokens, is checked against
//! the clock on every use.

use std::collections::{HashMap, HashSet, hash_map};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use moka::sync::Cache;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::throttle::Subject;
use super::{Service, ServiceError};
use crate::domain::{Id, Narrowing, Role, Secret, SecretHash, UnixTime};
use crate::store::credential_changes::{self, CredentialChange};
use crate::store::{CredentialRecord, keys};

/// Keys a node keeps checked, at most: above the working set of a busy
/// gateway, and about 150 MiB at most (an entry is some 400 bytes, and its
/// listing in the index some 250 more). Past it the least useful entries go
/// (moka's TinyLFU), one at a time.
const CACHE_CAPACITY: u64 = 250_000;
/// Access tokens a node keeps verified, at most (each until its `exp`, an
/// hour at most).
const TOKEN_CAPACITY: u64 = 100_000;
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
    /// Bumped on every change forgotten; a lookup that started under an
    /// older generation must not leave its answer in the cache, or it could
    /// put back what was just revoked.
    generation: AtomicU64,
    /// The last change of the feed this node has applied; `UNKNOWN` before
    /// it first looked, and after it lost track.
    revision: AtomicI64,
    /// Keys found, by the hash of their secret. Shared, so that a hit costs
    /// a reference count, not a copy of the record.
    found: Cache<SecretHash, Held<Checked>>,
    /// Hashes that named no key when last looked up.
    absent: Cache<SecretHash, ()>,
    /// Access tokens verified, by the SHA-256 of the token, each until its
    /// `exp` at the latest.
    tokens: Cache<TokenHash, Held<VerifiedToken>>,
    /// Which entries of `found` and `tokens` belong to which key, and which
    /// keys to which account: what a change forgets, found without a scan.
    /// Every entry the caches hold is listed here (a put lists it before it
    /// inserts, both under this lock); entries they dropped are struck out
    /// when their listeners' reports are applied.
    index: Mutex<Index>,
    /// Entries the caches dropped (evicted, expired, replaced or
    /// invalidated), as their listeners report them; applied to `index`
    /// under its lock. A list of its own: a listener runs inside the cache's
    /// call, which may be made under the index's lock.
    dropped: Arc<Mutex<Vec<Dropped>>>,
}

/// A stored credential, as checked against presented secrets.
pub(super) struct Checked {
    pub(super) record: CredentialRecord,
    /// The stored hash, parsed once; `None` if storage held something else.
    stored: Option<SecretHash>,
}

/// An access token whose signature and claims were verified, as remembered.
pub(super) struct VerifiedToken {
    /// Its key's record, as the credential cache knew it.
    pub(super) checked: Arc<Checked>,
    /// The token's own end (`exp`), judged against the clock on each use.
    pub(super) exp: UnixTime,
    /// The issuer and audience it was verified for.
    pub(super) issuer: Box<str>,
    /// How long the cache may keep it: until `exp`, as of when it was verified.
    pub(super) keep_for: Duration,
}

/// The SHA-256 of an access token: what a verified token is remembered by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct TokenHash([u8; 32]);

impl TokenHash {
    pub(super) fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
}

/// A cached value with the serial it was listed under in the index, which
/// tells a report of its removal from one about a later value of the same
/// hash.
struct Held<T> {
    value: Arc<T>,
    serial: u64,
}

impl<T> Clone for Held<T> {
    fn clone(&self) -> Self {
        Self { value: self.value.clone(), serial: self.serial }
    }
}

/// One entry of `found` or of `tokens`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Entry {
    Secret(SecretHash),
    Token(TokenHash),
}

/// A listener's report: the cache no longer holds this entry's value.
struct Dropped {
    entry: Entry,
    key_id: Id,
    serial: u64,
}

/// What is cached of each key and account.
#[derive(Default)]
struct Index {
    keys: HashMap<Id, Listed>,
    accounts: HashMap<Id, HashSet<Id>>,
    /// The last serial handed out.
    serial: u64,
}

/// The entries cached for one key, each with the serial of its value.
struct Listed {
    account: Id,
    entries: HashMap<Entry, u64>,
}

impl Index {
    /// Lists `entry` under its key and account; answers its serial.
    fn list(&mut self, entry: Entry, record: &CredentialRecord) -> u64 {
        self.serial += 1;
        let listed = match self.keys.entry(record.key_id.clone()) {
            hash_map::Entry::Occupied(listed) => listed.into_mut(),
            hash_map::Entry::Vacant(vacant) => {
                self.accounts.entry(record.account_id.clone()).or_default().insert(record.key_id.clone());
                vacant.insert(Listed { account: record.account_id.clone(), entries: HashMap::new() })
            }
        };
        listed.entries.insert(entry, self.serial);
        self.serial
    }

    /// Strikes out a dropped value, unless a later one took its place.
    fn strike(&mut self, dropped: &Dropped) {
        let Some(listed) = self.keys.get_mut(&dropped.key_id) else { return };
        if listed.entries.get(&dropped.entry) == Some(&dropped.serial) {
            listed.entries.remove(&dropped.entry);
            if listed.entries.is_empty() {
                self.take_key(&dropped.key_id);
            }
        }
    }

    /// Removes a key's listing; answers its entries.
    fn take_key(&mut self, key_id: &Id) -> Option<Listed> {
        let listed = self.keys.remove(key_id)?;
        if let Some(keys) = self.accounts.get_mut(&listed.account) {
            keys.remove(key_id);
            if keys.is_empty() {
                self.accounts.remove(&listed.account);
            }
        }
        Some(listed)
    }

    /// Removes an account's keys' listings; answers their entries.
    fn take_account(&mut self, account_id: &Id) -> Vec<Entry> {
        let keys = self.accounts.remove(account_id).unwrap_or_default();
        keys.iter().filter_map(|key| self.keys.remove(key)).flat_map(|listed| listed.entries.into_keys()).collect()
    }
}

/// Keeps a remembered token no longer than its own `exp` (the clock is
/// judged on each use as well; this bounds memory).
struct UntilExp;

impl moka::Expiry<TokenHash, Held<VerifiedToken>> for UntilExp {
    fn expire_after_create(
        &self,
        _: &TokenHash,
        held: &Held<VerifiedToken>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(held.value.keep_for)
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing under these locks can be left half-done by a panic that
    // matters: the index is a superset of the caches either way.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self::with_capacity(CACHE_CAPACITY, ABSENT_CAPACITY, TOKEN_CAPACITY)
    }
}

/// What the cache knows of a hash.
enum Known {
    Found(Arc<Checked>),
    Absent,
    Unknown,
}

impl CredentialCache {
    fn with_capacity(found: u64, absent: u64, tokens: u64) -> Self {
        let dropped: Arc<Mutex<Vec<Dropped>>> = Arc::default();
        let report = dropped.clone();
        let found = Cache::builder()
            .max_capacity(found)
            .eviction_listener(move |hash: Arc<SecretHash>, held: Held<Checked>, _| {
                let key_id = held.value.record.key_id.clone();
                locked(&report).push(Dropped { entry: Entry::Secret(*hash), key_id, serial: held.serial });
            })
            .build();
        let report = dropped.clone();
        let tokens = Cache::builder()
            .max_capacity(tokens)
            .expire_after(UntilExp)
            .eviction_listener(move |hash: Arc<TokenHash>, held: Held<VerifiedToken>, _| {
                let key_id = held.value.checked.record.key_id.clone();
                locked(&report).push(Dropped { entry: Entry::Token(*hash), key_id, serial: held.serial });
            })
            .build();
        Self {
            generation: AtomicU64::new(0),
            revision: AtomicI64::new(UNKNOWN),
            found,
            absent: Cache::new(absent),
            tokens,
            index: Mutex::default(),
            dropped,
        }
    }

    fn get(&self, hash: &SecretHash) -> Known {
        if let Some(hit) = self.found.get(hash) {
            Known::Found(hit.value)
        } else if self.absent.contains_key(hash) {
            Known::Absent
        } else {
            Known::Unknown
        }
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The index, with the listeners' reports applied.
    fn index(&self) -> MutexGuard<'_, Index> {
        let mut index = locked(&self.index);
        let dropped = std::mem::take(&mut *locked(&self.dropped));
        for report in &dropped {
            index.strike(report);
        }
        index
    }

    /// Keeps what a lookup begun under `generation` found.
    ///
    /// A found key is listed and inserted under the index's lock, after the
    /// generation is checked there: a change forgotten before that check
    /// is seen by it, and one forgotten after it (which bumps the
    /// generation, then takes the lock) finds the entry listed and removes
    /// it. Absent hashes are not listed (they are forgotten all at once,
    /// never by key). Either is checked once more after the insert, so that
    /// a clear that raced with it removes it even within the same instant
    /// (`invalidate_all` spares what was inserted at its very time).
    fn put(&self, hash: SecretHash, found: Option<Arc<Checked>>, generation: u64) {
        if self.generation() != generation {
            return;
        }
        match found {
            Some(checked) => {
                let mut index = self.index();
                if self.generation() != generation {
                    return;
                }
                let serial = index.list(Entry::Secret(hash), &checked.record);
                self.found.insert(hash, Held { value: checked, serial });
                drop(index);
                if self.generation() != generation {
                    self.found.invalidate(&hash);
                }
            }
            None => {
                self.absent.insert(hash, ());
                if self.generation() != generation {
                    self.absent.invalidate(&hash);
                }
            }
        }
    }

    /// A token verified before, unless a change forgot it since.
    pub(super) fn token(&self, hash: &TokenHash) -> Option<Arc<VerifiedToken>> {
        self.tokens.get(hash).map(|held| held.value)
    }

    /// Remembers a token verified under `generation`, listed under its key
    /// (so that forgetting the key or its account forgets it), as `put`
    /// keeps a key.
    pub(super) fn put_token(&self, hash: TokenHash, token: Arc<VerifiedToken>, generation: u64) {
        let mut index = self.index();
        if self.generation() != generation {
            return;
        }
        let serial = index.list(Entry::Token(hash), &token.checked.record);
        self.tokens.insert(hash, Held { value: token, serial });
        drop(index);
        if self.generation() != generation {
            self.tokens.invalidate(&hash);
        }
    }

    /// A key's record, if one of its secrets is cached: what a token of a
    /// key in use is checked against without storage.
    fn by_key_id(&self, key_id: &Id) -> Option<Arc<Checked>> {
        let index = self.index();
        let listed = index.keys.get(key_id)?;
        listed.entries.keys().find_map(|entry| match entry {
            Entry::Secret(hash) => self.found.get(hash).map(|held| held.value),
            Entry::Token(_) => None,
        })
    }

    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut index = self.index();
        let serial = index.serial;
        *index = Index { serial, ..Index::default() };
        self.found.invalidate_all();
        self.absent.invalidate_all();
        self.tokens.invalidate_all();
    }

    /// Forgets every remembered token (their signing keys changed).
    pub(super) fn forget_tokens(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        // Their listings are struck out as the reports of their removal
        // come in; until then the index lists more than is cached, which
        // only costs a forget a few removals of nothing.
        self.tokens.invalidate_all();
    }

    /// Forgets what `change` touched, and only that: the entries listed
    /// under the key, or under the account's keys, each removed by its
    /// hash. The cost is that of the entries forgotten, whatever else is
    /// cached or was forgotten before. A lookup in flight keeps its answer
    /// to itself (the generation moves on before the index is read).
    fn forget(&self, change: &CredentialChange) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut index = self.index();
        let entries = match change {
            CredentialChange::Key(id) => index.take_key(id).map(|listed| listed.entries.into_keys().collect()),
            CredentialChange::Account(id) | CredentialChange::Restored(id) => Some(index.take_account(id)),
            CredentialChange::Everything => {
                drop(index);
                return self.clear();
            }
        };
        // Removed under the lock, so that no put lists anew in between
        // (the listeners take only their own list's lock).
        for entry in entries.unwrap_or_default() {
            match entry {
                Entry::Secret(hash) => self.found.invalidate(&hash),
                Entry::Token(hash) => self.tokens.invalidate(&hash),
            }
        }
        drop(index);
        // A restored account's keys were looked up as absent while it was
        // deleted; which hashes those were is not known, so none is kept.
        if matches!(change, CredentialChange::Restored(_)) {
            self.absent.invalidate_all();
        }
    }

    /// Applies the listeners' reports, so that they do not pile up on a
    /// node that only reads.
    fn tidy(&self) {
        drop(self.index());
    }

    /// Whether the index lists exactly what the caches hold, each value
    /// under its own serial, once their pending work is done.
    #[cfg(test)]
    fn index_is_exact(&self) -> bool {
        self.found.run_pending_tasks();
        self.tokens.run_pending_tasks();
        let index = self.index();
        let mut listed: HashMap<Entry, u64> = HashMap::new();
        for (key_id, keys) in &index.keys {
            if !index.accounts.get(&keys.account).is_some_and(|of| of.contains(key_id)) {
                return false;
            }
            listed.extend(keys.entries.iter().map(|(entry, serial)| (*entry, *serial)));
        }
        let accounts_listed = index.accounts.values().map(HashSet::len).sum::<usize>();
        let cached: HashMap<Entry, u64> = self
            .found
            .iter()
            .map(|(hash, held)| (Entry::Secret(*hash), held.serial))
            .chain(self.tokens.iter().map(|(hash, held)| (Entry::Token(*hash), held.serial)))
            .collect();
        listed == cached && accounts_listed == index.keys.len()
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

    /// A key's record by its id, for an access token, which names its key
    /// rather than carry its secret: from the cache when one of the key's
    /// secrets is there, else by one indexed lookup, then kept under the
    /// key's stored hash as the key check would have kept it.
    pub(super) async fn checked_by_id(&self, key: &Id) -> Result<Option<Arc<Checked>>, ServiceError> {
        let cache = &self.inner.credentials;
        if let Some(hit) = cache.by_key_id(key) {
            return Ok(Some(hit));
        }
        let generation = cache.generation();
        let found = {
            let mut conn = self.store().read().await?;
            keys::find_credential_by_id(&mut conn, key).await?
        };
        self.metrics().credential_lookup(if found.is_some() { "found" } else { "absent" });
        let Some(record) = found else { return Ok(None) };
        let stored = SecretHash::from_hex(&record.secret_hash);
        let checked = Arc::new(Checked { record, stored });
        if let Some(hash) = stored {
            cache.put(hash, Some(checked.clone()), generation);
        }
        Ok(Some(checked))
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
        cache.tidy();
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

    fn token_of(checked: Arc<Checked>) -> Arc<VerifiedToken> {
        Arc::new(VerifiedToken {
            checked,
            exp: i64::MAX,
            issuer: "https://kw.example".into(),
            keep_for: Duration::from_secs(600),
        })
    }

    /// A token for each of the three keys, by the key's record.
    fn three_tokens(cache: &CredentialCache, keys: &[(SecretHash, CredentialRecord)]) -> Vec<TokenHash> {
        keys.iter()
            .enumerate()
            .map(|(i, (_, record))| {
                let hash = TokenHash::of(&format!("token-{i}"));
                let checked = Arc::new(Checked { record: record.clone(), stored: None });
                cache.put_token(hash, token_of(checked), cache.generation());
                hash
            })
            .collect()
    }

    #[test]
    fn a_changed_key_forgets_its_tokens_and_a_changed_account_those_of_its_keys() {
        let cache = CredentialCache::default();
        let keys = three_keys(&cache);
        let tokens = three_tokens(&cache, &keys);
        let remembered = |cache: &CredentialCache| tokens.iter().map(|t| cache.token(t).is_some()).collect::<Vec<_>>();
        assert_eq!(remembered(&cache), [true, true, true]);
        cache.forget(&CredentialChange::Key(keys[1].1.key_id.clone()));
        assert_eq!(remembered(&cache), [true, false, true]);
        cache.forget(&CredentialChange::Account(keys[0].1.account_id.clone()));
        assert_eq!(remembered(&cache), [false, false, true]);
        assert!(cached(&cache, &keys[2].0), "the other account's key stays");
        assert!(cache.index_is_exact());
    }

    #[test]
    fn new_signing_keys_forget_every_token_and_no_key() {
        let cache = CredentialCache::default();
        let keys = three_keys(&cache);
        let tokens = three_tokens(&cache, &keys);
        let started = cache.generation();
        cache.forget_tokens();
        assert!(tokens.iter().all(|t| cache.token(t).is_none()));
        assert!(keys.iter().all(|(h, _)| cached(&cache, h)));
        // A token verified with the keys of before is not kept.
        cache.put_token(tokens[0], token_of(Arc::new(Checked { record: keys[0].1.clone(), stored: None })), started);
        assert!(cache.token(&tokens[0]).is_none());
        assert!(cache.index_is_exact());
    }

    #[test]
    fn a_key_in_the_cache_answers_for_its_tokens() {
        let cache = CredentialCache::default();
        let keys = three_keys(&cache);
        let found = cache.by_key_id(&keys[1].1.key_id).expect("cached");
        assert_eq!(found.record.key_id, keys[1].1.key_id);
        cache.forget(&CredentialChange::Key(keys[1].1.key_id.clone()));
        assert!(cache.by_key_id(&keys[1].1.key_id).is_none());
    }

    /// Entries evicted, replaced and invalidated in bulk: their listings go
    /// with them, and a later value of the same hash keeps its own.
    #[test]
    fn the_index_lists_exactly_what_is_cached() {
        let cache = CredentialCache::with_capacity(20, 20, 20);
        let account = Id::generate();
        let records: Vec<_> = (0..200u8)
            .map(|i| {
                let mut r = record();
                r.account_id = account.clone();
                (Secret::from_entropy([i; 44]).hash(), TokenHash::of(&format!("t{i}")), r)
            })
            .collect();
        for round in 0..3 {
            for (hash, token, r) in &records {
                let checked = Arc::new(Checked { record: r.clone(), stored: None });
                cache.put(*hash, Some(checked.clone()), cache.generation());
                cache.put_token(*token, token_of(checked), cache.generation());
            }
            assert!(cache.index_is_exact(), "round {round}");
        }
        assert!(cache.found.entry_count() <= 20, "the cache stays bounded");
        cache.forget_tokens();
        assert!(cache.index_is_exact());
        cache.clear();
        assert!(cache.index_is_exact());
        assert!(cache.index().keys.is_empty(), "nothing listed once nothing is cached");
    }

    /// Lookups racing changes on several threads, with caches small enough
    /// that entries are evicted, refused admission and replaced all along.
    /// Each change to a key (one by one, or its whole account at once) is
    /// committed, giving the key a new version, then forgotten, as the
    /// service does; once `forget` has returned, no read may find the key,
    /// or a token of it, at a version older than the one forgotten. The
    /// version rides in the record's `expires`. Afterwards the index lists
    /// exactly what is cached.
    #[test]
    fn no_changed_credential_survives_lookups_racing_its_forgetting() {
        use std::sync::atomic::AtomicBool;

        struct Key {
            hash: SecretHash,
            token: TokenHash,
            record: CredentialRecord,
            /// The version storage holds.
            committed: AtomicI64,
            /// The version whose change was forgotten.
            forgotten: AtomicI64,
        }
        const ACCOUNTS: usize = 3;
        const KEYS_PER_ACCOUNT: usize = 4;
        const CHANGES: usize = 3_000;
        let cache = CredentialCache::with_capacity(6, 4, 6);
        let keys: Vec<Key> = (0..ACCOUNTS)
            .flat_map(|a| {
                let account = Id::generate();
                (0..KEYS_PER_ACCOUNT).map(move |k| {
                    let mut record = record();
                    record.account_id = account.clone();
                    let n = a * KEYS_PER_ACCOUNT + k;
                    Key {
                        hash: Secret::from_entropy([n as u8; 44]).hash(),
                        token: TokenHash::of(&format!("token-{n}")),
                        record,
                        committed: AtomicI64::new(0),
                        forgotten: AtomicI64::new(0),
                    }
                })
            })
            .collect();
        // Storage as a lookup reads it: the key at its committed version.
        let read = |k: &Key| {
            let mut record = k.record.clone();
            record.expires = Some(k.committed.load(Ordering::SeqCst));
            Arc::new(Checked { record, stored: None })
        };
        let version = |c: &Checked| c.record.expires.unwrap_or(i64::MIN);
        let done = AtomicBool::new(false);
        let stale = AtomicU64::new(0);
        let reads = AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..3u64 {
                let (cache, keys, done, stale, reads) = (&cache, &keys, &done, &stale, &reads);
                s.spawn(move || {
                    let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (t + 1);
                    while !done.load(Ordering::SeqCst) {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let k = &keys[(rng % keys.len() as u64) as usize];
                        let forgotten = k.forgotten.load(Ordering::SeqCst);
                        reads.fetch_add(1, Ordering::SeqCst);
                        match cache.get(&k.hash) {
                            Known::Found(c) => {
                                if version(&c) < forgotten {
                                    stale.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                            _ => {
                                let started = cache.generation();
                                let found = read(k);
                                std::thread::yield_now();
                                cache.put(k.hash, Some(found), started);
                            }
                        }
                        match cache.token(&k.token) {
                            Some(t) => {
                                if version(&t.checked) < forgotten {
                                    stale.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                            None => {
                                let started = cache.generation();
                                let found = read(k);
                                std::thread::yield_now();
                                cache.put_token(k.token, token_of(found), started);
                            }
                        }
                    }
                });
            }
            // Lets the lookups run `n` more times, however fast this
            // machine is.
            let pause = |n: u64| {
                let until = reads.load(Ordering::SeqCst) + n;
                while reads.load(Ordering::SeqCst) < until {
                    std::thread::yield_now();
                }
            };
            for n in 0..CHANGES {
                pause(4);
                let k = &keys[n * 7 % keys.len()];
                if n % 5 == 0 {
                    let of_account: Vec<&Key> =
                        keys.iter().filter(|other| other.record.account_id == k.record.account_id).collect();
                    let versions: Vec<i64> =
                        of_account.iter().map(|k| k.committed.fetch_add(1, Ordering::SeqCst) + 1).collect();
                    cache.forget(&CredentialChange::Account(k.record.account_id.clone()));
                    for (k, v) in of_account.iter().zip(versions) {
                        k.forgotten.store(v, Ordering::SeqCst);
                    }
                } else {
                    let v = k.committed.fetch_add(1, Ordering::SeqCst) + 1;
                    cache.forget(&CredentialChange::Key(k.record.key_id.clone()));
                    k.forgotten.store(v, Ordering::SeqCst);
                }
            }
            done.store(true, Ordering::SeqCst);
        });
        assert_eq!(stale.load(Ordering::SeqCst), 0, "credentials read as they were before a change forgotten");
        for k in &keys {
            let at = k.forgotten.load(Ordering::SeqCst);
            assert!(!matches!(cache.get(&k.hash), Known::Found(c) if version(&c) < at));
            assert!(cache.token(&k.token).is_none_or(|t| version(&t.checked) >= at));
        }
        assert!(cache.index_is_exact(), "the index drifted from the caches");
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
