//! API keys: mint, list, change, delete and rotate. Minting is the only place
//! a secret is made, and the only answer that carries it.

use serde_json::json;

use super::audit::{self, Action, Target};
use super::idempotency::ReplayGuard;
use super::sealing::assertion_context;
use super::webhooks;
use super::{Principal, Service, ServiceError};
use crate::domain::entity::OrgPolicy;
use crate::domain::entity::{ApiKey, ServiceAccount};
use crate::domain::webhook::Event;
use crate::domain::{Cidr, Id, Meta, Name, Narrowing, RateLimit, Role, Scope, Secret, UnixTime};
use crate::store::credential_changes::{self, CredentialChange};
use crate::store::orgs::{self};
use crate::store::{Conn, StoreError, accounts, keys};

/// The longest a rotated key may keep working beside its successor.
pub const MAX_GRACE_PERIOD: i64 = 7 * 86_400;

/// When a new key stops working, as the caller asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Unlimited,
    /// `expiresIn`: seconds from now.
    For(i64),
    /// `expires`: a Unix time.
    Until(UnixTime),
}

#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: Option<Name>,
    pub lifetime: Lifetime,
    /// The default narrows nothing.
    pub narrowing: Narrowing,
}

/// `name: Some(None)` clears the name; `None` leaves fields as they are.
/// An empty list clears `scopes` or `allowedCidrs`.
#[derive(Debug, Clone, Default)]
pub struct KeyPatch {
    pub name: Option<Option<Name>>,
    pub disabled: Option<bool>,
    pub role: Option<Option<Role>>,
    pub scopes: Option<Vec<Scope>>,
    pub allowed_cidrs: Option<Vec<Cidr>>,
    pub rate_limit: Option<Option<RateLimit>>,
    pub meta: Option<Option<Meta>>,
}

/// What a key to be minted is made of, resolved and checked.
struct Draft {
    name: Option<Name>,
    expires: Option<UnixTime>,
    narrowing: Narrowing,
}

/// A key as just minted: the only value that holds its secret.
#[derive(Debug)]
pub struct MintedKey {
    pub key: ApiKey,
    pub secret: Secret,
    /// What a replay of this answer must meet.
    pub guard: ReplayGuard,
}

impl Service {
    /// Editors, for accounts whose role does not exceed their own.
    /// `409` once the account holds its limit of live keys.
    pub async fn create_key(&self, p: &Principal, account_id: &Id, new: NewKey) -> Result<MintedKey, ServiceError> {
        p.require(Role::Editor)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Locked before it is read, so that it cannot be deleted between the
        // check that it lives and the key written for it.
        accounts::lock(tx.conn(), account_id).await?;
        let account = self.account_in_org(tx.conn(), p, account_id).await?;
        p.require_at_least(account.role, "create a key for an account")?;
        let policy = self.org_policy(tx.conn(), p).await?;
        let ceiling = p.ceiling();
        let expires = self.resolve_lifetime(&policy, new.lifetime, now)?;
        // Asked for no lifetime, a key made by a key that ends gets its
        // maker's end at the latest; asked for a later one, it is refused.
        let expires = match (new.lifetime, ceiling.expires()) {
            (Lifetime::Unlimited, Some(cap)) => Some(expires.map_or(cap, |at| at.min(cap))),
            _ => expires,
        };
        require_key_role(p, new.narrowing.role, account.role)?;
        ceiling.check(&new.narrowing, expires).map_err(ServiceError::above_ceiling)?;
        self.require_key_slot(tx.conn(), account_id, now).await?;
        let draft = Draft { name: new.name, expires, narrowing: new.narrowing };
        let minted = self.mint(tx.conn(), p, account.role, account_id, draft, now).await?;
        record_created(tx.conn(), p, now, &minted.key).await?;
        tx.commit().await?;
        Ok(minted)
    }

    /// Everyone in the organization.
    pub async fn list_keys(&self, p: &Principal, account_id: &Id) -> Result<Vec<ApiKey>, ServiceError> {
        p.require(Role::Viewer)?;
        let mut conn = self.store().read().await?;
        self.account_in_org(&mut conn, p, account_id).await?;
        Ok(keys::list_for_account(&mut conn, account_id).await?)
    }

    /// Everyone in the organization: live keys not used for `days` days
    /// (never-used keys count from their creation), to find what can go.
    pub async fn list_unused_keys(
        &self,
        p: &Principal,
        days: i64,
        after: Option<Id>,
        limit: usize,
    ) -> Result<super::Page<crate::domain::entity::KeyWithAccount, Id>, ServiceError> {
        p.require(Role::Viewer)?;
        let now = self.now();
        let cutoff = now.saturating_sub(days.saturating_mul(86_400));
        let mut conn = self.store().read().await?;
        let rows = keys::list_unused(&mut conn, &p.org_id, cutoff, now, after.as_ref(), limit as i64 + 1).await?;
        Ok(super::Page::from_overfetch(rows, limit, |k| k.key.id.clone()))
    }

    /// Editors, for accounts whose role does not exceed their own.
    pub async fn update_key(
        &self,
        p: &Principal,
        account_id: &Id,
        key_id: &Id,
        patch: KeyPatch,
    ) -> Result<ApiKey, ServiceError> {
        p.require(Role::Editor)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Locked before it is read: a revocation racing with this change
        // must not be written over with what was read before it.
        keys::lock(tx.conn(), key_id).await?;
        let account = self.account_in_org(tx.conn(), p, account_id).await?;
        p.require_at_least(account.role, "change a key of an account")?;
        let before = keys::get(tx.conn(), account_id, key_id).await?.ok_or(ServiceError::NotFound("key"))?;
        let mut after = before.clone();
        let narrows = patch.role.is_some()
            || patch.scopes.is_some()
            || patch.allowed_cidrs.is_some()
            || patch.rate_limit.is_some()
            || patch.meta.is_some();
        if narrows && p.key_id() == Some(key_id) {
            return Err(ServiceError::forbidden(
                "a key cannot change its own role, scopes, allowedCidrs, rateLimit or meta; \
                 ask whoever made it, or make a narrower key",
            ));
        }
        if let Some(name) = patch.name {
            after.name = name;
        }
        after.disabled = patch.disabled.unwrap_or(before.disabled);
        if let Some(role) = patch.role {
            require_key_role(p, role, account.role)?;
            after.narrowing.role = role;
        }
        let n = &mut after.narrowing;
        n.scopes = patch.scopes.unwrap_or(std::mem::take(&mut n.scopes));
        n.allowed_cidrs = patch.allowed_cidrs.unwrap_or(std::mem::take(&mut n.allowed_cidrs));
        n.rate_limit = patch.rate_limit.unwrap_or(n.rate_limit);
        n.meta = patch.meta.unwrap_or(n.meta.take());
        // Narrowing a key, or enabling one, must leave it within the
        // caller's ceiling: a key never makes a wider key usable.
        let enables = before.disabled && !after.disabled;
        if narrows || enables {
            p.ceiling().check(&after.narrowing, after.expires).map_err(ServiceError::above_ceiling)?;
        }
        keys::update(tx.conn(), &after).await?;
        // A narrower key takes effect like a revocation: at once on this
        // node, within the revision poll on the others.
        let state_changed = after.disabled != before.disabled || after.narrowing != before.narrowing;
        let change = CredentialChange::Key(key_id.clone());
        if state_changed {
            credential_changes::record(tx.conn(), &change, now).await?;
        }
        let (action, event) = match (before.disabled, after.disabled) {
            (false, true) => (Action::KeyDisable, Some(Event::KeyDisabled)),
            (true, false) => (Action::KeyEnable, Some(Event::KeyEnabled)),
            _ => (Action::KeyUpdate, None),
        };
        let mut detail = key_detail(&after);
        detail["changes"] = narrowing_changes(&before.narrowing, &after.narrowing);
        audit::record(tx.conn(), p, now, action, Target::Key(key_id), Some(&detail)).await?;
        if let Some(event) = event {
            webhooks::announce(tx.conn(), p, now, event, Target::Key(key_id), Some(&detail)).await?;
        }
        tx.commit().await?;
        if state_changed {
            self.credential_changed(&change);
        }
        Ok(after)
    }

    /// Editors, for accounts whose role does not exceed their own. The key
    /// stops working with the very next request.
    pub async fn delete_key(&self, p: &Principal, account_id: &Id, key_id: &Id) -> Result<(), ServiceError> {
        p.require(Role::Editor)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let (_, key) = self.key_in_org(tx.conn(), p, account_id, key_id, "delete a key of an account").await?;
        keys::delete(tx.conn(), account_id, key_id).await?;
        let change = CredentialChange::Key(key_id.clone());
        credential_changes::record(tx.conn(), &change, now).await?;
        let detail = key_detail(&key);
        audit::record(tx.conn(), p, now, Action::KeyDelete, Target::Key(key_id), Some(&detail)).await?;
        webhooks::announce(tx.conn(), p, now, Event::KeyDeleted, Target::Key(key_id), Some(&detail)).await?;
        tx.commit().await?;
        self.credential_changed(&change);
        Ok(())
    }

    /// Editors, for accounts whose role does not exceed their own. Mints a
    /// successor and lets the old key live `grace_period` more seconds (0:
    /// it stops now, and the successor takes its place under the key cap).
    /// While the old key lives on, both count against the cap, and an
    /// account has at most one key in its grace period: otherwise rotating
    /// with a long grace would grow the number of live keys without bound.
    pub async fn rotate_key(
        &self,
        p: &Principal,
        account_id: &Id,
        key_id: &Id,
        grace_period: i64,
    ) -> Result<MintedKey, ServiceError> {
        p.require(Role::Editor)?;
        if !(0..=MAX_GRACE_PERIOD).contains(&grace_period) {
            return Err(ServiceError::invalid(
                "gracePeriod",
                format!("must be from 0 to {MAX_GRACE_PERIOD} seconds (7 days)"),
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        accounts::lock(tx.conn(), account_id).await?;
        keys::lock(tx.conn(), key_id).await?;
        let (account, mut old) =
            self.key_in_org(tx.conn(), p, account_id, key_id, "rotate a key of an account").await?;
        if old.expires.is_some_and(|at| at <= now) {
            return Err(ServiceError::Conflict { field: "key-id", detail: "the key has already expired".into() });
        }
        if keys::is_replaced(tx.conn(), key_id).await? {
            return Err(ServiceError::Conflict {
                field: "key-id",
                detail: "the key was rotated already; rotate its successor".into(),
            });
        }
        if grace_period > 0 {
            if keys::count_in_grace(tx.conn(), account_id, now).await? > 0 {
                return Err(ServiceError::Conflict {
                    field: "gracePeriod",
                    detail: "another key of this account is still in its grace period; \
                             wait for it to end, delete it, or rotate with gracePeriod 0"
                        .into(),
                });
            }
            self.require_key_slot(tx.conn(), account_id, now).await?;
        }
        let policy = self.org_policy(tx.conn(), p).await?;
        let old_ends = now.saturating_add(grace_period);
        // The successor stands in for the old key: same narrowing, same end,
        // but no later than the policy allows a key made now; a key that
        // never expired gets what the policy gives a new one.
        let successor_expires = match old.expires {
            Some(at) => Some(self.longest_lifetime(&policy).map_or(at, |(secs, _)| at.min(now.saturating_add(secs)))),
            None => self.successor_lifetime(&policy, &old, now)?,
        };
        // The caller receives the successor's secret: it must be a key the
        // caller could have made, ending no later than the caller does.
        let ceiling = p.ceiling();
        let successor_expires = match ceiling.expires() {
            Some(cap) => Some(successor_expires.map_or(cap, |at| at.min(cap))),
            None => successor_expires,
        };
        ceiling.check(&old.narrowing, successor_expires).map_err(ServiceError::above_ceiling)?;
        old.expires = Some(old.expires.map_or(old_ends, |at| at.min(old_ends)));
        let draft = Draft {
            name: old.name.as_deref().map(Name::from_stored_ref),
            expires: successor_expires,
            narrowing: old.narrowing.clone(),
        };
        let minted = self.mint(tx.conn(), p, account.role, account_id, draft, now).await?;
        keys::mark_replaced(tx.conn(), key_id, &minted.key.id, old.expires.unwrap_or(old_ends)).await?;
        let change = CredentialChange::Key(key_id.clone());
        credential_changes::record(tx.conn(), &change, now).await?;
        let mut detail = json!({"replacedBy": minted.key.id, "expires": old.expires, "gracePeriod": grace_period});
        narrowing_detail(&mut detail, &minted.key.narrowing);
        audit::record(tx.conn(), p, now, Action::KeyRotate, Target::Key(key_id), Some(&detail)).await?;
        webhooks::announce(tx.conn(), p, now, Event::KeyRotated, Target::Key(key_id), Some(&detail)).await?;
        record_created(tx.conn(), p, now, &minted.key).await?;
        tx.commit().await?;
        self.credential_changed(&change);
        self.metrics().lifecycle("rotated");
        Ok(minted)
    }

    /// `409` when the account (whose row the caller holds locked) has no
    /// room for one more live key.
    async fn require_key_slot(&self, conn: &mut Conn, account_id: &Id, now: UnixTime) -> Result<(), ServiceError> {
        let limit = self.limits().max_keys_per_account;
        if keys::count_live(conn, account_id, now).await? >= limit {
            return Err(ServiceError::Conflict {
                field: "keys",
                detail: format!("this service account already has the maximum of {limit} keys"),
            });
        }
        Ok(())
    }

    async fn key_in_org(
        &self,
        conn: &mut Conn,
        p: &Principal,
        account_id: &Id,
        key_id: &Id,
        what: &str,
    ) -> Result<(ServiceAccount, ApiKey), ServiceError> {
        let account = self.account_in_org(conn, p, account_id).await?;
        p.require_at_least(account.role, what)?;
        let key = keys::get(conn, account_id, key_id).await?.ok_or(ServiceError::NotFound("key"))?;
        Ok((account, key))
    }

    async fn mint(
        &self,
        conn: &mut Conn,
        p: &Principal,
        account_role: Role,
        account_id: &Id,
        draft: Draft,
        now: UnixTime,
    ) -> Result<MintedKey, ServiceError> {
        let Draft { name, expires, narrowing } = draft;
        let secret = Secret::mint()?;
        let key = ApiKey {
            id: Id::generate(),
            account_id: account_id.clone(),
            name,
            created: now,
            created_by: p.created_by(),
            expires,
            last_used: None,
            disabled: false,
            narrowing,
        };
        let sealed = self.sealing_key().seal(&assertion_context(&key.id), secret.assertion_key().as_bytes())?;
        keys::insert(conn, &key, &secret.hash(), &sealed).await?;
        let guard = ReplayGuard::new(p, account_role.max(Role::Editor)).made_key(&key);
        Ok(MintedKey { key, secret, guard })
    }
}

impl Service {
    async fn org_policy(&self, conn: &mut Conn, p: &Principal) -> Result<OrgPolicy, ServiceError> {
        Ok(orgs::policy(conn, &p.org_id).await?.unwrap_or_default())
    }

    /// Keys coming back with a restored account meet the rules of a key made
    /// now: the organization's policy shortens those that would outlive it
    /// (answered by id), and a calling key restores only keys within its
    /// ceiling. Expired keys stay as they are.
    pub(super) async fn bind_restored_keys(
        &self,
        conn: &mut Conn,
        p: &Principal,
        restored: &mut [ApiKey],
        now: UnixTime,
    ) -> Result<Vec<Id>, ServiceError> {
        let policy = self.org_policy(conn, p).await?;
        let latest = self.longest_lifetime(&policy).map(|(secs, _)| now.saturating_add(secs));
        let ceiling = p.ceiling();
        let mut shortened = Vec::new();
        for key in restored.iter_mut().filter(|k| k.expires.is_none_or(|at| at > now)) {
            if let Some(latest) = latest.filter(|latest| key.expires.is_none_or(|at| at > *latest)) {
                keys::set_expiry(conn, &key.id, latest).await?;
                key.expires = Some(latest);
                shortened.push(key.id.clone());
            }
            if !key.disabled {
                ceiling.check(&key.narrowing, key.expires).map_err(ServiceError::above_ceiling)?;
            }
        }
        Ok(shortened)
    }

    /// The longest lifetime a key may have here, in seconds, and what sets
    /// it: the smaller of the server's limit and the organization's.
    fn longest_lifetime(&self, policy: &OrgPolicy) -> Option<(i64, &'static str)> {
        let server = self.limits().max_key_lifetime.map(|d| (d.as_secs() as i64, "the server's"));
        let org = policy.max_key_lifetime.map(|secs| (secs, "the organization's"));
        match (server, org) {
            (Some(s), Some(o)) => Some(if o.0 < s.0 { o } else { s }),
            (s, o) => s.or(o),
        }
    }

    /// When a new key expires, under the server's limits and the
    /// organization's policy: an asked-for lifetime must be in the future
    /// and within the longest allowed. None asked gives the server's default
    /// lifetime (within the longest), else the longest; where there is
    /// neither and the organization requires expiry, the caller must ask.
    fn resolve_lifetime(
        &self,
        policy: &OrgPolicy,
        lifetime: Lifetime,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, ServiceError> {
        let longest = self.longest_lifetime(policy);
        let max = longest.map(|(secs, _)| secs);
        let beyond_max = |field: &'static str| {
            let (secs, whose) = longest.unwrap_or((0, "the"));
            ServiceError::invalid(field, format!("exceeds {whose} longest key lifetime of {secs} seconds"))
        };
        match lifetime {
            Lifetime::Unlimited => {
                let default = self.limits().default_key_lifetime.map(|d| d.as_secs() as i64);
                match default.or(max) {
                    Some(secs) => Ok(Some(now.saturating_add(secs.min(max.unwrap_or(i64::MAX))))),
                    None if policy.require_expiry => Err(ServiceError::invalid(
                        "expires",
                        "this organization requires every key to expire: give expiresIn or expires",
                    )),
                    None => Ok(None),
                }
            }
            Lifetime::For(seconds) if seconds <= 0 => {
                Err(ServiceError::invalid("expiresIn", "must be a positive number of seconds"))
            }
            Lifetime::For(seconds) if max.is_some_and(|m| seconds > m) => Err(beyond_max("expiresIn")),
            Lifetime::For(seconds) => Ok(Some(now.saturating_add(seconds))),
            Lifetime::Until(at) if at <= now => {
                Err(ServiceError::invalid("expires", "must be a Unix time in the future"))
            }
            Lifetime::Until(at) if max.is_some_and(|m| at - now > m) => Err(beyond_max("expires")),
            Lifetime::Until(at) => Ok(Some(at)),
        }
    }

    /// When the successor of a rotated key expires: as a new key asked
    /// without a lifetime; where the organization requires expiry and sets
    /// no default, the successor gets the lifetime its predecessor was
    /// given, so that rotating never needs a lifetime in its request.
    fn successor_lifetime(
        &self,
        policy: &OrgPolicy,
        old: &ApiKey,
        now: UnixTime,
    ) -> Result<Option<UnixTime>, ServiceError> {
        match self.resolve_lifetime(policy, Lifetime::Unlimited, now) {
            Err(refused) => match old.expires.map(|at| at - old.created).filter(|secs| *secs > 0) {
                Some(secs) => self.resolve_lifetime(policy, Lifetime::For(secs), now),
                None => Err(refused),
            },
            decided => decided,
        }
    }
}

/// A key's role may not exceed its account's (a `422`: the key asks for
/// what the account cannot give), nor the caller's own (a `403`).
fn require_key_role(p: &Principal, role: Option<Role>, account: Role) -> Result<(), ServiceError> {
    let Some(role) = role else { return Ok(()) };
    p.require_at_least(role, "give a key")?;
    if role > account {
        return Err(ServiceError::invalid("role", format!("must not exceed the service account's role ({account})")));
    }
    Ok(())
}

/// A new key in the trail, announced as `key.created`.
async fn record_created(conn: &mut Conn, p: &Principal, now: UnixTime, key: &ApiKey) -> Result<(), StoreError> {
    let detail = key_detail(key);
    audit::record(conn, p, now, Action::KeyCreate, Target::Key(&key.id), Some(&detail)).await?;
    webhooks::announce(conn, p, now, Event::KeyCreated, Target::Key(&key.id), Some(&detail)).await
}

fn key_detail(key: &ApiKey) -> serde_json::Value {
    let mut detail =
        json!({"serviceAccountId": key.account_id, "name": key.name, "expires": key.expires, "disabled": key.disabled});
    narrowing_detail(&mut detail, &key.narrowing);
    detail
}

/// The narrowing as the API shows it, added to an audit detail.
fn narrowing_detail(detail: &mut serde_json::Value, n: &Narrowing) {
    for (field, value) in narrowing_fields(n) {
        detail[field] = value;
    }
}

fn narrowing_fields(n: &Narrowing) -> [(&'static str, serde_json::Value); 5] {
    [
        ("role", json!(n.role)),
        ("scopes", json!(n.scopes.iter().map(Scope::as_str).collect::<Vec<_>>())),
        ("allowedCidrs", json!(n.allowed_cidrs.iter().map(ToString::to_string).collect::<Vec<_>>())),
        ("rateLimit", n.rate_limit.map_or(serde_json::Value::Null, |r| json!({"limit": r.limit, "period": r.period}))),
        ("meta", n.meta.as_ref().map_or(serde_json::Value::Null, Meta::as_value)),
    ]
}

/// The narrowing fields a change touched, old and new.
fn narrowing_changes(before: &Narrowing, after: &Narrowing) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for ((field, from), (_, to)) in narrowing_fields(before).into_iter().zip(narrowing_fields(after)) {
        if from != to {
            out.insert(field.into(), json!({"from": from, "to": to}));
        }
    }
    serde_json::Value::Object(out)
}
