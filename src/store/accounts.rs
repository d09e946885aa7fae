//! Service accounts. Every query names the organization: an id from another
//! organization finds nothing. A deleted account (`deleted` set) is found
//! only by the queries that say so in their name.

use super::{AnyQuery, Conn, ServiceAccount, StoreError};
use crate::domain::{Id, UnixTime};

const COLUMNS: &str =
    "id, org_id, name, role, enable_basic_auth, email, email_confirmed, disabled, created, last_used, deleted, meta";

/// The columns a change may touch, bound first and in this order by both
/// the insert and the update, so the two cannot disagree; the placeholders
/// are numbered from the list too.
const FIELDS: &str = "name, name_folded, role, enable_basic_auth, email, email_confirmed, disabled, meta";

fn bind_fields<'q>(query: AnyQuery<'q>, a: &'q ServiceAccount) -> AnyQuery<'q> {
    query
        .bind(a.name.as_str())
        .bind(a.name.folded())
        .bind(a.role.as_str())
        .bind(i64::from(a.enable_basic_auth))
        .bind(a.email.as_deref())
        .bind(i64::from(a.email_confirmed))
        .bind(i64::from(a.disabled))
        .bind(a.meta.as_ref().map(crate::domain::Meta::to_json_text))
}

pub async fn insert(conn: &mut Conn, a: &ServiceAccount) -> Result<(), StoreError> {
    let n = FIELDS.split(", ").count();
    let values = (1..=n + 3).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!("INSERT INTO service_accounts ({FIELDS}, org_id, id, created) VALUES ({values})");
    bind_fields(sqlx::query(&sql), a).bind(a.org_id.as_str()).bind(a.id.as_str()).bind(a.created).execute(conn).await?;
    Ok(())
}

/// A live account.
pub async fn get(conn: &mut Conn, org: &Id, id: &Id) -> Result<Option<ServiceAccount>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM service_accounts WHERE org_id = $1 AND id = $2 AND deleted IS NULL");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(id.as_str()).fetch_optional(conn).await?)
}

/// A deleted account, not yet purged.
pub async fn get_deleted(conn: &mut Conn, org: &Id, id: &Id) -> Result<Option<ServiceAccount>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM service_accounts WHERE org_id = $1 AND id = $2 AND deleted IS NOT NULL");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(id.as_str()).fetch_optional(conn).await?)
}

/// A page in creation order after `after`, of the live accounts or (with
/// `deleted`) of the deleted ones; `name_contains` filters by a
/// case-insensitive substring of the name.
pub async fn list(
    conn: &mut Conn,
    org: &Id,
    after: Option<&Id>,
    limit: i64,
    name_contains: Option<&str>,
    deleted: bool,
) -> Result<Vec<ServiceAccount>, StoreError> {
    let pattern = name_contains.map_or_else(|| "%".to_owned(), |s| format!("%{}%", escape_like(&s.to_lowercase())));
    let state = if deleted { "deleted IS NOT NULL" } else { "deleted IS NULL" };
    let sql = format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE org_id = $1 AND id > $2 AND {state} \
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

pub async fn update(conn: &mut Conn, a: &ServiceAccount) -> Result<(), StoreError> {
    let set = FIELDS.split(", ").enumerate().map(|(i, column)| format!("{column} = ${}", i + 1)).collect::<Vec<_>>();
    let (org, id) = (set.len() + 1, set.len() + 2);
    let sql = format!("UPDATE service_accounts SET {} WHERE org_id = ${org} AND id = ${id}", set.join(", "));
    bind_fields(sqlx::query(&sql), a).bind(a.org_id.as_str()).bind(a.id.as_str()).execute(conn).await?;
    Ok(())
}

/// Marks a live account deleted at `at`. False when there was none.
pub async fn soft_delete(conn: &mut Conn, org: &Id, id: &Id, at: UnixTime) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE service_accounts SET deleted = $1 WHERE org_id = $2 AND id = $3 AND deleted IS NULL")
            .bind(at)
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// Brings a deleted account back. False when it was not deleted (or not
/// there): of two racing, only one finds it so.
pub async fn undelete(conn: &mut Conn, org: &Id, id: &Id) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE service_accounts SET deleted = NULL WHERE org_id = $1 AND id = $2 AND deleted IS NOT NULL")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// An account due for purging: deleted before the cutoff.
#[derive(Debug, Clone)]
pub struct Purgeable {
    pub id: Id,
    pub org_id: Id,
    pub name: String,
    pub deleted: UnixTime,
}

/// Up to `limit` accounts deleted before `cutoff`, oldest first.
pub async fn deleted_before(conn: &mut Conn, cutoff: UnixTime, limit: i64) -> Result<Vec<Purgeable>, StoreError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, org_id, name, deleted FROM service_accounts WHERE deleted IS NOT NULL AND deleted < $1 \
         ORDER BY deleted, id LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, org, name, deleted)| Purgeable {
            id: Id::from_stored(id),
            org_id: Id::from_stored(org),
            name,
            deleted,
        })
        .collect())
}

/// Removes a deleted account for good and, by cascade, its keys, if it is
/// still deleted before `cutoff`. False when it is not (another node purged
/// it, or it was restored since): a purge is safe to repeat.
pub async fn purge(conn: &mut Conn, id: &Id, cutoff: UnixTime) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM service_accounts WHERE id = $1 AND deleted IS NOT NULL AND deleted < $2")
        .bind(id.as_str())
        .bind(cutoff)
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
