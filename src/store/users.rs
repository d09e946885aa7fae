//! People and their memberships in organizations.

use super::{Conn, MemberRecord, MembershipRecord, StoreError, UserRecord};
use crate::domain::{Id, Role, UnixTime};

pub async fn insert(conn: &mut Conn, user: &UserRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO users (id, email, email_folded, password_hash, created) VALUES ($1, $2, $3, $4, $5)")
        .bind(user.id.as_str())
        .bind(&user.email)
        .bind(user.email.to_lowercase())
        .bind(user.password_hash.as_deref())
        .bind(user.created)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn count(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(conn).await?)
}

pub async fn get(conn: &mut Conn, id: &Id) -> Result<Option<UserRecord>, StoreError> {
    Ok(sqlx::query_as("SELECT id, email, password_hash, created FROM users WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?)
}

pub async fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<UserRecord>, StoreError> {
    Ok(sqlx::query_as("SELECT id, email, password_hash, created FROM users WHERE email_folded = $1")
        .bind(email.to_lowercase())
        .fetch_optional(conn)
        .await?)
}

pub async fn set_password_hash(conn: &mut Conn, id: &Id, hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash).bind(id.as_str()).execute(conn).await?;
    Ok(())
}

pub async fn add_membership(conn: &mut Conn, user: &Id, org: &Id, role: Role, now: UnixTime) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO memberships (user_id, org_id, role, created) VALUES ($1, $2, $3, $4)")
        .bind(user.as_str())
        .bind(org.as_str())
        .bind(role.as_str())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn memberships(conn: &mut Conn, user: &Id) -> Result<Vec<MembershipRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.org_id, o.name AS org_name, m.role FROM memberships m \
         JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.id",
    )
    .bind(user.as_str())
    .fetch_all(conn)
    .await?)
}

const MEMBER_SELECT: &str = "SELECT u.id, u.email, m.org_id, m.role, m.created, \
     CAST(CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password \
     FROM memberships m JOIN users u ON u.id = m.user_id";

pub async fn list_members(
    conn: &mut Conn,
    org: &Id,
    after: Option<&Id>,
    limit: i64,
) -> Result<Vec<MemberRecord>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE m.org_id = $1 AND u.id > $2 ORDER BY u.id LIMIT $3");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(after.map_or("", Id::as_str)).bind(limit).fetch_all(conn).await?)
}

pub async fn get_member(conn: &mut Conn, org: &Id, user: &Id) -> Result<Option<MemberRecord>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE m.org_id = $1 AND m.user_id = $2");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(user.as_str()).fetch_optional(conn).await?)
}

pub async fn set_role(conn: &mut Conn, org: &Id, user: &Id, role: Role) -> Result<(), StoreError> {
    sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
        .bind(role.as_str())
        .bind(org.as_str())
        .bind(user.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn count_admins(conn: &mut Conn, org: &Id) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'admin'")
        .bind(org.as_str())
        .fetch_one(conn)
        .await?)
}

/// Removes the user from the organization, and the user altogether once it
/// belongs to none.
pub async fn remove_membership(conn: &mut Conn, org: &Id, user: &Id) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.as_str())
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)")
        .bind(user.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
