//! The HTML documents: the app's one page for every route of the app, a
//! plain message page for dead one-time links or storage that cannot
//! answer, and the page for an address nothing serves.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::assets::{INDEX_HTML, MESSAGE_HTML};
use crate::domain::{LinkPurpose, Token};
use crate::html::escape;
use crate::service::{Service, ServiceError};

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
pub async fn setup(State(service): State<Service>, query: TokenParam) -> Response {
    one_time_page(&service, query, LinkPurpose::Setup, "This setup link no longer works", SETUP_GONE).await
}

/// `/set-password?token=`: the invited person's form, while the link works.
pub async fn set_password(State(service): State<Service>, query: TokenParam) -> Response {
    one_time_page(&service, query, LinkPurpose::Password, "This link no longer works", PASSWORD_GONE).await
}

/// `/accept-invitation?token=`: the page where a person who has an account,
/// logged in as that account, confirms joining the organization that
/// invited them. Opening it accepts nothing: mail scanners open links too.
pub async fn accept_invitation(State(service): State<Service>, query: TokenParam) -> Response {
    one_time_page(&service, query, LinkPurpose::Accept, "This invitation link no longer works", ACCEPT_GONE).await
}

const SETUP_GONE: &str = "The setup link has been used, has expired, or was never issued. If keyward has \
     been set up already, log in. Otherwise restart the server: it logs a fresh link while nobody can log in.";
const PASSWORD_GONE: &str = "Links to choose a password work once, for seven days, and only while you are a \
     member of the organization that invited you. If you have chosen a password already, log in with it; \
     otherwise ask an admin of your organization to invite you again.";
const ACCEPT_GONE: &str = "Invitation links work once, for seven days, and only while the invitation is \
     waiting for an answer. Log in to see the invitations you have not answered yet; if you accepted this one \
     already, the organization is in your top bar.";

async fn one_time_page(
    service: &Service,
    query: TokenParam,
    purpose: LinkPurpose,
    title: &str,
    detail: &str,
) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).filter(|t| !t.is_empty());
    let live = match token {
        Some(t) => match service.one_time_link_is_live(&Token::from_client(&t), purpose).await {
            Ok(live) => live,
            Err(e) => return unavailable(&e),
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

/// A browser's page for an address nothing serves (the API's own paths and
/// other clients get problem+json from the HTTP layer).
pub fn not_found() -> Response {
    let mut response = message(StatusCode::NOT_FOUND, "Page not found", "There is no page at this address.");
    super::add_secure_headers(&mut response);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page, not problem+json, when a one-time link cannot be checked: the
/// person holding it is in a browser. Storage away or the server busy is a
/// 503 to retry (with Retry-After, as the API's); anything else a 500. The
/// cause goes to the log only.
fn unavailable(e: &ServiceError) -> Response {
    const LATER: &str = "Your link has not been used. Try again in a moment.";
    let retry_after = match e {
        ServiceError::Unavailable(_) => 5,
        ServiceError::Busy(wait) => *wait,
        _ => {
            tracing::error!(error = ?e, "a one-time link's page failed");
            return message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", LATER);
        }
    };
    tracing::warn!(error = ?e, "a one-time link's page could not be served");
    let mut page = message(StatusCode::SERVICE_UNAVAILABLE, "keyward cannot answer right now", LATER);
    page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    page
}
