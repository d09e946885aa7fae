//! The report of keys nobody has used for N days.

use std::time::Duration;

use keyward::domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp, problem, wait_until};

const REPORT: &str = "/api/service-account/v1/key/unused";
const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;

/// Uses `secret` at `now` (the test's clock) and waits until its
/// `lastUsed` says so (uses are flushed in batches, every 20 ms here): not
/// merely present, since the key may have been used before.
async fn use_key(app: &TestApp, account: &str, key_id: &str, secret: &str, now: i64) {
    assert_eq!(app.get("/api/service-account/v1/whoami", secret).await.status(), StatusCode::OK);
    wait_until(Duration::from_secs(10), "lastUsed to be written for this use", async || {
        let keys: Value = app.get(&format!("{SA}/{account}/key"), &app.admin_key).await.json().await.expect("json");
        keys.as_array()
            .expect("keys")
            .iter()
            .any(|k| k["keyId"] == key_id && k["lastUsed"].as_i64().is_some_and(|at| at >= now))
    })
    .await;
}

fn key_ids(report: &Value) -> Vec<String> {
    report["items"].as_array().expect("items").iter().map(|k| k["keyId"].as_str().expect("keyId").to_owned()).collect()
}

#[tokio::test]
async fn keys_unused_for_n_days_are_reported_with_their_account() {
    let Some((app, clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let (idle_account, idle_key, idle_secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let never_used = app.create_key(&idle_account).await;
    let (busy_account, busy_key, busy_secret) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    use_key(&app, &idle_account, &idle_key, &idle_secret, T0).await;

    clock.advance(31 * DAY);
    use_key(&app, &busy_account, &busy_key, &busy_secret, T0 + 31 * DAY).await;
    // The admin key is in use too, so that only the idle account is reported.
    let (admin_account, admin_key_id) = identity(&app, &app.admin_key).await;
    use_key(&app, &admin_account, &admin_key_id, &app.admin_key, T0 + 31 * DAY).await;

    let report: Value = app.get(&format!("{REPORT}?days=30"), &app.admin_key).await.json().await.expect("json");
    let mut reported = key_ids(&report);
    reported.sort();
    let mut expected = vec![idle_key.clone(), never_used["keyId"].as_str().expect("keyId").to_owned()];
    expected.sort();
    assert_eq!(reported, expected, "{report}");
    for item in report["items"].as_array().expect("items") {
        assert_eq!(item["serviceAccountId"], idle_account.as_str());
        assert!(item["serviceAccountName"].is_string());
        assert!(item.get("secret").is_none(), "a report never carries a secret: {item}");
    }
    assert_eq!(report["nextCursor"], Value::Null);

    // The default is 30 days; nothing has been idle for 40.
    let default: Value = app.get(REPORT, &app.admin_key).await.json().await.expect("json");
    assert_eq!(key_ids(&default).len(), 2);
    let longer: Value = app.get(&format!("{REPORT}?days=40"), &app.admin_key).await.json().await.expect("json");
    assert!(key_ids(&longer).is_empty(), "{longer}");
}

/// A key's own account and key id, as whoami tells them.
async fn identity(app: &TestApp, key: &str) -> (String, String) {
    let who: Value = app.get("/api/service-account/v1/whoami", key).await.json().await.expect("json");
    (who["id"].as_str().expect("id").to_owned(), who["keyId"].as_str().expect("keyId").to_owned())
}

#[tokio::test]
async fn expired_keys_and_other_organizations_are_left_out() {
    let Some((app, clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = app.create_account(json!({"name": "short-lived"})).await;
    let id = account["id"].as_str().expect("id");
    let res = app.post_json(&format!("{SA}/{id}/key"), &app.admin_key, &json!({"expiresIn": 10 * DAY})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, idle_here, _) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let other_org = app.create_org("Globex").await;
    let other_admin = app.key_with_role(&other_org, Role::Admin).await;
    let (_, idle_there, _) = app.account_key_triple(&other_org, Role::Viewer, false).await;
    clock.advance(40 * DAY);
    // The callers' own keys are in use now, and written so before they ask:
    // each report then holds exactly its organization's idle key.
    let (admin_account, admin_key_id) = identity(&app, &app.admin_key).await;
    use_key(&app, &admin_account, &admin_key_id, &app.admin_key, T0 + 40 * DAY).await;
    let (their_account, their_key_id) = identity(&app, &other_admin).await;
    wait_until(Duration::from_secs(10), "Globex's admin key to be written as used", async || {
        let keys: Value = app.get(&format!("{SA}/{their_account}/key"), &other_admin).await.json().await.expect("json");
        keys.as_array()
            .expect("keys")
            .iter()
            .any(|k| k["keyId"] == their_key_id.as_str() && k["lastUsed"].as_i64() >= Some(T0 + 40 * DAY))
    })
    .await;

    let report: Value = app.get(&format!("{REPORT}?days=30"), &app.admin_key).await.json().await.expect("json");
    assert_eq!(key_ids(&report), [idle_here], "only this organization's idle key, not the expired one: {report}");
    let theirs: Value = app.get(&format!("{REPORT}?days=30"), &other_admin).await.json().await.expect("json");
    assert_eq!(key_ids(&theirs), [idle_there], "only Globex's own idle key: {theirs}");
}

#[tokio::test]
async fn the_report_pages_and_refuses_bad_parameters() {
    let Some((app, clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = app.create_account(json!({"name": "many"})).await;
    let id = account["id"].as_str().expect("id");
    for _ in 0..3 {
        app.create_key(id).await;
    }
    clock.advance(31 * DAY);
    let viewer = app.key_with_role(&app.org_id, Role::Viewer).await;
    let mut seen = Vec::new();
    let mut path = format!("{REPORT}?limit=2");
    loop {
        let page: Value = app.get(&path, &viewer).await.json().await.expect("json");
        seen.extend(key_ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{REPORT}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "three keys and the admin's own: {seen:?}");
    seen.dedup();
    assert_eq!(seen.len(), 4);

    for bad in ["days=0", "days=3651", "days=soon", "limit=0", "cursor=garbage"] {
        let res = app.get(&format!("{REPORT}?{bad}"), &viewer).await;
        let body = problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["field"], bad.split('=').next().expect("name"), "{bad}");
    }
}
