//! Crashes lose nothing: a mixed write load against the real binary, killed
//! with SIGKILL at random moments and restarted on the same database, twenty
//! times, on SQLite and on PostgreSQL. After every restart each write that
//! was acknowledged is there, nothing half-written is, every surviving key
//! authenticates, and at the end every queued message is delivered once.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use support::node::{Node, bootstrap};
use support::wait::wait_for;

const SA: &str = "/api/service-account/v1/service-account";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const KILL_POINTS: usize = 20;
const WORKERS: usize = 6;
/// The checks present hundreds of revoked keys on purpose: throttling them
/// would hide which ones fail.
/// A message claimed by a node that is then killed waits out its lease
/// before another node sends it: short here, so the test need not wait.
const NODE_ARGS: &[&str] = &["--auth-failure-limit", "1000000", "--mail-lease", "3"];

/// What the server acknowledged, and so must survive.
#[derive(Default, Clone)]
struct Ledger {
    /// Accounts acknowledged created and not acknowledged deleted.
    accounts: BTreeSet<String>,
    deleted_accounts: BTreeSet<String>,
    /// Live keys: key id → (account id, secret).
    keys: BTreeMap<String, (String, String)>,
    /// Keys acknowledged deleted, disabled or rotated away without grace.
    dead_keys: BTreeMap<String, String>,
    invited: usize,
    /// Accounts and keys a change to which was sent but not acknowledged
    /// (the node died first): either outcome is right for them.
    uncertain: BTreeSet<String>,
}

/// A small deterministic generator, seeded from the clock (and printed), so
/// that a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn unacknowledged(res: &Result<reqwest::Response, reqwest::Error>) -> bool {
    res.is_err()
}

/// One worker's operations until the node dies under it.
async fn work(base: String, admin: String, ledger: Arc<Mutex<Ledger>>, seed: u64) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let mut rng = Rng(seed);
    loop {
        let pick = rng.below(100);
        let (account, key) = {
            let l = ledger.lock().expect("ledger");
            let accounts: Vec<&String> = l.accounts.iter().collect();
            let keys: Vec<(&String, &(String, String))> = l.keys.iter().collect();
            let account = (!accounts.is_empty()).then(|| accounts[rng.below(accounts.len() as u64) as usize].clone());
            let key = (!keys.is_empty()).then(|| {
                let (id, (acc, _)) = keys[rng.below(keys.len() as u64) as usize];
                (id.clone(), acc.clone())
            });
            (account, key)
        };
        let res = match (pick, account, key) {
            (0..=29, _, _) | (_, None, _) => {
                let n = rng.next();
                let email = (n % 3 == 0).then(|| format!("crash-{n}@example.com"));
                let res = client
                    .post(format!("{base}{SA}"))
                    .header("Authorization", &admin)
                    .json(&json!({"name": format!("crash-{n}"), "email": email}))
                    .send()
                    .await;
                match res {
                    Ok(r) => {
                        if r.status() == StatusCode::CREATED {
                            let body: Value = r.json::<Value>().await.unwrap_or_default();
                            if let Some(id) = body["id"].as_str() {
                                ledger.lock().expect("ledger").accounts.insert(id.to_owned());
                            }
                        }
                        false
                    }
                    Err(_) => true,
                }
            }
            (30..=59, Some(account), _) => {
                let res = client
                    .post(format!("{base}{SA}/{account}/key"))
                    .header("Authorization", &admin)
                    .json(&json!({}))
                    .send()
                    .await;
                if let Ok(r) = res {
                    if r.status() == StatusCode::CREATED {
                        let body: Value = r.json().await.unwrap_or_default();
                        if let (Some(id), Some(secret)) = (body["keyId"].as_str(), body["secret"].as_str()) {
                            ledger.lock().expect("ledger").keys.insert(id.to_owned(), (account, secret.to_owned()));
                        }
                    }
                    false
                } else {
                    true
                }
            }
            (60..=69, _, Some((key, account))) => {
                let res = client
                    .delete(format!("{base}{SA}/{account}/key/{key}"))
                    .header("Authorization", &admin)
                    .send()
                    .await;
                if res.is_err() {
                    ledger.lock().expect("ledger").uncertain.insert(key.clone());
                }
                if let Ok(r) = &res
                    && r.status() == StatusCode::NO_CONTENT
                {
                    let mut l = ledger.lock().expect("ledger");
                    if let Some((_, secret)) = l.keys.remove(&key) {
                        l.dead_keys.insert(key, secret);
                    }
                }
                unacknowledged(&res)
            }
            (70..=77, _, Some((key, account))) => {
                let res = client
                    .patch(format!("{base}{SA}/{account}/key/{key}"))
                    .header("Authorization", &admin)
                    .json(&json!({"disabled": true}))
                    .send()
                    .await;
                if res.is_err() {
                    ledger.lock().expect("ledger").uncertain.insert(key.clone());
                }
                if let Ok(r) = &res
                    && r.status() == StatusCode::OK
                {
                    let mut l = ledger.lock().expect("ledger");
                    if let Some((_, secret)) = l.keys.remove(&key) {
                        l.dead_keys.insert(key, secret);
                    }
                }
                unacknowledged(&res)
            }
            (78..=87, _, Some((key, account))) => {
                let res = client
                    .post(format!("{base}{SA}/{account}/key/{key}/rotate"))
                    .header("Authorization", &admin)
                    .json(&json!({"gracePeriod": 0}))
                    .send()
                    .await;
                if res.is_err() {
                    ledger.lock().expect("ledger").uncertain.insert(key.clone());
                }
                if let Ok(r) = res {
                    if r.status() == StatusCode::CREATED {
                        let body: Value = r.json().await.unwrap_or_default();
                        let mut l = ledger.lock().expect("ledger");
                        if let Some((_, secret)) = l.keys.remove(&key) {
                            l.dead_keys.insert(key, secret);
                        }
                        if let (Some(id), Some(secret)) = (body["keyId"].as_str(), body["secret"].as_str()) {
                            l.keys.insert(id.to_owned(), (account, secret.to_owned()));
                        }
                    }
                    false
                } else {
                    true
                }
            }
            (88..=93, Some(account), _) => {
                let res = client.delete(format!("{base}{SA}/{account}")).header("Authorization", &admin).send().await;
                if res.is_err() {
                    ledger.lock().expect("ledger").uncertain.insert(account.clone());
                }
                if let Ok(r) = &res
                    && r.status() == StatusCode::NO_CONTENT
                {
                    let mut l = ledger.lock().expect("ledger");
                    l.accounts.remove(&account);
                    l.deleted_accounts.insert(account.clone());
                    let gone: Vec<String> =
                        l.keys.iter().filter(|(_, (a, _))| *a == account).map(|(k, _)| k.clone()).collect();
                    for k in gone {
                        if let Some((_, secret)) = l.keys.remove(&k) {
                            l.dead_keys.insert(k, secret);
                        }
                    }
                }
                unacknowledged(&res)
            }
            _ => {
                let n = rng.next();
                let res = client
                    .post(format!("{base}/api/user/v1/user"))
                    .header("Authorization", &admin)
                    .json(&json!({"email": format!("person-{n}@example.com"), "role": "viewer"}))
                    .send()
                    .await;
                if let Ok(r) = &res
                    && r.status() == StatusCode::CREATED
                {
                    ledger.lock().expect("ledger").invited += 1;
                }
                unacknowledged(&res)
            }
        };
        if res {
            return; // the node is gone
        }
    }
}

/// Everything acknowledged is there; nothing dead came back.
async fn check_acknowledged(node: &Node, admin: &str, ledger: &Ledger) {
    let client = reqwest::Client::new();
    for id in ledger.accounts.iter().filter(|a| !ledger.uncertain.contains(*a)) {
        let res = client.get(node.url(&format!("{SA}/{id}"))).header("Authorization", admin).send().await.expect("r");
        assert_eq!(res.status(), StatusCode::OK, "acknowledged account {id} is missing");
    }
    for id in &ledger.deleted_accounts {
        let res = client.get(node.url(&format!("{SA}/{id}"))).header("Authorization", admin).send().await.expect("r");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "deleted account {id} came back");
    }
    // A key created while another request deleted its account may have
    // been acknowledged after that delete: its account decides.
    let settled = |key: &String, account: &String| {
        !ledger.uncertain.contains(key)
            && !ledger.uncertain.contains(account)
            && !ledger.deleted_accounts.contains(account)
    };
    for (id, (_, secret)) in ledger.keys.iter().filter(|(k, (a, _))| settled(k, a)) {
        let res = client.get(node.url(WHOAMI)).header("Authorization", secret).send().await.expect("r");
        assert_eq!(res.status(), StatusCode::OK, "acknowledged key {id} does not authenticate");
    }
    for (id, secret) in &ledger.dead_keys {
        let res = client.get(node.url(WHOAMI)).header("Authorization", secret).send().await.expect("r");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "revoked key {id} works again");
    }
}

/// Nothing is half there: every account and key has the audit event written
/// in its transaction, every key its account, every membership its person.
async fn check_whole(database: &str) {
    let mut conn = sqlx::AnyConnection::connect(database).await.expect("connect");
    let orphans: Vec<(String, i64)> = vec![
        (
            "accounts without their audit event".into(),
            count(&mut conn, "SELECT COUNT(*) FROM service_accounts a WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.target_id = a.id AND e.action = 'serviceAccount.create')").await,
        ),
        (
            "keys without their audit event".into(),
            count(&mut conn, "SELECT COUNT(*) FROM api_keys k WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.target_id = k.id AND e.action = 'key.create')").await,
        ),
        (
            "keys without a sealed assertion key".into(),
            count(&mut conn, "SELECT COUNT(*) FROM api_keys WHERE assertion_key IS NULL").await,
        ),
        (
            "accounts with an email but no confirmation queued".into(),
            count(&mut conn, "SELECT COUNT(*) FROM service_accounts a WHERE a.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload LIKE '%' || a.id || '%')").await,
        ),
    ];
    for (what, n) in orphans {
        assert_eq!(n, 0, "{what}: {n}");
    }
    let _ = conn.close().await;
}

async fn count(conn: &mut sqlx::AnyConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// After the last restart the outbox drains: every message marked sent is
/// one file named by its id (a retry after a crash rewrites the same file,
/// so none is delivered twice), and every file is a message of the outbox.
/// A file may also exist for a message the crash left unmarked and that was
/// then cancelled (its account deleted meanwhile): delivery is at least
/// once, and a file system write cannot share a transaction.
async fn check_mail_delivered_once(dir: &Path, database: &str) {
    sqlx::any::install_default_drivers();
    let (sent, all) = wait_for(Duration::from_secs(60), "the outbox to drain", async || {
        let mut conn = sqlx::AnyConnection::connect(database).await.expect("connect");
        let waiting = count(&mut conn, "SELECT COUNT(*) FROM outbox WHERE sent IS NULL AND failed IS NULL").await;
        let sent: BTreeSet<String> = sqlx::query_scalar::<_, String>("SELECT id FROM outbox WHERE sent IS NOT NULL")
            .fetch_all(&mut conn)
            .await
            .expect("sent")
            .into_iter()
            .collect();
        let all: BTreeSet<String> = sqlx::query_scalar::<_, String>("SELECT id FROM outbox")
            .fetch_all(&mut conn)
            .await
            .expect("all")
            .into_iter()
            .collect();
        let _ = conn.close().await;
        if waiting == 0 { Ok((sent, all)) } else { Err(format!("{waiting} messages still waiting")) }
    })
    .await;
    let files: BTreeSet<String> = std::fs::read_dir(dir.join("outbox"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".eml")).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let lost: Vec<&String> = sent.difference(&files).collect();
    assert!(lost.is_empty(), "messages marked sent with no file: {lost:?}");
    let stray: Vec<&String> = files.difference(&all).collect();
    assert!(stray.is_empty(), "files for no message: {stray:?}");
    assert!(!sent.is_empty(), "mail was queued and sent");
}

async fn crash_and_check(database: &str) {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_org, admin) = bootstrap(dir.path(), database);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_nanos() as u64;
    eprintln!("crash test seed {seed} on {}", database.split('?').next().unwrap_or(database));
    let mut rng = Rng(seed);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    for round in 0..KILL_POINTS {
        let mut node = Node::start(dir.path(), database, NODE_ARGS);
        let acknowledged = ledger.lock().expect("ledger").clone();
        check_acknowledged(&node, &admin, &acknowledged).await;
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| tokio::spawn(work(node.base.clone(), admin.clone(), ledger.clone(), rng.next() ^ w as u64)))
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + rng.below(600))).await;
        node.child.kill().expect("kill -9");
        let _ = node.child.wait();
        for w in workers {
            w.await.expect("worker");
        }
        let l = ledger.lock().expect("ledger");
        eprintln!(
            "round {round}: {} accounts, {} live keys, {} revoked, {} invited",
            l.accounts.len(),
            l.keys.len(),
            l.dead_keys.len(),
            l.invited
        );
    }
    let node = Node::start(dir.path(), database, NODE_ARGS);
    let acknowledged = ledger.lock().expect("ledger").clone();
    check_acknowledged(&node, &admin, &acknowledged).await;
    check_whole(database).await;
    check_mail_delivered_once(dir.path(), database).await;
    let l = ledger.lock().expect("ledger");
    assert!(l.accounts.len() + l.deleted_accounts.len() > KILL_POINTS, "the load did real work");
    assert!(!l.dead_keys.is_empty() && l.invited > 0, "every kind of write was tried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_twenty_kills_losing_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    crash_and_check(&format!("sqlite://{}", dir.path().join("crash.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_twenty_kills_losing_nothing() {
    let Some(server) = support::postgres::server_url() else { return };
    let db = support::postgres::FreshDb::create(&server).await;
    crash_and_check(&db.url).await;
}
