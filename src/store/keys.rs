//! API keys: metadata, and the one indexed lookup that authenticates them.

use super::{AccountRecord, Conn, CredentialRecord, KeyRecord, KeyWithAccount, StoreError};
use crate::domain::{Id, SecretHash, UnixTime};

const COLUMNS: &str = "id, account_id, name, created, created_by, expires, last_used, disabled";

pub async fn insert(conn: &mut Conn, k: &KeyRecord, hash: &SecretHash) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, secret_hash, created, created_by, expires, disabled) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(k.id.as_str())
    .bind(k.account_id.as_str())
    .bind(k.name.as_deref())
    .bind(hash.to_hex())
    .bind(k.created)
    .bind(&k.created_by)
    .bind(k.expires)
    .bind(i64::from(k.disabled))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list_for_account(conn: &mut Conn, account: &Id) -> Result<Vec<KeyRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY id");
    Ok(sqlx::query_as(&sql).bind(account.as_str()).fetch_all(conn).await?)
}

/// The keys of several accounts in one query, for a page of accounts.
pub async fn list_for_accounts(conn: &mut Conn, accounts: &[AccountRecord]) -> Result<Vec<KeyRecord>, StoreError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=accounts.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE account_id IN ({}) ORDER BY id", placeholders.join(", "));
    let mut query = sqlx::query_as(&sql);
    for account in accounts {
        query = query.bind(account.id.as_str());
    }
    Ok(query.fetch_all(conn).await?)
}

/// Live keys of `org` not used since `cutoff` (never-used keys count from
/// their creation), a page in key order after `after`.
pub async fn list_unused(
    conn: &mut Conn,
    org: &Id,
    cutoff: UnixTime,
    now: UnixTime,
    after: Option<&Id>,
    limit: i64,
) -> Result<Vec<KeyWithAccount>, StoreError> {
    let columns = COLUMNS.split(", ").map(|c| format!("k.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {columns}, a.name AS account_name FROM api_keys k JOIN service_accounts a ON a.id = k.account_id \
         WHERE a.org_id = $1 AND COALESCE(k.last_used, k.created) < $2 AND (k.expires IS NULL OR k.expires > $3) \
         AND k.id > $4 ORDER BY k.id LIMIT $5"
    );
    Ok(sqlx::query_as(&sql)
        .bind(org.as_str())
        .bind(cutoff)
        .bind(now)
        .bind(after.map_or("", Id::as_str))
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

pub async fn get(conn: &mut Conn, account: &Id, id: &Id) -> Result<Option<KeyRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 AND id = $2");
    Ok(sqlx::query_as(&sql).bind(account.as_str()).bind(id.as_str()).fetch_optional(conn).await?)
}

/// Keys that still count against the account's limit: those not yet expired.
pub async fn count_live(conn: &mut Conn, account: &Id, now: UnixTime) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE account_id = $1 AND (expires IS NULL OR expires > $2)")
        .bind(account.as_str())
        .bind(now)
        .fetch_one(conn)
        .await?)
}

pub async fn update(conn: &mut Conn, k: &KeyRecord) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET name = $1, disabled = $2, expires = $3 WHERE account_id = $4 AND id = $5")
        .bind(k.name.as_deref())
        .bind(i64::from(k.disabled))
        .bind(k.expires)
        .bind(k.account_id.as_str())
        .bind(k.id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, account: &Id, id: &Id) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM api_keys WHERE account_id = $1 AND id = $2")
        .bind(account.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

const CREDENTIAL_SELECT: &str = "SELECT k.id AS key_id, k.account_id, k.secret_hash, k.expires, \
     k.disabled AS key_disabled, a.org_id, a.role, a.enable_basic_auth, a.disabled AS account_disabled \
     FROM api_keys k JOIN service_accounts a ON a.id = k.account_id";

/// The key check's lookup: one row by the unique index on the secret's hash.
pub async fn find_credential(conn: &mut Conn, hash: &SecretHash) -> Result<Option<CredentialRecord>, StoreError> {
    let sql = format!("{CREDENTIAL_SELECT} WHERE k.secret_hash = $1");
    Ok(sqlx::query_as(&sql).bind(hash.to_hex()).fetch_optional(conn).await?)
}

/// The same, by the key's id: for tokens, which name their key rather than
/// carry its secret.
pub async fn find_credential_by_id(conn: &mut Conn, id: &Id) -> Result<Option<CredentialRecord>, StoreError> {
    let sql = format!("{CREDENTIAL_SELECT} WHERE k.id = $1");
    Ok(sqlx::query_as(&sql).bind(id.as_str()).fetch_optional(conn).await?)
}

pub async fn record_use(conn: &mut Conn, id: &Id, at: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used < $1)")
        .bind(at)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
