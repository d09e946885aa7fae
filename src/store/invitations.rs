//! Invitation links: one-time links bound to the membership whose invitation
//! carried them, each for one purpose: choosing a first password (which
//! takes the membership up), or opening the page where a person who has an
//! account accepts it. Only hashes are kept.

use super::{Conn, StoreError};
use crate::domain::{Id, LinkPurpose, UnixTime};

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    purpose: LinkPurpose,
    org: &Id,
    member: &Id,
    now: UnixTime,
    expires: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO invitations (token_hash, purpose, org_id, member_id, created, expires) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(org.as_str())
    .bind(member.as_str())
    .bind(now)
    .bind(expires)
    .execute(conn)
    .await?;
    Ok(())
}

/// The membership `(org, member)` of a link for `purpose` that would work
/// now: unused, unexpired, its membership still there, and what it is for
/// still to do. A password link needs a person still without a password (a
/// link never replaces a password someone has chosen); an accept link needs
/// a membership still pending. Any other purpose finds nothing here.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    purpose: LinkPurpose,
    now: UnixTime,
) -> Result<Option<(Id, Id)>, StoreError> {
    let still_to_do = match purpose {
        LinkPurpose::Password => "u.password_hash IS NULL",
        LinkPurpose::Accept => "m.accepted IS NULL",
        LinkPurpose::Setup => return Ok(None),
    };
    let sql = format!(
        "SELECT i.org_id, i.member_id FROM invitations i \
         JOIN memberships m ON m.org_id = i.org_id AND m.id = i.member_id \
         JOIN users u ON u.id = m.user_id \
         WHERE i.token_hash = $1 AND i.purpose = $2 AND i.used IS NULL AND i.expires > $3 AND {still_to_do}"
    );
    let found: Option<(String, String)> =
        sqlx::query_as(&sql).bind(token_hash).bind(purpose.as_str()).bind(now).fetch_optional(conn).await?;
    Ok(found.map(|(org, member)| (Id::from_stored(org), Id::from_stored(member))))
}

/// Uses the link for `purpose` if it is unused and unexpired; one caller
/// wins however many race.
pub async fn use_link(
    conn: &mut Conn,
    token_hash: &str,
    purpose: LinkPurpose,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invitations SET used = $1 WHERE token_hash = $2 AND purpose = $3 AND used IS NULL AND expires > $1",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Once a person has a password, the password links other organizations'
/// invitations sent them are of no more use, and a link lying in a mailbox
/// is a risk.
pub async fn retire_for_user(conn: &mut Conn, user: &Id, now: UnixTime) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE invitations SET used = $1 WHERE used IS NULL AND purpose = $2 AND EXISTS (SELECT 1 FROM memberships m \
         WHERE m.org_id = invitations.org_id AND m.id = invitations.member_id AND m.user_id = $3)",
    )
    .bind(now)
    .bind(LinkPurpose::Password.as_str())
    .bind(user.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Once a membership is taken up, whichever way, none of its links is of
/// any more use.
pub async fn retire_for_member(conn: &mut Conn, org: &Id, member: &Id, now: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE invitations SET used = $1 WHERE org_id = $2 AND member_id = $3 AND used IS NULL")
        .bind(now)
        .bind(org.as_str())
        .bind(member.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets links that expired before `before`.
pub async fn prune(conn: &mut Conn, before: UnixTime) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM invitations WHERE expires < $1").bind(before).execute(conn).await?;
    Ok(())
}
