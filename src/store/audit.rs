//! The audit trail: append and read, newest first.

use super::{AuditRecord, Conn, StoreError};
use crate::domain::Id;

pub async fn insert(conn: &mut Conn, e: &AuditRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, at, actor_kind, actor_id, key_id, action, target_kind, \
         target_id, client_ip, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.id.as_str())
    .bind(e.org_id.as_deref())
    .bind(e.at)
    .bind(&e.actor_kind)
    .bind(e.actor_id.as_deref())
    .bind(e.key_id.as_deref())
    .bind(&e.action)
    .bind(e.target_kind.as_deref())
    .bind(e.target_id.as_deref())
    .bind(e.client_ip.as_deref())
    .bind(&e.outcome)
    .bind(e.detail.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of the organization's events older than `before`, newest first.
pub async fn list(conn: &mut Conn, org: &Id, before: Option<&Id>, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
    let sql = "SELECT id, org_id, at, actor_kind, actor_id, key_id, action, target_kind, target_id, \
               client_ip, outcome, detail FROM audit_events WHERE org_id = $1 AND id < $2 \
               ORDER BY id DESC LIMIT $3";
    Ok(sqlx::query_as(sql)
        .bind(org.as_str())
        // Every id sorts before "g": hex digits only.
        .bind(before.map_or("g", Id::as_str))
        .bind(limit)
        .fetch_all(conn)
        .await?)
}
