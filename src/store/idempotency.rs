//! Idempotency keys: the first request's fingerprint and, once it is done,
//! its sealed answer.

use super::{Conn, StoreError};
use crate::domain::UnixTime;

/// What storage holds for a (scope, key).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub status: Option<i64>,
    pub response: Option<String>,
    pub created: UnixTime,
}

/// Claims (scope, key) for a first request; false when it is taken. Rows
/// past their expiry are pruned first, so a key can be used again after.
pub async fn claim(
    conn: &mut Conn,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: UnixTime,
    expires: UnixTime,
) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE expires < $1").bind(now).execute(&mut *conn).await?;
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (scope, idem_key, request_hash, created, expires) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (scope, idem_key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(expires)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut Conn, scope: &str, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT request_hash, status, response, created FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// Takes over a claim whose request never finished (its process died);
/// false when another caller took it first or it finished meanwhile.
pub async fn take_over(
    conn: &mut Conn,
    scope: &str,
    key: &str,
    stale_before: UnixTime,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET created = $1 WHERE scope = $2 AND idem_key = $3 AND status IS NULL AND created < $4",
    )
    .bind(now)
    .bind(scope)
    .bind(key)
    .bind(stale_before)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn finish(conn: &mut Conn, scope: &str, key: &str, status: i64, sealed: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE idempotency_keys SET status = $1, response = $2 WHERE scope = $3 AND idem_key = $4")
        .bind(status)
        .bind(sealed)
        .bind(scope)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets a claim whose request did not succeed, so that a retry runs it.
pub async fn release(conn: &mut Conn, scope: &str, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND status IS NULL")
        .bind(scope)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}
