//! "Who is calling?": the three ways to present a key, what a refusal looks
//! like, the gateway endpoint, `orgId` pinning and the caller's organizations.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward::domain::{Role, Secret};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp, problem};
use crate::support::basic;

const WHOAMI: &str = "/api/service-account/v1/whoami";
const VERIFY: &str = "/api/auth/v1/verify";

/// A fresh account of `role` with one key, made over the API:
/// (account id, key id, secret).
async fn account_and_key(app: &TestApp, role: &str, basic: bool) -> (String, String, String) {
    let account =
        app.create_account(json!({"name": format!("{role}-{basic}"), "role": role, "enableBasicAuth": basic})).await;
    let id = account["id"].as_str().expect("id").to_owned();
    let key = app.create_key(&id).await;
    (id, key["keyId"].as_str().expect("keyId").to_owned(), key["secret"].as_str().expect("secret").to_owned())
}

/// A `401` is problem+json and tells the client how to authenticate.
async fn assert_unauthorized(res: Response) {
    let challenge = res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
    problem(res, StatusCode::UNAUTHORIZED).await;
    assert!(challenge.is_some_and(|c| !c.is_empty()), "a 401 without WWW-Authenticate");
}

async fn whoami(app: &TestApp, authorization: &str) -> Response {
    app.get(WHOAMI, authorization).await
}

/// The secret with one character changed to another valid one.
fn typo(secret: &str) -> String {
    let mut chars: Vec<char> = secret.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

// ---- whoami ----

#[tokio::test]
async fn whoami_with_the_raw_key_names_the_caller() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = account_and_key(&app, "editor", false).await;
    let res = whoami(&app, &secret).await;
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = res.json().await.expect("json");
    assert_eq!(who["kind"], "serviceAccount");
    assert_eq!(who["id"], account.as_str());
    assert_eq!(who["orgId"], app.org_id.as_str());
    assert_eq!(who["role"], "editor");
    assert_eq!(who["keyId"], key_id.as_str());
}

#[tokio::test]
async fn whoami_with_a_bearer_key_names_the_same_caller() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = account_and_key(&app, "viewer", false).await;
    let raw: Value = whoami(&app, &secret).await.json().await.expect("json");
    let res = whoami(&app, &format!("Bearer {secret}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = res.json().await.expect("json");
    assert_eq!(who, raw);
    assert_eq!(who["id"], account.as_str());
    assert_eq!(who["keyId"], key_id.as_str());
}

#[tokio::test]
async fn whoami_with_basic_works_when_the_account_enables_it() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = account_and_key(&app, "viewer", true).await;
    let res = whoami(&app, &basic(&key_id, &secret)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = res.json().await.expect("json");
    assert_eq!(who["id"], account.as_str());
    assert_eq!(who["keyId"], key_id.as_str());
}

#[tokio::test]
async fn basic_is_refused_when_the_account_does_not_enable_it() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, key_id, secret) = account_and_key(&app, "viewer", false).await;
    assert_unauthorized(whoami(&app, &basic(&key_id, &secret)).await).await;
    // The same key still works as a raw or bearer key.
    assert_eq!(whoami(&app, &secret).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn basic_follows_the_accounts_setting_when_it_changes() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = account_and_key(&app, "viewer", false).await;
    let credentials = basic(&key_id, &secret);
    assert_unauthorized(whoami(&app, &credentials).await).await;

    let path = format!("{SA}/{account}");
    let res = app.patch_json(&path, &app.admin_key, &json!({"enableBasicAuth": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(whoami(&app, &credentials).await.status(), StatusCode::OK);

    let res = app.patch_json(&path, &app.admin_key, &json!({"enableBasicAuth": false})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_unauthorized(whoami(&app, &credentials).await).await;
}

#[tokio::test]
async fn basic_with_another_keys_id_is_refused() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, _, secret) = account_and_key(&app, "viewer", true).await;
    let other_key = app.create_key(&account).await;
    let other_id = other_key["keyId"].as_str().expect("keyId");
    assert_unauthorized(whoami(&app, &basic(other_id, &secret)).await).await;
    assert_unauthorized(whoami(&app, &basic("", &secret)).await).await;
}

// ---- refusals ----

#[tokio::test]
async fn no_credentials_is_401_with_a_challenge() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app.client.get(app.url(WHOAMI)).send().await.expect("request");
    assert_unauthorized(res).await;
}

#[tokio::test]
async fn malformed_credentials_are_401() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, key_id, secret) = account_and_key(&app, "viewer", true).await;
    let cases = [
        "nope".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "kw_".to_owned(),
        "kw_short".to_owned(),
        format!("{secret}x"),
        secret[..secret.len() - 1].to_owned(),
        format!("Token {secret}"),
        "Basic !!!".to_owned(),
        format!("Basic {}", STANDARD.encode(&secret)),
        format!("Basic {}", STANDARD.encode(format!("{key_id}:"))),
    ];
    for authorization in cases {
        let res = whoami(&app, &authorization).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{authorization}");
        assert_unauthorized(res).await;
    }
}

#[tokio::test]
async fn a_mistyped_key_is_401() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, key_id, secret) = account_and_key(&app, "viewer", true).await;
    let wrong = typo(&secret);
    assert_ne!(wrong, secret);
    assert_unauthorized(whoami(&app, &wrong).await).await;
    assert_unauthorized(whoami(&app, &format!("Bearer {wrong}")).await).await;
    assert_unauthorized(whoami(&app, &basic(&key_id, &wrong)).await).await;
}

#[tokio::test]
async fn a_well_formed_key_keyward_never_issued_is_401() {
    let Some(app) = TestApp::spawn().await else { return };
    let stranger = Secret::mint().expect("randomness");
    assert!(Secret::parse(stranger.expose()).is_ok(), "the test key should pass the format check");
    assert_unauthorized(whoami(&app, stranger.expose()).await).await;
    assert_unauthorized(whoami(&app, &format!("Bearer {}", stranger.expose())).await).await;
}

// ---- verify ----

#[tokio::test]
async fn verify_answers_200_with_the_callers_headers() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = account_and_key(&app, "editor", true).await;
    for authorization in [secret.clone(), format!("Bearer {secret}"), basic(&key_id, &secret)] {
        let res = app.get(VERIFY, &authorization).await;
        assert_eq!(res.status(), StatusCode::OK, "{authorization}");
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header("X-Keyward-Service-Account-Id").as_deref(), Some(account.as_str()));
        assert_eq!(header("X-Keyward-Org-Id").as_deref(), Some(app.org_id.as_str()));
        assert_eq!(header("X-Keyward-Role").as_deref(), Some("editor"));
        assert_eq!(header("X-Keyward-Key-Id").as_deref(), Some(key_id.as_str()));
    }
}

#[tokio::test]
async fn verify_without_a_key_is_401() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app.client.get(app.url(VERIFY)).send().await.expect("request");
    assert!(res.headers().get("X-Keyward-Service-Account-Id").is_none());
    assert_unauthorized(res).await;
}

#[tokio::test]
async fn verify_with_a_bad_key_is_401_without_identity_headers() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, _, secret) = account_and_key(&app, "viewer", false).await;
    for authorization in [typo(&secret), "garbage".to_owned()] {
        let res = app.get(VERIFY, &authorization).await;
        for name in ["X-Keyward-Service-Account-Id", "X-Keyward-Org-Id", "X-Keyward-Role", "X-Keyward-Key-Id"] {
            assert!(res.headers().get(name).is_none(), "{name} on a refusal");
        }
        assert_unauthorized(res).await;
    }
    // A key of a disabled account is refused too.
    let res = app.patch_json(&format!("{SA}/{account}"), &app.admin_key, &json!({"disabled": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_unauthorized(app.get(VERIFY, &secret).await).await;
}

#[tokio::test]
async fn verify_accepts_the_methods_gateways_forward() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, _, secret) = account_and_key(&app, "viewer", false).await;
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let res = app.request(method.clone(), VERIFY, &secret).send().await.expect("request");
        assert_eq!(res.status(), StatusCode::OK, "{method}");
        let id = res.headers().get("X-Keyward-Service-Account-Id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(id.as_deref(), Some(account.as_str()), "{method}");
    }
}

// ---- orgId pinning ----

#[tokio::test]
async fn pinning_the_keys_own_organization_is_allowed() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app.get(&format!("{WHOAMI}?orgId={}", app.org_id), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get(&format!("{SA}?orgId={}", app.org_id), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn pinning_another_organization_is_403() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    problem(app.get(&format!("{WHOAMI}?orgId={other}"), &app.admin_key).await, StatusCode::FORBIDDEN).await;
    problem(app.get(&format!("{VERIFY}?orgId={other}"), &app.admin_key).await, StatusCode::FORBIDDEN).await;
    problem(app.get(&format!("{SA}?orgId={other}"), &app.admin_key).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_change_pinned_to_another_organization_is_403_and_writes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let other_admin = app.key_with_role(&other, Role::Admin).await;
    let res = app.post_json(&format!("{SA}?orgId={other}"), &app.admin_key, &json!({"name": "smuggled"})).await;
    problem(res, StatusCode::FORBIDDEN).await;
    for key in [&app.admin_key, &other_admin] {
        let page: Value = app
            .request(Method::GET, SA, key)
            .query(&[("name", "smuggled")])
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(page["items"], json!([]));
    }
}

// ---- organizations ----

#[tokio::test]
async fn the_org_listing_shows_the_keys_organization_only() {
    let Some(app) = TestApp::spawn().await else { return };
    app.create_org("Other").await;
    let (_, _, secret) = account_and_key(&app, "viewer", false).await;
    let res = app.get("/api/org/v1/org", &secret).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["id"], app.org_id.as_str());
    assert_eq!(items[0]["name"], "Acme");
    assert_eq!(items[0]["role"], "viewer");
}

#[tokio::test]
async fn the_org_listing_needs_credentials() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app.client.get(app.url("/api/org/v1/org")).send().await.expect("request");
    assert_unauthorized(res).await;
}
