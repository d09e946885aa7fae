//! Native TLS through the real binary, with a private CA made at run time:
//! curl and an HTTP/2 client verifying the chain, TLS 1.1 refused, a reload
//! in the middle of traffic, an expired certificate replaced by changing
//! the files, refusals at start, slow and idle clients cut, and session
//! cookies marked `Secure`.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Version};
use serde_json::{Value, json};
use support::metric;
use support::node::{Node, Process, bootstrap, run, run_json};
use support::outside::outside_program;
use support::pki::{Ca, Leaf};
use support::wait::{wait_for, wait_until};

/// The name the certificates are made for; clients resolve it to 127.0.0.1.
const HOST: &str = "keyward.test";
const DATABASE: &str = "sqlite://k.db";
/// Longest any wait here lasts; only reached when the server is broken.
const PATIENCE: Duration = Duration::from_secs(20);
/// A person's password, as typed on standard input.
const PASSPHRASE: &str = "a long and secret passphrase\n";

/// A private root CA and where a node reads its certificate and key.
struct Site {
    dir: tempfile::TempDir,
    ca: Ca,
    ca_file: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Site {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::root("keyward test root");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        Self { dir, ca, ca_file, cert, key }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn leaf(&self, common_name: &str, expired: bool) -> Leaf {
        self.ca.leaf(&[HOST], common_name, expired)
    }

    fn install(&self, leaf: &Leaf) {
        leaf.install(&self.cert, &self.key);
    }

    fn tls_args(&self) -> Vec<String> {
        vec!["--tls-cert".into(), self.cert.display().to_string(), "--tls-key".into(), self.key.display().to_string()]
    }

    /// A node serving the installed pair, named by flags.
    fn start(&self, extra: &[&str]) -> Node {
        let mut args = self.tls_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        up(Node::spawn(self.path(), DATABASE, &args.iter().map(String::as_str).collect::<Vec<_>>()))
    }

    /// A node serving the installed pair, named by its configuration file.
    fn start_from_config_file(&self) -> Node {
        let config = format!("tls-cert = {:?}\ntls-key = {:?}\n", self.cert.display(), self.key.display());
        std::fs::write(self.path().join("keyward.toml"), config).expect("write");
        up(Node::spawn(self.path(), DATABASE, &[]))
    }

    /// A client that trusts the private root alone and speaks HTTP/2 when
    /// the server offers it.
    fn client(&self, node: &Node) -> reqwest::ClientBuilder {
        client_trusting(&self.ca.pem(), node.port)
    }

    /// A client that makes a new connection, with its own handshake, for
    /// every request: HTTP/1.1 with no idle connection kept (an HTTP/2 one
    /// stays shared while its client lives).
    fn fresh_client(&self, node: &Node) -> reqwest::Client {
        self.client(node).pool_max_idle_per_host(0).http1_only().build().expect("client")
    }
}

/// `process` once it serves, reached by the name its certificate is for.
fn up(process: Process) -> Node {
    let mut node = process.serving();
    assert!(node.base.starts_with("https://"), "{} is not served over TLS", node.base);
    node.base = format!("https://{HOST}:{}", node.port);
    node
}

fn client_trusting(ca_pem: &str, port: u16) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA"))
        .resolve(HOST, SocketAddr::from(([127, 0, 0, 1], port)))
        .tls_info(true)
        .timeout(PATIENCE)
}

/// The certificate the server presented on the response's connection.
fn peer_cert(res: &reqwest::Response) -> Vec<u8> {
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("the connection's certificate")
        .to_vec()
}

/// An error with its causes, where rustls says what it refused.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// `curl` on `path` of `node`, resolving HOST to 127.0.0.1; stdout is the
/// status and HTTP version.
fn curl(curl: &Path, site: &Site, node: &Node, path: &str, args: &[&str]) -> Output {
    Command::new(curl)
        .args(["--silent", "--show-error", "--max-time", "20", "--output", "/dev/null"])
        .args(["--write-out", "%{http_code} %{http_version}"])
        .args(["--resolve", &format!("{HOST}:{}:127.0.0.1", node.port)])
        .args(args)
        .arg(node.url(path))
        .current_dir(site.path())
        .output()
        .expect("run curl")
}

fn assert_answered(out: &Output, expected: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout == expected,
        "curl: {} {stdout:?} (expected {expected:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Neither the log nor anything printed holds a line of a private key.
fn assert_no_key_material(text: &str, leaves: &[&Leaf]) {
    for leaf in leaves {
        for line in leaf.key_pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "a line of a private key was logged");
        }
    }
}

#[tokio::test]
async fn curl_and_an_http2_client_verify_the_chain_from_a_private_ca() {
    let site = Site::new();
    // The file holds the server's certificate and the intermediate that
    // signed it; clients hold only the root.
    let leaf = site.ca.intermediate("keyward test intermediate").leaf(&[HOST], "keyward", false);
    site.install(&leaf);
    let (_, admin_key) = bootstrap(site.path(), DATABASE);
    let node = site.start(&[]);

    let h2 = site.client(&node).build().expect("client");
    let res = h2.get(node.url("/healthz")).send().await.expect("healthz over TLS");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.version(), Version::HTTP_2, "ALPN chose h2");
    assert_eq!(peer_cert(&res), leaf.der);
    // Handlers see the client's address over HTTP/2 too: the audit trail has it.
    let res = h2
        .post(node.url("/api/service-account/v1/service-account"))
        .header("Authorization", &admin_key)
        .json(&json!({"name": "over h2"}))
        .send()
        .await
        .expect("create over h2");
    assert_eq!(res.status(), StatusCode::CREATED);
    let account: Value = res.json().await.expect("json");
    let events: Value = h2
        .get(node.url("/api/audit/v1/event"))
        .header("Authorization", &admin_key)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["targetId"] == account["id"])
        .unwrap_or_else(|| panic!("no audit event: {events}"));
    assert_eq!(event["clientIp"], "127.0.0.1", "{event}");

    let h1 = site.client(&node).http1_only().build().expect("client");
    let res = h1.get(node.url("/healthz")).send().await.expect("healthz over HTTP/1.1");
    assert_eq!((res.status(), res.version()), (StatusCode::OK, Version::HTTP_11));
    let tls12 = site.client(&node).max_tls_version(reqwest::tls::Version::TLS_1_2).build().expect("client");
    assert_eq!(tls12.get(node.url("/healthz")).send().await.expect("TLS 1.2").status(), StatusCode::OK);
    let stranger = reqwest::Client::builder()
        .resolve(HOST, SocketAddr::from(([127, 0, 0, 1], node.port)))
        .build()
        .expect("client");
    let refused = stranger.get(node.url("/healthz")).send().await.expect_err("a client without the root refuses");
    assert!(causes(&refused).contains("UnknownIssuer"), "{}", causes(&refused));

    let Some(curl_bin) = outside_program("curl", &["/usr/bin/curl"]) else { return };
    let ca = site.ca_file.display().to_string();
    assert_answered(&curl(&curl_bin, &site, &node, "/healthz", &["--cacert", &ca, "--http1.1"]), "200 1.1");
    assert_answered(&curl(&curl_bin, &site, &node, "/healthz", &["--cacert", &ca, "--http2"]), "200 2");
    let tls12 = curl(&curl_bin, &site, &node, "/healthz", &["--cacert", &ca, "--tlsv1.2", "--tls-max", "1.2"]);
    assert_answered(&tls12, "200 2");
    // Without the root curl refuses the chain (60: the peer's certificate
    // cannot be verified).
    let unverified = curl(&curl_bin, &site, &node, "/healthz", &[]);
    assert_eq!(unverified.status.code(), Some(60), "{}", String::from_utf8_lossy(&unverified.stderr));
    // TLS 1.0 and 1.1 only, with OpenSSL's own floor lowered so that curl
    // offers them: the server answers with an alert, not a session.
    let old = curl(
        &curl_bin,
        &site,
        &node,
        "/healthz",
        &["--cacert", &ca, "--tlsv1", "--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0"],
    );
    let stderr = String::from_utf8_lossy(&old.stderr);
    assert_eq!(old.status.code(), Some(35), "TLS 1.1 was served: {stderr}");
    assert!(stderr.contains("alert"), "the refusal came from curl, not the server: {stderr}");
}

/// Requests made in a loop until told to stop: how many, which failed,
/// and each distinct certificate seen, in order.
#[derive(Default)]
struct Tally {
    answered: usize,
    failures: Vec<String>,
    certs: Vec<Vec<u8>>,
}

type SharedTally = Arc<Mutex<Tally>>;

/// Asks with the client `next` gives each time (the same one to keep a
/// connection, a new one for a new connection) until `stop`.
async fn keep_asking(next: impl Fn() -> reqwest::Client, url: String, stop: Arc<AtomicBool>, tally: SharedTally) {
    while !stop.load(Ordering::Relaxed) {
        let outcome = next().get(&url).send().await;
        let mut tally = tally.lock().expect("tally");
        match outcome {
            Ok(res) if res.status() == StatusCode::OK => {
                let cert = peer_cert(&res);
                if tally.certs.last() != Some(&cert) {
                    tally.certs.push(cert);
                }
                tally.answered += 1;
            }
            Ok(res) => tally.failures.push(format!("status {}", res.status())),
            Err(e) => tally.failures.push(causes(&e)),
        }
    }
}

/// Waits until `done` holds for every tally.
async fn tallies_reach(tallies: &[&SharedTally], what: &str, done: impl Fn(&Tally) -> bool) {
    let what = format!("the request loops to get to {what}");
    wait_until(PATIENCE, &what, async || tallies.iter().all(|t| done(&t.lock().expect("tally")))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reload_mid_traffic_fails_no_request_and_leaves_open_connections_alone() {
    let site = Site::new();
    let first = site.leaf("first", false);
    site.install(&first);
    let node = site.start(&[]);
    let url = node.url("/healthz");
    let stop = Arc::new(AtomicBool::new(false));
    let (kept, new_h2, new_h1) = (SharedTally::default(), SharedTally::default(), SharedTally::default());

    // One HTTP/2 connection opened before the reload and kept busy past
    // it; and new connections all along, over HTTP/2 from a new client each
    // time, and over HTTP/1.1 from one client, which would resume a TLS
    // session (and so skip the new certificate) if it were given one.
    let kept_client = site.client(&node).build().expect("client");
    let (ca_pem, port) = (site.ca.pem(), node.port);
    let new_h1_client = site.fresh_client(&node);
    let loops = [
        tokio::spawn(keep_asking(move || kept_client.clone(), url.clone(), stop.clone(), kept.clone())),
        tokio::spawn(keep_asking(
            move || client_trusting(&ca_pem, port).build().expect("client"),
            url.clone(),
            stop.clone(),
            new_h2.clone(),
        )),
        tokio::spawn(keep_asking(move || new_h1_client.clone(), url.clone(), stop.clone(), new_h1.clone())),
    ];
    let all = [&kept, &new_h2, &new_h1];
    tallies_reach(&all, "answers before the reload", |t| t.answered >= 3).await;

    let second = site.leaf("second", false);
    site.install(&second);
    node.signal("HUP");
    tallies_reach(&[&new_h2, &new_h1], "a new connection given the new certificate", |t| t.certs.len() >= 2).await;
    let counts: Vec<usize> = all.iter().map(|t| t.lock().expect("tally").answered).collect();
    for (tally, before) in all.iter().zip(counts) {
        tallies_reach(&[tally], "more answers after the switch", |t| t.answered >= before + 3).await;
    }
    stop.store(true, Ordering::Relaxed);
    for done in loops {
        done.await.expect("loop");
    }

    let name = |der: &Vec<u8>| match der {
        d if *d == first.der => "first",
        d if *d == second.der => "second",
        _ => "another",
    };
    for (what, tally, expected) in [
        ("the connection kept open", &kept, &["first"][..]),
        ("new HTTP/2 connections", &new_h2, &["first", "second"][..]),
        ("new HTTP/1.1 connections", &new_h1, &["first", "second"][..]),
    ] {
        let tally = tally.lock().expect("tally");
        assert!(tally.failures.is_empty(), "{what}: {} failed: {:?}", tally.failures.len(), tally.failures);
        assert_eq!(tally.certs.iter().map(name).collect::<Vec<_>>(), expected, "{what}");
    }
    let log = node.read_log();
    assert!(log.contains("reloaded the TLS certificate") && log.contains("CN=second"), "{log}");
    assert_no_key_material(&log, &[&first, &second]);
}

#[tokio::test]
async fn an_expired_certificate_is_replaced_by_changing_the_files_and_a_mismatched_pair_is_not_served() {
    let site = Site::new();
    let expired = site.leaf("expired", true);
    site.install(&expired);
    let node = site.start(&[]);
    assert!(node.read_log().contains("the TLS certificate has expired"), "{}", node.read_log());
    let url = node.url("/healthz");
    let verifying = site.fresh_client(&node);
    let refused = verifying.get(&url).send().await.expect_err("an expired certificate is refused");
    assert!(causes(&refused).contains("certificate expired"), "{}", causes(&refused));

    // A renewal that has written the certificate but not yet its key: the
    // pair does not match, and the expired one is still served.
    let renewed = site.leaf("renewed", false);
    std::fs::write(&site.cert, &renewed.chain_pem).expect("write");
    node.signal("HUP");
    let log = node.wait_for_log("could not reload the TLS certificate", PATIENCE);
    assert!(log.contains("their public keys differ"), "{log}");
    let trusting = site.client(&node).danger_accept_invalid_certs(true).pool_max_idle_per_host(0).build();
    let res = trusting.expect("client").get(&url).send().await.expect("still served");
    assert_eq!(peer_cert(&res), expired.der);

    // The key follows, with no signal: the files are polled.
    std::fs::write(&site.key, &renewed.key_pem).expect("write");
    let res = wait_for(PATIENCE, "the renewed certificate and key to be served", async || {
        verifying.get(&url).send().await.map_err(|e| format!("{}:\n{}", causes(&e), node.read_log()))
    })
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(peer_cert(&res), renewed.der);
    let log = node.read_log();
    assert!(log.contains("trigger=\"file change\"") && log.contains("CN=renewed"), "{log}");
    assert_no_key_material(&log, &[&expired, &renewed]);
}

#[test]
fn a_bad_or_mismatched_certificate_or_key_stops_the_start_with_the_file_named() {
    let site = Site::new();
    let (a, b) = (site.leaf("a", false), site.leaf("b", false));
    let file = |name: &str, contents: &str| {
        let path = site.path().join(name);
        std::fs::write(&path, contents).expect("write");
        path.display().to_string()
    };
    let (cert_a, key_a, key_b) = (file("a.pem", &a.chain_pem), file("a.key", &a.key_pem), file("b.key", &b.key_pem));
    let not_pem = file("notes.txt", "a certificate, surely\n");
    let bad_base64 = file("bad.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
    let missing = site.path().join("missing.key").display().to_string();
    // A key whose line breaks were lost on the way (an environment
    // variable, a secrets store): its refusal must not quote it.
    let flattened = file("flat.key", &a.key_pem.trim_end().replace('\n', "\\n"));
    let cases: [(&[&str], &[&str]); 7] = [
        (&["--tls-cert", &cert_a, "--tls-key", &flattened], &["--tls-key", &flattened]),
        (&["--tls-cert", &cert_a, "--tls-key", &key_b], &["--tls-key", &key_b, &cert_a, "public keys differ"]),
        (&["--tls-cert", &not_pem, "--tls-key", &key_a], &["--tls-cert", &not_pem, "no PEM certificate"]),
        (&["--tls-cert", &bad_base64, "--tls-key", &key_a], &["--tls-cert", &bad_base64, "not valid PEM"]),
        (&["--tls-cert", &key_a, "--tls-key", &cert_a], &["--tls-cert", "swapped"]),
        (&["--tls-cert", &cert_a, "--tls-key", &missing], &["--tls-key", &missing, "could not read it"]),
        (&["--tls-cert", &cert_a], &["--tls-cert needs --tls-key"]),
    ];
    for (args, says) in cases {
        let mut node = Node::spawn(site.path(), DATABASE, args);
        let status = node.wait_for_exit(PATIENCE);
        let log = node.read_log();
        assert!(!status.success(), "{args:?} started");
        for words in says {
            assert!(log.contains(words), "{args:?}: the message lacks {words:?}:\n{log}");
        }
        assert_no_key_material(&log, &[&a, &b]);
    }
    assert!(!site.path().join("k.db").exists(), "refused before the database was opened");
}

#[tokio::test]
async fn a_silent_client_and_an_idle_http2_connection_give_their_slots_back() {
    let site = Site::new();
    site.install(&site.leaf("keyward", false));
    let (_, admin_key) = bootstrap(site.path(), DATABASE);
    let node = site.start(&["--header-read-timeout", "1"]);

    // Connects and never starts the handshake: closed at the timeout.
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
    silent.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    let since = Instant::now();
    let mut buf = [0u8; 64];
    match std::io::Read::read(&mut silent, &mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("the server sent {n} bytes to a client that said nothing"),
        Err(e) => assert!(
            !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
            "still open after {PATIENCE:?}"
        ),
    }
    assert!(since.elapsed() < Duration::from_secs(5), "closed only after {:?}", since.elapsed());

    // One request on HTTP/2, then nothing: the server ends the connection.
    let idle = site.client(&node).build().expect("client");
    let res = idle.get(node.url("/healthz")).send().await.expect("healthz");
    assert_eq!(res.version(), Version::HTTP_2);
    // Cut at the header read timeout: then only the connection asking the
    // metrics is open.
    wait_for(PATIENCE, "the idle HTTP/2 connection to be closed", async || {
        let metrics = site
            .fresh_client(&node)
            .get(node.url("/metrics"))
            .header("Authorization", &admin_key)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let open = metric(&metrics, "keyward_http_open_connections")
            .unwrap_or_else(|| panic!("no open-connections gauge:\n{metrics}"));
        if open == 1.0 { Ok(()) } else { Err(format!("{open} connections open")) }
    })
    .await;
    // The client notices and reconnects by itself.
    assert_eq!(idle.get(node.url("/healthz")).send().await.expect("again").status(), StatusCode::OK);
    drop(silent);
}

#[tokio::test]
async fn over_tls_from_the_configuration_file_the_public_url_is_https_and_session_cookies_are_secure() {
    let site = Site::new();
    site.install(&site.leaf("keyward", false));
    let node = site.start_from_config_file();
    let log = node.wait_for_log("/setup?token=", PATIENCE);
    assert!(log.contains(&format!("public_url=https://127.0.0.1:{}", node.port)), "{log}");
    assert!(log.contains(&format!("link=https://127.0.0.1:{}/setup?token=", node.port)), "{log}");

    let org = run_json(site.path(), &["admin", "create-org", "--name", "Acme", "--database", DATABASE]);
    let org = org["id"].as_str().expect("org id");
    let args = ["admin", "create-user", "--org", org, "--database", DATABASE, "--email", "ada@example.com"];
    let created =
        run(site.path(), &[&args[..], &["--role", "admin", "--password-stdin"]].concat(), &[], Some(PASSPHRASE));
    assert!(created.status.success(), "create-user: {}", String::from_utf8_lossy(&created.stderr));

    let client = site.client(&node).build().expect("client");
    let res = client
        .post(node.url("/api/session/v1/login"))
        .json(&json!({"email": "ada@example.com", "password": PASSPHRASE.trim_end()}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let cookies: Vec<&str> = res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in cookies {
        assert!(cookie.starts_with("__Host-") && cookie.contains("; Secure"), "{cookie}");
    }
}

/// `systemctl reload` sends SIGHUP whether TLS is on or not: without it the
/// node logs that there is nothing to reload and keeps serving.
#[test]
fn a_node_without_tls_keeps_serving_through_sighup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), DATABASE, &[]);
    node.signal("HUP");
    node.wait_for_log("nothing to reload", PATIENCE);
    node.wait_until_healthy(PATIENCE);
}
