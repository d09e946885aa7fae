//! Organizations and their key policy.

use super::{Conn, Org, OrgPolicy, StoreError};
use crate::domain::Id;

pub async fn insert(conn: &mut Conn, org: &Org) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO orgs (id, name, created) VALUES ($1, $2, $3)")
        .bind(org.id.as_str())
        .bind(org.name.as_str())
        .bind(org.created)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &Id) -> Result<Option<Org>, StoreError> {
    Ok(sqlx::query_as("SELECT id, name, created FROM orgs WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?)
}

/// Holds the organization's row until the transaction ends, so that checks
/// across its members (the last admin) and the write they allow cannot
/// interleave with another transaction's (see `accounts::lock`).
pub async fn lock(conn: &mut Conn, id: &Id) -> Result<(), StoreError> {
    sqlx::query("UPDATE orgs SET id = id WHERE id = $1").bind(id.as_str()).execute(conn).await?;
    Ok(())
}

pub async fn policy(conn: &mut Conn, id: &Id) -> Result<Option<OrgPolicy>, StoreError> {
    let row: Option<(Option<i64>, i64)> =
        sqlx::query_as("SELECT max_key_lifetime, require_expiry FROM orgs WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(max, require)| OrgPolicy { max_key_lifetime: max, require_expiry: require != 0 }))
}

/// The policies of several organizations in one query.
pub async fn policies(conn: &mut Conn, ids: &[Id]) -> Result<Vec<(Id, OrgPolicy)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql =
        format!("SELECT id, max_key_lifetime, require_expiry FROM orgs WHERE id IN ({})", placeholders.join(", "));
    let mut query = sqlx::query_as::<_, (String, Option<i64>, i64)>(&sql);
    for id in ids {
        query = query.bind(id.as_str());
    }
    Ok(query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(id, max, require)| {
            (Id::from_stored(id), OrgPolicy { max_key_lifetime: max, require_expiry: require != 0 })
        })
        .collect())
}

pub async fn set_policy(conn: &mut Conn, id: &Id, policy: &OrgPolicy) -> Result<(), StoreError> {
    sqlx::query("UPDATE orgs SET max_key_lifetime = $1, require_expiry = $2 WHERE id = $3")
        .bind(policy.max_key_lifetime)
        .bind(i64::from(policy.require_expiry))
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
