//! `/api/session/v1/setup`: the first run's one-time link becomes the first
//! organization, its admin, and that admin's session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use super::session::{SessionView, session_response};
use crate::domain::{Email, Token};
use crate::http::AppState;
use crate::http::auth::ClientIp;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{JsonBody, required_name};
use crate::service::setup::FirstAdmin;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Setup {
    /// The token from the setup link the server logged on its first start.
    #[schema(required = true)]
    token: Option<String>,
    /// The first organization's name.
    #[schema(required = true, example = "Acme")]
    org_name: Option<String>,
    /// The first admin's email, used to log in.
    #[schema(required = true, example = "admin@acme.example")]
    email: Option<String>,
    /// At least 12 characters.
    #[schema(required = true)]
    password: Option<String>,
}

fn required(field: &'static str, value: Option<String>) -> Result<String, ApiError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| ApiError::invalid_field(field, "is required"))
}

/// Create the first organization and admin.
///
/// Anyone holding the one-time link that `keyward serve` logs while the
/// database has no users. Creates both in one transaction, uses up the link
/// and logs the admin in (the same cookies as a login). `422` names `token`
/// when the link is unknown, used or expired (or users exist by now), or the
/// field at fault.
#[utoipa::path(
    operation_id = "setup", post, path = "/api/session/v1/setup", tag = "session", request_body = Setup,
    responses(
        (status = 201, description = "Created and logged in", body = SessionView),
        (status = 422, description = "A field is wrong, or the link no longer works", body = Problem),
    ),
    security(())
)]
pub async fn setup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<Setup>,
) -> Result<Response, ApiError> {
    let token = Token::from_client(&required("token", body.token)?);
    let org_name = required_name("orgName", body.org_name)?;
    let email = required("email", body.email)?;
    let email = Email::parse(&email).map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
    let password = required("password", body.password)?;
    let done = state
        .service
        .complete_setup(&token, FirstAdmin { org_name, email, password }, ip.map(|ip| ip.to_string()))
        .await?;
    tracing::info!(org = %done.org.id, "first-run setup completed; the setup link no longer works");
    let mut response = session_response(&state, &done.session);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}
