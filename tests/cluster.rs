//! Several keyward nodes on one PostgreSQL database: keys made on one node
//! work on the others at once, revocations reach every node within a second,
//! nodes starting together migrate once, and a database outage is answered
//! with 503 and survived without a restart.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::node::{Node, bootstrap};
use support::postgres::{FreshDb, host_port, server_url};
use support::wait::{wait_for, wait_until};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

const SA: &str = "/api/service-account/v1/service-account";
const WHOAMI: &str = "/api/service-account/v1/whoami";

async fn status(client: &reqwest::Client, url: String, key: &str) -> StatusCode {
    client.get(url).header("Authorization", key).send().await.expect("request").status()
}

/// Polls `node` until `key` is refused; answers how long that took.
async fn time_until_refused(client: &reqwest::Client, node: &Node, key: &str, since: Instant) -> Duration {
    let what = format!("node {} to refuse a revoked key", node.port);
    wait_until(Duration::from_secs(5), &what, async || {
        status(client, node.url(WHOAMI), key).await == StatusCode::UNAUTHORIZED
    })
    .await;
    since.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_on_one_node_reach_the_others_within_a_second() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_org, admin) = bootstrap(dir.path(), &db.url);
    // The polling below fails on purpose hundreds of times from one address;
    // throttling would rightly turn those 401s into 429s.
    let flags = ["--max-keys-per-account", "1000", "--auth-failure-limit", "1000000"];
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(dir.path(), &db.url, &flags)).collect();
    let client = reqwest::Client::new();
    let account = nodes[0].create(&client, SA, &admin, json!({"name": "worker", "role": "viewer"})).await;
    let account = account["id"].as_str().expect("id").to_owned();

    let kinds = ["delete", "disable", "rotate", "disable account"];
    let mut delays = Vec::new();
    for trial in 0..100 {
        let kind = kinds[trial % kinds.len()];
        // Spread the revocations over the nodes' polling period, or every
        // trial would start right after a poll and wait the whole period.
        tokio::time::sleep(Duration::from_millis((trial as u64 * 37) % 250)).await;
        let key = nodes[0].create(&client, &format!("{SA}/{account}/key"), &admin, json!({})).await;
        let (key_id, secret) = (key["keyId"].as_str().expect("keyId"), key["secret"].as_str().expect("secret"));
        // Made on node 1, it works on nodes 2 and 3 at once (and is now in their caches).
        for node in &nodes[1..] {
            assert_eq!(
                status(&client, node.url(WHOAMI), secret).await,
                StatusCode::OK,
                "trial {trial}: new key not accepted on {}",
                node.port
            );
        }
        let key_path = format!("{SA}/{account}/key/{key_id}");
        let res = match kind {
            "delete" => client.delete(nodes[0].url(&key_path)).header("Authorization", &admin).send().await,
            "disable" => {
                client
                    .patch(nodes[0].url(&key_path))
                    .header("Authorization", &admin)
                    .json(&json!({"disabled": true}))
                    .send()
                    .await
            }
            "rotate" => {
                client
                    .post(nodes[0].url(&format!("{key_path}/rotate")))
                    .header("Authorization", &admin)
                    .json(&json!({}))
                    .send()
                    .await
            }
            _ => {
                client
                    .patch(nodes[0].url(&format!("{SA}/{account}")))
                    .header("Authorization", &admin)
                    .json(&json!({"disabled": true}))
                    .send()
                    .await
            }
        }
        .expect("revoke");
        assert!(res.status().is_success(), "trial {trial}: {kind} answered {}", res.status());
        let revoked_at = Instant::now();
        assert_eq!(
            status(&client, nodes[0].url(WHOAMI), secret).await,
            StatusCode::UNAUTHORIZED,
            "the revoking node must refuse at once"
        );
        let (a, b) = tokio::join!(
            time_until_refused(&client, &nodes[1], secret, revoked_at),
            time_until_refused(&client, &nodes[2], secret, revoked_at)
        );
        delays.push(a.max(b));
        if kind == "disable account" {
            let res = client
                .patch(nodes[0].url(&format!("{SA}/{account}")))
                .header("Authorization", &admin)
                .json(&json!({"disabled": false}))
                .send()
                .await
                .expect("enable");
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    delays.sort();
    let (median, p99, max) = (percentile(&delays, 0.5), percentile(&delays, 0.99), delays[delays.len() - 1]);
    eprintln!(
        "revocation reached the other nodes over {} trials: median {median:?}, p99 {p99:?}, max {max:?}",
        delays.len()
    );
    assert!(max < Duration::from_secs(1), "a revocation took {max:?} to reach every node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_is_refused_by_every_node() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_org, admin) = bootstrap(dir.path(), &db.url);
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(dir.path(), &db.url, &[])).collect();
    let client = reqwest::Client::new();
    let account = nodes[0].create(&client, SA, &admin, json!({"name": "short-lived"})).await;
    let keys = format!("{SA}/{}/key", account["id"].as_str().expect("id"));
    let key = nodes[0].create(&client, &keys, &admin, json!({"expiresIn": 2})).await;
    let secret = key["secret"].as_str().expect("secret");
    let expires = key["expires"].as_i64().expect("expires");
    for node in &nodes {
        assert_eq!(status(&client, node.url(WHOAMI), secret).await, StatusCode::OK);
    }
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64((expires as f64 - now()).max(0.0) + 0.05)).await;
    for node in &nodes {
        assert_eq!(
            status(&client, node.url(WHOAMI), secret).await,
            StatusCode::UNAUTHORIZED,
            "node {} accepts an expired key",
            node.port
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_on_an_empty_database_migrate_once() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let started: Vec<_> = (0..5).map(|_| Node::spawn(dir.path(), &db.url, &[])).collect();
    let nodes: Vec<Node> = started.into_iter().map(|n| n.serving()).collect();
    for node in &nodes {
        let ready = reqwest::get(node.url("/readyz")).await.expect("readyz");
        assert_eq!(ready.status(), StatusCode::OK);
    }
    let store = keyward::store::Store::connect(&db.url).await.expect("connect");
    let mut conn = store.read().await.expect("conn");
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .expect("migrations");
    let files =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).expect("migrations dir").count();
    assert_eq!(applied.len(), files, "each migration exactly once: {applied:?}");
    let mut unique = applied.clone();
    unique.dedup();
    assert_eq!(unique, applied);
}

/// A TCP proxy to PostgreSQL that the test can cut (every connection closed,
/// new ones refused) and restore.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, links2) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let target = target.clone();
                links2.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self { port, up, links }
    }

    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_with_503_and_survived() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_org, admin) = bootstrap(dir.path(), &db.url);
    let proxy = Proxy::start(host_port(&db.url)).await;
    let via_proxy = db.url.replacen(&host_port(&db.url), &format!("127.0.0.1:{}", proxy.port), 1);
    let node = Node::start(dir.path(), &via_proxy, &[]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");

    let res = client
        .post(node.url(SA))
        .header("Authorization", &admin)
        .json(&json!({"name": "before the outage"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), StatusCode::CREATED);
    let acknowledged: Value = res.json().await.expect("json");

    proxy.cut().await;
    let cut_at = Instant::now();
    // Within 5 s of the cut every call that needs storage answers 503 (the
    // key check too: a node that cannot see revocations drops its cache), and
    // no single answer takes longer than that.
    for path in [SA, WHOAMI, "/readyz"] {
        let within = Duration::from_secs(5).saturating_sub(cut_at.elapsed());
        wait_for(within, &format!("{path} to answer 503 within 5 s of the outage"), async || {
            let asked = Instant::now();
            let res =
                client.get(node.url(path)).header("Authorization", &admin).send().await.expect("an answer, not a hang");
            assert!(asked.elapsed() < Duration::from_secs(5), "{path} took {:?}", asked.elapsed());
            if res.status() == StatusCode::SERVICE_UNAVAILABLE {
                assert!(res.headers().contains_key("retry-after"), "{path}: no Retry-After");
                assert_eq!(res.headers()["content-type"], "application/problem+json");
                return Ok(());
            }
            assert!(res.status().is_success(), "{path} answered {} during the outage", res.status());
            Err(res.status())
        })
        .await;
    }
    assert_eq!(
        client.get(node.url("/healthz")).send().await.expect("healthz").status(),
        StatusCode::OK,
        "the process itself stays alive"
    );

    proxy.restore();
    let back: Value =
        wait_for(Duration::from_secs(15), "keyward to recover after the database came back", async || {
            let res = client
                .get(node.url(&format!("{SA}/{}", acknowledged["id"].as_str().expect("id"))))
                .header("Authorization", &admin)
                .send()
                .await
                .expect("request");
            match res.status() {
                StatusCode::OK => Ok(res.json().await.expect("json")),
                other => Err(other),
            }
        })
        .await;
    assert_eq!(back["name"], "before the outage", "what was acknowledged before the outage survives");
    assert_eq!(client.get(node.url("/readyz")).send().await.expect("readyz").status(), StatusCode::OK);
}
