//! `/confirm-email`: the page a confirmation link opens.

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::Token;
use crate::html::escape;
use crate::http::AppState;
use crate::http::auth::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::service::email::Confirmation;

/// The page loads nothing but the app's stylesheet: no script at all.
const PAGE_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfirmQuery {
    /// The token from the confirmation email.
    token: Option<String>,
}

/// Confirm a service account's email address.
///
/// Anyone with the link. A live token (single use, 48 hours) sets the
/// account's `emailConfirmed` and retires its other links; a used, expired,
/// unknown or outdated one changes nothing. Answers an HTML page either way.
/// A `HEAD` request only looks: it never uses the token.
#[utoipa::path(
    operation_id = "confirmEmail", get, path = "/confirm-email", tag = "service accounts", params(ConfirmQuery),
    responses(
        (status = 200, description = "Confirmed", body = String, content_type = "text/html"),
        (status = 400, description = "The link has no token", body = String, content_type = "text/html"),
        (status = 404, description = "keyward never issued this link", body = String, content_type = "text/html"),
        (status = 410, description = "The link was used, has expired, or is for an address the account no longer has", body = String, content_type = "text/html"),
    ),
    security(())
)]
pub async fn confirm(
    State(state): State<AppState>,
    method: Method,
    ClientIp(ip): ClientIp,
    query: Result<ApiQuery<ConfirmQuery>, ApiError>,
) -> Response {
    let token = query.ok().and_then(|ApiQuery(q)| q.token).filter(|t| !t.is_empty());
    let Some(token) = token else {
        return page(StatusCode::BAD_REQUEST, "This link is incomplete", INCOMPLETE);
    };
    if method == Method::HEAD {
        return page(StatusCode::OK, "Confirm an email address", "Open this link in a browser to confirm.");
    }
    match state.service.confirm_email(&Token::from_client(&token), ip.map(|ip| ip.to_string())).await {
        Ok(Confirmation::Confirmed { account_name, email }) => page(
            StatusCode::OK,
            "Email address confirmed",
            &format!(
                "{email} is now the confirmed address of the service account \u{201c}{account_name}\u{201d}. \
                 keyward will write to it about the account, for example before one of its keys expires. \
                 You can close this page."
            ),
        ),
        Ok(Confirmation::Used) => page(StatusCode::GONE, "This link has already been used", USED),
        Ok(Confirmation::Expired) => page(StatusCode::GONE, "This link has expired", EXPIRED),
        Ok(Confirmation::Superseded) => page(StatusCode::GONE, "This link is out of date", SUPERSEDED),
        Ok(Confirmation::Unknown) => page(StatusCode::NOT_FOUND, "This link is not valid", UNKNOWN),
        Err(e) => {
            let status = ApiError::from(e).status();
            page(status, "Something went wrong", "The address could not be confirmed just now. Try again shortly.")
        }
    }
}

const INCOMPLETE: &str = "The link has no token. Open the whole link from the email, or copy all of it into \
     the address bar.";
const USED: &str = "Confirmation links work once, and this one (or a newer one for the same account) has \
     been used. If the address shows as confirmed in keyward, there is nothing more to do.";
const EXPIRED: &str = "Confirmation links work for 48 hours. Ask an admin of the organization to set the \
     service account's email again: that sends a new link.";
const SUPERSEDED: &str = "The service account's email address has changed since this link was sent, so it \
     confirms nothing. The new address gets a link of its own.";
const UNKNOWN: &str = "keyward did not issue this link, or it was mistyped. Open the whole link from the \
     email, or copy all of it into the address bar.";

fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  \
         <meta name=\"referrer\" content=\"no-referrer\">\n  <title>{title} \u{b7} keyward</title>\n  \
         <link rel=\"stylesheet\" href=\"/assets/app.css\">\n</head>\n<body class=\"centered\">\n  \
         <main id=\"main\" class=\"card narrow\">\n    <p class=\"brand brand-large\">keyward</p>\n    \
         <h1>{title}</h1>\n    <p>{detail}</p>\n  </main>\n</body>\n</html>\n",
        title = escape(title),
        detail = escape(detail),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
