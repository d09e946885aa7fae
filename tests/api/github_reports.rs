//! GitHub's secret-scanning reports: signed with a P-256 key of the
//! configured set (made here at test time), each live keyward key reported
//! is disabled (or only recorded) and audited, and the answer is GitHub's
//! feedback format. Anything unsigned, or signed wrong, changes nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward::domain::leak_report::ReportKeys;
use keyward::domain::{Role, Secret};
use keyward::http::api::leaks::LeakReports;
use keyward::service::leaks::LeakAction;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Options, SA, TestApp, problem};

const REPORT: &str = "/api/leak/v1/github";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const EVENTS: &str = "/api/audit/v1/event";

fn new_key() -> SigningKey {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("randomness");
    SigningKey::from_slice(&bytes).expect("a P-256 key")
}

/// GitHub's public_keys JSON for `keys`.
fn keys_json(keys: &[(&str, &SigningKey, bool)]) -> String {
    let list: Vec<Value> = keys
        .iter()
        .map(|(id, key, current)| {
            let pem = key.verifying_key().to_public_key_pem(LineEnding::LF).expect("pem");
            json!({"key_identifier": id, "key": pem, "is_current": current})
        })
        .collect();
    json!({ "public_keys": list }).to_string()
}

struct Reporter {
    app: TestApp,
    current: SigningKey,
    old: SigningKey,
}

async fn reporter(action: LeakAction) -> Option<Reporter> {
    let (current, old) = (new_key(), new_key());
    let keys =
        ReportKeys::from_json(&keys_json(&[("current-id", &current, true), ("old-id", &old, false)])).expect("keys");
    let app =
        TestApp::spawn_with(Options { leak_reports: Some(LeakReports { keys, action }), ..Options::default() }).await?;
    Some(Reporter { app, current, old })
}

/// Signed in the canonical, low-S form, the only one keyward accepts.
fn sign(key: &SigningKey, body: &[u8]) -> String {
    let signature: Signature = key.sign(body);
    let signature = signature.normalize_s().unwrap_or(signature);
    STANDARD.encode(signature.to_der().as_bytes())
}

async fn send(app: &TestApp, body: &[u8], key_id: Option<&str>, signature: Option<&str>) -> reqwest::Response {
    let mut req = app.client.post(app.url(REPORT)).header("Content-Type", "application/json").body(body.to_vec());
    if let Some(id) = key_id {
        req = req.header("Github-Public-Key-Identifier", id);
    }
    if let Some(signature) = signature {
        req = req.header("Github-Public-Key-Signature", signature);
    }
    req.send().await.expect("request")
}

async fn report(r: &Reporter, body: &Value) -> Vec<Value> {
    let bytes = body.to_string().into_bytes();
    let res = send(&r.app, &bytes, Some("current-id"), Some(&sign(&r.current, &bytes))).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("feedback")
}

fn token(secret: &str, url: &str) -> Value {
    json!({"token": secret, "type": "keyward_api_key", "url": url, "source": "content"})
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

async fn works(app: &TestApp, secret: &str) -> bool {
    app.get(WHOAMI, secret).await.status() == StatusCode::OK
}

async fn leak_events(app: &TestApp) -> Vec<Value> {
    let page: Value = app.get(&format!("{EVENTS}?limit=200"), &app.admin_key).await.json().await.expect("json");
    page["items"].as_array().expect("items").iter().filter(|e| e["action"] == "key.leaked").cloned().collect()
}

#[tokio::test]
async fn a_signed_report_disables_live_keys_and_answers_in_githubs_format() {
    let Some(r) = reporter(LeakAction::Disable).await else { return };
    let app = &r.app;
    let (account, live) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let (_, disabled_key, disabled) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let disabled_account = app.get(WHOAMI, &disabled).await.json::<Value>().await.expect("json")["id"].clone();
    let path = format!("{SA}/{}/key/{disabled_key}", disabled_account.as_str().expect("id"));
    assert_eq!(app.patch_json(&path, &app.admin_key, &json!({"disabled": true})).await.status(), StatusCode::OK);
    let unknown = Secret::mint().expect("randomness").expose().to_owned();
    let url = "https://github.com/acme/app/blob/abc/config.yml";
    let body = json!([
        token(&live, url),
        token("kw_not-a-real-key", url),
        token(&unknown, url),
        token(&disabled, url),
        {"token": live, "type": "keyward_api_key", "url": url, "source": "commit", "extra": "ignored"},
    ]);
    let feedback = report(&r, &body).await;
    let labels: Vec<&str> = feedback.iter().map(|f| f["label"].as_str().expect("label")).collect();
    assert_eq!(labels, ["true_positive", "false_positive", "false_positive", "false_positive", "true_positive"]);
    for (entry, sent) in feedback.iter().zip(body.as_array().expect("array")) {
        assert_eq!(entry["token_hash"], sha256_hex(sent["token"].as_str().expect("token")));
        assert_eq!(entry["token_type"], "keyward_api_key");
        assert_eq!(entry.as_object().expect("object").len(), 3, "exactly GitHub's fields: {entry}");
    }
    assert!(!works(app, &live).await, "disabled at once");
    let events = leak_events(app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = &events[0]["detail"];
    assert_eq!((detail["source"].as_str(), detail["url"].as_str()), (Some("github"), Some(url)));
    assert_eq!((detail["foundIn"].as_str(), detail["action"].as_str()), (Some("content"), Some("disable")));
    assert_eq!(detail["serviceAccountId"], account.as_str());

    // The same report again (GitHub retries): nothing is live any more.
    let again = report(&r, &body).await;
    assert!(again.iter().all(|f| f["label"] == "false_positive"));
    assert_eq!(leak_events(app).await.len(), 1);

    // GitHub's older key still verifies (reports sent around its rotation).
    let (_, other) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let bytes = json!([token(&other, url)]).to_string().into_bytes();
    let res = send(app, &bytes, Some("old-id"), Some(&sign(&r.old, &bytes))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!works(app, &other).await);
}

#[tokio::test]
async fn an_unsigned_or_wrongly_signed_report_is_refused_and_changes_nothing() {
    let Some(r) = reporter(LeakAction::Disable).await else { return };
    let app = &r.app;
    let (_, live) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let body = json!([token(&live, "https://github.com/x")]).to_string().into_bytes();
    let good = sign(&r.current, &body);
    let stranger = sign(&new_key(), &body);
    let other_body = sign(&r.current, b"[]");
    let oversized = "A".repeat(4000);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let cases: Vec<(&[u8], Option<&str>, Option<&str>)> = vec![
        (&body, None, None),
        (&body, Some("current-id"), None),
        (&body, None, Some(&good)),
        (&body, Some("no-such-id"), Some(&good)),
        (&body, Some("old-id"), Some(&good)),
        (&body, Some("current-id"), Some(&stranger)),
        (&body, Some("current-id"), Some(&other_body)),
        (&tampered, Some("current-id"), Some(&good)),
        (&body, Some("current-id"), Some("not base64!")),
        (&body, Some("current-id"), Some("bm90IGEgc2lnbmF0dXJl")),
        (&body, Some("current-id"), Some(&oversized)),
    ];
    for (i, (body, id, signature)) in cases.into_iter().enumerate() {
        let res = send(app, body, id, signature).await;
        assert!(res.headers().contains_key("www-authenticate"), "case {i}");
        problem(res, StatusCode::UNAUTHORIZED).await;
    }
    assert!(works(app, &live).await, "nothing was revoked");
    assert!(leak_events(app).await.is_empty());
}

#[tokio::test]
async fn with_notify_a_reported_key_is_only_recorded() {
    let Some(r) = reporter(LeakAction::Notify).await else { return };
    let app = &r.app;
    let (_, live) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let feedback = report(&r, &json!([token(&live, "https://gist.github.com/x")])).await;
    assert_eq!(feedback[0]["label"], "true_positive");
    assert!(works(app, &live).await, "still working: the admins decide");
    let events = leak_events(app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["action"], "notify");
}

#[tokio::test]
async fn without_configured_keys_the_endpoint_does_not_exist() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, live) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let body = json!([token(&live, "u")]).to_string().into_bytes();
    let res = send(&app, &body, Some("current-id"), Some(&sign(&new_key(), &body))).await;
    problem(res, StatusCode::NOT_FOUND).await;
    assert!(works(&app, &live).await);
}

#[tokio::test]
async fn signed_junk_is_refused_naming_what_is_wrong() {
    let Some(r) = reporter(LeakAction::Disable).await else { return };
    let app = &r.app;
    let (_, live) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let too_many: Vec<Value> = (0..1001).map(|_| json!({"token": "x"})).collect();
    for body in [json!({"token": live}), json!([{"type": "keyward_api_key"}]), json!([{"token": 5}]), json!(too_many)] {
        let bytes = body.to_string().into_bytes();
        let res = send(app, &bytes, Some("current-id"), Some(&sign(&r.current, &bytes))).await;
        problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let bytes = b"[{\"token\": ".to_vec();
    let res = send(app, &bytes, Some("current-id"), Some(&sign(&r.current, &bytes))).await;
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let bytes = format!("[{{\"token\": \"{}\"}}]", "k".repeat(200 * 1024)).into_bytes();
    let res = send(app, &bytes, Some("current-id"), Some(&sign(&r.current, &bytes))).await;
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(works(app, &live).await);
    assert!(leak_events(app).await.is_empty());
}

#[tokio::test]
async fn a_report_acted_on_is_not_acted_on_again_and_only_low_s_signatures_count() {
    let Some(r) = reporter(LeakAction::Disable).await else { return };
    let app = &r.app;
    let (_, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let account = app.get(WHOAMI, &secret).await.json::<Value>().await.expect("json")["id"].clone();
    let path = format!("{SA}/{}/key/{key_id}", account.as_str().expect("id"));
    let bytes = json!([token(&secret, "https://github.com/acme/app/blob/1/a.yml")]).to_string().into_bytes();
    let low = sign(&r.current, &bytes);

    // The high-S twin of the valid signature is refused and changes nothing.
    let der = STANDARD.decode(&low).expect("base64");
    let (r_part, s_part) = Signature::from_der(&der).expect("der").split_scalars();
    let twin = Signature::from_scalars(r_part, -s_part).expect("twin");
    let res = send(app, &bytes, Some("current-id"), Some(&STANDARD.encode(twin.to_der().as_bytes()))).await;
    problem(res, StatusCode::UNAUTHORIZED).await;
    assert!(works(app, &secret).await);

    // The report itself disables the key.
    let res = send(app, &bytes, Some("current-id"), Some(&low)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!works(app, &secret).await);
    // An admin judges it a false alarm and enables the key again.
    assert_eq!(app.patch_json(&path, &app.admin_key, &json!({"disabled": false})).await.status(), StatusCode::OK);
    assert!(works(app, &secret).await);

    // The same signed report, sent again, changes nothing.
    let res = send(app, &bytes, Some("current-id"), Some(&low)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let feedback: Vec<Value> = res.json().await.expect("feedback");
    assert_eq!(feedback[0]["label"], "true_positive", "it is still a live key");
    assert!(works(app, &secret).await, "a replay disables nothing");
    assert_eq!(leak_events(app).await.len(), 1, "and records nothing");

    // The control: a new report of the same secret (found somewhere else) acts.
    let fresh = json!([token(&secret, "https://github.com/acme/app/blob/2/b.yml")]);
    report(&r, &fresh).await;
    assert!(!works(app, &secret).await);
    assert_eq!(leak_events(app).await.len(), 2);
}
