//! Webhook delivery: the worker that drains the queue the service layer
//! fills in each change's own transaction, and the HTTP side of sending (the
//! Standard Webhooks headers and signature, the client that reaches no
//! private address unless allowed).
//!
//! Every serving node runs the worker: one loop that claims due deliveries
//! and sends each in a lane of its own, at most `lanes` at once. The claim
//! only ever offers the oldest pending delivery of an endpoint, so one
//! endpoint's deliveries arrive in order, one attempt at a time; it serves
//! organizations in turn, and an organization holding `org_lanes` lanes of
//! this node already waits, so a slow or failing tenant holds its own lanes
//! and never the others' (each attempt ends within `timeout`). A node
//! killed mid-send leaves a lease that runs out, and the delivery is sent
//! again (at least once, never lost).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use tokio::task::JoinHandle;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::domain::Id;
use crate::domain::webhook::{EndpointUrl, PrivateTarget};
use crate::service::webhooks::{Attempt, ClaimedDelivery, WebhookSettings};
use crate::service::{Service, ServiceError};

/// How often finished deliveries past their keeping time are forgotten.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the worker on the current runtime; it runs until aborted, and
/// the attempts in flight end with it.
pub fn spawn(service: Service) -> JoinHandle<()> {
    let settings = service.limits().webhooks.clone();
    tracing::info!(
        allow_private = settings.allow_private,
        lanes = settings.lanes,
        org_lanes = settings.org_lanes,
        timeout_seconds = settings.timeout.as_secs_f64(),
        "webhooks: delivering the queue"
    );
    tokio::spawn(async move {
        let client = match client(&settings) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: no HTTP client; nothing will be delivered by this node");
                return;
            }
        };
        run(service, client).await;
    })
}

/// The node's lanes: which organization each attempt in flight is for.
#[derive(Default)]
struct Lanes {
    sending: JoinSet<()>,
    org_of: HashMap<tokio::task::Id, Id>,
    per_org: HashMap<Id, usize>,
}

impl Lanes {
    /// Organizations holding every lane one organization may hold here.
    fn full(&self, org_lanes: usize) -> Vec<Id> {
        self.per_org.iter().filter(|(_, n)| **n >= org_lanes).map(|(org, _)| org.clone()).collect()
    }

    fn start(&mut self, service: &Service, client: &reqwest::Client, owner: String, claimed: ClaimedDelivery) {
        let org = claimed.org_id.clone();
        let (service, client) = (service.clone(), client.clone());
        let task = self.sending.spawn(async move {
            if let Err(e) = attempt(&service, &client, &owner, claimed).await {
                tracing::warn!(error = %e, "webhooks: an attempt could not be recorded; its lease will run out");
            }
        });
        if let Some(org) = org {
            *self.per_org.entry(org.clone()).or_default() += 1;
            self.org_of.insert(task.id(), org);
        }
    }

    /// Gives the lane of a finished attempt back (panicked ones too).
    fn finished(&mut self, task: tokio::task::Id) {
        let Some(org) = self.org_of.remove(&task) else { return };
        if let Some(n) = self.per_org.get_mut(&org) {
            *n -= 1;
            if *n == 0 {
                self.per_org.remove(&org);
            }
        }
    }

    /// Waits until an attempt ends or `wait` passes.
    async fn rest(&mut self, wait: Duration) {
        tokio::select! {
            Some(done) = self.sending.join_next_with_id() => {
                self.finished(done.map_or_else(|e| e.id(), |(id, ())| id));
            }
            () = tokio::time::sleep(wait) => {}
        }
        while let Some(done) = self.sending.try_join_next_with_id() {
            self.finished(done.map_or_else(|e| e.id(), |(id, ())| id));
        }
    }
}

/// Claims into free lanes until none is free or nothing more may be sent,
/// rests until a lane frees or the poll interval passes, and again; beside
/// that, announces keys expiring or expired, and prunes.
async fn run(service: Service, client: reqwest::Client) {
    let settings = service.limits().webhooks.clone();
    let (lanes, org_lanes) = (settings.lanes.max(1), settings.org_lanes.max(1));
    let mut busy = Lanes::default();
    let mut next_prune = Instant::now();
    let mut next_scan = Instant::now();
    loop {
        if Instant::now() >= next_scan {
            next_scan = Instant::now() + settings.scan_interval;
            if let Err(e) = service.scan_webhook_key_expiry().await {
                tracing::warn!(error = %e, "webhooks: could not look for keys expiring or expired");
            }
        }
        if Instant::now() >= next_prune {
            next_prune = Instant::now() + PRUNE_INTERVAL;
            if let Err(e) = service.prune_webhook_deliveries().await {
                tracing::warn!(error = %e, "webhooks: could not prune finished deliveries");
            }
        }
        while busy.sending.len() < lanes {
            // A name of its own for each lease, so that an attempt whose
            // lease ran out records nothing, even if this node took the
            // delivery again.
            let owner = Id::generate().to_string();
            match service.claim_webhook_delivery(&owner, &busy.full(org_lanes)).await {
                Ok(Some(claimed)) => busy.start(&service, &client, owner, claimed),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: the queue could not be read or updated; retrying shortly");
                    break;
                }
            }
        }
        busy.rest(settings.poll_interval).await;
    }
}

/// Claims, sends and records one due delivery, here and now, whatever the
/// lanes hold; false when none was due.
pub async fn deliver_one(service: &Service, client: &reqwest::Client) -> Result<bool, ServiceError> {
    let owner = Id::generate().to_string();
    let Some(claimed) = service.claim_webhook_delivery(&owner, &[]).await? else { return Ok(false) };
    attempt(service, client, &owner, claimed).await?;
    Ok(true)
}

/// Sends a claimed delivery (unless it is cancelled) and records the
/// attempt.
async fn attempt(
    service: &Service,
    client: &reqwest::Client,
    owner: &str,
    claimed: ClaimedDelivery,
) -> Result<(), ServiceError> {
    let attempt = match claimed.cancelled {
        Some(why) => Attempt::Cancelled(why),
        None => send(service, client, &claimed).await,
    };
    let d = &claimed.delivery;
    let recorded = service.finish_webhook_delivery(owner, d, attempt.clone()).await?;
    if !recorded {
        tracing::warn!(delivery = %d.id, "webhooks: the lease ran out during the attempt; another worker has it");
        return Ok(());
    }
    match attempt {
        Attempt::Delivered { status } => {
            tracing::info!(delivery = %d.id, endpoint = %d.endpoint_id, event = %d.event_type, status, "webhooks: delivered");
        }
        Attempt::Failed { status, error } => tracing::info!(
            delivery = %d.id, endpoint = %d.endpoint_id, event = %d.event_type, attempts = d.attempts + 1,
            status, error = %error, "webhooks: attempt failed"
        ),
        Attempt::Cancelled(why) => {
            tracing::info!(delivery = %d.id, endpoint = %d.endpoint_id, reason = why, "webhooks: not sent");
        }
    }
    Ok(())
}

/// One attempt: a signed POST of the stored body.
async fn send(service: &Service, client: &reqwest::Client, claimed: &ClaimedDelivery) -> Attempt {
    let failed = |error: String| Attempt::Failed { status: None, error };
    let url = match EndpointUrl::parse(&claimed.url) {
        Ok(url) => url,
        Err(why) => return failed(format!("the endpoint's URL is unusable: {why}")),
    };
    // The client's resolver checks names; an address written in the URL
    // never reaches it, so it is checked here.
    if !service.limits().webhooks.allow_private {
        if let Some(ip) = url.literal_ip() {
            if let Err(refused) = PrivateTarget::check(&url.host_and_port().0, [ip]) {
                return failed(refused.to_string());
            }
        }
    }
    let d = &claimed.delivery;
    let timestamp = service.now();
    let signature = claimed.secret.sign(d.id.as_str(), timestamp, d.payload.as_bytes());
    let sent = client
        .post(url.url().clone())
        .header(CONTENT_TYPE, "application/json")
        .header("webhook-id", d.id.as_str())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone())
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => Attempt::Delivered { status: res.status().as_u16() },
        Ok(res) => {
            let status = res.status();
            Attempt::Failed { status: Some(status.as_u16()), error: format!("the endpoint answered {status}") }
        }
        Err(e) => failed(describe(e)),
    }
}

/// A failed request's cause chain, without its URL (which may carry a
/// receiver's token in its query); or, when the resolver refused the
/// addresses the name led to, that refusal alone.
fn describe(e: reqwest::Error) -> String {
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<PrivateTarget>() {
            return refused.to_string();
        }
        source = s.source();
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut parts = vec![what.to_owned()];
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The delivery client: no redirects followed, no proxy from the
/// environment (it would hide the target's address), a deadline per
/// attempt, and a resolver that refuses private addresses unless allowed;
/// the addresses it checks are the ones connected to, so a name cannot
/// resolve to a public address for the check and a private one for the
/// connection.
pub fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("keyward-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { allow_private: settings.allow_private }))
        .build()
}

struct GuardedResolver {
    allow_private: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} does not resolve")]
struct NoAddress(String);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(Box::new(NoAddress(host)) as Box<dyn StdError + Send + Sync>);
            }
            if !allow_private {
                PrivateTarget::check(&host, found.iter().map(SocketAddr::ip))
                    .map_err(|refused| Box::new(refused) as Box<dyn StdError + Send + Sync>)?;
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
