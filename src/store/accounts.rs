//! Service accounts. Every query names the organization: an id from another
//! organization finds nothing.

use super::{AccountRecord, Conn, StoreError};
use crate::domain::{Id, UnixTime};

const COLUMNS: &str =
    "id, org_id, name, role, enable_basic_auth, email, email_confirmed, disabled, created, last_used, meta";

pub async fn insert(conn: &mut Conn, a: &AccountRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO service_accounts (id, org_id, name, name_folded, role, enable_basic_auth, \
         email, email_confirmed, disabled, created, meta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(a.id.as_str())
    .bind(a.org_id.as_str())
    .bind(&a.name)
    .bind(a.name.to_lowercase())
    .bind(a.role.as_str())
    .bind(i64::from(a.enable_basic_auth))
    .bind(a.email.as_deref())
    .bind(i64::from(a.email_confirmed))
    .bind(i64::from(a.disabled))
    .bind(a.created)
    .bind(a.meta.as_ref().map(crate::domain::Meta::to_json_text))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, org: &Id, id: &Id) -> Result<Option<AccountRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM service_accounts WHERE org_id = $1 AND id = $2");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(id.as_str()).fetch_optional(conn).await?)
}

/// A page in creation order after `after`; `name_contains` filters by a
/// case-insensitive substring of the name.
pub async fn list(
    conn: &mut Conn,
    org: &Id,
    after: Option<&Id>,
    limit: i64,
    name_contains: Option<&str>,
) -> Result<Vec<AccountRecord>, StoreError> {
    let pattern = name_contains.map_or_else(|| "%".to_owned(), |s| format!("%{}%", escape_like(&s.to_lowercase())));
    let sql = format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE org_id = $1 AND id > $2 \
         AND name_folded LIKE $3 ESCAPE '\\' ORDER BY id LIMIT $4"
    );
    Ok(sqlx::query_as(&sql)
        .bind(org.as_str())
        .bind(after.map_or("", Id::as_str))
        .bind(pattern)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Writes every changeable field of `a` back.
/// Holds the account's row until the transaction ends, so that a check of
/// its keys (the cap, the one key in its grace period) and the write it
/// allows cannot interleave with another transaction's. SQLite's single
/// writer already serializes them; on PostgreSQL an update that changes
/// nothing still takes the row lock, in SQL that SQLite (which has no
/// `FOR UPDATE`) accepts too.
pub async fn lock(conn: &mut Conn, id: &Id) -> Result<(), StoreError> {
    sqlx::query("UPDATE service_accounts SET id = id WHERE id = $1").bind(id.as_str()).execute(conn).await?;
    Ok(())
}

pub async fn update(conn: &mut Conn, a: &AccountRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE service_accounts SET name = $1, name_folded = $2, role = $3, enable_basic_auth = $4, \
         email = $5, email_confirmed = $6, disabled = $7, meta = $8 WHERE org_id = $9 AND id = $10",
    )
    .bind(&a.name)
    .bind(a.name.to_lowercase())
    .bind(a.role.as_str())
    .bind(i64::from(a.enable_basic_auth))
    .bind(a.email.as_deref())
    .bind(i64::from(a.email_confirmed))
    .bind(i64::from(a.disabled))
    .bind(a.meta.as_ref().map(crate::domain::Meta::to_json_text))
    .bind(a.org_id.as_str())
    .bind(a.id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the account and, by cascade, its keys. False when there was none.
pub async fn delete(conn: &mut Conn, org: &Id, id: &Id) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM service_accounts WHERE org_id = $1 AND id = $2")
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn record_use(conn: &mut Conn, id: &Id, at: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE service_accounts SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used < $1)")
        .bind(at)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(super::escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
