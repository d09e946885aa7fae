//! The floor of `bench/hotpath.sh`: the least an HTTP answer costs with the
//! axum, hyper and tokio this workspace builds keyward with. Every path
//! answers `200` with a fixed JSON body and the headers of
//! `GET /api/auth/v1/verify`'s answer, at about its size, so that keyward's
//! figures can be read as a ratio to this one. Nothing is parsed, hashed or
//! looked up; the runtime is tokio's multi-thread one, as in `keyward serve`.
//!
//!   cargo build --release --example floor
//!   target/release/examples/floor [--listen 127.0.0.1:0]
//!
//! It says the address it bound ("floor: listening on 127.0.0.1:PORT"), so
//! port 0 lets the system choose one.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;

const ID: &str = "0198a1b2c3d4e5f60718293a4b5c6d7e";
const BODY: &str = concat!(
    r#"{"valid":true,"serviceAccountId":"0198a1b2c3d4e5f60718293a4b5c6d7e","#,
    r#""orgId":"0198a1b2c3d4e5f60718293a4b5c6d7e","role":"viewer","#,
    r#""keyId":"0198a1b2c3d4e5f60718293a4b5c6d7e","scopes":[],"meta":null,"rateLimit":null}"#
);

async fn answer() -> impl IntoResponse {
    let id = HeaderValue::from_static(ID);
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (HeaderName::from_static("x-keyward-service-account-id"), id.clone()),
            (HeaderName::from_static("x-keyward-org-id"), id.clone()),
            (HeaderName::from_static("x-keyward-role"), HeaderValue::from_static("viewer")),
            (HeaderName::from_static("x-keyward-key-id"), id),
            (HeaderName::from_static("x-keyward-scopes"), HeaderValue::from_static("")),
        ],
        BODY,
    )
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(addr)) => addr,
        (None, _) => "127.0.0.1:0".to_owned(),
        _ => anyhow::bail!("usage: floor [--listen ADDR]"),
    };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        eprintln!("floor: listening on {}", listener.local_addr()?);
        axum::serve(listener, Router::new().fallback(answer)).await?;
        Ok(())
    })
}
