//! Narrow and metered keys: a key's own role, scopes, address
//! ranges, rate limit and meta; validated, kept by rotation, enforced on
//! keyward's own API, on verify and on the token endpoint and its tokens.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine;
use keyward::domain::Role;
use keyward::service::Limits;
use keyward::service::throttle::ThrottlePolicy;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem};

const VERIFY: &str = "/api/auth/v1/verify";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const TOKEN: &str = "/api/auth/v1/oauth/token";

fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} in {v}")).to_owned()
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// An account of `role` over the API; its id.
async fn account(app: &TestApp, role: &str) -> String {
    let name = format!("{role}-{}", keyward::domain::Id::generate());
    s(&app.create_account(json!({"name": name, "role": role})).await, "id")
}

/// A key of `account` made with `body` as the admin key; its creation answer.
async fn key(app: &TestApp, account: &str, body: Value) -> Value {
    let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create key {body}");
    res.json().await.expect("json")
}

async fn keys_of(app: &TestApp, account: &str) -> Value {
    app.get(&format!("{SA}/{account}/key"), &app.admin_key).await.json().await.expect("json")
}

#[tokio::test]
async fn every_field_is_returned_wherever_keys_appear() {
    let Some(app) = TestApp::spawn().await else { return };
    let acct = account(&app, "admin").await;
    let body = json!({
        "role": "editor",
        "scopes": ["orders:read", "orders:write", "orders:read"],
        "allowedCidrs": ["203.0.113.9", "10.1.2.3/8", "2001:db8::/32"],
        "rateLimit": {"limit": 100, "period": 60},
        "meta": {"tier": "gold", "nested": {"n": [1, 2, 3]}},
    });
    let created = key(&app, &acct, body.clone()).await;
    let expected = |v: &Value| {
        assert_eq!(v["role"], "editor");
        assert_eq!(v["scopes"], json!(["orders:read", "orders:write"]), "de-duplicated, in order");
        assert_eq!(v["allowedCidrs"], json!(["203.0.113.9/32", "10.0.0.0/8", "2001:db8::/32"]));
        assert_eq!(v["rateLimit"], json!({"limit": 100, "period": 60}));
        assert_eq!(v["meta"], body["meta"]);
    };
    expected(&created);
    let listed = keys_of(&app, &acct).await;
    expected(&listed[0]);
    let one: Value = app.get(&format!("{SA}/{acct}"), &app.admin_key).await.json().await.expect("json");
    expected(&one["keys"][0]);
    let page: Value = app.get(SA, &app.admin_key).await.json().await.expect("json");
    let in_page = page["items"].as_array().expect("items").iter().find(|a| a["id"] == acct.as_str()).expect("listed");
    expected(&in_page["keys"][0]);

    // A plain key narrows nothing, and says so.
    let plain = key(&app, &acct, json!({})).await;
    assert_eq!(
        (&plain["role"], &plain["scopes"], &plain["allowedCidrs"], &plain["rateLimit"], &plain["meta"]),
        (&Value::Null, &json!([]), &json!([]), &Value::Null, &Value::Null)
    );
}

#[tokio::test]
async fn each_bad_field_is_a_422_naming_it_and_changes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let viewer_account = account(&app, "viewer").await;
    let many_scopes: Vec<String> = (0..51).map(|i| format!("s{i}")).collect();
    let many_cidrs: Vec<String> = (0..51).map(|i| format!("10.0.{i}.0/24")).collect();
    let cases = [
        (json!({"scopes": "read"}), "scopes"),
        (json!({"scopes": ["read", "write", "ok", "Nope"]}), "scopes[3]"),
        (json!({"scopes": [""]}), "scopes[0]"),
        (json!({"scopes": ["a".repeat(65)]}), "scopes[0]"),
        (json!({"scopes": many_scopes}), "scopes"),
        (json!({"allowedCidrs": ["10.0.0.0/33"]}), "allowedCidrs[0]"),
        (json!({"allowedCidrs": ["10.0.0.0/8", "nowhere"]}), "allowedCidrs[1]"),
        (json!({"allowedCidrs": many_cidrs}), "allowedCidrs"),
        (json!({"rateLimit": {"limit": 0, "period": 60}}), "rateLimit.limit"),
        (json!({"rateLimit": {"limit": 1_000_001, "period": 60}}), "rateLimit.limit"),
        (json!({"rateLimit": {"limit": 10, "period": 0}}), "rateLimit.period"),
        (json!({"rateLimit": {"limit": 10, "period": 86_401}}), "rateLimit.period"),
        (json!({"rateLimit": {"limit": 10}}), "rateLimit.period"),
        (json!({"rateLimit": {"limit": "ten", "period": 60}}), "rateLimit.limit"),
        (json!({"rateLimit": 5}), "rateLimit"),
        (json!({"meta": [1, 2]}), "meta"),
        (json!({"meta": "x"}), "meta"),
        (json!({"meta": {"big": "a".repeat(4096)}}), "meta"),
        (json!({"role": "owner"}), "role"),
        (json!({"role": "admin"}), "role"),
    ];
    let keys_before = app.count_rows("api_keys").await;
    let audit_before = app.count_rows("audit_events").await;
    for (body, field) in &cases {
        let res = app.post_json(&format!("{SA}/{viewer_account}/key"), &app.admin_key, body).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        let named = p["field"].as_str().unwrap_or_default();
        assert!(named == *field || (*field == "rateLimit" && named.starts_with("rateLimit")), "{body}: {p}");
    }
    assert_eq!(app.count_rows("api_keys").await, keys_before, "a refused key was stored");

    // The same through PATCH: the key stays as it was.
    let k = key(&app, &viewer_account, json!({"scopes": ["read"], "meta": {"a": 1}})).await;
    let path = format!("{SA}/{viewer_account}/key/{}", s(&k, "keyId"));
    let before = keys_of(&app, &viewer_account).await;
    let audit_mid = app.count_rows("audit_events").await;
    for (body, field) in &cases {
        let mut patch = body.clone();
        patch["name"] = json!("renamed");
        let p = problem(app.patch_json(&path, &app.admin_key, &patch).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        let named = p["field"].as_str().unwrap_or_default();
        assert!(named == *field || (*field == "rateLimit" && named.starts_with("rateLimit")), "{patch}: {p}");
    }
    assert_eq!(keys_of(&app, &viewer_account).await, before, "a refused change changed the key");
    assert_eq!(app.count_rows("audit_events").await, audit_mid);
    assert_eq!(audit_mid, audit_before + 1, "only the one good key was audited");

    // Accounts' meta too.
    let accounts_before = app.count_rows("service_accounts").await;
    for bad in [json!([1]), json!({"x": "a".repeat(5000)})] {
        let res = app.post_json(SA, &app.admin_key, &json!({"name": "meta-bad", "meta": bad})).await;
        assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "meta");
    }
    assert_eq!(app.count_rows("service_accounts").await, accounts_before);
}

#[tokio::test]
async fn accounts_carry_meta_set_changed_and_cleared() {
    let Some(app) = TestApp::spawn().await else { return };
    let meta = json!({"owner": "team-billing", "cost-center": 42});
    let created = app.create_account(json!({"name": "billing", "meta": meta})).await;
    assert_eq!(created["meta"], meta);
    let id = s(&created, "id");
    let got: Value = app.get(&format!("{SA}/{id}"), &app.admin_key).await.json().await.expect("json");
    assert_eq!(got["meta"], meta);
    let res = app.patch_json(&format!("{SA}/{id}"), &app.admin_key, &json!({"meta": {"owner": "ops"}})).await;
    assert_eq!(res.json::<Value>().await.expect("json")["meta"], json!({"owner": "ops"}));
    let res = app.patch_json(&format!("{SA}/{id}"), &app.admin_key, &json!({"meta": null})).await;
    assert_eq!(res.json::<Value>().await.expect("json")["meta"], Value::Null);
    let plain = app.create_account(json!({"name": "plain"})).await;
    assert_eq!(plain["meta"], Value::Null);
}

#[tokio::test]
async fn a_viewer_key_of_an_admin_account_reads_but_cannot_write() {
    let Some(app) = TestApp::spawn().await else { return };
    let admin_account = account(&app, "admin").await;
    let viewer = s(&key(&app, &admin_account, json!({"role": "viewer"})).await, "secret");

    let who: Value = app.get(WHOAMI, &viewer).await.json().await.expect("json");
    assert_eq!(who["role"], "viewer");
    assert_eq!(app.get(SA, &viewer).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("{SA}/{admin_account}/key"), &viewer).await.status(), StatusCode::OK);
    let accounts_before = app.count_rows("service_accounts").await;
    let res = app.post_json(SA, &viewer, &json!({"name": "made-by-viewer"})).await;
    problem(res, StatusCode::FORBIDDEN).await;
    let res = app.post_json(&format!("{SA}/{admin_account}/key"), &viewer, &json!({})).await;
    problem(res, StatusCode::FORBIDDEN).await;
    assert_eq!(app.count_rows("service_accounts").await, accounts_before);
    let res = app.get(VERIFY, &viewer).await;
    assert_eq!(header(&res, "x-keyward-role").as_deref(), Some("viewer"));

    // An editor key of an admin account may manage keys but not accounts.
    let editor = s(&key(&app, &admin_account, json!({"role": "editor"})).await, "secret");
    let target = account(&app, "viewer").await;
    assert_eq!(app.post_json(&format!("{SA}/{target}/key"), &editor, &json!({})).await.status(), StatusCode::CREATED);
    problem(app.delete(&format!("{SA}/{target}"), &editor).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_key_never_gets_a_role_above_its_account_or_its_maker() {
    let Some(app) = TestApp::spawn().await else { return };
    let viewer_account = account(&app, "viewer").await;
    let res = app.post_json(&format!("{SA}/{viewer_account}/key"), &app.admin_key, &json!({"role": "editor"})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "role");

    // An editor (a key of an editor account) gives no key the admin role,
    // not even for an account it may manage.
    let editor_account = account(&app, "editor").await;
    let editor = s(&key(&app, &editor_account, json!({})).await, "secret");
    let res = app.post_json(&format!("{SA}/{editor_account}/key"), &editor, &json!({"role": "admin"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let k = key(&app, &editor_account, json!({"role": "viewer"})).await;
    let path = format!("{SA}/{editor_account}/key/{}", s(&k, "keyId"));
    problem(app.patch_json(&path, &editor, &json!({"role": "admin"})).await, StatusCode::FORBIDDEN).await;
    let res = app.patch_json(&path, &editor, &json!({"role": "editor"})).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Demoting the account later drags its keys down: the lesser applies.
    let admin_account = account(&app, "admin").await;
    let narrowed = s(&key(&app, &admin_account, json!({"role": "editor"})).await, "secret");
    let res = app.patch_json(&format!("{SA}/{admin_account}"), &app.admin_key, &json!({"role": "viewer"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let who: Value = app.get(WHOAMI, &narrowed).await.json().await.expect("json");
    assert_eq!(who["role"], "viewer");
}

#[tokio::test]
async fn verify_requires_every_scope_named_and_answers_in_json() {
    let Some(app) = TestApp::spawn().await else { return };
    let acct = account(&app, "editor").await;
    let meta = json!({"plan": "pro"});
    let k = key(&app, &acct, json!({"scopes": ["read", "orders:write"], "meta": meta})).await;
    let secret = s(&k, "secret");

    let res = app.get(&format!("{VERIFY}?scope=read&scope=orders:write"), &secret).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-keyward-scopes").as_deref(), Some("read orders:write"));
    assert!(header(&res, "ratelimit-limit").is_none(), "no rate limit, no RateLimit headers");

    let res = app.get(&format!("{VERIFY}?scope=read&scope=delete"), &secret).await;
    assert!(header(&res, "x-keyward-key-id").is_none());
    let p = problem(res, StatusCode::FORBIDDEN).await;
    assert_eq!(p["field"], "scope");
    assert!(p["detail"].as_str().expect("detail").contains("delete"), "{p}");

    let res = app.get(&format!("{VERIFY}?scope=Not%20A%20Scope"), &secret).await;
    assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], "scope");

    let res = app.request(Method::GET, VERIFY, &secret).header("Accept", "application/json").send().await;
    let body: Value = res.expect("request").json().await.expect("json");
    let fields: BTreeSet<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from(["valid", "serviceAccountId", "orgId", "role", "keyId", "scopes", "meta", "rateLimit"])
    );
    assert_eq!(body["valid"], true);
    assert_eq!(body["serviceAccountId"], acct.as_str());
    assert_eq!(body["orgId"], app.org_id.as_str());
    assert_eq!(body["role"], "editor");
    assert_eq!(body["keyId"], k["keyId"]);
    assert_eq!(body["scopes"], json!(["read", "orders:write"]));
    assert_eq!(body["meta"], meta);
    assert_eq!(body["rateLimit"], Value::Null);
}

fn throttled_app_options(max_failures: u32) -> Options {
    Options {
        limits: Limits { throttle: ThrottlePolicy { max_failures, ..Default::default() }, ..Default::default() },
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("net")],
        ..Options::default()
    }
}

#[tokio::test]
async fn a_key_used_from_outside_its_ranges_is_refused_like_a_wrong_key() {
    let Some(app) = TestApp::spawn_with(throttled_app_options(3)).await else { return };
    let acct = account(&app, "editor").await;
    let secret = s(&key(&app, &acct, json!({"allowedCidrs": ["203.0.113.0/24", "2001:db8::/32"]})).await, "secret");
    let from = |client: &'static str| {
        let app = &app;
        let secret = secret.clone();
        async move {
            app.request(Method::GET, VERIFY, &secret).header("X-Forwarded-For", client).send().await.expect("request")
        }
    };
    // Inside: through the trusted proxy's X-Forwarded-For.
    assert_eq!(from("203.0.113.77").await.status(), StatusCode::OK);
    assert_eq!(from("2001:db8:1::5").await.status(), StatusCode::OK);
    let res = app.request(Method::GET, WHOAMI, &secret).header("X-Forwarded-For", "203.0.113.5").send().await;
    assert_eq!(res.expect("request").status(), StatusCode::OK, "keyward's own API applies the ranges too");

    // Outside: 401 like a wrong key, and counted as a failure of that client.
    for _ in 0..3 {
        let res = from("198.51.100.7").await;
        assert!(header(&res, "x-keyward-key-id").is_none());
        problem(res, StatusCode::UNAUTHORIZED).await;
    }
    let res = from("198.51.100.7").await;
    assert!(header(&res, "retry-after").is_some());
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    // The peer itself (no forwarded address) is outside too.
    let res = app.get(WHOAMI, &secret).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The key is not hurt: from inside it still works.
    assert_eq!(from("203.0.113.1").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_rate_limit_is_exact_under_64_concurrent_clients() {
    let Some(app) = TestApp::spawn().await else { return };
    let app = Arc::new(app);
    let acct = account(&app, "viewer").await;
    let limit = 50;
    let secret = s(&key(&app, &acct, json!({"rateLimit": {"limit": limit, "period": 3600}})).await, "secret");
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (app, secret) = (app.clone(), secret.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..3 {
                    let res = app.get(VERIFY, &secret).await;
                    let remaining = header(&res, "ratelimit-remaining").and_then(|v| v.parse::<u32>().ok());
                    answers.push((
                        res.status(),
                        header(&res, "ratelimit-limit"),
                        remaining,
                        header(&res, "ratelimit-reset").and_then(|v| v.parse::<u64>().ok()),
                        header(&res, "retry-after"),
                    ));
                }
                answers
            })
        })
        .collect();
    let mut ok_remaining = Vec::new();
    let mut refused = 0;
    for task in tasks {
        for (status, limit_header, remaining, reset, retry_after) in task.await.expect("task") {
            assert_eq!(limit_header.as_deref(), Some("50"), "every answer names the limit");
            let reset = reset.expect("RateLimit-Reset");
            assert!((1..=3600).contains(&reset), "reset {reset}");
            match status {
                StatusCode::OK => ok_remaining.push(remaining.expect("remaining")),
                StatusCode::TOO_MANY_REQUESTS => {
                    refused += 1;
                    assert_eq!(remaining, Some(0));
                    assert!(retry_after.is_some_and(|r| r.parse::<u64>().is_ok_and(|r| r >= 1)));
                }
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(ok_remaining.len(), limit, "exactly the limit got through");
    assert_eq!(refused, 64 * 3 - limit);
    ok_remaining.sort_unstable();
    assert_eq!(ok_remaining, (0..limit as u32).collect::<Vec<_>>(), "each success saw its own count");

    // The JSON answer counts too; past the limit it is a problem.
    let res = app.request(Method::GET, VERIFY, &secret).header("Accept", "application/json").send().await;
    let res = res.expect("request");
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    // A valid but limited key is never counted as a failure of its client.
    assert_eq!(app.get(WHOAMI, &app.admin_key).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_json_answer_shows_the_rate_limit_count() {
    let Some(app) = TestApp::spawn().await else { return };
    let acct = account(&app, "viewer").await;
    let secret = s(&key(&app, &acct, json!({"rateLimit": {"limit": 3, "period": 60}})).await, "secret");
    for remaining in [2, 1, 0] {
        let res = app.request(Method::GET, VERIFY, &secret).header("Accept", "application/json").send().await;
        let body: Value = res.expect("request").json().await.expect("json");
        assert_eq!(body["rateLimit"]["limit"], 3);
        assert_eq!(body["rateLimit"]["remaining"], remaining);
        assert!(body["rateLimit"]["reset"].as_u64().is_some_and(|r| (1..=60).contains(&r)), "{body}");
    }
    // keyward's own API counts the same uses.
    let res = app.get(WHOAMI, &secret).await;
    assert_eq!(res.headers()["ratelimit-limit"], "3");
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn a_missing_scope_is_no_use_yet_shows_the_count() {
    let Some(app) = TestApp::spawn().await else { return };
    let acct = account(&app, "viewer").await;
    let body = json!({"scopes": ["read"], "rateLimit": {"limit": 2, "period": 60}});
    let secret = s(&key(&app, &acct, body).await, "secret");
    for _ in 0..5 {
        let res = app.get(&format!("{VERIFY}?scope=write"), &secret).await;
        assert_eq!(header(&res, "ratelimit-remaining").as_deref(), Some("2"), "a refusal used nothing");
        problem(res, StatusCode::FORBIDDEN).await;
    }
    for left in ["1", "0"] {
        let res = app.get(&format!("{VERIFY}?scope=read"), &secret).await;
        assert_eq!((res.status(), header(&res, "ratelimit-remaining").as_deref()), (StatusCode::OK, Some(left)));
    }
    let res = app.get(&format!("{VERIFY}?scope=write"), &secret).await;
    assert_eq!(header(&res, "ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "the scope is judged first");
}

#[tokio::test]
async fn rotation_hands_every_field_and_the_expiry_to_the_successor() {
    let Some(app) = TestApp::spawn().await else { return };
    let acct = account(&app, "admin").await;
    let body = json!({
        "name": "gateway", "expiresIn": 7200, "role": "editor", "scopes": ["a", "b:c"],
        "allowedCidrs": ["127.0.0.0/8"], "rateLimit": {"limit": 9, "period": 30}, "meta": {"k": "v"},
    });
    let old = key(&app, &acct, body).await;
    let res = app.post_json(&format!("{SA}/{acct}/key/{}/rotate", s(&old, "keyId")), &app.admin_key, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let new: Value = res.json().await.expect("json");
    for field in ["name", "expires", "role", "scopes", "allowedCidrs", "rateLimit", "meta"] {
        assert_eq!(new[field], old[field], "{field}");
    }
    assert!(new["expires"].is_i64());
    let listed = keys_of(&app, &acct).await;
    let successor = listed.as_array().expect("keys").iter().find(|k| k["keyId"] == new["keyId"]).expect("listed");
    assert_eq!(successor["scopes"], old["scopes"]);
    let who: Value = app.get(WHOAMI, &s(&new, "secret")).await.json().await.expect("json");
    assert_eq!(who["role"], "editor");
}

#[tokio::test]
async fn a_change_takes_effect_at_the_next_request() {
    let Some(app) = TestApp::spawn().await else { return };
    let acct = account(&app, "admin").await;
    let k = key(&app, &acct, json!({"scopes": ["read"]})).await;
    let (secret, path) = (s(&k, "secret"), format!("{SA}/{acct}/key/{}", s(&k, "keyId")));
    // Each request below also warms the node's credential cache.
    assert_eq!(app.get(&format!("{VERIFY}?scope=write"), &secret).await.status(), StatusCode::FORBIDDEN);
    let res = app.patch_json(&path, &app.admin_key, &json!({"scopes": ["read", "write"]})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("{VERIFY}?scope=write"), &secret).await.status(), StatusCode::OK);

    assert_eq!(app.post_json(SA, &secret, &json!({"name": "before"})).await.status(), StatusCode::CREATED);
    app.patch_json(&path, &app.admin_key, &json!({"role": "viewer"})).await;
    assert_eq!(app.post_json(SA, &secret, &json!({"name": "after"})).await.status(), StatusCode::FORBIDDEN);

    app.patch_json(&path, &app.admin_key, &json!({"allowedCidrs": ["203.0.113.0/24"]})).await;
    assert_eq!(app.get(WHOAMI, &secret).await.status(), StatusCode::UNAUTHORIZED);
    app.patch_json(&path, &app.admin_key, &json!({"allowedCidrs": null})).await;
    assert_eq!(app.get(WHOAMI, &secret).await.status(), StatusCode::OK);

    app.patch_json(&path, &app.admin_key, &json!({"rateLimit": {"limit": 1, "period": 60}})).await;
    assert_eq!(app.get(WHOAMI, &secret).await.status(), StatusCode::OK);
    assert_eq!(app.get(WHOAMI, &secret).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = app.patch_json(&path, &app.admin_key, &json!({"rateLimit": null, "scopes": null, "role": null})).await;
    let cleared: Value = res.json().await.expect("json");
    assert_eq!((&cleared["rateLimit"], &cleared["scopes"], &cleared["role"]), (&Value::Null, &json!([]), &Value::Null));
    assert_eq!(app.get(WHOAMI, &secret).await.status(), StatusCode::OK);
    assert_eq!(app.post_json(SA, &secret, &json!({"name": "again"})).await.status(), StatusCode::CREATED);

    // The audit trail says what changed.
    let events: Value = app.get("/api/audit/v1/event?limit=200", &app.admin_key).await.json().await.expect("json");
    let updates: Vec<&Value> =
        events["items"].as_array().expect("items").iter().filter(|e| e["action"] == "key.update").collect();
    assert!(updates.iter().any(|e| e["detail"]["changes"]["scopes"]["to"] == json!(["read", "write"])), "{updates:?}");
    let creates: Vec<&Value> =
        events["items"].as_array().expect("items").iter().filter(|e| e["action"] == "key.create").collect();
    assert!(creates.iter().any(|e| e["detail"]["scopes"] == json!(["read"])), "{creates:?}");
}

#[tokio::test]
async fn another_organizations_key_is_not_found() {
    let Some(app) = TestApp::spawn().await else { return };
    let other_org = app.create_org("Other").await;
    let (other_account, other_key, _) = app.account_key_triple(&other_org, Role::Viewer, false).await;
    let res = app
        .patch_json(&format!("{SA}/{other_account}/key/{other_key}"), &app.admin_key, &json!({"scopes": ["x"]}))
        .await;
    problem(res, StatusCode::NOT_FOUND).await;
    let mine = account(&app, "viewer").await;
    let res = app.patch_json(&format!("{SA}/{mine}/key/{other_key}"), &app.admin_key, &json!({"scopes": ["x"]})).await;
    problem(res, StatusCode::NOT_FOUND).await;
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64"))
        .expect("claims")
}

#[tokio::test]
async fn access_tokens_carry_the_keys_narrowing_and_its_ranges() {
    let Some(app) = TestApp::spawn_with(throttled_app_options(1000)).await else { return };
    let acct = s(&app.create_account(json!({"name": "tokens", "role": "editor", "enableBasicAuth": true})).await, "id");
    let k = key(&app, &acct, json!({"role": "viewer", "scopes": ["read", "orders:write"]})).await;
    let (key_id, secret) = (s(&k, "keyId"), s(&k, "secret"));
    let ask = |client: &'static str| {
        let (app, key_id, secret) = (&app, key_id.clone(), secret.clone());
        async move {
            app.client
                .post(app.url(TOKEN))
                .basic_auth(key_id, Some(secret))
                .header("X-Forwarded-For", client)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("request")
        }
    };
    let res = ask("203.0.113.10").await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = s(&res.json::<Value>().await.expect("json"), "access_token");
    let claims = claims_of(&token);
    assert_eq!(claims["role"], "viewer");
    assert_eq!(claims["scope"], "read orders:write");
    let bearer = format!("Bearer {token}");
    let res = app.get(&format!("{VERIFY}?scope=orders:write"), &bearer).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-keyward-role").as_deref(), Some("viewer"));
    problem(app.get(&format!("{VERIFY}?scope=admin"), &bearer).await, StatusCode::FORBIDDEN).await;
    problem(app.post_json(SA, &bearer, &json!({"name": "by-token"})).await, StatusCode::FORBIDDEN).await;

    // Limited to a range: the token endpoint refuses clients outside it, and
    // tokens already issued are refused there too.
    let path = format!("{SA}/{acct}/key/{key_id}");
    let res = app.patch_json(&path, &app.admin_key, &json!({"allowedCidrs": ["203.0.113.0/24"]})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(ask("198.51.100.1").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ask("203.0.113.11").await.status(), StatusCode::OK);
    let outside = app.request(Method::GET, WHOAMI, &bearer).header("X-Forwarded-For", "198.51.100.1").send().await;
    assert_eq!(outside.expect("request").status(), StatusCode::UNAUTHORIZED);
    let inside = app.request(Method::GET, WHOAMI, &bearer).header("X-Forwarded-For", "203.0.113.99").send().await;
    assert_eq!(inside.expect("request").status(), StatusCode::OK);

    // A key without scopes issues tokens without a scope claim.
    let plain = key(&app, &acct, json!({})).await;
    let res = app
        .client
        .post(app.url(TOKEN))
        .basic_auth(s(&plain, "keyId"), Some(s(&plain, "secret")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    let claims = claims_of(&s(&res.json::<Value>().await.expect("json"), "access_token"));
    assert!(claims.get("scope").is_none(), "{claims}");
    assert_eq!(claims["role"], "editor");
}

#[tokio::test]
async fn the_openapi_document_states_the_fields_and_their_constraints() {
    let Some(app) = TestApp::spawn().await else { return };
    let doc: Value =
        app.client.get(app.url("/api/openapi.json")).send().await.expect("doc").json().await.expect("json");
    let schemas = &doc["components"]["schemas"];
    for view in ["KeyView", "CreatedKeyView"] {
        let props = schemas[view]["properties"].as_object().unwrap_or_else(|| panic!("{view}"));
        for field in ["role", "scopes", "allowedCidrs", "rateLimit", "meta"] {
            assert!(props.contains_key(field), "{view} lacks {field}");
        }
    }
    let create = &schemas["CreateKey"]["properties"];
    assert_eq!(create["scopes"]["maxItems"], 50, "{create}");
    assert_eq!(create["allowedCidrs"]["maxItems"], 50);
    let rate = &schemas["RateLimitView"]["properties"];
    assert_eq!((&rate["limit"]["minimum"], &rate["limit"]["maximum"]), (&json!(1), &json!(1_000_000)), "{rate}");
    assert_eq!((&rate["period"]["minimum"], &rate["period"]["maximum"]), (&json!(1), &json!(86_400)));
    assert!(schemas["ServiceAccountView"]["properties"]["meta"].is_object());
    let verify = &doc["paths"]["/api/auth/v1/verify"]["get"];
    let scope = verify["parameters"].as_array().expect("parameters").iter().find(|p| p["name"] == "scope");
    assert!(scope.is_some(), "verify documents ?scope=");
    for status in ["200", "401", "403", "429"] {
        assert!(verify["responses"][status].is_object(), "verify lacks {status}");
    }
    let ok = &verify["responses"]["200"];
    assert!(ok["headers"]["X-Keyward-Scopes"].is_object() && ok["headers"]["RateLimit-Remaining"].is_object());
    assert!(schemas["VerifyView"]["properties"]["rateLimit"].is_object());
}

#[tokio::test]
async fn meta_is_kept_as_given_and_numbers_keep_their_digits() {
    let Some(app) = TestApp::spawn().await else { return };
    let meta = r#"{"big": 123456789012345678901234567890, "price": 1.10, "id": 9007199254740993}"#;
    let send = |path: String, body: String| {
        app.client
            .post(app.url(&path))
            .header("Authorization", &app.admin_key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let res = send(SA.to_owned(), format!(r#"{{"name": "digits", "meta": {meta}}}"#)).await.expect("create");
    assert_eq!(res.status(), StatusCode::CREATED);
    let text = res.text().await.expect("body");
    assert!(text.contains(meta), "the account's meta as given: {text}");
    let account = s(&serde_json::from_str(&text).expect("json"), "id");
    let res = send(format!("{SA}/{account}/key"), format!(r#"{{"meta": {meta}}}"#)).await.expect("key");
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = serde_json::from_str(&res.text().await.expect("body")).expect("json");
    let secret = s(&created, "secret");
    for (path, key) in [(format!("{SA}/{account}/key"), &app.admin_key), (format!("{SA}/{account}"), &app.admin_key)] {
        let text = app.get(&path, key).await.text().await.expect("body");
        assert!(text.contains(meta), "{path}: {text}");
    }
    let res = app.client.get(app.url(VERIFY)).header("Authorization", &secret).header("Accept", "application/json");
    let text = res.send().await.expect("verify").text().await.expect("body");
    assert!(text.contains(meta), "verify: {text}");
    assert!(!text.contains("e+29"), "no float: {text}");
}
