//! Rate limits across real keyward nodes: three nodes on one PostgreSQL
//! sharing counts through Redis hold a key to its limit exactly, a change to
//! a key's narrowing reaches every node within a second, and a node whose
//! Redis is away follows --rate-limit-on-error.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::ClosedPort;
use support::node::{Node, bootstrap};
use support::postgres::{FreshDb, server_url};
use support::wait::wait_for;

const SA: &str = "/api/service-account/v1/service-account";
const VERIFY: &str = "/api/auth/v1/verify";

/// A key of a new account limited to `limit` uses per `period` seconds,
/// made through `node`: its secret.
async fn limited_key(client: &reqwest::Client, node: &Node, admin: &str, limit: u32, period: u32) -> String {
    let key = new_key(client, node, admin, json!({"rateLimit": {"limit": limit, "period": period}})).await;
    key["secret"].as_str().expect("secret").to_owned()
}

/// A key of a new account made with `body` through `node`: its creation
/// answer, with `path` added (the key's URL path).
async fn new_key(client: &reqwest::Client, node: &Node, admin: &str, body: Value) -> Value {
    let name = format!("metered-{}", keyward::domain::Id::generate());
    let account = node.create(client, SA, admin, json!({"name": name})).await;
    let account = account["id"].as_str().expect("id");
    let mut key = node.create(client, &format!("{SA}/{account}/key"), admin, body).await;
    key["path"] = json!(format!("{SA}/{account}/key/{}", key["keyId"].as_str().expect("keyId")));
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_sharing_redis_hold_a_key_to_its_limit_exactly() {
    let Some(server) = server_url() else { return };
    let Some(redis) = support::redis::server_url() else { return };
    let db = FreshDb::create(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_org, admin) = bootstrap(dir.path(), &db.url);
    // Exactness is the script's; the timeout only decides what happens when
    // Redis is slow, which a loaded test machine must not be mistaken for.
    let flags = ["--redis", &redis, "--redis-timeout", "5000"];
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(dir.path(), &db.url, &flags)).collect();
    let client = reqwest::Client::new();
    // Each node's connection to Redis is up before the count is put to the test.
    let warm = limited_key(&client, &nodes[0], &admin, 1000, 60).await;
    for node in &nodes {
        let res = client.get(node.url(VERIFY)).header("Authorization", &warm).send().await.expect("verify");
        assert!(res.headers().get("ratelimit-remaining").is_some(), "node {} did not reach Redis", node.port);
    }
    let secret = limited_key(&client, &nodes[0], &admin, 30, 60).await;

    // 90 uses at once, spread over the three nodes.
    let uses = (0..90).map(|i| {
        let (client, url, secret) = (client.clone(), nodes[i % 3].url(VERIFY), secret.clone());
        tokio::spawn(async move {
            let res = client.get(url).header("Authorization", secret).send().await.expect("verify");
            (i % 3, res.status(), res.headers().get("ratelimit-remaining").cloned())
        })
    });
    let mut ok_per_node = [0; 3];
    let mut remaining = Vec::new();
    for task in uses.collect::<Vec<_>>() {
        let (node, status, left) = task.await.expect("task");
        assert!(left.is_some(), "every answer carries RateLimit-Remaining");
        match status {
            StatusCode::OK => {
                ok_per_node[node] += 1;
                remaining.push(left.and_then(|v| v.to_str().ok()?.parse::<u32>().ok()).expect("a number"));
            }
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok_per_node.iter().sum::<u32>(), 30, "successes per node: {ok_per_node:?}");
    remaining.sort_unstable();
    assert_eq!(remaining, (0..30).collect::<Vec<_>>(), "one shared count");
    for node in &nodes {
        let res = client.get(node.url(VERIFY)).header("Authorization", &secret).send().await.expect("verify");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "node {} forgot the shared count", node.port);
        assert!(res.headers().get("retry-after").is_some());
        // A refusal for a missing scope reads the shared count without adding to it.
        let url = node.url(&format!("{VERIFY}?scope=nope"));
        let res = client.get(url).header("Authorization", &secret).send().await.expect("verify");
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(res.headers().get("ratelimit-remaining").and_then(|v| v.to_str().ok()), Some("0"));
    }

    // A narrowing changed on one node holds on the others within a second.
    let key = new_key(&client, &nodes[0], &admin, json!({"scopes": ["read"]})).await;
    let secret = key["secret"].as_str().expect("secret");
    let asks_write = |node: &Node| {
        let (client, url) = (client.clone(), node.url(&format!("{VERIFY}?scope=write")));
        async move { client.get(url).header("Authorization", secret).send().await.expect("verify").status() }
    };
    for node in &nodes {
        assert_eq!(asks_write(node).await, StatusCode::FORBIDDEN, "and now cached on {}", node.port);
    }
    let res = client
        .patch(nodes[0].url(key["path"].as_str().expect("path")))
        .header("Authorization", &admin)
        .json(&json!({"scopes": ["read", "write"]}))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), StatusCode::OK);
    let changed = std::time::Instant::now();
    assert_eq!(asks_write(&nodes[0]).await, StatusCode::OK, "the node that made the change, at once");
    let rest_of_the_second = Duration::from_secs(1).saturating_sub(changed.elapsed());
    wait_for(rest_of_the_second, "every other node to take the new scopes within a second", async || {
        for node in &nodes[1..] {
            let status = asks_write(node).await;
            if status != StatusCode::OK {
                return Err(format!("node {} answers {status}", node.port));
            }
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_node_fails_open_or_closed_as_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let (_org, admin) = bootstrap(dir.path(), &database);
    // Nothing listens on this port.
    let closed = ClosedPort::new();
    let nowhere = format!("redis://127.0.0.1:{}", closed.port());
    let client = reqwest::Client::new();
    for (rule, expected) in [("open", StatusCode::OK), ("closed", StatusCode::TOO_MANY_REQUESTS)] {
        let node = Node::start(dir.path(), &database, &["--redis", &nowhere, "--rate-limit-on-error", rule]);
        let secret = limited_key(&client, &node, &admin, 1000, 60).await;
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let res = client.get(node.url(VERIFY)).header("Authorization", &secret).send().await.expect("verify");
            assert_eq!(res.status(), expected, "--rate-limit-on-error {rule}");
            assert!(started.elapsed() < Duration::from_secs(2), "a use waited {:?} for Redis", started.elapsed());
        }
        let metrics = client.get(node.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
        assert!(
            metrics.lines().any(|l| l.contains("rate_limited_uses") && l.contains("redis_error") && !l.ends_with(" 0")),
            "no redis_error counted:\n{metrics}"
        );
    }
}
