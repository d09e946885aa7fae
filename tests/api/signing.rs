//! Rotating keyward's token signing key: tokens signed before keep verifying
//! (at keyward, and offline with the published keys, checked by an
//! independent JWT implementation, Python's PyJWT) until a second rotation
//! drops their key; other nodes sign with the new key within a poll; and the
//! RFC 8414 metadata points at it all.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use keyward::domain::{Role, SystemClock};
use keyward::service::{Limits, Service};
use keyward::store::Store;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, wait_for};

const TOKEN: &str = "/api/auth/v1/oauth/token";
const JWKS: &str = "/.well-known/jwks.json";
const WHOAMI: &str = "/api/service-account/v1/whoami";

/// A token by client credentials for a fresh Basic-enabled account.
async fn token(app: &TestApp) -> String {
    let (_account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Viewer, true).await;
    let res = app
        .client
        .post(app.url(TOKEN))
        .header("Authorization", crate::support::basic(&key_id, &secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}

async fn published(app: &TestApp) -> Value {
    app.client.get(app.url(JWKS)).send().await.expect("jwks").json().await.expect("json")
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_owned()).collect()
}

async fn status_with(app: &TestApp, token: &str) -> StatusCode {
    app.get(WHOAMI, &format!("Bearer {token}")).await.status()
}

/// Python 3 with PyJWT and its `cryptography` backend (installed by
/// scripts/test in target/py).
fn python_with_pyjwt() -> Option<std::path::PathBuf> {
    crate::support::outside::python_with("pyjwt", "jwt, cryptography", "pip install 'PyJWT[crypto]'")
}

/// Verifies `token` with PyJWT against `jwks` as a service elsewhere would:
/// the key picked by the token's `kid`, EdDSA only, audience and issuer
/// checked. `Ok(claims)` or `Err(PyJWT's complaint)`.
fn verify_offline(python: &std::path::Path, jwks: &Value, token: &str, issuer: &str) -> Result<Value, String> {
    const SCRIPT: &str = r#"
import json, sys
import jwt
jwks, token, issuer = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
try:
    kid = jwt.get_unverified_header(token).get("kid")
    keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys}
    if kid not in keys:
        raise jwt.InvalidKeyError("no published key has kid %r" % kid)
    claims = jwt.decode(token, keys[kid].key, algorithms=["EdDSA"], audience=issuer, issuer=issuer)
    print(json.dumps(claims))
except Exception as e:
    print("%s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
"#;
    let out = std::process::Command::new(python)
        .args(["-c", SCRIPT, &jwks.to_string(), token, issuer])
        .output()
        .expect("run python");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("claims json"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn tokens_signed_before_a_rotation_verify_until_their_key_is_dropped() {
    let Some(app) = TestApp::spawn().await else { return };
    let python = python_with_pyjwt();
    let before = token(&app).await;
    let first = kid_of(&before);
    assert_eq!(kids(&published(&app).await), vec![first.clone()]);

    let (second, previous) = app.service.rotate_signing_key().await.expect("rotate");
    assert_eq!(previous.as_deref(), Some(first.as_str()));
    let jwks = published(&app).await;
    assert_eq!(kids(&jwks), vec![second.clone(), first.clone()], "the current key first, then the previous");
    let after = token(&app).await;
    assert_eq!(kid_of(&after), second, "new tokens are signed with the new key");
    assert_eq!(status_with(&app, &before).await, StatusCode::OK, "the old token still works at keyward");
    assert_eq!(status_with(&app, &after).await, StatusCode::OK);
    if let Some(python) = &python {
        let claims = verify_offline(python, &jwks, &before, &app.base).expect("the old token verifies offline");
        assert_eq!(claims["org_id"], app.org_id.as_str());
        verify_offline(python, &jwks, &after, &app.base).expect("the new token verifies offline");
        // The independent check does reject: a token whose signature was
        // tampered with, and one for another audience.
        // A character well inside the signature: the last one may only
        // carry padding bits.
        let mut forged: Vec<char> = before.chars().collect();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
        let forged: String = forged.into_iter().collect();
        assert!(verify_offline(python, &jwks, &forged, &app.base).is_err());
        assert!(verify_offline(python, &jwks, &before, "https://elsewhere.example").is_err());
    }

    // A second rotation drops the first key: its tokens stop everywhere.
    let (third, previous) = app.service.rotate_signing_key().await.expect("rotate again");
    assert_eq!(previous.as_deref(), Some(second.as_str()));
    let jwks = published(&app).await;
    assert_eq!(kids(&jwks), vec![third, second]);
    assert_eq!(status_with(&app, &before).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_with(&app, &after).await, StatusCode::OK);
    if let Some(python) = &python {
        let refused = verify_offline(python, &jwks, &before, &app.base).expect_err("the dropped key's token");
        assert!(refused.contains("no published key"), "{refused}");
        verify_offline(python, &jwks, &after, &app.base).expect("the previous key's token still verifies");
    }
}

#[tokio::test]
async fn another_node_signs_with_the_new_key_within_a_poll() {
    let Some(app) = TestApp::spawn().await else { return };
    let url = match &app.postgres {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", app.db_path.display()),
    };
    let store = Store::connect(&url).await.expect("second node's store");
    let other = Service::with_clock(store, Limits::default(), app.sealing_key.clone(), Arc::new(SystemClock));
    other.adopt_secret_key().await.expect("secret key");
    other.spawn_background().await;
    let theirs = |jwks: Value| kids(&jwks);
    let first = kid_of(&token(&app).await);
    assert_eq!(theirs(other.jwks().await.expect("jwks")), vec![first.clone()], "the other node caches it");

    let (second, _) = app.service.rotate_signing_key().await.expect("rotate");
    wait_for(Duration::from_secs(2), "the other node to publish the new key and the one before", async || {
        let seen = theirs(other.jwks().await.expect("jwks"));
        if seen == vec![second.clone(), first.clone()] { Ok(()) } else { Err(format!("{seen:?}")) }
    })
    .await;
    // Tokens of either node verify on the other.
    let here = token(&app).await;
    other.verify_access_token(&here, &app.base).await.expect("the other node accepts this node's new token");
}

#[tokio::test]
async fn the_authorization_server_metadata_describes_the_token_endpoint() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app.client.get(app.url("/.well-known/oauth-authorization-server")).send().await.expect("metadata");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().expect("type").starts_with("application/json"));
    let meta: Value = res.json().await.expect("json");
    assert_eq!(meta["issuer"], app.base.as_str());
    assert_eq!(meta["token_endpoint"], app.url(TOKEN).as_str());
    assert_eq!(meta["jwks_uri"], app.url(JWKS).as_str());
    let grants: Vec<&str> =
        meta["grant_types_supported"].as_array().expect("grants").iter().filter_map(Value::as_str).collect();
    assert_eq!(grants, ["urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials"]);
    assert_eq!(meta["token_endpoint_auth_methods_supported"], serde_json::json!(["client_secret_basic"]));
    // What it names is what keyward does: tokens carry this issuer and are
    // signed by a key at jwks_uri.
    let issued = token(&app).await;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(issued.split('.').nth(1).expect("payload"))
            .expect("base64"),
    )
    .expect("claims");
    assert_eq!(claims["iss"], meta["issuer"]);
    let jwks: Value = app
        .client
        .get(meta["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert!(kids(&jwks).contains(&kid_of(&issued)));
}
