//! Email through the real `keyward serve`: undelivered messages
//! survive `kill -9` and go out after a restart; the default file transport
//! writes under `--data-dir` and the log says where; two nodes on one
//! PostgreSQL database send each message once.

mod support;

#[path = "api/smtp.rs"]
mod smtp;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use smtp::{Mail, SmtpServer};
use support::ClosedPort;
use support::node::{Node, bootstrap};
use support::postgres::{FreshDb, server_url};
use support::wait::{wait_for, wait_until};

const SA: &str = "/api/service-account/v1/service-account";

async fn create_account(client: &reqwest::Client, node: &Node, admin: &str, name: &str, email: &str) -> Value {
    node.create(client, SA, admin, json!({"name": name, "email": email})).await
}

/// Waits until the outbox of `database` holds `n` messages, all marked
/// sent: a message is marked once its send is over, and is never claimed
/// again, so no send of these is still to come.
async fn wait_until_sent(database: &str, n: usize) {
    let store = keyward::store::Store::connect(database).await.expect("store");
    wait_for(Duration::from_secs(30), &format!("{n} messages, all marked sent"), async || {
        let mut conn = store.read().await.expect("conn");
        let (all, sent): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(sent) FROM outbox").fetch_one(&mut *conn).await.expect("count");
        if (all, sent) == (n as i64, n as i64) { Ok(()) } else { Err(format!("{sent} of {all} marked sent")) }
    })
    .await;
    store.close().await;
}

/// Unique (Message-ID, recipient) pairs, and how many messages there were.
fn distinct(smtp: &SmtpServer) -> (usize, usize, usize) {
    let delivered = smtp.deliveries();
    let mut ids: Vec<String> = delivered.iter().map(|d| Mail::parse(&d.data).message_id).collect();
    let mut to: Vec<String> = delivered.iter().map(|d| Mail::parse(&d.data).to).collect();
    ids.sort();
    ids.dedup();
    to.sort();
    to.dedup();
    (delivered.len(), ids.len(), to.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_messages_survive_kill_9_and_are_sent_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let (_org, admin) = bootstrap(dir.path(), &db);
    let client = reqwest::Client::new();

    // Nobody listens on the mail port.
    let closed = ClosedPort::new();
    let down = format!("smtp://127.0.0.1:{}", closed.port());
    let mut node = Node::start(dir.path(), &db, &["--mail", &down]);
    let log = node.read_log();
    assert!(log.contains("mail: delivering the outbox") && log.contains(&down), "{log}");
    let n = 3;
    for i in 0..n {
        create_account(&client, &node, &admin, &format!("svc-{i}"), &format!("svc{i}@example.com")).await;
    }
    // Let the node try, and fail, before it dies.
    let store = keyward::store::Store::connect(&db).await.expect("store");
    wait_until(Duration::from_secs(10), "the node to try to send every message", async || {
        let mut conn = store.read().await.expect("conn");
        let tried: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE attempts > 0 AND sent IS NULL")
            .fetch_one(&mut *conn)
            .await
            .expect("count");
        tried == n as i64
    })
    .await;
    node.child.kill().expect("kill -9");
    node.child.wait().expect("wait");

    let smtp = SmtpServer::start();
    let node = Node::start(dir.path(), &db, &["--mail", &smtp.url()]);
    let delivered = smtp.wait_for(n, Duration::from_secs(30)).await;
    wait_until_sent(&db, n).await;
    assert_eq!(distinct(&smtp), (n, n, n), "lost or duplicated messages");
    // The links work on the restarted node.
    let token = Mail::parse(&delivered[0].data).token(&node.base);
    let res = client.get(node.url(&format!("/confirm-email?token={token}"))).send().await.expect("confirm");
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_file_transport_writes_under_the_data_folder_and_the_log_says_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let (_org, admin) = bootstrap(dir.path(), &db);
    let data = dir.path().join("data");
    // The secret key the bootstrap commands made in the working folder.
    let key = dir.path().join("secret.key");
    let node = Node::start(
        dir.path(),
        &db,
        &["--data-dir", data.to_str().expect("utf-8"), "--secret-key-file", key.to_str().expect("utf-8")],
    );
    let outbox = data.join("outbox");
    let log = node.read_log();
    assert!(log.contains(&format!("files in {}", outbox.display())), "the log does not say where: {log}");
    let client = reqwest::Client::new();
    create_account(&client, &node, &admin, "local", "local@example.com").await;
    let file = wait_for(Duration::from_secs(10), &format!("an .eml file in {}", outbox.display()), async || {
        let found = std::fs::read_dir(&outbox).ok().and_then(|d| {
            d.filter_map(Result::ok).map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        found.ok_or("")
    })
    .await;
    let mail = Mail::parse(&std::fs::read(&file).expect("read"));
    assert_eq!(mail.to, "local@example.com");
    assert_eq!(mail.from, "keyward@127.0.0.1");
    let token = mail.token(&node.base);
    let res = client.get(node.url(&format!("/confirm-email?token={token}"))).send().await.expect("confirm");
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_send_each_message_once() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_org, admin) = bootstrap(dir.path(), &db.url);
    let smtp = SmtpServer::start();
    let nodes: Vec<Node> = (0..2).map(|_| Node::start(dir.path(), &db.url, &["--mail", &smtp.url()])).collect();
    let client = reqwest::Client::new();
    let n = 40;
    // Queued on both nodes at once, so both workers find many due together.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (client, admin, base) = (client.clone(), admin.clone(), nodes[i % 2].base.clone());
        tasks.spawn(async move {
            let res = client
                .post(format!("{base}{SA}"))
                .header("Authorization", admin)
                .json(&json!({"name": format!("bulk-{i}"), "email": format!("bulk{i}@example.com")}))
                .send()
                .await
                .expect("create account");
            assert_eq!(res.status(), StatusCode::CREATED);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    smtp.wait_for(n, Duration::from_secs(60)).await;
    wait_until_sent(&db.url, n).await;
    // Each node logs a message once it is marked sent; a second send of
    // one would be a line more.
    let logs: Vec<usize> = nodes.iter().map(|node| node.read_log().matches("mail: sent").count()).collect();
    assert_eq!(logs.iter().sum::<usize>(), n, "{logs:?}");
    assert_eq!(distinct(&smtp), (n, n, n), "lost or duplicated messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_given_up_on_is_logged_without_its_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let (_org, admin) = bootstrap(dir.path(), &db);
    let closed = ClosedPort::new();
    let down = format!("smtp://127.0.0.1:{}", closed.port());
    let node = Node::start(dir.path(), &db, &["--mail", &down, "--mail-give-up-after", "1"]);
    let client = reqwest::Client::new();
    create_account(&client, &node, &admin, "doomed", "doomed@example.com").await;
    let log = node.wait_for_log("giving up", Duration::from_secs(15));
    let line = log.lines().find(|l| l.contains("giving up")).expect("line");
    assert!(line.contains("WARN") && line.contains("attempts"), "{line}");
    assert!(!log.contains("confirm-email?token"), "a confirmation link in the log");
}
