//! Soft delete, restore and self-revocation across two real keyward nodes on
//! one PostgreSQL database: what one node does, the other honours within a
//! second.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::node::{Node, bootstrap};
use support::postgres::{FreshDb, server_url};
use support::wait::wait_until;

const SA: &str = "/api/service-account/v1/service-account";
const WHOAMI: &str = "/api/service-account/v1/whoami";

async fn status(client: &reqwest::Client, node: &Node, key: &str) -> StatusCode {
    client.get(node.url(WHOAMI)).header("Authorization", key).send().await.expect("request").status()
}

/// Polls `node` until `key` gets `want`; fails past a second.
async fn within_a_second(client: &reqwest::Client, node: &Node, key: &str, want: StatusCode, what: &str) {
    let what = format!("node {} to see {what}", node.port);
    wait_until(Duration::from_secs(1), &what, async || status(client, node, key).await == want).await;
}

async fn json_of(res: reqwest::Response, want: StatusCode) -> Value {
    assert_eq!(res.status(), want);
    res.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_restore_and_self_revocation_reach_the_other_node() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_org, admin) = bootstrap(dir.path(), &db.url);
    // The polling fails on purpose, and revocations count against the address.
    let flags = ["--auth-failure-limit", "1000000"];
    let nodes: Vec<Node> = (0..2).map(|_| Node::start(dir.path(), &db.url, &flags)).collect();
    let client = reqwest::Client::new();
    let post = |node: &Node, path: &str, body: Value| {
        client.post(node.url(path)).header("Authorization", &admin).json(&body).send()
    };

    for round in 0..5 {
        let account = json_of(
            post(&nodes[0], SA, json!({"name": format!("roaming-{round}")})).await.expect("create"),
            StatusCode::CREATED,
        )
        .await;
        let id = account["id"].as_str().expect("id").to_owned();
        let key =
            json_of(post(&nodes[0], &format!("{SA}/{id}/key"), json!({})).await.expect("key"), StatusCode::CREATED)
                .await;
        let secret = key["secret"].as_str().expect("secret").to_owned();
        // In the second node's cache now.
        assert_eq!(status(&client, &nodes[1], &secret).await, StatusCode::OK);

        let res = client.delete(nodes[0].url(&format!("{SA}/{id}"))).header("Authorization", &admin).send().await;
        assert_eq!(res.expect("delete").status(), StatusCode::NO_CONTENT);
        assert_eq!(status(&client, &nodes[0], &secret).await, StatusCode::UNAUTHORIZED);
        within_a_second(&client, &nodes[1], &secret, StatusCode::UNAUTHORIZED, "the delete").await;

        // Restored on the second node: the first takes the key back at once.
        let res = post(&nodes[1], &format!("{SA}/{id}/undelete"), json!({})).await.expect("undelete");
        assert_eq!(res.status(), StatusCode::OK);
        within_a_second(&client, &nodes[0], &secret, StatusCode::OK, "the restore").await;
        assert_eq!(status(&client, &nodes[1], &secret).await, StatusCode::OK);

        // Revoked by whoever holds it, on the first node: the second refuses it.
        let res = client.post(nodes[0].url("/api/leak/v1/revoke")).json(&json!({"secrets": [secret]})).send().await;
        assert_eq!(res.expect("revoke").status(), StatusCode::ACCEPTED);
        assert_eq!(status(&client, &nodes[0], &secret).await, StatusCode::UNAUTHORIZED);
        within_a_second(&client, &nodes[1], &secret, StatusCode::UNAUTHORIZED, "the self-revocation").await;
    }
}
