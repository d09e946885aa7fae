//! Webhooks: admins' endpoints, the events queued for them in the same
//! transaction as each change, and the use cases the delivery worker runs
//! (claim a due delivery under a lease, organizations and endpoints taking
//! turns; record what its attempt came to, and disable an endpoint that has
//! failed for days, telling its organization's admins).
//! Sending itself (HTTP, signatures on the wire) lives in `crate::webhooks`.

use std::time::Duration;

use serde_json::{Value, json};

use super::audit::{self, Action, Target};
use super::mail::{self as outbox, Mail, WebhookDisabledPayload};
use super::{Page, Principal, Service, ServiceError};
use crate::domain::entity::{WebhookDelivery, WebhookEndpoint};
use crate::domain::webhook::{DeliveryStatus, EndpointUrl, Event, SigningSecret, Subscriptions};
use crate::domain::{ActorKind, Id, Role, UnixTime, clock};
use crate::store::webhooks::{self as store, AttemptResult};
use crate::store::{Conn, StoreError, users};

/// The knobs of webhook delivery, filled from configuration.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `--webhook-allow-private`: endpoints may resolve to loopback and
    /// private addresses.
    pub allow_private: bool,
    /// How often an idle worker looks for due deliveries.
    pub poll_interval: Duration,
    /// How long a claimed delivery is a worker's alone; far longer than an
    /// attempt may take (`timeout`).
    pub lease: Duration,
    /// How long one attempt may take (`--webhook-timeout`): a slow
    /// receiver holds a lane no longer than this.
    pub timeout: Duration,
    /// Attempts one node makes at once, each to a different endpoint.
    pub lanes: usize,
    /// Of those, the most one organization may hold, so that the rest stay
    /// free for the others whatever it has queued.
    pub org_lanes: usize,
    /// An endpoint whose every attempt has failed for this long, and at
    /// least `disable_after_failures` times, is disabled.
    pub disable_after: Duration,
    pub disable_after_failures: i64,
    /// A delivery still failing this long after it was queued is given up on.
    pub give_up_after: Duration,
    /// The waits after the first, second, … failed attempt; the last one
    /// repeats.
    pub backoff: Vec<Duration>,
    /// Keys expiring within this are announced as `key.expiring`.
    pub expiring_within: Duration,
    /// How often the worker looks for keys expiring or expired.
    pub scan_interval: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            timeout: DEFAULT_TIMEOUT,
            lanes: 16,
            org_lanes: 4,
            disable_after: Duration::from_secs(5 * 86_400),
            disable_after_failures: 20,
            give_up_after: Duration::from_secs(24 * 3600),
            backoff: [5, 30, 120, 600, 1800, 3600, 2 * 3600, 4 * 3600].map(Duration::from_secs).to_vec(),
            expiring_within: Duration::from_secs(7 * 86_400),
            scan_interval: Duration::from_secs(60),
        }
    }
}

impl WebhookSettings {
    /// Seconds to wait after `attempts` failed attempts.
    pub fn wait_after(&self, attempts: i64) -> i64 {
        let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(0);
        self.backoff.get(i).or(self.backoff.last()).map_or(60, |d| d.as_secs() as i64)
    }
}

/// How long one attempt may take unless configured: ample for a receiver
/// that only queues the message (as it should), and short enough that a
/// slow one gives its lane back soon.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Finished deliveries are kept this long for the listing.
const KEEP_DONE: i64 = 30 * 86_400;
/// Keys that expired longer ago than this are not announced any more (an
/// endpoint registered today is not told of last year's expiries).
const EXPIRED_LOOKBACK: i64 = 86_400;
/// Keys announced per scan and kind; the next scan takes the rest.
const SCAN_BATCH: i64 = 500;

/// The context an endpoint's secret is sealed for: its own id.
fn secret_context(endpoint: &Id) -> String {
    format!("webhook:{endpoint}")
}

/// A new endpoint, checked by the HTTP layer.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: EndpointUrl,
    pub events: Subscriptions,
}

/// `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<EndpointUrl>,
    pub events: Option<Subscriptions>,
    pub disabled: Option<bool>,
}

/// An endpoint and its signing secret, shown this once.
#[derive(Debug)]
pub struct CreatedWebhook {
    pub endpoint: WebhookEndpoint,
    pub secret: SigningSecret,
}

/// A delivery a worker holds, with what it needs to send it.
#[derive(Debug)]
pub struct ClaimedDelivery {
    pub delivery: WebhookDelivery,
    /// The organization whose turn it took (`None` if its endpoint is gone).
    pub org_id: Option<Id>,
    pub url: String,
    pub secret: SigningSecret,
    /// Why it must not be sent at all (its endpoint is gone or disabled).
    pub cancelled: Option<&'static str>,
}

/// What one attempt came to, as the sender saw it.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Another answer, or no answer (`status` is then `None`).
    Failed { status: Option<u16>, error: String },
    /// Not to be sent: the reason becomes the delivery's last error.
    Cancelled(&'static str),
}

/// The most endpoints one organization may have.
pub const MAX_WEBHOOKS_PER_ORG: i64 = 20;

impl Service {
    /// Admins: a new endpoint, at most [`MAX_WEBHOOKS_PER_ORG`] per
    /// organization. Its URL must not lead to a private address unless the
    /// server allows it (`check_target`); the secret is returned here only.
    pub async fn create_webhook(&self, p: &Principal, new: NewWebhook) -> Result<CreatedWebhook, ServiceError> {
        p.require(Role::Admin)?;
        self.check_target(&new.url)?;
        let now = self.now();
        let id = Id::generate();
        let secret = SigningSecret::generate()?;
        let endpoint = WebhookEndpoint {
            secret_sealed: self.sealing_key().seal(&secret_context(&id), secret.as_bytes())?,
            id,
            org_id: p.org_id.clone(),
            url: new.url.as_str().to_owned(),
            events: new.events.clone(),
            disabled: false,
            created: now,
            secret_created: now,
            disabled_reason: None,
            failing_since: None,
            failures: 0,
        };
        let mut tx = self.store().begin().await?;
        // Every change is fanned out to each endpoint in its own
        // transaction: their number is bounded, and counted under the
        // organization's lock so that two creations cannot both pass.
        crate::store::orgs::lock(tx.conn(), &p.org_id).await?;
        if store::count_in_org(tx.conn(), &p.org_id).await? >= MAX_WEBHOOKS_PER_ORG {
            return Err(ServiceError::Conflict {
                field: "url",
                detail: format!("an organization has at most {MAX_WEBHOOKS_PER_ORG} webhooks; delete one first"),
            });
        }
        store::insert(tx.conn(), &endpoint).await?;
        let detail = json!({"url": endpoint.url, "events": new.events.names()});
        audit::record(tx.conn(), p, now, Action::WebhookCreate, Target::Webhook(&endpoint.id), Some(&detail)).await?;
        tx.commit().await?;
        Ok(CreatedWebhook { endpoint, secret })
    }

    /// Admins: the organization's endpoints in creation order.
    pub async fn list_webhooks(
        &self,
        p: &Principal,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Page<WebhookEndpoint, Id>, ServiceError> {
        p.require(Role::Admin)?;
        let mut conn = self.store().read().await?;
        let rows = store::list(&mut conn, &p.org_id, after.as_ref(), limit as i64 + 1).await?;
        Ok(Page::from_overfetch(rows, limit, |e| e.id.clone()))
    }

    pub async fn get_webhook(&self, p: &Principal, id: &Id) -> Result<WebhookEndpoint, ServiceError> {
        p.require(Role::Admin)?;
        let mut conn = self.store().read().await?;
        store::get(&mut conn, &p.org_id, id).await?.ok_or(ServiceError::NotFound("webhook"))
    }

    /// Admins. A disabled endpoint is sent nothing new, and what was queued
    /// for it is given up on when its turn comes. Enabling an endpoint, or
    /// giving it another URL, clears the reason keyward disabled it for and
    /// starts its failing streak afresh.
    pub async fn update_webhook(
        &self,
        p: &Principal,
        id: &Id,
        patch: WebhookPatch,
    ) -> Result<WebhookEndpoint, ServiceError> {
        p.require(Role::Admin)?;
        if let Some(url) = &patch.url {
            self.check_target(url)?;
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = store::get(tx.conn(), &p.org_id, id).await?.ok_or(ServiceError::NotFound("webhook"))?;
        let mut after = before.clone();
        let mut detail = serde_json::Map::new();
        if let Some(url) = patch.url {
            after.url = url.as_str().to_owned();
        }
        if let Some(events) = patch.events {
            after.events = events;
        }
        if let Some(disabled) = patch.disabled {
            after.disabled = disabled;
        }
        if after.url != before.url {
            detail.insert("url".into(), json!({"from": before.url, "to": after.url}));
        }
        if after.events != before.events {
            detail.insert("events".into(), json!({"from": before.events.names(), "to": after.events.names()}));
        }
        if after.disabled != before.disabled {
            detail.insert("disabled".into(), json!({"from": before.disabled, "to": after.disabled}));
        }
        if !after.disabled {
            after.disabled_reason = None;
        }
        if (before.disabled && !after.disabled) || after.url != before.url {
            after.failing_since = None;
            after.failures = 0;
        }
        store::update(tx.conn(), &after).await?;
        let detail = Value::Object(detail);
        audit::record(tx.conn(), p, now, Action::WebhookUpdate, Target::Webhook(id), Some(&detail)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Admins. The endpoint's queued and past deliveries go with it.
    pub async fn delete_webhook(&self, p: &Principal, id: &Id) -> Result<(), ServiceError> {
        p.require(Role::Admin)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let endpoint = store::get(tx.conn(), &p.org_id, id).await?.ok_or(ServiceError::NotFound("webhook"))?;
        store::delete(tx.conn(), &p.org_id, id).await?;
        let detail = json!({"url": endpoint.url});
        audit::record(tx.conn(), p, now, Action::WebhookDelete, Target::Webhook(id), Some(&detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Admins: a new signing secret, returned this once; every attempt from
    /// now on is signed with it.
    pub async fn rotate_webhook_secret(&self, p: &Principal, id: &Id) -> Result<SigningSecret, ServiceError> {
        p.require(Role::Admin)?;
        let now = self.now();
        let secret = SigningSecret::generate()?;
        let sealed = self.sealing_key().seal(&secret_context(id), secret.as_bytes())?;
        let mut tx = self.store().begin().await?;
        if !store::set_secret(tx.conn(), &p.org_id, id, &sealed, now).await? {
            return Err(ServiceError::NotFound("webhook"));
        }
        audit::record(tx.conn(), p, now, Action::WebhookRotateSecret, Target::Webhook(id), None).await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Admins: an endpoint's deliveries, newest first.
    pub async fn list_webhook_deliveries(
        &self,
        p: &Principal,
        id: &Id,
        before: Option<Id>,
        limit: usize,
    ) -> Result<Page<WebhookDelivery, Id>, ServiceError> {
        p.require(Role::Admin)?;
        let mut conn = self.store().read().await?;
        store::get(&mut conn, &p.org_id, id).await?.ok_or(ServiceError::NotFound("webhook"))?;
        let rows = store::list_deliveries(&mut conn, id, before.as_ref(), limit as i64 + 1).await?;
        Ok(Page::from_overfetch(rows, limit, |d| d.id.clone()))
    }

    /// Refuses, as `422` on `url`, a URL that leads to an address webhooks
    /// may not reach as far as can be told without the network (an address
    /// written in it, `localhost`). Names are resolved, and what they
    /// resolve to refused, where deliveries are made (`crate::webhooks`).
    fn check_target(&self, url: &EndpointUrl) -> Result<(), ServiceError> {
        if self.limits().webhooks.allow_private {
            return Ok(());
        }
        url.refuse_private().map_err(|refused| ServiceError::invalid("url", refused.to_string()))
    }

    /// Leases a due delivery to `owner`, with its endpoint's URL and secret:
    /// the organization served longest ago goes first, then its endpoint
    /// served longest ago; organizations in `skip` (those holding all the
    /// lanes this node gives one organization) wait. `None` when nothing is
    /// due.
    pub async fn claim_webhook_delivery(
        &self,
        owner: &str,
        skip: &[Id],
    ) -> Result<Option<ClaimedDelivery>, ServiceError> {
        let store = self.store();
        let now = self.now();
        if !store::any_due(&mut *store.read().await?, now).await? {
            return Ok(None);
        }
        let lease_until = now + self.limits().webhooks.lease.as_secs().max(1) as i64;
        let mut tx = store.begin().await?;
        let claimed = store::claim(tx.conn(), store.engine(), owner, now, lease_until, skip).await?;
        let Some(store::Claimed { delivery, org_id }) = claimed else {
            tx.commit().await?;
            return Ok(None);
        };
        let endpoint = store::endpoint_of(tx.conn(), &delivery.endpoint_id).await?;
        tx.commit().await?;
        let Some(endpoint) = endpoint else {
            return Ok(Some(ClaimedDelivery {
                delivery,
                org_id,
                url: String::new(),
                secret: SigningSecret::from_bytes(Vec::new()),
                cancelled: Some("the endpoint was deleted"),
            }));
        };
        let secret = self
            .sealing_key()
            .open(&secret_context(&endpoint.id), &endpoint.secret_sealed)
            .map(SigningSecret::from_bytes);
        // A secret that cannot be opened would fail every attempt and hold
        // the endpoint's queue: the delivery is given up on, and says why.
        let cancelled = match &secret {
            None => Some("the endpoint's signing secret cannot be read; rotate it"),
            Some(_) if endpoint.disabled => Some("the endpoint is disabled"),
            Some(_) => None,
        };
        let secret = secret.unwrap_or_else(|| SigningSecret::from_bytes(Vec::new()));
        Ok(Some(ClaimedDelivery { delivery, org_id, url: endpoint.url, secret, cancelled }))
    }

    /// Records what an attempt at a claimed delivery came to: delivered,
    /// retried later, or failed for good once it has been failing for
    /// `give_up_after`. False when the lease had run out and another worker
    /// holds the delivery now.
    ///
    /// The attempt also extends or ends its endpoint's failing streak, in
    /// the same transaction. An endpoint whose every attempt has failed for
    /// `disable_after` (and at least `disable_after_failures` times) is
    /// disabled with the reason: `webhook.disabled` in the trail, by the
    /// system, and an email to each of the organization's admins.
    pub async fn finish_webhook_delivery(
        &self,
        owner: &str,
        delivery: &WebhookDelivery,
        attempt: Attempt,
    ) -> Result<bool, ServiceError> {
        let settings = &self.limits().webhooks;
        let now = self.now();
        let attempts = delivery.attempts + 1;
        let last_error = match &attempt {
            Attempt::Failed { error, .. } => Some(error.clone()),
            _ => None,
        };
        let streak = match &attempt {
            Attempt::Delivered { .. } => Streak::Ended,
            Attempt::Failed { .. } => Streak::Extended,
            Attempt::Cancelled(_) => Streak::Untouched,
        };
        let result = match attempt {
            Attempt::Delivered { status } => AttemptResult {
                attempts,
                status: DeliveryStatus::Delivered,
                next_attempt_at: delivery.next_attempt_at,
                status_code: Some(i64::from(status)),
                error: None,
                delivered_at: Some(now),
            },
            Attempt::Cancelled(why) => AttemptResult {
                attempts: delivery.attempts,
                status: DeliveryStatus::Failed,
                next_attempt_at: delivery.next_attempt_at,
                status_code: delivery.last_status_code,
                error: Some(format!("cancelled: {why}")),
                delivered_at: None,
            },
            Attempt::Failed { status, error } => {
                let next = now + settings.wait_after(attempts);
                let give_up = next - delivery.created >= settings.give_up_after.as_secs() as i64;
                AttemptResult {
                    attempts,
                    status: if give_up { DeliveryStatus::Failed } else { DeliveryStatus::Pending },
                    next_attempt_at: if give_up { delivery.next_attempt_at } else { next },
                    status_code: status.map(i64::from),
                    error: Some(error),
                    delivered_at: None,
                }
            }
        };
        let mut tx = self.store().begin().await?;
        let recorded = store::finish_attempt(tx.conn(), &delivery.id, owner, &result).await?;
        if recorded {
            match streak {
                Streak::Ended => store::note_success(tx.conn(), &delivery.endpoint_id).await?,
                Streak::Extended => {
                    let error = last_error.unwrap_or_default();
                    self.disable_if_failing_too_long(tx.conn(), &delivery.endpoint_id, now, &error).await?;
                }
                Streak::Untouched => {}
            }
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Counts a failed attempt against the endpoint, on `conn` (the
    /// attempt's own transaction), and disables the endpoint once every
    /// attempt has failed for long enough.
    async fn disable_if_failing_too_long(
        &self,
        conn: &mut Conn,
        endpoint: &Id,
        now: UnixTime,
        last_error: &str,
    ) -> Result<(), ServiceError> {
        let settings = &self.limits().webhooks;
        let Some(e) = store::note_failure(conn, endpoint, now).await? else { return Ok(()) };
        let since = e.failing_since.unwrap_or(now);
        if e.disabled
            || now - since < settings.disable_after.as_secs() as i64
            || e.failures < settings.disable_after_failures
        {
            return Ok(());
        }
        let reason = format!(
            "every attempt failed for {} ({} attempts since {}); the last: {last_error}",
            describe_days(now - since),
            e.failures,
            clock::rfc3339(since),
        );
        if !store::disable_failing(conn, endpoint, &reason).await? {
            return Ok(());
        }
        let detail = json!({
            "reason": reason,
            "failingSince": since,
            "failures": e.failures,
            "lastError": last_error,
        });
        let system = Principal::system(e.org_id.clone());
        audit::record(conn, &system, now, Action::WebhookDisabled, Target::Webhook(endpoint), Some(&detail)).await?;
        let notice = Mail::WebhookDisabled(WebhookDisabledPayload {
            webhook_id: e.id.clone(),
            url: e.url.clone(),
            failing_since: since,
            failures: e.failures,
            last_error: last_error.to_owned(),
            disabled: now,
        });
        for admin in users::admin_emails(conn, &e.org_id).await? {
            outbox::queue(conn, &e.org_id, &admin, &notice, now).await?;
        }
        tracing::warn!(
            webhook = %e.id, org = %e.org_id, failures = e.failures, failing_since = since,
            "webhooks: an endpoint failing for days was disabled"
        );
        Ok(())
    }

    /// Queues `key.expiring` for keys expiring within `expiring_within` and
    /// `key.expired` for keys that expired in the last day, once per key
    /// (the notice and its deliveries commit together). Answers how many
    /// keys were announced.
    pub async fn scan_webhook_key_expiry(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let within = self.limits().webhooks.expiring_within.as_secs() as i64;
        let mut announced = 0;
        for (kind, event, from, to) in [
            ("expiring", Event::KeyExpiring, now, now + within),
            ("expired", Event::KeyExpired, now - EXPIRED_LOOKBACK, now),
        ] {
            let due = store::keys_to_announce(&mut *self.store().read().await?, kind, from, to, SCAN_BATCH).await?;
            for key in due {
                let mut tx = self.store().begin().await?;
                if store::record_key_notice(tx.conn(), &key.key_id, kind, now).await? {
                    let data = json!({
                        "orgId": key.org_id,
                        "keyId": key.key_id,
                        "serviceAccountId": key.account_id,
                        "name": key.key_name,
                        "expires": key.expires,
                        "actor": {"kind": ActorKind::System.as_str(), "id": null, "keyId": null},
                    });
                    enqueue_event(tx.conn(), &key.org_id, event, now, move || data).await?;
                    announced += 1;
                }
                tx.commit().await?;
            }
        }
        Ok(announced)
    }

    /// Forgets finished deliveries older than 30 days.
    pub async fn prune_webhook_deliveries(&self) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        store::prune(tx.conn(), self.now() - KEEP_DONE).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What an attempt does to its endpoint's failing streak.
#[derive(Debug, Clone, Copy)]
enum Streak {
    /// A success ends it.
    Ended,
    /// A failure extends it, or starts it.
    Extended,
    /// Nothing was sent.
    Untouched,
}

/// "5 days", "1 day", for a reason people read.
fn describe_days(seconds: i64) -> String {
    match seconds / 86_400 {
        1 => "1 day".to_owned(),
        days => format!("{days} days"),
    }
}

/// Announces a change as `event` to the organization's enabled endpoints
/// subscribed to it, on `conn`: the change's own transaction, so the
/// deliveries exist exactly when the change does. A use case calls it
/// beside `audit::record`, for the changes receivers are told of. The
/// event's data holds the organization's and the target's ids, the actor,
/// and the trail's detail of the change (which never holds a secret); the
/// ids win over a detail field of the same name.
pub(crate) async fn announce(
    conn: &mut Conn,
    by: &Principal,
    at: UnixTime,
    event: Event,
    target: Target<'_>,
    detail: Option<&Value>,
) -> Result<(), StoreError> {
    enqueue_event(conn, &by.org_id, event, at, || {
        let mut data = match detail {
            Some(Value::Object(fields)) => fields.clone(),
            _ => serde_json::Map::new(),
        };
        data.insert("orgId".into(), json!(by.org_id));
        data.insert(format!("{}Id", target.kind()), json!(target.id()));
        data.insert("actor".into(), json!({"kind": by.kind().as_str(), "id": by.actor_id(), "keyId": by.key_id()}));
        Value::Object(data)
    })
    .await
}

/// Queues `event` for every enabled endpoint of `org` subscribed to it, on
/// `conn`: the transaction of what it tells of.
async fn enqueue_event(
    conn: &mut Conn,
    org: &Id,
    event: Event,
    at: UnixTime,
    data: impl FnOnce() -> Value,
) -> Result<(), StoreError> {
    let endpoints = store::enabled_in_org(conn, org).await?;
    let subscribed: Vec<&WebhookEndpoint> = endpoints.iter().filter(|e| e.events.matches(event)).collect();
    if subscribed.is_empty() {
        return Ok(());
    }
    let body = json!({"type": event.as_str(), "timestamp": clock::rfc3339(at), "data": data()}).to_string();
    for endpoint in subscribed {
        store::enqueue(conn, &Id::generate(), &endpoint.id, event, &body, at).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_schedule_then_repeats_its_last_step() {
        let s = WebhookSettings::default();
        let waits: Vec<i64> = (1..=10).map(|a| s.wait_after(a)).collect();
        assert_eq!(waits, vec![5, 30, 120, 600, 1800, 3600, 7200, 14_400, 14_400, 14_400]);
        let total: i64 = waits.iter().sum();
        assert!(total < 24 * 3600, "retries go on for the day");
    }
}
