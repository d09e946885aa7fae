//! The audit trail: each change records who did what to what, in the same
//! transaction as the change itself. Secrets never reach it.

use serde_json::Value;

use super::{Page, Principal, Service, ServiceError};
use crate::domain::entity::AuditEvent;
use crate::domain::{Id, Role, UnixTime};
use crate::store::{Conn, StoreError, audit};

pub use crate::domain::audit::{Action, Outcome, TargetKind};

/// What a change was done to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Org(&'a Id),
    ServiceAccount(&'a Id),
    Key(&'a Id),
    User(&'a Id),
    Webhook(&'a Id),
}

impl<'a> Target<'a> {
    pub fn kind(self) -> TargetKind {
        match self {
            Target::Org(_) => TargetKind::Org,
            Target::ServiceAccount(_) => TargetKind::ServiceAccount,
            Target::Key(_) => TargetKind::Key,
            Target::User(_) => TargetKind::User,
            Target::Webhook(_) => TargetKind::Webhook,
        }
    }

    pub fn id(self) -> &'a Id {
        match self {
            Target::Org(id) | Target::ServiceAccount(id) | Target::Key(id) | Target::User(id) | Target::Webhook(id) => {
                id
            }
        }
    }
}

/// Writes one successful change to the trail on `conn`, which should be the
/// change's own transaction. The trail only: a change that is also an event
/// for webhooks announces it itself (`webhooks::announce`).
pub(crate) async fn record(
    conn: &mut Conn,
    by: &Principal,
    at: UnixTime,
    action: Action,
    target: Target<'_>,
    detail: Option<&Value>,
) -> Result<(), StoreError> {
    record_outcome(conn, by, at, action, Some(target), Outcome::Success, detail).await
}

/// The one writer of the trail: `record`, for what may also have failed or
/// have no target.
pub(crate) async fn record_outcome(
    conn: &mut Conn,
    by: &Principal,
    at: UnixTime,
    action: Action,
    target: Option<Target<'_>>,
    outcome: Outcome,
    detail: Option<&Value>,
) -> Result<(), StoreError> {
    audit::insert(
        conn,
        &AuditEvent {
            id: Id::generate(),
            org_id: Some(by.org_id.clone()),
            at,
            actor_kind: by.kind(),
            actor_id: by.actor_id().cloned(),
            key_id: by.key_id().cloned(),
            action,
            target_kind: target.map(Target::kind),
            target_id: target.map(|t| t.id().clone()),
            client_ip: by.client_ip.clone(),
            outcome,
            detail: detail.map(Value::to_string),
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
