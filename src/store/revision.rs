//! The credential revision: a counter bumped in every transaction that could
//! revoke a key, polled by every node to know when its key cache is stale.

use super::{Conn, StoreError};

pub async fn bump(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query("UPDATE credential_revision SET n = n + 1 WHERE id = 1").execute(conn).await?;
    Ok(())
}

pub async fn current(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT n FROM credential_revision WHERE id = 1").fetch_one(conn).await?)
}
