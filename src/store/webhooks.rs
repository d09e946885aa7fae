//! Webhook endpoints and their deliveries: the queue the delivery workers of
//! every node drain under leases.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::records::word;
use super::{Conn, Engine, StoreError};
use crate::domain::entity::{WebhookDelivery, WebhookEndpoint};
use crate::domain::webhook::{DeliveryStatus, Event, Subscriptions};
use crate::domain::{Id, UnixTime};

impl FromRow<'_, AnyRow> for WebhookEndpoint {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: Id::from_stored(row.try_get("id")?),
            org_id: Id::from_stored(row.try_get("org_id")?),
            url: row.try_get("url")?,
            // Entries no longer known are dropped.
            events: Subscriptions::from_stored(&row.try_get::<String, _>("events")?),
            secret_sealed: row.try_get("secret_sealed")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            created: row.try_get("created")?,
            secret_created: row.try_get("secret_created")?,
            disabled_reason: row.try_get("disabled_reason")?,
            failing_since: row.try_get("failing_since")?,
            failures: row.try_get("failures")?,
        })
    }
}

const ENDPOINT_COLUMNS: &str = "id, org_id, url, events, secret_sealed, disabled, created, secret_created, \
                                disabled_reason, failing_since, failures";

pub async fn insert(conn: &mut Conn, e: &WebhookEndpoint) -> Result<(), StoreError> {
    let sql =
        format!("INSERT INTO webhooks ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
    sqlx::query(&sql)
        .bind(e.id.as_str())
        .bind(e.org_id.as_str())
        .bind(&e.url)
        .bind(e.events.to_json())
        .bind(&e.secret_sealed)
        .bind(i64::from(e.disabled))
        .bind(e.created)
        .bind(e.secret_created)
        .bind(e.disabled_reason.as_deref())
        .bind(e.failing_since)
        .bind(e.failures)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, org: &Id, id: &Id) -> Result<Option<WebhookEndpoint>, StoreError> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE org_id = $1 AND id = $2");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(id.as_str()).fetch_optional(conn).await?)
}

/// A page in creation order after `after`.
pub async fn list(
    conn: &mut Conn,
    org: &Id,
    after: Option<&Id>,
    limit: i64,
) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).bind(after.map_or("", Id::as_str)).bind(limit).fetch_all(conn).await?)
}

/// How many endpoints the organization has.
pub async fn count_in_org(conn: &mut Conn, org: &Id) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE org_id = $1").bind(org.as_str()).fetch_one(conn).await?)
}

/// The organization's enabled endpoints: those an event may go to.
pub async fn enabled_in_org(conn: &mut Conn, org: &Id) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE org_id = $1 AND disabled = 0 ORDER BY id");
    Ok(sqlx::query_as(&sql).bind(org.as_str()).fetch_all(conn).await?)
}

/// Writes `url`, `events`, `disabled`, `disabled_reason` and the failing
/// streak back.
pub async fn update(conn: &mut Conn, e: &WebhookEndpoint) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhooks SET url = $1, events = $2, disabled = $3, disabled_reason = $4, failing_since = $5, \
         failures = $6 WHERE org_id = $7 AND id = $8",
    )
    .bind(&e.url)
    .bind(e.events.to_json())
    .bind(i64::from(e.disabled))
    .bind(e.disabled_reason.as_deref())
    .bind(e.failing_since)
    .bind(e.failures)
    .bind(e.org_id.as_str())
    .bind(e.id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_secret(conn: &mut Conn, org: &Id, id: &Id, sealed: &str, now: UnixTime) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE webhooks SET secret_sealed = $1, secret_created = $2 WHERE org_id = $3 AND id = $4")
        .bind(sealed)
        .bind(now)
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the endpoint and, with it, its deliveries.
pub async fn delete(conn: &mut Conn, org: &Id, id: &Id) -> Result<bool, StoreError> {
    // Explicitly too: the cascade needs SQLite's foreign keys switched on.
    sqlx::query(
        "DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND EXISTS \
                 (SELECT 1 FROM webhooks w WHERE w.id = $1 AND w.org_id = $2)",
    )
    .bind(id.as_str())
    .bind(org.as_str())
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query("DELETE FROM webhooks WHERE org_id = $1 AND id = $2")
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

impl FromRow<'_, AnyRow> for WebhookDelivery {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: Id::from_stored(row.try_get("id")?),
            endpoint_id: Id::from_stored(row.try_get("endpoint_id")?),
            event_type: word(row, "event_type", Event::parse)?,
            payload: row.try_get("payload")?,
            created: row.try_get("created")?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            status: word(row, "status", DeliveryStatus::parse)?,
            last_status_code: row.try_get("last_status_code")?,
            last_error: row.try_get("last_error")?,
            delivered_at: row.try_get("delivered_at")?,
        })
    }
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_type, payload, created, attempts, next_attempt_at, status, \
                                last_status_code, last_error, delivered_at";

/// Queues a delivery, due at once. Call it inside the transaction of the
/// change it tells of.
pub async fn enqueue(
    conn: &mut Conn,
    id: &Id,
    endpoint: &Id,
    event_type: Event,
    payload: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, created, attempts, next_attempt_at, \
         status) VALUES ($1, $2, $3, $4, $5, 0, $5, 'pending')",
    )
    .bind(id.as_str())
    .bind(endpoint.as_str())
    .bind(event_type.as_str())
    .bind(payload)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of the endpoint's deliveries older than `before`, newest first.
pub async fn list_deliveries(
    conn: &mut Conn,
    endpoint: &Id,
    before: Option<&Id>,
    limit: i64,
) -> Result<Vec<WebhookDelivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    );
    // Every id sorts before "g": hex digits only.
    Ok(sqlx::query_as(&sql)
        .bind(endpoint.as_str())
        .bind(before.map_or("g", Id::as_str))
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// Each endpoint's head: its oldest pending delivery (through the partial
/// index `webhook_deliveries_head`). Only the head of an endpoint's queue is
/// ever sent, so one endpoint's deliveries arrive in order and an endpoint
/// has at most one attempt in flight (its lane).
const HEADS: &str = "webhooks w JOIN webhook_deliveries d ON d.id = \
     (SELECT h.id FROM webhook_deliveries h WHERE h.endpoint_id = w.id AND h.status = 'pending' ORDER BY h.id LIMIT 1)";

/// A head that is due and not leased, `$1` being now.
const CLAIMABLE: &str = "d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)";

/// A cheap read, so that an idle worker does not take SQLite's write turn
/// at every poll.
pub async fn any_due(conn: &mut Conn, now: UnixTime) -> Result<bool, StoreError> {
    let sql = format!("SELECT d.id FROM {HEADS} WHERE {CLAIMABLE} LIMIT 1");
    Ok(sqlx::query(&sql).bind(now).fetch_optional(conn).await?.is_some())
}

/// A delivery leased by [`claim`], and the organization whose turn it took.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery: WebhookDelivery,
    /// `None` only if the endpoint went in the meantime.
    pub org_id: Option<Id>,
}

impl FromRow<'_, AnyRow> for Claimed {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let org_id: Option<String> = row.try_get("org_id")?;
        Ok(Self { delivery: WebhookDelivery::from_row(row)?, org_id: org_id.map(Id::from_stored) })
    }
}

/// Leases one claimable delivery to `owner` until `lease_until`, taking
/// turns: of the organizations with a claimable delivery (those in `skip`
/// left out), the one served longest ago; of its endpoints, the one served
/// longest ago; the oldest due first only among equals. Then notes the
/// organization and the endpoint as served now.
///
/// The search walks the endpoints, one index probe each, not the pending
/// deliveries: a backlog of any size costs a claim nothing more. As in the
/// mail outbox, the update repeats the conditions: on PostgreSQL the row is
/// re-checked once its lock is won, so two workers never both take it, and
/// `SKIP LOCKED` sends the second to another row; SQLite has one writer at
/// a time.
pub async fn claim(
    conn: &mut Conn,
    engine: Engine,
    owner: &str,
    now: UnixTime,
    lease_until: UnixTime,
    skip: &[Id],
) -> Result<Option<Claimed>, StoreError> {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        Engine::Sqlite => "",
    };
    let skipped = if skip.is_empty() {
        String::new()
    } else {
        let placeholders: Vec<String> = (0..skip.len()).map(|i| format!("${}", i + 4)).collect();
        format!(" AND w.org_id NOT IN ({})", placeholders.join(", "))
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_owner = $2, lease_until = $3 WHERE id = \
         (SELECT d.id FROM {HEADS} LEFT JOIN webhook_org_turns t ON t.org_id = w.org_id \
          WHERE {CLAIMABLE}{skipped} \
          ORDER BY COALESCE(t.served, 0), w.served, d.next_attempt_at, d.id LIMIT 1{lock}) \
         AND status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = webhook_deliveries.endpoint_id \
                         AND e.status = 'pending' AND e.id < webhook_deliveries.id) \
         RETURNING {DELIVERY_COLUMNS}, \
         (SELECT w.org_id FROM webhooks w WHERE w.id = webhook_deliveries.endpoint_id) AS org_id"
    );
    let mut query = sqlx::query_as::<_, Claimed>(&sql).bind(now).bind(owner).bind(lease_until);
    for org in skip {
        query = query.bind(org.as_str());
    }
    let Some(claimed) = query.fetch_optional(&mut *conn).await? else { return Ok(None) };
    let Some(org) = &claimed.org_id else { return Ok(Some(claimed)) };
    // One counter for every turn: the organization and the endpoint both
    // take the next value, so the smallest is whoever was served longest
    // ago. Two claims at once may draw the same value; a tie is harmless.
    sqlx::query(
        "INSERT INTO webhook_org_turns (org_id, served) \
         SELECT $1, COALESCE(MAX(served), 0) + 1 FROM webhook_org_turns WHERE TRUE \
         ON CONFLICT (org_id) DO UPDATE SET served = excluded.served",
    )
    .bind(org.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE webhooks SET served = (SELECT served FROM webhook_org_turns WHERE org_id = $1) WHERE id = $2")
        .bind(org.as_str())
        .bind(claimed.delivery.endpoint_id.as_str())
        .execute(conn)
        .await?;
    Ok(Some(claimed))
}

/// The endpoint a claimed delivery goes to.
pub async fn endpoint_of(conn: &mut Conn, endpoint: &Id) -> Result<Option<WebhookEndpoint>, StoreError> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(endpoint.as_str()).fetch_optional(conn).await?)
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub attempts: i64,
    /// `Pending` to retry at `next_attempt_at`.
    pub status: DeliveryStatus,
    pub next_attempt_at: UnixTime,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub delivered_at: Option<UnixTime>,
}

/// Records an attempt and gives the lease back, if `owner` still holds it:
/// false when the lease ran out and another worker took the row meanwhile
/// (its own attempt decides then).
pub async fn finish_attempt(conn: &mut Conn, id: &Id, owner: &str, r: &AttemptResult) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = $1, status = $2, next_attempt_at = $3, last_status_code = $4, \
         last_error = $5, delivered_at = $6, lease_owner = NULL, lease_until = NULL \
         WHERE id = $7 AND lease_owner = $8 AND status = 'pending'",
    )
    .bind(r.attempts)
    .bind(r.status.as_str())
    .bind(r.next_attempt_at)
    .bind(r.status_code)
    .bind(r.error.as_deref())
    .bind(r.delivered_at)
    .bind(id.as_str())
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a failed attempt in the endpoint's failing streak, which starts
/// at `now` when none runs; answers the endpoint as it is now (`None` when
/// it is gone). On PostgreSQL its row stays locked until the transaction
/// ends, so that an admin's change waits for what this decides.
pub async fn note_failure(
    conn: &mut Conn,
    endpoint: &Id,
    now: UnixTime,
) -> Result<Option<WebhookEndpoint>, StoreError> {
    let sql = format!(
        "UPDATE webhooks SET failing_since = COALESCE(failing_since, $1), failures = failures + 1 WHERE id = $2 \
         RETURNING {ENDPOINT_COLUMNS}"
    );
    Ok(sqlx::query_as(&sql).bind(now).bind(endpoint.as_str()).fetch_optional(conn).await?)
}

/// A delivered attempt ends the endpoint's failing streak.
pub async fn note_success(conn: &mut Conn, endpoint: &Id) -> Result<(), StoreError> {
    sqlx::query("UPDATE webhooks SET failing_since = NULL, failures = 0 WHERE id = $1 AND failures > 0")
        .bind(endpoint.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Disables an endpoint keyward gave up on, saying why; false when it was
/// disabled already.
pub async fn disable_failing(conn: &mut Conn, endpoint: &Id, reason: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE webhooks SET disabled = 1, disabled_reason = $1 WHERE id = $2 AND disabled = 0")
        .bind(reason)
        .bind(endpoint.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets delivered and failed deliveries created before `before`.
pub async fn prune(conn: &mut Conn, before: UnixTime) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(())
}

/// A key whose expiry is to be announced.
#[derive(Debug, Clone)]
pub struct ExpiryNotice {
    pub key_id: Id,
    pub key_name: Option<String>,
    pub expires: UnixTime,
    pub account_id: Id,
    pub org_id: Id,
}

impl FromRow<'_, AnyRow> for ExpiryNotice {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            key_id: Id::from_stored(row.try_get("key_id")?),
            key_name: row.try_get("key_name")?,
            expires: row.try_get("expires")?,
            account_id: Id::from_stored(row.try_get("account_id")?),
            org_id: Id::from_stored(row.try_get("org_id")?),
        })
    }
}

/// Keys of live accounts expiring in `(from, to]`, not yet announced as
/// `kind`, in organizations with an enabled endpoint (nobody else would be
/// told).
pub async fn keys_to_announce(
    conn: &mut Conn,
    kind: &str,
    from: UnixTime,
    to: UnixTime,
    limit: i64,
) -> Result<Vec<ExpiryNotice>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT k.id AS key_id, k.name AS key_name, k.expires, a.id AS account_id, a.org_id \
         FROM api_keys k JOIN service_accounts a ON a.id = k.account_id \
         WHERE k.expires > $1 AND k.expires <= $2 AND a.deleted IS NULL AND k.disabled = 0 \
         AND EXISTS (SELECT 1 FROM webhooks w WHERE w.org_id = a.org_id AND w.disabled = 0) \
         AND NOT EXISTS (SELECT 1 FROM webhook_key_notices n WHERE n.key_id = k.id AND n.kind = $3) \
         ORDER BY k.expires LIMIT $4",
    )
    .bind(from)
    .bind(to)
    .bind(kind)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Notes that `key` was announced as `kind`; false when some node already
/// had (the primary key decides, whatever raced).
pub async fn record_key_notice(conn: &mut Conn, key: &Id, kind: &str, now: UnixTime) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO webhook_key_notices (key_id, kind, created) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id, kind) DO NOTHING",
    )
    .bind(key.as_str())
    .bind(kind)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
