//! The key decision: one order of rules in the service, and only a request
//! that passes every rule is a use of its key. A key refused by its address,
//! a missing scope or its rate limit keeps its `lastUsed`, and each request
//! is counted once, by its outcome.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp};

const VERIFY: &str = "/api/auth/v1/verify";
const NOW: i64 = 1_800_000_000;

async fn last_used(app: &TestApp, account: &str, key_id: &str) -> Option<i64> {
    app.service.flush_usage().await.expect("flush");
    let keys: Value = app.get(&format!("{SA}/{account}/key"), &app.admin_key).await.json().await.expect("json");
    keys.as_array().expect("keys").iter().find(|k| k["keyId"] == key_id).and_then(|k| k["lastUsed"].as_i64())
}

async fn outcomes(app: &TestApp) -> String {
    app.get("/metrics", &app.admin_key).await.text().await.expect("metrics")
}

fn count(metrics: &str, outcome: &str) -> u64 {
    crate::support::metric(metrics, &format!("keyward_auth_attempts_total{{outcome=\"{outcome}\"}}"))
        .map_or(0, |v| v as u64)
}

#[tokio::test]
async fn a_key_refused_by_address_scope_or_rate_limit_is_not_a_use() {
    let Some((app, clock)) = TestApp::spawn_with_clock(NOW).await else { return };
    let account = app.create_account(json!({"name": "gateway", "role": "viewer"})).await;
    let account = account["id"].as_str().expect("id").to_owned();
    let make = |body: Value| {
        let app = &app;
        let account = account.clone();
        async move {
            let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &body).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let key: Value = res.json().await.expect("json");
            (key["keyId"].as_str().expect("id").to_owned(), key["secret"].as_str().expect("secret").to_owned())
        }
    };
    let (elsewhere_id, elsewhere) = make(json!({"allowedCidrs": ["10.0.0.0/8"]})).await;
    let (scoped_id, scoped) = make(json!({"scopes": ["orders:read"]})).await;
    let (limited_id, limited) = make(json!({"rateLimit": {"limit": 1, "period": 3600}})).await;
    let before = outcomes(&app).await;

    // Refused by its address: a failed credential, no use.
    assert_eq!(app.get(VERIFY, &elsewhere).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(last_used(&app, &account, &elsewhere_id).await, None);
    // Refused for a scope it lacks: no use.
    let res = app.get(&format!("{VERIFY}?scope=orders:write"), &scoped).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(last_used(&app, &account, &scoped_id).await, None);
    // The control: the scope it holds passes, and that is a use.
    assert_eq!(app.get(&format!("{VERIFY}?scope=orders:read"), &scoped).await.status(), StatusCode::OK);
    assert_eq!(last_used(&app, &account, &scoped_id).await, Some(NOW));
    // Past its rate limit: the first use counts, the refused one does not.
    assert_eq!(app.get(VERIFY, &limited).await.status(), StatusCode::OK);
    assert_eq!(last_used(&app, &account, &limited_id).await, Some(NOW));
    clock.advance(120);
    assert_eq!(app.get(VERIFY, &limited).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(last_used(&app, &account, &limited_id).await, Some(NOW), "a refused use moves nothing");

    // Each request counted once, by its outcome (the admin key's five
    // listings of keys here are uses too).
    let after = outcomes(&app).await;
    let delta = |outcome| count(&after, outcome) - count(&before, outcome);
    assert_eq!(delta("outside_allowed_cidrs"), 1);
    assert_eq!(delta("missing_scope"), 1);
    assert_eq!(delta("rate_limited"), 1);
    let admin_calls = 5;
    assert_eq!(delta("ok"), 2 + admin_calls, "the refused requests are not also counted as ok");
}
