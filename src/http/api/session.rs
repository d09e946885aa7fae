//! `/api/session/v1`: the web app's sessions (an HttpOnly cookie plus a CSRF
//! token for unsafe calls), and setting a password from a one-time link.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Token, UnixTime};
use crate::http::AppState;
use crate::http::auth::{ClientIp, Who, single_cookie};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::JsonBody;
use crate::service::users::{LoginOutcome, SESSION_LIFETIME, Session};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(required = true)]
    email: Option<String>,
    #[schema(required = true)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user_id: String,
    /// Unix seconds.
    pub expires: UnixTime,
    /// Send as `X-CSRF-Token` on every unsafe call made with the cookie.
    pub csrf_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The token from the invitation's link (`/set-password?token=`).
    #[schema(required = true)]
    token: Option<String>,
    /// At least 12 characters.
    #[schema(required = true)]
    password: Option<String>,
}

fn required(field: &'static str, value: Option<String>) -> Result<String, ApiError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| ApiError::invalid_field(field, "is required"))
}

fn set_cookie(headers: &mut HeaderMap, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(SET_COOKIE, v);
    }
}

/// Log in.
///
/// Sets the session cookie (HttpOnly, SameSite=Strict, Secure under https)
/// and a CSRF cookie readable by the app. `401` for a wrong email or password.
#[utoipa::path(
    operation_id = "login", post, path = "/api/session/v1/login", tag = "session", request_body = Login,
    responses(
        (status = 200, description = "Logged in", body = SessionView),
        (status = 401, description = "Wrong email or password", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    ),
    security(())
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let email = required("email", body.email)?;
    let password = required("password", body.password)?;
    let session = match state.service.login(&email, password, ip).await? {
        LoginOutcome::Session(session) => session,
        LoginOutcome::Refused => return Err(ApiError::unauthorized()),
        LoginOutcome::Throttled(wait) => return Err(ApiError::too_many_requests(wait)),
    };
    Ok(session_response(&state, &session))
}

/// The answer that opens a session: the cookies and the CSRF token.
pub(crate) fn session_response(state: &AppState, session: &Session) -> Response {
    let csrf = session.token.derived("csrf");
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let (session_cookie, csrf_cookie) = (state.session_cookie(), state.csrf_cookie());
    let max_age = SESSION_LIFETIME.as_secs();
    let mut response =
        Json(SessionView { user_id: session.user_id.to_string(), expires: session.expires, csrf_token: csrf.clone() })
            .into_response();
    let headers = response.headers_mut();
    set_cookie(
        headers,
        format!(
            "{session_cookie}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
            session.token.expose()
        ),
    );
    set_cookie(headers, format!("{csrf_cookie}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}"));
    response
}

/// Log out.
///
/// Ends the session and clears its cookies.
#[utoipa::path(
    operation_id = "logout", post, path = "/api/session/v1/logout", tag = "session",
    responses((status = 204, description = "Logged out")),
    security(("session" = []))
)]
pub async fn logout(State(state): State<AppState>, _who: Who, headers: HeaderMap) -> Result<Response, ApiError> {
    // A session ends only with its own cookie; an API key has none to end.
    let Some(token) = single_cookie(&headers, state.session_cookie()) else {
        return Err(ApiError::unauthorized());
    };
    state.service.logout(&Token::from_client(token)).await?;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    set_cookie(out, format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", state.session_cookie()));
    set_cookie(out, format!("{}=; Path=/; SameSite=Strict; Max-Age=0{secure}", state.csrf_cookie()));
    Ok(response)
}

/// Set a password from an invitation's link.
///
/// Whoever holds the link the invitee was emailed. It chooses the first
/// password of the person it was sent to, once, within seven days, while
/// the membership whose invitation sent it exists, and never replaces a
/// password already chosen. Choosing it accepts that membership (the
/// person's other invitations wait for them in the app). `422` names
/// `token` when the link is unknown, used, expired or voided, or
/// `password` when it is too short.
#[utoipa::path(
    operation_id = "setPassword", post, path = "/api/session/v1/password", tag = "session", request_body = SetPassword,
    responses((status = 204, description = "Password set; log in with it")),
    security(())
)]
pub async fn set_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<SetPassword>,
) -> Result<StatusCode, ApiError> {
    let token = Token::from_client(&required("token", body.token)?);
    let password = required("password", body.password)?;
    state.service.set_password_with_token(&token, password, ip.map(|ip| ip.to_string())).await?;
    Ok(StatusCode::NO_CONTENT)
}
