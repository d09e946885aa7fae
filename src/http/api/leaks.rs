//! `/api/leak/v1`: revoking leaked keys. No credentials: holding a key's
//! secret is the right to revoke it.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::auth::ClientIp;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{Body, JsonBody};
use crate::service::leaks::{LeakSource, MAX_SECRETS};

/// The largest body these endpoints take: room for `MAX_SECRETS` secrets
/// with their JSON quoting, which the API's usual 64 KiB is not.
pub const MAX_BODY: usize = 128 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeSecrets {
    /// Up to 1,000 secrets (`kw_…`) to revoke.
    #[schema(required = true)]
    secrets: Option<Vec<String>>,
}

impl Body for RevokeSecrets {
    const FIELDS: &'static [&'static str] = &["secrets"];
}

/// Revoke leaked keys.
///
/// No credentials. Disables every live key whose secret is given, and
/// answers `202` whatever the secrets are (junk, unknown or already revoked
/// alike), so that the answer tells nothing. Each call counts against the
/// client's address like a failed credential: past the limit, `429`.
#[utoipa::path(
    operation_id = "revokeLeakedSecrets", post, path = "/api/leak/v1/revoke", tag = "leaks",
    request_body = RevokeSecrets,
    responses(
        (status = 202, description = "Accepted: every live key among the secrets is disabled"),
        (status = 413, description = "The body is over 128 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a list of at most 1,000 strings", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many calls from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    body: Result<JsonBody<RevokeSecrets>, ApiError>,
) -> Result<StatusCode, ApiError> {
    // Counted before anything else, junk bodies included: an unauthenticated
    // endpoint that takes guesses is throttled like failed credentials.
    if let Some(wait) = state.service.note_failure(client, None) {
        return Err(ApiError::too_many_requests(wait));
    }
    let JsonBody(body) = body?;
    let secrets = body.secrets.ok_or_else(|| ApiError::invalid_field("secrets", "secrets is required"))?;
    if secrets.len() > MAX_SECRETS {
        return Err(ApiError::invalid_field("secrets", format!("at most {MAX_SECRETS} secrets per request")));
    }
    state.service.revoke_leaked(&secrets, LeakSource::SelfRevocation, client.map(|ip| ip.to_string())).await?;
    Ok(StatusCode::ACCEPTED)
}
