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
use crate::helpers::{SA, TestApp, problem, wait_until};

const USERS: &str = "/api/user/v1/user";
const INVITATIONS: &str = "/api/user/v1/me/invitation";
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

/// The token of the invitation's link to choose a password in `mail`, if it
/// carries one.
fn link_token(app: &TestApp, mail: &Mail) -> Option<String> {
    let token = mail.link_token(&app.base, "/set-password");
    assert_eq!(token.is_some(), mail.html.contains("/set-password?token="), "both parts carry the link, or neither");
    token
}

/// The token of the invitation's link to accept in `mail` (sent to a person
/// who has an account), if it carries one.
fn accept_token(app: &TestApp, mail: &Mail) -> Option<String> {
    let token = mail.link_token(&app.base, "/accept-invitation");
    assert_eq!(
        token.is_some(),
        mail.html.contains("/accept-invitation?token="),
        "both parts carry the link, or neither"
    );
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
    page_status(app, &format!("/set-password?token={token}")).await
}

async fn page_status(app: &TestApp, path: &str) -> StatusCode {
    let res = app.client.get(app.url(path)).header("Accept", "text/html").send().await.expect("page");
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

    /// Accepts the invitation of `org`, through its link's `token` if given.
    async fn accept(&self, app: &TestApp, org: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.request(app, Method::POST, &format!("{INVITATIONS}/{org}/accept"));
        if let Some(token) = token {
            req = req.json(&json!({"token": token}));
        }
        req.send().await.expect("accept")
    }

    async fn decline(&self, app: &TestApp, org: &str) -> reqwest::Response {
        self.request(app, Method::POST, &format!("{INVITATIONS}/{org}/decline")).send().await.expect("decline")
    }

    /// The person's pending invitations.
    async fn invitations(&self, app: &TestApp) -> Vec<Value> {
        let res = self.request(app, Method::GET, INVITATIONS).send().await.expect("invitations");
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.expect("json")["items"].as_array().expect("items").clone()
    }

    /// The ids of the organizations the session may act in.
    async fn orgs(&self, app: &TestApp) -> Vec<String> {
        let res = self.request(app, Method::GET, "/api/org/v1/org").send().await.expect("orgs");
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        body["items"].as_array().expect("items").iter().map(|o| o["id"].as_str().expect("id").to_owned()).collect()
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
    // and the person, who has a password now, is invited to accept, with no
    // link that could set a password. Until they answer, A is nowhere in
    // their session.
    let (again, raw_again) = invite(&app, &a_admin, victim, "viewer").await;
    assert_eq!(keys_of(&again), USER_FIELDS, "{raw_again}");
    assert_eq!(again["active"], false, "A learns that the person has an account elsewhere");
    let inbox = smtp.wait_for_mailbox(victim, 3, MAIL_WAIT).await;
    assert_eq!(link_token(&app, &inbox[2]), None, "a person with a password was sent a password link");
    let accept_link = accept_token(&app, &inbox[2]).expect("a link to accept");
    assert!(inbox[2].subject.contains("join \"Acme\""), "{}", inbox[2].subject);
    assert!(!what_the_admin_sees(&app, &a_admin).await.contains(&accept_link), "A's admin can read the link");
    assert_eq!(session.orgs(&app).await, vec![b_org.clone()], "A's invitation reached the session");
    assert_eq!(whoami_in(&app, &session, &a_org).await.0, StatusCode::FORBIDDEN);

    // A removes them again. Nothing A holds sets a password or accepts, and
    // the victim's session goes on working in B, with B's role.
    let again_id = again["id"].as_str().expect("id");
    assert_eq!(app.delete(&format!("{USERS}/{again_id}"), &a_admin).await.status(), StatusCode::NO_CONTENT);
    for token in [&a_link, &b_link] {
        problem(set_password(&app, token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    assert_eq!(page_status(&app, &format!("/accept-invitation?token={accept_link}")).await, StatusCode::GONE);
    problem(session.accept(&app, &a_org, Some(&accept_link)).await, StatusCode::NOT_FOUND).await;
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
    assert_eq!(member(&app, &b_admin, ada).await.expect("member")["active"], false, "B's waits for an answer");
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
    let session = login(&app, ada).await;
    assert_eq!(try_login(&app, ada, "another password entirely").await.err(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(member(&app, &b_admin, ada).await.expect("member")["active"], false, "the login took B's up");
    assert_eq!(session.orgs(&app).await, vec![app.org_id.clone()]);
    // B's invitation waits in the app, and taking it up is the person's act.
    let waiting = session.invitations(&app).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!((waiting[0]["orgName"].as_str(), waiting[0]["role"].as_str()), (Some("Globex"), Some("viewer")));
    assert_eq!(session.accept(&app, &b_org, None).await.status(), StatusCode::OK);
    assert_eq!(member(&app, &b_admin, ada).await.expect("member")["active"], true);
    // Choosing the password accepted A's membership, and A's trail says so.
    let trail = app.get("/api/audit/v1/event?action=user.accept", &app.admin_key).await;
    let trail: Value = trail.json().await.expect("json");
    let event = &trail["items"][0];
    assert_eq!(
        (event["targetId"].clone(), event["actorKind"].clone(), event["detail"]["via"].clone()),
        (from_a["id"].clone(), json!("emailLink"), json!("passwordLink")),
        "{trail}"
    );
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
    assert_eq!(session.accept(&app, &b_org, None).await.status(), StatusCode::OK, "accepting B's invitation");
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
    assert_eq!(session.accept(&app, &b_org, None).await.status(), StatusCode::OK, "accepting B's invitation");
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

/// Creates a person with a password in `org` (the operator's way), logged
/// in: a person who already has an account when another organization adds
/// them.
async fn person_in(app: &TestApp, org: &str, email: &str, role: Role) -> Session {
    let org = Id::parse(org).expect("org id");
    let email_typed = Email::parse(email).expect("email");
    app.service.create_user(&org, email_typed, role, PASSWORD.into()).await.expect("user");
    login(app, email).await
}

/// The webhook deliveries queued for an endpoint of the organization whose
/// admin key is `admin`, by event type.
async fn queued_events(app: &TestApp, admin: &str, hook: &str) -> Vec<String> {
    let res = app.get(&format!("/api/webhook/v1/webhook/{hook}/delivery?limit=200"), admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.expect("json");
    page["items"].as_array().expect("items").iter().map(|d| d["eventType"].as_str().expect("type").to_owned()).collect()
}

/// The attack reported against an earlier release: organization B's admin
/// adds the address of A's admin. The person's live session must not change
/// (no second organization, no `400` for an unpinned call, no pin of B) and
/// neither may their next login; only their own acceptance lets B in.
#[tokio::test]
async fn adding_a_person_who_has_an_account_changes_nothing_until_they_accept() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = worker(&app, &smtp);
    let a_org = app.org_id.clone();
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let hook = app
        .post_json(
            "/api/webhook/v1/webhook",
            &b_admin,
            &json!({"url": "https://93.184.215.14/hook", "events": ["user.*"]}),
        )
        .await;
    assert_eq!(hook.status(), StatusCode::CREATED);
    let hook = hook.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let email = "admin@acme.example";
    let session = person_in(&app, &a_org, email, Role::Admin).await;
    let unpinned = || async { session.request(&app, Method::GET, WHOAMI).send().await.expect("whoami") };
    assert_eq!(unpinned().await.status(), StatusCode::OK);

    let (added, _) = invite(&app, &b_admin, email, "admin").await;
    assert_eq!(added["active"], false);

    // The live session, and a fresh login, see A alone.
    let fresh = login(&app, email).await;
    for s in [&session, &fresh] {
        assert_eq!(s.orgs(&app).await, vec![a_org.clone()], "B's invitation reached a session");
        let res = s.request(&app, Method::GET, WHOAMI).send().await.expect("whoami");
        assert_eq!(res.status(), StatusCode::OK, "an unpinned call stopped working");
        assert_eq!(res.json::<Value>().await.expect("json")["orgId"], a_org.as_str());
        // Pinning B is refused as pinning any organization they are not in.
        let (status, _) = whoami_in(&app, s, &b_org).await;
        let (elsewhere, _) = whoami_in(&app, s, Id::generate().as_str()).await;
        assert_eq!((status, elsewhere), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
        let res = s.request(&app, Method::GET, &format!("{USERS}?orgId={b_org}")).send().await.expect("users");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "the pending admin reads B's people");
        let res = s
            .request(&app, Method::PATCH, &format!("/api/org/v1/org/{b_org}"))
            .json(&json!({"requireExpiry": true}))
            .send()
            .await
            .expect("org");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "the pending admin changes B's policy");
    }
    assert_eq!(member(&app, &b_admin, email).await.expect("member")["active"], false, "a login accepted it");
    let inbox = smtp.wait_for_mailbox(email, 1, MAIL_WAIT).await;
    let token = accept_token(&app, &inbox[0]).expect("a person with an account is sent a link to accept");
    assert_eq!(link_token(&app, &inbox[0]), None, "a person with a password was sent a password link");
    assert!(inbox[0].text.contains("until you accept"), "{}", inbox[0].text);

    // The person sees the invitation, and nobody else's.
    let waiting = session.invitations(&app).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(
        (waiting[0]["orgId"].as_str(), waiting[0]["orgName"].as_str(), waiting[0]["role"].as_str()),
        (Some(b_org.as_str()), Some("Globex"), Some("admin"))
    );
    assert_eq!(waiting[0]["invited"], added["created"]);
    assert_eq!(queued_events(&app, &b_admin, &hook).await, ["user.added"]);

    // Control: the person accepts in the app, and B is theirs at once.
    let res = session.accept(&app, &b_org, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let joined: Value = res.json().await.expect("json");
    assert_eq!((joined["id"].as_str(), joined["role"].as_str()), (Some(b_org.as_str()), Some("admin")));
    let mut orgs = session.orgs(&app).await;
    orgs.sort();
    let mut both = vec![a_org.clone(), b_org.clone()];
    both.sort();
    assert_eq!(orgs, both);
    let (status, me) = whoami_in(&app, &fresh, &b_org).await;
    assert_eq!((status, me["role"].as_str(), me["id"].as_str()), (StatusCode::OK, Some("admin"), added["id"].as_str()));
    assert_eq!(member(&app, &b_admin, email).await.expect("member")["active"], true);
    assert!(session.invitations(&app).await.is_empty());
    // The link in the mailbox is spent with the invitation.
    assert_eq!(page_status(&app, &format!("/accept-invitation?token={token}")).await, StatusCode::GONE);
    // B's trail and webhooks say who accepted, under B's id for them.
    let trail: Value = app.get("/api/audit/v1/event?action=user.accept", &b_admin).await.json().await.expect("json");
    let event = &trail["items"][0];
    assert_eq!(
        (event["actorKind"].as_str(), event["actorId"].clone(), event["targetId"].clone(), event["detail"].clone()),
        (Some("user"), added["id"].clone(), added["id"].clone(), json!({"role": "admin", "via": "app"})),
        "{trail}"
    );
    assert_eq!(queued_events(&app, &b_admin, &hook).await, ["user.accepted", "user.added"]);
    // A second accept finds nothing pending.
    problem(session.accept(&app, &b_org, None).await, StatusCode::NOT_FOUND).await;
}

/// The operator adding a person who has an account invites them too: the
/// password given is not theirs to set, and the membership waits.
#[tokio::test]
async fn the_operator_adding_a_person_who_has_an_account_invites_them() {
    let Some(app) = TestApp::spawn().await else { return };
    let b_org = app.create_org("Globex").await;
    let session = person_in(&app, &app.org_id, "ops@acme.example", Role::Editor).await;
    let b = Id::parse(&b_org).expect("org id");
    let email = Email::parse("ops@acme.example").expect("email");
    let added = app.service.create_user(&b, email, Role::Admin, "another password entirely".into()).await;
    assert_eq!(added.expect("member").accepted, None, "the operator's add took effect at once");
    assert_eq!(
        try_login(&app, "ops@acme.example", "another password entirely").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(session.orgs(&app).await, vec![app.org_id.clone()]);
    assert_eq!(session.invitations(&app).await.len(), 1);
    assert_eq!(outbox(&app).await.iter().filter(|row| row.0 == "invitation").count(), 1, "the person is not told");
    assert_eq!(session.accept(&app, &b_org, None).await.status(), StatusCode::OK);
    assert_eq!(whoami_in(&app, &session, &b_org).await.0, StatusCode::OK);
}

/// The emailed link opens a page that asks; it accepts only when the person
/// it was sent to, logged in, confirms; it works once, for its own
/// invitation, and not after the membership is removed.
#[tokio::test]
async fn an_accept_link_asks_first_and_works_once_for_its_own_person_only() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = worker(&app, &smtp);
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let c_org = app.create_org("Initech").await;
    let c_admin = app.key_with_role(&c_org, Role::Admin).await;
    let (ada, mallory) = ("ada@example.com", "mallory@example.com");
    let ada_session = person_in(&app, &app.org_id, ada, Role::Viewer).await;
    let mallory_session = person_in(&app, &app.org_id, mallory, Role::Viewer).await;
    let (ada_in_b, _) = invite(&app, &b_admin, ada, "editor").await;
    invite(&app, &b_admin, mallory, "viewer").await;
    let token = accept_token(&app, &smtp.wait_for_mailbox(ada, 1, MAIL_WAIT).await[0]).expect("ada's link");
    let page = format!("/accept-invitation?token={token}&org={b_org}");

    // Opening the link (as a mail scanner would, or the person logged in)
    // shows the app's page and accepts nothing.
    assert_eq!(page_status(&app, &page).await, StatusCode::OK);
    let res = ada_session.request(&app, Method::GET, &page).header("Accept", "text/html").send().await;
    assert_eq!(res.expect("page").status(), StatusCode::OK);
    assert_eq!(member(&app, &b_admin, ada).await.expect("member")["active"], false, "opening the link accepted");
    assert_eq!(page_status(&app, "/accept-invitation?token=nonsense").await, StatusCode::GONE);

    // The token alone does nothing: without a session, 401.
    let res = app
        .client
        .post(app.url(&format!("{INVITATIONS}/{b_org}/accept")))
        .json(&json!({"token": token}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Mallory holds Ada's link: it accepts nothing of Ada's, nor Mallory's
    // own invitation from the same organization, nor anything elsewhere.
    let refused = problem(mallory_session.accept(&app, &b_org, Some(&token)).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.await["field"], "token");
    problem(mallory_session.accept(&app, &c_org, Some(&token)).await, StatusCode::NOT_FOUND).await;
    for who in [ada, mallory] {
        assert_eq!(member(&app, &b_admin, who).await.expect("member")["active"], false, "{who} was let in");
    }
    assert_eq!(mallory_session.orgs(&app).await, vec![app.org_id.clone()]);
    // Nor does it serve another of Ada's invitations.
    invite(&app, &c_admin, ada, "viewer").await;
    let refused = problem(ada_session.accept(&app, &c_org, Some(&token)).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.await["field"], "token");
    let res =
        ada_session.request(&app, Method::POST, &format!("{INVITATIONS}/{b_org}/accept")).json(&json!({"token": ""}));
    assert_eq!(problem(res.send().await.expect("request"), StatusCode::UNPROCESSABLE_ENTITY).await["field"], "token");

    // Ada, logged in, confirms: accepted, through the link.
    let res = ada_session.accept(&app, &b_org, Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(whoami_in(&app, &ada_session, &b_org).await.1["role"], "editor");
    let trail: Value = app.get("/api/audit/v1/event?action=user.accept", &b_admin).await.json().await.expect("json");
    assert_eq!(trail["items"][0]["detail"]["via"], "link", "{trail}");
    assert_eq!(trail["items"][0]["targetId"], ada_in_b["id"]);

    // Replayed: nothing left to accept, and the page says the link is dead.
    problem(ada_session.accept(&app, &b_org, Some(&token)).await, StatusCode::NOT_FOUND).await;
    assert_eq!(page_status(&app, &page).await, StatusCode::GONE);
    // Removed and invited again: the old link is no key to the new invitation.
    let id = ada_in_b["id"].as_str().expect("id");
    assert_eq!(app.delete(&format!("{USERS}/{id}"), &b_admin).await.status(), StatusCode::NO_CONTENT);
    let (again, _) = invite(&app, &b_admin, ada, "editor").await;
    let inbox = smtp.wait_for_mailbox(ada, 3, MAIL_WAIT).await;
    let fresh = inbox.iter().rev().find(|m| m.subject.contains("Globex")).expect("the new invitation");
    let fresh = accept_token(&app, fresh).expect("a fresh link");
    assert_ne!(fresh, token);
    let refused = problem(ada_session.accept(&app, &b_org, Some(&token)).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.await["field"], "token");
    // Removed before it is used: the fresh link is void.
    let id = again["id"].as_str().expect("id");
    assert_eq!(app.delete(&format!("{USERS}/{id}"), &b_admin).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(page_status(&app, &format!("/accept-invitation?token={fresh}")).await, StatusCode::GONE);
    problem(ada_session.accept(&app, &b_org, Some(&fresh)).await, StatusCode::NOT_FOUND).await;
    assert_eq!(whoami_in(&app, &ada_session, &b_org).await.0, StatusCode::FORBIDDEN);
    assert_eq!(member(&app, &b_admin, ada).await, None);
}

/// Declining removes the pending membership, is recorded in the inviting
/// organization's trail and webhooks, and leaves a membership taken up to
/// the organization's admins.
#[tokio::test]
async fn declining_removes_the_invitation_and_nothing_else() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = worker(&app, &smtp);
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let hook = app
        .post_json(
            "/api/webhook/v1/webhook",
            &b_admin,
            &json!({"url": "https://93.184.215.14/hook", "events": ["user.declined"]}),
        )
        .await;
    let hook = hook.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let email = "grace@example.com";
    let session = person_in(&app, &app.org_id, email, Role::Viewer).await;
    let (in_b, _) = invite(&app, &b_admin, email, "viewer").await;
    let token = accept_token(&app, &smtp.wait_for_mailbox(email, 1, MAIL_WAIT).await[0]).expect("link");

    assert_eq!(session.decline(&app, &b_org).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(member(&app, &b_admin, email).await, None, "B still lists the person");
    assert!(session.invitations(&app).await.is_empty());
    assert_eq!(page_status(&app, &format!("/accept-invitation?token={token}")).await, StatusCode::GONE);
    problem(session.accept(&app, &b_org, Some(&token)).await, StatusCode::NOT_FOUND).await;
    problem(session.decline(&app, &b_org).await, StatusCode::NOT_FOUND).await;
    let trail: Value = app.get("/api/audit/v1/event?action=user.decline", &b_admin).await.json().await.expect("json");
    assert_eq!(
        (trail["items"][0]["actorId"].clone(), trail["items"][0]["targetId"].clone()),
        (in_b["id"].clone(), in_b["id"].clone()),
        "{trail}"
    );
    assert_eq!(queued_events(&app, &b_admin, &hook).await, ["user.declined"]);
    // The person's own organization is untouched, and cannot be declined.
    assert_eq!(session.orgs(&app).await, vec![app.org_id.clone()]);
    problem(session.decline(&app, &app.org_id).await, StatusCode::NOT_FOUND).await;
    assert_eq!(whoami_in(&app, &session, &app.org_id).await.0, StatusCode::OK);
    // Invited again, the person may still accept.
    invite(&app, &b_admin, email, "viewer").await;
    assert_eq!(session.accept(&app, &b_org, None).await.status(), StatusCode::OK);
}

/// The invitation calls are a person's, of themselves: a key, even an admin
/// key of the inviting organization, is refused; another organization's
/// admin, logged in, has nothing to accept; the cookie alone, without the
/// CSRF token, does nothing.
#[tokio::test]
async fn keys_other_admins_and_forged_requests_cannot_answer_an_invitation() {
    let Some(app) = TestApp::spawn().await else { return };
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let email = "victim@example.com";
    let victim = person_in(&app, &app.org_id, email, Role::Viewer).await;
    let b_person = person_in(&app, &b_org, "boss@globex.example", Role::Admin).await;
    invite(&app, &b_admin, email, "admin").await;
    let calls = [
        (Method::GET, INVITATIONS.to_owned()),
        (Method::POST, format!("{INVITATIONS}/{b_org}/accept")),
        (Method::POST, format!("{INVITATIONS}/{b_org}/decline")),
    ];

    for key in [&b_admin, &app.admin_key] {
        for (method, path) in &calls {
            let res = app.request(method.clone(), path, key).send().await.expect("request");
            let refused = problem(res, StatusCode::FORBIDDEN).await;
            assert!(refused["detail"].as_str().is_some_and(|d| d.contains("not a key")), "{method} {path}: {refused}");
        }
    }
    // B's admin, as a person: nothing pending of theirs, and no way to name
    // the victim's.
    assert!(b_person.invitations(&app).await.is_empty());
    problem(b_person.accept(&app, &b_org, None).await, StatusCode::NOT_FOUND).await;
    problem(b_person.accept(&app, &app.org_id, None).await, StatusCode::NOT_FOUND).await;
    let res = app
        .patch_json(
            &format!("{USERS}/{}", member(&app, &b_admin, email).await.expect("member")["id"].as_str().expect("id")),
            &b_admin,
            &json!({"active": true}),
        )
        .await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "active");

    // The victim's cookie without the CSRF token, or with a wrong one.
    for csrf in [None, Some("0".repeat(64))] {
        for (method, path) in &calls[1..] {
            let mut req = app.client.request(method.clone(), app.url(path)).header("Cookie", &victim.cookie);
            if let Some(csrf) = &csrf {
                req = req.header("X-CSRF-Token", csrf);
            }
            problem(req.send().await.expect("request"), StatusCode::FORBIDDEN).await;
        }
    }
    assert_eq!(victim.invitations(&app).await.len(), 1, "a forged call answered the invitation");
    assert_eq!(member(&app, &b_admin, email).await.expect("member")["active"], false);
    assert_eq!(victim.orgs(&app).await, vec![app.org_id.clone()]);
    // Junk in the path or body.
    problem(victim.accept(&app, "not-an-id", None).await, StatusCode::NOT_FOUND).await;
    let res = victim.request(&app, Method::POST, &format!("{INVITATIONS}/{b_org}/accept")).json(&json!({"token": 7}));
    assert_eq!(problem(res.send().await.expect("request"), StatusCode::UNPROCESSABLE_ENTITY).await["field"], "token");
    let res =
        victim.request(&app, Method::POST, &format!("{INVITATIONS}/{b_org}/accept")).json(&json!({"orgId": b_org}));
    problem(res.send().await.expect("request"), StatusCode::UNPROCESSABLE_ENTITY).await;
    let huge = "x".repeat(70 * 1024);
    let res =
        victim.request(&app, Method::POST, &format!("{INVITATIONS}/{b_org}/accept")).json(&json!({"token": huge}));
    assert_eq!(res.send().await.expect("request").status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(member(&app, &b_admin, email).await.expect("member")["active"], false);
    // With the token the app sends, the same cookie may act.
    assert_eq!(victim.accept(&app, &b_org, None).await.status(), StatusCode::OK);
}

/// Two accepts at once, or an accept racing the admin's removal: one
/// outcome, never half of each.
#[tokio::test]
async fn racing_answers_and_removals_leave_one_outcome() {
    let Some(app) = TestApp::spawn().await else { return };
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let email = "race@example.com";
    let session = person_in(&app, &app.org_id, email, Role::Viewer).await;
    for round in 0..4 {
        let (added, _) = invite(&app, &b_admin, email, "viewer").await;
        let path = format!("{USERS}/{}", added["id"].as_str().expect("id"));
        let (a, b, removed) =
            tokio::join!(session.accept(&app, &b_org, None), session.accept(&app, &b_org, None), async {
                if round % 2 == 0 { Some(app.delete(&path, &b_admin).await.status()) } else { None }
            },);
        let ok = [a.status(), b.status()].iter().filter(|s| **s == StatusCode::OK).count();
        assert!(ok <= 1, "round {round}: accepted twice");
        for s in [a.status(), b.status()] {
            assert!(s == StatusCode::OK || s == StatusCode::NOT_FOUND, "round {round}: {s}");
        }
        let listed = member(&app, &b_admin, email).await;
        let in_session = session.orgs(&app).await.contains(&b_org);
        match removed {
            Some(status) => {
                assert_eq!(status, StatusCode::NO_CONTENT, "round {round}");
                assert!(listed.is_none() && !in_session, "round {round}: removed yet in: {listed:?}");
            }
            None => {
                assert_eq!(ok, 1, "round {round}");
                assert!(in_session && listed.expect("listed")["active"] == true, "round {round}");
                assert_eq!(app.delete(&path, &b_admin).await.status(), StatusCode::NO_CONTENT);
            }
        }
    }
}

/// An invitation answered before its message went out is not sent: no link
/// is minted for a membership already taken up.
#[tokio::test]
async fn an_invitation_accepted_before_it_is_sent_is_not_sent() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let b_org = app.create_org("Globex").await;
    let b_admin = app.key_with_role(&b_org, Role::Admin).await;
    let session = person_in(&app, &app.org_id, "quick@example.com", Role::Viewer).await;
    invite(&app, &b_admin, "quick@example.com", "viewer").await;
    assert_eq!(session.accept(&app, &b_org, None).await.status(), StatusCode::OK);

    let _worker = worker(&app, &smtp);
    let settled = async || {
        let rows = outbox(&app).await;
        rows.iter().any(|r| r.1 == "quick@example.com" && (r.4.is_some() || r.5.is_some()))
    };
    wait_until(MAIL_WAIT, "the answered invitation is settled", settled).await;
    assert!(smtp.mailbox("quick@example.com").is_empty(), "the answered invitation was sent");
    let rows = outbox(&app).await;
    let answered = rows.iter().find(|r| r.1 == "quick@example.com").expect("the row");
    assert!(answered.5.is_some() && answered.6.as_deref().is_some_and(|e| e.contains("taken up")), "{rows:?}");
    assert_eq!(app.count_rows("invitations").await, 0, "a link was minted for the answered invitation");
}
