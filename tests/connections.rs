//! The listener against slow and greedy clients, through the real
//! binary and raw sockets: slow or idle connections are cut at the header
//! read timeout, connections are capped, keep-alive and the client address
//! still work, and a stop lets the request in flight finish.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::node::{Node, bootstrap};
use support::wait::wait_until_blocking;

const SA: &str = "/api/service-account/v1/service-account";
/// Longest any assertion here waits for something that should happen; only
/// reached when the server is broken.
const PATIENCE: Duration = Duration::from_secs(20);

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("k.db").display())
}

fn connect(node: &Node) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    stream
}

fn healthz(keep_alive: bool) -> String {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {connection}\r\n\r\n")
}

/// Blocks until the server closes `stream`; returns what it sent before.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server did not close the connection within {PATIENCE:?}")
            }
            // A reset is a close too.
            Err(_) => return seen,
        }
    }
}

/// One answer on a connection that stays open: status, lower-cased head,
/// body. keyward's answers carry a Content-Length.
fn read_answer(reader: &mut BufReader<TcpStream>) -> (u16, String, Vec<u8>) {
    let mut head = String::new();
    loop {
        let before = head.len();
        reader.read_line(&mut head).expect("read an answer's head");
        assert!(head.len() > before, "the connection closed mid-answer: {head:?}");
        if head.ends_with("\r\n\r\n") {
            break;
        }
    }
    let head = head.to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"));
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map(|n| n.trim().parse::<usize>().expect("content-length"));
    let mut body = vec![0u8; length.unwrap_or(0)];
    reader.read_exact(&mut body).expect("read an answer's body");
    (status, head, body)
}

/// Sends one request on `stream` and reads its answer.
fn exchange(
    stream: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    key: &str,
    json: Option<&Value>,
) -> (u16, String, Vec<u8>) {
    let body = json.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send a request");
    read_answer(reader)
}

#[test]
fn slow_headers_silence_and_idle_keep_alive_are_cut_at_the_header_read_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(dir.path(), &sqlite(dir.path()), &["--header-read-timeout", "1"]);

    // Each measured on its own thread from the moment the server's clock
    // can have started: the connect, or the end of the previous answer.
    let cut_after = |setup: &(dyn Fn(&mut TcpStream) + Sync)| {
        let mut stream = connect(&node);
        let since = Instant::now();
        setup(&mut stream);
        let seen = read_until_closed(&mut stream);
        (since.elapsed(), seen)
    };
    let trickle = |s: &mut TcpStream| {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").expect("send part of the headers");
    };
    let silent = |_: &mut TcpStream| {};
    let [partial, nothing, idle] = std::thread::scope(|scope| {
        let partial = scope.spawn(|| cut_after(&trickle));
        let nothing = scope.spawn(|| cut_after(&silent));
        let idle = scope.spawn(|| {
            let mut stream = connect(&node);
            stream.write_all(healthz(true).as_bytes()).expect("send a request");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let (status, head, _) = read_answer(&mut reader);
            assert_eq!(status, 200, "{head}");
            assert!(!head.contains("connection: close"), "the answer closed a keep-alive connection: {head}");
            let since = Instant::now();
            let mut rest = Vec::new();
            let closed = reader.read_to_end(&mut rest);
            assert!(closed.is_ok() || closed.is_err_and(|e| e.kind() == ErrorKind::ConnectionReset));
            (since.elapsed(), rest)
        });
        [partial, nothing, idle].map(|h| h.join().expect("a client thread"))
    });
    for (what, (elapsed, seen)) in
        [("partial headers", partial), ("a silent client", nothing), ("idle keep-alive", idle)]
    {
        assert!(
            (Duration::from_millis(900)..Duration::from_secs(5)).contains(&elapsed),
            "{what} was cut after {elapsed:?}, not about 1 s"
        );
        assert!(seen.is_empty(), "{what} got an answer: {:?}", String::from_utf8_lossy(&seen));
    }
    // The server itself is fine.
    node.wait_until_healthy(PATIENCE);
}

#[test]
fn at_the_connection_cap_new_clients_wait_until_a_connection_closes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(dir.path(), &sqlite(dir.path()), &["--max-connections", "4", "--header-read-timeout", "60"]);
    // The kernel queues connections in order, so these four are the ones
    // the server takes before the fifth.
    let stalled: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(&node);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("send part of the headers");
            s
        })
        .collect();
    let mut fifth = connect(&node);
    fifth.write_all(healthz(false).as_bytes()).expect("send a whole request");

    // The warning comes when the server, holding four, waits for a slot
    // before it accepts again: the fifth stays in the backlog, unanswered.
    node.wait_for_log("connection cap reached", PATIENCE);
    fifth.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    match fifth.read(&mut byte) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the fifth connection was served past the cap of 4: {other:?}"),
    }
    fifth.set_nonblocking(false).expect("blocking");

    // Once they go, it is answered.
    let since = Instant::now();
    drop(stalled);
    fifth.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    let answer = read_until_closed(&mut fifth);
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer));
    assert!(since.elapsed() < Duration::from_secs(5), "answered only {:?} after the slots were freed", since.elapsed());
    // Warned once, not once per waiting client.
    assert_eq!(node.read_log().matches("connection cap reached").count(), 1);
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection_and_handlers_see_the_peer_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite(dir.path());
    let (_, key) = bootstrap(dir.path(), &db);
    let node = Node::start(dir.path(), &db, &[]);

    let mut stream = connect(&node);
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let (status, _, _) = exchange(&mut stream, &mut reader, "GET", "/healthz", &key, None);
    assert_eq!(status, 200);
    let created = serde_json::json!({"name": "over keep-alive"});
    let (status, head, body) = exchange(&mut stream, &mut reader, "POST", SA, &key, Some(&created));
    assert_eq!(status, 201, "{head}{}", String::from_utf8_lossy(&body));
    let account: Value = serde_json::from_slice(&body).expect("account json");
    let (status, _, body) = exchange(&mut stream, &mut reader, "GET", "/api/audit/v1/event", &key, None);
    assert_eq!(status, 200);
    let events: Value = serde_json::from_slice(&body).expect("audit json");
    let event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "serviceAccount.create" && e["targetId"] == account["id"])
        .unwrap_or_else(|| panic!("no audit event for the new account: {events}"));
    // The peer address reached the handler through the listener.
    assert_eq!(event["clientIp"], "127.0.0.1", "{event}");

    let (status, _, body) = exchange(&mut stream, &mut reader, "GET", "/metrics", &key, None);
    assert_eq!(status, 200);
    let metrics = String::from_utf8(body).expect("metrics text");
    let open = support::metric(&metrics, "keyward_http_open_connections")
        .unwrap_or_else(|| panic!("no open-connections gauge:\n{metrics}"));
    assert_eq!(open, 1.0, "open connections: this one alone");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_idle_connections_do_not_hold_the_stop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite(dir.path());
    let (_, key) = bootstrap(dir.path(), &db);
    // Timeouts far above what the stop may take: whatever holds it shows.
    let mut node = Node::start(dir.path(), &db, &["--header-read-timeout", "60", "--shutdown-timeout", "60"]);

    let mut idle = connect(&node);
    idle.write_all(healthz(true).as_bytes()).expect("send a request");
    let mut idle_reader = BufReader::new(idle.try_clone().expect("clone"));
    assert_eq!(read_answer(&mut idle_reader).0, 200);
    let mut silent = connect(&node);
    let mut trickling = connect(&node);
    trickling.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("send part of the headers");

    // A request whose handler is reading its body when the stop comes: the
    // server says "100 Continue" when the handler first asks for the body.
    let body = serde_json::json!({"name": "created while stopping"}).to_string();
    let mut busy = connect(&node);
    let head = format!(
        "POST {SA} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).expect("send the head");
    let mut busy_reader = BufReader::new(busy.try_clone().expect("clone"));
    let (status, continued, _) = read_answer(&mut busy_reader);
    assert_eq!(status, 100, "{continued}");

    let stop_sent = Instant::now();
    node.signal("TERM");
    // The stop has begun once the listener is gone.
    wait_until_blocking(PATIENCE, "keyward to stop accepting connections after SIGTERM", || {
        TcpStream::connect(("127.0.0.1", node.port)).is_err()
    });
    busy.write_all(body.as_bytes()).expect("send the body after the stop began");
    let (status, head, created) = read_answer(&mut busy_reader);
    assert_eq!(status, 201, "{head}{}", String::from_utf8_lossy(&created));
    assert!(head.contains("connection: close"), "a stopping server kept the connection open: {head}");
    assert!(read_until_closed(&mut busy).is_empty());
    assert!(read_until_closed(&mut idle).is_empty(), "the idle keep-alive connection got an answer");
    assert!(read_until_closed(&mut silent).is_empty(), "the silent connection got an answer");
    assert!(read_until_closed(&mut trickling).is_empty(), "the half-sent request got an answer");

    let status = node.wait_for_exit(PATIENCE);
    assert!(status.success(), "keyward stopped with {status}:\n{}", node.read_log());
    assert!(stop_sent.elapsed() < Duration::from_secs(10), "the stop took {:?}", stop_sent.elapsed());
    assert!(node.read_log().contains("stopped"), "{}", node.read_log());
}

#[test]
fn a_stop_waits_for_requests_in_flight_no_longer_than_the_shutdown_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite(dir.path());
    let (_, key) = bootstrap(dir.path(), &db);
    let mut node = Node::start(dir.path(), &db, &["--shutdown-timeout", "1"]);

    // A handler waiting for a body that never comes: left alone it would
    // run to the 10 s request deadline.
    let mut stuck = connect(&node);
    let head = format!(
        "POST {SA} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {key}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\nExpect: 100-continue\r\n\r\n"
    );
    stuck.write_all(head.as_bytes()).expect("send the head");
    let mut reader = BufReader::new(stuck.try_clone().expect("clone"));
    assert_eq!(read_answer(&mut reader).0, 100);

    let stop_sent = Instant::now();
    node.signal("TERM");
    let status = node.wait_for_exit(PATIENCE);
    let took = stop_sent.elapsed();
    let log = node.read_log();
    assert!(status.success(), "keyward stopped with {status}:\n{log}");
    assert!((Duration::from_millis(900)..Duration::from_secs(5)).contains(&took), "the stop took {took:?}");
    assert!(log.contains("shutdown timeout"), "{log}");
    // The usual end ran after the cut: last uses flushed, storage closed.
    assert!(log.contains("stopped"), "{log}");
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    assert!(rest.is_empty(), "the cut request got an answer: {:?}", String::from_utf8_lossy(&rest));
}

#[test]
fn sigterm_writes_the_key_uses_still_held_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sqlite(dir.path());
    let (_org, admin) = bootstrap(dir.path(), &db);
    // A use is written at most once an hour here: only the stop writes it.
    let mut node = Node::start(dir.path(), &db, &["--last-used-interval", "3600"]);
    let mut stream = connect(&node);
    let whoami = format!(
        "GET /api/service-account/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {admin}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(whoami.as_bytes()).expect("send");
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let key_id = answer
        .split("\"keyId\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("keyId in the answer")
        .to_owned();
    node.signal("TERM");
    assert!(node.wait_for_exit(PATIENCE).success(), "exit 0");
    drop(node);

    let node = Node::start(dir.path(), &db, &[]);
    let mut stream = connect(&node);
    let page = format!("GET {SA} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {admin}\r\nConnection: close\r\n\r\n");
    stream.write_all(page.as_bytes()).expect("send");
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream)).into_owned();
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    let body = if answer.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body.lines().filter(|l| l.starts_with('{')).collect::<String>()
    } else {
        body.to_owned()
    };
    let page: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let key = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["keys"].as_array().cloned().unwrap_or_default())
        .find(|k| k["keyId"] == key_id.as_str())
        .expect("the key");
    assert!(key["lastUsed"].as_i64().is_some(), "the use seen before the stop was written: {key}");
}

/// A client that asks and never reads the answer holds its slot only until
/// the server's writes stop making progress for the header read timeout:
/// then its connection is closed and the next client is served.
#[test]
fn a_client_that_never_reads_its_answers_is_cut_off_and_frees_its_slot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(dir.path(), &sqlite(dir.path()), &["--max-connections", "1", "--header-read-timeout", "1"]);
    // Pipelined requests for the OpenAPI document (over 100 KiB each): far
    // more than the kernel's buffers hold, so the server's writes stall.
    let mut greedy = connect(&node);
    let ask = "GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(400);
    greedy.write_all(ask.as_bytes()).expect("send the requests");

    let since = Instant::now();
    let mut next = connect(&node);
    next.write_all(healthz(false).as_bytes()).expect("send a whole request");
    let answer = read_until_closed(&mut next);
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer));
    assert!(since.elapsed() < PATIENCE, "the slot was freed only after {:?}", since.elapsed());
    // The greedy client's connection was closed under it, answers unread.
    greedy.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    let unread = read_until_closed(&mut greedy);
    assert!(unread.len() < ask.len() / 40 * 100_000, "every answer was written: {} bytes", unread.len());
}
