//! `/api/leak/v1`: revoking leaked keys. No credentials: holding a key's
//! secret is the right to revoke it, and GitHub's reports are proven by
//! their signature.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::domain::leak_report::ReportKeys;
use crate::http::AppState;
use crate::http::auth::ClientIp;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::JsonBody;
use crate::service::leaks::{LeakAction, LeakSource, LeakedSecret, MAX_SECRETS};

/// The largest body these endpoints take: room for `MAX_SECRETS` secrets
/// with their JSON quoting, which the API's usual 64 KiB is not.
pub const MAX_BODY: usize = 128 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeSecrets {
    /// Up to 1,000 secrets (`kw_…`) to revoke.
    #[schema(required = true)]
    secrets: Option<Vec<String>>,
}

/// Revoke leaked keys.
///
/// No credentials. Disables every live key whose secret is given, and
/// answers `202` whatever the secrets are (junk, unknown or already revoked
/// alike), so that the answer tells nothing. Each secret counts against the
/// client's address like a failed credential: past the limit, `429` for the
/// calls after. Lookups are also bounded node-wide: past that, `503` with
/// `Retry-After`.
#[utoipa::path(
    operation_id = "revokeLeakedSecrets", post, path = "/api/leak/v1/revoke", tag = "leaks",
    request_body = RevokeSecrets,
    responses(
        (status = 202, description = "Accepted: every live key among the secrets is disabled"),
        (status = 413, description = "The body is over 128 KiB", body = Problem),
        (status = 422, description = "Not a list of at most 1,000 strings", body = Problem),
        (status = 429, description = "Too many secrets from this address", body = Problem),
        (status = 503, description = "Too many secrets from everyone this second; retry after Retry-After", body = Problem),
    ),
    security(())
)]
pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    body: Result<JsonBody<RevokeSecrets>, ApiError>,
) -> Result<StatusCode, ApiError> {
    // An unauthenticated endpoint that takes guesses is throttled like
    // failed credentials: the call counts before anything else (junk bodies
    // included), and a call past the limit is refused.
    if let Some(wait) = state.service.note_failure(client, None) {
        return Err(ApiError::too_many_requests(wait));
    }
    let JsonBody(body) = body?;
    let secrets = body.secrets.ok_or_else(|| ApiError::invalid_field("secrets", "secrets is required"))?;
    if secrets.len() > MAX_SECRETS {
        return Err(ApiError::invalid_field("secrets", format!("at most {MAX_SECRETS} secrets per request")));
    }
    // Each further secret is one more guess: a call of many is answered, and
    // leaves its address as throttled as that many calls would.
    if secrets.len() > 1 {
        state.service.note_failures(client, None, (secrets.len() - 1) as u32);
    }
    state.service.revoke_leaked(&secrets, client.map(|ip| ip.to_string())).await?;
    Ok(StatusCode::ACCEPTED)
}

/// What this node does with GitHub's reports: the keys they must be signed
/// with, and what a reported live key gets.
#[derive(Debug, Clone)]
pub struct LeakReports {
    pub keys: ReportKeys,
    pub action: LeakAction,
}

/// One token GitHub found, in its secret-scanning partner format.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportedToken {
    pub token: String,
    #[serde(rename = "type")]
    pub token_type: Option<String>,
    /// Where GitHub found it.
    pub url: Option<String>,
    /// What kind of place it was found in (`content`, `commit`, …).
    pub source: Option<String>,
}

/// GitHub's feedback format, one entry per reported token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenFeedback {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub token_type: Option<String>,
    /// `true_positive` for a live keyward key, else `false_positive`.
    pub label: &'static str,
}

const SIGNATURE: &str = "github-public-key-signature";
const KEY_IDENTIFIER: &str = "github-public-key-identifier";

/// Report leaked keys (GitHub secret scanning).
///
/// GitHub's secret-scanning partner endpoint: a JSON array of `{"token",
/// "type", "url", "source"}` signed (ECDSA P-256, SHA-256, base64 DER in
/// `Github-Public-Key-Signature`) by the key named in
/// `Github-Public-Key-Identifier`, one of `--leak-report-keys`. A missing or
/// bad signature is `401` and changes nothing; without `--leak-report-keys`
/// the endpoint does not exist (`404`). Each live key is disabled (or, with
/// `--leak-action notify`, only recorded) and audited as `key.leaked`.
#[utoipa::path(
    operation_id = "reportLeakedTokens", post, path = "/api/leak/v1/github", tag = "leaks",
    request_body = Vec<ReportedToken>,
    responses(
        (status = 200, description = "GitHub's feedback: each token a true or false positive", body = Vec<TokenFeedback>),
        (status = 401, description = "Missing or bad signature", body = Problem),
        (status = 404, description = "Leak reports are not configured", body = Problem),
        (status = 413, description = "The body is over 128 KiB", body = Problem),
        (status = 422, description = "Not GitHub's format, or more than 1,000 tokens", body = Problem),
    ),
    security(())
)]
pub async fn github(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<TokenFeedback>>, ApiError> {
    let Some(reports) = state.leak_reports.as_deref() else { return Err(ApiError::not_found("resource")) };
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large()
        } else {
            ApiError::malformed_body("the body could not be read")
        }
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = match (header(KEY_IDENTIFIER), header(SIGNATURE)) {
        (Some(id), Some(signature)) => reports.keys.verify(id, signature, &body),
        _ => false,
    };
    if !signed {
        // A forged report is a failed credential like any other.
        if let Some(wait) = state.service.note_failure(client, None) {
            return Err(ApiError::too_many_requests(wait));
        }
        return Err(ApiError::unauthorized());
    }
    let tokens: Vec<ReportedToken> = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body))
        .map_err(|e| ApiError::invalid_field(e.path().to_string(), "not GitHub's secret-scanning format"))?;
    if tokens.len() > MAX_SECRETS {
        return Err(ApiError::invalid_field("body", format!("at most {MAX_SECRETS} tokens per report")));
    }
    let reported: Vec<LeakedSecret> = tokens
        .iter()
        .map(|t| LeakedSecret { secret: t.token.clone(), url: t.url.clone(), found_in: t.source.clone() })
        .collect();
    let client = client.map(|ip| ip.to_string());
    let digest: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    let live = state.service.report_leaks(&reported, LeakSource::GitHub, reports.action, Some(&digest), client).await?;
    let feedback = tokens
        .into_iter()
        .zip(live)
        .map(|(t, live)| TokenFeedback {
            token_hash: Sha256::digest(t.token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect(),
            token_type: t.token_type,
            label: if live { "true_positive" } else { "false_positive" },
        })
        .collect();
    Ok(Json(feedback))
}

/// For `AppState`: shared, read-only.
pub type SharedLeakReports = Arc<LeakReports>;
