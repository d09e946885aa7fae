//! The signing key of access tokens and the assertions already used.

use super::{Conn, StoreError};
use crate::domain::{Id, UnixTime};

/// The signing key: (kid, base64 seed). Creates it from `candidate` when
/// there is none yet; racing nodes all end up with the first one written.
pub async fn signing_key(
    conn: &mut Conn,
    candidate: (&str, &str),
    now: UnixTime,
) -> Result<(String, String), StoreError> {
    sqlx::query("INSERT INTO signing_key (id, kid, seed, created) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(candidate.0)
        .bind(candidate.1)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_as("SELECT kid, seed FROM signing_key WHERE id = 1").fetch_one(conn).await?)
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
