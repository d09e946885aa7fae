//! Email: the confirmation request of an account's address, sent
//! through the outbox by the mail worker to a real SMTP server on loopback;
//! the confirmation page; retries, giving up, metrics; the file transport;
//! expiry warnings. Runs on SQLite and again on PostgreSQL.

use std::time::{Duration, Instant};

use keyward::mail::{MailConfig, Transport};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use super::smtp::{Mail, SmtpServer, TlsFiles};
use crate::helpers::{SA, TestApp, problem, wait_until};
use crate::support::ClosedPort;

/// A mail worker over the app's service, stopped when dropped (as a node's
/// worker stops with its process).
pub(crate) struct Worker(JoinHandle<()>);

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The worker as `serve` configures it, polling faster and retrying sooner
/// so tests run quickly: a failed send is tried again at the next look for
/// several times, not after the seconds a real outage gets.
pub(crate) fn config(app: &TestApp, mail: Option<&str>) -> MailConfig {
    let mut c = MailConfig::new(mail, None, app.dir.path(), &app.base).expect("mail config");
    c.poll_interval = Duration::from_millis(20);
    c.policy.first_backoff = Duration::from_millis(20);
    c.policy.max_backoff = Duration::from_secs(1);
    c
}

pub(crate) fn start(app: &TestApp, config: MailConfig) -> Worker {
    Worker(keyward::mail::spawn(app.service.clone(), config))
}

fn host(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").split(':').next().expect("host").to_owned()
}

async fn account(app: &TestApp, id: &str) -> Value {
    let res = app.get(&format!("{SA}/{id}"), &app.admin_key).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn open_link(app: &TestApp, token: &str) -> (StatusCode, String) {
    let res = app.client.get(app.url(&format!("/confirm-email?token={token}"))).send().await.expect("request");
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let csp = res.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    let html = res.text().await.expect("body");
    assert!(!html.contains("<script"), "{html}");
    (status, html)
}

/// `(kind, recipient, payload, attempts, sent, failed, last_error)` of every outbox row.
pub(crate) async fn outbox(
    app: &TestApp,
) -> Vec<(String, String, String, i64, Option<i64>, Option<i64>, Option<String>)> {
    let mut conn = app.store.read().await.expect("conn");
    sqlx::query_as(
        "SELECT kind, recipient, payload, attempts, sent, failed, last_error FROM outbox ORDER BY created, id",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("outbox")
}

async fn outbox_ids(app: &TestApp) -> Vec<String> {
    let mut conn = app.store.read().await.expect("conn");
    sqlx::query_scalar("SELECT id FROM outbox ORDER BY created, id").fetch_all(&mut *conn).await.expect("ids")
}

async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    crate::support::metric(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

fn mail_metric(event: &str) -> String {
    format!("keyward_mail_messages_total{{event=\"{event}\"}}")
}

const OLDEST: &str = "keyward_mail_oldest_undelivered_age_seconds";

/// Waits until every message of the outbox is marked sent or given up on.
/// A worker marks a message once its send is over, and never claims a
/// marked one again: with one worker, no send is still to come.
pub(crate) async fn wait_until_settled(app: &TestApp) {
    wait_until(Duration::from_secs(10), "every message sent or given up on", async || {
        outbox(app).await.iter().all(|row| row.4.is_some() || row.5.is_some())
    })
    .await;
}

#[tokio::test]
async fn an_account_created_with_an_email_is_sent_a_link_that_confirms_it_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = start(&app, config(&app, Some(&smtp.url())));

    let created = app.create_account(json!({"name": "Billing <prod>", "email": "Ops@Example.COM"})).await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["email"], "Ops@example.com");
    assert_eq!(created["emailConfirmed"], false);

    let delivered = smtp.wait_for(1, Duration::from_secs(10)).await;
    let d = &delivered[0];
    assert_eq!(d.envelope_to, vec!["Ops@example.com".to_owned()]);
    let mail = Mail::parse(&d.data);
    assert_eq!(mail.from, format!("keyward@{}", host(&app)));
    assert_eq!(mail.to, "Ops@example.com");
    assert!(mail.subject.contains("Confirm") && mail.subject.contains("Billing <prod>"), "{}", mail.subject);
    let outbox_id = outbox_ids(&app).await.pop().expect("an outbox row");
    assert_eq!(mail.message_id, format!("{outbox_id}@{}", host(&app)));
    assert!(mail.multipart_alternative, "{}", mail.raw);
    let token = mail.token(&app.base);
    let link = format!("{}/confirm-email?token={token}", app.base);
    assert_eq!(token.len(), 43, "256 bits, URL-safe: {token}");
    assert!(mail.text.contains("48 hours") && mail.text.contains("Billing <prod>"), "{}", mail.text);
    assert!(mail.html.contains(&format!("href=\"{link}\"")), "{}", mail.html);
    assert!(mail.html.contains("Billing &lt;prod&gt;"), "the HTML part escapes names: {}", mail.html);
    assert!(!mail.raw.contains("kw_"), "a key secret in a message");

    // Only the token's hash is stored; the outbox holds no link.
    wait_until(Duration::from_secs(5), "marked sent", async || outbox(&app).await[0].4.is_some()).await;
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].2.contains(&token) && rows[0].4.is_some(), "{rows:?}");
    let mut conn = app.store.read().await.expect("conn");
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM email_confirmations").fetch_all(&mut *conn).await.expect("hashes");
    drop(conn);
    let hash: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hashes, vec![hash]);

    // A link scanner's HEAD request only looks.
    let head = app.client.head(&link).send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(account(&app, id).await["emailConfirmed"], false);

    let (status, html) = open_link(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("confirmed") && html.contains("Ops@example.com"), "{html}");
    assert_eq!(account(&app, id).await["emailConfirmed"], true);

    // The trail says who confirmed what, from where.
    let res = app.get("/api/audit/v1/event", &app.admin_key).await;
    let events: Value = res.json().await.expect("json");
    let confirmed = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "serviceAccount.emailConfirmed")
        .expect("an emailConfirmed event")
        .clone();
    assert_eq!(confirmed["targetId"], id);
    assert_eq!(confirmed["clientIp"], "127.0.0.1");
    assert!(!confirmed.to_string().contains(&token));

    // A second use changes nothing and says so.
    let mut conn = app.store.read().await.expect("conn");
    let audit_before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&mut *conn).await.expect("count");
    drop(conn);
    let (status, html) = open_link(&app, &token).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("already been used"), "{html}");
    assert_eq!(app.count_rows("audit_events").await, audit_before);
    assert_eq!(account(&app, id).await["emailConfirmed"], true);

    // Unknown and missing tokens.
    let (status, html) = open_link(&app, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("not valid"), "{html}");
    let (status, _) = open_link(&app, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Sent once.
    wait_until_settled(&app).await;
    assert_eq!(smtp.deliveries().len(), 1);
}

#[tokio::test]
async fn an_invalid_email_is_422_and_leaves_nothing_behind() {
    let Some(app) = TestApp::spawn().await else { return };
    let accounts_before = app.count_rows("service_accounts").await;
    for bad in ["not-an-address", "a@b", "<x@example.com>", ""] {
        let res = app.post_json(SA, &app.admin_key, &json!({"name": "mailer", "email": bad})).await;
        let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["field"], "email", "{bad}: {body}");
    }
    let res = app.post_json(SA, &app.admin_key, &json!({"name": "mailer", "email": 42})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "email");
    assert_eq!(app.count_rows("service_accounts").await, accounts_before);
    assert_eq!(app.count_rows("outbox").await, 0);

    // The same on a change.
    let created = app.create_account(json!({"name": "plain"})).await;
    let path = format!("{SA}/{}", created["id"].as_str().expect("id"));
    let res = app.patch_json(&path, &app.admin_key, &json!({"email": "nope", "name": "renamed"})).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["field"], "email");
    let after = account(&app, created["id"].as_str().expect("id")).await;
    assert_eq!((after["name"].clone(), after["email"].clone()), (json!("plain"), Value::Null));
    assert_eq!(app.count_rows("outbox").await, 0);
}

#[tokio::test]
async fn an_account_that_is_refused_queues_no_email() {
    let Some(app) = TestApp::spawn().await else { return };
    app.create_account(json!({"name": "taken"})).await;
    let res = app.post_json(SA, &app.admin_key, &json!({"name": "TAKEN", "email": "ops@example.com"})).await;
    problem(res, StatusCode::CONFLICT).await;
    assert_eq!(app.count_rows("outbox").await, 0, "the outbox row rolled back with the account");
}

#[tokio::test]
async fn an_expired_link_changes_nothing() {
    let start_time = 1_800_000_000;
    let Some((app, clock)) = TestApp::spawn_with_clock(start_time).await else { return };
    let smtp = SmtpServer::start();
    let _worker = start(&app, config(&app, Some(&smtp.url())));
    let created = app.create_account(json!({"name": "late", "email": "late@example.com"})).await;
    let id = created["id"].as_str().expect("id");
    let mail = Mail::parse(&smtp.wait_for(1, Duration::from_secs(10)).await[0].data);
    let token = mail.token(&app.base);

    clock.advance(48 * 3600);
    let (status, html) = open_link(&app, &token).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("expired"), "{html}");
    assert_eq!(account(&app, id).await["emailConfirmed"], false);
    let mut conn = app.store.read().await.expect("conn");
    let used: Option<i64> =
        sqlx::query_scalar("SELECT used FROM email_confirmations").fetch_one(&mut *conn).await.expect("row");
    assert_eq!(used, None, "an expired link is not marked used either");
}

#[tokio::test]
async fn a_link_just_before_its_48_hours_still_works() {
    let Some((app, clock)) = TestApp::spawn_with_clock(1_800_000_000).await else { return };
    let smtp = SmtpServer::start();
    let _worker = start(&app, config(&app, Some(&smtp.url())));
    let created = app.create_account(json!({"name": "timely", "email": "t@example.com"})).await;
    let token = Mail::parse(&smtp.wait_for(1, Duration::from_secs(10)).await[0].data).token(&app.base);
    clock.advance(48 * 3600 - 1);
    assert_eq!(open_link(&app, &token).await.0, StatusCode::OK);
    assert_eq!(account(&app, created["id"].as_str().expect("id")).await["emailConfirmed"], true);
}

#[tokio::test]
async fn changing_the_email_starts_a_new_confirmation_and_retires_the_old_link() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = start(&app, config(&app, Some(&smtp.url())));
    let created = app.create_account(json!({"name": "movable", "email": "old@example.com"})).await;
    let id = created["id"].as_str().expect("id");
    let path = format!("{SA}/{id}");
    let old = Mail::parse(&smtp.wait_for(1, Duration::from_secs(10)).await[0].data).token(&app.base);

    let res = app.patch_json(&path, &app.admin_key, &json!({"email": "new@example.com"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.expect("json");
    assert_eq!((changed["email"].clone(), changed["emailConfirmed"].clone()), (json!("new@example.com"), json!(false)));
    let second = smtp.wait_for(2, Duration::from_secs(10)).await;
    let new_mail = Mail::parse(&second[1].data);
    assert_eq!(new_mail.to, "new@example.com");
    let new = new_mail.token(&app.base);

    // The old address's link confirms nothing now.
    let (status, html) = open_link(&app, &old).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("changed"), "{html}");
    assert_eq!(account(&app, id).await["emailConfirmed"], false);
    assert_eq!(open_link(&app, &new).await.0, StatusCode::OK);
    assert_eq!(account(&app, id).await["emailConfirmed"], true);

    // Other changes, or the same address again, send nothing and keep the confirmation.
    let res = app.patch_json(&path, &app.admin_key, &json!({"email": "new@example.com", "name": "moved"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(account(&app, id).await["emailConfirmed"], true);
    // Removing the address: null, unconfirmed, nothing sent.
    let res = app.patch_json(&path, &app.admin_key, &json!({"email": null})).await;
    let cleared: Value = res.json().await.expect("json");
    assert_eq!((cleared["email"].clone(), cleared["emailConfirmed"].clone()), (Value::Null, json!(false)));
    assert_eq!(app.count_rows("outbox").await, 2);
    wait_until_settled(&app).await;
    assert_eq!(smtp.deliveries().len(), 2);

    // The change is in the trail, old and new.
    let events: Value = app.get("/api/audit/v1/event", &app.admin_key).await.json().await.expect("json");
    let change = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "serviceAccount.update" && e["detail"]["email"]["to"] == "new@example.com")
        .expect("the email change is audited")
        .clone();
    assert_eq!(change["detail"]["email"]["from"], "old@example.com");
}

#[tokio::test]
async fn a_mail_server_that_is_down_delays_the_message_but_never_loses_it() {
    let Some(app) = TestApp::spawn().await else { return };
    let closed = ClosedPort::new();
    let _worker = start(&app, config(&app, Some(&format!("smtp://127.0.0.1:{}", closed.port()))));

    // The API does not wait for, or fail because of, the mail server.
    let began = Instant::now();
    let created = app.create_account(json!({"name": "patient", "email": "p@example.com"})).await;
    assert!(began.elapsed() < Duration::from_secs(2), "the API waited {:?} for mail", began.elapsed());

    wait_until(Duration::from_secs(10), "two failed attempts", async || {
        outbox(&app).await.first().is_some_and(|r| r.3 >= 2)
    })
    .await;
    let row = outbox(&app).await.remove(0);
    assert!(row.4.is_none() && row.5.is_none() && row.6.as_deref().is_some_and(|e| !e.is_empty()), "{row:?}");
    assert!(metric(&app, &mail_metric("retried")).await >= 2.0);
    assert_eq!(metric(&app, &mail_metric("sent")).await, 0.0);
    wait_until(Duration::from_secs(5), "the backlog gauge shows the wait", async || metric(&app, OLDEST).await >= 1.0)
        .await;

    // The server comes back: the message arrives, once.
    let smtp = SmtpServer::start_on(closed.listen());
    let delivered = smtp.wait_for(1, Duration::from_secs(20)).await;
    let mail = Mail::parse(&delivered[0].data);
    assert_eq!(mail.to, "p@example.com");
    let token = mail.token(&app.base);
    assert_eq!(open_link(&app, &token).await.0, StatusCode::OK);
    assert_eq!(account(&app, created["id"].as_str().expect("id")).await["emailConfirmed"], true);
    wait_until(Duration::from_secs(5), "the gauge is back to 0", async || metric(&app, OLDEST).await == 0.0).await;
    assert_eq!(metric(&app, &mail_metric("queued")).await, 1.0);
    assert_eq!(metric(&app, &mail_metric("sent")).await, 1.0);
    assert_eq!(metric(&app, &mail_metric("failed")).await, 0.0);
    wait_until_settled(&app).await;
    assert_eq!(smtp.deliveries().len(), 1);
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_given_up_logged_in_the_trail_and_counted() {
    let Some((app, clock)) = TestApp::spawn_with_clock(1_800_000_000).await else { return };
    let closed = ClosedPort::new();
    let mut c = config(&app, Some(&format!("smtp://127.0.0.1:{}", closed.port())));
    c.policy.give_up_after = Duration::from_secs(2);
    let _worker = start(&app, c);
    let created = app.create_account(json!({"name": "unreachable", "email": "u@example.com"})).await;
    let id = created["id"].as_str().expect("id");

    // Failing, then failing for longer than it is given.
    wait_until(Duration::from_secs(10), "a failed attempt", async || {
        outbox(&app).await.first().is_some_and(|r| r.3 >= 1)
    })
    .await;
    clock.advance(2);
    wait_until(Duration::from_secs(10), "the message is given up on", async || {
        outbox(&app).await.first().is_some_and(|r| r.5.is_some())
    })
    .await;
    let row = outbox(&app).await.remove(0);
    assert!(row.4.is_none() && row.3 >= 2, "{row:?}");
    // Counted just after the row commits, and the backlog gauge on the
    // worker's next round: both are waited for, not raced.
    wait_until(Duration::from_secs(10), "the failure counted", async || {
        metric(&app, &mail_metric("failed")).await == 1.0
    })
    .await;
    assert!(metric(&app, &mail_metric("retried")).await >= 1.0);
    wait_until(Duration::from_secs(10), "a failed message is not waiting any more", async || {
        metric(&app, OLDEST).await == 0.0
    })
    .await;
    assert_eq!(metric(&app, &mail_metric("failed")).await, 1.0, "counted once");

    let events: Value = app.get("/api/audit/v1/event", &app.admin_key).await.json().await.expect("json");
    let failed = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "mail.failed")
        .expect("a mail.failed event")
        .clone();
    assert_eq!((failed["targetKind"].clone(), failed["targetId"].clone()), (json!("serviceAccount"), json!(id)));
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["actorKind"], "system");
    assert_eq!(failed["detail"]["recipient"], "u@example.com");
    assert!(failed["detail"]["lastError"].as_str().is_some_and(|e| !e.is_empty()), "{failed}");
    // No link was usable: every token minted for the attempts is unseen, and
    // none is in the trail.
    assert!(!failed.to_string().contains("token="));
}

#[tokio::test]
async fn the_file_transport_writes_a_parseable_eml_file_per_message_under_the_data_folder() {
    let Some(app) = TestApp::spawn().await else { return };
    let _worker = start(&app, config(&app, None));
    let created = app.create_account(json!({"name": "local", "email": "me@example.com"})).await;
    let dir = app.dir.path().join("outbox");
    // The transport writes `ID.eml.tmp` and renames it when complete: only
    // the renamed file counts.
    wait_until(Duration::from_secs(10), "an .eml file", async || {
        std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().ends_with(".eml")))
            .unwrap_or(false)
    })
    .await;
    let outbox_id = outbox_ids(&app).await.pop().expect("row");
    let files: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(files, vec![std::ffi::OsString::from(format!("{outbox_id}.eml"))]);
    let path = dir.join(format!("{outbox_id}.eml"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the file holds a live link: owner only");
    }
    let mail = Mail::parse(&std::fs::read(&path).expect("read"));
    assert_eq!(mail.to, "me@example.com");
    assert_eq!(mail.message_id, format!("{outbox_id}@{}", host(&app)));
    assert!(mail.subject.contains("local"));
    let token = mail.token(&app.base);
    assert_eq!(open_link(&app, &token).await.0, StatusCode::OK);
    assert_eq!(account(&app, created["id"].as_str().expect("id")).await["emailConfirmed"], true);
}

#[tokio::test]
async fn many_workers_deliver_each_message_exactly_once() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    // Three workers on one database, as three nodes would run them.
    let _workers: Vec<Worker> = (0..3).map(|_| start(&app, config(&app, Some(&smtp.url())))).collect();
    let n = 24;
    for i in 0..n {
        app.create_account(json!({"name": format!("bulk-{i}"), "email": format!("bulk{i}@example.com")})).await;
    }
    smtp.wait_for(n, Duration::from_secs(60)).await;
    // Each message is counted once it is marked sent; a second send of one
    // would count again.
    wait_until_settled(&app).await;
    assert_eq!(metric(&app, &mail_metric("sent")).await, n as f64);
    let delivered = smtp.deliveries();
    let mut ids: Vec<String> = delivered.iter().map(|d| Mail::parse(&d.data).message_id).collect();
    let mut recipients: Vec<String> = delivered.iter().flat_map(|d| d.envelope_to.clone()).collect();
    ids.sort();
    ids.dedup();
    recipients.sort();
    recipients.dedup();
    assert_eq!((delivered.len(), ids.len(), recipients.len()), (n, n, n), "duplicates or losses");
}

#[tokio::test]
async fn the_key_check_and_the_api_do_not_wait_for_a_mail_server_that_hangs() {
    let Some(app) = TestApp::spawn().await else { return };
    // Accepts connections and never says a word: each attempt hangs until
    // the SMTP timeout.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = hang.local_addr().expect("addr").port();
    let (connected, mut worker_hangs) = tokio::sync::mpsc::unbounded_channel();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = hang.accept().await {
            open.push(socket);
            let _ = connected.send(());
        }
    });
    let _worker = start(&app, config(&app, Some(&format!("smtp://127.0.0.1:{port}"))));
    app.create_account(json!({"name": "stuck", "email": "s@example.com"})).await;
    // The worker is talking to the server that never answers.
    tokio::time::timeout(Duration::from_secs(10), worker_hangs.recv()).await.expect("the worker connects");

    let began = Instant::now();
    for _ in 0..50 {
        let res = app.get("/api/service-account/v1/whoami", &app.admin_key).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Writes too: the worker holds no transaction while it talks to the server.
    let other = app.create_account(json!({"name": "meanwhile", "email": "m@example.com"})).await;
    app.create_key(other["id"].as_str().expect("id")).await;
    assert!(began.elapsed() < Duration::from_secs(3), "the API waited for mail: {:?}", began.elapsed());
    held.abort();
}

/// Marks an account's address confirmed (as its link would).
async fn confirmed_account(app: &TestApp, name: &str, email: &str) -> String {
    let created = app.create_account(json!({"name": name, "email": email})).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let mut tx = app.store.begin().await.expect("tx");
    sqlx::query("UPDATE service_accounts SET email_confirmed = 1 WHERE id = $1")
        .bind(&id)
        .execute(tx.conn())
        .await
        .expect("confirm");
    tx.commit().await.expect("commit");
    id
}

async fn key_expiring_in(app: &TestApp, account: &str, name: &str, seconds: i64) -> Value {
    let res = app
        .post_json(&format!("{SA}/{account}/key"), &app.admin_key, &json!({"name": name, "expiresIn": seconds}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.expect("json")
}

#[tokio::test]
async fn a_key_about_to_expire_is_warned_about_once_per_threshold_across_restarts_and_workers() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let confirmed = confirmed_account(&app, "payments", "team@example.com").await;
    let unconfirmed = app.create_account(json!({"name": "quiet", "email": "quiet@example.com"})).await;
    let unconfirmed = unconfirmed["id"].as_str().expect("id").to_owned();
    let soon = key_expiring_in(&app, &confirmed, "ci deploy", 3 * 86_400).await;
    key_expiring_in(&app, &confirmed, "later", 30 * 86_400).await;
    app.create_key(&confirmed).await; // never expires
    key_expiring_in(&app, &unconfirmed, "unheard", 86_400).await;
    let disabled = key_expiring_in(&app, &confirmed, "off", 86_400).await;
    let res = app
        .patch_json(
            &format!("{SA}/{confirmed}/key/{}", disabled["keyId"].as_str().expect("id")),
            &app.admin_key,
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The unconfirmed account's confirmation request is not what this test counts.
    let mut tx = app.store.begin().await.expect("tx");
    sqlx::query("DELETE FROM outbox").execute(tx.conn()).await.expect("clear");
    tx.commit().await.expect("commit");

    let worker = start(&app, config(&app, Some(&smtp.url())));
    let delivered = smtp.wait_for(1, Duration::from_secs(10)).await;
    let mail = Mail::parse(&delivered[0].data);
    let key_id = soon["keyId"].as_str().expect("keyId");
    assert_eq!(mail.to, "team@example.com");
    assert!(mail.subject.contains("ci deploy") && mail.subject.contains("expires"), "{}", mail.subject);
    let expires = keyward::mail::render::utc(soon["expires"].as_i64().expect("expires"));
    for part in [&mail.text, &mail.html] {
        assert!(part.contains(key_id) && part.contains("ci deploy") && part.contains(&expires), "{part}");
        assert!(part.contains("rotate"), "says what to do: {part}");
        assert!(!part.contains("kw_"), "never a secret");
    }

    // Restarted, and then two at once: no second warning. A worker looks
    // for keys about to expire as it starts, before it sends anything: once
    // each has sent a message to a server of its own, each has looked.
    // Stopped once it has marked the warning sent, as a node stops between
    // two messages.
    wait_until_settled(&app).await;
    drop(worker);
    let (smtp_a, smtp_b) = (SmtpServer::start(), SmtpServer::start());
    let again = start(&app, config(&app, Some(&smtp_a.url())));
    let also = start(&app, config(&app, Some(&smtp_b.url())));
    let mut sent = 0;
    while smtp_a.deliveries().is_empty() || smtp_b.deliveries().is_empty() {
        sent += 1;
        assert!(sent <= 50, "one worker sent all of {sent} messages");
        app.create_account(json!({"name": format!("probe {sent}"), "email": format!("probe{sent}@example.com")})).await;
        wait_until(Duration::from_secs(10), "the probe sent", async || {
            smtp_a.deliveries().len() + smtp_b.deliveries().len() >= sent
        })
        .await;
    }
    wait_until_settled(&app).await;
    drop((again, also));
    let warned: usize = [&smtp, &smtp_a, &smtp_b].iter().map(|s| s.mailbox("team@example.com").len()).sum();
    assert_eq!(warned, 1, "a key was warned about twice");
    assert_eq!(app.count_rows("expiry_warnings").await, 1);
}

fn with_transport(app: &TestApp, url: &str, ca: Option<&std::path::Path>) -> MailConfig {
    let transport = Transport::parse(Some(url), app.dir.path(), ca).expect("transport");
    let mut c = MailConfig::with_transport(transport, None, &app.base).expect("mail config");
    // Retried after the usual second: a worker is dropped between two
    // attempts, not while it holds a message.
    c.poll_interval = Duration::from_millis(20);
    c
}

#[tokio::test]
async fn smtp_with_starttls_and_credentials_delivers_and_refuses_what_it_cannot_trust() {
    let Some(app) = TestApp::spawn().await else { return };
    let tls = TlsFiles::make(app.dir.path());
    let smtp = SmtpServer::start_tls(&tls, "keyward", "s3cret/pass");
    let port = smtp.port;

    // An untrusted certificate, or a wrong password: nothing is sent.
    let untrusted =
        start(&app, with_transport(&app, &format!("smtp://keyward:s3cret%2Fpass@127.0.0.1:{port}?tls=required"), None));
    app.create_account(json!({"name": "tls", "email": "tls@example.com"})).await;
    wait_until(Duration::from_secs(10), "a refused attempt", async || outbox(&app).await[0].3 >= 1).await;
    drop(untrusted);
    let row = outbox(&app).await.remove(0);
    let (tried, error) = (row.3, row.6.unwrap_or_default());
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    let wrong = start(
        &app,
        with_transport(&app, &format!("smtp://keyward:wrong@127.0.0.1:{port}?tls=required"), Some(&tls.ca)),
    );
    wait_until(Duration::from_secs(10), "another refused attempt", async || outbox(&app).await[0].3 > tried).await;
    drop(wrong);
    let error = outbox(&app).await[0].6.clone().unwrap_or_default();
    assert!(error.contains("535"), "refused for its credentials: {error}");
    assert!(smtp.deliveries().is_empty());

    // Trusting the private CA, with the right credentials: delivered once.
    let url = format!("smtp://keyward:s3cret%2Fpass@127.0.0.1:{port}?tls=required");
    let _worker = start(&app, with_transport(&app, &url, Some(&tls.ca)));
    let delivered = smtp.wait_for(1, Duration::from_secs(20)).await;
    let mail = Mail::parse(&delivered[0].data);
    assert_eq!(mail.to, "tls@example.com");
    let token = mail.token(&app.base);
    assert_eq!(open_link(&app, &token).await.0, StatusCode::OK);
    wait_until_settled(&app).await;
    assert_eq!(smtp.deliveries().len(), 1);
}

#[tokio::test]
async fn tls_required_refuses_a_server_that_offers_no_starttls() {
    let Some(app) = TestApp::spawn().await else { return };
    let plain = SmtpServer::start();
    let _worker = start(&app, config(&app, Some(&format!("smtp://u:p@127.0.0.1:{}?tls=required", plain.port))));
    app.create_account(json!({"name": "careful", "email": "c@example.com"})).await;
    wait_until(Duration::from_secs(10), "a refused attempt", async || outbox(&app).await[0].3 >= 1).await;
    assert!(plain.deliveries().is_empty(), "sent without TLS");
    assert!(outbox(&app).await[0].4.is_none());
}

#[tokio::test]
async fn a_leaked_key_s_owner_is_told_at_the_confirmed_address_and_only_there() {
    let Some(app) = TestApp::spawn().await else { return };
    let smtp = SmtpServer::start();
    let _worker = start(&app, config(&app, Some(&smtp.url())));

    // One account confirms its address, the other never does.
    let confirmed = app.create_account(json!({"name": "billing", "email": "owner@example.com"})).await;
    let unconfirmed = app.create_account(json!({"name": "reports", "email": "nobody@example.com"})).await;
    let delivered = smtp.wait_for(2, Duration::from_secs(10)).await;
    let to_owner = delivered.iter().find(|d| d.envelope_to == ["owner@example.com"]).expect("a confirmation");
    let (status, _) = open_link(&app, &Mail::parse(&to_owner.data).token(&app.base)).await;
    assert_eq!(status, StatusCode::OK);

    let leaked = app.create_key(confirmed["id"].as_str().expect("id")).await;
    let other = app.create_key(unconfirmed["id"].as_str().expect("id")).await;
    let secrets = json!({"secrets": [leaked["secret"], other["secret"]]});
    let res = app.client.post(app.url("/api/leak/v1/revoke")).json(&secrets).send().await.expect("revoke");
    assert_eq!(res.status(), StatusCode::ACCEPTED);

    let delivered = smtp.wait_for(3, Duration::from_secs(10)).await;
    let notice = Mail::parse(&delivered[2].data);
    assert_eq!(delivered[2].envelope_to, vec!["owner@example.com".to_owned()]);
    let key_id = leaked["keyId"].as_str().expect("key id");
    assert!(notice.subject.contains("leaked") && notice.subject.contains(key_id), "{}", notice.subject);
    assert!(notice.text.contains("disabled it at once") && notice.text.contains("billing"), "{}", notice.text);
    for secret in [&leaked["secret"], &other["secret"]] {
        assert!(!notice.raw.contains(secret.as_str().expect("secret")), "a secret in the notice");
    }
    // The unconfirmed address hears nothing, though its key was revoked too
    // (the outbox rows were written with the revocation, before its answer).
    wait_until(Duration::from_secs(5), "every message sent", async || {
        outbox(&app).await.iter().all(|row| row.4.is_some())
    })
    .await;
    let kinds: Vec<(String, String)> = outbox(&app).await.into_iter().map(|row| (row.0, row.1)).collect();
    assert_eq!(kinds.iter().filter(|(kind, _)| kind == "key-leaked").count(), 1, "{kinds:?}");
    assert!(!kinds.iter().any(|(kind, to)| kind == "key-leaked" && to == "nobody@example.com"), "{kinds:?}");
    for row in outbox(&app).await {
        assert!(!row.2.contains("kw_"), "a secret in the outbox: {}", row.2);
    }
}
