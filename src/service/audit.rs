//! The audit trail: each change records who did what to what, in the same
//! transaction as the change itself. Secrets never reach it.

use serde_json::{Value, json};

use super::{Page, Principal, Service, ServiceError};
use crate::domain::entity::AuditEvent;
use crate::domain::{Id, Role, UnixTime};
use crate::store::{Conn, StoreError, audit};

/// What was done: the trail's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrgCreate,
    OrgUpdate,
    AccountCreate,
    AccountUpdate,
    AccountDelete,
    AccountUndelete,
    AccountPurge,
    AccountEmailConfirmed,
    KeyCreate,
    KeyUpdate,
    KeyDisable,
    KeyEnable,
    KeyDelete,
    KeyRotate,
    /// A key reported as leaked (and disabled, unless only reported).
    KeyLeaked,
    UserAdd,
    UserUpdate,
    UserRemove,
    /// A person took up their pending membership.
    UserAccept,
    /// A person declined their pending membership, which is then gone.
    UserDecline,
    MailFailed,
    WebhookCreate,
    WebhookUpdate,
    WebhookDelete,
    WebhookRotateSecret,
    /// keyward disabled an endpoint whose every attempt failed for days.
    WebhookDisabled,
}

impl Action {
    /// The name stored and shown in the trail. Service accounts keep the
    /// `serviceAccount.` prefix their first actions were recorded under, so
    /// that one filter finds an account's whole history.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::OrgCreate => "org.create",
            Action::OrgUpdate => "org.update",
            Action::AccountCreate => "serviceAccount.create",
            Action::AccountUpdate => "serviceAccount.update",
            Action::AccountDelete => "serviceAccount.delete",
            Action::AccountUndelete => "serviceAccount.undelete",
            Action::AccountPurge => "serviceAccount.purge",
            Action::AccountEmailConfirmed => "serviceAccount.emailConfirmed",
            Action::KeyCreate => "key.create",
            Action::KeyUpdate => "key.update",
            Action::KeyDisable => "key.disable",
            Action::KeyEnable => "key.enable",
            Action::KeyDelete => "key.delete",
            Action::KeyRotate => "key.rotate",
            Action::KeyLeaked => "key.leaked",
            Action::UserAdd => "user.add",
            Action::UserUpdate => "user.update",
            Action::UserRemove => "user.remove",
            Action::UserAccept => "user.accept",
            Action::UserDecline => "user.decline",
            Action::MailFailed => "mail.failed",
            Action::WebhookCreate => "webhook.create",
            Action::WebhookUpdate => "webhook.update",
            Action::WebhookDelete => "webhook.delete",
            Action::WebhookRotateSecret => "webhook.rotateSecret",
            Action::WebhookDisabled => "webhook.disabled",
        }
    }
}

/// What a change was done to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Org(&'a Id),
    ServiceAccount(&'a Id),
    Key(&'a Id),
    User(&'a Id),
    Webhook(&'a Id),
}

impl Target<'_> {
    fn parts(self) -> (&'static str, String) {
        match self {
            Target::Org(id) => ("org", id.to_string()),
            Target::ServiceAccount(id) => ("serviceAccount", id.to_string()),
            Target::Key(id) => ("key", id.to_string()),
            Target::User(id) => ("user", id.to_string()),
            Target::Webhook(id) => ("webhook", id.to_string()),
        }
    }
}

/// How what was recorded ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// Writes one successful change to the trail on `conn`, which should be the
/// change's own transaction, and queues its webhook event (if it has one)
/// for the organization's subscribed endpoints in that same transaction.
pub async fn record(
    conn: &mut Conn,
    by: &Principal,
    at: UnixTime,
    action: Action,
    target: Target<'_>,
    detail: Option<Value>,
) -> Result<(), StoreError> {
    record_outcome(conn, by, at, action, Some(target), Outcome::Success, detail).await
}

/// The one writer of the trail: `record`, for what may also have failed or
/// have no target.
pub async fn record_outcome(
    conn: &mut Conn,
    by: &Principal,
    at: UnixTime,
    action: Action,
    target: Option<Target<'_>>,
    outcome: Outcome,
    detail: Option<Value>,
) -> Result<(), StoreError> {
    let (target_kind, target_id) = target.map(Target::parts).unzip();
    let event_data = || {
        // Ids and the audit detail (which never holds a secret); the ids win
        // over a detail field of the same name.
        let mut data = match &detail {
            Some(Value::Object(fields)) => fields.clone(),
            _ => serde_json::Map::new(),
        };
        data.insert("orgId".into(), json!(by.org_id));
        if let (Some(kind), Some(id)) = (target_kind, &target_id) {
            data.insert(format!("{kind}Id"), json!(id));
        }
        data.insert("actor".into(), json!({"kind": by.kind(), "id": by.actor_id(), "keyId": by.key_id()}));
        Value::Object(data)
    };
    // Webhooks tell of changes that happened, never of failures.
    if outcome == Outcome::Success {
        super::webhooks::enqueue_for_action(conn, &by.org_id, action, at, event_data).await?;
    }
    audit::insert(
        conn,
        &AuditEvent {
            id: Id::generate(),
            org_id: Some(by.org_id.to_string()),
            at,
            actor_kind: by.kind().to_owned(),
            actor_id: by.actor_id().map(Id::to_string),
            key_id: by.key_id().map(Id::to_string),
            action: action.as_str().to_owned(),
            target_kind: target_kind.map(str::to_owned),
            target_id,
            client_ip: by.client_ip.clone(),
            outcome: outcome.as_str().to_owned(),
            detail: detail.map(|d| d.to_string()),
        },
    )
    .await
}

impl Service {
    /// Admins: the organization's trail, newest first.
    pub async fn list_audit_events(
        &self,
        p: &Principal,
        filter: &crate::domain::entity::AuditFilter,
        before: Option<Id>,
        limit: usize,
    ) -> Result<Page<AuditEvent, Id>, ServiceError> {
        p.require(Role::Admin)?;
        let mut conn = self.store().read().await?;
        let rows = audit::list(&mut conn, &p.org_id, filter, before.as_ref(), limit as i64 + 1).await?;
        Ok(Page::from_overfetch(rows, limit, |e| e.id.clone()))
    }
}
