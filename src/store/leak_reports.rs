//! Signed leak reports already received, by the digest of their body.

use super::{Conn, StoreError};
use crate::domain::UnixTime;

/// Records a report; `false` when it was received before.
pub async fn remember(conn: &mut Conn, digest: &str, now: UnixTime) -> Result<bool, StoreError> {
    let done =
        sqlx::query("INSERT INTO leak_reports (digest, received) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING")
            .bind(digest)
            .bind(now)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn prune(conn: &mut Conn, before: UnixTime) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM leak_reports WHERE received < $1").bind(before).execute(conn).await?;
    Ok(())
}
