//! Self-revocation: whoever holds a secret may revoke it without any other
//! credential; the answer is the same whatever was sent, junk is bounded and
//! refused, and the endpoint is throttled like failed credentials.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use keyward::domain::clock::ManualClock;
use keyward::domain::{Role, Secret};
use keyward::service::Limits;
use keyward::service::throttle::ThrottlePolicy;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

const REVOKE: &str = "/api/leak/v1/revoke";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const EVENTS: &str = "/api/audit/v1/event";
const NOW: i64 = 1_800_000_000;

fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet))).build().expect("client")
}

async fn revoke_from(app: &TestApp, client: &reqwest::Client, body: &Value) -> reqwest::Response {
    client.post(app.url(REVOKE)).json(body).send().await.expect("request")
}

async fn revoke(app: &TestApp, body: &Value) -> reqwest::Response {
    revoke_from(app, &app.client, body).await
}

fn unknown_secret() -> String {
    Secret::mint().expect("randomness").expose().to_owned()
}

async fn works(app: &TestApp, secret: &str) -> bool {
    app.get(WHOAMI, secret).await.status() == StatusCode::OK
}

/// The `key.leaked` events of the organization `admin` administers.
async fn leak_events(app: &TestApp, admin: &str) -> Vec<Value> {
    let page: Value = app.get(&format!("{EVENTS}?limit=200"), admin).await.json().await.expect("json");
    page["items"].as_array().expect("items").iter().filter(|e| e["action"] == "key.leaked").cloned().collect()
}

/// (status, content type, body) of an answer, to compare answers whole.
async fn shape(res: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let status = res.status();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().expect("ascii").to_owned());
    (status, content_type, res.text().await.expect("body"))
}

#[tokio::test]
async fn holding_a_secret_is_enough_to_revoke_it_and_the_answer_tells_nothing() {
    let clock = ManualClock::new(NOW);
    let Some(app) = TestApp::spawn_with(Options { clock: Arc::new(clock.clone()), ..Options::default() }).await else {
        return;
    };
    let account = app.create_account(json!({"name": "leaky"})).await;
    let id = account["id"].as_str().expect("id");
    let live = app.create_key(id).await;
    let live_secret = live["secret"].as_str().expect("secret").to_owned();
    let short = app.post_json(&format!("{SA}/{id}/key"), &app.admin_key, &json!({"expiresIn": 10})).await;
    let short: Value = short.json().await.expect("json");
    let bystander = app.create_key(id).await;
    let other_org = app.create_org("Globex").await;
    let other_admin = app.key_with_role(&other_org, Role::Admin).await;
    let theirs = app.key_with_role(&other_org, Role::Viewer).await;
    clock.advance(11);

    let junk_only = shape(revoke(&app, &json!({"secrets": ["junk", "kw_short", unknown_secret()]})).await).await;
    assert_eq!(junk_only.0, StatusCode::ACCEPTED);
    let res = revoke(
        &app,
        &json!({"secrets": [
            live_secret, format!("  {theirs}\n"), "not a key", unknown_secret(), live_secret,
            short["secret"], "kw_".repeat(30),
        ]}),
    )
    .await;
    assert_eq!(shape(res).await, junk_only, "the same answer whatever the secrets are");
    assert!(!works(&app, &live_secret).await, "revoked at once");
    assert!(!works(&app, &theirs).await, "any organization's key");
    assert!(works(&app, bystander["secret"].as_str().expect("secret")).await, "others untouched");
    assert!(works(&app, &app.admin_key).await);

    let events = leak_events(&app, &app.admin_key).await;
    assert_eq!(events.len(), 1, "one event for the live key, none for the expired one: {events:?}");
    assert_eq!(events[0]["targetId"], live["keyId"]);
    assert_eq!(events[0]["actorKind"], "anonymous");
    assert_eq!(events[0]["detail"]["source"], "self-revocation");
    assert_eq!(events[0]["detail"]["serviceAccountId"], id);
    assert!(events[0]["clientIp"].is_string());
    assert_eq!(leak_events(&app, &other_admin).await.len(), 1);
    // The key shows as disabled to its admins.
    let keys: Value = app.get(&format!("{SA}/{id}/key"), &app.admin_key).await.json().await.expect("json");
    let listed = keys.as_array().expect("keys").iter().find(|k| k["keyId"] == live["keyId"]).cloned().expect("key");
    assert_eq!(listed["disabled"], true);

    // Replayed: the same answer, nothing more recorded.
    let again = shape(revoke(&app, &json!({"secrets": [live_secret]})).await).await;
    assert_eq!(again, junk_only);
    assert_eq!(leak_events(&app, &app.admin_key).await.len(), 1);
}

#[tokio::test]
async fn a_deleted_accounts_leaked_key_stays_revoked_when_the_account_is_restored() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "gone with a leak"})).await;
    let id = account["id"].as_str().expect("id");
    let key = app.create_key(id).await;
    let secret = key["secret"].as_str().expect("secret");
    assert_eq!(app.delete(&format!("{SA}/{id}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(revoke(&app, &json!({"secrets": [secret]})).await.status(), StatusCode::ACCEPTED);
    let res = app.request(Method::POST, &format!("{SA}/{id}/undelete"), &app.admin_key).send().await.expect("req");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!works(&app, secret).await, "the leaked key does not come back");
}

#[tokio::test]
async fn junk_and_oversized_bodies_are_refused_and_change_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, secret) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let cases = [
        (json!({}), "secrets"),
        (json!({"secrets": secret}), "secrets"),
        (json!({"secrets": [secret, 7]}), "secrets[1]"),
        (json!({"secrets": [secret, null]}), "secrets[1]"),
        (json!({"secrets": [secret], "reason": "oops"}), "reason"),
        (json!([secret]), "body"),
    ];
    for (body, field) in cases {
        let answer = problem(revoke(&app, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(answer["field"], field, "{body}");
    }
    // One more than the limit: refused whole, even with a live key in it.
    let mut many: Vec<String> = (0..1000).map(|_| unknown_secret()).collect();
    many.push(secret.clone());
    let answer = problem(revoke(&app, &json!({"secrets": many})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(answer["field"], "secrets");
    let res = app
        .client
        .post(app.url(REVOKE))
        .header("Content-Type", "application/json")
        .body(format!("{{\"secrets\": [\"{}\"]}}", "k".repeat(200 * 1024)))
        .send()
        .await
        .expect("request");
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let res = app.client.post(app.url(REVOKE)).header("Content-Type", "application/json").body("{\"secrets\": [");
    problem(res.send().await.expect("request"), StatusCode::BAD_REQUEST).await;
    let res = app.client.post(app.url(REVOKE)).header("Content-Type", "text/plain").body(secret.clone());
    problem(res.send().await.expect("request"), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(works(&app, &secret).await, "nothing refused revoked anything");
    assert!(leak_events(&app, &app.admin_key).await.is_empty());

    // The limit itself fits, though it is over the API's usual 64 KiB.
    let mut full: Vec<String> = (0..999).map(|_| unknown_secret()).collect();
    full.push(secret.clone());
    assert!(json!({"secrets": full}).to_string().len() > 64 * 1024);
    assert_eq!(revoke(&app, &json!({"secrets": full})).await.status(), StatusCode::ACCEPTED);
    assert!(!works(&app, &secret).await);
}

#[tokio::test]
async fn every_call_counts_against_the_address_like_a_failed_credential() {
    let limits =
        Limits { throttle: ThrottlePolicy { max_failures: 3, window: Duration::from_secs(60) }, ..Limits::default() };
    let Some(app) = TestApp::spawn_with(Options { limits, ..Options::default() }).await else { return };
    let (_, secret) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let hammer = client_from(7);
    for _ in 0..3 {
        let res = revoke_from(&app, &hammer, &json!({"secrets": [unknown_secret()]})).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    // Past the limit: refused, and nothing is revoked.
    let res = revoke_from(&app, &hammer, &json!({"secrets": [secret]})).await;
    assert!(res.headers().contains_key("retry-after"));
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    let res = revoke_from(&app, &hammer, &json!({"secrets": 5})).await;
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(works(&app, &secret).await);
    // The same address's failed keys are throttled too: one budget.
    assert_eq!(
        hammer.get(app.url(WHOAMI)).header("Authorization", unknown_secret()).send().await.expect("req").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another address is not.
    let res = revoke_from(&app, &client_from(8), &json!({"secrets": [secret]})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(!works(&app, &secret).await);
}
