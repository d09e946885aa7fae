//! Support shared by the integration test binaries: fresh PostgreSQL
//! databases, the Redis server, the real `keyward` binary as a child
//! process, programs from outside the project, a private certificate
//! authority, and the one way to wait for something to happen (`wait`).

#![allow(dead_code)]

pub mod node;
pub mod outside;
pub mod pki;
pub mod postgres;
pub mod redis;
pub mod wait;

/// The `Authorization` value of Basic Auth with a key's id and secret.
pub fn basic(key_id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key_id}:{secret}")))
}

/// The value of `series` (its name and labels as exposed) in the text of
/// `/metrics`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// A loopback port held by a socket that is bound but does not listen:
/// connections to it are refused, and no other program can take it, until
/// `listen` makes it a listener (a server that comes back on the same port).
pub struct ClosedPort(tokio::net::TcpSocket);

impl ClosedPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(([127, 0, 0, 1], 0).into()).expect("bind");
        Self(socket)
    }

    pub fn port(&self) -> u16 {
        self.0.local_addr().expect("addr").port()
    }

    /// The port, listening now; needs a Tokio runtime.
    pub fn listen(self) -> std::net::TcpListener {
        let listener = self.0.listen(128).expect("listen").into_std().expect("std listener");
        listener.set_nonblocking(false).expect("blocking");
        listener
    }
}
