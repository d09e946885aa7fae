//! HTTP: the router, its middleware, and the OpenAPI document collected from
//! the handlers themselves.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::api::platform::OpenApiJson;
use self::api::{
    accounts, audit, email, identity, invitations, keys, leaks, oauth, orgs, platform, session, setup, users, webhooks,
};
use self::error::ApiError;
use crate::service::Service;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// The address people and links use to reach this server, without a
    /// trailing slash.
    pub public_url: Arc<str>,
    /// Cookies carry `Secure` and the `__Host-` prefix when the public URL
    /// is https or keyward serves TLS itself.
    pub secure_cookies: bool,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[IpNet]>,
    /// GitHub's leak reports, when `--leak-report-keys` is given.
    pub leak_reports: Option<api::leaks::SharedLeakReports>,
}

impl FromRef<AppState> for Service {
    fn from_ref(state: &AppState) -> Self {
        state.service.clone()
    }
}

/// What is served beside the API (the web app), handed in by the server:
/// this layer mounts it under its middleware and knows nothing else of it.
#[derive(Debug)]
pub struct Pages {
    pub routes: Router<AppState>,
    /// A browser's page for an address nothing serves.
    pub not_found: fn() -> Response,
}

impl AppState {
    pub fn new(service: Service, public_url: &str) -> Self {
        let public_url = public_url.trim_end_matches('/');
        Self {
            service,
            secure_cookies: public_url.starts_with("https://"),
            public_url: public_url.into(),
            trusted_proxies: Arc::new([]),
            leak_reports: None,
        }
    }

    pub fn with_leak_reports(mut self, reports: Option<api::leaks::LeakReports>) -> Self {
        self.leak_reports = reports.map(Arc::new);
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: &[IpNet]) -> Self {
        self.trusted_proxies = proxies.into();
        self
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies { auth::SECURE_SESSION_COOKIE } else { auth::SESSION_COOKIE }
    }

    pub fn csrf_cookie(&self) -> &'static str {
        if self.secure_cookies { auth::SECURE_CSRF_COOKIE } else { auth::CSRF_COOKIE }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "keyward",
        description = "Service accounts and API keys for machines. Authenticate with `Authorization: <key>`, \
                       `Authorization: Bearer <key>`, or `Authorization: Basic base64(keyId:key)` for accounts \
                       with Basic Auth enabled. Errors are RFC 9457 problem details."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "service accounts", description = "Machine identities of an organization"),
        (name = "keys", description = "A service account's API keys"),
        (name = "identity", description = "Who is calling"),
        (name = "audit", description = "The audit trail"),
        (name = "organizations"),
        (name = "leaks", description = "Revoking leaked keys"),
        (name = "users", description = "People and their roles"),
        (name = "webhooks", description = "Endpoints told of changes, signed as Standard Webhooks"),
        (name = "session", description = "The web app's sessions"),
        (name = "platform", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "The key itself, or `Bearer <key>`",
            ))),
        );
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::SESSION_COOKIE,
                "The web app's session; unsafe methods also need the X-CSRF-Token header",
            ))),
        );
    }
}

/// The API's routes and their OpenAPI document.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::create, accounts::list))
        .routes(routes!(accounts::get, accounts::update, accounts::delete))
        .routes(routes!(accounts::undelete))
        .routes(routes!(email::confirm))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::update, keys::delete))
        .routes(routes!(keys::rotate))
        .routes(routes!(keys::unused))
        .routes(routes!(identity::whoami))
        .routes(routes!(identity::verify))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::jwks))
        .routes(routes!(oauth::metadata))
        .routes(routes!(audit::list))
        .routes(routes!(orgs::list))
        .routes(routes!(orgs::update))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update, users::delete))
        .routes(routes!(invitations::list))
        .routes(routes!(invitations::accept))
        .routes(routes!(invitations::decline))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::set_password))
        .routes(routes!(setup::setup))
        .routes(routes!(platform::healthz))
        .routes(routes!(platform::readyz))
        .routes(routes!(platform::metrics))
        .routes(routes!(platform::openapi))
        // The only route with a larger body limit: a list of secrets to revoke.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(leaks::revoke))
                .routes(routes!(leaks::github))
                .layer(DefaultBodyLimit::max(leaks::MAX_BODY)),
        )
        .split_for_parts();
    let mut doc = doc;
    openapi::complete(&mut doc);
    (router, doc)
}

/// The whole HTTP application: the API, and `pages` beside it.
pub fn router(state: AppState, pages: Pages) -> Router {
    let (api, doc) = api_routes();
    let doc = doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned());
    let not_found = pages.not_found;
    api.merge(pages.routes)
        .fallback(move |method: Method, uri: Uri, headers: HeaderMap| async move {
            fallback(&method, &uri, &headers, not_found)
        })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::Extension(OpenApiJson(axum::body::Bytes::from(doc))))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .route_layer(middleware::from_fn(deadline))
        .route_layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn(rate_limit_headers))
        .layer(middleware::from_fn(harden))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal(&"a handler panicked").into_response()))
        .with_state(state)
}

/// Anything no route claims: a browser asking for a page outside the API
/// gets the pages' "not found"; everyone else, and every `/api/` path, the
/// problem+json `404`.
fn fallback(method: &Method, uri: &Uri, headers: &HeaderMap, page: fn() -> Response) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    let is_api = uri.path() == "/api" || uri.path().starts_with("/api/");
    if is_api || !wants_html || !matches!(*method, Method::GET | Method::HEAD) {
        return ApiError::not_found("route").into_response();
    }
    page()
}

/// Counts and times each request by its route template, and logs it without
/// ids, query strings or headers, where a secret could hide.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.service.metrics().request(method.as_str(), &route, status, elapsed.as_secs_f64());
    tracing::info!(%method, %route, status, micros = elapsed.as_micros() as u64, "request");
    response
}

/// No request may hang: storage that stops answering without closing its
/// connections (a network that drops packets) would otherwise hold a request
/// forever. Past this, the client gets a 503 and may retry.
const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

async fn deadline(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("a request passed its deadline; storage may be unreachable");
            ApiError::unavailable().into_response()
        }
    }
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on every
/// answer to a request whose key has a rate limit, whatever the handler
/// answered (the key check leaves the count in the request's `RateSlot`).
async fn rate_limit_headers(mut req: Request, next: Next) -> Response {
    let slot = auth::RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    rate_headers(response.headers_mut(), slot.get());
    response
}

/// A rate-limited key's standing, as `RateLimit-*` headers.
pub(crate) fn rate_headers(headers: &mut axum::http::HeaderMap, status: Option<crate::service::meter::RateStatus>) {
    if let Some(status) = status {
        headers.insert("ratelimit-limit", HeaderValue::from(status.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(status.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(status.reset));
    }
}

/// Headers every answer carries: API answers may hold a secret, so nothing is
/// cached or sniffed.
async fn harden(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}
