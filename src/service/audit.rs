//! The audit trail: each change records who did what to what, in the same
//! transaction as the change itself. Secrets never reach it.

use serde_json::Value;

use super::{Page, Principal, Service, ServiceError};
use crate::domain::{Id, Role, UnixTime};
use crate::store::{AuditRecord, Conn, StoreError, audit};

/// What a change was done to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Org(&'a Id),
    ServiceAccount(&'a Id),
    Key(&'a Id),
    User(&'a Id),
}

impl Target<'_> {
    fn parts(self) -> (&'static str, String) {
        match self {
            Target::Org(id) => ("org", id.to_string()),
            Target::ServiceAccount(id) => ("serviceAccount", id.to_string()),
            Target::Key(id) => ("key", id.to_string()),
            Target::User(id) => ("user", id.to_string()),
        }
    }
}

/// Writes one successful change to the trail on `conn`, which should be the
/// change's own transaction.
pub async fn record(
    conn: &mut Conn,
    by: &Principal,
    at: UnixTime,
    action: &str,
    target: Target<'_>,
    detail: Option<Value>,
) -> Result<(), StoreError> {
    let (target_kind, target_id) = target.parts();
    audit::insert(
        conn,
        &AuditRecord {
            id: Id::generate(),
            org_id: Some(by.org_id.to_string()),
            at,
            actor_kind: by.kind().to_owned(),
            actor_id: by.actor_id().map(Id::to_string),
            key_id: by.key_id().map(Id::to_string),
            action: action.to_owned(),
            target_kind: Some(target_kind.to_owned()),
            target_id: Some(target_id),
            client_ip: by.client_ip.clone(),
            outcome: "success".to_owned(),
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
        before: Option<Id>,
        limit: usize,
    ) -> Result<Page<AuditRecord, Id>, ServiceError> {
        p.require(Role::Admin)?;
        let mut conn = self.store().read().await?;
        let rows = audit::list(&mut conn, &p.org_id, before.as_ref(), limit as i64 + 1).await?;
        Ok(Page::from_overfetch(rows, limit, |e| e.id.clone()))
    }
}
