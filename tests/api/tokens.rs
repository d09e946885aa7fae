//! Short-lived access tokens: the JWT bearer grant signed with a
//! key's secret, client credentials for Basic-enabled accounts, and tokens
//! that other services verify offline with /.well-known/jwks.json.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keyward::domain::{Id, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp};

const TOKEN: &str = "/api/auth/v1/oauth/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const WHOAMI: &str = "/api/service-account/v1/whoami";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64
}

/// An assertion as a client makes it; `tweak` may change any claim.
fn assertion(app: &TestApp, account: &str, key_id: &str, secret: &str, tweak: impl FnOnce(&mut Value)) -> String {
    let mut claims = json!({
        "iss": account, "sub": account, "aud": app.url(TOKEN),
        "exp": now() + 300, "iat": now(), "jti": Id::generate().to_string(),
    });
    tweak(&mut claims);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key_id.to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
}

async fn exchange(app: &TestApp, assertion: &str) -> reqwest::Response {
    app.client
        .post(app.url(TOKEN))
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .expect("request")
}

async fn oauth_error(res: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn a_signed_assertion_buys_a_token_that_authenticates() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Editor, false).await;
    let res = exchange(&app, &assertion(&app, &account, &key_id, &secret, |_| {})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    let expires_in = body["expires_in"].as_i64().expect("expires_in");
    assert!((1..=3600).contains(&expires_in), "{expires_in}");
    let token = body["access_token"].as_str().expect("token");
    assert!(!token.contains(&secret[3..]), "the token must not carry the secret");

    let res = app.get(WHOAMI, &format!("Bearer {token}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = res.json().await.expect("json");
    assert_eq!(
        (who["id"].as_str(), who["keyId"].as_str(), who["role"].as_str()),
        (Some(account.as_str()), Some(key_id.as_str()), Some("editor"))
    );
    let res = app.get("/api/auth/v1/verify", &format!("Bearer {token}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-keyward-service-account-id"], account.as_str());
}

#[tokio::test]
async fn other_services_verify_tokens_offline_with_the_jwks() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let body: Value =
        exchange(&app, &assertion(&app, &account, &key_id, &secret, |_| {})).await.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token");

    let jwks: Value =
        app.client.get(app.url("/.well-known/jwks.json")).send().await.expect("jwks").json().await.expect("json");
    let jwk = &jwks["keys"][0];
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let header = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), jwk["kid"].as_str());
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().expect("x")).expect("key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[app.base.as_str()]);
    validation.set_issuer(&[app.base.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).expect("verifies offline").claims;
    assert_eq!(claims["sub"], account.as_str());
    assert_eq!(claims["org_id"], app.org_id.as_str());
    assert_eq!(claims["role"], "viewer");
    assert!(claims["exp"].as_i64().expect("exp") <= now() + 3600);
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let signed = assertion(&app, &account, &key_id, &secret, |_| {});
    assert_eq!(exchange(&app, &signed).await.status(), StatusCode::OK);
    oauth_error(exchange(&app, &signed).await, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn bad_assertions_are_invalid_grants() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let (_, _, other_secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong audience",
            assertion(&app, &account, &key_id, &secret, |c| c["aud"] = json!("https://elsewhere.example/token")),
        ),
        ("exp beyond an hour", assertion(&app, &account, &key_id, &secret, |c| c["exp"] = json!(now() + 7200))),
        ("expired", assertion(&app, &account, &key_id, &secret, |c| c["exp"] = json!(now() - 600))),
        (
            "no jti",
            assertion(&app, &account, &key_id, &secret, |c| {
                c.as_object_mut().expect("object").remove("jti");
            }),
        ),
        (
            "iss of another account",
            assertion(&app, &account, &key_id, &secret, |c| c["iss"] = json!(Id::generate().to_string())),
        ),
        ("signed with another key's secret", assertion(&app, &account, &key_id, &other_secret, |_| {})),
        ("unknown kid", assertion(&app, &account, &Id::generate().to_string(), &secret, |_| {})),
        ("not a JWT", "garbage".to_owned()),
    ];
    for (what, signed) in cases {
        let res = exchange(&app, &signed).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], "invalid_grant", "{what}: {body}");
    }
    // Signed with HS512, or not signed at all: refused too.
    let mut header = Header::new(Algorithm::HS512);
    header.kid = Some(key_id.clone());
    let claims = json!({"iss": account, "sub": account, "aud": app.url(TOKEN), "exp": now() + 60, "jti": "x"});
    let hs512 = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign");
    oauth_error(exchange(&app, &hs512).await, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let unsigned = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{key_id}"}}"#)),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    oauth_error(exchange(&app, &unsigned).await, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn malformed_requests_get_rfc6749_errors() {
    let Some(app) = TestApp::spawn().await else { return };
    let post = |form: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move { app.client.post(app.url(TOKEN)).form(&form).send().await.expect("request") }
    };
    oauth_error(post(vec![]).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    oauth_error(post(vec![("grant_type", "password")]).await, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
    oauth_error(post(vec![("grant_type", JWT_BEARER)]).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    let json_body =
        app.client.post(app.url(TOKEN)).json(&json!({"grant_type": JWT_BEARER})).send().await.expect("request");
    oauth_error(json_body, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn client_credentials_work_only_for_basic_enabled_accounts() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, basic_key, basic_secret) = app.account_key_triple(&app.org_id, Role::Viewer, true).await;
    let (_, plain_key, plain_secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let ask = |key: String, secret: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url(TOKEN))
                .basic_auth(key, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("request")
        }
    };
    let res = ask(basic_key.clone(), basic_secret.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned();
    assert_eq!(app.get(WHOAMI, &format!("Bearer {token}")).await.status(), StatusCode::OK);

    let res = ask(plain_key, plain_secret).await;
    assert_eq!(res.headers()["www-authenticate"], "Basic realm=\"keyward\"");
    oauth_error(res, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let wrong = keyward::domain::Secret::mint().expect("randomness").expose().to_owned();
    oauth_error(ask(basic_key, wrong).await, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let no_auth =
        app.client.post(app.url(TOKEN)).form(&[("grant_type", "client_credentials")]).send().await.expect("request");
    oauth_error(no_auth, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn revoking_the_key_stops_its_tokens_here_at_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let body: Value =
        exchange(&app, &assertion(&app, &account, &key_id, &secret, |_| {})).await.json().await.expect("json");
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK);
    let res = app.patch_json(&format!("{SA}/{account}/key/{key_id}"), &app.admin_key, &json!({"disabled": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::UNAUTHORIZED);
    // A disabled key cannot buy new tokens either.
    oauth_error(
        exchange(&app, &assertion(&app, &account, &key_id, &secret, |_| {})).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_token_expires_and_never_outlives_its_key() {
    let start = now();
    let Some((app, clock)) = TestApp::spawn_with_clock(start).await else { return };
    let account = app.create_account(json!({"name": "short"})).await;
    let id = account["id"].as_str().expect("id");
    let key: Value = app
        .post_json(&format!("{SA}/{id}/key"), &app.admin_key, &json!({"expiresIn": 600}))
        .await
        .json()
        .await
        .expect("json");
    let (key_id, secret) = (key["keyId"].as_str().expect("keyId"), key["secret"].as_str().expect("secret"));
    let body: Value = exchange(&app, &assertion(&app, id, key_id, secret, |_| {})).await.json().await.expect("json");
    assert_eq!(body["expires_in"], 600, "capped by the key's own expiry");
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK);
    clock.advance(600);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::UNAUTHORIZED);
}

/// Keys this node has read from storage so far (its cache did not know them).
async fn storage_lookups(app: &TestApp) -> u64 {
    let text = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .filter(|l| l.starts_with("keyward_credential_lookups_total{"))
        .map(|l| l.rsplit(' ').next().expect("value").parse::<f64>().expect("number") as u64)
        .sum()
}

/// A token bought with a fresh assertion, as `Bearer …`.
async fn bearer_for(app: &TestApp, account: &str, key_id: &str, secret: &str) -> String {
    let res = exchange(app, &assertion(app, account, key_id, secret, |_| {})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    format!("Bearer {}", body["access_token"].as_str().expect("token"))
}

#[tokio::test]
async fn a_token_seen_before_is_answered_from_memory_and_still_dies_with_its_key() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let bearer = bearer_for(&app, &account, &key_id, &secret).await;
    assert_eq!(app.get(WHOAMI, &app.admin_key).await.status(), StatusCode::OK);
    let before = storage_lookups(&app).await;
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK);
    assert_eq!(storage_lookups(&app).await, before + 1, "the first use reads its key");
    for _ in 0..3 {
        assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK);
    }
    assert_eq!(storage_lookups(&app).await, before + 1, "later uses read nothing");

    // Its key disabled: refused with the very next request, then accepted
    // again once the key is enabled.
    let key_path = format!("{SA}/{account}/key/{key_id}");
    assert_eq!(app.patch_json(&key_path, &app.admin_key, &json!({"disabled": true})).await.status(), StatusCode::OK);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.patch_json(&key_path, &app.admin_key, &json!({"disabled": false})).await.status(), StatusCode::OK);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK);

    // Its account deleted, or its key: refused at once as well.
    let (other_account, other_key, other_secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let other = bearer_for(&app, &other_account, &other_key, &other_secret).await;
    assert_eq!(app.get(WHOAMI, &other).await.status(), StatusCode::OK);
    assert_eq!(app.delete(&format!("{SA}/{other_account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(WHOAMI, &other).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.delete(&key_path, &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_seen_before_is_refused_once_past_its_exp() {
    let Some((app, clock)) = TestApp::spawn_with_clock(now()).await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let res = exchange(&app, &assertion(&app, &account, &key_id, &secret, |_| {})).await;
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["expires_in"], 3600, "a key that never expires: the longest a token lives");
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK);
    clock.advance(3599);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::OK, "remembered, and still within its exp");
    clock.advance(1);
    assert_eq!(app.get(WHOAMI, &bearer).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_seen_before_narrows_with_its_key() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "narrowing", "role": "editor"})).await;
    let id = account["id"].as_str().expect("id");
    let key: Value = app
        .post_json(&format!("{SA}/{id}/key"), &app.admin_key, &json!({"scopes": ["read", "write"]}))
        .await
        .json()
        .await
        .expect("json");
    let (key_id, secret) = (key["keyId"].as_str().expect("keyId"), key["secret"].as_str().expect("secret"));
    let bearer = bearer_for(&app, id, key_id, secret).await;
    let verify = |scope: &'static str| {
        let (app, bearer) = (&app, &bearer);
        async move { app.get(&format!("/api/auth/v1/verify?scope={scope}"), bearer).await.status() }
    };
    assert_eq!(verify("write").await, StatusCode::OK);
    assert_eq!(verify("write").await, StatusCode::OK);
    let who: Value = app.get(WHOAMI, &bearer).await.json().await.expect("json");
    assert_eq!(who["role"], "editor");

    let key_path = format!("{SA}/{id}/key/{key_id}");
    let res = app.patch_json(&key_path, &app.admin_key, &json!({"scopes": ["read"], "role": "viewer"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(verify("write").await, StatusCode::FORBIDDEN, "the token carries the key's new scopes");
    assert_eq!(verify("read").await, StatusCode::OK);
    let who: Value = app.get(WHOAMI, &bearer).await.json().await.expect("json");
    assert_eq!(who["role"], "viewer", "and its new role");
}

#[tokio::test]
async fn another_node_forgets_a_token_it_remembered_through_the_feed() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use keyward::domain::SystemClock;
    use keyward::service::auth::{AuthError, AuthFailure};
    use keyward::service::{Limits, Service};
    use keyward::store::Store;

    let Some(app) = TestApp::spawn().await else { return };
    let url = match &app.postgres {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", app.db_path.display()),
    };
    let other = Service::with_clock(
        Store::connect(&url).await.expect("second node's store"),
        Limits::default(),
        app.sealing_key.clone(),
        Arc::new(SystemClock),
    );
    other.adopt_secret_key().await.expect("secret key");
    other.spawn_background().await;
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let bearer = bearer_for(&app, &account, &key_id, &secret).await;
    let token = bearer.trim_start_matches("Bearer ");
    for _ in 0..2 {
        other.verify_access_token(token, &app.base).await.expect("the other node accepts it");
    }
    let key_path = format!("{SA}/{account}/key/{key_id}");
    assert_eq!(app.patch_json(&key_path, &app.admin_key, &json!({"disabled": true})).await.status(), StatusCode::OK);
    let start = Instant::now();
    loop {
        match other.verify_access_token(token, &app.base).await {
            Err(AuthError::Refused(AuthFailure::KeyDisabled)) => break,
            outcome => assert!(start.elapsed() < Duration::from_secs(1), "still {outcome:?} on the other node"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
