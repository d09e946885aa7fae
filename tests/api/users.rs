//! Invitations and memberships under attack: an invitation's link
//! reaches only the invitee's mailbox (a real SMTP server on loopback), an
//! organization cannot tell a known address from a new one, removing a
//! membership voids the links it sent and touches no other organization.
//! Runs on SQLite and again on PostgreSQL.

use std::time::Duration;

use keyward::domain::{Email, Id, Role};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::mail::{Worker, config, outbox, start};
use super::smtp::{Mail, SmtpServer};
use crate::helpers::{SA, TestApp, problem};

const USERS: &str = "/api/user/v1/user";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const PASSWORD: &str = "correct horse battery staple";
const MAIL_WAIT: Duration = Duration::from_secs(10);

/// The fields a member is shown with, and no more.
const USER_FIELDS: [&str; 6] = ["active", "created", "email", "id", "orgId", "role"];

fn worker(app: &TestApp, smtp: &SmtpServer) -> Worker {
    start(app, config(app, Some(&smtp.url())))
}

async fn invite(app: &TestApp, admin: &str, email: &str, role: &str) -> (Value, String) {
    let res = app.post_json(USERS, admin, &json!({"email": email, "role": role})).await;
    assert_eq!(res.status(), StatusCode::CREATED, "inviting {email}");
    let raw = res.text().await.expect("body");
    (serde_json::from_str(&raw).expect("json"), raw)
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

/// The token of the invitation link in `mail`, if it carries one.
fn link_token(app: &TestApp, mail: &Mail) -> Option<String> {
    let token = mail.link_token(&app.base, "/set-password");
    assert_eq!(token.is_some(), mail.html.contains("/set-password?token="), "both parts carry the link, or neither");
    token
}

async fn set_password(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/session/v1/password"))
        .json(&json!({"token": token, "password": PASSWORD}))
        .send()
        .await
        .expect("request")
}

async fn link_page(app: &TestApp, token: &str) -> StatusCode {
    let res = app
        .client
        .get(app.url(&format!("/set-password?token={token}")))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("page");
    res.status()
}

/// A logged-in person: the session cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn request(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        app.client.request(method, app.url(path)).header("Cookie", &self.cookie).header("X-CSRF-Token", &self.csrf)
    }
}

async fn try_login(app: &TestApp, email: &str, password: &str) -> Result<Session, StatusCode> {
    app.login(email, password).await.map(|(cookie, csrf)| Session { cookie, csrf })
}

async fn login(app: &TestApp, email: &str) -> Session {
    try_login(app, email, PASSWORD).await.unwrap_or_else(|status| panic!("{email} could not log in: {status}"))
}

async fn whoami_in(app: &TestApp, session: &Session, org: &str) -> (StatusCode, Value) {
    let res = session.request(app, Method::GET, &format!("{WHOAMI}?orgId={org}")).send().await.expect("whoami");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn members(app: &TestApp, admin: &str) -> Vec<Value> {
    let res = app.get(&format!("{USERS}?limit=200"), admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.expect("json")["items"].as_array().expect("items").clone()
}

async fn member(app: &TestApp, admin: &str, email: &str) -> Option<Value> {
    members(app, admin).await.into_iter().find(|m| m["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
}

/// Everything an organization's admin can read about its people: the answer
/// to the listing and to its audit trail, as text.
async fn what_the_admin_sees(app: &TestApp, admin: &str) -> String {
    let users = app.get(&format!("{USERS}?limit=200"), admin).await.text().await.expect("users");
    let audit = app.get("/api/audit/v1/event?limit=200", admin).await.text().await.expect("audit");
    format!("{users}\n{audit}")
}

/// When a generated (UUIDv7) id was made, in Unix seconds.
fn minted_at(id: &str) -> i64 {
    (u64::from_str_radix(&id[..12], 16).expect("hex") / 1000) as i64
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64
}

/// The attack that was found against a release: organization A invites an
/// address, organization B relies on the same person, A removes them and
/// uses the link its invitation made to take the person over. Every step of
/// it must come to nothing for A's admin.
#[tokio::test]
async fn an_invitation_link_never_reaches_the_inviter_and_dies_with_its_membership() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = worker(&app, &smtp);
    let (a_org, a_admin) = (app.org_id.clone(), app.admin_key.clone());
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let victim = "victim@example.com";

    // A invites: the answer is the member, with no link in it.
    let (from_a, raw_a) = invite(&app, &a_admin, victim, "viewer").await;
    assert_eq!(keys_of(&from_a), USER_FIELDS, "{raw_a}");
    assert_eq!(from_a["active"], false);
    assert!(!raw_a.contains("token") && !raw_a.contains("set-password"), "a link in the answer: {raw_a}");

    // The link reaches the victim's mailbox, and only that.
    let inbox = smtp.wait_for_mailbox(victim, 1, MAIL_WAIT).await;
    let a_link = link_token(&app, &inbox[0]).expect("a new person is sent a link");
    assert!(inbox[0].subject.contains("Acme"), "{}", inbox[0].subject);
    assert_eq!(smtp.deliveries().len(), 1, "the invitation went elsewhere too");
    assert!(!what_the_admin_sees(&app, &a_admin).await.contains(&a_link), "A's admin can read the link");
    assert!(outbox(&app).await.iter().all(|row| !row.2.contains(&a_link)), "the outbox holds the link");

    // B adds the same address as an admin: the same kind of answer A got, and
    // B's own link to the victim (who has no password yet), bound to B.
    let (from_b, raw_b) = invite(&app, &b_admin, victim, "admin").await;
    assert_eq!(keys_of(&from_b), keys_of(&from_a), "{raw_b}");
    assert_eq!((from_b["active"].clone(), from_b["email"].clone()), (json!(false), json!(victim)));
    assert_ne!(from_b["id"], from_a["id"], "the two organizations share an id for the person");
    let inbox = smtp.wait_for_mailbox(victim, 2, MAIL_WAIT).await;
    let b_link = link_token(&app, &inbox[1]).expect("B's invitation carries its own link");
    assert!(inbox[1].subject.contains("Globex"), "{}", inbox[1].subject);
    assert_ne!(a_link, b_link);

    // A removes the person: the link A's invitation made is void, used or not.
    let a_member = from_a["id"].as_str().expect("id");
    assert_eq!(app.delete(&format!("{USERS}/{a_member}"), &a_admin).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(link_page(&app, &a_link).await, StatusCode::GONE);
    let refused = problem(set_password(&app, &a_link).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refused["field"], "token");
    assert_eq!(try_login(&app, victim, PASSWORD).await.err(), Some(StatusCode::UNAUTHORIZED), "A set a password");

    // B's membership is untouched, and so is B's link: the victim takes it up.
    let in_b = member(&app, &b_admin, victim).await.expect("still B's member");
    assert_eq!((in_b["role"].clone(), in_b["active"].clone()), (json!("admin"), json!(false)));
    assert_eq!(link_page(&app, &b_link).await, StatusCode::OK);
    assert_eq!(set_password(&app, &b_link).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(member(&app, &b_admin, victim).await.expect("member")["active"], true);
    let session = login(&app, victim).await;
    let (status, me) = whoami_in(&app, &session, &b_org).await;
    assert_eq!((status, me["role"].clone()), (StatusCode::OK, json!("admin")));

    // A invites the person again: the answer looks as it did the first time,
    // and the person, who has a password now, is told, with no link.
    let (again, raw_again) = invite(&app, &a_admin, victim, "viewer").await;
    assert_eq!(keys_of(&again), USER_FIELDS, "{raw_again}");
    assert_eq!(again["active"], false, "A learns that the person has an account elsewhere");
    let inbox = smtp.wait_for_mailbox(victim, 3, MAIL_WAIT).await;
    assert_eq!(link_token(&app, &inbox[2]), None, "a person with a password was sent a link");
    assert!(inbox[2].subject.contains("added to \"Acme\""), "{}", inbox[2].subject);

    // A removes them again. Nothing A holds sets a password, and the
    // victim's session goes on working in B, with B's role.
    let again_id = again["id"].as_str().expect("id");
    assert_eq!(app.delete(&format!("{USERS}/{again_id}"), &a_admin).await.status(), StatusCode::NO_CONTENT);
    for token in [&a_link, &b_link] {
        problem(set_password(&app, token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let (status, me) = whoami_in(&app, &session, &b_org).await;
    assert_eq!(
        (status, me["orgId"].as_str(), me["role"].as_str()),
        (StatusCode::OK, Some(b_org.as_str()), Some("admin"))
    );
    let (status, _) = whoami_in(&app, &session, &a_org).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the person still acts in A");
    let account = app.create_account(json!({"name": "victim's robot"})).await;
    let res =
        session.request(&app, Method::POST, &format!("{SA}/{}/key?orgId={a_org}", account["id"].as_str().expect("id")));
    assert_eq!(res.send().await.expect("request").status(), StatusCode::FORBIDDEN);
    let (b_account, _) = app.account_with_key(&b_org, Role::Viewer, false).await;
    let res = session.request(&app, Method::POST, &format!("{SA}/{b_account}/key?orgId={b_org}")).send().await;
    let res = res.expect("request");
    assert_eq!(res.status(), StatusCode::CREATED, "the person's B session lost its power");
    assert_eq!(member(&app, &b_admin, victim).await.expect("still B's member")["role"], "admin");
}

/// A's answer, listing, audit trail and outbox are the same for an address
/// nobody has, one another organization invited (no password yet) and one
/// with an account elsewhere (spelled differently there).
#[tokio::test]
async fn an_invitation_tells_the_inviter_nothing_about_the_address() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let a_admin = app.admin_key.clone();
    let c_org = app.create_org("Initech").await;
    let c_admin = app.key_with_role(&c_org, Role::Admin).await;
    let c = Id::parse(&c_org).expect("id");
    let known = Email::parse("Known.Person@Example.com").expect("email");
    app.service.create_user(&c, known, Role::Admin, PASSWORD.into()).await.expect("a person with an account");
    invite(&app, &c_admin, "pending@example.com", "viewer").await;
    // Time passes, so that an answer naming when an account began would show.
    // Real time: ids carry the system's clock, which a manual one does not move.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let outbox_before = outbox(&app).await.len();

    let before = now();
    let mut answers = Vec::new();
    for email in ["known.person@example.com", "pending@example.com", "nobody@example.com"] {
        let (answer, _) = invite(&app, &a_admin, email, "editor").await;
        answers.push((email, answer));
    }
    let after = now();
    for (email, answer) in &answers {
        assert_eq!(keys_of(answer), USER_FIELDS, "{answer}");
        assert_eq!(answer["email"], *email, "the address as A typed it");
        assert_eq!(
            (answer["orgId"].as_str(), answer["role"].as_str(), answer["active"].as_bool()),
            (Some(app.org_id.as_str()), Some("editor"), Some(false)),
            "{answer}"
        );
        let created = answer["created"].as_i64().expect("created");
        assert!((before..=after).contains(&created), "{answer}");
        let id = answer["id"].as_str().expect("id");
        assert!((before - 1..=after + 1).contains(&minted_at(id)), "the id of {email} dates from before: {answer}");
    }
    let listed = members(&app, &a_admin).await;
    for (email, answer) in &answers {
        let row = listed.iter().find(|m| m["id"] == answer["id"]).expect("listed");
        assert_eq!(row, answer, "{email}: the listing differs from the answer");
    }
    let trail: Value = app.get("/api/audit/v1/event?limit=200", &a_admin).await.json().await.expect("json");
    let adds: Vec<&Value> =
        trail["items"].as_array().expect("items").iter().filter(|e| e["action"] == "user.add").collect();
    assert_eq!(adds.len(), 3);
    for (_, answer) in &answers {
        let event = adds.iter().find(|e| e["targetId"] == answer["id"]).expect("the add is audited by member id");
        assert_eq!((event["targetKind"].clone(), event["detail"].clone()), (json!("user"), json!({"role": "editor"})));
    }
    let rows = outbox(&app).await;
    let queued: Vec<_> = rows[outbox_before..].iter().map(|r| (r.0.clone(), r.3, r.4, r.5)).collect();
    assert_eq!(queued, vec![("invitation".to_owned(), 0, None, None); 3], "the queued invitations differ");

    // The mail itself knows: a link for whoever has no password, a notice
    // for the person who has one.
    let _worker = worker(&app, &smtp);
    // (The pending person also has Initech's invitation.)
    for (email, messages) in [("nobody@example.com", 1), ("pending@example.com", 2)] {
        let inbox = smtp.wait_for_mailbox(email, messages, MAIL_WAIT).await;
        let from_a = inbox.iter().find(|m| m.subject.contains("Acme")).expect("A's invitation");
        assert!(link_token(&app, from_a).is_some(), "{email} has no password and no link: {}", from_a.text);
        assert!(from_a.text.contains("an editor"), "{}", from_a.text);
    }
    let inbox = smtp.wait_for_mailbox("known.person@example.com", 1, MAIL_WAIT).await;
    assert_eq!(link_token(&app, &inbox[0]), None, "a person with a password was sent a link: {}", inbox[0].text);
    assert!(inbox[0].text.contains(&format!("{}/login", app.base)), "{}", inbox[0].text);
}

/// Two invitations, two links; the first one used makes the other useless,
/// and no link ever changes a password once one is chosen.
#[tokio::test]
async fn a_link_chooses_a_first_password_only() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = worker(&app, &smtp);
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let ada = "ada@example.com";
    let (from_a, _) = invite(&app, &app.admin_key, ada, "viewer").await;
    invite(&app, &b_admin, ada, "viewer").await;
    let inbox = smtp.wait_for_mailbox(ada, 2, MAIL_WAIT).await;
    let link_from = |org: &str| {
        let mail = inbox.iter().find(|m| m.subject.contains(org)).expect("an invitation");
        link_token(&app, mail).expect("a link")
    };
    let (by_a, by_b) = (link_from("Acme"), link_from("Globex"));

    assert_eq!(set_password(&app, &by_a).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(member(&app, &app.admin_key, ada).await.expect("member")["id"], from_a["id"]);
    assert_eq!(member(&app, &app.admin_key, ada).await.expect("member")["active"], true, "A's membership is taken up");
    assert_eq!(member(&app, &b_admin, ada).await.expect("member")["active"], false, "B's waits for a login");
    for used in [&by_a, &by_b] {
        assert_eq!(link_page(&app, used).await, StatusCode::GONE);
        let res = app
            .client
            .post(app.url("/api/session/v1/password"))
            .json(&json!({"token": used, "password": "another password entirely"}))
            .send()
            .await
            .expect("request");
        assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "token");
    }
    login(&app, ada).await;
    assert_eq!(try_login(&app, ada, "another password entirely").await.err(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(member(&app, &b_admin, ada).await.expect("member")["active"], true, "the login took B's up");
}

/// An invitation that has not gone out when its membership is removed
/// never goes out; nor does any link it would have carried work.
#[tokio::test]
async fn removing_a_member_cancels_the_invitation_not_sent_yet() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let (member, _) = invite(&app, &app.admin_key, "late@example.com", "viewer").await;
    let id = member["id"].as_str().expect("id");
    assert_eq!(app.delete(&format!("{USERS}/{id}"), &app.admin_key).await.status(), StatusCode::NO_CONTENT);
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].5.is_some() && rows[0].6.as_deref().is_some_and(|e| e.contains("cancelled")), "{rows:?}");

    let _worker = worker(&app, &smtp);
    // Something sent afterwards arrives, so the worker is running.
    invite(&app, &app.admin_key, "later@example.com", "viewer").await;
    smtp.wait_for_mailbox("later@example.com", 1, MAIL_WAIT).await;
    assert!(smtp.mailbox("late@example.com").is_empty(), "the cancelled invitation was sent");
    assert_eq!(app.count_rows("invitations").await, 1, "only the later invitation has a link");
}

/// Removing a person from one organization ends nothing of theirs in
/// another; removing them from their last one deletes them, sessions too.
#[tokio::test]
async fn removal_from_one_organization_keeps_the_sessions_of_the_others() {
    let Some(app) = TestApp::spawn().await else { return };
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let email = Email::parse("grace@example.com").expect("email");
    let org = |id: &str| Id::parse(id).expect("org id");
    app.service.create_user(&org(&app.org_id), email.clone(), Role::Editor, PASSWORD.into()).await.expect("user");
    app.service.create_user(&org(&b_org), email, Role::Viewer, PASSWORD.into()).await.expect("membership");
    let session = login(&app, "grace@example.com").await;
    assert_eq!(whoami_in(&app, &session, &app.org_id).await.0, StatusCode::OK);

    let in_a = member(&app, &app.admin_key, "grace@example.com").await.expect("member");
    let path = format!("{USERS}/{}", in_a["id"].as_str().expect("id"));
    assert_eq!(app.delete(&path, &app.admin_key).await.status(), StatusCode::NO_CONTENT);

    let (status, me) = whoami_in(&app, &session, &b_org).await;
    assert_eq!((status, me["role"].as_str()), (StatusCode::OK, Some("viewer")), "the session ended in B: {me}");
    assert_eq!(whoami_in(&app, &session, &app.org_id).await.0, StatusCode::FORBIDDEN);
    let orgs: Value =
        session.request(&app, Method::GET, "/api/org/v1/org").send().await.expect("orgs").json().await.expect("json");
    assert_eq!(
        orgs["items"],
        json!([{"id": b_org, "name": "Globex", "role": "viewer", "maxKeyLifetime": null, "requireExpiry": false}])
    );
    // With one organization left, the session needs no pin.
    let res = session.request(&app, Method::GET, WHOAMI).send().await.expect("whoami");
    assert_eq!(res.status(), StatusCode::OK);

    let in_b = member(&app, &b_admin, "grace@example.com").await.expect("member");
    let path = format!("{USERS}/{}", in_b["id"].as_str().expect("id"));
    assert_eq!(app.delete(&path, &b_admin).await.status(), StatusCode::NO_CONTENT);
    let res = session.request(&app, Method::GET, WHOAMI).send().await.expect("whoami");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a deleted person's session still works");
    assert_eq!(try_login(&app, "grace@example.com", PASSWORD).await.err(), Some(StatusCode::UNAUTHORIZED));
}

/// Only admins invite, and nobody past their own role; a person logged in
/// as an editor is refused like an editor's key, and nothing is queued.
#[tokio::test]
async fn a_lesser_role_cannot_invite_and_leaves_nothing_behind() {
    let Some(app) = TestApp::spawn().await else { return };
    let email = Email::parse("ed@example.com").expect("email");
    let org = Id::parse(&app.org_id).expect("org id");
    app.service.create_user(&org, email, Role::Editor, PASSWORD.into()).await.expect("editor");
    let editor = login(&app, "ed@example.com").await;
    let editor_key = app.key_with_role(&app.org_id, Role::Editor).await;
    let viewer_key = app.key_with_role(&app.org_id, Role::Viewer).await;
    let rows = ["users", "memberships", "outbox", "invitations"];
    let mut before = Vec::new();
    for table in rows {
        before.push(app.count_rows(table).await);
    }

    for role in ["viewer", "editor", "admin"] {
        let body = json!({"email": format!("new-{role}@example.com"), "role": role});
        let res = editor.request(&app, Method::POST, USERS).json(&body).send().await.expect("request");
        problem(res, StatusCode::FORBIDDEN).await;
        for key in [&editor_key, &viewer_key] {
            problem(app.post_json(USERS, key, &body).await, StatusCode::FORBIDDEN).await;
        }
    }
    let mut after = Vec::new();
    for table in rows {
        after.push(app.count_rows(table).await);
    }
    assert_eq!(after, before, "a refused invitation wrote something");
}

/// Another organization's member id is unknown here: `404`, exactly like an
/// id nobody has, and the member there is untouched.
#[tokio::test]
async fn another_organizations_member_id_is_404() {
    let Some(app) = TestApp::spawn().await else { return };
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let (in_b, _) = invite(&app, &b_admin, "shared@example.com", "editor").await;
    let (in_a, _) = invite(&app, &app.admin_key, "shared@example.com", "viewer").await;
    assert_ne!(in_a["id"], in_b["id"], "one id for the person in both organizations");
    let foreign = in_b["id"].as_str().expect("id").to_owned();
    let unknown = Id::generate().to_string();

    for (method, body) in [(Method::PATCH, Some(json!({"role": "viewer"}))), (Method::DELETE, None)] {
        let mut answers = Vec::new();
        for id in [&foreign, &unknown] {
            let mut req = app.request(method.clone(), &format!("{USERS}/{id}"), &app.admin_key);
            if let Some(body) = &body {
                req = req.json(body);
            }
            let mut problem = problem(req.send().await.expect("request"), StatusCode::NOT_FOUND).await;
            problem["detail"] = json!(problem["detail"].as_str().unwrap_or("").replace(id.as_str(), "ID"));
            answers.push(problem);
        }
        assert_eq!(answers[0], answers[1], "{method}: a foreign member is told apart from an unknown one");
    }
    let still = member(&app, &b_admin, "shared@example.com").await.expect("B's member");
    assert_eq!((still["id"].clone(), still["role"].clone()), (in_b["id"].clone(), json!("editor")));
    let ours = member(&app, &app.admin_key, "shared@example.com").await.expect("A's member");
    assert_eq!(ours["role"], "viewer");
}

/// The same person in two organizations is two members with two ids, and
/// what they do in one is recorded under the id that organization knows.
#[tokio::test]
async fn a_person_acts_under_their_id_in_each_organization() {
    let Some(app) = TestApp::spawn().await else { return };
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let org = |id: &str| Id::parse(id).expect("org id");
    let email = Email::parse("linus@example.com").expect("email");
    let in_a = app.service.create_user(&org(&app.org_id), email.clone(), Role::Admin, PASSWORD.into()).await;
    let in_b = app.service.create_user(&org(&b_org), email, Role::Admin, PASSWORD.into()).await;
    let (in_a, in_b) = (in_a.expect("member").id.to_string(), in_b.expect("member").id.to_string());
    assert_ne!(in_a, in_b);
    let session = login(&app, "linus@example.com").await;
    for (pin, id) in [(&app.org_id, &in_a), (&b_org, &in_b)] {
        let (status, me) = whoami_in(&app, &session, pin).await;
        assert_eq!((status, me["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    }
    let res = session
        .request(&app, Method::POST, &format!("{SA}?orgId={b_org}"))
        .json(&json!({"name": "made by linus"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    let trail = app.get("/api/audit/v1/event?limit=200", &b_admin).await.text().await.expect("trail");
    assert!(trail.contains(&in_b) && !trail.contains(&in_a), "B's trail names the person by A's id: {trail}");
}
