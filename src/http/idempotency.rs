//! `Idempotency-Key` on the calls that create: a client that lost an answer
//! retries with the same key and body and gets the first answer back, never a
//! second account or key (`service::idempotency` keeps the answers).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::auth::{Proven, Who, parse_authorization, single_cookie};
use super::error::ApiError;
use super::extract::MAX_BODY;
use crate::service::ServiceError;
use crate::service::auth::Credential;
use crate::service::idempotency::{Claim, IdempotencyScope, ReplayGuard};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer that repeats the first one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;
/// Answers kept for replay are small JSON documents; anything larger is
/// passed through unkept.
const MAX_KEPT_ANSWER: usize = 256 * 1024;

/// The routes whose `POST` creates something.
pub const ROUTES: &[&str] = &[
    "/api/service-account/v1/service-account",
    "/api/service-account/v1/service-account/{id}/key",
    "/api/service-account/v1/service-account/{id}/key/{key-id}/rotate",
    "/api/user/v1/user",
];

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let creating = req.method() == Method::POST
        && req.extensions().get::<MatchedPath>().is_some_and(|p| ROUTES.contains(&p.as_str()));
    let Some(raw_key) = req.headers().get(HEADER).filter(|_| creating) else {
        return next.run(req).await;
    };
    let Some(key) = raw_key
        .to_str()
        .ok()
        .filter(|k| (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
    else {
        return ApiError::bad_request("Idempotency-Key", "must be 1 to 255 visible ASCII characters").into_response();
    };
    let (mut parts, body) = req.into_parts();
    // Authenticate first, as the handler would: nobody else can make the
    // server keep anything.
    let identity = match Who::from_request_parts(&mut parts, &state).await {
        // The handler takes this identity rather than checking the
        // credential again (which would count a rate-limited use twice).
        Ok(Who(identity)) => {
            parts.extensions.insert(Proven(identity.clone()));
            identity
        }
        Err(refused) => return refused.into_response(),
    };
    let Some(material) = credential_material(&parts.headers, &state) else {
        return ApiError::unauthorized().into_response();
    };
    let scope = IdempotencyScope::of_credential(&material);
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return ApiError::payload_too_large().into_response();
    };
    let fingerprint = request_fingerprint(&parts, &bytes);
    match state.service.claim_idempotency_key(&scope, &key, &fingerprint).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Claim::Mismatch) => ApiError::invalid_field(
            "Idempotency-Key",
            "this key was used for another request (method, path, query or body); use a new key for a new request",
        )
        .into_response(),
        Ok(Claim::InProgress) => ApiError::in_progress("Idempotency-Key").into_response(),
        Ok(Claim::Replay { status, body, guard }) => {
            // Authorized afresh: the caller must still be allowed this call,
            // in that organization, with that role.
            let allowed =
                guard.ok_or_else(|| ServiceError::forbidden("this answer cannot be repeated")).and_then(|g| {
                    let org = g.org().ok_or_else(|| ServiceError::forbidden("this answer cannot be repeated"))?;
                    let p = identity.pin(Some(org), None)?;
                    state.service.authorize_replay(&p, &g)
                });
            if let Err(refused) = allowed {
                return ApiError::from(refused).into_response();
            }
            let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            response
        }
        Ok(Claim::Fresh) => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            if !response.status().is_success() {
                if let Err(e) = state.service.release_idempotency_key(&scope, &key).await {
                    tracing::warn!(error = %e, "could not release an idempotency key; it frees itself within a minute");
                }
                return response;
            }
            let (mut answer, body) = response.into_parts();
            let Ok(body) = to_bytes(body, MAX_KEPT_ANSWER).await else {
                return ApiError::internal(&"an answer to keep was too large").into_response();
            };
            let Some(guard) = answer.extensions.remove::<ReplayGuard>() else {
                // A creating route that says nothing of what a replay needs:
                // its answer is not kept, so no replay can skip a check.
                tracing::error!("a created answer carries no replay guard; not kept");
                if let Err(e) = state.service.release_idempotency_key(&scope, &key).await {
                    tracing::warn!(error = %e, "could not release an idempotency key; it frees itself within a minute");
                }
                return Response::from_parts(answer, Body::from(body));
            };
            if let Err(e) =
                state.service.finish_idempotency_key(&scope, &key, answer.status.as_u16(), &body, &guard).await
            {
                tracing::warn!(error = %e, "could not keep an idempotent answer; a retry will be told it is in progress");
            }
            answer.headers.insert(REPLAYED_HEADER, HeaderValue::from_static("false"));
            Response::from_parts(answer, Body::from(body))
        }
    }
}

/// The secret the caller proved itself with: a key's secret however it was
/// presented (raw, Bearer, Basic), an access token, or the session token.
fn credential_material(headers: &axum::http::HeaderMap, state: &AppState) -> Option<Vec<u8>> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return match parse_authorization(value.to_str().ok()?).ok()? {
            Credential::Key(secret) | Credential::Basic { secret, .. } => Some(secret.expose().as_bytes().to_vec()),
            Credential::AccessToken(token) => Some(token.into_bytes()),
        };
    }
    single_cookie(headers, state.session_cookie()).map(|t| t.as_bytes().to_vec())
}

fn request_fingerprint(parts: &axum::http::request::Parts, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
