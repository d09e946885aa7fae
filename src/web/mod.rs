//! The web app: a few HTML pages and their embedded assets (plain HTML, CSS
//! and JavaScript modules, no build step), served by the same binary under a
//! strict Content-Security-Policy. All data comes from the REST API.
//!
//! It knows nothing of the API's HTTP layer: the server mounts these routes
//! beside the API's and hands the API its page for "not found".

mod assets;
mod pages;

use axum::Router;
use axum::extract::{FromRef, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;

pub use pages::not_found;

use crate::service::Service;

/// No inline script or style, nothing from another host, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
     object-src 'none'";

/// The app's pages and assets, on any state the service can be taken from.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Service: FromRef<S>,
{
    Router::new()
        .route("/", get(pages::app))
        .route("/login", get(pages::app))
        .route("/service-accounts", get(pages::app))
        .route("/service-accounts/{id}", get(pages::app))
        .route("/users", get(pages::app))
        .route("/settings", get(pages::app))
        .route("/audit", get(pages::app))
        .route("/webhooks", get(pages::app))
        .route("/webhooks/{id}", get(pages::app))
        .route("/invitations", get(pages::app))
        .route("/setup", get(pages::setup))
        .route("/set-password", get(pages::set_password))
        .route("/accept-invitation", get(pages::accept_invitation))
        .merge(assets::routes())
        .layer(middleware::from_fn(secure_headers))
}

/// The headers every page and asset of the app carries.
async fn secure_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    add_secure_headers(&mut response);
    response
}

fn add_secure_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), clipboard-write=(self)"),
    );
}
