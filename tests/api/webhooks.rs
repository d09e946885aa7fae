//! Webhooks: admins' endpoints and their validation, private
//! targets refused, and deliveries to a real receiver on loopback — signed
//! as Standard Webhooks (checked by an independent implementation, Python's
//! `standardwebhooks`), retried, kept in order per endpoint, and sent once
//! by two workers sharing one database. One tenant cannot slow another:
//! organizations and endpoints take turns, a slow tenant holds only its own
//! lanes, and an endpoint failing for days is disabled.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use keyward::domain::clock::ManualClock;
use keyward::domain::{Email, Id, Role};
use keyward::service::webhooks::{Attempt, WebhookSettings};
use keyward::service::{Limits, Service};
use keyward::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::smtp::{Mail, SmtpServer};
use crate::helpers::{Options, SA, TestApp, problem, wait_for};

const HOOKS: &str = "/api/webhook/v1/webhook";

/// Settings for fast tests: private targets allowed (the receiver is on
/// loopback), short polls, immediate retries.
fn fast(allow_private: bool) -> Limits {
    Limits {
        webhooks: WebhookSettings {
            allow_private,
            poll_interval: Duration::from_millis(50),
            lease: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            backoff: vec![Duration::ZERO],
            ..WebhookSettings::default()
        },
        ..Limits::default()
    }
}

async fn spawn_allowing_private() -> Option<TestApp> {
    TestApp::spawn_with(Options { limits: fast(true), ..Options::default() }).await
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
}

/// A webhook receiver on 127.0.0.1 that records every request and answers
/// the statuses it is given in turn, then 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> (Self, String) {
        let receiver = Receiver::default();
        receiver.answers.lock().expect("lock").extend(answers);
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
        (receiver, format!("http://{addr}/hook"))
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// Waits until at least `n` requests came.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        wait_for(Duration::from_secs(20), &format!("{n} deliveries"), async || {
            let got = self.got();
            if got.len() >= n { Ok(got) } else { Err(format!("{} arrived: {got:?}", got.len())) }
        })
        .await
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> AxumStatus {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    r.got.lock().expect("lock").push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = r.answers.lock().expect("lock").pop_front().unwrap_or(200);
    AxumStatus::from_u16(status).expect("status")
}

/// Creates an endpoint as the admin; answers its JSON (with the secret).
async fn create_hook(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let res = app.post_json(HOOKS, &app.admin_key, &json!({"url": url, "events": events})).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create webhook {url}");
    res.json().await.expect("json")
}

async fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    let res = app.get(&format!("{HOOKS}/{hook}/delivery"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.expect("json");
    page["items"].as_array().expect("items").clone()
}

/// Waits until every delivery of `hook` has left `pending`.
async fn settled(app: &TestApp, hook: &str, n: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(20), &format!("{n} deliveries, none pending"), async || {
        let items = deliveries(app, hook).await;
        if items.len() >= n && items.iter().all(|d| d["status"] != "pending") {
            Ok(items)
        } else {
            Err(format!("{items:?}"))
        }
    })
    .await
}

/// A second keyward node's service on the test app's database.
async fn second_node(app: &TestApp, limits: Limits) -> Service {
    let url = match &app.postgres {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", app.db_path.display()),
    };
    let store = Store::connect(&url).await.expect("second store");
    Service::new(store, limits, app.sealing_key.clone())
}

#[tokio::test]
async fn endpoints_are_created_listed_changed_rotated_and_deleted_and_the_secret_is_shown_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let created = create_hook(&app, "https://93.184.215.14/keyward", &["key.*", "account.deleted"]).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["events"], json!(["key.*", "account.deleted"]));
    assert_eq!(created["orgId"], app.org_id.as_str());
    assert_eq!(created["disabled"], false);
    assert!(created["disabledReason"].is_null());
    assert!(created["created"].is_i64());

    let got: Value = app.get(&format!("{HOOKS}/{id}"), &app.admin_key).await.json().await.expect("json");
    assert_eq!(got["url"], "https://93.184.215.14/keyward");
    assert!(got.get("secret").is_none(), "get never shows the secret: {got}");
    let list = app.get(HOOKS, &app.admin_key).await;
    assert_eq!(list.status(), StatusCode::OK);
    let list: Value = list.json().await.expect("json");
    assert_eq!(list["items"].as_array().expect("items").len(), 1);
    assert!(!list.to_string().contains(&secret[6..]), "the listing never shows the secret");
    assert!(list["nextCursor"].is_null());

    let patched = app
        .patch_json(
            &format!("{HOOKS}/{id}"),
            &app.admin_key,
            &json!({"url": "https://93.184.215.15/new", "events": ["user.*"], "disabled": true}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.expect("json");
    assert_eq!(patched["url"], "https://93.184.215.15/new");
    assert_eq!(patched["events"], json!(["user.*"]));
    assert_eq!(patched["disabled"], true);
    assert!(patched["disabledReason"].is_null(), "an admin's disabling needs no reason: {patched}");
    assert!(patched.get("secret").is_none());

    let rotated = app.request(reqwest::Method::POST, &format!("{HOOKS}/{id}/rotate-secret"), &app.admin_key);
    let rotated = rotated.send().await.expect("rotate");
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.expect("json");
    let new_secret = rotated["secret"].as_str().expect("secret");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    // Nothing in the database or the audit trail holds either secret.
    let audit: Value = app.get("/api/audit/v1/event", &app.admin_key).await.json().await.expect("json");
    let actions: Vec<&str> =
        audit["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["webhook.create", "webhook.update", "webhook.rotateSecret"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let mut conn = app.store.read().await.expect("conn");
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT secret_sealed FROM webhooks").fetch_all(&mut *conn).await.expect("select");
    drop(conn);
    for s in [&secret[6..], &new_secret[6..]] {
        assert!(!audit.to_string().contains(s), "a secret in the audit trail");
        assert!(stored.iter().all(|v| !v.contains(s) && v.starts_with("v1.")), "a secret stored unsealed");
    }

    assert_eq!(app.delete(&format!("{HOOKS}/{id}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    problem(app.get(&format!("{HOOKS}/{id}"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&format!("{HOOKS}/{id}"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    let audit: Value = app.get("/api/audit/v1/event", &app.admin_key).await.json().await.expect("json");
    assert_eq!(audit["items"][0]["action"], "webhook.delete");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_leaves_nothing_behind() {
    let Some(app) = TestApp::spawn().await else { return };
    let long = format!("https://93.184.215.14/{}", "a".repeat(2048));
    let many: Vec<&str> = vec!["key.created"; 51];
    let cases: Vec<(Value, &str)> = vec![
        (json!({"events": ["key.*"]}), "url"),
        (json!({"url": "", "events": ["key.*"]}), "url"),
        (json!({"url": "ftp://93.184.215.14/x", "events": ["key.*"]}), "url"),
        (json!({"url": "not a url", "events": ["key.*"]}), "url"),
        (json!({"url": long, "events": ["key.*"]}), "url"),
        (json!({"url": "https://u:p@93.184.215.14/", "events": ["key.*"]}), "url"),
        (json!({"url": 7, "events": ["key.*"]}), "url"),
        // Private addresses wrapped or hidden in IPv6: multicast, Teredo,
        // 6to4, NAT64 and IPv4-mapped forms of private IPv4 addresses.
        (json!({"url": "http://[ff02::1]/hook", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[ff0e::101]:8080/hook", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[2001::1]/hook", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[2002:c0a8:101::1]/hook", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[2002:a9fe:a9fe::]/latest/meta-data", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[64:ff9b::7f00:1]/hook", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[::ffff:192.168.1.10]/hook", "events": ["key.*"]}), "url"),
        (json!({"url": "http://[::ffff:169.254.169.254]/latest/meta-data", "events": ["key.*"]}), "url"),
        (json!({"url": "https://93.184.215.14/"}), "events"),
        (json!({"url": "https://93.184.215.14/", "events": []}), "events"),
        (json!({"url": "https://93.184.215.14/", "events": "key.*"}), "events"),
        (json!({"url": "https://93.184.215.14/", "events": many}), "events"),
        (json!({"url": "https://93.184.215.14/", "events": ["key.created", "key.exploded"]}), "events[1]"),
        (json!({"url": "https://93.184.215.14/", "events": ["key.*", "user.*", "org.*"]}), "events[2]"),
        (json!({"url": "https://93.184.215.14/", "events": ["*"]}), "events[0]"),
        (json!({"url": "https://93.184.215.14/", "events": [3]}), "events[0]"),
        (json!({"url": "https://93.184.215.14/", "events": ["key.*"], "secret": "mine"}), "secret"),
    ];
    for (body, field) in cases {
        let res = app.post_json(HOOKS, &app.admin_key, &body).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["field"], field, "{body}: {p}");
    }
    let res = app
        .request(reqwest::Method::POST, HOOKS, &app.admin_key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.count_rows("webhooks").await, 0, "nothing refused was stored");

    let id = create_hook(&app, "https://93.184.215.14/ok", &["key.*"]).await["id"].as_str().expect("id").to_owned();
    for (body, field) in [
        (json!({"url": null}), "url"),
        (json!({"url": "gopher://x"}), "url"),
        (json!({"events": null}), "events"),
        (json!({"events": []}), "events"),
        (json!({"events": ["user.*", "nope"]}), "events[1]"),
        (json!({"disabled": null}), "disabled"),
        (json!({"disabled": "yes"}), "disabled"),
        (json!({"name": "x"}), "name"),
    ] {
        let res = app.patch_json(&format!("{HOOKS}/{id}"), &app.admin_key, &body).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["field"], field, "{body}: {p}");
    }
    let unchanged: Value = app.get(&format!("{HOOKS}/{id}"), &app.admin_key).await.json().await.expect("json");
    assert_eq!(
        (unchanged["url"].clone(), unchanged["events"].clone()),
        (json!("https://93.184.215.14/ok"), json!(["key.*"]))
    );
    // A malformed id exists nowhere; a bad cursor or limit is a 400.
    problem(app.get(&format!("{HOOKS}/not-an-id"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    problem(app.get(&format!("{HOOKS}?limit=0"), &app.admin_key).await, StatusCode::BAD_REQUEST).await;
    problem(app.get(&format!("{HOOKS}/{id}/delivery?cursor=zzz"), &app.admin_key).await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn private_targets_are_refused_without_the_flag() {
    let Some(app) = TestApp::spawn().await else { return };
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/",
        "http://[ff02::1]/hook",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
        "http://[2002:a00:1::1]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
    ] {
        let res = app.post_json(HOOKS, &app.admin_key, &json!({"url": url, "events": ["key.*"]})).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["field"], "url", "{url}: {p}");
        // A name's refusal does not map the server's network: it never
        // says which address the name resolved to.
        let detail = p["detail"].as_str().unwrap_or_default();
        if url.contains("localhost") {
            assert!(!detail.contains("127.") && !detail.contains("::1"), "{detail}");
        }
    }
    let id = create_hook(&app, "https://93.184.215.14/ok", &["key.*"]).await["id"].as_str().expect("id").to_owned();
    let res = app.patch_json(&format!("{HOOKS}/{id}"), &app.admin_key, &json!({"url": "http://127.0.0.1/x"})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "url");

    // With the flag, the same URL is accepted.
    let Some(allowing) = spawn_allowing_private().await else { return };
    create_hook(&allowing, "http://127.0.0.1:9/hook", &["key.*"]).await;
}

#[tokio::test]
async fn another_organizations_admin_gets_404_and_lesser_roles_403() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = create_hook(&app, "https://93.184.215.14/ok", &["key.*"]).await["id"].as_str().expect("id").to_owned();
    let other_org = app.create_org("Globex").await;
    let other_admin = app.key_with_role(&other_org, Role::Admin).await;
    let one = format!("{HOOKS}/{id}");
    for res in [
        app.get(&one, &other_admin).await,
        app.patch_json(&one, &other_admin, &json!({"disabled": true})).await,
        app.request(reqwest::Method::POST, &format!("{one}/rotate-secret"), &other_admin).send().await.expect("req"),
        app.get(&format!("{one}/delivery"), &other_admin).await,
        app.delete(&one, &other_admin).await,
    ] {
        problem(res, StatusCode::NOT_FOUND).await;
    }
    let theirs: Value = app.get(HOOKS, &other_admin).await.json().await.expect("json");
    assert_eq!(theirs["items"], json!([]), "another organization's endpoints are not listed");
    for role in [Role::Viewer, Role::Editor] {
        let key = app.key_with_role(&app.org_id, role).await;
        problem(app.get(HOOKS, &key).await, StatusCode::FORBIDDEN).await;
        problem(app.get(&one, &key).await, StatusCode::FORBIDDEN).await;
        let body = json!({"url": "https://93.184.215.14/x", "events": ["key.*"]});
        problem(app.post_json(HOOKS, &key, &body).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&one, &key).await, StatusCode::FORBIDDEN).await;
    }
    let still: Value = app.get(&one, &app.admin_key).await.json().await.expect("json");
    assert_eq!(still["disabled"], false);
}

/// Python 3 with `standardwebhooks` (installed by scripts/test in target/py).
fn python_with_standardwebhooks() -> Option<std::path::PathBuf> {
    crate::support::outside::python_with("standardwebhooks", "standardwebhooks", "pip install standardwebhooks")
}

/// Verifies a delivery as a receiver would, with the Standard Webhooks
/// reference library: `Ok(payload)` or `Err(its complaint)`.
fn verify_with_python(python: &std::path::Path, secret: &str, r: &Received) -> Result<Value, String> {
    const SCRIPT: &str = r#"
import json, sys
from standardwebhooks import Webhook
secret, body, msg_id, timestamp, signature = sys.argv[1:6]
try:
    payload = Webhook(secret).verify(body, {
        "webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature,
    })
    print(json.dumps(payload))
except Exception as e:
    print("%s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
"#;
    let out = std::process::Command::new(python)
        .args(["-c", SCRIPT, secret, &r.body, &r.id, &r.timestamp, &r.signature])
        .output()
        .expect("run python");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("payload json"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn a_new_key_is_delivered_signed_as_standard_webhooks() {
    let Some(app) = spawn_allowing_private().await else { return };
    let python = python_with_standardwebhooks();
    let (receiver, url) = Receiver::start(&[]).await;
    let hook = create_hook(&app, &url, &["key.*"]).await;
    let (hook_id, secret) = (hook["id"].as_str().expect("id"), hook["secret"].as_str().expect("secret"));
    keyward::webhooks::spawn(app.service.clone());

    // An account (not subscribed to) and a key (subscribed to).
    let account = app.create_account(json!({"name": "deployer"})).await;
    let key = app.create_key(account["id"].as_str().expect("id")).await;
    let key_secret = key["secret"].as_str().expect("secret");
    let got = receiver.wait_for(1).await;
    let r = &got[0];
    assert_eq!(r.content_type, "application/json");
    assert!(r.signature.starts_with("v1,"), "{}", r.signature);
    let now = app.service.now();
    let ts: i64 = r.timestamp.parse().expect("unix seconds");
    assert!((now - ts).abs() < 60, "webhook-timestamp is now");
    let body: Value = serde_json::from_str(&r.body).expect("json body");
    assert_eq!(body["type"], "key.created");
    assert!(body["timestamp"].as_str().expect("timestamp").ends_with('Z'));
    assert_eq!(body["data"]["keyId"], key["keyId"]);
    assert_eq!(body["data"]["serviceAccountId"], account["id"]);
    assert_eq!(body["data"]["orgId"], app.org_id.as_str());
    assert_eq!(body["data"]["actor"]["kind"], "serviceAccount");
    assert!(!r.body.contains(key_secret) && !r.body.contains("kw_"), "no secret in a payload: {}", r.body);

    // keyward's own check of the signature, then the reference library's.
    let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &secret[6..]).expect("b64");
    let expected = keyward::domain::webhook::SigningSecret::from_bytes(raw).sign(&r.id, ts, r.body.as_bytes());
    assert_eq!(r.signature, expected);
    if let Some(python) = &python {
        let payload = verify_with_python(python, secret, r).expect("standardwebhooks verifies the delivery");
        assert_eq!(payload["type"], "key.created");
        let tampered = Received { body: r.body.replace("key.created", "key.deleted"), ..r.clone() };
        assert!(verify_with_python(python, secret, &tampered).is_err(), "a tampered body fails");
        let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert!(verify_with_python(python, other, r).is_err(), "another secret fails");
    }

    let listed = settled(&app, hook_id, 1).await;
    assert_eq!(listed.len(), 1, "account.created was not subscribed to: {listed:?}");
    let d = &listed[0];
    assert_eq!(d["id"], r.id.as_str());
    assert_eq!(d["eventType"], "key.created");
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["lastStatusCode"], 200);
    assert!(d["deliveredAt"].is_i64() && d["nextAttemptAt"].is_null() && d["lastError"].is_null());

    // A rotated secret signs what comes next.
    let res = app.request(reqwest::Method::POST, &format!("{HOOKS}/{hook_id}/rotate-secret"), &app.admin_key);
    let rotated: Value = res.send().await.expect("rotate").json().await.expect("json");
    let new_secret = rotated["secret"].as_str().expect("secret");
    let res = app
        .patch_json(
            &format!("{SA}/{}/key/{}", account["id"].as_str().expect("id"), key["keyId"].as_str().expect("id")),
            &app.admin_key,
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = receiver.wait_for(2).await;
    let body: Value = serde_json::from_str(&got[1].body).expect("json");
    assert_eq!(body["type"], "key.disabled");
    if let Some(python) = &python {
        verify_with_python(python, new_secret, &got[1]).expect("signed with the new secret");
        assert!(verify_with_python(python, secret, &got[1]).is_err(), "not with the old one");
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_the_delivery_retried_and_the_listing_shows_it() {
    let Some(app) = spawn_allowing_private().await else { return };
    let (receiver, url) = Receiver::start(&[500, 503]).await;
    let hook = create_hook(&app, &url, &["account.*"]).await;
    let hook_id = hook["id"].as_str().expect("id");
    keyward::webhooks::spawn(app.service.clone());
    app.create_account(json!({"name": "retried"})).await;
    let got = receiver.wait_for(3).await;
    assert!(got.iter().all(|r| r.id == got[0].id), "the same webhook-id on every attempt");
    let listed = settled(&app, hook_id, 1).await;
    let d = &listed[0];
    assert_eq!(
        (d["status"].clone(), d["attempts"].clone(), d["lastStatusCode"].clone()),
        (json!("delivered"), json!(3), json!(200))
    );
    assert_eq!(d["eventType"], "account.created");
}

#[tokio::test]
async fn a_delivery_failing_past_the_give_up_time_is_marked_failed() {
    let mut limits = fast(true);
    limits.webhooks.give_up_after = Duration::ZERO;
    let Some(app) = TestApp::spawn_with(Options { limits, ..Options::default() }).await else { return };
    let (receiver, url) = Receiver::start(&[500]).await;
    let hook_id = create_hook(&app, &url, &["account.*"]).await["id"].as_str().expect("id").to_owned();
    keyward::webhooks::spawn(app.service.clone());
    app.create_account(json!({"name": "given up"})).await;
    let listed = settled(&app, &hook_id, 1).await;
    let d = &listed[0];
    assert_eq!(d["status"], "failed");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["lastStatusCode"], 500);
    assert!(d["lastError"].as_str().expect("error").contains("500"), "{d}");
    assert_eq!(receiver.got().len(), 1);
}

#[tokio::test]
async fn one_endpoints_deliveries_arrive_in_order_even_across_retries() {
    let Some(app) = spawn_allowing_private().await else { return };
    // The first attempt of the first delivery fails; nothing after it may
    // overtake it.
    let (receiver, url) = Receiver::start(&[500]).await;
    let hook_id = create_hook(&app, &url, &["account.*"]).await["id"].as_str().expect("id").to_owned();
    let mut names = Vec::new();
    for i in 0..6 {
        let name = format!("ordered-{i}");
        app.create_account(json!({"name": name})).await;
        names.push(name);
    }
    keyward::webhooks::spawn(app.service.clone());
    let got = receiver.wait_for(7).await;
    let order: Vec<String> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).expect("json")["data"]["name"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    let mut expected = vec![names[0].clone()];
    expected.extend(names.iter().cloned());
    assert_eq!(order, expected, "the failed first delivery is retried before any later one is sent");
    assert!(settled(&app, &hook_id, 6).await.iter().all(|d| d["status"] == "delivered"));
}

#[tokio::test]
async fn two_nodes_sharing_the_database_deliver_each_message_once() {
    let Some(app) = spawn_allowing_private().await else { return };
    let (receiver, url) = Receiver::start(&[]).await;
    let (_, second_url) = Receiver::start(&[]).await;
    let hook_id = create_hook(&app, &url, &["account.*", "key.*"]).await["id"].as_str().expect("id").to_owned();
    let second_hook = create_hook(&app, &second_url, &["account.*"]).await["id"].as_str().expect("id").to_owned();
    for i in 0..8 {
        let account = app.create_account(json!({"name": format!("twice-{i}")})).await;
        app.create_key(account["id"].as_str().expect("id")).await;
    }
    let other = second_node(&app, fast(true)).await;
    let first = keyward::webhooks::spawn(app.service.clone());
    let second = keyward::webhooks::spawn(other);
    let listed = settled(&app, &hook_id, 16).await;
    settled(&app, &second_hook, 8).await;
    assert!(listed.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{listed:?}");
    let got = receiver.got();
    let ids: HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got.len(), 16, "each delivery sent once: {got:?}");
    assert_eq!(ids.len(), 16);
    first.abort();
    second.abort();
}

#[tokio::test]
async fn a_node_without_the_flag_refuses_to_send_to_a_private_address() {
    // Registered where private targets are allowed, then sent by a node
    // where they are not: DNS (or the flag) may change after registration.
    let Some(app) = spawn_allowing_private().await else { return };
    let (receiver, url) = Receiver::start(&[]).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let hook_id = create_hook(&app, &by_name, &["account.*"]).await["id"].as_str().expect("id").to_owned();
    let literal = create_hook(&app, &url, &["account.*"]).await["id"].as_str().expect("id").to_owned();
    let mut strict = fast(false);
    strict.webhooks.give_up_after = Duration::ZERO;
    let node = keyward::webhooks::spawn(second_node(&app, strict).await);
    app.create_account(json!({"name": "private"})).await;
    for hook in [&hook_id, &literal] {
        let listed = settled(&app, hook, 1).await;
        let d = &listed[0];
        assert_eq!(d["status"], "failed", "{d}");
        assert!(d["lastStatusCode"].is_null());
        // The refusal alone is the reason, whether the name's resolver or the
        // check of a written address made it.
        let reason = d["lastError"].as_str().expect("error");
        assert!(reason.ends_with(" leads to a loopback or private address, which webhooks may not reach"), "{d}");
    }
    assert!(receiver.got().is_empty(), "no request reached the private address");
    node.abort();
}

#[tokio::test]
async fn a_disabled_endpoint_is_sent_nothing_and_deleting_one_takes_its_deliveries() {
    let Some(app) = spawn_allowing_private().await else { return };
    let (receiver, url) = Receiver::start(&[]).await;
    let hook_id = create_hook(&app, &url, &["account.*"]).await["id"].as_str().expect("id").to_owned();
    app.create_account(json!({"name": "queued"})).await;
    let res = app.patch_json(&format!("{HOOKS}/{hook_id}"), &app.admin_key, &json!({"disabled": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    app.create_account(json!({"name": "not queued"})).await;
    keyward::webhooks::spawn(app.service.clone());
    let listed = settled(&app, &hook_id, 1).await;
    assert_eq!(listed.len(), 1, "nothing is queued for a disabled endpoint");
    assert_eq!(listed[0]["status"], "failed");
    assert!(listed[0]["lastError"].as_str().expect("error").contains("disabled"));
    assert!(receiver.got().is_empty());
    assert_eq!(app.delete(&format!("{HOOKS}/{hook_id}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("webhook_deliveries").await, 0);
}

#[tokio::test]
async fn a_lease_is_one_workers_until_it_runs_out_and_a_late_result_is_not_recorded() {
    let clock = keyward::domain::clock::ManualClock::new(1_900_000_000);
    let options = Options { limits: fast(false), clock: Arc::new(clock.clone()), ..Options::default() };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let hook_id =
        create_hook(&app, "https://93.184.215.14/h", &["account.*"]).await["id"].as_str().expect("id").to_owned();
    app.create_account(json!({"name": "first"})).await;
    app.create_account(json!({"name": "second"})).await;
    let s = &app.service;
    let a = s.claim_webhook_delivery("worker-a", &[]).await.expect("claim").expect("one is due");
    assert!(
        s.claim_webhook_delivery("worker-b", &[]).await.expect("claim").is_none(),
        "leased, and the next one waits its turn"
    );
    clock.advance(31);
    let b = s.claim_webhook_delivery("worker-b", &[]).await.expect("claim").expect("the lease ran out");
    assert_eq!(a.delivery.id, b.delivery.id, "the same, oldest delivery");
    let delivered = keyward::service::webhooks::Attempt::Delivered { status: 200 };
    assert!(
        !s.finish_webhook_delivery("worker-a", &a.delivery, delivered.clone()).await.expect("finish"),
        "a's lease is gone"
    );
    assert!(s.finish_webhook_delivery("worker-b", &b.delivery, delivered.clone()).await.expect("finish"));
    assert!(!s.finish_webhook_delivery("worker-b", &b.delivery, delivered).await.expect("finish"), "recorded once");
    let next = s.claim_webhook_delivery("worker-a", &[]).await.expect("claim").expect("the second is due now");
    assert_ne!(next.delivery.id, a.delivery.id);
    let listed = deliveries(&app, &hook_id).await;
    assert_eq!(listed[1]["status"], "delivered");
    assert_eq!(listed[1]["attempts"], 1);
}

#[tokio::test]
async fn keys_expiring_and_expired_are_announced_once() {
    let clock = keyward::domain::clock::ManualClock::new(1_900_000_000);
    let options = Options { limits: fast(false), clock: Arc::new(clock.clone()), ..Options::default() };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let account = app.create_account(json!({"name": "expiring"})).await;
    let account_id = account["id"].as_str().expect("id");
    // Announced only where an endpoint would hear it: none yet.
    let res = app.post_json(&format!("{SA}/{account_id}/key"), &app.admin_key, &json!({"expiresIn": 8 * 86_400})).await;
    let far: Value = res.json().await.expect("json");
    assert_eq!(app.service.scan_webhook_key_expiry().await.expect("scan"), 0);
    let hook_id = create_hook(&app, "https://93.184.215.14/h", &["key.expiring", "key.expired"]).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let res = app.post_json(&format!("{SA}/{account_id}/key"), &app.admin_key, &json!({"expiresIn": 3600})).await;
    let near: Value = res.json().await.expect("json");
    assert_eq!(app.service.scan_webhook_key_expiry().await.expect("scan"), 1, "the key expiring within 7 days");
    assert_eq!(app.service.scan_webhook_key_expiry().await.expect("scan"), 0, "once");
    clock.advance(3601);
    assert_eq!(app.service.scan_webhook_key_expiry().await.expect("scan"), 1, "the key that expired");
    clock.advance(86_400);
    assert_eq!(
        app.service.scan_webhook_key_expiry().await.expect("scan"),
        1,
        "the other one now expires within 7 days"
    );
    let listed = deliveries(&app, &hook_id).await;
    let mut conn = app.store.read().await.expect("conn");
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM webhook_deliveries ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("payloads");
    drop(conn);
    let events: Vec<(String, String)> = payloads
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(p).expect("json");
            (v["type"].as_str().expect("type").to_owned(), v["data"]["keyId"].as_str().expect("key").to_owned())
        })
        .collect();
    let key = |v: &Value| v["keyId"].as_str().expect("key id").to_owned();
    assert_eq!(
        events,
        vec![
            ("key.expiring".to_owned(), key(&near)),
            ("key.expired".to_owned(), key(&near)),
            ("key.expiring".to_owned(), key(&far)),
        ]
    );
    assert_eq!(listed.len(), 3, "key.created was not subscribed to");
}

#[tokio::test]
async fn an_organization_has_at_most_twenty_endpoints_even_when_creations_race() {
    let Some(app) = TestApp::spawn().await else { return };
    let body = json!({"url": "https://93.184.215.14/hook", "events": ["key.*"]});
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let request = app.request(reqwest::Method::POST, HOOKS, &app.admin_key).json(&body);
        racing.spawn(async move { request.send().await.expect("request").status() });
    }
    let statuses: Vec<StatusCode> = racing.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 20, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    let res = app.post_json(HOOKS, &app.admin_key, &body).await;
    assert_eq!(problem(res, StatusCode::CONFLICT).await["field"], "url");
    let listed: Value = app.get(&format!("{HOOKS}?limit=200"), &app.admin_key).await.json().await.expect("json");
    assert_eq!(listed["items"].as_array().expect("items").len(), 20);
}

/// The only endpoint's failing streak as stored: (failures, since).
async fn failing_streak(app: &TestApp) -> (i64, Option<i64>) {
    let mut conn = app.store.read().await.expect("conn");
    sqlx::query_as("SELECT failures, failing_since FROM webhooks").fetch_one(&mut *conn).await.expect("streak")
}

async fn endpoint(app: &TestApp, path: &str) -> Value {
    let res = app.get(path, &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

/// A receiver for many endpoints (`/slow/{n}`) that never answers in time:
/// it holds each request until `hold` passes or keyward gives up on it and
/// closes the connection, and counts the requests it holds at once, in all
/// and per endpoint. Raw TCP, so that a closed connection is seen the moment
/// it closes.
#[derive(Clone, Default)]
struct SlowReceiver(Arc<Mutex<Holding>>);

#[derive(Debug, Default)]
struct Holding {
    by_path: HashMap<String, usize>,
    now: usize,
    most: usize,
    most_on_one_endpoint: usize,
    seen: usize,
}

/// One request held; let go when dropped, however the hold ends.
struct Held(SlowReceiver, String);

impl Drop for Held {
    fn drop(&mut self) {
        let mut h = (self.0).0.lock().expect("lock");
        h.now -= 1;
        *h.by_path.get_mut(&self.1).expect("held") -= 1;
    }
}

impl SlowReceiver {
    async fn start(hold: Duration) -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let receiver = SlowReceiver::default();
        let accepting = receiver.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.expect("accept");
                let r = accepting.clone();
                tokio::spawn(async move { r.hold(socket, hold).await });
            }
        });
        (receiver, format!("http://{addr}/slow"))
    }

    async fn hold(&self, mut socket: TcpStream, hold: Duration) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (path, body_left) = loop {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let path = head.split(' ').nth(1).unwrap_or("").to_owned();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            break (path, (end + 4 + length).saturating_sub(buf.len()));
        };
        let mut rest = vec![0u8; body_left];
        if socket.read_exact(&mut rest).await.is_err() {
            return;
        }
        let _held = {
            let mut h = self.0.lock().expect("lock");
            h.seen += 1;
            h.now += 1;
            h.most = h.most.max(h.now);
            let on_path = h.by_path.entry(path.clone()).or_default();
            *on_path += 1;
            let on_path = *on_path;
            h.most_on_one_endpoint = h.most_on_one_endpoint.max(on_path);
            Held(self.clone(), path)
        };
        tokio::select! {
            () = tokio::time::sleep(hold) => {
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            }
            // keyward gave up on the attempt and closed the connection.
            _ = socket.read(&mut chunk) => {}
        }
    }

    fn state(&self) -> (usize, usize, usize, usize) {
        let h = self.0.lock().expect("lock");
        (h.now, h.most, h.most_on_one_endpoint, h.seen)
    }

    /// Waits until at least `n` requests came in all.
    async fn wait_for_seen(&self, n: usize) {
        let what = format!("the slow receiver to see {n} requests");
        wait_for(Duration::from_secs(30), &what, async || {
            // (now, most, most on one endpoint, seen)
            let state = self.state();
            if state.3 >= n { Ok(()) } else { Err(format!("{state:?}")) }
        })
        .await;
    }
}

/// Another organization with an admin key, `endpoints` endpoints on the
/// slow receiver and `changes` accounts created: each change is queued for
/// every endpoint.
async fn slow_tenant(app: &TestApp, slow_url: &str, endpoints: usize, changes: usize) -> String {
    let org = app.create_org(&format!("Slow {}", Id::generate())).await;
    let admin = app.key_with_role(&org, Role::Admin).await;
    for i in 0..endpoints {
        let body = json!({"url": format!("{slow_url}/{i}"), "events": ["account.*"]});
        assert_eq!(app.post_json(HOOKS, &admin, &body).await.status(), StatusCode::CREATED);
    }
    for i in 0..changes {
        let res = app.post_json(SA, &admin, &json!({"name": format!("slow-{i}")})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    org
}

/// Makes a change in the test app's organization and answers how long its
/// delivery took to reach `receiver`, which has had `before` so far.
async fn delivery_latency(app: &TestApp, receiver: &Receiver, before: usize, name: &str) -> Duration {
    let start = Instant::now();
    app.create_account(json!({"name": name})).await;
    let got = receiver.wait_for(before + 1).await;
    let body: Value = serde_json::from_str(&got[before].body).expect("json");
    assert_eq!(body["data"]["name"], name);
    start.elapsed()
}

/// The attacker's report: organization X registers 20 endpoints on a
/// receiver slower than the attempt timeout and makes 10 changes (200
/// deliveries); organization Y's next delivery must still arrive within
/// seconds. With the node's lanes as shipped (16, at most 4 per
/// organization), X holds 4 and never more, and never two on one endpoint.
#[tokio::test]
async fn a_slow_tenant_holds_only_its_own_lanes_and_another_tenants_delivery_arrives_within_seconds() {
    let mut limits = fast(true);
    limits.webhooks.timeout = Duration::from_secs(2);
    let shipped = WebhookSettings::default();
    assert_eq!((limits.webhooks.lanes, limits.webhooks.org_lanes), (shipped.lanes, shipped.org_lanes));
    let Some(app) = TestApp::spawn_with(Options { limits, ..Options::default() }).await else { return };
    let (slow, slow_url) = SlowReceiver::start(Duration::from_secs(60)).await;
    slow_tenant(&app, &slow_url, 20, 10).await;
    let (receiver, url) = Receiver::start(&[]).await;
    create_hook(&app, &url, &["account.*"]).await;

    let worker = keyward::webhooks::spawn(app.service.clone());
    // X's attempts fill its lanes, time out and are retried, again and again.
    slow.wait_for_seen(shipped.org_lanes).await;
    for round in 0..3 {
        let took = delivery_latency(&app, &receiver, round, &format!("y-{round}")).await;
        assert!(took < Duration::from_secs(3), "round {round}: Y's delivery took {took:?} behind the slow tenant");
        // Another wave of X's timed-out attempts comes before the next round.
        let seen = slow.state().3;
        slow.wait_for_seen(seen + shipped.org_lanes).await;
    }
    let (_, most, most_on_one, seen) = slow.state();
    assert!(seen >= 4 * shipped.org_lanes, "the slow tenant kept being tried: {seen}");
    assert_eq!(most, shipped.org_lanes, "X held at most its own lanes of the node");
    assert_eq!(most_on_one, 1, "one attempt at a time per endpoint");
    worker.abort();
}

/// When every lane is busy (here two, and one organization may hold them
/// all), the lane that frees first goes to the organization served longest
/// ago, not to the one with the oldest backlog.
#[tokio::test]
async fn when_every_lane_is_busy_the_next_free_one_goes_to_the_organization_whose_turn_it_is() {
    let mut limits = fast(true);
    limits.webhooks.timeout = Duration::from_secs(1);
    limits.webhooks.lanes = 2;
    limits.webhooks.org_lanes = 2;
    let Some(app) = TestApp::spawn_with(Options { limits, ..Options::default() }).await else { return };
    let (slow, slow_url) = SlowReceiver::start(Duration::from_secs(60)).await;
    slow_tenant(&app, &slow_url, 20, 3).await;
    let (receiver, url) = Receiver::start(&[]).await;
    create_hook(&app, &url, &["account.*"]).await;

    let worker = keyward::webhooks::spawn(app.service.clone());
    slow.wait_for_seen(2).await;
    for round in 0..2 {
        // Oldest first, Y would wait for X's other 18 endpoints: 9 s.
        let took = delivery_latency(&app, &receiver, round, &format!("turn-{round}")).await;
        assert!(took < Duration::from_millis(3500), "round {round}: Y waited {took:?} for its turn");
    }
    let (_, most, most_on_one, _) = slow.state();
    assert!(most <= 2 && most_on_one == 1, "{:?}", slow.state());
    worker.abort();
}

/// The claim itself, with time stopped: organizations take turns, then
/// each organization's endpoints, whatever was queued first; and an
/// organization holding all its lanes of a node is passed over.
#[tokio::test]
async fn claims_take_organizations_in_turn_then_their_endpoints_and_pass_over_one_at_its_lane_limit() {
    let clock = ManualClock::new(1_900_000_000);
    let options = Options { limits: fast(false), clock: Arc::new(clock.clone()), ..Options::default() };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let mut a_hooks = Vec::new();
    for i in 0..3 {
        let hook = create_hook(&app, &format!("https://93.184.215.14/a{i}"), &["account.*"]).await;
        a_hooks.push(hook["id"].as_str().expect("id").to_owned());
    }
    // A's six deliveries are queued before B's two.
    app.create_account(json!({"name": "a-1"})).await;
    app.create_account(json!({"name": "a-2"})).await;
    let b_org = app.create_org("Initech").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let body = json!({"url": "https://93.184.215.14/b", "events": ["account.*"]});
    assert_eq!(app.post_json(HOOKS, &b_admin, &body).await.status(), StatusCode::CREATED);
    for name in ["b-1", "b-2"] {
        assert_eq!(app.post_json(SA, &b_admin, &json!({"name": name})).await.status(), StatusCode::CREATED);
    }

    let s = &app.service;
    let delivered = Attempt::Delivered { status: 200 };
    let mut orgs = Vec::new();
    let mut a_endpoints = Vec::new();
    while let Some(c) = s.claim_webhook_delivery("worker", &[]).await.expect("claim") {
        let org = c.org_id.clone().expect("org").to_string();
        orgs.push(if org == app.org_id { "A" } else { "B" });
        if org == app.org_id {
            a_endpoints.push(c.delivery.endpoint_id.to_string());
        }
        assert!(s.finish_webhook_delivery("worker", &c.delivery, delivered.clone()).await.expect("finish"));
    }
    assert_eq!(orgs, ["A", "B", "A", "B", "A", "A", "A", "A"], "organizations take turns, not the oldest first");
    let expected: Vec<String> = a_hooks.iter().chain(a_hooks.iter()).cloned().collect();
    assert_eq!(a_endpoints, expected, "an organization's endpoints take turns too");

    // An organization at its lane limit on this node waits.
    app.create_account(json!({"name": "a-3"})).await;
    assert_eq!(app.post_json(SA, &b_admin, &json!({"name": "b-3"})).await.status(), StatusCode::CREATED);
    let (a, b) = (Id::parse(&app.org_id).expect("id"), Id::parse(&b_org).expect("id"));
    assert!(s.claim_webhook_delivery("worker", &[a.clone(), b.clone()]).await.expect("claim").is_none());
    let only_a = s.claim_webhook_delivery("worker", std::slice::from_ref(&b)).await.expect("claim").expect("A's");
    assert_eq!(only_a.org_id.as_ref(), Some(&a));
    let only_b = s.claim_webhook_delivery("worker", &[a]).await.expect("claim").expect("B's, though A's are older");
    assert_eq!(only_b.org_id.as_ref(), Some(&b));
}

/// Standard Webhooks' advice: an endpoint whose every attempt fails for
/// days is disabled. Time moves by the injected clock; the attempts are
/// real, to a receiver on loopback that answers 503.
#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_its_admins_are_emailed_and_the_trail_says_so() {
    const DAY: i64 = 86_400;
    let clock = ManualClock::new(1_900_000_000);
    let options = Options { limits: fast(true), clock: Arc::new(clock.clone()), ..Options::default() };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let org = Id::parse(&app.org_id).expect("id");
    let password = "correct horse battery staple".to_owned();
    let boss = Email::parse("boss@example.com").expect("email");
    app.service.create_user(&org, boss, Role::Admin, password.clone()).await.expect("an admin");
    let dev = Email::parse("dev@example.com").expect("email");
    app.service.create_user(&org, dev, Role::Editor, password).await.expect("an editor");
    // Four failures and a success, then failures only.
    let mut answers = vec![500; 4];
    answers.push(200);
    answers.extend([503; 100]);
    let (receiver, url) = Receiver::start(&answers).await;
    let hook_id = create_hook(&app, &url, &["account.*"]).await["id"].as_str().expect("id").to_owned();
    let one = format!("{HOOKS}/{hook_id}");
    let client = keyward::webhooks::client(&app.service.limits().webhooks).expect("client");
    let attempts = async |n: usize| {
        for _ in 0..n {
            assert!(keyward::webhooks::deliver_one(&app.service, &client).await.expect("attempt"), "one was due");
        }
    };
    let streak = async || failing_streak(&app).await;
    let disabled = async || endpoint(&app, &one).await;

    let t0 = app.service.now();
    app.create_account(json!({"name": "a"})).await;
    attempts(5).await;
    assert_eq!(streak().await, (0, None), "a success ends the streak");
    app.create_account(json!({"name": "b"})).await;
    attempts(12).await;
    assert_eq!(streak().await, (12, Some(t0)));
    // Four days on: b's delivery is given up on, the endpoint is not.
    clock.advance(4 * DAY);
    app.create_account(json!({"name": "c"})).await;
    attempts(7).await;
    assert_eq!(streak().await, (19, Some(t0)));
    assert_eq!(disabled().await["disabled"], false, "failing for four days");
    // Five days and a minute after the first failure: c's next attempt,
    // failing, is the one too many. d is queued behind it.
    clock.advance(DAY + 60);
    app.create_account(json!({"name": "d"})).await;
    attempts(1).await;
    let hook = disabled().await;
    assert_eq!(hook["disabled"], true, "{hook}");
    let reason = hook["disabledReason"].as_str().expect("a reason");
    assert!(reason.contains("5 days") && reason.contains("20 attempts") && reason.contains("503"), "{reason}");
    attempts(1).await;
    let listed = deliveries(&app, &hook_id).await;
    assert_eq!(listed[0]["status"], "failed", "d is cancelled: {}", listed[0]);
    assert!(listed[0]["lastError"].as_str().expect("error").contains("disabled"));
    assert!(!keyward::webhooks::deliver_one(&app.service, &client).await.expect("attempt"), "nothing more is due");
    assert_eq!(receiver.got().len(), 25, "no request after the endpoint was disabled");

    // The trail: webhook.disabled, by keyward itself.
    let res = app.get("/api/audit/v1/event?action=webhook.disabled", &app.admin_key).await;
    let trail: Value = res.json().await.expect("json");
    let events = trail["items"].as_array().expect("items");
    assert_eq!(events.len(), 1, "{trail}");
    assert_eq!(events[0]["actorKind"], "system");
    assert_eq!(events[0]["targetId"], hook_id.as_str());
    assert_eq!(events[0]["detail"]["failures"], 20);
    assert_eq!(events[0]["detail"]["failingSince"], t0);

    // The organization's admin is told by email; the editor is not.
    let smtp = SmtpServer::start();
    let _mail = super::mail::start(&app, super::mail::config(&app, Some(&smtp.url())));
    let sent = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].envelope_to, vec!["boss@example.com".to_owned()]);
    let mail = Mail::parse(&sent[0].data);
    assert!(mail.subject.contains("was disabled") && mail.subject.contains("/hook"), "{}", mail.subject);
    assert!(mail.text.contains(&hook_id) && mail.text.contains("20 attempts") && mail.text.contains("503"));

    // Enabled again, the endpoint starts afresh: one failure does not
    // disable it.
    let res = app.patch_json(&one, &app.admin_key, &json!({"disabled": false})).await;
    let enabled: Value = res.json().await.expect("json");
    assert_eq!((enabled["disabled"].clone(), enabled["disabledReason"].clone()), (json!(false), Value::Null));
    app.create_account(json!({"name": "e"})).await;
    attempts(1).await;
    assert_eq!(streak().await, (1, Some(app.service.now())));
    assert_eq!(disabled().await["disabled"], false);
}

/// Each change a receiver is told of is announced by its own use case, in
/// its transaction, as exactly one event; changes without an event (a key
/// renamed, the organization's policy, an endpoint's own changes) announce
/// nothing. No worker runs: the queue is read as each change left it.
#[tokio::test]
async fn each_change_announces_its_own_event_and_no_other() {
    let Some(app) = TestApp::spawn().await else { return };
    let hook = create_hook(&app, "https://93.184.215.14/all", &["account.*", "key.*", "user.*"]).await;
    let hook = hook["id"].as_str().expect("id").to_owned();
    let events = async || -> Vec<String> {
        let mut items = deliveries(&app, &hook).await;
        items.reverse();
        items.iter().map(|d| d["eventType"].as_str().expect("type").to_owned()).collect()
    };
    let ok = |res: reqwest::Response| {
        assert!(res.status().is_success(), "{}", res.status());
        res
    };
    let admin = &app.admin_key;

    let account = app.create_account(json!({"name": "announced"})).await;
    let account = format!("{SA}/{}", account["id"].as_str().expect("id"));
    ok(app.patch_json(&account, admin, &json!({"name": "announced-2"})).await);
    let key: Value =
        ok(app.post_json(&format!("{account}/key"), admin, &json!({"name": "k"})).await).json().await.expect("json");
    let key = format!("{account}/key/{}", key["keyId"].as_str().expect("id"));
    ok(app.patch_json(&key, admin, &json!({"name": "renamed"})).await);
    ok(app.patch_json(&key, admin, &json!({"disabled": true})).await);
    ok(app.patch_json(&key, admin, &json!({"disabled": false})).await);
    let rotated: Value =
        ok(app.post_json(&format!("{key}/rotate"), admin, &json!({})).await).json().await.expect("json");
    ok(app.delete(&format!("{account}/key/{}", rotated["keyId"].as_str().expect("id")), admin).await);
    ok(app.delete(&account, admin).await);
    ok(app.post_json(&format!("{account}/undelete"), admin, &json!({})).await);
    let user: Value =
        ok(app.post_json("/api/user/v1/user", admin, &json!({"email": "new@example.com", "role": "viewer"})).await)
            .json()
            .await
            .expect("json");
    let user = format!("/api/user/v1/user/{}", user["id"].as_str().expect("id"));
    ok(app.patch_json(&user, admin, &json!({"role": "editor"})).await);
    ok(app.delete(&user, admin).await);
    ok(app.patch_json(&format!("/api/org/v1/org/{}", app.org_id), admin, &json!({"requireExpiry": false})).await);
    ok(app.patch_json(&format!("{HOOKS}/{hook}"), admin, &json!({"events": ["account.*", "key.*", "user.*"]})).await);

    assert_eq!(
        events().await,
        [
            "account.created",
            "account.updated",
            "key.created",
            "key.disabled",
            "key.enabled",
            "key.rotated",
            "key.created",
            "key.deleted",
            "account.deleted",
            "account.restored",
            "user.added",
            "user.updated",
            "user.removed",
        ]
    );
    // Each tells who did it to what, with the trail's detail.
    let mut conn = app.store.read().await.expect("conn");
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM webhook_deliveries ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("select");
    drop(conn);
    let disabled: Value = serde_json::from_str(&payloads[3]).expect("json");
    assert_eq!(disabled["type"], "key.disabled");
    let data = &disabled["data"];
    assert_eq!(
        format!("{SA}/{}/key/{}", data["serviceAccountId"].as_str().expect("id"), data["keyId"].as_str().expect("id")),
        key
    );
    assert_eq!(data["orgId"], app.org_id.as_str());
    assert_eq!(data["disabled"], true);
    assert_eq!(data["actor"]["kind"], "serviceAccount");
    assert!(data["actor"]["id"].is_string() && data["actor"]["keyId"].is_string(), "{data}");
}
