//! API keys: metadata, and the one indexed lookup that authenticates them.

use super::{ApiKey, Conn, CredentialRecord, KeyWithAccount, ServiceAccount, StoreError};
use crate::domain::{Id, SecretHash, UnixTime};

const COLUMNS: &str = "id, account_id, name, created, created_by, expires, last_used, disabled, role, scopes, \
     allowed_cidrs, rate_limit, rate_period, meta";

/// A list as stored: a JSON array of strings, NULL when empty.
fn list_text<T: std::fmt::Display>(items: &[T]) -> Option<String> {
    (!items.is_empty()).then(|| serde_json::Value::from(items.iter().map(T::to_string).collect::<Vec<_>>()).to_string())
}

/// `sealed_assertion_key` is the key's assertion key, sealed for its id.
pub async fn insert(
    conn: &mut Conn,
    k: &ApiKey,
    hash: &SecretHash,
    sealed_assertion_key: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, secret_hash, created, created_by, expires, disabled, \
         assertion_key, role, scopes, allowed_cidrs, rate_limit, rate_period, meta) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(k.id.as_str())
    .bind(k.account_id.as_str())
    .bind(k.name.as_deref())
    .bind(hash.to_hex())
    .bind(k.created)
    .bind(k.created_by.to_string())
    .bind(k.expires)
    .bind(i64::from(k.disabled))
    .bind(sealed_assertion_key)
    .bind(k.narrowing.role.map(|r| r.as_str()))
    .bind(list_text(&k.narrowing.scopes))
    .bind(list_text(&k.narrowing.allowed_cidrs))
    .bind(k.narrowing.rate_limit.map(|r| i64::from(r.limit)))
    .bind(k.narrowing.rate_limit.map(|r| i64::from(r.period)))
    .bind(k.narrowing.meta.as_ref().map(crate::domain::Meta::to_json_text))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list_for_account(conn: &mut Conn, account: &Id) -> Result<Vec<ApiKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY id");
    Ok(sqlx::query_as(&sql).bind(account.as_str()).fetch_all(conn).await?)
}

/// The keys of several accounts in one query, for a page of accounts.
pub async fn list_for_accounts(conn: &mut Conn, accounts: &[ServiceAccount]) -> Result<Vec<ApiKey>, StoreError> {
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
         WHERE a.org_id = $1 AND a.deleted IS NULL AND COALESCE(k.last_used, k.created) < $2 AND (k.expires IS NULL OR k.expires > $3) \
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

pub async fn get(conn: &mut Conn, account: &Id, id: &Id) -> Result<Option<ApiKey>, StoreError> {
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

/// Keys of the account rotated away and still living out their grace period.
pub async fn count_in_grace(conn: &mut Conn, account: &Id, now: UnixTime) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_keys WHERE account_id = $1 AND replaced_by IS NOT NULL AND expires > $2",
    )
    .bind(account.as_str())
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Whether the key was rotated already.
pub async fn is_replaced(conn: &mut Conn, id: &Id) -> Result<bool, StoreError> {
    let successor: Option<Option<String>> = sqlx::query_scalar("SELECT replaced_by FROM api_keys WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(successor.flatten().is_some())
}

/// Marks a rotated key: its successor, and when it stops.
pub async fn mark_replaced(conn: &mut Conn, id: &Id, successor: &Id, expires: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET replaced_by = $1, expires = $2 WHERE id = $3")
        .bind(successor.as_str())
        .bind(expires)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Holds the key's row until the transaction ends, so that a read of it and
/// the write that follows cannot interleave with another transaction's
/// change of it (a revocation, a rotation): see `accounts::lock`.
pub async fn lock(conn: &mut Conn, id: &Id) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET id = id WHERE id = $1").bind(id.as_str()).execute(conn).await?;
    Ok(())
}

/// Writes what a `PATCH` may change; the expiry is not among it (rotation
/// sets that with `mark_replaced`).
pub async fn update(conn: &mut Conn, k: &ApiKey) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE api_keys SET name = $1, disabled = $2, role = $3, scopes = $4, allowed_cidrs = $5, \
         rate_limit = $6, rate_period = $7, meta = $8 WHERE account_id = $9 AND id = $10",
    )
    .bind(k.name.as_deref())
    .bind(i64::from(k.disabled))
    .bind(k.narrowing.role.map(|r| r.as_str()))
    .bind(list_text(&k.narrowing.scopes))
    .bind(list_text(&k.narrowing.allowed_cidrs))
    .bind(k.narrowing.rate_limit.map(|r| i64::from(r.limit)))
    .bind(k.narrowing.rate_limit.map(|r| i64::from(r.period)))
    .bind(k.narrowing.meta.as_ref().map(crate::domain::Meta::to_json_text))
    .bind(k.account_id.as_str())
    .bind(k.id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a key earlier (never later: only the policy's rules call this).
pub async fn set_expiry(conn: &mut Conn, id: &Id, at: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET expires = $1 WHERE id = $2").bind(at).bind(id.as_str()).execute(conn).await?;
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

// A deleted account's keys are not found at all: to a caller they look
// like keys that never existed.
const CREDENTIAL_SELECT: &str = "SELECT k.id AS key_id, k.account_id, k.secret_hash, k.expires, \
     k.disabled AS key_disabled, a.org_id, a.role, a.enable_basic_auth, a.disabled AS account_disabled, \
     k.role AS key_role, k.scopes, k.allowed_cidrs, k.rate_limit, k.rate_period, k.meta \
     FROM api_keys k JOIN service_accounts a ON a.id = k.account_id AND a.deleted IS NULL";

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

/// A key's record and its sealed assertion key, in one statement: the token
/// endpoint's lookup, which costs the same whether or not the key exists.
pub async fn find_assertion_material(
    conn: &mut Conn,
    id: &Id,
) -> Result<Option<(CredentialRecord, Option<String>)>, StoreError> {
    use sqlx::{FromRow, Row};
    let sql = format!("{CREDENTIAL_SELECT} WHERE k.id = $1").replacen(" FROM ", ", k.assertion_key FROM ", 1);
    let Some(row) = sqlx::query(&sql).bind(id.as_str()).fetch_optional(conn).await? else { return Ok(None) };
    Ok(Some((CredentialRecord::from_row(&row)?, row.try_get("assertion_key")?)))
}

pub async fn record_use(conn: &mut Conn, id: &Id, at: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used < $1)")
        .bind(at)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Keys stored before sealing: (id, the SHA-256 of the secret, hex).
pub async fn unsealed(conn: &mut Conn, limit: i64) -> Result<Vec<(Id, String)>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, secret_hash FROM api_keys WHERE assertion_key IS NULL ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().filter_map(|(id, hash)| Id::parse(&id).map(|id| (id, hash))).collect())
}

/// Rewrites a key stored before sealing; a row another node rewrote first is
/// left alone.
pub async fn seal_legacy(
    conn: &mut Conn,
    id: &Id,
    lookup: &SecretHash,
    sealed_assertion_key: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET secret_hash = $1, assertion_key = $2 WHERE id = $3 AND assertion_key IS NULL")
        .bind(lookup.to_hex())
        .bind(sealed_assertion_key)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// A key found by a leaked secret, whatever its account's state (a deleted
/// account's key must not come back working when the account is restored).
#[derive(Debug, Clone)]
pub struct LeakedKey {
    pub key_id: Id,
    pub key_name: Option<String>,
    pub account_id: Id,
    pub account_name: String,
    pub org_id: Id,
    pub disabled: bool,
    pub expires: Option<UnixTime>,
    /// The account's address, when it is confirmed: who is told.
    pub confirmed_email: Option<String>,
}

/// One indexed lookup by the secret's lookup hash.
pub async fn find_leaked(conn: &mut Conn, hash: &SecretHash) -> Result<Option<LeakedKey>, StoreError> {
    type Row = (String, Option<String>, String, String, String, i64, Option<i64>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT k.id, k.name, k.account_id, a.name, a.org_id, k.disabled, k.expires, \
         CASE WHEN a.email_confirmed = 1 THEN a.email END \
         FROM api_keys k JOIN service_accounts a ON a.id = k.account_id WHERE k.secret_hash = $1",
    )
    .bind(hash.to_hex())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(key, key_name, account, account_name, org, disabled, expires, confirmed_email)| LeakedKey {
        key_id: Id::from_stored(key),
        key_name,
        account_id: Id::from_stored(account),
        account_name,
        org_id: Id::from_stored(org),
        disabled: disabled != 0,
        expires,
        confirmed_email,
    }))
}

/// Disables a key; false when it was disabled already (or is gone), so that
/// of two reports racing, one records it.
pub async fn disable(conn: &mut Conn, id: &Id) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE api_keys SET disabled = 1 WHERE id = $1 AND disabled = 0")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
