//! A real nginx, configured with the server block from docs/gateways.md, in
//! front of a small upstream that echoes what it receives: keyward decides
//! who gets through and what the upstream is told.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use axum::Json;
use axum::http::HeaderMap;
use keyward::domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use std::sync::Arc;

use keyward::domain::clock::ManualClock;

use crate::helpers::{Options, SA, TestApp, outside_program};

struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    /// SIGTERM: the master stops its worker, then itself (a SIGKILL would
    /// leave the worker behind).
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// The nginx block of docs/gateways.md between `<!-- NAME:start -->` and
/// `<!-- NAME:end -->`.
fn documented_block(name: &str) -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gateways.md"))
        .expect("docs/gateways.md");
    let start = doc.find(&format!("<!-- {name}:start -->")).unwrap_or_else(|| panic!("{name} start marker"));
    let end = doc.find(&format!("<!-- {name}:end -->")).unwrap_or_else(|| panic!("{name} end marker"));
    let block = &doc[start..end];
    let body = &block[block.find("```nginx\n").expect("nginx block") + 9..];
    body[..body.find("```").expect("closed block")].to_owned()
}

/// The documented server block, pointed at this test's keyward and upstream.
fn documented_server_block(keyward: &str, upstream: &str, port: u16) -> String {
    let body = documented_block("nginx");
    assert!(body.contains("127.0.0.1:8080") && body.contains("127.0.0.1:3000") && body.contains("listen 80;"));
    body.replace("127.0.0.1:8080", keyward)
        .replace("127.0.0.1:3000", upstream)
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
}

/// nginx on a listening socket the test made and hands over: it is the
/// child's standard input, named in the `NGINX` variable, the way nginx
/// passes its sockets to a new binary on an upgrade. Connections wait in the
/// socket's backlog until nginx takes them; no port changes hands in between.
/// nginx takes over inherited sockets only with a master process, which
/// ends its worker when told to stop (see `Drop`).
fn start_nginx(binary: PathBuf, server_block: impl Fn(u16) -> String) -> Nginx {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{}\n}}\n",
        server_block(port)
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
    std::fs::write(dir.path().join("keyward_identity"), documented_block("nginx-identity"))
        .expect("write keyward_identity");
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .env("NGINX", "0;")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(listener)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    Nginx { child, port, dir }
}

/// The upstream: answers with the X-Keyward-* headers it was given and
/// whether the key itself reached it.
async fn start_upstream() -> String {
    async fn echo(headers: HeaderMap) -> Json<Value> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Json(json!({
            "serviceAccountId": get("x-keyward-service-account-id"),
            "orgId": get("x-keyward-org-id"),
            "role": get("x-keyward-role"),
            "keyId": get("x-keyward-key-id"),
            "scopes": get("x-keyward-scopes"),
            "authorization": get("authorization"),
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await.expect("upstream") });
    addr.to_string()
}

#[tokio::test]
async fn nginx_lets_valid_keys_through_with_their_identity_and_refuses_the_rest() {
    let Some(nginx_bin) = outside_program("nginx", &["/usr/sbin/nginx"]) else { return };
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64;
    let clock = ManualClock::new(start);
    // keyward believes nginx's X-Forwarded-For, as the document says to set up.
    let options = Options {
        clock: Arc::new(clock.clone()),
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("net")],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let keyward = app.base.trim_start_matches("http://").to_owned();
    let upstream = start_upstream().await;
    let nginx = start_nginx(nginx_bin, |port| documented_server_block(&keyward, &upstream, port));
    let client = reqwest::Client::new();

    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Editor, false).await;

    // A valid key reaches the upstream with its identity; a forged header is replaced.
    let res = client
        .get(nginx.url("/orders/42"))
        .header("Authorization", format!("Bearer {secret}"))
        .header("X-Keyward-Role", "admin")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK, "nginx log:\n{}", nginx.error_log());
    let seen: Value = res.json().await.expect("json");
    assert_eq!(seen["serviceAccountId"], account.as_str());
    assert_eq!(seen["orgId"], app.org_id.as_str());
    assert_eq!(seen["role"], "editor");
    assert_eq!(seen["keyId"], key_id.as_str());
    assert_eq!(seen["authorization"], Value::Null, "the key must stay at the gateway");

    // No key, a forged identity without a key, and a mistyped key: refused.
    assert_eq!(client.get(nginx.url("/orders")).send().await.expect("request").status(), StatusCode::UNAUTHORIZED);
    let forged = client.get(nginx.url("/orders")).header("X-Keyward-Role", "admin").send().await.expect("request");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let mut typo = secret.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).expect("ascii");
    let res = client.get(nginx.url("/orders")).header("Authorization", typo).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A deleted key: refused from the next request on.
    let res = app.delete(&format!("{SA}/{account}/key/{key_id}"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = client.get(nginx.url("/orders")).header("Authorization", &secret).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // An expired key: works until its instant, refused after.
    let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &json!({"expiresIn": 60})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let expiring = res.json::<Value>().await.expect("json")["secret"].as_str().expect("secret").to_owned();
    let res = client.get(nginx.url("/orders")).header("Authorization", &expiring).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    clock.advance(61);
    let res = client.get(nginx.url("/orders")).header("Authorization", &expiring).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Scopes: /reports/ needs the scope "reports"; a valid key without it is 403.
    let acct = account.clone();
    let with_scopes = |body: Value| {
        let app = &app;
        let acct = acct.clone();
        async move {
            let res = app.post_json(&format!("{SA}/{acct}/key"), &app.admin_key, &body).await;
            assert_eq!(res.status(), StatusCode::CREATED, "{body}");
            res.json::<Value>().await.expect("json")["secret"].as_str().expect("secret").to_owned()
        }
    };
    let reader = with_scopes(json!({"scopes": ["reports", "invoices:read"]})).await;
    let res = client.get(nginx.url("/reports/7")).header("Authorization", &reader).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "nginx log:\n{}", nginx.error_log());
    let seen: Value = res.json().await.expect("json");
    assert_eq!(seen["scopes"], "reports invoices:read");
    let unscoped = with_scopes(json!({"scopes": ["invoices:read"]})).await;
    let res = client.get(nginx.url("/reports/7")).header("Authorization", &unscoped).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a key without the scope");
    let res = client.get(nginx.url("/other")).header("Authorization", &unscoped).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "where no scope is asked for, any valid key passes");

    // Ranges: keyward sees the client's address as nginx forwards it, and a
    // client cannot claim another by sending X-Forwarded-For itself.
    let elsewhere = with_scopes(json!({"allowedCidrs": ["203.0.113.0/24"]})).await;
    let res = client
        .get(nginx.url("/other"))
        .header("Authorization", &elsewhere)
        .header("X-Forwarded-For", "203.0.113.5")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let here = with_scopes(json!({"allowedCidrs": ["127.0.0.1"]})).await;
    let res = client.get(nginx.url("/other")).header("Authorization", &here).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);

    // A rate limit: 3 uses, then 429 with Retry-After through nginx.
    let metered = with_scopes(json!({"rateLimit": {"limit": 3, "period": 600}})).await;
    for left in ["2", "1", "0"] {
        let res = client.get(nginx.url("/other")).header("Authorization", &metered).send().await.expect("request");
        assert_eq!(res.status(), StatusCode::OK, "nginx log:\n{}", nginx.error_log());
        assert_eq!(res.headers().get("ratelimit-remaining").and_then(|v| v.to_str().ok()), Some(left));
        assert_eq!(res.headers().get("ratelimit-limit").and_then(|v| v.to_str().ok()), Some("3"));
    }
    let res = client.get(nginx.url("/other")).header("Authorization", &metered).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "nginx log:\n{}", nginx.error_log());
    let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|s| (1..=600).contains(&s)), "Retry-After {retry_after:?}");
    assert_eq!(res.headers().get("ratelimit-remaining").and_then(|v| v.to_str().ok()), Some("0"));
}
