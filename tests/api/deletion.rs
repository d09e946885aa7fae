//! Soft delete: a deleted account keeps its keys and its name for 30 days,
//! can be listed and restored by its organization's admins, and is purged
//! after, once, however many nodes race to do it.

use std::sync::Arc;
use std::time::Duration;

use keyward::domain::clock::ManualClock;
use keyward::domain::{Id, Role};
use keyward::service::Limits;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, SA, TestApp, problem, wait_until};

const WHOAMI: &str = "/api/service-account/v1/whoami";
const EVENTS: &str = "/api/audit/v1/event";
const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

async fn app_at(limits: Limits) -> Option<(TestApp, ManualClock)> {
    let clock = ManualClock::new(NOW);
    let app = TestApp::spawn_with(Options { limits, clock: Arc::new(clock.clone()), ..Options::default() }).await?;
    Some((app, clock))
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// An account made over the API with one key: (account id, key JSON).
async fn account_with_key(app: &TestApp, name: &str) -> (String, Value) {
    let account = id_of(&app.create_account(json!({"name": name})).await);
    let key = app.create_key(&account).await;
    (account, key)
}

fn secret(key: &Value) -> &str {
    key["secret"].as_str().expect("secret")
}

async fn deleted_page(app: &TestApp, key: &str, query: &[(&str, &str)]) -> reqwest::Response {
    let mut q = vec![("deleted", "true")];
    q.extend_from_slice(query);
    app.request(Method::GET, SA, key).query(&q).send().await.expect("request")
}

async fn deleted_ids(app: &TestApp) -> Vec<String> {
    let res = deleted_page(app, &app.admin_key, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.expect("json");
    page["items"].as_array().expect("items").iter().map(id_of).collect()
}

async fn undelete(app: &TestApp, key: &str, account: &str) -> reqwest::Response {
    app.request(Method::POST, &format!("{SA}/{account}/undelete"), key).send().await.expect("request")
}

/// The actions of the organization's audit trail, newest first.
async fn actions(app: &TestApp) -> Vec<(String, String, String)> {
    let res = app.request(Method::GET, EVENTS, &app.admin_key).query(&[("limit", "200")]).send().await.expect("req");
    let page: Value = res.json().await.expect("json");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["targetId"].as_str().unwrap_or_default().to_owned(),
                e["actorKind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_deleted_account_is_gone_until_restored_with_its_keys_as_they_were() {
    let Some((app, clock)) = app_at(Limits::default()).await else { return };
    let (account, key) = account_with_key(&app, "restorable").await;
    let short = app.post_json(&format!("{SA}/{account}/key"), &app.admin_key, &json!({"expiresIn": DAY})).await;
    let short: Value = short.json().await.expect("json");
    let disabled = app.create_key(&account).await;
    let disabled_path = format!("{SA}/{account}/key/{}", disabled["keyId"].as_str().expect("keyId"));
    let res = app.patch_json(&disabled_path, &app.admin_key, &json!({"disabled": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get(WHOAMI, secret(&key)).await.status(), StatusCode::OK);

    assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    // Its keys stop at once, like keys that never existed.
    assert_eq!(app.get(WHOAMI, secret(&key)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(WHOAMI, secret(&short)).await.status(), StatusCode::UNAUTHORIZED);
    // Every operation on it answers as for an unknown id.
    let one = format!("{SA}/{account}");
    let key_path = format!("{one}/key/{}", key["keyId"].as_str().expect("keyId"));
    problem(app.get(&one, &app.admin_key).await, StatusCode::NOT_FOUND).await;
    problem(app.patch_json(&one, &app.admin_key, &json!({"name": "x"})).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&one, &app.admin_key).await, StatusCode::NOT_FOUND).await;
    problem(app.get(&format!("{one}/key"), &app.admin_key).await, StatusCode::NOT_FOUND).await;
    problem(app.post_json(&format!("{one}/key"), &app.admin_key, &json!({})).await, StatusCode::NOT_FOUND).await;
    problem(app.patch_json(&key_path, &app.admin_key, &json!({"disabled": false})).await, StatusCode::NOT_FOUND).await;
    problem(app.post_json(&format!("{key_path}/rotate"), &app.admin_key, &json!({})).await, StatusCode::NOT_FOUND)
        .await;
    problem(app.delete(&key_path, &app.admin_key).await, StatusCode::NOT_FOUND).await;
    let live: Value = app.get(SA, &app.admin_key).await.json().await.expect("json");
    assert!(live["items"].as_array().expect("items").iter().all(|a| id_of(a) != account));
    // Its name stays taken until the purge.
    let res = app.post_json(SA, &app.admin_key, &json!({"name": "RESTORABLE"})).await;
    assert_eq!(problem(res, StatusCode::CONFLICT).await["field"], "name");
    // Listed among the deleted, with when.
    let res = deleted_page(&app, &app.admin_key, &[]).await;
    let page: Value = res.json().await.expect("json");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!((id_of(&items[0]), items[0]["deleted"].as_i64()), (account.clone(), Some(NOW)));
    assert!(items[0]["keys"].as_array().expect("keys").iter().all(|k| k.get("secret").is_none()));

    // A day and more later, the short-lived key has expired meanwhile.
    clock.advance(DAY + 1);
    let res = undelete(&app, &app.admin_key, &account).await;
    assert_eq!(res.status(), StatusCode::OK);
    let restored: Value = res.json().await.expect("json");
    assert_eq!(restored["keys"].as_array().expect("keys").len(), 3);
    assert!(restored.get("deleted").is_none());
    assert_eq!(app.get(WHOAMI, secret(&key)).await.status(), StatusCode::OK, "its key works again at once");
    assert_eq!(app.get(WHOAMI, secret(&short)).await.status(), StatusCode::UNAUTHORIZED, "expired stays expired");
    assert_eq!(app.get(WHOAMI, secret(&disabled)).await.status(), StatusCode::UNAUTHORIZED, "disabled stays so");
    assert_eq!(app.get(&one, &app.admin_key).await.status(), StatusCode::OK);
    assert!(deleted_ids(&app).await.is_empty());
    // Restoring a live account is restoring nothing.
    problem(undelete(&app, &app.admin_key, &account).await, StatusCode::NOT_FOUND).await;

    let trail = actions(&app).await;
    let restore = ("serviceAccount.undelete".to_owned(), account.clone(), "serviceAccount".to_owned());
    assert!(trail.contains(&restore), "{trail:?}");
    assert!(trail.iter().any(|(a, t, _)| a == "serviceAccount.delete" && t == &account));
}

#[tokio::test]
async fn only_the_accounts_own_admins_may_see_and_restore_it() {
    let Some(app) = TestApp::spawn().await else { return };
    let (account, key) = account_with_key(&app, "guarded").await;
    assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);

    let other_org = app.create_org("Globex").await;
    let stranger = app.key_with_role(&other_org, Role::Admin).await;
    problem(undelete(&app, &stranger, &account).await, StatusCode::NOT_FOUND).await;
    let res = deleted_page(&app, &stranger, &[]).await;
    let page: Value = res.json().await.expect("json");
    assert!(page["items"].as_array().expect("items").is_empty(), "another organization sees nothing");

    for role in [Role::Viewer, Role::Editor] {
        let lesser = app.key_with_role(&app.org_id, role).await;
        problem(undelete(&app, &lesser, &account).await, StatusCode::FORBIDDEN).await;
        problem(deleted_page(&app, &lesser, &[]).await, StatusCode::FORBIDDEN).await;
    }
    // Ids of the wrong shape, unknown ids, bad flags and foreign cursors.
    problem(undelete(&app, &app.admin_key, "not-an-id").await, StatusCode::NOT_FOUND).await;
    problem(undelete(&app, &app.admin_key, &Id::generate().to_string()).await, StatusCode::NOT_FOUND).await;
    assert_eq!(deleted_page(&app, &app.admin_key, &[("deleted", "yes")]).await.status(), StatusCode::BAD_REQUEST);
    let res = app.request(Method::GET, SA, &app.admin_key).query(&[("deleted", "maybe")]).send().await.expect("req");
    assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], "deleted");
    let res = app.request(Method::GET, SA, &app.admin_key).query(&[("limit", "1")]).send().await.expect("req");
    let live: Value = res.json().await.expect("json");
    let live_cursor = live["nextCursor"].as_str().expect("the admin's account and more").to_owned();
    let res = deleted_page(&app, &app.admin_key, &[("cursor", &live_cursor)]).await;
    assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], "cursor");

    assert_eq!(app.get(WHOAMI, secret(&key)).await.status(), StatusCode::UNAUTHORIZED, "nothing was restored");
    assert_eq!(deleted_ids(&app).await, vec![account]);
}

#[tokio::test]
async fn restoring_an_admin_account_needs_an_admin() {
    let Some(app) = TestApp::spawn().await else { return };
    // The role check runs on the deleted row too: an editor, who could not
    // delete an admin account, cannot bring one back either.
    let (account, _key) = {
        let a = id_of(&app.create_account(json!({"name": "boss", "role": "admin"})).await);
        (a.clone(), app.create_key(&a).await)
    };
    assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    let editor = app.key_with_role(&app.org_id, Role::Editor).await;
    problem(undelete(&app, &editor, &account).await, StatusCode::FORBIDDEN).await;
    assert_eq!(undelete(&app, &app.admin_key, &account).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_deleted_listing_pages_like_the_live_one() {
    let Some(app) = TestApp::spawn().await else { return };
    let mut made = Vec::new();
    for i in 0..5 {
        let id = id_of(&app.create_account(json!({"name": format!("gone-{i}")})).await);
        assert_eq!(app.delete(&format!("{SA}/{id}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
        made.push(id);
    }
    app.create_account(json!({"name": "still here"})).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let page: Value = deleted_page(&app, &app.admin_key, &query).await.json().await.expect("json");
        seen.extend(page["items"].as_array().expect("items").iter().map(id_of));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let page: Value = deleted_page(&app, &app.admin_key, &[("name", "GONE-3")]).await.json().await.expect("json");
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    // The deleted listing's cursor means nothing to the live one.
    let page: Value = deleted_page(&app, &app.admin_key, &[("limit", "1")]).await.json().await.expect("json");
    let cursor = page["nextCursor"].as_str().expect("cursor");
    let res = app.request(Method::GET, SA, &app.admin_key).query(&[("cursor", cursor)]).send().await.expect("req");
    problem(res, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn accounts_are_purged_thirty_days_after_deletion_and_only_then() {
    let Some((app, clock)) = app_at(Limits::default()).await else { return };
    let (account, key) = account_with_key(&app, "doomed").await;
    assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    let keys_before = app.count_rows("api_keys").await;

    clock.advance(30 * DAY - 1);
    assert_eq!(app.service.purge_deleted_accounts().await.expect("purge"), 0);
    assert_eq!(deleted_ids(&app).await, vec![account.clone()]);

    clock.advance(2);
    assert_eq!(app.service.purge_deleted_accounts().await.expect("purge"), 1);
    assert_eq!(app.service.purge_deleted_accounts().await.expect("purge again"), 0, "a purge is idempotent");
    assert!(deleted_ids(&app).await.is_empty());
    assert_eq!(app.count_rows("api_keys").await, keys_before - 1, "its key went with it");
    problem(undelete(&app, &app.admin_key, &account).await, StatusCode::NOT_FOUND).await;
    assert_eq!(app.get(WHOAMI, secret(&key)).await.status(), StatusCode::UNAUTHORIZED);
    // The name is free again.
    assert_eq!(app.post_json(SA, &app.admin_key, &json!({"name": "doomed"})).await.status(), StatusCode::CREATED);
    let trail = actions(&app).await;
    let purges: Vec<_> = trail.iter().filter(|(a, _, _)| a == "serviceAccount.purge").collect();
    assert_eq!(purges.len(), 1);
    assert_eq!((purges[0].1.as_str(), purges[0].2.as_str()), (account.as_str(), "system"));
}

#[tokio::test]
async fn the_background_worker_purges_on_its_own() {
    let limits = Limits { purge_interval: Duration::from_millis(50), ..Limits::default() };
    let Some((app, clock)) = app_at(limits).await else { return };
    let (account, _key) = account_with_key(&app, "left behind").await;
    let (kept, _) = account_with_key(&app, "deleted later").await;
    assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    clock.advance(20 * DAY);
    assert_eq!(app.delete(&format!("{SA}/{kept}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    clock.advance(10 * DAY + 1);
    wait_until(Duration::from_secs(10), "the worker to purge", async || !deleted_ids(&app).await.contains(&account))
        .await;
    assert_eq!(deleted_ids(&app).await, vec![kept], "deleted 10 days ago: kept");
}

#[tokio::test]
async fn two_racing_undeletes_restore_once() {
    let Some(app) = TestApp::spawn().await else { return };
    for round in 0..5 {
        let (account, key) = account_with_key(&app, &format!("raced-{round}")).await;
        assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
        let (a, b) = tokio::join!(undelete(&app, &app.admin_key, &account), undelete(&app, &app.admin_key, &account));
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::NOT_FOUND], "round {round}");
        assert_eq!(app.get(WHOAMI, secret(&key)).await.status(), StatusCode::OK);
        let restores =
            actions(&app).await.iter().filter(|(a, t, _)| a == "serviceAccount.undelete" && t == &account).count();
        assert_eq!(restores, 1, "round {round}: one restore in the trail");
    }
}

#[tokio::test]
async fn a_purge_racing_an_undelete_leaves_one_consistent_outcome() {
    let Some((app, clock)) = app_at(Limits::default()).await else { return };
    let mut accounts = Vec::new();
    for i in 0..6 {
        let (account, key) = account_with_key(&app, &format!("contested-{i}")).await;
        assert_eq!(app.delete(&format!("{SA}/{account}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
        accounts.push((account, key));
    }
    clock.advance(30 * DAY + 1);
    // Each restore a task of its own, so that they run beside the purge.
    let restores: Vec<_> = accounts
        .iter()
        .map(|(account, _)| {
            let request = app
                .client
                .post(app.url(&format!("{SA}/{account}/undelete")))
                .header("Authorization", app.admin_key.clone());
            tokio::spawn(async move { request.send().await.expect("request").status() })
        })
        .collect();
    let purged = app.service.purge_deleted_accounts().await.expect("purge");
    let mut answers = Vec::new();
    for restore in restores {
        answers.push(restore.await.expect("task"));
    }
    let restored = answers.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(answers.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::NOT_FOUND), "{answers:?}");
    assert_eq!(purged + restored, accounts.len(), "each account purged or restored, never both");
    for ((account, key), answer) in accounts.iter().zip(&answers) {
        let get = app.get(&format!("{SA}/{account}"), &app.admin_key).await.status();
        let who = app.get(WHOAMI, secret(key)).await.status();
        if *answer == StatusCode::OK {
            assert_eq!((get, who), (StatusCode::OK, StatusCode::OK));
        } else {
            assert_eq!((get, who), (StatusCode::NOT_FOUND, StatusCode::UNAUTHORIZED));
        }
    }
    assert!(deleted_ids(&app).await.is_empty());
}
