//! Trust, tried against the real binary: a database made by keyward 0.1
//! upgraded in place, owner-only files, a node given the wrong secret key,
//! and a flood of concurrent logins that must not exhaust memory.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::node::{Node, run};

const WHOAMI: &str = "/api/service-account/v1/whoami";
const TOKEN: &str = "/api/auth/v1/oauth/token";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64
}

fn fixture() -> (std::path::PathBuf, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-0.1");
    let facts: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("legacy.json")).expect("facts"))
        .expect("facts are JSON");
    (dir.join("keyward.db"), facts)
}

#[tokio::test]
async fn a_database_made_by_keyward_0_1_keeps_working_after_the_upgrade() {
    let (db, facts) = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("keyward.db");
    std::fs::copy(&db, &copy).expect("copy fixture");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).expect("chmod as 0.1 left it");
    let database = format!("sqlite://{}", copy.display());
    let node = Node::start(dir.path(), &database, &[]);
    let client = reqwest::Client::new();
    let secret = facts["secret"].as_str().expect("secret");
    let key_id = facts["keyId"].as_str().expect("key id");
    let account = facts["accountId"].as_str().expect("account");

    // The key authenticates as before, raw and by Basic.
    let res = client.get(node.url(WHOAMI)).header("Authorization", secret).send().await.expect("whoami");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.expect("json")["keyId"], key_id);
    let res = client.get(node.url(WHOAMI)).basic_auth(key_id, Some(secret)).send().await.expect("basic");
    assert_eq!(res.status(), StatusCode::OK);

    // Its assertions still verify, and tokens are still signed by the same key.
    let claims =
        json!({"iss": account, "sub": account, "aud": node.url(TOKEN), "exp": now() + 300, "jti": "upgrade-1"});
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key_id.to_owned());
    let assertion = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("jwt");
    let res = client
        .post(node.url(TOKEN))
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &assertion)])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::OK);
    let jwks: Value =
        client.get(node.url("/.well-known/jwks.json")).send().await.expect("jwks").json().await.expect("j");
    assert_eq!(jwks["keys"][0]["kid"], facts["jwk"]["kid"], "the same signing key");
    assert_eq!(jwks["keys"][0]["x"], facts["jwk"]["x"], "the same signing key");

    // The person logs in with the password they had.
    let res = client
        .post(node.url("/api/session/v1/login"))
        .json(&json!({"email": facts["userEmail"], "password": facts["userPassword"]}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    drop(node);

    // On disk: owner-only now, a secret key beside it, nothing in the clear.
    assert_eq!(mode(&copy), 0o600);
    assert_eq!(mode(&dir.path().join("secret.key")), 0o600);
    let bytes = raw_text(&copy);
    assert!(bytes.contains(facts["keyId"].as_str().expect("key id")), "the search reads the right file");
    let legacy_hash = sha256_hex(secret.as_bytes());
    assert!(!bytes.contains(&legacy_hash), "the old hash, which signs assertions, is gone, freed pages included");
    let legacy_seed = &facts["legacySeed"];
    assert!(!bytes.contains(legacy_seed.as_str().expect("seed")), "the plain signing seed is gone");
    assert!(!bytes.contains(secret), "no secret");
}

/// The database file's bytes (and its WAL's) as text, for a plain search.
fn raw_text(db: &Path) -> String {
    let mut bytes = std::fs::read(db).expect("db");
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) {
        bytes.extend(wal);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_database_the_data_folder_and_the_secret_key_are_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), "sqlite://state/keyward.db", &["--data-dir", "state/data"]);
    drop(node);
    let state = dir.path().join("state");
    assert_eq!(mode(&state), 0o700, "a folder made for the database");
    assert_eq!(mode(&state.join("data")), 0o700, "the data folder");
    assert_eq!(mode(&state.join("keyward.db")), 0o600);
    assert_eq!(mode(&state.join("data/secret.key")), 0o600);
    for suffix in ["-wal", "-shm"] {
        let side = state.join(format!("keyward.db{suffix}"));
        if side.exists() {
            assert_eq!(mode(&side), 0o600, "{}", side.display());
        }
    }
}

#[test]
fn a_node_given_another_secret_key_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let create_org = |key: &str| {
        let args = ["admin", "create-org", "--name", "Acme", "--database", "sqlite://k.db"];
        run(dir.path(), &args, &[("KEYWARD_SECRET_KEY", key)], None)
    };
    let first = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([1u8; 32]);
    let second = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([2u8; 32]);
    assert!(create_org(&first).status.success());
    let refused = create_org(&second);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("another secret key"), "{said}");
    assert!(!said.contains(&second) && !said.contains(&first), "the key is never printed");
    let bad = create_org("not-a-key");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("KEYWARD_SECRET_KEY"));
    assert!(create_org(&first).status.success(), "the right key still works");
}

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024
}

async fn bad_logins(node: &Node, count: usize, addresses: u8) -> Vec<u16> {
    let clients: Vec<reqwest::Client> = (0..addresses)
        .map(|i| {
            reqwest::Client::builder()
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, i.saturating_add(1))))
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client")
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let request = clients[i % clients.len()]
            .post(node.url("/api/session/v1/login"))
            .json(&json!({"email": format!("nobody-{i}@example.com"), "password": "wrong password, surely"}));
        tasks.spawn(async move { request.send().await.map(|r| r.status().as_u16()).unwrap_or(0) });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn floods_of_concurrent_logins_keep_memory_bounded_and_are_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), "sqlite://keyward.db", &[]);
    let pid = node.child.id();
    for (count, addresses) in [(60usize, 1u8), (600, 200)] {
        let started = Instant::now();
        let statuses = bad_logins(&node, count, addresses).await;
        assert!(
            statuses.iter().all(|s| [401, 429, 503].contains(s)),
            "{count} logins: every one answered 401, 429 or 503: {statuses:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(60), "{count} logins took {:?}", started.elapsed());
        if addresses == 1 {
            assert!(statuses.iter().filter(|s| **s == 401).count() <= 20, "{statuses:?}");
        } else {
            assert!(statuses.contains(&503), "past the hashing limit, 503: {statuses:?}");
        }
        let peak = peak_rss_mib(pid);
        assert!(peak < 300, "{count} concurrent logins: peak RSS {peak} MiB");
    }
}
