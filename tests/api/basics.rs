//! The four basic operations (create an account, delete it, create a key,
//! delete it), exactly as the README's API table shows them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp};

fn assert_unix_seconds(v: &Value) {
    let n = v.as_i64().expect("an integer");
    assert!((1_600_000_000..4_000_000_000).contains(&n), "{n} is not Unix seconds now");
}

#[tokio::test]
async fn create_a_service_account_returns_201_and_the_whole_account() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app
        .request(Method::POST, &format!("{SA}?orgId={}", app.org_id), &app.admin_key)
        .header("Content-Type", "application/json")
        .body(r#"{"enableBasicAuth": true, "name": "John Doe"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.expect("json");
    assert!(body["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(body["orgId"], app.org_id.as_str());
    assert_eq!(body["name"], "John Doe");
    assert_eq!(body["enableBasicAuth"], true);
    assert_eq!(body["role"], "viewer");
    assert_eq!(body["email"], Value::Null);
    assert_eq!(body["emailConfirmed"], false);
    assert_eq!(body["disabled"], false);
    assert_unix_seconds(&body["created"]);
    assert_eq!(body["keys"], json!([]));
}

#[tokio::test]
async fn create_a_key_with_empty_object_or_no_body() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "John Doe"})).await;
    let id = account["id"].as_str().expect("id");
    let with_object = app.post_json(&format!("{SA}/{id}/key?orgId={}", app.org_id), &app.admin_key, &json!({})).await;
    assert_eq!(with_object.status(), StatusCode::CREATED);
    let key: Value = with_object.json().await.expect("json");
    assert_unix_seconds(&key["created"]);
    assert!(key["keyId"].is_string());
    assert!(key["secret"].as_str().is_some_and(|s| s.starts_with("kw_")));
    assert_eq!(key["name"], Value::Null);
    assert_eq!(key["expires"], Value::Null);

    let no_body = app.request(Method::POST, &format!("{SA}/{id}/key"), &app.admin_key).send().await.expect("request");
    assert_eq!(no_body.status(), StatusCode::CREATED);
    let second: Value = no_body.json().await.expect("json");
    assert_ne!(second["secret"], key["secret"]);

    let listed: Value = app.get(&format!("{SA}/{id}"), &app.admin_key).await.json().await.expect("json");
    let keys = listed["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert!(k.get("secret").is_none(), "a listed key carries a secret: {k}");
        assert!(k["keyId"].is_string());
        assert_unix_seconds(&k["created"]);
    }
}

#[tokio::test]
async fn the_new_key_authenticates_until_deleted() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "worker", "role": "viewer"})).await;
    let id = account["id"].as_str().expect("id");
    let key = app.create_key(id).await;
    let secret = key["secret"].as_str().expect("secret");
    let key_id = key["keyId"].as_str().expect("keyId");
    assert_eq!(app.get("/api/service-account/v1/whoami", secret).await.status(), StatusCode::OK);

    let res = app.delete(&format!("{SA}/{id}/key/{key_id}?orgId={}", app.org_id), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().await.expect("body").is_empty());
    assert_eq!(app.get("/api/service-account/v1/whoami", secret).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deleting_an_account_stops_its_keys_at_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "doomed"})).await;
    let id = account["id"].as_str().expect("id");
    let secret = app.create_key(id).await["secret"].as_str().expect("secret").to_owned();
    assert_eq!(app.get("/api/service-account/v1/whoami", &secret).await.status(), StatusCode::OK);

    let res = app.delete(&format!("{SA}/{id}?orgId={}", app.org_id), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().await.expect("body").is_empty());
    assert_eq!(app.get("/api/service-account/v1/whoami", &secret).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&format!("{SA}/{id}"), &app.admin_key).await.status(), StatusCode::NOT_FOUND);
}
