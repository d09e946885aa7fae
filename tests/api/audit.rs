//! The audit trail: every change leaves one event naming who, what, on what,
//! when, from where and how it ended; refusals leave none; only admins read it.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use keyward::domain::{Id, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp, problem};

const EVENTS: &str = "/api/audit/v1/event";
const WHOAMI: &str = "/api/service-account/v1/whoami";

fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} in {v}")).to_owned()
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("time").as_secs() as i64
}

/// One page of the trail as `key`.
async fn page(app: &TestApp, key: &str, query: &[(&str, &str)]) -> Value {
    let res = app.request(Method::GET, EVENTS, key).query(query).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "audit {query:?}");
    res.json().await.expect("json")
}

/// The whole trail, newest first, following cursors.
async fn all_events_as(app: &TestApp, key: &str, limit: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", limit)];
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let p = page(app, key, &query).await;
        out.extend(p["items"].as_array().expect("items").iter().cloned());
        match p["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
        assert!(out.len() < 10_000, "pagination does not end");
    }
}

async fn all_events(app: &TestApp) -> Vec<Value> {
    all_events_as(app, &app.admin_key, "200").await
}

/// The events written since `before` was taken (the trail is newest first).
async fn new_events(app: &TestApp, before: &[Value]) -> Vec<Value> {
    let now = all_events(app).await;
    let old: HashSet<&Value> = before.iter().map(|e| &e["id"]).collect();
    now.into_iter().filter(|e| !old.contains(&e["id"])).collect()
}

/// The one event a change wrote.
async fn the_new_event(app: &TestApp, before: &[Value]) -> Value {
    let mut new = new_events(app, before).await;
    assert_eq!(new.len(), 1, "expected exactly one new event: {new:?}");
    new.remove(0)
}

/// The admin key's (account id, key id).
async fn admin_identity(app: &TestApp) -> (String, String) {
    let who: Value = app.get(WHOAMI, &app.admin_key).await.json().await.expect("json");
    (s(&who, "id"), s(&who, "keyId"))
}

/// Asserts an event of the admin key, from this test, on `target`.
async fn assert_admin_event(
    app: &TestApp,
    event: &Value,
    action: &str,
    target_kind: &str,
    target_id: &str,
    window: (i64, i64),
) {
    let (admin, admin_key) = admin_identity(app).await;
    assert!(event["id"].is_string(), "{event}");
    assert_eq!(event["actorKind"], "serviceAccount", "{event}");
    assert_eq!(event["actorId"], admin.as_str(), "{event}");
    assert_eq!(event["keyId"], admin_key.as_str(), "{event}");
    assert_eq!(event["action"], action, "{event}");
    assert_eq!(event["targetKind"], target_kind, "{event}");
    assert_eq!(event["targetId"], target_id, "{event}");
    assert_eq!(event["clientIp"], "127.0.0.1", "{event}");
    assert_eq!(event["outcome"], "success", "{event}");
    let time = event["time"].as_i64().expect("time in Unix seconds");
    assert!((window.0..=window.1).contains(&time), "time {time} outside {window:?}");
}

// ---- each change is recorded ----

#[tokio::test]
async fn creating_an_account_is_recorded() {
    let Some(app) = TestApp::spawn().await else { return };
    let before = all_events(&app).await;
    let start = unix_now();
    let account = app.create_account(json!({"name": "audited"})).await;
    let window = (start, unix_now());
    let event = the_new_event(&app, &before).await;
    assert_admin_event(&app, &event, "serviceAccount.create", "serviceAccount", &s(&account, "id"), window).await;
}

#[tokio::test]
async fn changing_an_account_is_recorded() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = s(&app.create_account(json!({"name": "to-change"})).await, "id");
    let before = all_events(&app).await;
    let start = unix_now();
    let res =
        app.patch_json(&format!("{SA}/{id}"), &app.admin_key, &json!({"name": "changed", "role": "editor"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let window = (start, unix_now());
    let event = the_new_event(&app, &before).await;
    assert_admin_event(&app, &event, "serviceAccount.update", "serviceAccount", &id, window).await;
}

#[tokio::test]
async fn deleting_an_account_is_recorded() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = s(&app.create_account(json!({"name": "to-delete"})).await, "id");
    let before = all_events(&app).await;
    let start = unix_now();
    assert_eq!(app.delete(&format!("{SA}/{id}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    let window = (start, unix_now());
    let event = the_new_event(&app, &before).await;
    assert_admin_event(&app, &event, "serviceAccount.delete", "serviceAccount", &id, window).await;
}

#[tokio::test]
async fn creating_a_key_is_recorded_without_its_secret() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = s(&app.create_account(json!({"name": "key-holder"})).await, "id");
    let before = all_events(&app).await;
    let start = unix_now();
    let key = app.create_key(&account).await;
    let window = (start, unix_now());
    let event = the_new_event(&app, &before).await;
    assert_admin_event(&app, &event, "key.create", "key", &s(&key, "keyId"), window).await;
    let trail = serde_json::to_string(&all_events(&app).await).expect("json");
    assert!(!trail.contains(&s(&key, "secret")), "the audit trail holds a secret");
}

#[tokio::test]
async fn renaming_a_key_is_recorded() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = s(&app.create_account(json!({"name": "key-renamed"})).await, "id");
    let key_id = s(&app.create_key(&account).await, "keyId");
    let before = all_events(&app).await;
    let start = unix_now();
    let res = app.patch_json(&format!("{SA}/{account}/key/{key_id}"), &app.admin_key, &json!({"name": "ci"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let window = (start, unix_now());
    let event = the_new_event(&app, &before).await;
    assert_admin_event(&app, &event, "key.update", "key", &key_id, window).await;
}

#[tokio::test]
async fn disabling_and_enabling_a_key_are_recorded() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = s(&app.create_account(json!({"name": "key-toggled"})).await, "id");
    let key_id = s(&app.create_key(&account).await, "keyId");
    let path = format!("{SA}/{account}/key/{key_id}");
    for (disabled, action) in [(true, "key.disable"), (false, "key.enable")] {
        let before = all_events(&app).await;
        let start = unix_now();
        let res = app.patch_json(&path, &app.admin_key, &json!({"disabled": disabled})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let window = (start, unix_now());
        let event = the_new_event(&app, &before).await;
        assert_admin_event(&app, &event, action, "key", &key_id, window).await;
    }
}

#[tokio::test]
async fn rotating_a_key_records_the_rotation_and_the_new_key() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = s(&app.create_account(json!({"name": "key-rotated"})).await, "id");
    let old = s(&app.create_key(&account).await, "keyId");
    let before = all_events(&app).await;
    let start = unix_now();
    let res =
        app.post_json(&format!("{SA}/{account}/key/{old}/rotate"), &app.admin_key, &json!({"gracePeriod": 30})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let new_key: Value = res.json().await.expect("json");
    let window = (start, unix_now());

    let new = new_events(&app, &before).await;
    assert_eq!(new.len(), 2, "{new:?}");
    let rotation = new.iter().find(|e| e["action"] == "key.rotate").expect("a key.rotate event");
    assert_admin_event(&app, rotation, "key.rotate", "key", &old, window).await;
    let creation = new.iter().find(|e| e["action"] == "key.create").expect("a key.create event");
    assert_admin_event(&app, creation, "key.create", "key", &s(&new_key, "keyId"), window).await;
    let trail = serde_json::to_string(&new).expect("json");
    assert!(!trail.contains(&s(&new_key, "secret")), "the audit trail holds a secret");
}

#[tokio::test]
async fn deleting_a_key_is_recorded() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = s(&app.create_account(json!({"name": "key-deleted"})).await, "id");
    let key_id = s(&app.create_key(&account).await, "keyId");
    let before = all_events(&app).await;
    let start = unix_now();
    let res = app.delete(&format!("{SA}/{account}/key/{key_id}"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let window = (start, unix_now());
    let event = the_new_event(&app, &before).await;
    assert_admin_event(&app, &event, "key.delete", "key", &key_id, window).await;
}

#[tokio::test]
async fn the_actor_is_the_account_and_key_that_made_the_change() {
    let Some(app) = TestApp::spawn().await else { return };
    let (editor, editor_key, editor_secret) = app.account_key_triple(&app.org_id, Role::Editor, false).await;
    let account = s(&app.create_account(json!({"name": "edited-by-editor"})).await, "id");
    let before = all_events(&app).await;
    let res = app.post_json(&format!("{SA}/{account}/key"), &editor_secret, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let event = the_new_event(&app, &before).await;
    assert_eq!(event["actorKind"], "serviceAccount");
    assert_eq!(event["actorId"], editor.as_str());
    assert_eq!(event["keyId"], editor_key.as_str());
    assert_eq!(event["action"], "key.create");
}

// ---- refusals are not recorded ----

#[tokio::test]
async fn refused_changes_write_no_event() {
    let Some(app) = TestApp::spawn().await else { return };
    let taken = s(&app.create_account(json!({"name": "Taken"})).await, "id");
    let other = s(&app.create_account(json!({"name": "other"})).await, "id");
    let viewer = app.key_with_role(&app.org_id, Role::Viewer).await;
    let before = all_events(&app).await;

    // 409: a duplicate name on create and on rename.
    problem(app.post_json(SA, &app.admin_key, &json!({"name": "taken"})).await, StatusCode::CONFLICT).await;
    problem(
        app.patch_json(&format!("{SA}/{other}"), &app.admin_key, &json!({"name": "TAKEN"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    // 404: an unknown account or key.
    let unknown = Id::generate();
    problem(app.delete(&format!("{SA}/{unknown}"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&format!("{SA}/{taken}/key/{unknown}"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    // 403: a viewer may not change anything.
    problem(app.post_json(SA, &viewer, &json!({"name": "by-viewer"})).await, StatusCode::FORBIDDEN).await;
    problem(app.post_json(&format!("{SA}/{taken}/key"), &viewer, &json!({})).await, StatusCode::FORBIDDEN).await;
    // 422: a bad field.
    problem(
        app.patch_json(&format!("{SA}/{other}"), &app.admin_key, &json!({"role": "owner"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    assert_eq!(all_events(&app).await, before);
}

#[tokio::test]
async fn the_eleventh_key_writes_no_event() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = s(&app.create_account(json!({"name": "full"})).await, "id");
    for _ in 0..10 {
        app.create_key(&account).await;
    }
    let before = all_events(&app).await;
    problem(app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &json!({})).await, StatusCode::CONFLICT)
        .await;
    assert_eq!(all_events(&app).await, before);
}

#[tokio::test]
async fn reading_writes_no_event() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = s(&app.create_account(json!({"name": "read-only"})).await, "id");
    let before = all_events(&app).await;
    assert_eq!(app.get(SA, &app.admin_key).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("{SA}/{id}"), &app.admin_key).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("{SA}/{id}/key"), &app.admin_key).await.status(), StatusCode::OK);
    assert_eq!(app.get(WHOAMI, &app.admin_key).await.status(), StatusCode::OK);
    assert_eq!(all_events(&app).await, before);
}

// ---- order and paging ----

#[tokio::test]
async fn events_are_listed_newest_first() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = s(&app.create_account(json!({"name": "sequence"})).await, "id");
    let key_id = s(&app.create_key(&account).await, "keyId");
    let res = app.patch_json(&format!("{SA}/{account}/key/{key_id}"), &app.admin_key, &json!({"name": "n"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.delete(&format!("{SA}/{account}/key/{key_id}"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);

    let events = all_events(&app).await;
    let newest: Vec<&str> = events.iter().take(5).map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(newest, ["serviceAccount.delete", "key.delete", "key.update", "key.create", "serviceAccount.create"]);
    for pair in events.windows(2) {
        assert!(pair[0]["time"].as_i64() >= pair[1]["time"].as_i64(), "not newest first: {pair:?}");
    }
}

#[tokio::test]
async fn the_trail_pages_like_the_account_listing() {
    let Some(app) = TestApp::spawn().await else { return };
    for i in 0..30 {
        let id = s(&app.create_account(json!({"name": format!("paged-{i}")})).await, "id");
        app.create_key(&id).await;
    }
    let whole = all_events(&app).await;
    assert!(whole.len() > 60, "{} events", whole.len());

    let first = page(&app, &app.admin_key, &[]).await;
    assert_eq!(first["items"].as_array().expect("items").len(), 50, "the default page size");
    assert!(first["nextCursor"].is_string());

    let paged = all_events_as(&app, &app.admin_key, "7").await;
    assert_eq!(paged, whole);
    let ids: HashSet<&Value> = paged.iter().map(|e| &e["id"]).collect();
    assert_eq!(ids.len(), paged.len(), "duplicates across pages");
}

#[tokio::test]
async fn the_trail_refuses_bad_paging_parameters() {
    let Some(app) = TestApp::spawn().await else { return };
    app.create_account(json!({"name": "a"})).await;
    app.create_account(json!({"name": "b"})).await;
    let accounts: Value = app.get(&format!("{SA}?limit=1"), &app.admin_key).await.json().await.expect("json");
    let account_cursor = s(&accounts, "nextCursor");
    for (name, value) in [("limit", "0"), ("limit", "201"), ("cursor", "nonsense"), ("cursor", account_cursor.as_str())]
    {
        let res =
            app.request(Method::GET, EVENTS, &app.admin_key).query(&[(name, value)]).send().await.expect("request");
        assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], name, "{name}={value}");
    }
}

#[tokio::test]
async fn the_trail_is_filtered_by_actor_action_and_target_and_pages_within_the_filter() {
    let Some(app) = TestApp::spawn().await else { return };
    let (admin_account, _) = admin_identity(&app).await;
    let one = s(&app.create_account(json!({"name": "filtered-one"})).await, "id");
    let two = s(&app.create_account(json!({"name": "filtered-two"})).await, "id");
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(s(&app.create_key(&one).await, "keyId"));
    }
    app.create_key(&two).await;
    // A change made by another actor: the new account's own admin key.
    let (other_actor, other_key) = app.account_with_key(&app.org_id, Role::Admin, false).await;
    let res = app.delete(&format!("{SA}/{one}/key/{}", keys[0]), &other_key).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let actions = |page: &Value| -> Vec<String> {
        page["items"].as_array().expect("items").iter().map(|e| s(e, "action")).collect()
    };
    let on_one = page(&app, &app.admin_key, &[("targetId", &one)]).await;
    assert_eq!(actions(&on_one), ["serviceAccount.create"]);
    let on_key = page(&app, &app.admin_key, &[("targetId", &keys[0])]).await;
    assert_eq!(actions(&on_key), ["key.delete", "key.create"]);
    let by_other = page(&app, &app.admin_key, &[("actorId", &other_actor)]).await;
    assert_eq!(actions(&by_other), ["key.delete"]);
    let created = page(&app, &app.admin_key, &[("action", "key.create"), ("actorId", &admin_account)]).await;
    assert_eq!(actions(&created).len(), 4, "the four keys: {created}");
    // A family is what the whole trail holds of it.
    let whole = all_events(&app).await;
    let expected: Vec<String> = whole.iter().map(|e| s(e, "action")).filter(|a| a.starts_with("key.")).collect();
    let family = page(&app, &app.admin_key, &[("action", "key.*")]).await;
    assert_eq!(actions(&family), expected);
    assert!(expected.len() >= 5, "{expected:?}");
    let nothing = page(&app, &app.admin_key, &[("action", "key.create"), ("targetId", &one)]).await;
    assert!(actions(&nothing).is_empty());

    // Paging stays inside the filter.
    let first = page(&app, &app.admin_key, &[("action", "key.*"), ("limit", "4")]).await;
    let cursor = s(&first, "nextCursor");
    let rest = page(&app, &app.admin_key, &[("action", "key.*"), ("limit", "4"), ("cursor", &cursor)]).await;
    assert_eq!([actions(&first), actions(&rest)].concat(), expected);
    assert!(rest["nextCursor"].is_null());

    // Filters that could match nothing sensible are refused, naming the field.
    let long = "x".repeat(101);
    for (name, value) in [
        ("action", "key.%"),
        ("action", "*"),
        ("action", ".key"),
        ("action", "key..x"),
        ("actorId", long.as_str()),
        ("targetId", long.as_str()),
    ] {
        let res =
            app.request(Method::GET, EVENTS, &app.admin_key).query(&[(name, value)]).send().await.expect("request");
        assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], name, "{name}={value}");
    }
}

// ---- who may read it ----

#[tokio::test]
async fn non_admins_get_403() {
    let Some(app) = TestApp::spawn().await else { return };
    for role in [Role::Viewer, Role::Editor] {
        let key = app.key_with_role(&app.org_id, role).await;
        problem(app.get(EVENTS, &key).await, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn the_trail_needs_credentials() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app.client.get(app.url(EVENTS)).send().await.expect("request");
    problem(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn each_organization_sees_only_its_own_events() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let other_admin = app.key_with_role(&other, Role::Admin).await;
    let res = app.post_json(SA, &other_admin, &json!({"name": "theirs"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let theirs = s(&res.json().await.expect("json"), "id");
    let ours = s(&app.create_account(json!({"name": "ours"})).await, "id");

    let targets = |events: &[Value]| -> HashSet<String> {
        events.iter().filter_map(|e| e["targetId"].as_str().map(str::to_owned)).collect()
    };
    let our_trail = targets(&all_events(&app).await);
    let their_trail = targets(&all_events_as(&app, &other_admin, "200").await);
    assert!(our_trail.contains(&ours) && !our_trail.contains(&theirs), "{our_trail:?}");
    assert!(their_trail.contains(&theirs) && !their_trail.contains(&ours), "{their_trail:?}");

    let pinned = app.get(&format!("{EVENTS}?orgId={other}"), &app.admin_key).await;
    problem(pinned, StatusCode::FORBIDDEN).await;
}
