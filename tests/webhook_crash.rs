//! Webhook deliveries survive `kill -9`: the real binary, creating accounts
//! for a slow receiver, is killed at random moments and restarted on the
//! same database; in the end every acknowledged change has reached the
//! receiver (at least once), and nothing is left pending. On SQLite and on
//! PostgreSQL.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::node::{Node, bootstrap};
use support::wait::wait_for;

const SA: &str = "/api/service-account/v1/service-account";
const HOOKS: &str = "/api/webhook/v1/webhook";
const KILLS: usize = 6;
/// A delivery leased by a node that is then killed waits out the lease:
/// short here, so the test need not wait.
const NODE_ARGS: &[&str] = &["--webhook-allow-private", "--webhook-lease", "2"];

/// What the receiver got: account id → the webhook-ids that announced it.
type Got = Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>;

async fn receive(State(got): State<Got>, headers: HeaderMap, body: Bytes) -> &'static str {
    // Slow enough that kills land mid-send.
    tokio::time::sleep(Duration::from_millis(40)).await;
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(account) = body["data"]["serviceAccountId"].as_str() {
        got.lock().expect("lock").entry(account.to_owned()).or_default().insert(id);
    }
    "ok"
}

/// Acknowledged accounts not announced yet, and where the nodes' logs are:
/// read only if the wait fails, to tell why.
struct Unannounced<'a> {
    missing: Vec<String>,
    logs: &'a std::path::Path,
}

impl std::fmt::Display for Unannounced<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} never announced: {:?}", self.missing.len(), self.missing)?;
        for entry in std::fs::read_dir(self.logs).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().ends_with(".log") {
                let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().filter(|l| l.contains("webhook")).rev().take(5).collect();
                writeln!(f, "{}: {tail:#?}", entry.file_name().to_string_lossy())?;
            }
        }
        Ok(())
    }
}

async fn crash_and_check(database: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_org, admin) = bootstrap(dir.path(), database);
    let got: Got = Got::default();
    let receiver = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, receiver).await.expect("receiver") });

    let client = reqwest::Client::new();
    let mut acknowledged = BTreeSet::new();
    let mut last = None;
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis() as u64;
    eprintln!("webhook crash test seed {seed}");
    for round in 0..=KILLS {
        let mut node = Node::start(dir.path(), database, NODE_ARGS);
        if round == 0 {
            let res = client
                .post(node.url(HOOKS))
                .header("Authorization", &admin)
                .json(&json!({"url": url, "events": ["account.created"]}))
                .send()
                .await
                .expect("create webhook");
            assert_eq!(res.status(), StatusCode::CREATED);
        }
        if round == KILLS {
            last = Some(node);
            break;
        }
        // Writes until the kill; only those answered 201 must be announced.
        let kill_at = Instant::now() + Duration::from_millis(200 + (seed.wrapping_mul(round as u64 + 7) % 400));
        let mut i = 0;
        // A bounded number per round: one endpoint's deliveries go one at a
        // time, in order, so the load must not outrun them.
        while Instant::now() < kill_at && i < 12 {
            let name = format!("r{round}-{i}");
            i += 1;
            let sent = client.post(node.url(SA)).header("Authorization", &admin).json(&json!({"name": name})).send();
            if let Ok(Ok(res)) = tokio::time::timeout(Duration::from_secs(2), sent).await {
                if res.status() == StatusCode::CREATED {
                    let body: Value = res.json().await.expect("json");
                    acknowledged.insert(body["id"].as_str().expect("id").to_owned());
                }
            }
        }
        // The kill lands while the backlog is being sent.
        tokio::time::sleep_until(kill_at.into()).await;
        node.child.kill().expect("kill -9");
        let _ = node.child.wait();
    }
    // The last node stays up; everything acknowledged arrives.
    wait_for(Duration::from_secs(60), "every acknowledged account to be announced", async || {
        let missing: Vec<String> = {
            let got = got.lock().expect("lock");
            acknowledged.iter().filter(|a| !got.contains_key(*a)).cloned().collect()
        };
        if missing.is_empty() { Ok(()) } else { Err(Unannounced { missing, logs: dir.path() }) }
    })
    .await;
    assert!(acknowledged.len() > KILLS, "the load did real work: {}", acknowledged.len());
    // One delivery per account, whatever was resent: a receiver can drop
    // duplicates by webhook-id.
    let got = got.lock().expect("lock");
    assert!(got.values().all(|ids| ids.len() == 1), "one webhook-id per change");
    drop(last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_webhook_deliveries_survive_kills() {
    let dir = tempfile::tempdir().expect("tempdir");
    crash_and_check(&format!("sqlite://{}", dir.path().join("hooks.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_webhook_deliveries_survive_kills() {
    let Some(server) = support::postgres::server_url() else { return };
    let db = support::postgres::FreshDb::create(&server).await;
    crash_and_check(&db.url).await;
}
