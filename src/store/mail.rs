//! Email: the outbox, confirmation tokens (their hashes) and the record of
//! expiry warnings sent.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{Conn, Engine, StoreError};
use crate::domain::{Id, UnixTime};

/// A message to send, as the outbox holds it.
#[derive(Debug, Clone)]
pub struct OutboxRecord {
    pub id: Id,
    pub org_id: Id,
    /// `confirm-email`, `key-expiry`, `invitation` or `key-leaked`.
    pub kind: String,
    pub recipient: String,
    /// JSON; never a secret.
    pub payload: String,
    pub created: UnixTime,
    /// Failed attempts so far.
    pub attempts: i64,
}

impl FromRow<'_, AnyRow> for OutboxRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: Id::from_stored(row.try_get("id")?),
            org_id: Id::from_stored(row.try_get("org_id")?),
            kind: row.try_get("kind")?,
            recipient: row.try_get("recipient")?,
            payload: row.try_get("payload")?,
            created: row.try_get("created")?,
            attempts: row.try_get("attempts")?,
        })
    }
}

const COLUMNS: &str = "id, org_id, kind, recipient, payload, created, attempts";

/// Queues a message, due at once. Call it inside the transaction of the
/// change that asks for it.
pub async fn enqueue(conn: &mut Conn, m: &OutboxRecord) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO outbox ({COLUMNS}, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, 0, $6)");
    sqlx::query(&sql)
        .bind(m.id.as_str())
        .bind(m.org_id.as_str())
        .bind(&m.kind)
        .bind(&m.recipient)
        .bind(&m.payload)
        .bind(m.created)
        .execute(conn)
        .await?;
    Ok(())
}

/// Undelivered, not given up on, due, and not leased to a worker.
const CLAIMABLE: &str = "sent IS NULL AND failed IS NULL AND next_attempt <= $2 \
                         AND (claimed_until IS NULL OR claimed_until <= $2)";

/// A cheap read, so that an idle worker does not take SQLite's write turn
/// every second.
pub async fn any_due(conn: &mut Conn, now: UnixTime) -> Result<bool, StoreError> {
    let sql = format!("SELECT id FROM outbox WHERE {} LIMIT 1", CLAIMABLE.replace("$2", "$1"));
    Ok(sqlx::query(&sql).bind(now).fetch_optional(conn).await?.is_some())
}

/// Leases the due message that has waited longest to the caller until
/// `lease_until`. The outer conditions repeat the inner ones: on PostgreSQL
/// the row is re-checked after its lock is won, so two workers can never
/// both claim it; `SKIP LOCKED` makes the second one take the next row
/// instead of waiting. SQLite has one writer at a time and no row locks.
pub async fn claim(
    conn: &mut Conn,
    engine: Engine,
    now: UnixTime,
    lease_until: UnixTime,
) -> Result<Option<OutboxRecord>, StoreError> {
    let lock = engine.skip_locked();
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1 WHERE id = \
         (SELECT id FROM outbox WHERE {CLAIMABLE} ORDER BY next_attempt, id LIMIT 1{lock}) \
         AND {CLAIMABLE} RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql).bind(lease_until).bind(now).fetch_optional(conn).await?)
}

pub async fn mark_sent(conn: &mut Conn, id: &Id, now: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET sent = $1, claimed_until = NULL, last_error = NULL WHERE id = $2")
        .bind(now)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// After a failed attempt: try again at `next_attempt`.
pub async fn reschedule(
    conn: &mut Conn,
    id: &Id,
    attempts: i64,
    next_attempt: UnixTime,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET attempts = $1, next_attempt = $2, claimed_until = NULL, last_error = $3 WHERE id = $4",
    )
    .bind(attempts)
    .bind(next_attempt)
    .bind(error)
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// The message will not be sent: it kept failing, or is no longer wanted.
pub async fn give_up(conn: &mut Conn, id: &Id, attempts: i64, now: UnixTime, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET attempts = $1, failed = $2, claimed_until = NULL, last_error = $3 WHERE id = $4")
        .bind(attempts)
        .bind(now)
        .bind(error)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives up on the queued messages of `kind` in `org` whose payload names
/// `subject` (an id), unless a worker is sending one right now: a message
/// about something that is gone must not go out. Ids are hex digits, so the
/// pattern matches them literally.
pub async fn cancel_queued(
    conn: &mut Conn,
    org: &Id,
    kind: &str,
    subject: &Id,
    why: &str,
    now: UnixTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox SET failed = $1, last_error = $2 WHERE org_id = $3 AND kind = $4 AND payload LIKE $5 \
         AND sent IS NULL AND failed IS NULL AND (claimed_until IS NULL OR claimed_until <= $1)",
    )
    .bind(now)
    .bind(format!("cancelled: {why}"))
    .bind(org.as_str())
    .bind(kind)
    .bind(format!("%\"{subject}\"%"))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// When the oldest message still waiting for delivery was queued.
pub async fn oldest_undelivered(conn: &mut Conn) -> Result<Option<UnixTime>, StoreError> {
    Ok(sqlx::query_scalar("SELECT MIN(created) FROM outbox WHERE sent IS NULL AND failed IS NULL")
        .fetch_one(conn)
        .await?)
}

/// Forgets delivered and abandoned messages, and dead confirmation tokens,
/// older than `before`.
pub async fn prune(conn: &mut Conn, before: UnixTime) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM outbox WHERE (sent IS NOT NULL AND sent < $1) OR (failed IS NOT NULL AND failed < $1)")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM email_confirmations WHERE expires < $1").bind(before).execute(&mut *conn).await?;
    Ok(())
}

/// A confirmation link's stored half.
#[derive(Debug, Clone)]
pub struct ConfirmationRecord {
    pub account_id: Id,
    pub email: String,
    pub expires: UnixTime,
    pub used: Option<UnixTime>,
}

impl FromRow<'_, AnyRow> for ConfirmationRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            account_id: Id::from_stored(row.try_get("account_id")?),
            email: row.try_get("email")?,
            expires: row.try_get("expires")?,
            used: row.try_get("used")?,
        })
    }
}

pub async fn insert_confirmation(
    conn: &mut Conn,
    token_hash: &str,
    account: &Id,
    email: &str,
    now: UnixTime,
    expires: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO email_confirmations (token_hash, account_id, email, created, expires) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(account.as_str())
    .bind(email)
    .bind(now)
    .bind(expires)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_confirmation(conn: &mut Conn, token_hash: &str) -> Result<Option<ConfirmationRecord>, StoreError> {
    Ok(sqlx::query_as("SELECT account_id, email, expires, used FROM email_confirmations WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(conn)
        .await?)
}

/// Uses the token if it is live; one caller wins however many race.
pub async fn use_confirmation(conn: &mut Conn, token_hash: &str, now: UnixTime) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE email_confirmations SET used = $1 WHERE token_hash = $2 AND used IS NULL AND expires > $1")
            .bind(now)
            .bind(token_hash)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Every other live link of the account stops working too.
pub async fn retire_confirmations(conn: &mut Conn, account: &Id, now: UnixTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE email_confirmations SET used = $1 WHERE account_id = $2 AND used IS NULL")
        .bind(now)
        .bind(account.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The organization of an account known only by id (a link's account).
pub async fn account_org(conn: &mut Conn, account: &Id) -> Result<Option<Id>, StoreError> {
    let org: Option<String> = sqlx::query_scalar("SELECT org_id FROM service_accounts WHERE id = $1")
        .bind(account.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(org.map(Id::from_stored))
}

/// A key about to expire, with where to warn about it.
#[derive(Debug, Clone)]
pub struct ExpiringKey {
    pub key_id: Id,
    pub key_name: Option<String>,
    pub expires: UnixTime,
    pub account_id: Id,
    pub account_name: String,
    pub org_id: Id,
    pub email: String,
}

impl FromRow<'_, AnyRow> for ExpiringKey {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            key_id: Id::from_stored(row.try_get("key_id")?),
            key_name: row.try_get("key_name")?,
            expires: row.try_get("expires")?,
            account_id: Id::from_stored(row.try_get("account_id")?),
            account_name: row.try_get("account_name")?,
            org_id: Id::from_stored(row.try_get("org_id")?),
            email: row.try_get("email")?,
        })
    }
}

/// Working keys that expire after `now` and no later than `horizon`, of
/// accounts with a confirmed address, not yet warned about at `days`.
pub async fn keys_to_warn(
    conn: &mut Conn,
    now: UnixTime,
    horizon: UnixTime,
    days: i64,
    limit: i64,
) -> Result<Vec<ExpiringKey>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT k.id AS key_id, k.name AS key_name, k.expires, a.id AS account_id, a.name AS account_name, \
         a.org_id, a.email FROM api_keys k JOIN service_accounts a ON a.id = k.account_id \
         WHERE k.expires > $1 AND k.expires <= $2 AND k.disabled = 0 AND a.disabled = 0 AND a.deleted IS NULL \
         AND a.email IS NOT NULL AND a.email_confirmed = 1 \
         AND NOT EXISTS (SELECT 1 FROM expiry_warnings w WHERE w.key_id = k.id AND w.threshold_days = $3) \
         ORDER BY k.expires LIMIT $4",
    )
    .bind(now)
    .bind(horizon)
    .bind(days)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Notes that `key` was warned about at `days`; false when some node already
/// had (the primary key decides, whatever raced).
pub async fn record_expiry_warning(conn: &mut Conn, key: &Id, days: i64, now: UnixTime) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO expiry_warnings (key_id, threshold_days, created) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id, threshold_days) DO NOTHING",
    )
    .bind(key.as_str())
    .bind(days)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
