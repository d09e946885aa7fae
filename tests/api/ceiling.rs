//! A key is a ceiling: a narrowed key makes, changes, rotates and restores
//! only keys within its own narrowing, never changes its own, and its access
//! tokens carry the same ceiling. Policies bind rotation and restoring too,
//! and issuing a token is a use of its key.

use std::sync::Arc;

use base64::Engine;
use keyward::domain::Role;
use keyward::domain::clock::ManualClock;
use keyward::service::Limits;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

const TOKEN: &str = "/api/auth/v1/oauth/token";
const NOW: i64 = 1_800_000_000;

fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} in {v}")).to_owned()
}

/// An account of `role` and a key of it made by the admin key with `body`:
/// (account id, the key's creation answer).
async fn narrowed(app: &TestApp, role: &str, basic: bool, body: Value) -> (String, Value) {
    let name = format!("{role}-{}", keyward::domain::Id::generate());
    let account = s(&app.create_account(json!({"name": name, "role": role, "enableBasicAuth": basic})).await, "id");
    let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create key {body}");
    (account, res.json().await.expect("json"))
}

/// The report's key: read-only scopes, one address, a rate limit, ten minutes.
fn report_key() -> Value {
    json!({"scopes": ["read"], "allowedCidrs": ["127.0.0.1/32"], "rateLimit": {"limit": 100, "period": 60}, "expiresIn": 600})
}

async fn key_meta(app: &TestApp, account: &str, key_id: &str) -> Value {
    let keys: Value = app.get(&format!("{SA}/{account}/key"), &app.admin_key).await.json().await.expect("json");
    keys.as_array().expect("keys").iter().find(|k| k["keyId"] == key_id).cloned().expect("key listed")
}

async fn key_count(app: &TestApp, account: &str) -> usize {
    let keys: Value = app.get(&format!("{SA}/{account}/key"), &app.admin_key).await.json().await.expect("json");
    keys.as_array().expect("keys").len()
}

#[tokio::test]
async fn a_narrowed_key_cannot_widen_itself() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, me) = narrowed(&app, "admin", false, report_key()).await;
    let (secret, key_id) = (s(&me, "secret"), s(&me, "keyId"));
    let path = format!("{SA}/{account}/key/{key_id}");
    let before = key_meta(&app, &account, &key_id).await;

    let widen = json!({"allowedCidrs": null, "rateLimit": null, "scopes": ["read", "write", "admin:all"]});
    let body = problem(app.patch_json(&path, &secret, &widen).await, StatusCode::FORBIDDEN).await;
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("own")), "{body}");
    for one in [
        json!({"scopes": ["read", "write"]}),
        json!({"allowedCidrs": []}),
        json!({"rateLimit": null}),
        json!({"role": "admin"}),
        json!({"meta": {"tier": "gold"}}),
    ] {
        problem(app.patch_json(&path, &secret, &one).await, StatusCode::FORBIDDEN).await;
    }
    // Even narrowing oneself is a change of one's own narrowing: ask the maker.
    problem(app.patch_json(&path, &secret, &json!({"scopes": []})).await, StatusCode::FORBIDDEN).await;
    let mut after = key_meta(&app, &account, &key_id).await;
    after["lastUsed"] = before["lastUsed"].clone();
    assert_eq!(after, before, "nothing changed");

    // The control: a key may still rename itself, and its maker may narrow it.
    let res = app.patch_json(&path, &secret, &json!({"name": "renamed"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.patch_json(&path, &app.admin_key, &json!({"rateLimit": {"limit": 5, "period": 60}})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_narrowed_key_mints_only_keys_within_itself() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, me) = narrowed(&app, "admin", false, report_key()).await;
    let secret = s(&me, "secret");
    let my_expiry = me["expires"].as_i64().expect("the key expires");
    let keys = format!("{SA}/{account}/key");
    let count = key_count(&app, &account).await;

    let wider = [
        (json!({"scopes": ["read", "write", "billing:admin"]}), "scopes"),
        (json!({"scopes": [], "allowedCidrs": ["127.0.0.1/32"], "rateLimit": {"limit": 100, "period": 60}}), "scopes"),
        (
            json!({"scopes": ["read"], "allowedCidrs": ["0.0.0.0/0"], "rateLimit": {"limit": 100, "period": 60}}),
            "allowedCidrs",
        ),
        (json!({"scopes": ["read"], "rateLimit": {"limit": 100, "period": 60}}), "allowedCidrs"),
        (json!({"scopes": ["read"], "allowedCidrs": ["127.0.0.1"]}), "rateLimit"),
        (
            json!({"scopes": ["read"], "allowedCidrs": ["127.0.0.1"], "rateLimit": {"limit": 101, "period": 60}}),
            "rateLimit",
        ),
        (
            json!({"scopes": ["read"], "allowedCidrs": ["127.0.0.1"], "rateLimit": {"limit": 100, "period": 59}}),
            "rateLimit",
        ),
        (
            json!({"scopes": ["read"], "allowedCidrs": ["127.0.0.1"], "rateLimit": {"limit": 100, "period": 60}, "expiresIn": 601}),
            "expires",
        ),
    ];
    for (mut body, field) in wider {
        if field != "expires" && body.get("expiresIn").is_none() {
            body["expiresIn"] = json!(300);
        }
        let refused = problem(app.post_json(&keys, &secret, &body).await, StatusCode::FORBIDDEN).await;
        assert!(refused["detail"].as_str().is_some_and(|d| d.starts_with(&format!("{field}:"))), "{body}: {refused}");
    }
    assert_eq!(key_count(&app, &account).await, count, "nothing was made");

    // The control: within the ceiling, the key is made; asked for no
    // lifetime, it ends when its maker does.
    let within =
        json!({"scopes": ["read"], "allowedCidrs": ["127.0.0.1/32"], "rateLimit": {"limit": 10, "period": 600}});
    let res = app.post_json(&keys, &secret, &within).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.expect("json");
    assert_eq!(made["expires"].as_i64(), Some(my_expiry));
    // An unnarrowed key of the same account still makes keys of any shape.
    let res = app.post_json(&keys, &app.admin_key, &json!({"scopes": ["write"]})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_narrowed_key_neither_enables_nor_rotates_a_wider_key_but_rotates_itself() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, me) = narrowed(&app, "admin", false, report_key()).await;
    let secret = s(&me, "secret");
    let wide = app.create_key(&account).await;
    let wide_path = format!("{SA}/{account}/key/{}", s(&wide, "keyId"));

    // Disabling a wider key only narrows what exists: allowed.
    let res = app.patch_json(&wide_path, &secret, &json!({"disabled": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Enabling it again would make a wider key usable: refused.
    problem(app.patch_json(&wide_path, &secret, &json!({"disabled": false})).await, StatusCode::FORBIDDEN).await;
    assert_eq!(key_meta(&app, &account, &s(&wide, "keyId")).await["disabled"], true);
    // Narrowing it to within the ceiling is a change it may make.
    let within = json!({"scopes": ["read"], "allowedCidrs": ["127.0.0.1"], "rateLimit": {"limit": 1, "period": 60}});
    let res = app.patch_json(&wide_path, &secret, &within).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "still no expiry: wider than its maker");

    // Rotating a wider key would hand the caller its successor's secret.
    let other = app.create_key(&account).await;
    let rotate = format!("{SA}/{account}/key/{}/rotate", s(&other, "keyId"));
    problem(app.post_json(&rotate, &secret, &json!({})).await, StatusCode::FORBIDDEN).await;

    // The control: a key rotates itself, and the successor is no wider.
    let own = format!("{SA}/{account}/key/{}/rotate", s(&me, "keyId"));
    let res = app.post_json(&own, &secret, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let successor: Value = res.json().await.expect("json");
    assert_eq!(successor["scopes"], json!(["read"]));
    assert_eq!(successor["allowedCidrs"], json!(["127.0.0.1/32"]));
    assert_eq!(successor["expires"], me["expires"]);
}

#[tokio::test]
async fn an_access_token_carries_its_keys_ceiling_and_issuing_one_is_a_use() {
    let Some(app) = TestApp::spawn().await else { return };
    let body = json!({"scopes": ["read"], "rateLimit": {"limit": 4, "period": 3600}});
    let (account, me) = narrowed(&app, "admin", true, body).await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s(&me, "keyId"), s(&me, "secret")))
    );
    let issue = || {
        app.client
            .post(app.url(TOKEN))
            .header("Authorization", &basic)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
    };
    let res = issue().await.expect("token");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("ratelimit-remaining").and_then(|v| v.to_str().ok()), Some("3"));
    let token: Value = res.json().await.expect("json");
    let bearer = format!("Bearer {}", s(&token, "access_token"));

    // The token's own calls are within the key's ceiling, as the key's are.
    let keys = format!("{SA}/{account}/key");
    let refused = app.post_json(&keys, &bearer, &json!({"scopes": ["read", "write"]})).await;
    problem(refused, StatusCode::FORBIDDEN).await;
    let path = format!("{keys}/{}", s(&me, "keyId"));
    problem(app.patch_json(&path, &bearer, &json!({"rateLimit": null})).await, StatusCode::FORBIDDEN).await;

    // The token's two calls were the second and third uses, the next token
    // the fourth; the fifth is past the limit and is refused, with where the
    // key stands.
    assert_eq!(issue().await.expect("token").status(), StatusCode::OK);
    let res = issue().await.expect("token");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(res.headers().get("ratelimit-remaining").and_then(|v| v.to_str().ok()), Some("0"));
}

/// A key made by `maker` with an `Idempotency-Key`.
async fn create_with_idempotency(app: &TestApp, account: &str, maker: &str, idem: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("{SA}/{account}/key")))
        .header("Authorization", maker)
        .header("Idempotency-Key", idem)
        .json(&json!({"name": "ci"}))
        .send()
        .await
        .expect("create")
}

#[tokio::test]
async fn a_replay_is_authorized_afresh_for_a_demoted_key() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, editor) = narrowed(&app, "editor", false, json!({})).await;
    let maker = s(&editor, "secret");
    let first = create_with_idempotency(&app, &account, &maker, "retry-1").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("json");
    // The control: while still an editor, the replay repeats the answer.
    let again = create_with_idempotency(&app, &account, &maker, "retry-1").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.json::<Value>().await.expect("json")["secret"], first["secret"]);

    let res = app.patch_json(&format!("{SA}/{account}"), &app.admin_key, &json!({"role": "viewer"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    problem(create_with_idempotency(&app, &account, &maker, "retry-2").await, StatusCode::FORBIDDEN).await;
    let replay = create_with_idempotency(&app, &account, &maker, "retry-1").await;
    let body = problem(replay, StatusCode::FORBIDDEN).await;
    assert!(!body.to_string().contains(first["secret"].as_str().expect("secret")), "the secret is not repeated");
}

#[tokio::test]
async fn a_replay_is_authorized_afresh_for_a_removed_person() {
    let Some(app) = TestApp::spawn().await else { return };
    let org = keyward::domain::Id::parse(&app.org_id).expect("org");
    let elsewhere =
        app.service.create_org(keyward::domain::Name::parse("Elsewhere").expect("name")).await.expect("org");
    let password = "a long enough password 1".to_owned();
    let email = |e: &str| keyward::domain::Email::parse(e).expect("email");
    let member =
        app.service.create_user(&org, email("ops@example.com"), Role::Admin, password.clone()).await.expect("user");
    // Another admin person, so that the first is not the last one.
    app.service.create_user(&org, email("lead@example.com"), Role::Admin, password.clone()).await.expect("user");
    // A second organization keeps the person's session alive after removal.
    app.service
        .create_user(&elsewhere.id, email("ops@example.com"), Role::Viewer, password.clone())
        .await
        .expect("user");
    let (cookie, csrf) = app.login("ops@example.com", &password).await.expect("login");
    let accepted = app
        .client
        .post(app.url(&format!("/api/user/v1/me/invitation/{}/accept", elsewhere.id)))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .expect("accept");
    assert!(accepted.status().is_success(), "joining the second organization: {}", accepted.status());
    let account = s(&app.create_account(json!({"name": "deploy", "role": "admin"})).await, "id");
    let create = || {
        app.client
            .post(app.url(&format!("{SA}/{account}/key?orgId={}", app.org_id)))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .header("Idempotency-Key", "made-while-admin")
            .json(&json!({}))
            .send()
    };
    let first = create().await.expect("create");
    assert_eq!(first.status(), StatusCode::CREATED);
    let secret = first.json::<Value>().await.expect("json")["secret"].as_str().expect("secret").to_owned();
    let again = create().await.expect("replay");
    assert_eq!(again.status(), StatusCode::CREATED, "the control: a member replays");

    let res = app.delete(&format!("/api/user/v1/user/{}", member.id), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let whoami = app
        .client
        .get(app.url(&format!("/api/service-account/v1/whoami?orgId={}", elsewhere.id)))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("whoami");
    assert_eq!(whoami.status(), StatusCode::OK, "the session lives on in the other organization");
    // In this one the replay is refused and the secret not repeated.
    let replay = create().await.expect("replay");
    assert_eq!(replay.status(), StatusCode::FORBIDDEN);
    let text = replay.text().await.expect("body");
    assert!(!text.contains(&secret), "the secret is not repeated: {text}");
}

#[tokio::test]
async fn a_replay_by_a_key_since_narrowed_below_what_it_made_is_refused() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, me) = narrowed(&app, "admin", false, json!({})).await;
    let maker = s(&me, "secret");
    assert_eq!(create_with_idempotency(&app, &account, &maker, "wide").await.status(), StatusCode::CREATED);
    let path = format!("{SA}/{account}/key/{}", s(&me, "keyId"));
    let res = app.patch_json(&path, &app.admin_key, &json!({"scopes": ["read"]})).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The key it made has no scopes; the maker may no longer make that key.
    problem(create_with_idempotency(&app, &account, &maker, "wide").await, StatusCode::FORBIDDEN).await;
}

async fn app_at(now: i64) -> Option<(TestApp, ManualClock)> {
    let clock = ManualClock::new(now);
    let app = TestApp::spawn_with(Options {
        limits: Limits::default(),
        clock: Arc::new(clock.clone()),
        ..Options::default()
    })
    .await?;
    Some((app, clock))
}

#[tokio::test]
async fn rotation_and_restoring_are_bound_by_the_policy_set_since() {
    let Some((app, _clock)) = app_at(NOW).await else { return };
    let ten_years = 10 * 365 * 86_400;
    let (account, old) = narrowed(&app, "viewer", false, json!({"expiresIn": ten_years})).await;
    let (restored_account, restored_key) = narrowed(&app, "viewer", false, json!({})).await;
    let res = app
        .patch_json(&format!("/api/org/v1/org/{}", app.org_id), &app.admin_key, &json!({"maxKeyLifetime": 30 * 86_400}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let rotate = format!("{SA}/{account}/key/{}/rotate", s(&old, "keyId"));
    let res = app.post_json(&rotate, &app.admin_key, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let successor: Value = res.json().await.expect("json");
    assert_eq!(successor["expires"].as_i64(), Some(NOW + 30 * 86_400), "no 10-year successor");
    // And its successor in turn.
    let rotate = format!("{SA}/{account}/key/{}/rotate", s(&successor, "keyId"));
    let res = app.post_json(&rotate, &app.admin_key, &json!({})).await;
    assert_eq!(res.json::<Value>().await.expect("json")["expires"].as_i64(), Some(NOW + 30 * 86_400));

    // An account deleted before the policy comes back with keys the policy allows.
    let res = app.delete(&format!("{SA}/{restored_account}"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.post_json(&format!("{SA}/{restored_account}/undelete"), &app.admin_key, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let key = key_meta(&app, &restored_account, &s(&restored_key, "keyId")).await;
    assert_eq!(key["expires"].as_i64(), Some(NOW + 30 * 86_400));
}

#[tokio::test]
async fn anonymous_revocation_counts_each_secret_and_is_bounded_for_everyone() {
    let Some((app, _clock)) = app_at(NOW).await else { return };
    let revoke = |secrets: Vec<String>| {
        app.client.post(app.url("/api/leak/v1/revoke")).json(&json!({"secrets": secrets})).send()
    };
    let junk: Vec<String> = (0..5).map(|i| format!("not-a-key-{i}")).collect();
    // The control: a few secrets, a few times, stay under the limit.
    for _ in 0..3 {
        assert_eq!(revoke(junk.clone()).await.expect("revoke").status(), StatusCode::ACCEPTED);
    }
    // Twenty-five secrets in one call are twenty-five guesses: the call is
    // answered, and the next is throttled.
    let many: Vec<String> = (0..25).map(|i| format!("not-a-key-{i}")).collect();
    assert_eq!(revoke(many).await.expect("revoke").status(), StatusCode::ACCEPTED);
    let res = revoke(junk).await.expect("revoke");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn anonymous_lookups_are_bounded_node_wide_whatever_the_addresses() {
    let clock = ManualClock::new(NOW);
    let options = Options {
        clock: Arc::new(clock.clone()),
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("net")],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(options).await else { return };
    // Well-formed secrets (their checksums hold), each one lookup.
    let secrets: Vec<String> =
        (0..1000).map(|_| keyward::domain::Secret::mint().expect("randomness").expose().to_owned()).collect();
    let from = |addr: String| {
        app.client
            .post(app.url("/api/leak/v1/revoke"))
            .header("X-Forwarded-For", addr)
            .json(&json!({"secrets": secrets}))
            .send()
    };
    // Each call from an address of its own, as a client rotating addresses would.
    assert_eq!(from("2001:db8:1::1".into()).await.expect("revoke").status(), StatusCode::ACCEPTED);
    assert_eq!(from("2001:db8:2::1".into()).await.expect("revoke").status(), StatusCode::ACCEPTED);
    let res = from("2001:db8:3::1".into()).await.expect("revoke");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "the node's allowance for this second is spent");
    assert!(res.headers().get("retry-after").is_some());
    // Someone revoking the few keys they leaked is not kept waiting by it.
    let res = app
        .client
        .post(app.url("/api/leak/v1/revoke"))
        .header("X-Forwarded-For", "2001:db8:5::1")
        .json(&json!({"secrets": &secrets[..3]}))
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    // The control: the next second has an allowance again.
    clock.advance(1);
    assert_eq!(from("2001:db8:4::1".into()).await.expect("revoke").status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_narrowed_key_cannot_bring_back_an_account_of_wider_keys() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, me) = narrowed(&app, "admin", false, json!({"scopes": ["read"]})).await;
    let secret = s(&me, "secret");
    let (account, _wide) = narrowed(&app, "viewer", false, json!({})).await;
    let path = format!("{SA}/{account}");
    let res = app.patch_json(&path, &app.admin_key, &json!({"disabled": true})).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Its unnarrowed key would work again: refused, and nothing changes.
    for widen in [json!({"disabled": false}), json!({"role": "editor"}), json!({"enableBasicAuth": true})] {
        problem(app.patch_json(&path, &secret, &widen).await, StatusCode::FORBIDDEN).await;
    }
    let account_now: Value = app.get(&path, &app.admin_key).await.json().await.expect("json");
    assert_eq!((account_now["disabled"].clone(), account_now["role"].clone()), (json!(true), json!("viewer")));
    // The control: renaming it is no widening, and an unnarrowed key may
    // bring it back.
    assert_eq!(app.patch_json(&path, &secret, &json!({"name": "renamed"})).await.status(), StatusCode::OK);
    assert_eq!(app.patch_json(&path, &app.admin_key, &json!({"disabled": false})).await.status(), StatusCode::OK);
}
