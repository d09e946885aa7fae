//! Idempotent retries (`Idempotency-Key`): a retried creation returns the
//! first answer — the same secret for a key — and creates nothing more;
//! another body, another caller, a failed first try, a racing retry, junk
//! keys and anonymous callers each get what they should.

use std::sync::Arc;

use keyward::domain::Role;
use keyward::domain::clock::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

const KEY: &str = "idempotency-key";

async fn post(app: &TestApp, path: &str, auth: &str, key: &str, body: &Value) -> reqwest::Response {
    app.request(Method::POST, path, auth).header(KEY, key).json(body).send().await.expect("request")
}

async fn accounts_named(app: &TestApp, name: &str) -> i64 {
    app.count_rows(&format!("service_accounts WHERE name = '{name}'")).await
}

#[tokio::test]
async fn a_retried_account_creation_returns_the_first_answer_and_creates_one() {
    let Some(app) = TestApp::spawn().await else { return };
    let body = json!({"name": "billing", "enableBasicAuth": true});
    let first = post(&app, SA, &app.admin_key, "create-billing-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(first.headers()["idempotent-replayed"], "false");
    let first: Value = first.json().await.expect("json");
    let again = post(&app, SA, &app.admin_key, "create-billing-1", &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.json::<Value>().await.expect("json"), first);
    assert_eq!(accounts_named(&app, "billing").await, 1);
}

#[tokio::test]
async fn a_retried_key_creation_returns_the_same_secret_once_created_and_never_stored() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "worker"})).await;
    let path = format!("{SA}/{}/key", account["id"].as_str().expect("id"));
    let first: Value = post(&app, &path, &app.admin_key, "k-1", &json!({"name": "ci"})).await.json().await.expect("j");
    // The same caller, presenting the same key another way, retries.
    let bearer = format!("Bearer {}", app.admin_key);
    let res = post(&app, &path, &bearer, "k-1", &json!({"name": "ci"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: Value = res.json().await.expect("json");
    assert_eq!(again["secret"], first["secret"]);
    assert_eq!(again["keyId"], first["keyId"]);
    let secret = first["secret"].as_str().expect("secret");
    assert_eq!(
        app.get(&path, &app.admin_key).await.json::<Value>().await.expect("j").as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(app.get("/api/service-account/v1/whoami", secret).await.status(), StatusCode::OK);
    // What is kept is sealed: the secret is nowhere in the table.
    let mut conn = app.store.read().await.expect("conn");
    let kept: Vec<(String, Option<String>)> = sqlx::query_as("SELECT request_hash, response FROM idempotency_keys")
        .fetch_all(&mut *conn)
        .await
        .expect("rows");
    assert_eq!(kept.len(), 1);
    let row = format!("{kept:?}");
    assert!(!row.contains(&secret[3..20]), "the secret is not stored in the clear");
    assert!(kept[0].1.as_deref().is_some_and(|r| r.starts_with("v1.")));
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_and_changes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = post(&app, SA, &app.admin_key, "reused", &json!({"name": "one"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = post(&app, SA, &app.admin_key, "reused", &json!({"name": "two"})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "Idempotency-Key");
    assert_eq!(accounts_named(&app, "two").await, 0);
    // Another path with the same key is another request too.
    let other = app.create_account(json!({"name": "other"})).await;
    let path = format!("{SA}/{}/key", other["id"].as_str().expect("id"));
    let res = post(&app, &path, &app.admin_key, "reused", &json!({})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "Idempotency-Key");
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let Some(app) = TestApp::spawn().await else { return };
    let other_admin = app.key_with_role(&app.org_id, Role::Admin).await;
    let res = post(&app, SA, &app.admin_key, "shared-key", &json!({"name": "mine"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = post(&app, SA, &other_admin, "shared-key", &json!({"name": "mine"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "another caller's request runs for itself (the name is taken)");
    assert!(!res.headers().contains_key("idempotent-replayed") || res.headers()["idempotent-replayed"] != "true");
}

#[tokio::test]
async fn a_failed_first_try_is_not_kept_and_the_retry_runs() {
    let Some(app) = TestApp::spawn().await else { return };
    app.create_account(json!({"name": "taken"})).await;
    let body = json!({"name": "taken"});
    let res = post(&app, SA, &app.admin_key, "retry-me", &body).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(app.count_rows("idempotency_keys").await, 0, "a refusal is not kept");
    // Free the name (a deleted account keeps it for 30 days; a renamed one does not).
    let taken = first_account_id(&app, "taken").await;
    app.patch_json(&format!("{SA}/{taken}"), &app.admin_key, &json!({"name": "renamed"})).await;
    let res = post(&app, SA, &app.admin_key, "retry-me", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "the retry ran");
}

async fn first_account_id(app: &TestApp, name: &str) -> String {
    let page: Value = app.get(&format!("{SA}?name={name}"), &app.admin_key).await.json().await.expect("json");
    page["items"][0]["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn ten_concurrent_retries_create_exactly_one_thing() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "racer"})).await;
    let path = format!("{SA}/{}/key", account["id"].as_str().expect("id"));
    let body = json!({"name": "once"});
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let request = app.request(Method::POST, &path, &app.admin_key).header(KEY, "same").json(&body);
        tasks.spawn(async move {
            let res = request.send().await.expect("request");
            let status = res.status();
            let body: Value = res.json().await.expect("json");
            (status, body)
        });
    }
    let answers = tasks.join_all().await;
    let created: Vec<&Value> = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).map(|(_, b)| b).collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|b| b["keyId"] == created[0]["keyId"] && b["secret"] == created[0]["secret"]));
    for (status, body) in &answers {
        assert!(*status == StatusCode::CREATED || *status == StatusCode::CONFLICT, "{status} {body}");
        if *status == StatusCode::CONFLICT {
            assert_eq!(body["field"], "Idempotency-Key", "{body}");
        }
    }
    let keys: Value = app.get(&path, &app.admin_key).await.json().await.expect("json");
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
}

#[tokio::test]
async fn keys_expire_after_a_day() {
    let clock = ManualClock::new(1_800_000_000);
    let options = Options { clock: Arc::new(clock.clone()), ..Options::default() };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let account = app.create_account(json!({"name": "daily"})).await;
    let path = format!("{SA}/{}/key", account["id"].as_str().expect("id"));
    let first: Value = post(&app, &path, &app.admin_key, "daily", &json!({})).await.json().await.expect("json");
    clock.advance(23 * 3600);
    let again: Value = post(&app, &path, &app.admin_key, "daily", &json!({})).await.json().await.expect("json");
    assert_eq!(again["keyId"], first["keyId"], "still kept after 23 hours");
    clock.advance(3600 + 1);
    let later: Value = post(&app, &path, &app.admin_key, "daily", &json!({})).await.json().await.expect("json");
    assert_ne!(later["keyId"], first["keyId"], "after 24 hours the key is forgotten");
}

#[tokio::test]
async fn junk_keys_and_anonymous_callers_are_refused_and_keep_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    for bad in ["x".repeat(256), "with space".to_owned(), "tab\there".to_owned()] {
        let res = post(&app, SA, &app.admin_key, &bad, &json!({"name": "junk"})).await;
        assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], "Idempotency-Key", "{bad:?}");
    }
    let res = app.client.post(app.url(SA)).header(KEY, "anon").json(&json!({"name": "anon"})).send().await.expect("r");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let wrong = keyward::domain::Secret::mint().expect("randomness");
    let res = post(&app, SA, wrong.expose(), "anon", &json!({"name": "anon"})).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let viewer = app.key_with_role(&app.org_id, Role::Viewer).await;
    let res = post(&app, SA, &viewer, "lesser", &json!({"name": "lesser"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count_rows("idempotency_keys").await, 0);
    assert_eq!(accounts_named(&app, "junk").await + accounts_named(&app, "anon").await, 0);
}
