//! The organization's key policy: its admins set the longest lifetime of a
//! key and whether every key must expire; the server's limits still cap it.

use std::sync::Arc;
use std::time::Duration;

use keyward::domain::Role;
use keyward::domain::clock::ManualClock;
use keyward::service::Limits;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

const ORGS: &str = "/api/org/v1/org";
const EVENTS: &str = "/api/audit/v1/event";
const NOW: i64 = 1_800_000_000;

async fn app_with(limits: Limits) -> Option<(TestApp, ManualClock)> {
    let clock = ManualClock::new(NOW);
    let app = TestApp::spawn_with(Options { limits, clock: Arc::new(clock.clone()), ..Options::default() }).await?;
    Some((app, clock))
}

fn org_path(app: &TestApp) -> String {
    format!("{ORGS}/{}", app.org_id)
}

async fn set_policy(app: &TestApp, body: Value) -> Value {
    let res = app.patch_json(&org_path(app), &app.admin_key, &body).await;
    assert_eq!(res.status(), StatusCode::OK, "patch {body}");
    res.json().await.expect("json")
}

/// The organization as `GET /api/org/v1/org` shows it to `key`.
async fn listed(app: &TestApp, key: &str) -> Value {
    let page: Value = app.get(ORGS, key).await.json().await.expect("json");
    page["items"].as_array().expect("items").iter().find(|o| o["id"] == app.org_id.as_str()).cloned().expect("org")
}

async fn new_account(app: &TestApp, name: &str) -> String {
    app.create_account(json!({"name": name})).await["id"].as_str().expect("id").to_owned()
}

async fn key_for(app: &TestApp, account: &str, body: Value) -> reqwest::Response {
    app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &body).await
}

#[tokio::test]
async fn admins_set_the_longest_lifetime_and_keys_beyond_it_are_refused() {
    let Some((app, _clock)) = app_with(Limits::default()).await else { return };
    let before = listed(&app, &app.admin_key).await;
    assert_eq!((before["maxKeyLifetime"].clone(), before["requireExpiry"].clone()), (Value::Null, json!(false)));

    let org = set_policy(&app, json!({"maxKeyLifetime": 3600})).await;
    assert_eq!(org["id"], app.org_id.as_str());
    assert_eq!((org["maxKeyLifetime"].clone(), org["requireExpiry"].clone()), (json!(3600), json!(false)));
    let viewer = app.key_with_role(&app.org_id, Role::Viewer).await;
    assert_eq!(listed(&app, &viewer).await["maxKeyLifetime"], 3600, "everyone sees the policy");

    let account = new_account(&app, "capped").await;
    let keys_before = app.count_rows("api_keys").await;
    let res = key_for(&app, &account, json!({"expiresIn": 3601})).await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["field"], "expiresIn");
    assert!(body["detail"].as_str().expect("detail").contains("organization"), "{body}");
    let res = key_for(&app, &account, json!({"expires": NOW + 3601})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "expires");
    assert_eq!(app.count_rows("api_keys").await, keys_before, "nothing made");

    let res = key_for(&app, &account, json!({"expiresIn": 3600})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // None asked: the organization's maximum is the lifetime.
    let key: Value = key_for(&app, &account, json!({})).await.json().await.expect("json");
    assert_eq!(key["expires"], NOW + 3600);
    let rotated = app
        .post_json(
            &format!("{SA}/{account}/key/{}/rotate", key["keyId"].as_str().expect("keyId")),
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::CREATED);
    assert_eq!(rotated.json::<Value>().await.expect("json")["expires"], NOW + 3600, "successors too");

    // Lifting the maximum: null.
    let org = set_policy(&app, json!({"maxKeyLifetime": null})).await;
    assert_eq!(org["maxKeyLifetime"], Value::Null);
    let key: Value = key_for(&app, &account, json!({})).await.json().await.expect("json");
    assert_eq!(key["expires"], Value::Null);

    let events: Value = app.get(&format!("{EVENTS}?limit=200"), &app.admin_key).await.json().await.expect("json");
    let updates: Vec<&Value> =
        events["items"].as_array().expect("items").iter().filter(|e| e["action"] == "org.update").collect();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|e| e["targetId"] == app.org_id.as_str() && e["targetKind"] == "org"));
    assert!(updates.iter().any(|e| e["detail"]["maxKeyLifetime"] == json!({"from": null, "to": 3600})));
}

#[tokio::test]
async fn the_smaller_of_the_server_limit_and_the_policy_wins() {
    let limits = Limits { max_key_lifetime: Some(Duration::from_secs(600)), ..Limits::default() };
    let Some((app, _clock)) = app_with(limits).await else { return };
    let account = new_account(&app, "doubly capped").await;
    // The organization allows more than the server: the server's limit holds.
    set_policy(&app, json!({"maxKeyLifetime": 3600})).await;
    let body =
        problem(key_for(&app, &account, json!({"expiresIn": 601})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body["detail"].as_str().expect("detail").contains("server"), "{body}");
    let key: Value = key_for(&app, &account, json!({})).await.json().await.expect("json");
    assert_eq!(key["expires"], NOW + 600);
    // The organization allows less: its policy holds.
    set_policy(&app, json!({"maxKeyLifetime": 300})).await;
    let res = key_for(&app, &account, json!({"expiresIn": 301})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "expiresIn");
    let key: Value = key_for(&app, &account, json!({})).await.json().await.expect("json");
    assert_eq!(key["expires"], NOW + 300);
}

#[tokio::test]
async fn required_expiry_refuses_keys_without_a_lifetime() {
    let Some((app, _clock)) = app_with(Limits::default()).await else { return };
    let account = new_account(&app, "must expire").await;
    let forever: Value = key_for(&app, &account, json!({})).await.json().await.expect("json");
    let finite: Value = key_for(&app, &account, json!({"expiresIn": 1000})).await.json().await.expect("json");
    assert_eq!(set_policy(&app, json!({"requireExpiry": true})).await["requireExpiry"], true);

    let keys_before = app.count_rows("api_keys").await;
    let body = problem(key_for(&app, &account, json!({})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["field"], "expires");
    assert!(body["detail"].as_str().expect("detail").contains("requires"), "{body}");
    // The key made before the policy keeps working; it is not rotated into
    // a key without a lifetime.
    let rotate = |key: &Value| format!("{SA}/{account}/key/{}/rotate", key["keyId"].as_str().expect("keyId"));
    let res = app.post_json(&rotate(&forever), &app.admin_key, &json!({})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "expires");
    assert_eq!(app.count_rows("api_keys").await, keys_before, "nothing made");
    let whoami = "/api/service-account/v1/whoami";
    assert_eq!(app.get(whoami, forever["secret"].as_str().expect("secret")).await.status(), StatusCode::OK);
    // A key with a lifetime rotates into one with the same lifetime.
    let res = app.post_json(&rotate(&finite), &app.admin_key, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.expect("json")["expires"], NOW + 1000);
    let res = key_for(&app, &account, json!({"expiresIn": 50})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // With a maximum as well, a key asked without a lifetime gets the maximum.
    set_policy(&app, json!({"maxKeyLifetime": 7200})).await;
    let key: Value = key_for(&app, &account, json!({})).await.json().await.expect("json");
    assert_eq!(key["expires"], NOW + 7200);
}

#[tokio::test]
async fn only_the_organizations_admins_may_change_it() {
    let Some(app) = TestApp::spawn().await else { return };
    let path = org_path(&app);
    let body = json!({"maxKeyLifetime": 60, "requireExpiry": true});
    for role in [Role::Viewer, Role::Editor] {
        let key = app.key_with_role(&app.org_id, role).await;
        problem(app.patch_json(&path, &key, &body).await, StatusCode::FORBIDDEN).await;
    }
    // Another organization's admin: not found, pinned or not.
    let other = app.create_org("Globex").await;
    let stranger = app.key_with_role(&other, Role::Admin).await;
    problem(app.patch_json(&path, &stranger, &body).await, StatusCode::NOT_FOUND).await;
    let res = app.request(Method::PATCH, &format!("{path}?orgId={}", app.org_id), &stranger).json(&body).send().await;
    problem(res.expect("request"), StatusCode::FORBIDDEN).await;
    // Unknown and malformed ids look alike.
    let unknown = format!("{ORGS}/{}", keyward::domain::Id::generate());
    problem(app.patch_json(&unknown, &app.admin_key, &body).await, StatusCode::NOT_FOUND).await;
    problem(app.patch_json(&format!("{ORGS}/..%2f"), &app.admin_key, &body).await, StatusCode::NOT_FOUND).await;
    // The stranger's own organization is theirs to change.
    let res = app.patch_json(&format!("{ORGS}/{other}"), &stranger, &json!({"requireExpiry": true})).await;
    assert_eq!(res.status(), StatusCode::OK);

    let org = listed(&app, &app.admin_key).await;
    assert_eq!((org["maxKeyLifetime"].clone(), org["requireExpiry"].clone()), (Value::Null, json!(false)));
    let events: Value = app.get(EVENTS, &app.admin_key).await.json().await.expect("json");
    assert!(events["items"].as_array().expect("items").iter().all(|e| e["action"] != "org.update"));
}

#[tokio::test]
async fn junk_is_refused_naming_the_field_and_changes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let path = org_path(&app);
    set_policy(&app, json!({"maxKeyLifetime": 86_400})).await;
    let cases = [
        (json!({"maxKeyLifetime": 0}), "maxKeyLifetime"),
        (json!({"maxKeyLifetime": -5}), "maxKeyLifetime"),
        (json!({"maxKeyLifetime": 1.5}), "maxKeyLifetime"),
        (json!({"maxKeyLifetime": "3600"}), "maxKeyLifetime"),
        (json!({"maxKeyLifetime": 1e30}), "maxKeyLifetime"),
        (json!({"maxKeyLifetime": 100 * 366 * 86_400_i64}), "maxKeyLifetime"),
        (json!({"requireExpiry": "yes"}), "requireExpiry"),
        (json!({"requireExpiry": null}), "requireExpiry"),
        (json!({"name": "renamed"}), "name"),
    ];
    for (body, field) in cases {
        let res = app.patch_json(&path, &app.admin_key, &body).await;
        let answer = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(answer["field"], field, "{body}");
    }
    let res = app
        .request(Method::PATCH, &path, &app.admin_key)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    problem(res, StatusCode::BAD_REQUEST).await;
    let huge = format!("{{\"maxKeyLifetime\": 60, \"pad\": \"{}\"}}", "x".repeat(70_000));
    let res = app
        .request(Method::PATCH, &path, &app.admin_key)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("request");
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let org = listed(&app, &app.admin_key).await;
    assert_eq!((org["maxKeyLifetime"].clone(), org["requireExpiry"].clone()), (json!(86_400), json!(false)));
}
