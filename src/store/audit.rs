//! The audit trail: append and read, newest first.

use super::{ActionFilter, AuditEvent, AuditFilter, Conn, StoreError};
use crate::domain::Id;

pub async fn insert(conn: &mut Conn, e: &AuditEvent) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, at, actor_kind, actor_id, key_id, action, target_kind, \
         target_id, client_ip, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.id.as_str())
    .bind(e.org_id.as_ref().map(Id::as_str))
    .bind(e.at)
    .bind(e.actor_kind.as_str())
    .bind(e.actor_id.as_ref().map(Id::as_str))
    .bind(e.key_id.as_ref().map(Id::as_str))
    .bind(e.action.as_str())
    .bind(e.target_kind.map(|k| k.as_str()))
    .bind(e.target_id.as_ref().map(Id::as_str))
    .bind(e.client_ip.as_deref())
    .bind(e.outcome.as_str())
    .bind(e.detail.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of the organization's events older than `before`, newest first,
/// among those `filter` keeps.
pub async fn list(
    conn: &mut Conn,
    org: &Id,
    filter: &AuditFilter,
    before: Option<&Id>,
    limit: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut sql = String::from(
        "SELECT id, org_id, at, actor_kind, actor_id, key_id, action, target_kind, target_id, \
         client_ip, outcome, detail FROM audit_events WHERE org_id = $1 AND id < $2",
    );
    let mut binds: Vec<String> = Vec::new();
    let mut clause = |sql: &mut String, column: &str, op: &str, value: String| {
        binds.push(value);
        sql.push_str(&format!(" AND {column} {op} ${}", binds.len() + 2));
    };
    if let Some(actor) = &filter.actor_id {
        clause(&mut sql, "actor_id", "=", actor.clone());
    }
    match &filter.action {
        Some(ActionFilter::Exactly(action)) => clause(&mut sql, "action", "=", action.clone()),
        // The prefix holds only letters and dots (checked by the caller), so
        // nothing in it is a LIKE wildcard.
        Some(ActionFilter::Prefix(prefix)) => clause(&mut sql, "action", "LIKE", format!("{prefix}%")),
        None => {}
    }
    if let Some(target) = &filter.target_id {
        clause(&mut sql, "target_id", "=", target.clone());
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 3));
    // Every id sorts before "g": hex digits only.
    let mut query = sqlx::query_as(&sql).bind(org.as_str()).bind(before.map_or("g", Id::as_str));
    for value in binds {
        query = query.bind(value);
    }
    Ok(query.bind(limit).fetch_all(conn).await?)
}
