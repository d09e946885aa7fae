//! Invitation links: one-time links to choose a first password, each bound
//! to the membership whose invitation carried it. Only hashes are kept.

use super::{Conn, StoreError};
use crate::domain::{Id, UnixTime};

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    org: &Id,
    member: &Id,
    now: UnixTime,
    expires: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO invitations (token_hash, org_id, member_id, created, expires) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(org.as_str())
    .bind(member.as_str())
    .bind(now)
    .bind(expires)
    .execute(conn)
    .await?;
    Ok(())
}

/// The membership `(org, member)` of a link that would work now: unused,
/// unexpired, its membership still there, and its person still without a
/// password. A link never replaces a password someone has chosen.
pub async fn find_live(conn: &mut Conn, token_hash: &str, now: UnixTime) -> Result<Option<(Id, Id)>, StoreError> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT i.org_id, i.member_id FROM invitations i \
         JOIN memberships m ON m.org_id = i.org_id AND m.id = i.member_id \
         JOIN users u ON u.id = m.user_id \
         WHERE i.token_hash = $1 AND i.used IS NULL AND i.expires > $2 AND u.password_hash IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|(org, member)| (Id::from_stored(org), Id::from_stored(member))))
}

/// Uses the link if it is unused and unexpired; one caller wins however
/// many race.
pub async fn use_link(conn: &mut Conn, token_hash: &str, now: UnixTime) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE invitations SET used = $1 WHERE token_hash = $2 AND used IS NULL AND expires > $1")
        .bind(now)
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Once a person has a password, the links other organizations' invitations
/// sent them are of no more use, and a link lying in a mailbox is a risk.
pub async fn retire_for_user(conn: &mut Conn, user: &Id, now: UnixTime) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE invitations SET used = $1 WHERE used IS NULL AND EXISTS (SELECT 1 FROM memberships m \
         WHERE m.org_id = invitations.org_id AND m.id = invitations.member_id AND m.user_id = $2)",
    )
    .bind(now)
    .bind(user.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets links that expired before `before`.
pub async fn prune(conn: &mut Conn, before: UnixTime) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM invitations WHERE expires < $1").bind(before).execute(conn).await?;
    Ok(())
}
