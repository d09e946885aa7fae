//! Prometheus metrics: requests by route and status, latency,
//! authentication outcomes by reason, and the mail outbox. One registry per service, no globals,
//! so that servers started side by side in tests count separately.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    // Static: a label set is built for every request's outcome, and an
    // owned string would be an allocation each time.
    outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    auth: Family<OutcomeLabels, Counter>,
    lifecycle: Family<OutcomeLabels, Counter>,
    mail: Family<MailLabels, Counter>,
    mail_oldest: Gauge,
    throttle_subjects: Gauge,
    open_connections: Gauge,
    rate_limit: Family<OutcomeLabels, Counter>,
    credential_lookups: Family<OutcomeLabels, Counter>,
    credential_feed: Gauge,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MailLabels {
    event: String,
}

/// What can happen to an outbox message; each is counted from zero.
pub const MAIL_EVENTS: [&str; 5] = ["queued", "sent", "retried", "failed", "cancelled"];

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let auth = Family::<OutcomeLabels, Counter>::default();
        let lifecycle = Family::<OutcomeLabels, Counter>::default();
        let mut registry = Registry::with_prefix("keyward");
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register("auth_attempts", "Credential checks by outcome (ok or the reason for refusal)", auth.clone());
        registry.register("key_lifecycle_events", "Key lifecycle events by kind", lifecycle.clone());
        let mail = Family::<MailLabels, Counter>::default();
        for event in MAIL_EVENTS {
            let _ = mail.get_or_create(&MailLabels { event: event.to_owned() });
        }
        let mail_oldest = Gauge::default();
        registry.register(
            "mail_messages",
            "Outbox messages by event: queued, sent, retried (an attempt failed), failed (given up), cancelled",
            mail.clone(),
        );
        registry.register(
            "mail_oldest_undelivered_age_seconds",
            "Age of the oldest message still waiting for delivery (0 when none)",
            mail_oldest.clone(),
        );
        let throttle_subjects = Gauge::default();
        registry.register(
            "throttle_subjects",
            "Addresses, key ids and login emails whose failures are being counted",
            throttle_subjects.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "http_open_connections",
            "Client connections open now; at --max-connections new ones wait in the OS backlog",
            open_connections.clone(),
        );
        let rate_limit = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "rate_limited_uses",
            "Uses of rate-limited keys: allowed, limited (429), redis_error (decided by --rate-limit-on-error)",
            rate_limit.clone(),
        );
        let credential_lookups = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "credential_lookups",
            "Keys looked up in storage because this node's cache did not know them: found or absent",
            credential_lookups.clone(),
        );
        let credential_feed = Gauge::default();
        registry.register(
            "credential_feed_position",
            "The last credential change this node has applied (-1 before it first read the feed); equal on every node once they caught up",
            credential_feed.clone(),
        );
        Self {
            registry: Arc::new(registry),
            requests,
            latency,
            auth,
            lifecycle,
            mail,
            mail_oldest,
            throttle_subjects,
            open_connections,
            rate_limit,
            credential_lookups,
            credential_feed,
        }
    }
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { method: method.to_owned(), route: route.to_owned(), status })
            .inc();
        self.latency.get_or_create(&RouteLabels { route: route.to_owned() }).observe(seconds);
    }

    pub fn auth_outcome(&self, outcome: &'static str) {
        self.auth.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// One use of a rate-limited key: `allowed`, `limited` or `redis_error`.
    pub fn rate_limit(&self, outcome: &'static str) {
        self.rate_limit.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// A key looked up in storage: `found` or `absent`.
    pub fn credential_lookup(&self, result: &'static str) {
        self.credential_lookups.get_or_create(&OutcomeLabels { outcome: result }).inc();
    }

    pub fn credential_feed_position(&self, n: i64) {
        self.credential_feed.set(n);
    }

    pub fn lifecycle(&self, event: &'static str) {
        self.lifecycle.get_or_create(&OutcomeLabels { outcome: event }).inc();
    }

    /// One outbox event, one of [`MAIL_EVENTS`].
    pub fn mail(&self, event: &str) {
        self.mail.get_or_create(&MailLabels { event: event.to_owned() }).inc();
    }

    pub fn mail_oldest_undelivered(&self, age_seconds: i64) {
        self.mail_oldest.set(age_seconds.max(0));
    }

    pub fn throttle_subjects(&self, tracked: u64) {
        self.throttle_subjects.set(i64::try_from(tracked).unwrap_or(i64::MAX));
    }

    pub fn connection_opened(&self) {
        self.open_connections.inc();
    }

    pub fn connection_closed(&self) {
        self.open_connections.dec();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
