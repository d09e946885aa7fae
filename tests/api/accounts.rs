//! Service accounts beyond creation: listing, reading, changing, and the
//! rules that keep names unique and organizations apart.

use std::collections::HashSet;

use keyward::domain::{Id, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp, problem};

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(id_of).collect()
}

/// One page of the listing with the given query parameters, as the admin.
async fn list(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let res = app.request(Method::GET, SA, &app.admin_key).query(query).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "list {query:?}");
    res.json().await.expect("json")
}

/// Follows `nextCursor` from the first page to the last, returning every id
/// in order and the number of pages.
async fn walk(app: &TestApp, limit: &str) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", limit)];
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let page = list(app, &query).await;
        pages += 1;
        all.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert_eq!(page["nextCursor"], Value::Null);
                return (all, pages);
            }
        }
        assert!(pages < 100, "pagination does not end");
    }
}

async fn create_named(app: &TestApp, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        out.push(id_of(&app.create_account(json!({"name": name})).await));
    }
    out
}

async fn create_many(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(id_of(&app.create_account(json!({"name": format!("{prefix}-{i:03}")})).await));
    }
    out
}

fn assert_no_duplicates(ids: &[String]) {
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates in {ids:?}");
}

// ---- listing ----

#[tokio::test]
async fn list_returns_items_and_a_null_next_cursor_when_everything_fits() {
    let Some(app) = TestApp::spawn().await else { return };
    let created = create_named(&app, &["alpha", "beta"]).await;
    let page = list(&app, &[]).await;
    let listed = ids(&page);
    // The harness's admin account is there too.
    assert_eq!(listed.len(), 3, "{page}");
    for id in &created {
        assert!(listed.contains(id), "{id} missing from {page}");
    }
    assert_eq!(page["nextCursor"], Value::Null);
    let alpha = page["items"].as_array().expect("items").iter().find(|a| a["name"] == "alpha").expect("alpha");
    assert_eq!(alpha["orgId"], app.org_id.as_str());
    assert_eq!(alpha["role"], "viewer");
    assert_eq!(alpha["enableBasicAuth"], false);
    assert_eq!(alpha["disabled"], false);
    assert!(alpha["created"].is_i64());
    assert_eq!(alpha["keys"], json!([]));
}

#[tokio::test]
async fn list_items_carry_key_metadata_but_no_secret() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = create_named(&app, &["with-key"]).await.remove(0);
    let key = app.create_key(&id).await;
    let secret = key["secret"].as_str().expect("secret");
    let res = app.get(SA, &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.expect("text");
    assert!(!text.contains(secret), "the listing shows a secret");
    let page: Value = serde_json::from_str(&text).expect("json");
    let account = page["items"].as_array().expect("items").iter().find(|a| a["id"] == id.as_str()).expect("account");
    let keys = account["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["keyId"], key["keyId"]);
    assert!(keys[0].get("secret").is_none());
}

#[tokio::test]
async fn list_defaults_to_pages_of_50() {
    let Some(app) = TestApp::spawn().await else { return };
    create_many(&app, "bulk", 55).await;
    let first = list(&app, &[]).await;
    assert_eq!(ids(&first).len(), 50);
    let cursor = first["nextCursor"].as_str().expect("a next cursor");
    let second = list(&app, &[("cursor", cursor)]).await;
    // 55 made here plus the harness's admin account.
    assert_eq!(ids(&second).len(), 6);
    assert_eq!(second["nextCursor"], Value::Null);
}

#[tokio::test]
async fn list_honours_the_limit_at_both_ends_of_its_range() {
    let Some(app) = TestApp::spawn().await else { return };
    create_many(&app, "few", 3).await;
    let one = list(&app, &[("limit", "1")]).await;
    assert_eq!(ids(&one).len(), 1);
    assert!(one["nextCursor"].is_string());
    let max = list(&app, &[("limit", "200")]).await;
    assert_eq!(ids(&max).len(), 4);
    assert_eq!(max["nextCursor"], Value::Null);
}

#[tokio::test]
async fn list_refuses_a_limit_outside_1_to_200() {
    let Some(app) = TestApp::spawn().await else { return };
    for bad in ["0", "201", "-1", "ten"] {
        let res = app.request(Method::GET, SA, &app.admin_key).query(&[("limit", bad)]).send().await.expect("request");
        let body = problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["field"], "limit", "limit={bad}");
    }
}

#[tokio::test]
async fn list_refuses_a_cursor_keyward_did_not_issue() {
    let Some(app) = TestApp::spawn().await else { return };
    // A real cursor, but one the audit listing issued.
    let audit: Value = app.get("/api/audit/v1/event?limit=1", &app.admin_key).await.json().await.expect("json");
    let audit_cursor = audit["nextCursor"].as_str().expect("an audit cursor").to_owned();
    create_named(&app, &["another"]).await;
    let own = list(&app, &[("limit", "1")]).await;
    let own_cursor = own["nextCursor"].as_str().expect("a cursor").to_owned();
    // "sa:not-an-id", shaped like ours but naming no position.
    let forged = "c2E6bm90LWFuLWlk";
    for bad in ["garbage", forged, audit_cursor.as_str(), &own_cursor[1..]] {
        let res = app.request(Method::GET, SA, &app.admin_key).query(&[("cursor", bad)]).send().await.expect("request");
        let body = problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["field"], "cursor", "cursor={bad}");
    }
}

#[tokio::test]
async fn paging_visits_every_account_exactly_once() {
    let Some(app) = TestApp::spawn().await else { return };
    create_many(&app, "page", 10).await;
    let (all, pages) = walk(&app, "3").await;
    assert_eq!(pages, 4);
    assert_eq!(all.len(), 11);
    assert_no_duplicates(&all);
    let (in_one_page, _) = walk(&app, "200").await;
    assert_eq!(all, in_one_page, "paged order differs from the single page");
}

#[tokio::test]
async fn pages_are_stable_when_accounts_are_inserted_between_fetches() {
    let Some(app) = TestApp::spawn().await else { return };
    create_many(&app, "before", 8).await;
    let (original, _) = walk(&app, "200").await;

    let first = list(&app, &[("limit", "4")]).await;
    let mut seen = ids(&first);
    let mut cursor = first["nextCursor"].as_str().expect("cursor").to_owned();
    let mut inserted = Vec::new();
    loop {
        inserted.extend(create_many(&app, &format!("during-{}", seen.len()), 2).await);
        let page = list(&app, &[("limit", "4"), ("cursor", &cursor)]).await;
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        assert!(seen.len() < 100, "pagination does not end");
    }

    assert_no_duplicates(&seen);
    let seen_original: Vec<&String> = seen.iter().filter(|id| original.contains(id)).collect();
    let original_refs: Vec<&String> = original.iter().collect();
    assert_eq!(seen_original, original_refs, "an account that existed throughout was skipped or reordered");
    for id in &seen {
        assert!(original.contains(id) || inserted.contains(id), "{id} came from nowhere");
    }
}

#[tokio::test]
async fn name_filter_is_a_case_insensitive_substring() {
    let Some(app) = TestApp::spawn().await else { return };
    let made = create_named(&app, &["Billing Worker", "billing-cron", "Reports", "Nightly BILLING"]).await;
    let (worker, cron, nightly) = (&made[0], &made[1], &made[3]);

    let page = list(&app, &[("name", "billing")]).await;
    let found: HashSet<String> = ids(&page).into_iter().collect();
    assert_eq!(found, HashSet::from([worker.clone(), cron.clone(), nightly.clone()]));

    let page = list(&app, &[("name", "LING w")]).await;
    assert_eq!(ids(&page), vec![worker.clone()]);

    let page = list(&app, &[("name", "no such account")]).await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["nextCursor"], Value::Null);
}

#[tokio::test]
async fn name_filter_treats_like_wildcards_literally() {
    let Some(app) = TestApp::spawn().await else { return };
    let made = create_named(&app, &["50% off", "500 off", "a_b", "axb"]).await;
    assert_eq!(ids(&list(&app, &[("name", "%")]).await), vec![made[0].clone()]);
    assert_eq!(ids(&list(&app, &[("name", "_")]).await), vec![made[2].clone()]);
}

#[tokio::test]
async fn name_filter_pages_with_its_cursor() {
    let Some(app) = TestApp::spawn().await else { return };
    create_many(&app, "match", 5).await;
    create_many(&app, "other", 5).await;
    let first = list(&app, &[("name", "MATCH"), ("limit", "3")]).await;
    let cursor = first["nextCursor"].as_str().expect("cursor");
    let second = list(&app, &[("name", "MATCH"), ("limit", "3"), ("cursor", cursor)]).await;
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(all.len(), 5);
    assert_no_duplicates(&all);
    assert_eq!(second["nextCursor"], Value::Null);
    for item in first["items"].as_array().expect("items").iter().chain(second["items"].as_array().expect("items")) {
        assert!(item["name"].as_str().expect("name").starts_with("match-"), "{item}");
    }
}

#[tokio::test]
async fn list_shows_only_the_callers_organization() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let other_admin = app.key_with_role(&other, Role::Admin).await;
    let theirs = app.post_json(SA, &other_admin, &json!({"name": "theirs"})).await;
    assert_eq!(theirs.status(), StatusCode::CREATED);
    let theirs = id_of(&theirs.json().await.expect("json"));
    create_named(&app, &["ours"]).await;

    let (all, _) = walk(&app, "200").await;
    assert!(!all.contains(&theirs));
    assert_eq!(all.len(), 2);
}

// ---- get ----

#[tokio::test]
async fn get_returns_the_account_with_its_keys() {
    let Some(app) = TestApp::spawn().await else { return };
    let created = app.create_account(json!({"name": "reader", "enableBasicAuth": true, "role": "editor"})).await;
    let id = id_of(&created);
    let key = app.create_key(&id).await;

    let res = app.get(&format!("{SA}/{id}"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    let got: Value = res.json().await.expect("json");
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["orgId"], app.org_id.as_str());
    assert_eq!(got["name"], "reader");
    assert_eq!(got["enableBasicAuth"], true);
    assert_eq!(got["role"], "editor");
    assert_eq!(got["email"], Value::Null);
    assert_eq!(got["emailConfirmed"], false);
    assert_eq!(got["disabled"], false);
    assert_eq!(got["created"], created["created"]);
    let keys = got["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["keyId"], key["keyId"]);
    assert_eq!(keys[0]["created"], key["created"]);
    assert!(keys[0].get("secret").is_none());
}

#[tokio::test]
async fn get_with_orgid_of_the_own_organization_works() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = create_named(&app, &["pinned"]).await.remove(0);
    let res = app.get(&format!("{SA}/{id}?orgId={}", app.org_id), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
}

// ---- patch ----

async fn get_account(app: &TestApp, id: &str) -> Value {
    let res = app.get(&format!("{SA}/{id}"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn patch(app: &TestApp, id: &str, body: Value) -> Value {
    let res = app.patch_json(&format!("{SA}/{id}"), &app.admin_key, &body).await;
    assert_eq!(res.status(), StatusCode::OK, "patch {body}");
    res.json().await.expect("json")
}

/// The account with the fields that a PATCH may change replaced.
fn with(mut account: Value, changes: &Value) -> Value {
    for (k, v) in changes.as_object().expect("object") {
        account[k] = v.clone();
    }
    account
}

#[tokio::test]
async fn patch_of_each_field_changes_that_field_only() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "original"})).await);
    let changes = [
        json!({"name": "renamed"}),
        json!({"enableBasicAuth": true}),
        json!({"role": "editor"}),
        json!({"disabled": true}),
        json!({"disabled": false}),
        json!({"role": "viewer"}),
        json!({"enableBasicAuth": false}),
    ];
    for change in changes {
        let before = get_account(&app, &id).await;
        let answered = patch(&app, &id, change.clone()).await;
        let expected = with(before, &change);
        assert_eq!(answered, expected, "PATCH {change} answered");
        assert_eq!(get_account(&app, &id).await, expected, "PATCH {change} stored");
    }
}

#[tokio::test]
async fn patch_changes_all_four_fields_at_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "all-at-once"})).await);
    let change = json!({"name": "changed", "enableBasicAuth": true, "role": "admin", "disabled": true});
    let answered = patch(&app, &id, change).await;
    let stored = get_account(&app, &id).await;
    assert_eq!(answered, stored);
    assert_eq!(stored["name"], "changed");
    assert_eq!(stored["enableBasicAuth"], true);
    assert_eq!(stored["role"], "admin");
    assert_eq!(stored["disabled"], true);
}

#[tokio::test]
async fn an_empty_patch_changes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "steady", "role": "editor", "enableBasicAuth": true})).await);
    let before = get_account(&app, &id).await;
    assert_eq!(patch(&app, &id, json!({})).await, before);
    assert_eq!(get_account(&app, &id).await, before);
}

#[tokio::test]
async fn disabling_an_account_refuses_its_keys_until_enabled_again() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "switch"})).await);
    let secret = app.create_key(&id).await["secret"].as_str().expect("secret").to_owned();
    let whoami = "/api/service-account/v1/whoami";
    assert_eq!(app.get(whoami, &secret).await.status(), StatusCode::OK);

    patch(&app, &id, json!({"disabled": true})).await;
    problem(app.get(whoami, &secret).await, StatusCode::UNAUTHORIZED).await;

    patch(&app, &id, json!({"disabled": false})).await;
    assert_eq!(app.get(whoami, &secret).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_role_change_applies_to_the_accounts_keys_at_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "promoted"})).await);
    let secret = app.create_key(&id).await["secret"].as_str().expect("secret").to_owned();
    let whoami = "/api/service-account/v1/whoami";
    let before: Value = app.get(whoami, &secret).await.json().await.expect("json");
    assert_eq!(before["role"], "viewer");
    patch(&app, &id, json!({"role": "editor"})).await;
    let after: Value = app.get(whoami, &secret).await.json().await.expect("json");
    assert_eq!(after["role"], "editor");
}

// ---- unique names ----

#[tokio::test]
async fn a_duplicate_name_on_create_is_409_ignoring_case() {
    let Some(app) = TestApp::spawn().await else { return };
    app.create_account(json!({"name": "Deploy Bot"})).await;
    for dup in ["Deploy Bot", "deploy bot", "DEPLOY BOT"] {
        let res = app.post_json(SA, &app.admin_key, &json!({"name": dup})).await;
        problem(res, StatusCode::CONFLICT).await;
    }
    let page = list(&app, &[("name", "deploy bot")]).await;
    assert_eq!(ids(&page).len(), 1, "a refused create left an account behind");
}

#[tokio::test]
async fn renaming_to_a_taken_name_is_409_ignoring_case_and_changes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    app.create_account(json!({"name": "Deploy Bot"})).await;
    let id = id_of(&app.create_account(json!({"name": "builder"})).await);
    let before = get_account(&app, &id).await;

    let res =
        app.patch_json(&format!("{SA}/{id}"), &app.admin_key, &json!({"name": "DEPLOY bot", "role": "editor"})).await;
    problem(res, StatusCode::CONFLICT).await;
    assert_eq!(get_account(&app, &id).await, before);
}

#[tokio::test]
async fn renaming_an_account_to_its_own_name_in_another_case_is_allowed() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "deploy bot"})).await);
    let answered = patch(&app, &id, json!({"name": "Deploy Bot"})).await;
    assert_eq!(answered["name"], "Deploy Bot");
}

#[tokio::test]
async fn a_freed_name_can_be_used_again() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "reused"})).await);
    patch(&app, &id, json!({"name": "moved-on"})).await;
    app.create_account(json!({"name": "Reused"})).await;
}

#[tokio::test]
async fn the_same_name_in_another_organization_is_allowed() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let other_admin = app.key_with_role(&other, Role::Admin).await;
    app.create_account(json!({"name": "shared name"})).await;
    let res = app.post_json(SA, &other_admin, &json!({"name": "Shared Name"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

// ---- unknown and foreign ids ----

#[tokio::test]
async fn an_unknown_id_is_404() {
    let Some(app) = TestApp::spawn().await else { return };
    let unknown = Id::generate().to_string();
    for id in [unknown.as_str(), "1235", "not-an-id"] {
        let path = format!("{SA}/{id}");
        problem(app.get(&path, &app.admin_key).await, StatusCode::NOT_FOUND).await;
        problem(app.patch_json(&path, &app.admin_key, &json!({"name": "x"})).await, StatusCode::NOT_FOUND).await;
        problem(app.delete(&path, &app.admin_key).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn another_organizations_account_is_404_and_left_unchanged() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let other_admin = app.key_with_role(&other, Role::Admin).await;
    let res = app.post_json(SA, &other_admin, &json!({"name": "theirs"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = id_of(&res.json().await.expect("json"));
    let key_res = app.post_json(&format!("{SA}/{id}/key"), &other_admin, &json!({})).await;
    assert_eq!(key_res.status(), StatusCode::CREATED);
    let their_secret = key_res.json::<Value>().await.expect("json")["secret"].as_str().expect("secret").to_owned();
    let before: Value = app.get(&format!("{SA}/{id}"), &other_admin).await.json().await.expect("json");

    let path = format!("{SA}/{id}");
    problem(app.get(&path, &app.admin_key).await, StatusCode::NOT_FOUND).await;
    let change = json!({"name": "hijacked", "disabled": true, "role": "viewer"});
    problem(app.patch_json(&path, &app.admin_key, &change).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&path, &app.admin_key).await, StatusCode::NOT_FOUND).await;

    let after = app.get(&path, &other_admin).await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(after.json::<Value>().await.expect("json"), before);
    assert_eq!(app.get("/api/service-account/v1/whoami", &their_secret).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_404_for_a_foreign_account_looks_like_the_404_for_an_unknown_one() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Other").await;
    let (foreign, _) = app.account_with_key(&other, Role::Viewer, false).await;
    let unknown = Id::generate().to_string();
    let a = problem(app.get(&format!("{SA}/{foreign}"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    let b = problem(app.get(&format!("{SA}/{unknown}"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn names_compare_ignoring_case_beyond_ascii() {
    let Some(app) = TestApp::spawn().await else { return };
    let id = id_of(&app.create_account(json!({"name": "Ölpumpe Süd"})).await);
    problem(app.post_json(SA, &app.admin_key, &json!({"name": "ÖLPUMPE SÜD"})).await, StatusCode::CONFLICT).await;
    assert_eq!(ids(&list(&app, &[("name", "ölpumpe süd")]).await), vec![id.clone()]);
    assert_eq!(ids(&list(&app, &[("name", "SÜD")]).await), vec![id]);
}
