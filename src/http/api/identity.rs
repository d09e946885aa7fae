//! "Who is calling?": `whoami` for clients, `verify` for gateways.

use axum::Json;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Actor, Id, Meta, Role, Scope};
use crate::http::auth::{Caller, KeyCaller};
use crate::http::error::Problem;
use crate::service::Principal;

/// The caller as keyward sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// `serviceAccount` or `user`.
    pub kind: String,
    /// The service account's id, or the user's id in this organization (as
    /// its user listing shows it).
    pub id: String,
    pub org_id: String,
    pub role: Role,
    /// The key that authenticated the request; null for users.
    pub key_id: Option<String>,
    /// The user's email; null for service accounts.
    pub email: Option<String>,
}

impl From<&Principal> for WhoAmI {
    fn from(p: &Principal) -> Self {
        Self {
            kind: p.kind().as_str().to_owned(),
            id: p.actor_id().map(ToString::to_string).unwrap_or_default(),
            org_id: p.org_id.to_string(),
            role: p.role,
            key_id: p.key_id().map(ToString::to_string),
            email: match &p.actor {
                Actor::User { email, .. } => Some(email.to_string()),
                _ => None,
            },
        }
    }
}

/// Who am I?
///
/// Any authenticated caller.
#[utoipa::path(
    operation_id = "whoami", get, path = "/api/service-account/v1/whoami", tag = "identity",
    responses((status = 200, description = "The caller", body = WhoAmI)),
)]
pub async fn whoami(Caller(p): Caller) -> Json<WhoAmI> {
    Json(WhoAmI::from(&p))
}

pub const SERVICE_ACCOUNT_HEADER: &str = "x-keyward-service-account-id";
pub const ORG_HEADER: &str = "x-keyward-org-id";
pub const ROLE_HEADER: &str = "x-keyward-role";
pub const KEY_HEADER: &str = "x-keyward-key-id";
pub const SCOPES_HEADER: &str = "x-keyward-scopes";

/// A gateway's answer: who is calling, and what the key allows. Borrowed
/// from the key check's result: it is built on every gateway request.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyView<'a> {
    /// Always true: a refused key gets a problem instead.
    pub valid: bool,
    #[schema(value_type = String)]
    pub service_account_id: &'a Id,
    #[schema(value_type = String)]
    pub org_id: &'a Id,
    /// The effective role: the lesser of the key's and its account's.
    pub role: Role,
    #[schema(value_type = String)]
    pub key_id: &'a Id,
    /// The key's scopes; empty when it has none.
    #[schema(value_type = Vec<String>)]
    pub scopes: &'a [Scope],
    /// The key's `meta`, as it was set.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<&'a Meta>,
    /// The key's rate-limit count after this use; null when it has no rate limit.
    pub rate_limit: Option<RateLimitCount>,
}

/// Where a rate-limited key stands after a use.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimitCount {
    /// Uses allowed per period.
    pub limit: u32,
    /// Uses left in the current window.
    pub remaining: u32,
    /// Seconds until the oldest use in the window leaves it.
    pub reset: u64,
}

/// Verify a request's credentials (for gateways).
///
/// For nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`:
/// `200` with `X-Keyward-Service-Account-Id`, `X-Keyward-Org-Id`,
/// `X-Keyward-Role`, `X-Keyward-Key-Id` and `X-Keyward-Scopes`, or a refusal.
/// Any method is accepted, since some gateways forward the original one.
/// API keys and access tokens only: the web app's session cookie is never a
/// machine's credential. `?scope=a&scope=b` requires every scope named. A key
/// limited to address ranges is judged by the client's address (the one a
/// trusted proxy forwards). A rate-limited key's answers carry
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
#[utoipa::path(
    operation_id = "verify", method(get, post, put, patch, delete), path = "/api/auth/v1/verify", tag = "identity",
    params(
        ("scope" = Option<Vec<String>>, Query, description = "A scope the key must hold; repeat for several", explode = true,
         pattern = "^[a-z0-9][a-z0-9_.:-]{0,63}$"),
    ),
    responses(
        (status = 200, description = "Valid; the caller is in the X-Keyward-* headers and the body", body = VerifyView,
         headers(
            ("X-Keyward-Service-Account-Id" = String, description = "The service account"),
            ("X-Keyward-Org-Id" = String, description = "Its organization"),
            ("X-Keyward-Role" = String, description = "The key's effective role"),
            ("X-Keyward-Key-Id" = String, description = "The key used"),
            ("X-Keyward-Scopes" = String, description = "The key's scopes, space-separated"),
            ("RateLimit-Limit" = u32, description = "For a rate-limited key: uses allowed per period"),
            ("RateLimit-Remaining" = u32, description = "For a rate-limited key: uses left in the window"),
            ("RateLimit-Reset" = u64, description = "For a rate-limited key: seconds until a use frees up"),
         )),
        (status = 400, description = "A scope parameter no key could hold", body = Problem),
        (status = 401, description = "No valid credentials, or a key used from outside its allowed ranges", body = Problem),
        (status = 403, description = "A valid key lacking a required scope (`field`: scope)", body = Problem),
        (status = 429, description = "Too many failed attempts from this client, or the key's rate limit is used up (with Retry-After)", body = Problem),
    ),
    security(("apiKey" = []), ("basic" = []))
)]
pub async fn verify(caller: KeyCaller) -> Response {
    let KeyCaller { principal: p, key, rate } = caller;
    let view = VerifyView {
        valid: true,
        service_account_id: &key.account_id,
        org_id: &p.org_id,
        role: p.role,
        key_id: &key.key_id,
        scopes: &key.narrowing.scopes,
        meta: key.narrowing.meta.as_ref(),
        rate_limit: rate.map(|r| RateLimitCount { limit: r.limit, remaining: r.remaining, reset: r.reset }),
    };
    // Sized for the answer and its headers at once: growing either on the
    // way is a reallocation on every gateway request.
    let mut body = Vec::with_capacity(512);
    if let Err(err) = serde_json::to_writer(&mut body, &view) {
        return crate::http::error::ApiError::internal(&err).into_response();
    }
    let mut response = Response::new(axum::body::Body::from(body));
    let headers = response.headers_mut();
    headers.reserve(16);
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in [
        (SERVICE_ACCOUNT_HEADER, key.account_id.as_str()),
        (ORG_HEADER, p.org_id.as_str()),
        (ROLE_HEADER, p.role.as_str()),
        (KEY_HEADER, key.key_id.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&key.narrowing.scope_string()) {
        headers.insert(HeaderName::from_static(SCOPES_HEADER), value);
    }
    response
}
