//! The credential change feed: one row for each change that could revoke a
//! key, so that every node forgets exactly what changed rather than all it
//! knows.
//!
//! A row's number is the credential revision it bumped, in the same
//! transaction. The revision is a single row, so its update also orders the
//! transactions that write the feed: numbers are handed out in commit order
//! and without gaps (a rolled-back change takes its number back with it),
//! and a node that has read up to `n` has missed nothing before `n`.

use super::{Conn, StoreError};
use crate::domain::{Id, UnixTime};

/// What one change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialChange {
    /// One key: disabled, enabled, narrowed, deleted, rotated, leaked.
    Key(Id),
    /// Every key of one account: its role, Basic auth, disabled or deleted.
    Account(Id),
    /// A deleted account restored: its keys work again.
    Restored(Id),
    /// Anything a node may know: lookup hashes resealed, signing keys
    /// rotated.
    Everything,
}

impl CredentialChange {
    fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            CredentialChange::Key(id) => ("key", Some(id.as_str())),
            CredentialChange::Account(id) => ("account", Some(id.as_str())),
            CredentialChange::Restored(id) => ("restored", Some(id.as_str())),
            CredentialChange::Everything => ("everything", None),
        }
    }

    /// A row written by this version or a later one; what it cannot read
    /// is taken as the widest change.
    fn from_parts(kind: &str, subject: Option<&str>) -> Self {
        match (kind, subject.and_then(Id::parse)) {
            ("key", Some(id)) => CredentialChange::Key(id),
            ("account", Some(id)) => CredentialChange::Account(id),
            ("restored", Some(id)) => CredentialChange::Restored(id),
            _ => CredentialChange::Everything,
        }
    }
}

/// Bumps the revision and writes the change under its new number. Call it
/// inside the transaction that makes the change.
pub async fn record(conn: &mut Conn, change: &CredentialChange, at: UnixTime) -> Result<i64, StoreError> {
    let n: i64 = sqlx::query_scalar("UPDATE credential_revision SET n = n + 1 WHERE id = 1 RETURNING n")
        .fetch_one(&mut *conn)
        .await?;
    let (kind, subject) = change.parts();
    sqlx::query("INSERT INTO credential_changes (n, kind, subject, at) VALUES ($1, $2, $3, $4)")
        .bind(n)
        .bind(kind)
        .bind(subject)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(n)
}

/// The revision: the number of the latest change.
pub async fn current(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT n FROM credential_revision WHERE id = 1").fetch_one(conn).await?)
}

/// Up to `limit` changes numbered above `after`, in order.
pub async fn since(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<(i64, CredentialChange)>, StoreError> {
    let rows: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT n, kind, subject FROM credential_changes WHERE n > $1 ORDER BY n LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(n, kind, subject)| (n, CredentialChange::from_parts(&kind, subject.as_deref())))
        .collect())
}

/// Forgets changes older than `before`; a node that slept through them
/// finds the gap and forgets everything instead. Answers how many went.
pub async fn prune(conn: &mut Conn, before: UnixTime) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM credential_changes WHERE at < $1").bind(before).execute(conn).await?.rows_affected())
}
