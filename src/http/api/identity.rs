//! "Who is calling?": `whoami` for clients, `verify` for gateways.

use axum::Json;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::OrgQuery;
use crate::domain::Role;
use crate::http::auth::{Caller, KeyCaller};
use crate::http::error::Problem;
use crate::service::{Actor, Principal};

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
            kind: p.kind().to_owned(),
            id: p.actor_id().map(ToString::to_string).unwrap_or_default(),
            org_id: p.org_id.to_string(),
            role: p.role,
            key_id: p.key_id().map(ToString::to_string),
            email: match &p.actor {
                Actor::User { email, .. } => Some(email.clone()),
                _ => None,
            },
        }
    }
}

/// Who am I?
///
/// Any authenticated caller.
#[utoipa::path(
    operation_id = "whoami", get, path = "/api/service-account/v1/whoami", tag = "identity", params(OrgQuery),
    responses(
        (status = 200, description = "The caller", body = WhoAmI),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn whoami(Caller(p): Caller) -> Json<WhoAmI> {
    Json(WhoAmI::from(&p))
}

pub const SERVICE_ACCOUNT_HEADER: &str = "x-keyward-service-account-id";
pub const ORG_HEADER: &str = "x-keyward-org-id";
pub const ROLE_HEADER: &str = "x-keyward-role";
pub const KEY_HEADER: &str = "x-keyward-key-id";

/// Verify a request's credentials (for gateways).
///
/// For nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`:
/// `200` with `X-Keyward-Service-Account-Id`, `X-Keyward-Org-Id`,
/// `X-Keyward-Role` and `X-Keyward-Key-Id`, or `401`. Any method is accepted,
/// since some gateways forward the original one. API keys and access tokens
/// only: the web app's session cookie is never a machine's credential.
#[utoipa::path(
    operation_id = "verify", method(get, post, put, patch, delete), path = "/api/auth/v1/verify", tag = "identity", params(OrgQuery),
    responses(
        (status = 200, description = "Valid; the caller is in the X-Keyward-* headers", body = WhoAmI,
         headers(
            ("X-Keyward-Service-Account-Id" = String, description = "The service account"),
            ("X-Keyward-Org-Id" = String, description = "Its organization"),
            ("X-Keyward-Role" = String, description = "Its role"),
            ("X-Keyward-Key-Id" = String, description = "The key used"),
         )),
        (status = 401, description = "No valid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts from this client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []))
)]
pub async fn verify(KeyCaller(p): KeyCaller) -> Response {
    let who = WhoAmI::from(&p);
    let mut headers = vec![(ORG_HEADER, who.org_id.clone()), (ROLE_HEADER, who.role.to_string())];
    match who.kind.as_str() {
        "serviceAccount" => headers.push((SERVICE_ACCOUNT_HEADER, who.id.clone())),
        _ => headers.push(("x-keyward-user-id", who.id.clone())),
    }
    if let Some(key) = &who.key_id {
        headers.push((KEY_HEADER, key.clone()));
    }
    let mut response = Json(who).into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    response
}
