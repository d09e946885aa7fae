//! Webhooks: admins' endpoints and their validation, private
//! targets refused, and deliveries to a real receiver on loopback — signed
//! as Standard Webhooks (checked by an independent implementation, Python's
//! `standardwebhooks`), retried, kept in order per endpoint, and sent once
//! by two workers sharing one database.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use keyward::domain::Role;
use keyward::service::webhooks::WebhookSettings;
use keyward::service::{Limits, Service};
use keyward::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

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
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "only {} of {n} deliveries arrived: {got:?}", got.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let items = deliveries(app, hook).await;
        if items.len() >= n && items.iter().all(|d| d["status"] != "pending") {
            return items;
        }
        assert!(Instant::now() < deadline, "deliveries still pending: {items:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
        assert!(d["lastError"].as_str().expect("error").contains("private"), "{d}");
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
    let a = s.claim_webhook_delivery("worker-a").await.expect("claim").expect("one is due");
    assert!(
        s.claim_webhook_delivery("worker-b").await.expect("claim").is_none(),
        "leased, and the next one waits its turn"
    );
    clock.advance(31);
    let b = s.claim_webhook_delivery("worker-b").await.expect("claim").expect("the lease ran out");
    assert_eq!(a.delivery.id, b.delivery.id, "the same, oldest delivery");
    let delivered = keyward::service::webhooks::Attempt::Delivered { status: 200 };
    assert!(
        !s.finish_webhook_delivery("worker-a", &a.delivery, delivered.clone()).await.expect("finish"),
        "a's lease is gone"
    );
    assert!(s.finish_webhook_delivery("worker-b", &b.delivery, delivered.clone()).await.expect("finish"));
    assert!(!s.finish_webhook_delivery("worker-b", &b.delivery, delivered).await.expect("finish"), "recorded once");
    let next = s.claim_webhook_delivery("worker-a").await.expect("claim").expect("the second is due now");
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
