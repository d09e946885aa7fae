//! Web app sessions and one-time tokens not bound to a membership (the
//! first run's setup link), both kept only as hashes. Invitation links live
//! in `invitations`.

use super::{Conn, StoreError};
use crate::domain::{Id, LinkPurpose, UnixTime};

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    user: &Id,
    now: UnixTime,
    expires: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created, expires) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user.as_str())
        .bind(now)
        .bind(expires)
        .execute(conn)
        .await?;
    Ok(())
}

/// The user of a live session.
pub async fn user_of(conn: &mut Conn, token_hash: &str, now: UnixTime) -> Result<Option<Id>, StoreError> {
    let user: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM sessions WHERE token_hash = $1 AND expires > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(conn)
            .await?;
    Ok(user.map(Id::from_stored))
}

pub async fn delete(conn: &mut Conn, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(conn).await?;
    Ok(())
}

pub async fn insert_token(
    conn: &mut Conn,
    token_hash: &str,
    purpose: LinkPurpose,
    user: Option<&Id>,
    now: UnixTime,
    expires: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created, expires) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(user.map(Id::as_str))
    .bind(now)
    .bind(expires)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a live, unused token of `purpose` used. `Some(user)` when it was
/// (the user may be absent for tokens not tied to one); `None` when the
/// token is unknown, used or expired.
pub async fn consume_token(
    conn: &mut Conn,
    token_hash: &str,
    purpose: LinkPurpose,
    now: UnixTime,
) -> Result<Option<Option<Id>>, StoreError> {
    let user: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE one_time_tokens SET used = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used IS NULL AND expires > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(user.map(|u| u.map(Id::from_stored)))
}

/// Whether a token of `purpose` is known, unused and unexpired; consumes
/// nothing.
pub async fn token_is_live(
    conn: &mut Conn,
    token_hash: &str,
    purpose: LinkPurpose,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 \
         AND used IS NULL AND expires > $3",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Forgets the unused tokens of `purpose`, so that only the newest works.
pub async fn delete_unused_tokens(conn: &mut Conn, purpose: LinkPurpose) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM one_time_tokens WHERE purpose = $1 AND used IS NULL")
        .bind(purpose.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
