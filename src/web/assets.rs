//! The app's static files, compiled into the binary.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// Name, media type, contents.
const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("app.js", JS, include_str!("assets/app.js")),
    ("api.js", JS, include_str!("assets/api.js")),
    ("dom.js", JS, include_str!("assets/dom.js")),
    ("dialogs.js", JS, include_str!("assets/dialogs.js")),
    ("auth.js", JS, include_str!("assets/auth.js")),
    ("accounts.js", JS, include_str!("assets/accounts.js")),
    ("account.js", JS, include_str!("assets/account.js")),
    ("users.js", JS, include_str!("assets/users.js")),
    ("invitations.js", JS, include_str!("assets/invitations.js")),
    ("deleted.js", JS, include_str!("assets/deleted.js")),
    ("audit.js", JS, include_str!("assets/audit.js")),
    ("settings.js", JS, include_str!("assets/settings.js")),
    ("webhooks.js", JS, include_str!("assets/webhooks.js")),
    ("pager.js", JS, include_str!("assets/pager.js")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
];
const JS: &str = "text/javascript; charset=utf-8";

pub const INDEX_HTML: &str = include_str!("assets/index.html");
pub const MESSAGE_HTML: &str = include_str!("assets/message.html");

fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// A route for each file, `GET /assets/{name}`; any other path is left to
/// the server's "not found".
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES.iter().fold(Router::new(), |router, &(name, media_type, body)| {
        // Each file's tag is worked out once, not on every request.
        let tag = HeaderValue::from_str(&etag(body)).ok();
        router.route(
            &format!("/assets/{name}"),
            get(move |headers: HeaderMap| async move { serve(media_type, body, tag.clone(), &headers) }),
        )
    })
}

/// Revalidated on each use (`no-cache` with an ETag), so that a new binary's
/// app is picked up at once.
fn serve(media_type: &'static str, body: &'static str, tag: Option<HeaderValue>, headers: &HeaderMap) -> Response {
    let cached = tag.as_ref().is_some_and(|tag| headers.get(header::IF_NONE_MATCH) == Some(tag));
    let mut response = if cached { StatusCode::NOT_MODIFIED.into_response() } else { (*body).into_response() };
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(tag) = tag {
        out.insert(header::ETAG, tag);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_app_imports_is_served() {
        let served: Vec<&str> = FILES.iter().map(|(name, _, _)| *name).collect();
        for (_, _, body) in FILES.iter().filter(|(name, _, _)| name.ends_with(".js")) {
            for line in body.lines().filter(|l| l.starts_with("import ")) {
                let module = line.rsplit("'./").next().and_then(|rest| rest.split('\'').next()).unwrap_or("");
                assert!(served.contains(&module), "{module} is imported but not served: {line}");
            }
        }
        assert!(INDEX_HTML.contains("/assets/app.js"));
    }

    #[test]
    fn no_asset_reaches_for_another_host_or_inline_code() {
        for (name, _, body) in
            FILES.iter().chain([("index.html", "", INDEX_HTML), ("message.html", "", MESSAGE_HTML)].iter())
        {
            for banned in ["http://", "https://", "innerHTML", "eval(", "style=\"", "onclick=", "<script>"] {
                // A form's example address is text, not a fetch.
                let hits = body
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("placeholder:"))
                    .map(|l| l.matches(banned).count())
                    .sum::<usize>();
                // The SVG's namespace is a name, not a fetch.
                let allowed = usize::from(*name == "favicon.svg" && banned == "http://");
                assert!(hits <= allowed, "{name} contains {banned}");
            }
        }
    }

    #[test]
    fn the_webhooks_page_offers_every_event_the_server_sends() {
        let js = FILES.iter().find(|(name, _, _)| *name == "webhooks.js").expect("webhooks.js").2;
        let list = &js[js.find("const EVENTS").expect("the EVENTS list")..];
        let list = &list[..list.find("];").expect("its end")];
        let offered: Vec<&str> = list.split('\'').skip(1).step_by(2).filter(|s| s.contains('.')).collect();
        let sent: Vec<&str> = crate::domain::webhook::Event::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(offered, sent);
    }
}
