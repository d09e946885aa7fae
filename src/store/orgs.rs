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
