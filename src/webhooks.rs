//! Webhook delivery: the worker that drains the queue the service layer
//! fills in each change's own transaction, and the HTTP side of sending (the
//! Standard Webhooks headers and signature, the client that reaches no
//! private address unless allowed).
//!
//! Every serving node runs the worker: a few lanes, each claiming one due
//! delivery at a time under a lease of its own name. The claim only ever
//! offers the oldest pending delivery of an endpoint, so one endpoint's
//! deliveries arrive in order; a node killed mid-send leaves a lease that
//! runs out, and the delivery is sent again (at least once, never lost).

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::domain::Id;
use crate::domain::webhook::{EndpointUrl, is_private};
use crate::service::webhooks::{Attempt, ClaimedDelivery, WebhookSettings};
use crate::service::{Service, ServiceError};

/// Deliveries one node sends at once (to different endpoints).
const LANES: usize = 4;
/// How often finished deliveries past their keeping time are forgotten.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the worker on the current runtime; it runs until aborted.
pub fn spawn(service: Service) -> JoinHandle<()> {
    let settings = service.limits().webhooks.clone();
    tracing::info!(allow_private = settings.allow_private, "webhooks: delivering the queue");
    tokio::spawn(async move {
        let client = match client(&settings) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: no HTTP client; nothing will be delivered by this node");
                return;
            }
        };
        let mut lanes = Vec::with_capacity(LANES);
        for lane in 0..LANES {
            lanes.push(tokio::spawn(run_lane(service.clone(), client.clone(), lane == 0)));
        }
        for lane in lanes {
            let _ = lane.await;
        }
    })
}

/// Each lane sends; the first also announces keys expiring or expired, and
/// prunes.
async fn run_lane(service: Service, client: reqwest::Client, first: bool) {
    // A name of its own for the leases this lane takes.
    let owner = Id::generate().to_string();
    let mut next_prune = Instant::now();
    let mut next_scan = Instant::now();
    loop {
        if first && Instant::now() >= next_scan {
            next_scan = Instant::now() + service.limits().webhooks.scan_interval;
            if let Err(e) = service.scan_webhook_key_expiry().await {
                tracing::warn!(error = %e, "webhooks: could not look for keys expiring or expired");
            }
        }
        if first && Instant::now() >= next_prune {
            next_prune = Instant::now() + PRUNE_INTERVAL;
            if let Err(e) = service.prune_webhook_deliveries().await {
                tracing::warn!(error = %e, "webhooks: could not prune finished deliveries");
            }
        }
        loop {
            match deliver_one(&service, &client, &owner).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: the queue could not be read or updated; retrying shortly");
                    break;
                }
            }
        }
        tokio::time::sleep(service.limits().webhooks.poll_interval).await;
    }
}

/// Claims, sends and records one due delivery; false when none was due.
pub async fn deliver_one(service: &Service, client: &reqwest::Client, owner: &str) -> Result<bool, ServiceError> {
    let Some(claimed) = service.claim_webhook_delivery(owner).await? else { return Ok(false) };
    let attempt = match claimed.cancelled {
        Some(why) => Attempt::Cancelled(why),
        None => send(service, client, &claimed).await,
    };
    let d = &claimed.delivery;
    let recorded = service.finish_webhook_delivery(owner, d, attempt.clone()).await?;
    if !recorded {
        tracing::warn!(delivery = %d.id, "webhooks: the lease ran out during the attempt; another worker has it");
        return Ok(true);
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
    Ok(true)
}

/// One attempt: a signed POST of the stored body.
async fn send(service: &Service, client: &reqwest::Client, claimed: &ClaimedDelivery) -> Attempt {
    let failed = |error: String| Attempt::Failed { status: None, error };
    let url = match EndpointUrl::parse(&claimed.url) {
        Ok(url) => url,
        Err(why) => return failed(format!("the endpoint's URL is unusable: {why}")),
    };
    // The client's resolver checks names; an address written in the URL
    // never reaches it.
    if !service.limits().webhooks.allow_private {
        if let Some(ip) = url.literal_ip().filter(|ip| is_private(*ip)) {
            return failed(format!("{ip} is a loopback or private address, which webhooks may not reach"));
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
/// receiver's token in its query).
fn describe(e: reqwest::Error) -> String {
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
#[error("{0} resolves to a loopback or private address, which webhooks may not reach")]
struct PrivateTarget(String);

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
            if !allow_private && found.iter().any(|a| is_private(a.ip())) {
                return Err(Box::new(PrivateTarget(host)) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
