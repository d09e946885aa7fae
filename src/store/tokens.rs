//! The signing key of access tokens and the assertions already used.

use super::{Conn, StoreError};
use crate::domain::{Id, UnixTime};

/// The signing keys as stored: the current one and the one it replaced.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSigningKeys {
    pub kid: String,
    /// Sealed (or, in a database from before sealing, the base64 seed).
    pub seed: String,
    pub previous_kid: Option<String>,
    pub previous_seed: Option<String>,
}

/// The signing keys; the current one is created from `candidate` when there
/// is none yet (racing nodes all end up with the first one written).
pub async fn signing_keys(
    conn: &mut Conn,
    candidate: (&str, &str),
    now: UnixTime,
) -> Result<StoredSigningKeys, StoreError> {
    sqlx::query("INSERT INTO signing_key (id, kid, seed, created) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(candidate.0)
        .bind(candidate.1)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_as("SELECT kid, seed, previous_kid, previous_seed FROM signing_key WHERE id = 1")
        .fetch_one(conn)
        .await?)
}

/// Makes `kid` (with its sealed seed) the current signing key and the
/// current one the previous; the previous one is dropped. Answers the kid
/// that became the previous, if there was one.
pub async fn rotate_signing_key(
    conn: &mut Conn,
    kid: &str,
    sealed: &str,
    now: UnixTime,
) -> Result<Option<String>, StoreError> {
    let done = sqlx::query(
        "UPDATE signing_key SET previous_kid = kid, previous_seed = seed, kid = $1, seed = $2, created = $3 \
         WHERE id = 1",
    )
    .bind(kid)
    .bind(sealed)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        signing_keys(conn, (kid, sealed), now).await?;
        return Ok(None);
    }
    Ok(sqlx::query_scalar("SELECT previous_kid FROM signing_key WHERE id = 1").fetch_one(conn).await?)
}

/// The signing key, if one was made: (kid, seed as stored).
pub async fn current_signing_key(conn: &mut Conn) -> Result<Option<(String, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT kid, seed FROM signing_key WHERE id = 1").fetch_optional(conn).await?)
}

/// Replaces a signing key's seed stored before sealing with its sealed form.
pub async fn seal_signing_key(conn: &mut Conn, kid: &str, legacy: &str, sealed: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE signing_key SET seed = $1 WHERE id = 1 AND kid = $2 AND seed = $3")
        .bind(sealed)
        .bind(kid)
        .bind(legacy)
        .execute(conn)
        .await?;
    Ok(())
}

/// The value sealed with the secret key the database was first opened with;
/// `candidate` is written when there is none yet.
pub async fn secret_key_check(conn: &mut Conn, candidate: &str, now: UnixTime) -> Result<String, StoreError> {
    sqlx::query("INSERT INTO secret_key_check (id, sealed, created) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
        .bind(candidate)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar("SELECT sealed FROM secret_key_check WHERE id = 1").fetch_one(conn).await?)
}

/// Records an assertion's `jti`; false when it was already used.
pub async fn use_assertion(
    conn: &mut Conn,
    key: &Id,
    jti: &str,
    expires: UnixTime,
    now: UnixTime,
) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM used_assertions WHERE expires < $1").bind(now).execute(&mut *conn).await?;
    match sqlx::query("INSERT INTO used_assertions (key_id, jti, expires) VALUES ($1, $2, $3)")
        .bind(key.as_str())
        .bind(jti)
        .bind(expires)
        .execute(conn)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => match StoreError::from(e) {
            StoreError::Conflict(_) => Ok(false),
            other => Err(other),
        },
    }
}
