//! The HTML documents: the app's one page for every route of the app, a
//! plain message page for dead one-time links, and the fallback that keeps
//! unknown API paths answering problem+json.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::assets::{INDEX_HTML, MESSAGE_HTML};
use crate::domain::{LinkPurpose, Token};
use crate::http::AppState;
use crate::http::error::ApiError;

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// A query string that cannot be read names no token.
type TokenParam = Result<Query<TokenQuery>, QueryRejection>;

/// The app itself; its script draws the route the address names.
pub async fn app() -> Response {
    Html(INDEX_HTML).into_response()
}

/// `/setup?token=`: the first-run form, while the link still works.
pub async fn setup(State(state): State<AppState>, query: TokenParam) -> Response {
    one_time_page(&state, query, LinkPurpose::Setup, "This setup link no longer works", SETUP_GONE).await
}

/// `/set-password?token=`: the invited person's form, while the link works.
pub async fn set_password(State(state): State<AppState>, query: TokenParam) -> Response {
    one_time_page(&state, query, LinkPurpose::Password, "This link no longer works", PASSWORD_GONE).await
}

const SETUP_GONE: &str = "The setup link has been used, has expired, or was never issued. If keyward has \
     been set up already, log in. Otherwise restart the server: it logs a fresh link while nobody can log in.";
const PASSWORD_GONE: &str = "Links to choose a password work once, for seven days, and only while you are a \
     member of the organization that invited you. If you have chosen a password already, log in with it; \
     otherwise ask an admin of your organization to invite you again.";

async fn one_time_page(
    state: &AppState,
    query: TokenParam,
    purpose: LinkPurpose,
    title: &str,
    detail: &str,
) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).filter(|t| !t.is_empty());
    let live = match token {
        Some(t) => match state.service.one_time_link_is_live(&Token::from_client(&t), purpose).await {
            Ok(live) => live,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => false,
    };
    if live { app().await } else { message(StatusCode::GONE, title, detail) }
}

/// A page with a title and a sentence, and a way back to the login page.
fn message(status: StatusCode, title: &str, detail: &str) -> Response {
    let html = MESSAGE_HTML.replace("{{title}}", &escape(title)).replace("{{detail}}", &escape(detail));
    (status, Html(html)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Anything no route claims: a browser asking for a page outside the API
/// gets an HTML "not found"; everyone else, and every `/api/` path, the
/// problem+json `404`.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    let is_api = uri.path() == "/api" || uri.path().starts_with("/api/");
    if is_api || !wants_html || !matches!(method, Method::GET | Method::HEAD) {
        return ApiError::not_found("route").into_response();
    }
    let mut response = message(StatusCode::NOT_FOUND, "Page not found", "There is no page at this address.");
    super::add_secure_headers(&mut response);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
