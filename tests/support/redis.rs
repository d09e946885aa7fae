//! The Redis server the rate-limit tests share counts through.
//!
//! `KEYWARD_TEST_REDIS_URL` names it (default `redis://127.0.0.1:6379`).
//! When nothing answers there the test is skipped with a note, unless
//! `KEYWARD_TEST_STRICT` is set (as `.ci/run` does, after starting Redis):
//! then it fails.

use std::io::{Read, Write};
use std::time::Duration;

pub const URL_VAR: &str = "KEYWARD_TEST_REDIS_URL";

/// The server's URL when it answers PING, else `None` (after a note).
pub fn server_url() -> Option<String> {
    let url = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    if pings(&url) {
        return Some(url);
    }
    assert!(
        std::env::var_os("KEYWARD_TEST_STRICT").is_none(),
        "no Redis answers at {URL_VAR}={url} (KEYWARD_TEST_STRICT is set)"
    );
    eprintln!("SKIPPED: no Redis answers at {url}; start one or set {URL_VAR} to run this test");
    None
}

fn pings(url: &str) -> bool {
    let host_port = url.trim_start_matches("redis://").split(['/', '?']).next().unwrap_or("");
    let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
    let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(host_port) else { return false };
    addrs.into_iter().any(|addr| {
        let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
    })
}
