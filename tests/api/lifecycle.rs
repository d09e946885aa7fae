//! Key lifecycle beyond the basics: the organization's lifetime policy,
//! throttling of failing clients, and the metrics that count it all.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use keyward::domain::clock::ManualClock;
use keyward::domain::{Email, Id, Role};
use keyward::service::Limits;
use keyward::service::throttle::ThrottlePolicy;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

const WHOAMI: &str = "/api/service-account/v1/whoami";
const NOW: i64 = 1_800_000_000;

async fn app_with(limits: Limits) -> Option<(TestApp, ManualClock)> {
    let clock = ManualClock::new(NOW);
    let app = TestApp::spawn_with(Options { limits, clock: Arc::new(clock.clone()), ..Options::default() }).await?;
    Some((app, clock))
}

fn throttling(max_failures: u32) -> Limits {
    Limits { throttle: ThrottlePolicy { max_failures, window: Duration::from_secs(60) }, ..Limits::default() }
}

/// A client whose connections come from another loopback address.
fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet))).build().expect("client")
}

fn unknown_key() -> String {
    keyward::domain::Secret::mint().expect("randomness").expose().to_owned()
}

#[tokio::test]
async fn lifetimes_beyond_the_policy_are_refused_naming_the_field() {
    let limits = Limits { max_key_lifetime: Some(Duration::from_secs(3600)), ..Limits::default() };
    let Some((app, _clock)) = app_with(limits).await else { return };
    let account = app.create_account(json!({"name": "capped"})).await;
    let path = format!("{SA}/{}/key", account["id"].as_str().expect("id"));

    let res = app.post_json(&path, &app.admin_key, &json!({"expiresIn": 3601})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "expiresIn");
    let res = app.post_json(&path, &app.admin_key, &json!({"expires": NOW + 7200})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "expires");
    assert_eq!(app.count_rows("api_keys").await, 1, "only the admin's own key exists");

    let res = app.post_json(&path, &app.admin_key, &json!({"expiresIn": 3600})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.expect("json")["expires"], NOW + 3600);
    // No lifetime asked: the policy's maximum applies.
    let res = app.post_json(&path, &app.admin_key, &json!({})).await;
    assert_eq!(res.json::<Value>().await.expect("json")["expires"], NOW + 3600);
}

#[tokio::test]
async fn a_default_lifetime_applies_to_new_and_rotated_keys() {
    let limits = Limits { default_key_lifetime: Some(Duration::from_secs(600)), ..Limits::default() };
    let Some((app, _clock)) = app_with(limits).await else { return };
    let account = app.create_account(json!({"name": "defaulted"})).await;
    let id = account["id"].as_str().expect("id");
    let key = app.create_key(id).await;
    assert_eq!(key["expires"], NOW + 600);
    let res = app
        .post_json(
            &format!("{SA}/{id}/key/{}/rotate", key["keyId"].as_str().expect("keyId")),
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.expect("json")["expires"], NOW + 600);
    // Asking for longer than the default is fine where no maximum is set,
    // for whoever does not end sooner: a person or the operator.
    let org = Id::parse(&app.org_id).expect("org");
    let longer = keyward::service::keys::NewKey {
        name: None,
        lifetime: keyward::service::keys::Lifetime::For(86_400),
        narrowing: Default::default(),
    };
    let operator = keyward::service::Principal::operator(org);
    let minted = app.service.create_key(&operator, &Id::parse(id).expect("id"), longer).await.expect("key");
    assert_eq!(minted.key.expires, Some(NOW + 86_400));
    // A key gives no key a later end than its own: the admin key itself
    // got the default lifetime.
    let res = app.post_json(&format!("{SA}/{id}/key"), &app.admin_key, &json!({"expiresIn": 86_400})).await;
    let refused = problem(res, StatusCode::FORBIDDEN).await;
    assert!(refused["detail"].as_str().is_some_and(|d| d.starts_with("expires:")), "{refused}");
}

#[tokio::test]
async fn a_failing_client_is_throttled_while_a_valid_key_and_other_clients_are_not() {
    let Some((app, clock)) = app_with(throttling(3)).await else { return };
    let attacker = client_from(2);
    let bystander = client_from(3);
    let (_, bystander_key) = app.account_with_key(&app.org_id, Role::Viewer, false).await;
    let (_, attacker_valid_key) = app.account_with_key(&app.org_id, Role::Viewer, false).await;

    for _ in 0..3 {
        let res = attacker.get(app.url(WHOAMI)).header("Authorization", unknown_key()).send().await.expect("request");
        problem(res, StatusCode::UNAUTHORIZED).await;
    }
    for bad in [unknown_key(), "kw_malformed".to_owned(), "Bearer nope".to_owned()] {
        let res = attacker.get(app.url(WHOAMI)).header("Authorization", bad).send().await.expect("request");
        let retry_after: u64 = res.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    }
    // A valid key is never throttled, even from the throttled address.
    let res = attacker.get(app.url(WHOAMI)).header("Authorization", &attacker_valid_key).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    // Another client, failing or not, is judged on its own record.
    let res = bystander.get(app.url(WHOAMI)).header("Authorization", &bystander_key).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let res = bystander.get(app.url(WHOAMI)).header("Authorization", unknown_key()).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Once the window passes, a failure is a plain 401 again.
    clock.advance(61);
    let res = attacker.get(app.url(WHOAMI)).header("Authorization", unknown_key()).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failures_naming_one_key_id_are_throttled_from_any_address() {
    let Some((app, _clock)) = app_with(throttling(2)).await else { return };
    let (_account, key_id, _secret) = app.account_key_triple(&app.org_id, Role::Viewer, true).await;
    let mut statuses = Vec::new();
    for octet in 10..14u8 {
        let res = client_from(octet)
            .get(app.url(WHOAMI))
            .basic_auth(&key_id, Some(unknown_key()))
            .send()
            .await
            .expect("request");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
}

#[tokio::test]
async fn password_logins_past_the_limit_are_refused_even_when_right() {
    let Some((app, _clock)) = app_with(throttling(3)).await else { return };
    let org = Id::parse(&app.org_id).expect("org id");
    let email = Email::parse("ada@example.com").expect("email");
    app.service.create_user(&org, email, Role::Admin, "correct horse battery".into()).await.expect("user");
    let login = |password: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/session/v1/login"))
                .json(&json!({"email": "ada@example.com", "password": password}))
                .send()
                .await
                .expect("request")
        }
    };
    assert_eq!(login("correct horse battery").await.status(), StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(login("wrong wrong wrong").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login("wrong wrong wrong").await.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = login("correct horse battery").await;
    assert!(res.headers().contains_key("retry-after"));
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
}

/// Spacing or case never makes an address a fresh count: failures against
/// one person's address, typed several ways from several client addresses,
/// add up, and past the limit even the right password is refused. (The
/// address logs in however it is spaced or cased.)
#[tokio::test]
async fn an_address_is_one_count_however_it_is_spaced_or_cased() {
    let Some((app, _clock)) = app_with(throttling(3)).await else { return };
    let org = Id::parse(&app.org_id).expect("org id");
    let email = Email::parse("ada@example.com").expect("email");
    app.service.create_user(&org, email, Role::Admin, "correct horse battery".into()).await.expect("user");
    let login = |octet: u8, email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            client_from(octet)
                .post(app.url("/api/session/v1/login"))
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    assert_eq!(login(20, " Ada@Example.com ", "correct horse battery").await, StatusCode::OK);
    for (octet, typed) in [(21, "ada@example.com"), (22, " ada@example.com"), (23, "ADA@example.com\t")] {
        assert_eq!(login(octet, typed, "wrong wrong wrong").await, StatusCode::UNAUTHORIZED, "{typed:?}");
    }
    assert_eq!(login(24, "\u{a0}ada@EXAMPLE.com", "correct horse battery").await, StatusCode::TOO_MANY_REQUESTS);
}

fn metric(text: &str, name_and_labels: &str) -> u64 {
    crate::support::metric(text, name_and_labels).map_or(0, |v| v as u64)
}

#[tokio::test]
async fn metrics_count_expired_disabled_throttled_and_rotated() {
    let Some((app, clock)) = app_with(throttling(1)).await else { return };
    let account = app.create_account(json!({"name": "counted"})).await;
    let id = account["id"].as_str().expect("id");

    let expiring = app.post_json(&format!("{SA}/{id}/key"), &app.admin_key, &json!({"expiresIn": 10})).await;
    let expiring: Value = expiring.json().await.expect("json");
    clock.advance(11);
    app.get(WHOAMI, expiring["secret"].as_str().expect("secret")).await;

    let disabled = app.create_key(id).await;
    let path = format!("{SA}/{id}/key/{}", disabled["keyId"].as_str().expect("keyId"));
    app.patch_json(&path, &app.admin_key, &json!({"disabled": true})).await;
    app.get(WHOAMI, disabled["secret"].as_str().expect("secret")).await;

    let rotated = app.create_key(id).await;
    let res = app
        .post_json(
            &format!("{SA}/{id}/key/{}/rotate", rotated["keyId"].as_str().expect("keyId")),
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let throttled = client_from(9);
    for _ in 0..3 {
        throttled.get(app.url(WHOAMI)).header("Authorization", unknown_key()).send().await.expect("request");
    }

    let text = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    for event in ["expired", "disabled", "rotated", "throttled"] {
        let count = metric(&text, &format!("keyward_key_lifecycle_events_total{{outcome=\"{event}\"}}"));
        assert!(count >= 1, "no {event} counted in:\n{text}");
    }
    assert_eq!(metric(&text, "keyward_key_lifecycle_events_total{outcome=\"rotated\"}"), 1);
}
