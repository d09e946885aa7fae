//! Trust under attack, each test replaying an attack against the
//! real router: a database copy used to sign as a key, verify taking a
//! browser's cookie, rotation past the key cap, races past the cap and the
//! last admin, throttle state grown or reset by junk, addresses behind
//! proxies and in IPv6 /64s, and planted cookies.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keyward::domain::{Email, Id, Role, Secret};
use keyward::service::Limits;
use keyward::service::throttle::ThrottlePolicy;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

const TOKEN: &str = "/api/auth/v1/oauth/token";
const VERIFY: &str = "/api/auth/v1/verify";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const LOGIN: &str = "/api/session/v1/login";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const PASSWORD: &str = "correct horse battery";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64
}

fn assertion_signed_with(app: &TestApp, account: &str, key_id: &str, hmac_key: &[u8]) -> String {
    let claims = json!({
        "iss": account, "sub": account, "aud": app.url(TOKEN),
        "exp": now() + 300, "jti": Id::generate().to_string(),
    });
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key_id.to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(hmac_key)).expect("sign")
}

async fn exchange(app: &TestApp, assertion: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .post(app.url(TOKEN))
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .expect("request");
    (res.status(), res.json().await.expect("json"))
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex")).collect()
}

fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet))).build().expect("client")
}

fn throttling(max_failures: u32) -> Options {
    Options {
        limits: Limits {
            throttle: ThrottlePolicy { max_failures, window: Duration::from_secs(60) },
            ..Limits::default()
        },
        ..Options::default()
    }
}

/// A user of `org` who logs in; returns (session cookie header, csrf token).
async fn logged_in_user(app: &TestApp, org: &str, email: &str) -> (String, String) {
    let org = Id::parse(org).expect("org id");
    app.service
        .create_user(&org, Email::parse(email).expect("email"), Role::Admin, PASSWORD.into())
        .await
        .expect("user");
    app.login(email, PASSWORD).await.expect("logged in")
}

#[tokio::test]
async fn a_database_copy_signs_no_assertion_and_holds_no_signing_seed() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Admin, true).await;
    // Make the signing key exist, as a node that has issued tokens has it.
    let (status, _) = exchange(&app, &assertion_signed_with(&app, &account, &key_id, secret.as_bytes())).await;
    assert_eq!(status, StatusCode::OK, "the owner's own assertion works");

    // Everything a thief reads from the database about this key.
    let mut conn = app.store.read().await.expect("conn");
    let (stored_hash, assertion_key): (String, Option<String>) =
        sqlx::query_as("SELECT secret_hash, assertion_key FROM api_keys WHERE id = $1")
            .bind(&key_id)
            .fetch_one(&mut *conn)
            .await
            .expect("row");
    let seed: String = sqlx::query_scalar("SELECT seed FROM signing_key").fetch_one(&mut *conn).await.expect("seed");
    drop(conn);
    let assertion_key = assertion_key.expect("sealed assertion key");
    assert!(assertion_key.starts_with("v1."), "sealed, not plain: {assertion_key}");
    assert!(seed.starts_with("v1."), "the signing seed is sealed");
    use base64::Engine;
    assert!(base64::engine::general_purpose::STANDARD.decode(&seed).is_err(), "no plain base64 seed");

    for (what, material) in [
        ("the stored hash's bytes", hex_decode(&stored_hash)),
        ("the stored hash as text", stored_hash.clone().into_bytes()),
        ("the sealed column as text", assertion_key.clone().into_bytes()),
    ] {
        let (status, body) = exchange(&app, &assertion_signed_with(&app, &account, &key_id, &material)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "an assertion signed with {what} was accepted");
        assert_eq!(body["error"], "invalid_grant");
    }
    // What the stored hash is: two SHA-256 rounds, not the secret's HMAC key.
    assert_ne!(hex_decode(&stored_hash), Secret::parse(&secret).expect("secret").assertion_key().as_bytes().to_vec());
}

#[tokio::test]
async fn the_token_endpoint_does_not_tell_an_unknown_key_id_from_a_bad_signature() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, _secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let wrong = Secret::mint().expect("randomness");
    let (s1, bad_signature) =
        exchange(&app, &assertion_signed_with(&app, &account, &key_id, wrong.expose().as_bytes())).await;
    let unknown = Id::generate().to_string();
    let (s2, unknown_key) =
        exchange(&app, &assertion_signed_with(&app, &account, &unknown, wrong.expose().as_bytes())).await;
    let (s3, junk_kid) =
        exchange(&app, &assertion_signed_with(&app, &account, "junk", wrong.expose().as_bytes())).await;
    assert_eq!((s1, s2, s3), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
    assert_eq!(bad_signature, unknown_key);
    assert_eq!(bad_signature, junk_kid);
}

#[tokio::test]
async fn verify_refuses_the_web_apps_cookie() {
    let Some(app) = TestApp::spawn().await else { return };
    let (cookie, _csrf) = logged_in_user(&app, &app.org_id, "browser@example.com").await;
    let res = app.client.get(app.url(WHOAMI)).header("cookie", &cookie).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "the cookie is a credential for keyward's own API");
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let res = app.client.request(method, app.url(VERIFY)).header("cookie", &cookie).send().await.expect("request");
        let res_headers = res.headers().clone();
        problem(res, StatusCode::UNAUTHORIZED).await;
        assert!(!res_headers.contains_key("x-keyward-role"));
    }
    let res = app.get(VERIFY, &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK, "keys still pass");
}

#[tokio::test]
async fn rotation_cannot_grow_an_account_past_its_key_cap() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "rotor"})).await;
    let id = account["id"].as_str().expect("id");
    let mut key_id = app.create_key(id).await["keyId"].as_str().expect("key id").to_owned();
    let rotate = |key: String, grace: i64| {
        let app = &app;
        async move {
            app.post_json(&format!("{SA}/{id}/key/{key}/rotate"), &app.admin_key, &json!({"gracePeriod": grace})).await
        }
    };
    // The attack: a ten-year grace period, again and again.
    let body = problem(rotate(key_id.clone(), 315_360_000).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["field"], "gracePeriod");
    let res = rotate(key_id.clone(), 7 * 86_400).await;
    assert_eq!(res.status(), StatusCode::CREATED, "seven days is allowed");
    let successor = res.json::<Value>().await.expect("json")["keyId"].as_str().expect("key id").to_owned();
    for _ in 0..15 {
        let body = problem(rotate(successor.clone(), 3600).await, StatusCode::CONFLICT).await;
        assert_eq!(body["field"], "gracePeriod", "one key in its grace period at a time");
    }
    let body = problem(rotate(key_id.clone(), 0).await, StatusCode::CONFLICT).await;
    assert_eq!(body["field"], "key-id", "a rotated key is not rotated again");
    // Without a grace period the successor simply replaces.
    key_id = successor;
    for _ in 0..15 {
        let res = rotate(key_id.clone(), 0).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        key_id = res.json::<Value>().await.expect("json")["keyId"].as_str().expect("key id").to_owned();
    }
    let keys: Value = app.get(&format!("{SA}/{id}/key"), &app.admin_key).await.json().await.expect("json");
    let live =
        keys.as_array().expect("list").iter().filter(|k| k["expires"].as_i64().is_none_or(|e| e > now())).count();
    assert_eq!(live, 2, "the successor and the one key in its grace period: {keys}");

    // At the cap, a rotation that keeps the old key alive needs a free slot.
    let full = app.create_account(json!({"name": "full"})).await;
    let full_id = full["id"].as_str().expect("id");
    let mut first = String::new();
    for i in 0..10 {
        let k = app.create_key(full_id).await;
        if i == 0 {
            first = k["keyId"].as_str().expect("key id").to_owned();
        }
    }
    let res =
        app.post_json(&format!("{SA}/{full_id}/key/{first}/rotate"), &app.admin_key, &json!({"gracePeriod": 60})).await;
    assert_eq!(problem(res, StatusCode::CONFLICT).await["field"], "keys");
    let res = app.post_json(&format!("{SA}/{full_id}/key/{first}/rotate"), &app.admin_key, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED, "at the cap, rotating without grace replaces");
}

#[tokio::test]
async fn concurrent_creations_and_rotations_respect_the_key_cap() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "racer"})).await;
    let id = account["id"].as_str().expect("id").to_owned();
    let path = format!("{SA}/{id}/key");
    let empty = json!({});
    let creations = (0..16).map(|_| app.post_json(&path, &app.admin_key, &empty));
    let statuses: Vec<u16> = futures_statuses(creations).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 6, "{statuses:?}");
    assert_eq!(app.count_rows(&format!("api_keys WHERE account_id = '{id}'")).await, 10);

    // Racing rotations with a grace period: at most one wins.
    let keys: Value = app.get(&path, &app.admin_key).await.json().await.expect("json");
    for k in keys.as_array().expect("keys").iter().skip(1) {
        let res = app.delete(&format!("{path}/{}", k["keyId"].as_str().expect("key id")), &app.admin_key).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    for _ in 0..3 {
        app.create_key(&id).await;
    }
    let keys: Value = app.get(&path, &app.admin_key).await.json().await.expect("json");
    let rotations = keys.as_array().expect("keys").iter().map(|k| {
        let url = format!("{path}/{}/rotate", k["keyId"].as_str().expect("key id"));
        let app = &app;
        async move { app.post_json(&url, &app.admin_key, &json!({"gracePeriod": 600})).await }
    });
    let statuses = futures_statuses(rotations).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
}

async fn futures_statuses<F: std::future::Future<Output = reqwest::Response>>(
    requests: impl Iterator<Item = F>,
) -> Vec<u16> {
    join_all(requests.collect()).await.iter().map(|res| res.status().as_u16()).collect()
}

/// Polls every future together, so that the requests race on the server.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *out = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}

#[tokio::test]
async fn concurrent_demotions_leave_the_organization_an_admin() {
    let Some(app) = TestApp::spawn().await else { return };
    let org = Id::parse(&app.org_id).expect("org");
    let mut ids = Vec::new();
    for email in ["one@example.com", "two@example.com"] {
        let m = app
            .service
            .create_user(&org, Email::parse(email).expect("email"), Role::Admin, PASSWORD.into())
            .await
            .expect("user");
        ids.push(m.id.to_string());
    }
    for round in 0..5 {
        // Both admins step down at once, in both directions.
        let demote = ids.iter().map(|id| {
            let app = &app;
            let url = format!("/api/user/v1/user/{id}");
            async move { app.patch_json(&url, &app.admin_key, &json!({"role": "viewer"})).await }
        });
        let statuses = futures_statuses(demote).await;
        let admins = app.count_rows(&format!("memberships WHERE org_id = '{}' AND role = 'admin'", app.org_id)).await;
        assert_eq!(admins, 1, "round {round}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 1, "round {round}: {statuses:?}");
        for id in &ids {
            app.patch_json(&format!("/api/user/v1/user/{id}"), &app.admin_key, &json!({"role": "admin"})).await;
        }
        // And both removed at once.
        if round == 4 {
            let urls: Vec<String> = ids.iter().map(|id| format!("/api/user/v1/user/{id}")).collect();
            let remove = urls.iter().map(|url| app.delete(url, &app.admin_key));
            let statuses = futures_statuses(remove).await;
            let admins =
                app.count_rows(&format!("memberships WHERE org_id = '{}' AND role = 'admin'", app.org_id)).await;
            assert_eq!(admins, 1, "{statuses:?}");
        }
    }
}

/// The number a Prometheus text exposition gives for `name`.
fn gauge(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in metrics"))
}

#[tokio::test]
async fn junk_key_ids_grow_no_throttle_state_and_reset_no_counter() {
    let Some(app) = TestApp::spawn_with(throttling(20)).await else { return };
    let secret = Secret::mint().expect("randomness");
    let huge_id = "k".repeat(300_000);
    let attacker = client_from(66);
    let mut last = StatusCode::OK;
    // 10,000 attempts naming junk key ids: over-long ones, ill-formed ones,
    // and well-formed ids of keys that do not exist.
    let attempts = (0..10_000).map(|i| {
        let id = match i % 3 {
            0 if i < 300 => huge_id.clone(),
            0 | 1 => format!("junk-{i}"),
            _ => Id::generate().to_string(),
        };
        let request = attacker.get(app.url(WHOAMI)).basic_auth(id, Some(secret.expose()));
        async move { request.send().await.expect("request").status() }
    });
    let mut batch = Vec::new();
    for attempt in attempts {
        batch.push(attempt);
        if batch.len() == 64 {
            for status in join_all(std::mem::take(&mut batch)).await {
                last = status;
            }
        }
    }
    for status in join_all(batch).await {
        last = status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "the attacker's address is still counted");
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let tracked = gauge(&metrics, "keyward_throttle_subjects");
    assert!(tracked <= 3_400.0, "only parsed ids and addresses are tracked: {tracked}");
    // Another client is untouched, and the attacker's valid key still works.
    let res = client_from(67).get(app.url(WHOAMI)).header("Authorization", secret.expose()).send().await.expect("r");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = attacker.get(app.url(WHOAMI)).header("Authorization", &app.admin_key).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies_and_a_64_is_one_client() {
    let mut options = throttling(3);
    options.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let bad = Secret::mint().expect("randomness");
    let via_proxy = |forwarded: &str| {
        app.client.get(app.url(WHOAMI)).header("Authorization", bad.expose()).header("x-forwarded-for", forwarded)
    };
    // Behind the proxy, each client has its own counter.
    for _ in 0..3 {
        assert_eq!(via_proxy("198.51.100.1").send().await.expect("r").status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(via_proxy("198.51.100.1").send().await.expect("r").status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(via_proxy("198.51.100.2").send().await.expect("r").status(), StatusCode::UNAUTHORIZED);
    // A client cannot pick its own address by writing to the left.
    assert_eq!(via_proxy("203.0.113.9, 198.51.100.1").send().await.expect("r").status(), StatusCode::TOO_MANY_REQUESTS);
    // An IPv6 /64 is one client, whichever address of it is used.
    for i in 1..=3 {
        let res = via_proxy(&format!("2001:db8:7:7::{i}")).send().await.expect("r");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(via_proxy("2001:db8:7:7:ffff::1").send().await.expect("r").status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(via_proxy("2001:db8:7:8::1").send().await.expect("r").status(), StatusCode::UNAUTHORIZED);
    // A peer that is not a trusted proxy is the client, whatever it forwards.
    let direct = client_from(9);
    for i in 0..4 {
        let res = direct
            .get(app.url(WHOAMI))
            .header("Authorization", bad.expose())
            .header("x-forwarded-for", format!("192.0.2.{i}"))
            .send()
            .await
            .expect("r");
        let expected = if i < 3 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(res.status(), expected, "attempt {i}");
    }
    // The audit trail names the forwarded client.
    let res = app
        .client
        .post(app.url(SA))
        .header("Authorization", &app.admin_key)
        .header("x-forwarded-for", "198.51.100.77")
        .json(&json!({"name": "audited"}))
        .send()
        .await
        .expect("r");
    assert_eq!(res.status(), StatusCode::CREATED);
    let events: Value = app.get("/api/audit/v1/event?limit=1", &app.admin_key).await.json().await.expect("json");
    assert_eq!(events["items"][0]["clientIp"], "198.51.100.77");
}

#[tokio::test]
async fn without_trusted_proxies_forwarded_headers_are_ignored() {
    let Some(app) = TestApp::spawn_with(throttling(3)).await else { return };
    let bad = Secret::mint().expect("randomness");
    let mut statuses = Vec::new();
    for i in 0..5 {
        let res = client_from(44)
            .get(app.url(WHOAMI))
            .header("Authorization", bad.expose())
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .expect("r");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}

#[tokio::test]
async fn concurrent_bad_logins_from_one_address_are_counted_before_any_hashing() {
    let Some(app) = TestApp::spawn_with(throttling(20)).await else { return };
    let attacker = client_from(77);
    let logins = (0..60).map(|i| {
        let request =
            attacker.post(app.url(LOGIN)).json(&json!({"email": format!("nobody{i}@example.com"), "password": "x"}));
        async move { request.send().await.expect("request").status().as_u16() }
    });
    let statuses = join_all(logins.collect()).await;
    let refused = statuses.iter().filter(|s| **s == 401).count();
    assert!(refused <= 20, "at most the limit reach a password check: {statuses:?}");
    assert!(statuses.iter().all(|s| [401, 429, 503].contains(s)), "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 40, "{statuses:?}");
}

#[tokio::test]
async fn under_https_the_session_cookie_is_host_prefixed_and_a_planted_twin_is_refused() {
    let options = Options { public_url: Some("https://keyward.example".into()), ..Options::default() };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    let org = Id::parse(&app.org_id).expect("org");
    app.service
        .create_user(&org, Email::parse("secure@example.com").expect("email"), Role::Admin, PASSWORD.into())
        .await
        .expect("user");
    let res = app
        .client
        .post(app.url(LOGIN))
        .json(&json!({"email": "secure@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let set: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().expect("ascii").to_owned()).collect();
    let session = set.iter().find(|c| c.starts_with("__Host-keyward_session=")).expect("__Host- session cookie");
    assert!(session.contains("; Secure") && session.contains("Path=/") && !session.contains("Domain"), "{session}");
    assert!(set.iter().any(|c| c.starts_with("__Host-keyward_csrf=")), "{set:?}");
    let pair = session.split(';').next().expect("pair").to_owned();
    let res = app.client.get(app.url(WHOAMI)).header("cookie", &pair).send().await.expect("r");
    assert_eq!(res.status(), StatusCode::OK);
    // A cookie of the same name planted first (as a sibling domain could):
    // neither is believed.
    let planted = format!("__Host-keyward_session=planted; {pair}");
    let res = app.client.get(app.url(WHOAMI)).header("cookie", planted).send().await.expect("r");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The unprefixed name means nothing under https.
    let unprefixed = pair.replacen("__Host-", "", 1);
    let res = app.client.get(app.url(WHOAMI)).header("cookie", unprefixed).send().await.expect("r");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn keys_and_the_signing_seed_stored_before_sealing_are_sealed_on_start_and_keep_working() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key_id, secret) = app.account_key_triple(&app.org_id, Role::Editor, true).await;
    let first = exchange(&app, &assertion_signed_with(&app, &account, &key_id, secret.as_bytes())).await;
    assert_eq!(first.0, StatusCode::OK);
    let jwks_before: Value =
        app.client.get(app.url("/.well-known/jwks.json")).send().await.expect("r").json().await.expect("j");

    // Put the rows back the way keyward 0.1 wrote them: SHA-256(secret) as
    // the lookup column, no sealed key, the signing seed in plain base64.
    let legacy_hash = Secret::parse(&secret).expect("secret").assertion_key();
    let legacy_hex: String = legacy_hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let seed = {
        use base64::Engine;
        let (kid, sealed): (String, String) = sqlx::query_as("SELECT kid, seed FROM signing_key")
            .fetch_one(&mut *app.store.read().await.expect("c"))
            .await
            .expect("row");
        let opened = app.sealing_key.open(&format!("signing-key:{kid}"), &sealed).expect("opens");
        base64::engine::general_purpose::STANDARD.encode(opened)
    };
    let mut tx = app.store.begin().await.expect("tx");
    sqlx::query("UPDATE api_keys SET secret_hash = $1, assertion_key = NULL WHERE id = $2")
        .bind(&legacy_hex)
        .bind(&key_id)
        .execute(tx.conn())
        .await
        .expect("legacy key");
    sqlx::query("UPDATE signing_key SET seed = $1").bind(&seed).execute(tx.conn()).await.expect("legacy seed");
    tx.commit().await.expect("commit");

    app.service.adopt_secret_key().await.expect("upgrade");
    app.service.adopt_secret_key().await.expect("a second start changes nothing");

    let res = app.get(WHOAMI, &secret).await;
    assert_eq!(res.status(), StatusCode::OK, "the key authenticates after the upgrade");
    let again = exchange(&app, &assertion_signed_with(&app, &account, &key_id, secret.as_bytes())).await;
    assert_eq!(again.0, StatusCode::OK, "and its assertions verify");
    let mut conn = app.store.read().await.expect("conn");
    let (stored, sealed): (String, Option<String>) =
        sqlx::query_as("SELECT secret_hash, assertion_key FROM api_keys WHERE id = $1")
            .bind(&key_id)
            .fetch_one(&mut *conn)
            .await
            .expect("row");
    assert_ne!(stored, legacy_hex, "the column that could sign is rewritten");
    assert!(sealed.is_some_and(|s| s.starts_with("v1.")));
    let seed_now: String =
        sqlx::query_scalar("SELECT seed FROM signing_key").fetch_one(&mut *conn).await.expect("seed");
    assert!(seed_now.starts_with("v1."), "the signing seed is sealed");
    drop(conn);
    let jwks_after: Value =
        app.client.get(app.url("/.well-known/jwks.json")).send().await.expect("r").json().await.expect("j");
    assert_eq!(jwks_before, jwks_after, "the same signing key");
}
