//! The Redis server the rate-limit tests share counts through.
//!
//! `KEYWARD_TEST_REDIS_URL` names it (default `redis://127.0.0.1:6379`).
//! When nothing answers there the test fails, unless `redis` is skipped
//! (see `outside`).

use std::io::{Read, Write};
use std::time::Duration;

pub const URL_VAR: &str = "KEYWARD_TEST_REDIS_URL";
const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// The server's URL when it answers PING; `None` only when skipped.
pub fn server_url() -> Option<String> {
    super::outside::server("redis", URL_VAR, DEFAULT_URL, "apt-get install redis-server", pings)
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
