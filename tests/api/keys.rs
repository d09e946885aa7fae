//! A service account's keys: listing, changing, rotating, limits, expiry and
//! `lastUsed`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward::domain::Id;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp, problem, wait_for};

const WHOAMI: &str = "/api/service-account/v1/whoami";
/// Where the manual clock starts: an ordinary present-day Unix time.
const T0: i64 = 1_750_000_000;

fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} in {v}")).to_owned()
}

async fn new_account(app: &TestApp, name: &str) -> String {
    s(&app.create_account(json!({"name": name})).await, "id")
}

/// Creates a key with `body` as the admin; returns the 201 answer.
async fn create_key_with(app: &TestApp, account: &str, body: Value) -> Value {
    let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create key {body}");
    res.json().await.expect("json")
}

async fn list_keys(app: &TestApp, account: &str) -> Vec<Value> {
    let res = app.get(&format!("{SA}/{account}/key"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.expect("json").as_array().expect("an array").clone()
}

async fn listed_key(app: &TestApp, account: &str, key_id: &str) -> Value {
    list_keys(app, account)
        .await
        .into_iter()
        .find(|k| k["keyId"] == key_id)
        .unwrap_or_else(|| panic!("key {key_id} not listed"))
}

async fn patch_key(app: &TestApp, account: &str, key_id: &str, body: Value) -> Value {
    let res = app.patch_json(&format!("{SA}/{account}/key/{key_id}"), &app.admin_key, &body).await;
    assert_eq!(res.status(), StatusCode::OK, "patch key {body}");
    res.json().await.expect("json")
}

async fn rotate(app: &TestApp, account: &str, key_id: &str, body: Value) -> Value {
    let res = app.post_json(&format!("{SA}/{account}/key/{key_id}/rotate"), &app.admin_key, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "rotate {body}");
    res.json().await.expect("json")
}

async fn status_of(app: &TestApp, secret: &str) -> StatusCode {
    app.get(WHOAMI, secret).await.status()
}

async fn assert_refused(app: &TestApp, secret: &str) {
    problem(app.get(WHOAMI, secret).await, StatusCode::UNAUTHORIZED).await;
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("time").as_secs() as i64
}

// ---- listing ----

#[tokio::test]
async fn listing_keys_shows_metadata_and_never_a_secret() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "lister").await;
    let first = create_key_with(&app, &account, json!({"name": "ci"})).await;
    let second = create_key_with(&app, &account, json!({})).await;

    let res = app.get(&format!("{SA}/{account}/key"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.expect("text");
    for minted in [&first, &second] {
        assert!(!text.contains(&s(minted, "secret")), "a listing carries a secret");
    }
    let keys: Vec<Value> = serde_json::from_str(&text).expect("a JSON array");
    assert_eq!(keys.len(), 2);
    for (listed, minted) in keys.iter().zip([&first, &second]) {
        let mut fields: Vec<&str> = listed.as_object().expect("object").keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "allowedCidrs",
                "created",
                "createdBy",
                "disabled",
                "expires",
                "keyId",
                "lastUsed",
                "meta",
                "name",
                "rateLimit",
                "role",
                "scopes"
            ]
        );
        assert_eq!(listed["keyId"], minted["keyId"]);
        assert_eq!(listed["created"], minted["created"]);
        assert_eq!(listed["name"], minted["name"]);
        assert_eq!(listed["expires"], Value::Null);
        assert_eq!(listed["lastUsed"], Value::Null);
        assert_eq!(listed["disabled"], false);
    }
    assert_eq!(keys[0]["name"], "ci");
    assert_eq!(keys[1]["name"], Value::Null);
}

#[tokio::test]
async fn listing_keys_of_an_unknown_or_foreign_account_is_404() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let (foreign, _) = app.account_with_key(&other, keyward::domain::Role::Viewer, false).await;
    for account in [Id::generate().to_string(), foreign] {
        problem(app.get(&format!("{SA}/{account}/key"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn a_key_records_who_created_it() {
    let Some(app) = TestApp::spawn().await else { return };
    let admin: Value = app.get(WHOAMI, &app.admin_key).await.json().await.expect("json");
    let account = new_account(&app, "made-by").await;
    let key = app.create_key(&account).await;
    let listed = listed_key(&app, &account, &s(&key, "keyId")).await;
    assert_eq!(listed["createdBy"], format!("serviceAccount:{}", s(&admin, "id")));
}

// ---- patch ----

#[tokio::test]
async fn renaming_a_key_changes_only_its_name() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "renamer").await;
    let key = create_key_with(&app, &account, json!({"name": "old"})).await;
    let key_id = s(&key, "keyId");
    let before = listed_key(&app, &account, &key_id).await;

    let answered = patch_key(&app, &account, &key_id, json!({"name": "new"})).await;
    let mut expected = before.clone();
    expected["name"] = json!("new");
    assert_eq!(answered, expected);
    assert_eq!(listed_key(&app, &account, &key_id).await, expected);
    assert_eq!(status_of(&app, &s(&key, "secret")).await, StatusCode::OK);
}

#[tokio::test]
async fn disabling_a_key_keeps_its_name() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "keeper").await;
    let key_id = s(&create_key_with(&app, &account, json!({"name": "named"})).await, "keyId");
    let answered = patch_key(&app, &account, &key_id, json!({"disabled": true})).await;
    assert_eq!(answered["name"], "named");
    assert_eq!(answered["disabled"], true);
    assert_eq!(listed_key(&app, &account, &key_id).await, answered);
}

#[tokio::test]
async fn a_disabled_key_is_refused_at_once_and_works_again_when_enabled() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "toggled").await;
    let key = app.create_key(&account).await;
    let (key_id, secret) = (s(&key, "keyId"), s(&key, "secret"));
    assert_eq!(status_of(&app, &secret).await, StatusCode::OK);

    patch_key(&app, &account, &key_id, json!({"disabled": true})).await;
    assert_refused(&app, &secret).await;
    assert_eq!(listed_key(&app, &account, &key_id).await["disabled"], true);

    patch_key(&app, &account, &key_id, json!({"disabled": false})).await;
    assert_eq!(status_of(&app, &secret).await, StatusCode::OK);
}

#[tokio::test]
async fn disabling_one_key_leaves_the_accounts_other_keys_working() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "two-keys").await;
    let off = app.create_key(&account).await;
    let on = app.create_key(&account).await;
    patch_key(&app, &account, &s(&off, "keyId"), json!({"disabled": true})).await;
    assert_refused(&app, &s(&off, "secret")).await;
    assert_eq!(status_of(&app, &s(&on, "secret")).await, StatusCode::OK);
}

#[tokio::test]
async fn changing_an_unknown_key_is_404() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "no-such-key").await;
    let other_account = new_account(&app, "holder").await;
    let elsewhere = app.create_key(&other_account).await;
    // An unknown key id, and a real key of a different account.
    for key_id in [Id::generate().to_string(), s(&elsewhere, "keyId")] {
        let path = format!("{SA}/{account}/key/{key_id}");
        problem(app.patch_json(&path, &app.admin_key, &json!({"disabled": true})).await, StatusCode::NOT_FOUND).await;
        problem(app.post_json(&format!("{path}/rotate"), &app.admin_key, &json!({})).await, StatusCode::NOT_FOUND)
            .await;
        problem(app.delete(&path, &app.admin_key).await, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(listed_key(&app, &other_account, &s(&elsewhere, "keyId")).await["disabled"], false);
    assert_eq!(status_of(&app, &s(&elsewhere, "secret")).await, StatusCode::OK);
}

#[tokio::test]
async fn another_organizations_keys_are_404_and_keep_working() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let (account, key_id, secret) = app.account_key_triple(&other, keyward::domain::Role::Viewer, false).await;
    let path = format!("{SA}/{account}/key/{key_id}");
    problem(app.patch_json(&path, &app.admin_key, &json!({"disabled": true})).await, StatusCode::NOT_FOUND).await;
    problem(app.post_json(&format!("{path}/rotate"), &app.admin_key, &json!({})).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&path, &app.admin_key).await, StatusCode::NOT_FOUND).await;
    problem(app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &json!({})).await, StatusCode::NOT_FOUND)
        .await;
    let who: Value = app.get(WHOAMI, &secret).await.json().await.expect("json");
    assert_eq!(who["keyId"], key_id.as_str());
    let other_admin = app.key_with_role(&other, keyward::domain::Role::Admin).await;
    let res = app.get(&format!("{SA}/{account}/key"), &other_admin).await;
    let keys: Value = res.json().await.expect("json");
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys[0]["disabled"], false);
}

// ---- rotate ----

#[tokio::test]
async fn rotating_returns_201_with_a_new_secret_and_refuses_the_old_key_at_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "rotated").await;
    let old = app.create_key(&account).await;

    let new = rotate(&app, &account, &s(&old, "keyId"), json!({})).await;
    assert!(s(&new, "secret").starts_with("kw_"));
    assert_ne!(new["secret"], old["secret"]);
    assert_ne!(new["keyId"], old["keyId"]);
    assert!(new["created"].is_i64());

    assert_refused(&app, &s(&old, "secret")).await;
    let who: Value = app.get(WHOAMI, &s(&new, "secret")).await.json().await.expect("json");
    assert_eq!(who["keyId"], new["keyId"]);
    assert_eq!(who["id"], account.as_str());
}

#[tokio::test]
async fn rotating_with_no_body_also_refuses_the_old_key_at_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "rotated-bare").await;
    let old = app.create_key(&account).await;
    let path = format!("{SA}/{account}/key/{}/rotate", s(&old, "keyId"));
    let res = app.request(reqwest::Method::POST, &path, &app.admin_key).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    let new: Value = res.json().await.expect("json");
    assert_refused(&app, &s(&old, "secret")).await;
    assert_eq!(status_of(&app, &s(&new, "secret")).await, StatusCode::OK);
}

#[tokio::test]
async fn with_a_grace_period_both_keys_work_until_it_ends() {
    let Some((app, clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = new_account(&app, "graceful").await;
    let old = app.create_key(&account).await;

    let new = rotate(&app, &account, &s(&old, "keyId"), json!({"gracePeriod": 300})).await;
    assert_eq!(status_of(&app, &s(&old, "secret")).await, StatusCode::OK);
    assert_eq!(status_of(&app, &s(&new, "secret")).await, StatusCode::OK);
    assert_eq!(listed_key(&app, &account, &s(&old, "keyId")).await["expires"], T0 + 300);
    assert_eq!(listed_key(&app, &account, &s(&new, "keyId")).await["expires"], Value::Null);

    clock.advance(299);
    assert_eq!(status_of(&app, &s(&old, "secret")).await, StatusCode::OK);
    clock.advance(1);
    assert_refused(&app, &s(&old, "secret")).await;
    assert_eq!(status_of(&app, &s(&new, "secret")).await, StatusCode::OK);
}

#[tokio::test]
async fn the_rotated_key_is_listed_next_to_its_successor() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "successor").await;
    let old = app.create_key(&account).await;
    let new = rotate(&app, &account, &s(&old, "keyId"), json!({"gracePeriod": 60})).await;
    let listed: Vec<Value> = list_keys(&app, &account).await.into_iter().map(|k| k["keyId"].clone()).collect();
    assert_eq!(listed, vec![old["keyId"].clone(), new["keyId"].clone()]);
}

#[tokio::test]
async fn a_negative_grace_period_is_422_and_changes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "negative").await;
    let old = app.create_key(&account).await;
    let path = format!("{SA}/{account}/key/{}/rotate", s(&old, "keyId"));
    let body = problem(
        app.post_json(&path, &app.admin_key, &json!({"gracePeriod": -1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["field"], "gracePeriod");
    assert_eq!(list_keys(&app, &account).await.len(), 1);
    assert_eq!(status_of(&app, &s(&old, "secret")).await, StatusCode::OK);
}

// ---- limit ----

#[tokio::test]
async fn the_eleventh_key_is_409_and_not_created() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "full").await;
    for _ in 0..10 {
        app.create_key(&account).await;
    }
    let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &json!({})).await;
    problem(res, StatusCode::CONFLICT).await;
    assert_eq!(list_keys(&app, &account).await.len(), 10);
}

#[tokio::test]
async fn deleting_a_key_at_the_limit_makes_room_for_another() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "room").await;
    let mut last = Value::Null;
    for _ in 0..10 {
        last = app.create_key(&account).await;
    }
    let res = app.delete(&format!("{SA}/{account}/key/{}", s(&last, "keyId")), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.create_key(&account).await;
    assert_eq!(list_keys(&app, &account).await.len(), 10);
}

// ---- delete ----

#[tokio::test]
async fn a_deleted_key_is_refused_on_the_next_request_and_no_longer_listed() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "pruned").await;
    let gone = app.create_key(&account).await;
    let kept = app.create_key(&account).await;
    assert_eq!(status_of(&app, &s(&gone, "secret")).await, StatusCode::OK);

    let res = app.delete(&format!("{SA}/{account}/key/{}", s(&gone, "keyId")), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_refused(&app, &s(&gone, "secret")).await;
    assert_eq!(status_of(&app, &s(&kept, "secret")).await, StatusCode::OK);
    let listed: Vec<Value> = list_keys(&app, &account).await.into_iter().map(|k| k["keyId"].clone()).collect();
    assert_eq!(listed, vec![kept["keyId"].clone()]);

    let again = app.delete(&format!("{SA}/{account}/key/{}", s(&gone, "keyId")), &app.admin_key).await;
    problem(again, StatusCode::NOT_FOUND).await;
}

// ---- expiry ----

#[tokio::test]
async fn expires_in_is_answered_as_expires() {
    let Some((app, _clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = new_account(&app, "short-lived").await;
    let key = create_key_with(&app, &account, json!({"expiresIn": 3600})).await;
    assert_eq!(key["created"], T0);
    assert_eq!(key["expires"], T0 + 3600);
    assert!(key.get("expiresIn").is_none());
    assert_eq!(listed_key(&app, &account, &s(&key, "keyId")).await["expires"], T0 + 3600);
}

#[tokio::test]
async fn expires_as_a_unix_time_is_kept_as_given() {
    let Some((app, _clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = new_account(&app, "until").await;
    let key = create_key_with(&app, &account, json!({"expires": T0 + 86_400})).await;
    assert_eq!(key["expires"], T0 + 86_400);
    assert_eq!(listed_key(&app, &account, &s(&key, "keyId")).await["expires"], T0 + 86_400);
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let Some((app, clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = new_account(&app, "expiring").await;
    let key = create_key_with(&app, &account, json!({"expiresIn": 60})).await;
    let secret = s(&key, "secret");
    assert_eq!(status_of(&app, &secret).await, StatusCode::OK);
    clock.advance(59);
    assert_eq!(status_of(&app, &secret).await, StatusCode::OK);
    clock.advance(1);
    assert_refused(&app, &secret).await;
    clock.advance(3600);
    assert_refused(&app, &secret).await;
}

#[tokio::test]
async fn a_key_expiring_in_the_past_is_refused_with_422() {
    let Some((app, _clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = new_account(&app, "past").await;
    for (body, field) in [(json!({"expires": T0 - 1}), "expires"), (json!({"expiresIn": 0}), "expiresIn")] {
        let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &body).await;
        assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], field, "{body}");
    }
    assert!(list_keys(&app, &account).await.is_empty());
}

#[tokio::test]
async fn giving_both_expires_in_and_expires_is_422() {
    let Some((app, _clock)) = TestApp::spawn_with_clock(T0).await else { return };
    let account = new_account(&app, "both").await;
    let body = json!({"expiresIn": 60, "expires": T0 + 60});
    let res = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &body).await;
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(list_keys(&app, &account).await.is_empty());
}

// ---- lastUsed ----

#[tokio::test]
async fn last_used_is_filled_after_the_key_is_used() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = new_account(&app, "busy").await;
    let key = app.create_key(&account).await;
    let key_id = s(&key, "keyId");
    assert_eq!(listed_key(&app, &account, &key_id).await["lastUsed"], Value::Null);

    let before = unix_now();
    assert_eq!(status_of(&app, &s(&key, "secret")).await, StatusCode::OK);
    let after = unix_now();

    // Uses are written by a background task, every 20 ms here.
    let last_used = wait_for(Duration::from_secs(5), "lastUsed to be written", async || {
        let listed = listed_key(&app, &account, &key_id).await;
        listed["lastUsed"].as_i64().ok_or(listed)
    })
    .await;
    assert!((before..=after).contains(&last_used), "lastUsed {last_used} not in {before}..={after}");
}

/// Keys this node has looked up in storage so far (its cache did not know them).
async fn storage_lookups(app: &TestApp) -> u64 {
    let text = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .filter(|l| l.starts_with("keyward_credential_lookups_total{"))
        .map(|l| l.rsplit(' ').next().expect("value").parse::<f64>().expect("number") as u64)
        .sum()
}

/// Waits until the node's feed reader has applied `n` changes: what it
/// forgets on reading them is then counted too.
async fn feed_read_up_to(app: &TestApp, n: i64) {
    wait_for(Duration::from_secs(10), &format!("the feed reader to stand at {n}"), async || {
        let text = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
        let at =
            text.lines().find_map(|l| l.strip_prefix("keyward_credential_feed_position ")).map(|v| v.trim().to_owned());
        if at.as_deref().and_then(|v| v.parse::<i64>().ok()) == Some(n) { Ok(()) } else { Err(format!("{at:?}")) }
    })
    .await;
}

/// Uses each secret once; answers how many storage lookups that took.
async fn lookups_for(app: &TestApp, uses: &[(&str, StatusCode)]) -> u64 {
    let before = storage_lookups(app).await;
    for (secret, expected) in uses {
        assert_eq!(status_of(app, secret).await, *expected);
    }
    storage_lookups(app).await - before
}

#[tokio::test]
async fn a_revocation_forgets_only_the_key_or_account_it_touched() {
    let Some(app) = TestApp::spawn().await else { return };
    let a = new_account(&app, "a").await;
    let b = new_account(&app, "b").await;
    let (a1, a2, b1) = (app.create_key(&a).await, app.create_key(&a).await, app.create_key(&b).await);
    let (a1s, a2s, b1s) = (s(&a1, "secret"), s(&a2, "secret"), s(&b1, "secret"));
    let ok = StatusCode::OK;
    let refused = StatusCode::UNAUTHORIZED;
    assert_eq!(lookups_for(&app, &[(&a1s, ok), (&a2s, ok), (&b1s, ok)]).await, 3, "each looked up once");
    assert_eq!(lookups_for(&app, &[(&a1s, ok), (&a2s, ok), (&b1s, ok)]).await, 0, "then answered from memory");

    // One key disabled: it alone is looked up again, here and after the
    // feed reader has seen the change too.
    feed_read_up_to(&app, 0).await;
    patch_key(&app, &a, &s(&a1, "keyId"), json!({"disabled": true})).await;
    feed_read_up_to(&app, 1).await;
    assert_eq!(lookups_for(&app, &[(&a1s, refused), (&a2s, ok), (&b1s, ok)]).await, 1);
    assert_eq!(lookups_for(&app, &[(&a1s, refused)]).await, 0, "the refusal is remembered too");

    // An account disabled: its keys, and nothing else.
    let res = app.patch_json(&format!("{SA}/{a}"), &app.admin_key, &json!({"disabled": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    feed_read_up_to(&app, 2).await;
    assert_eq!(lookups_for(&app, &[(&a2s, refused), (&b1s, ok)]).await, 1);

    // Deleted and restored: refused at once, then working at once.
    assert_eq!(app.delete(&format!("{SA}/{b}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    feed_read_up_to(&app, 3).await;
    assert_eq!(lookups_for(&app, &[(&b1s, refused), (&a2s, refused)]).await, 1);
    let res = app.request(reqwest::Method::POST, &format!("{SA}/{b}/undelete"), &app.admin_key).send().await;
    assert_eq!(res.expect("undelete").status(), StatusCode::OK);
    feed_read_up_to(&app, 4).await;
    assert_eq!(lookups_for(&app, &[(&b1s, ok), (&a2s, refused)]).await, 1);
}
