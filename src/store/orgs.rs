//! Organizations.

use super::{Conn, OrgRecord, StoreError};
use crate::domain::Id;

pub async fn insert(conn: &mut Conn, org: &OrgRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO orgs (id, name, created) VALUES ($1, $2, $3)")
        .bind(org.id.as_str())
        .bind(&org.name)
        .bind(org.created)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &Id) -> Result<Option<OrgRecord>, StoreError> {
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
