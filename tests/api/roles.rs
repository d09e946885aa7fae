//! Who may do what: every endpoint × role × own or another
//! organization as one table, then the rules against escalation.
//!
//! The table states the status each role's key gets in its own organization
//! and with another organization's ids. Two rules hold for every row and are
//! not repeated in it: a key pinning another organization (`?orgId=`) gets
//! `403`, and a call without credentials gets `401`. Whatever is refused
//! leaves the target and the database exactly as they were.

use keyward::domain::webhook::{EndpointUrl, Subscriptions};
use keyward::domain::{Email, Id, Role};
use keyward::service::Principal;
use keyward::service::webhooks::NewWebhook;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp, problem};

/// One row of the policy. Paths and bodies are templates: `{sa}`, `{key}`
/// and `{user}` become a fresh service account, one of its keys and a
/// member of the organization the case aims at, `{org}` that organization;
/// `{uniq}` a fresh token.
struct Rule {
    method: Method,
    path: &'static str,
    body: Option<&'static str>,
    /// viewer, editor, admin keys in their own organization.
    own: [u16; 3],
    /// The same keys with another organization's ids; `None` for paths
    /// without ids.
    foreign: Option<[u16; 3]>,
}

const NO_IDS: Option<[u16; 3]> = None;
const ROLES: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

#[rustfmt::skip]
fn policy() -> Vec<Rule> {
    fn rule(method: Method, path: &'static str, body: Option<&'static str>, own: [u16; 3], foreign: Option<[u16; 3]>) -> Rule {
        Rule { method, path, body, own, foreign }
    }
    use Method as M;
    vec![
        //   method     path                                                               body                                               own org:          another org's ids:
        //                                                                                                                                    viewer edit admin  viewer edit admin
        rule(M::POST,   "/api/service-account/v1/service-account",                         Some(r#"{"name": "sa {uniq}"}"#),                  [403, 403, 201], NO_IDS),
        rule(M::GET,    "/api/service-account/v1/service-account",                         None,                                              [200, 200, 200], NO_IDS),
        rule(M::GET,    "/api/service-account/v1/service-account/{sa}",                    None,                                              [200, 200, 200], Some([404, 404, 404])),
        rule(M::PATCH,  "/api/service-account/v1/service-account/{sa}",                    Some(r#"{"name": "renamed {uniq}"}"#),             [403, 403, 200], Some([403, 403, 404])),
        rule(M::DELETE, "/api/service-account/v1/service-account/{sa}",                    None,                                              [403, 403, 204], Some([403, 403, 404])),
        // The fixture's account is live, so there is nothing to restore: admins get 404 (deletion.rs restores).
        rule(M::POST,   "/api/service-account/v1/service-account/{sa}/undelete",           None,                                              [403, 403, 404], Some([403, 403, 404])),
        rule(M::POST,   "/api/service-account/v1/service-account/{sa}/key",                Some("{}"),                                        [403, 201, 201], Some([403, 404, 404])),
        rule(M::GET,    "/api/service-account/v1/service-account/{sa}/key",                None,                                              [200, 200, 200], Some([404, 404, 404])),
        rule(M::PATCH,  "/api/service-account/v1/service-account/{sa}/key/{key}",          Some(r#"{"name": "k {uniq}", "disabled": true}"#), [403, 200, 200], Some([403, 404, 404])),
        rule(M::DELETE, "/api/service-account/v1/service-account/{sa}/key/{key}",          None,                                              [403, 204, 204], Some([403, 404, 404])),
        rule(M::POST,   "/api/service-account/v1/service-account/{sa}/key/{key}/rotate",   Some(r#"{"gracePeriod": 60}"#),                    [403, 201, 201], Some([403, 404, 404])),
        rule(M::GET,    "/api/service-account/v1/key/unused",                              None,                                              [200, 200, 200], NO_IDS),
        rule(M::GET,    "/api/service-account/v1/whoami",                                  None,                                              [200, 200, 200], NO_IDS),
        rule(M::GET,    "/api/auth/v1/verify",                                             None,                                              [200, 200, 200], NO_IDS),
        rule(M::POST,   "/api/auth/v1/verify",                                             None,                                              [200, 200, 200], NO_IDS),
        rule(M::PUT,    "/api/auth/v1/verify",                                             None,                                              [200, 200, 200], NO_IDS),
        rule(M::PATCH,  "/api/auth/v1/verify",                                             None,                                              [200, 200, 200], NO_IDS),
        rule(M::DELETE, "/api/auth/v1/verify",                                             None,                                              [200, 200, 200], NO_IDS),
        rule(M::GET,    "/api/audit/v1/event",                                             None,                                              [403, 403, 200], NO_IDS),
        rule(M::GET,    "/api/org/v1/org",                                                 None,                                              [200, 200, 200], NO_IDS),
        // Not a member of another organization: it does not exist for the caller, whatever its role.
        rule(M::PATCH,  "/api/org/v1/org/{org}",                                           Some(r#"{"requireExpiry": false}"#),               [403, 403, 200], Some([404, 404, 404])),
        rule(M::GET,    "/api/user/v1/user",                                               None,                                              [403, 403, 200], NO_IDS),
        rule(M::POST,   "/api/user/v1/user",                                               Some(r#"{"email": "new-{uniq}@example.com"}"#),    [403, 403, 201], NO_IDS),
        rule(M::PATCH,  "/api/user/v1/user/{user}",                                        Some(r#"{"role": "editor"}"#),                     [403, 403, 200], Some([403, 403, 404])),
        rule(M::DELETE, "/api/user/v1/user/{user}",                                        None,                                              [403, 403, 204], Some([403, 403, 404])),
        // A person's own invitations: no key answers them, whatever its role or organization.
        rule(M::GET,    "/api/user/v1/me/invitation",                                      None,                                              [403, 403, 403], NO_IDS),
        rule(M::POST,   "/api/user/v1/me/invitation/{org}/accept",                         None,                                              [403, 403, 403], Some([403, 403, 403])),
        rule(M::POST,   "/api/user/v1/me/invitation/{org}/decline",                        None,                                              [403, 403, 403], Some([403, 403, 403])),
        rule(M::POST,   "/api/webhook/v1/webhook",                                         Some(r#"{"url": "https://93.184.215.14/{uniq}", "events": ["key.*"]}"#), [403, 403, 201], NO_IDS),
        rule(M::GET,    "/api/webhook/v1/webhook",                                         None,                                              [403, 403, 200], NO_IDS),
        rule(M::GET,    "/api/webhook/v1/webhook/{hook}",                                  None,                                              [403, 403, 200], Some([403, 403, 404])),
        rule(M::PATCH,  "/api/webhook/v1/webhook/{hook}",                                  Some(r#"{"disabled": true}"#),                     [403, 403, 200], Some([403, 403, 404])),
        rule(M::DELETE, "/api/webhook/v1/webhook/{hook}",                                  None,                                              [403, 403, 204], Some([403, 403, 404])),
        rule(M::POST,   "/api/webhook/v1/webhook/{hook}/rotate-secret",                    None,                                              [403, 403, 200], Some([403, 403, 404])),
        rule(M::GET,    "/api/webhook/v1/webhook/{hook}/delivery",                         None,                                              [403, 403, 200], Some([403, 403, 404])),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The caller's own organization's ids, pinned with its own `orgId`.
    Own,
    /// Another organization's ids, without `orgId`.
    ForeignIds,
    /// Another organization's ids, pinned with that organization's `orgId`.
    PinnedForeign,
    /// No `Authorization` header at all.
    Anonymous,
}

/// Things made for one case in the organization it aims at.
struct Fixture {
    org: String,
    sa: String,
    key: String,
    user: String,
    hook: String,
}

/// Two organizations, keys of every role in the first, an admin key in the
/// second to look at its things from the inside.
struct World {
    app: TestApp,
    other_org: String,
    other_admin: String,
    keys: [String; 3],
}

impl World {
    async fn new() -> Option<Self> {
        let app = TestApp::spawn().await?;
        let other_org = app.create_org("Globex").await;
        let other_admin = app.key_with_role(&other_org, Role::Admin).await;
        let keys = [
            app.key_with_role(&app.org_id, Role::Viewer).await,
            app.key_with_role(&app.org_id, Role::Editor).await,
            app.admin_key.clone(),
        ];
        Some(Self { app, other_org, other_admin, keys })
    }

    fn admin_of(&self, org: &str) -> &str {
        if org == self.app.org_id { &self.app.admin_key } else { &self.other_admin }
    }
}

/// A viewer account with one key, and a viewer member, in `org`.
async fn fixture(app: &TestApp, org: &str) -> Fixture {
    let (sa, key, _secret) = app.account_key_triple(org, Role::Viewer, false).await;
    let email = Email::parse(&format!("member-{}@example.com", Id::generate())).expect("email");
    let by = Principal::operator(Id::parse(org).expect("org id"));
    let user = app.service.invite_user(&by, email, Role::Viewer).await.expect("invite").id.to_string();
    let hook = NewWebhook {
        url: EndpointUrl::parse("https://93.184.215.14/fixture").expect("url"),
        events: Subscriptions::parse(&["user.*"]).expect("events"),
    };
    // An organization holds at most 20 endpoints: the ones earlier cases
    // made are removed first.
    let earlier = app.service.list_webhooks(&by, None, 200).await.expect("webhooks");
    for old in earlier.items {
        app.service.delete_webhook(&by, &old.id).await.expect("delete webhook");
    }
    let hook = app.service.create_webhook(&by, hook).await.expect("webhook").endpoint.id.to_string();
    Fixture { org: org.to_owned(), sa, key, user, hook }
}

fn render(template: &str, f: &Fixture, uniq: &str) -> String {
    template
        .replace("{sa}", &f.sa)
        .replace("{key}", &f.key)
        .replace("{user}", &f.user)
        .replace("{hook}", &f.hook)
        .replace("{org}", &f.org)
        .replace("{uniq}", uniq)
}

/// Row counts of every table a refused call could leave something in.
async fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "service_accounts",
        "api_keys",
        "audit_events",
        "users",
        "memberships",
        "outbox",
        "webhooks",
        "webhook_deliveries",
    ] {
        out.push((table, app.count_rows(table).await));
    }
    out
}

/// The fixture as its organization's admin sees it: the account with its
/// keys, and the member.
async fn snapshot(app: &TestApp, admin: &str, f: &Fixture) -> Value {
    let account = app.get(&format!("{SA}/{}", f.sa), admin).await;
    assert_eq!(account.status(), StatusCode::OK, "the fixture account is readable by its admin");
    let account: Value = account.json().await.expect("json");
    let users: Value = app.get("/api/user/v1/user?limit=200", admin).await.json().await.expect("json");
    let member = users["items"]
        .as_array()
        .and_then(|items| items.iter().find(|u| u["id"] == f.user.as_str()))
        .cloned()
        .expect("the fixture member is listed by its admin");
    json!({"account": account, "member": member})
}

/// What is wrong with `res` as a refusal, if anything.
async fn problem_mismatch(res: Response) -> Option<String> {
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if status.as_u16() == 401 && res.headers().get("www-authenticate").is_none() {
        return Some("a 401 without WWW-Authenticate".into());
    }
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let complete = ["type", "title", "detail"].iter().all(|m| body[m].is_string()) && body["status"] == status.as_u16();
    (content_type != "application/problem+json" || !complete)
        .then(|| format!("not a problem+json {status}: {content_type} {body}"))
}

/// Runs every row of the table for every role in `scope`, collecting every
/// disagreement so that one run shows the whole difference.
async fn run(scope: Scope) {
    let Some(world) = World::new().await else { return };
    let app = &world.app;
    let mut failures = Vec::new();
    let mut cases = 0;
    for rule in policy() {
        for (i, role) in ROLES.iter().enumerate() {
            let expected = match scope {
                Scope::Own => rule.own[i],
                Scope::ForeignIds => match rule.foreign {
                    Some(foreign) => foreign[i],
                    None => continue,
                },
                Scope::PinnedForeign => 403,
                Scope::Anonymous if i > 0 => continue,
                Scope::Anonymous => 401,
            };
            let (target_org, pin) = match scope {
                Scope::Own | Scope::Anonymous => (app.org_id.clone(), Some(app.org_id.clone())),
                Scope::ForeignIds => (world.other_org.clone(), None),
                Scope::PinnedForeign => (world.other_org.clone(), Some(world.other_org.clone())),
            };
            let caller = if scope == Scope::Anonymous { "no key".to_owned() } else { format!("{role} key") };
            let what = format!("{caller}, {scope:?}: {} {}", rule.method, rule.path);
            cases += 1;

            let f = fixture(app, &target_org).await;
            let uniq = Id::generate().to_string();
            let before = snapshot(app, world.admin_of(&target_org), &f).await;
            let rows_before = counts(app).await;

            let mut url = render(rule.path, &f, &uniq);
            if let Some(org) = &pin {
                url.push_str(&format!("?orgId={org}"));
            }
            let mut req = app.client.request(rule.method.clone(), app.url(&url));
            if scope != Scope::Anonymous {
                req = req.header("Authorization", &world.keys[i]);
            }
            if let Some(body) = rule.body {
                req = req.header("Content-Type", "application/json").body(render(body, &f, &uniq));
            }
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            if status != expected {
                let body = res.text().await.unwrap_or_default();
                failures.push(format!("{what}: expected {expected}, got {status} {body}"));
                continue;
            }
            if status >= 400 {
                if let Some(why) = problem_mismatch(res).await {
                    failures.push(format!("{what}: {why}"));
                }
                let after = snapshot(app, world.admin_of(&target_org), &f).await;
                if after != before {
                    failures
                        .push(format!("{what}: refused, yet the target changed:\n  before {before}\n  after  {after}"));
                }
                let rows_after = counts(app).await;
                if rows_after != rows_before {
                    failures.push(format!("{what}: refused, yet rows changed: {rows_before:?} → {rows_after:?}"));
                }
            }
        }
    }
    assert!(cases > 0, "no case ran for {scope:?}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases disagree with the policy:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn matrix_in_the_callers_own_organization() {
    run(Scope::Own).await;
}

#[tokio::test]
async fn matrix_with_another_organizations_ids() {
    run(Scope::ForeignIds).await;
}

#[tokio::test]
async fn matrix_pinning_another_organization() {
    run(Scope::PinnedForeign).await;
}

#[tokio::test]
async fn matrix_without_credentials() {
    run(Scope::Anonymous).await;
}

/// The table is only a policy if it names every route a credential can
/// call: a route added without a row fails here.
#[test]
fn the_table_covers_every_authenticated_route() {
    let (_, doc) = keyward::http::api_routes();
    let doc = serde_json::to_value(&doc).expect("openapi json");
    // Routes that take no API credential: sessions, platform endpoints, the
    // token endpoint (which judges its own assertion), the published keys,
    // the emailed confirmation link and the revocation of leaked secrets.
    let unauthenticated = [
        "/api/session/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/auth/v1/oauth/token",
        "/.well-known/",
        "/confirm-email",
        // Holding a secret is the credential (tests/api/leaks.rs).
        "/api/leak/",
    ];
    let in_table: Vec<(String, String)> = policy()
        .iter()
        .map(|r| {
            let path = r
                .path
                .replace("{sa}", "{id}")
                .replace("{user}", "{id}")
                .replace("{hook}", "{id}")
                .replace("{org}", "{id}")
                .replace("{key}", "{key-id}");
            (r.method.as_str().to_ascii_lowercase(), path)
        })
        .collect();
    let mut missing = Vec::new();
    let mut routes = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if unauthenticated.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                routes += 1;
                if !in_table.contains(&(method.to_owned(), path.clone())) {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
    }
    assert!(routes >= 18, "the OpenAPI document lists only {routes} authenticated routes");
    assert!(missing.is_empty(), "routes without a row in the policy table: {missing:?}");
}

// ---------------------------------------------------------------------------
// Escalation: nobody obtains or hands out more than it has.

/// Everything an editor could do to a key, aimed at `account`'s key `key`.
async fn key_operations(app: &TestApp, caller: &str, account: &str, key: &str) -> Vec<(String, u16)> {
    let base = format!("{SA}/{account}/key");
    let mut out = Vec::new();
    let res = app.post_json(&base, caller, &json!({})).await;
    out.push((format!("POST {base}"), res.status().as_u16()));
    let res = app.post_json(&format!("{base}/{key}/rotate"), caller, &json!({"gracePeriod": 3600})).await;
    out.push((format!("POST {base}/{key}/rotate"), res.status().as_u16()));
    let res = app.patch_json(&format!("{base}/{key}"), caller, &json!({"disabled": true})).await;
    out.push((format!("PATCH {base}/{key}"), res.status().as_u16()));
    let res = app.delete(&format!("{base}/{key}"), caller).await;
    out.push((format!("DELETE {base}/{key}"), res.status().as_u16()));
    out
}

#[tokio::test]
async fn an_editor_cannot_mint_rotate_disable_or_delete_keys_of_an_admin_account() {
    let Some(app) = TestApp::spawn().await else { return };
    let editor = app.key_with_role(&app.org_id, Role::Editor).await;
    let (admin_account, admin_key_id, admin_secret) = app.account_key_triple(&app.org_id, Role::Admin, false).await;
    let before = app.get(&format!("{SA}/{admin_account}"), &app.admin_key).await.text().await.expect("body");
    let rows_before = counts(&app).await;

    for (what, status) in key_operations(&app, &editor, &admin_account, &admin_key_id).await {
        assert_eq!(status, 403, "an editor's {what} on an admin account");
    }

    assert_eq!(counts(&app).await, rows_before, "refused escalations wrote something");
    let after = app.get(&format!("{SA}/{admin_account}"), &app.admin_key).await.text().await.expect("body");
    assert_eq!(after, before, "the admin account changed");
    let whoami: Value = app.get("/api/service-account/v1/whoami", &admin_secret).await.json().await.expect("json");
    assert_eq!(whoami["role"], "admin", "the admin account's key still works");
}

#[tokio::test]
async fn an_editor_may_do_the_same_to_accounts_of_its_own_rank_and_below() {
    let Some(app) = TestApp::spawn().await else { return };
    let editor = app.key_with_role(&app.org_id, Role::Editor).await;
    for role in [Role::Viewer, Role::Editor] {
        let (account, key_id, _) = app.account_key_triple(&app.org_id, role, false).await;
        let got: Vec<u16> =
            key_operations(&app, &editor, &account, &key_id).await.into_iter().map(|(_, s)| s).collect();
        assert_eq!(got, vec![201, 201, 200, 204], "an editor's key operations on a {role} account");
    }
}

#[tokio::test]
async fn a_key_minted_or_rotated_by_an_editor_is_no_stronger_than_its_account() {
    let Some(app) = TestApp::spawn().await else { return };
    let (editor_account, editor_key_id, editor) = app.account_key_triple(&app.org_id, Role::Editor, false).await;
    let minted: Value =
        app.post_json(&format!("{SA}/{editor_account}/key"), &editor, &json!({})).await.json().await.expect("json");
    let rotated: Value = app
        .post_json(&format!("{SA}/{editor_account}/key/{editor_key_id}/rotate"), &editor, &json!({"gracePeriod": 60}))
        .await
        .json()
        .await
        .expect("json");
    for key in [&minted, &rotated] {
        let secret = key["secret"].as_str().expect("secret");
        let whoami: Value = app.get("/api/service-account/v1/whoami", secret).await.json().await.expect("json");
        assert_eq!(whoami["role"], "editor", "{key}");
        let res = app.post_json(SA, secret, &json!({"name": format!("escalated {}", Id::generate())})).await;
        problem(res, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn nobody_creates_an_account_or_grants_a_role_above_their_own() {
    let Some(app) = TestApp::spawn().await else { return };
    let (editor_account, _, editor) = app.account_key_triple(&app.org_id, Role::Editor, false).await;
    let (viewer_account, _, viewer) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let member = app
        .service
        .invite_user(
            &Principal::operator(Id::parse(&app.org_id).expect("id")),
            Email::parse("m@example.com").expect("email"),
            Role::Viewer,
        )
        .await
        .expect("invite")
        .id
        .to_string();
    let rows_before = counts(&app).await;

    for (who, key, own_account) in [("editor", &editor, &editor_account), ("viewer", &viewer, &viewer_account)] {
        for role in ["viewer", "editor", "admin"] {
            let res = app.post_json(SA, key, &json!({"name": format!("{who} makes {role}"), "role": role})).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "a {who} creating a {role} account");
            let res = app
                .post_json(
                    "/api/user/v1/user",
                    key,
                    &json!({"email": format!("{who}-{role}@example.com"), "role": role}),
                )
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "a {who} inviting a {role} user");
            let res = app.patch_json(&format!("/api/user/v1/user/{member}"), key, &json!({"role": role})).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "a {who} making a member {role}");
        }
        let res = app.patch_json(&format!("{SA}/{own_account}"), key, &json!({"role": "admin"})).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "a {who} raising its own account to admin");
        let whoami: Value = app.get("/api/service-account/v1/whoami", key).await.json().await.expect("json");
        assert_eq!(whoami["role"], who, "the {who} is still a {who}");
    }
    assert_eq!(counts(&app).await, rows_before, "refused grants wrote something");

    // The top role may hand out what it has, and no more exists.
    let res = app.post_json(SA, &app.admin_key, &json!({"name": "second admin", "role": "admin"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app.post_json(SA, &app.admin_key, &json!({"name": "owner", "role": "owner"})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "role");
}

#[tokio::test]
async fn ids_of_two_organizations_mixed_in_one_path_are_404_and_change_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Globex").await;
    let other_admin = app.key_with_role(&other, Role::Admin).await;
    let (own_account, own_key, _) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let (foreign_account, foreign_key, foreign_secret) = app.account_key_triple(&other, Role::Viewer, false).await;
    let before = app.get(&format!("{SA}/{foreign_account}"), &other_admin).await.text().await.expect("body");
    let own_before = app.get(&format!("{SA}/{own_account}"), &app.admin_key).await.text().await.expect("body");
    let rows_before = counts(&app).await;

    for (account, key) in [(&own_account, &foreign_key), (&foreign_account, &own_key)] {
        let base = format!("{SA}/{account}/key/{key}");
        let res = app.patch_json(&base, &app.admin_key, &json!({"disabled": true})).await;
        problem(res, StatusCode::NOT_FOUND).await;
        let res = app.post_json(&format!("{base}/rotate"), &app.admin_key, &json!({})).await;
        problem(res, StatusCode::NOT_FOUND).await;
        let res = app.delete(&base, &app.admin_key).await;
        problem(res, StatusCode::NOT_FOUND).await;
    }

    assert_eq!(counts(&app).await, rows_before);
    let after = app.get(&format!("{SA}/{foreign_account}"), &other_admin).await.text().await.expect("body");
    assert_eq!(after, before, "the other organization's account changed");
    let own_after = app.get(&format!("{SA}/{own_account}"), &app.admin_key).await.text().await.expect("body");
    assert_eq!(own_after, own_before, "the own account changed");
    assert_eq!(app.get("/api/service-account/v1/whoami", &foreign_secret).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_id_and_another_organizations_id_look_alike() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Globex").await;
    let (foreign_account, foreign_key, _) = app.account_key_triple(&other, Role::Viewer, false).await;
    let unknown = Id::generate().to_string();
    let calls = [
        (Method::GET, format!("{SA}/{{id}}")),
        (Method::DELETE, format!("{SA}/{{id}}")),
        (Method::GET, format!("{SA}/{{id}}/key")),
        (Method::DELETE, format!("{SA}/{{id}}/key/{foreign_key}")),
    ];
    for (method, path) in calls {
        let mut bodies = Vec::new();
        for id in [&foreign_account, &unknown] {
            let res =
                app.request(method.clone(), &path.replace("{id}", id), &app.admin_key).send().await.expect("request");
            let mut body = problem(res, StatusCode::NOT_FOUND).await;
            body["detail"] = Value::String(body["detail"].as_str().unwrap_or("").replace(id.as_str(), "ID"));
            bodies.push(body);
        }
        assert_eq!(bodies[0], bodies[1], "{method} {path}: a foreign id is told apart from an unknown one");
    }
}

#[tokio::test]
async fn listings_show_only_the_callers_organization() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Globex").await;
    let other_admin = app.key_with_role(&other, Role::Admin).await;
    let res = app.post_json(SA, &other_admin, &json!({"name": "Hidden Globex Robot"})).await;
    let hidden: Value = res.json().await.expect("json");
    let hidden_id = hidden["id"].as_str().expect("id").to_owned();
    let res = app.post_json("/api/user/v1/user", &other_admin, &json!({"email": "hidden@globex.example"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let visible = app.create_account(json!({"name": "Visible Acme Robot"})).await;

    for path in [
        format!("{SA}?limit=200"),
        format!("{SA}?name=robot"),
        "/api/user/v1/user?limit=200".into(),
        "/api/audit/v1/event?limit=200".into(),
    ] {
        let res = app.get(&path, &app.admin_key).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let text = res.text().await.expect("body");
        assert!(!text.contains(&hidden_id), "{path} shows another organization's account: {text}");
        assert!(!text.contains("hidden@globex.example"), "{path} shows another organization's member: {text}");
        assert!(!text.contains(&other), "{path} mentions another organization: {text}");
    }
    let page: Value = app.get(&format!("{SA}?name=robot"), &app.admin_key).await.json().await.expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["items"][0]["id"], visible["id"]);
    let orgs: Value = app.get("/api/org/v1/org", &app.admin_key).await.json().await.expect("json");
    assert_eq!(
        orgs["items"],
        json!([{"id": app.org_id, "name": "Acme", "role": "admin", "maxKeyLifetime": null, "requireExpiry": false}])
    );
}

#[tokio::test]
async fn a_key_acts_in_its_own_organization_pinned_or_not() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Globex").await;
    let editor = app.key_with_role(&app.org_id, Role::Editor).await;
    for query in [String::new(), format!("?orgId={}", app.org_id), "?orgId=".into()] {
        let res = app.get(&format!("/api/service-account/v1/whoami{query}"), &editor).await;
        assert_eq!(res.status(), StatusCode::OK, "whoami{query}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["orgId"], app.org_id.as_str());
        assert_eq!(body["role"], "editor");
    }
    for org in [other.as_str(), "not-an-org", &Id::generate().to_string()] {
        let res = app.get(&format!("/api/service-account/v1/whoami?orgId={org}"), &editor).await;
        problem(res, StatusCode::FORBIDDEN).await;
        let res = app.get(&format!("/api/auth/v1/verify?orgId={org}"), &editor).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "verify pinned to {org}");
        assert!(res.headers().get("x-keyward-org-id").is_none(), "a refused verify names an organization");
    }
}

#[tokio::test]
async fn a_person_in_several_organizations_must_pin_one_and_acts_with_its_role_there() {
    let Some(app) = TestApp::spawn().await else { return };
    let other = app.create_org("Globex").await;
    let third = app.create_org("Initech").await;
    let password = "correct horse battery staple".to_owned();
    let email = Email::parse("ada@example.com").expect("email");
    let org = |id: &str| Id::parse(id).expect("org id");
    app.service.create_user(&org(&app.org_id), email.clone(), Role::Editor, password.clone()).await.expect("user");
    app.service.create_user(&org(&other), email, Role::Viewer, password.clone()).await.expect("membership");

    let (cookie, csrf) = app.login("ada@example.com", &password).await.expect("logged in");
    let as_ada = |method: Method, path: &str| {
        app.client.request(method, app.url(path)).header("Cookie", &cookie).header("X-CSRF-Token", &csrf)
    };
    // Ada had an account when Globex added her: she takes it up herself.
    let accept = format!("/api/user/v1/me/invitation/{other}/accept");
    assert_eq!(as_ada(Method::POST, &accept).send().await.expect("accept").status(), StatusCode::OK);

    let res = as_ada(Method::GET, "/api/service-account/v1/whoami").send().await.expect("request");
    assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], "orgId");
    for (pin, role) in [(&app.org_id, "editor"), (&other, "viewer")] {
        let res =
            as_ada(Method::GET, &format!("/api/service-account/v1/whoami?orgId={pin}")).send().await.expect("request");
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        assert_eq!((body["orgId"].as_str(), body["role"].as_str()), (Some(pin.as_str()), Some(role)));
    }
    let res =
        as_ada(Method::GET, &format!("/api/service-account/v1/whoami?orgId={third}")).send().await.expect("request");
    problem(res, StatusCode::FORBIDDEN).await;

    // The role is the one of the pinned organization: an editor here may mint
    // keys, a viewer there may not.
    let (here, _, _) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let (there, _, _) = app.account_key_triple(&other, Role::Viewer, false).await;
    let res = as_ada(Method::POST, &format!("{SA}/{here}/key?orgId={}", app.org_id)).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = as_ada(Method::POST, &format!("{SA}/{there}/key?orgId={other}")).send().await.expect("request");
    problem(res, StatusCode::FORBIDDEN).await;
    let res = as_ada(Method::POST, &format!("{SA}/{there}/key?orgId={}", app.org_id)).send().await.expect("request");
    problem(res, StatusCode::NOT_FOUND).await;
    let orgs: Value = as_ada(Method::GET, "/api/org/v1/org").send().await.expect("request").json().await.expect("json");
    assert_eq!(orgs["items"].as_array().map(Vec::len), Some(2), "{orgs}");
}
