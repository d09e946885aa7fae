//! People and their memberships in organizations.

use super::{Conn, Member, Membership, PendingInvitation, StoreError, User};
use crate::domain::{Id, Role, UnixTime};

const INSERT: &str = "INSERT INTO users (id, email, email_folded, password_hash, created) VALUES ($1, $2, $3, $4, $5)";

pub async fn insert(conn: &mut Conn, user: &User) -> Result<(), StoreError> {
    insert_with(conn, user, INSERT).await
}

/// Inserts `user` unless somebody already has the address (ignoring case);
/// either way exactly one account has it afterwards, however many callers
/// race. Read it back with `find_by_email`.
pub async fn insert_if_absent(conn: &mut Conn, user: &User) -> Result<(), StoreError> {
    insert_with(conn, user, &format!("{INSERT} ON CONFLICT (email_folded) DO NOTHING")).await
}

async fn insert_with(conn: &mut Conn, user: &User, sql: &str) -> Result<(), StoreError> {
    sqlx::query(sql)
        .bind(user.id.as_str())
        .bind(user.email.as_str())
        .bind(user.email.folded())
        .bind(user.password_hash.as_deref())
        .bind(user.created)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn count(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(conn).await?)
}

pub async fn get(conn: &mut Conn, id: &Id) -> Result<Option<User>, StoreError> {
    Ok(sqlx::query_as("SELECT id, email, password_hash, created FROM users WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?)
}

/// The account whose address folds to `folded` (`Email::folded`).
pub async fn find_by_email(conn: &mut Conn, folded: &str) -> Result<Option<User>, StoreError> {
    Ok(sqlx::query_as("SELECT id, email, password_hash, created FROM users WHERE email_folded = $1")
        .bind(folded)
        .fetch_optional(conn)
        .await?)
}

/// Sets the password of a user who has none; false when the user has one
/// (or is gone), which is then left as it was.
pub async fn set_first_password(conn: &mut Conn, id: &Id, hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash IS NULL")
        .bind(hash)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn add_membership(conn: &mut Conn, m: &Member) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO memberships (id, user_id, org_id, role, created, email, accepted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.id.as_str())
    .bind(m.user_id.as_str())
    .bind(m.org_id.as_str())
    .bind(m.role.as_str())
    .bind(m.created)
    .bind(m.email.as_str())
    .bind(m.accepted)
    .execute(conn)
    .await?;
    Ok(())
}

/// The organizations the person is in: the memberships they have taken up.
/// A pending one (added, not yet accepted) lets them act nowhere.
pub async fn memberships(conn: &mut Conn, user: &Id) -> Result<Vec<Membership>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.id AS member_id, m.org_id, o.name AS org_name, m.role FROM memberships m \
         JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 AND m.accepted IS NOT NULL ORDER BY o.id",
    )
    .bind(user.as_str())
    .fetch_all(conn)
    .await?)
}

/// The person's pending memberships: the invitations they have not
/// answered, oldest first.
pub async fn pending_invitations(conn: &mut Conn, user: &Id) -> Result<Vec<PendingInvitation>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.id AS member_id, m.org_id, o.name AS org_name, m.role, m.created FROM memberships m \
         JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 AND m.accepted IS NULL ORDER BY m.created, o.id",
    )
    .bind(user.as_str())
    .fetch_all(conn)
    .await?)
}

const MEMBER_SELECT: &str = "SELECT id, user_id, email, org_id, role, created, accepted FROM memberships";

pub async fn list_members(
    conn: &mut Conn,
    org: &Id,
    after: Option<&Id>,
    limit: i64,
) -> Result<Vec<Member>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(after.map_or("", Id::as_str)).bind(limit).fetch_all(conn).await?)
}

pub async fn get_member(conn: &mut Conn, org: &Id, member: &Id) -> Result<Option<Member>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE org_id = $1 AND id = $2");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(member.as_str()).fetch_optional(conn).await?)
}

/// The person's membership of `org`, pending or not.
pub async fn membership_of(conn: &mut Conn, org: &Id, user: &Id) -> Result<Option<Member>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE org_id = $1 AND user_id = $2");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(user.as_str()).fetch_optional(conn).await?)
}

pub async fn set_role(conn: &mut Conn, org: &Id, member: &Id, role: Role) -> Result<(), StoreError> {
    sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND id = $3")
        .bind(role.as_str())
        .bind(org.as_str())
        .bind(member.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes that the person took the membership up (first time only); false
/// when the membership is gone. On PostgreSQL this also locks its row until
/// the transaction ends, so that a removal racing with it waits or wins.
pub async fn accept_membership(conn: &mut Conn, org: &Id, member: &Id, now: UnixTime) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE memberships SET accepted = COALESCE(accepted, $1) WHERE org_id = $2 AND id = $3")
        .bind(now)
        .bind(org.as_str())
        .bind(member.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a pending membership up; false when it is gone or was taken up
/// already (one caller wins however many race).
pub async fn accept_pending(conn: &mut Conn, org: &Id, member: &Id, now: UnixTime) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE memberships SET accepted = $1 WHERE org_id = $2 AND id = $3 AND accepted IS NULL")
        .bind(now)
        .bind(org.as_str())
        .bind(member.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_admins(conn: &mut Conn, org: &Id) -> Result<i64, StoreError> {
    // A pending admin (invited, not yet in) cannot keep an organization
    // administered: only those who have taken up their membership count.
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'admin' AND accepted IS NOT NULL",
    )
    .bind(org.as_str())
    .fetch_one(conn)
    .await?)
}

/// The addresses of the organization's admins who have taken up their
/// membership: those told when keyward itself changes something of theirs.
pub async fn admin_emails(conn: &mut Conn, org: &Id) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM memberships WHERE org_id = $1 AND role = 'admin' AND accepted IS NOT NULL ORDER BY id",
    )
    .bind(org.as_str())
    .fetch_all(conn)
    .await?)
}

/// Removes the membership (its invitation links go with it: see the
/// `invitations` table), and the user altogether once it belongs to no
/// organization (its sessions go with it). True when the user went too.
pub async fn remove_membership(conn: &mut Conn, member: &Member) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND id = $2")
        .bind(member.org_id.as_str())
        .bind(member.id.as_str())
        .execute(&mut *conn)
        .await?;
    let gone =
        sqlx::query("DELETE FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)")
            .bind(member.user_id.as_str())
            .execute(conn)
            .await?;
    Ok(gone.rows_affected() == 1)
}
