//! Service accounts: create, read, change, delete, restore, and the purge of
//! those deleted long ago.

use serde_json::json;

use super::audit::{self, Action, Target};
use super::email::queue_confirmation;
use super::webhooks;
use super::{Page, Principal, Service, ServiceError};
use crate::domain::entity::{ApiKey, ServiceAccount};
use crate::domain::webhook::Event;
use crate::domain::{Email, Id, Meta, Name, Role};
use crate::store::credential_changes::{self, CredentialChange};
use crate::store::{accounts, keys};

/// How long a deleted account can still be restored before the purge takes it.
pub const RETENTION: i64 = 30 * 86_400;
/// Accounts purged per transaction, so that one purge never holds storage long.
const PURGE_BATCH: i64 = 100;

/// Which accounts a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listing {
    #[default]
    Live,
    /// Deleted and not yet purged.
    Deleted,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: Name,
    pub enable_basic_auth: bool,
    pub role: Role,
    pub email: Option<Email>,
    pub meta: Option<Meta>,
}

/// Fields left `None` keep their value.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub name: Option<Name>,
    pub enable_basic_auth: Option<bool>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// `Some(None)` removes the address; a new address restarts confirmation.
    pub email: Option<Option<Email>>,
    /// `Some(None)` removes it.
    pub meta: Option<Option<Meta>>,
}

/// An account with its keys' metadata, as the API shows it.
#[derive(Debug, Clone)]
pub struct AccountWithKeys {
    pub account: ServiceAccount,
    pub keys: Vec<ApiKey>,
}

impl Service {
    /// Admins. The new account's role may not exceed the caller's.
    pub async fn create_account(&self, p: &Principal, new: NewAccount) -> Result<AccountWithKeys, ServiceError> {
        p.require(Role::Admin)?;
        p.require_at_least(new.role, "create an account")?;
        let now = self.now();
        let account = ServiceAccount {
            id: Id::generate(),
            org_id: p.org_id.clone(),
            name: new.name,
            role: new.role,
            enable_basic_auth: new.enable_basic_auth,
            email: new.email,
            email_confirmed: false,
            disabled: false,
            created: now,
            last_used: None,
            deleted: None,
            meta: new.meta,
        };
        let mut tx = self.store().begin().await?;
        accounts::insert(tx.conn(), &account).await?;
        let mut detail =
            json!({"name": account.name, "role": account.role, "enableBasicAuth": account.enable_basic_auth});
        if let Some(email) = &account.email {
            detail["email"] = json!(email);
        }
        if let Some(meta) = &account.meta {
            detail["meta"] = meta.as_value();
        }
        let target = Target::ServiceAccount(&account.id);
        audit::record(tx.conn(), p, now, Action::AccountCreate, target, Some(&detail)).await?;
        webhooks::announce(tx.conn(), p, now, Event::AccountCreated, target, Some(&detail)).await?;
        // The confirmation request commits or rolls back with the account.
        let queued = queue_confirmation(tx.conn(), &account, now).await?;
        tx.commit().await?;
        if queued {
            self.metrics().mail("queued");
        }
        Ok(AccountWithKeys { account, keys: Vec::new() })
    }

    /// Everyone in the organization.
    pub async fn list_accounts(
        &self,
        p: &Principal,
        after: Option<Id>,
        limit: usize,
        name_contains: Option<&str>,
        listing: Listing,
    ) -> Result<Page<AccountWithKeys, Id>, ServiceError> {
        // Deleted accounts are a place to undo an admin's action: theirs to see.
        p.require(match listing {
            Listing::Live => Role::Viewer,
            Listing::Deleted => Role::Admin,
        })?;
        let deleted = listing == Listing::Deleted;
        let mut conn = self.store().read().await?;
        let rows =
            accounts::list(&mut conn, &p.org_id, after.as_ref(), limit as i64 + 1, name_contains, deleted).await?;
        let page = Page::from_overfetch(rows, limit, |a| a.id.clone());
        let mut all_keys = keys::list_for_accounts(&mut conn, &page.items).await?;
        Ok(page.map(|account| {
            let keys = extract_keys(&mut all_keys, &account.id);
            AccountWithKeys { account, keys }
        }))
    }

    /// Everyone in the organization.
    pub async fn get_account(&self, p: &Principal, id: &Id) -> Result<AccountWithKeys, ServiceError> {
        p.require(Role::Viewer)?;
        let mut conn = self.store().read().await?;
        let account = self.account_in_org(&mut conn, p, id).await?;
        let keys = keys::list_for_account(&mut conn, id).await?;
        Ok(AccountWithKeys { account, keys })
    }

    /// Admins. A role may be set no higher than the caller's own.
    pub async fn update_account(
        &self,
        p: &Principal,
        id: &Id,
        patch: AccountPatch,
    ) -> Result<AccountWithKeys, ServiceError> {
        p.require(Role::Admin)?;
        if let Some(role) = patch.role {
            p.require_at_least(role, "give an account")?;
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = self.account_in_org(tx.conn(), p, id).await?;
        p.require_at_least(before.role, "change an account")?;
        let mut after = before.clone();
        if let Some(name) = &patch.name {
            after.name = name.clone();
        }
        after.enable_basic_auth = patch.enable_basic_auth.unwrap_or(before.enable_basic_auth);
        after.role = patch.role.unwrap_or(before.role);
        after.disabled = patch.disabled.unwrap_or(before.disabled);
        if let Some(meta) = patch.meta {
            after.meta = meta;
        }
        if let Some(email) = &patch.email {
            if *email != before.email {
                after.email = email.clone();
                after.email_confirmed = false;
            }
        }
        // Turning an account back on, raising its role or letting it use
        // Basic widens what its keys can do: a calling key may do that only
        // when each of those keys is within its ceiling.
        let widens = (before.disabled && !after.disabled)
            || after.role > before.role
            || (after.enable_basic_auth && !before.enable_basic_auth);
        if widens {
            let ceiling = p.ceiling();
            if !ceiling.is_unbounded() {
                for key in keys::list_for_account(tx.conn(), id).await? {
                    if !key.disabled && key.expires.is_none_or(|at| at > now) {
                        ceiling.check(&key.narrowing, key.expires).map_err(ServiceError::above_ceiling)?;
                    }
                }
            }
        }
        accounts::update(tx.conn(), &after).await?;
        let credentials_change = after.role != before.role
            || after.enable_basic_auth != before.enable_basic_auth
            || after.disabled != before.disabled;
        let change = CredentialChange::Account(id.clone());
        if credentials_change {
            credential_changes::record(tx.conn(), &change, now).await?;
        }
        let detail = changes(&before, &after);
        audit::record(tx.conn(), p, now, Action::AccountUpdate, Target::ServiceAccount(id), Some(&detail)).await?;
        webhooks::announce(tx.conn(), p, now, Event::AccountUpdated, Target::ServiceAccount(id), Some(&detail)).await?;
        // A new address is confirmed anew, by a request queued with the change.
        let queued = after.email != before.email && queue_confirmation(tx.conn(), &after, now).await?;
        let keys = keys::list_for_account(tx.conn(), id).await?;
        tx.commit().await?;
        if queued {
            self.metrics().mail("queued");
        }
        if credentials_change {
            self.credential_changed(&change);
        }
        Ok(AccountWithKeys { account: after, keys })
    }

    /// Admins. The account's keys stop working with the very next request;
    /// the account, its keys and its name are kept for `RETENTION`, to be
    /// restored with `undelete_account` or purged after.
    pub async fn delete_account(&self, p: &Principal, id: &Id) -> Result<(), ServiceError> {
        p.require(Role::Admin)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let account = self.account_in_org(tx.conn(), p, id).await?;
        p.require_at_least(account.role, "delete an account")?;
        if !accounts::soft_delete(tx.conn(), &p.org_id, id, now).await? {
            return Err(ServiceError::NotFound("service account"));
        }
        let change = CredentialChange::Account(id.clone());
        credential_changes::record(tx.conn(), &change, now).await?;
        let detail = json!({"name": account.name, "purgeAfter": now.saturating_add(RETENTION)});
        audit::record(tx.conn(), p, now, Action::AccountDelete, Target::ServiceAccount(id), Some(&detail)).await?;
        webhooks::announce(tx.conn(), p, now, Event::AccountDeleted, Target::ServiceAccount(id), Some(&detail)).await?;
        tx.commit().await?;
        self.credential_changed(&change);
        Ok(())
    }

    /// Admins, for accounts whose role does not exceed their own. Restores a
    /// deleted account with its keys as they were: they work again with the
    /// very next request, except those that expired meanwhile. `404` when no
    /// deleted account has this id (of two racing, the second gets it).
    pub async fn undelete_account(&self, p: &Principal, id: &Id) -> Result<AccountWithKeys, ServiceError> {
        p.require(Role::Admin)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut account = accounts::get_deleted(tx.conn(), &p.org_id, id)
            .await?
            .ok_or(ServiceError::NotFound("deleted service account"))?;
        p.require_at_least(account.role, "restore an account")?;
        // Decided by the row itself: a racing undelete or purge that got
        // there first leaves nothing to restore.
        if !accounts::undelete(tx.conn(), &p.org_id, id).await? {
            return Err(ServiceError::NotFound("deleted service account"));
        }
        let change = CredentialChange::Restored(id.clone());
        credential_changes::record(tx.conn(), &change, now).await?;
        let mut keys = keys::list_for_account(tx.conn(), id).await?;
        let shortened = self.bind_restored_keys(tx.conn(), p, &mut keys, now).await?;
        let detail = json!({"name": account.name, "keysShortened": shortened});
        audit::record(tx.conn(), p, now, Action::AccountUndelete, Target::ServiceAccount(id), Some(&detail)).await?;
        webhooks::announce(tx.conn(), p, now, Event::AccountRestored, Target::ServiceAccount(id), Some(&detail))
            .await?;
        tx.commit().await?;
        self.credential_changed(&change);
        account.deleted = None;
        Ok(AccountWithKeys { account, keys })
    }

    /// Background work: removes for good the accounts deleted more than
    /// `RETENTION` ago, with their keys, each in the trail as purged. Safe on
    /// several nodes at once: a row is purged (and audited) by whichever
    /// transaction deletes it; the others find nothing. Answers how many.
    pub async fn purge_deleted_accounts(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let cutoff = now.saturating_sub(RETENTION);
        let mut purged = 0;
        loop {
            let due = {
                let mut conn = self.store().read().await?;
                accounts::deleted_before(&mut conn, cutoff, PURGE_BATCH).await?
            };
            if due.is_empty() {
                return Ok(purged);
            }
            let mut tx = self.store().begin().await?;
            let mut this_batch = 0;
            for account in &due {
                if accounts::purge(tx.conn(), &account.id, cutoff).await? {
                    let by = Principal::system(account.org_id.clone());
                    let detail = json!({"name": account.name, "deleted": account.deleted});
                    audit::record(
                        tx.conn(),
                        &by,
                        now,
                        Action::AccountPurge,
                        Target::ServiceAccount(&account.id),
                        Some(&detail),
                    )
                    .await?;
                    this_batch += 1;
                }
            }
            tx.commit().await?;
            purged += this_batch;
            if this_batch == 0 {
                // Everything due was taken by another node meanwhile; what it
                // left is its to finish.
                return Ok(purged);
            }
        }
    }

    /// Reads an account of the caller's organization inside `tx`, or 404.
    pub(crate) async fn account_in_org(
        &self,
        conn: &mut crate::store::Conn,
        p: &Principal,
        id: &Id,
    ) -> Result<ServiceAccount, ServiceError> {
        accounts::get(conn, &p.org_id, id).await?.ok_or(ServiceError::NotFound("service account"))
    }
}

/// Moves the keys of `account` out of `all`, keeping their order.
fn extract_keys(all: &mut Vec<ApiKey>, account: &Id) -> Vec<ApiKey> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(all).into_iter().partition(|k| &k.account_id == account);
    *all = rest;
    mine
}

/// The fields a change touched, old and new, for the audit trail.
fn changes(before: &ServiceAccount, after: &ServiceAccount) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    if before.name != after.name {
        out.insert("name".into(), json!({"from": before.name, "to": after.name}));
    }
    if before.role != after.role {
        out.insert("role".into(), json!({"from": before.role, "to": after.role}));
    }
    if before.enable_basic_auth != after.enable_basic_auth {
        out.insert("enableBasicAuth".into(), json!({"from": before.enable_basic_auth, "to": after.enable_basic_auth}));
    }
    if before.disabled != after.disabled {
        out.insert("disabled".into(), json!({"from": before.disabled, "to": after.disabled}));
    }
    if before.email != after.email {
        out.insert("email".into(), json!({"from": before.email, "to": after.email}));
    }
    if before.meta != after.meta {
        let value = |m: &Option<crate::domain::Meta>| m.as_ref().map_or(serde_json::Value::Null, Meta::as_value);
        out.insert("meta".into(), json!({"from": value(&before.meta), "to": value(&after.meta)}));
    }
    serde_json::Value::Object(out)
}
