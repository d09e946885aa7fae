//! The real `keyward` binary as a child process, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_keyward");

pub struct Node {
    pub child: Child,
    pub port: u16,
    pub base: String,
    /// Where its standard error goes.
    pub log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Node {
    /// `keyward serve` on a free loopback port with `database`, run in `dir`,
    /// with its log written to `dir/node-PORT.log`; waits until it answers.
    pub fn start(dir: &Path, database: &str, extra: &[&str]) -> Self {
        let node = Self::spawn(dir, database, extra);
        node.wait_until_healthy(Duration::from_secs(30));
        node
    }

    /// Starts without waiting.
    pub fn spawn(dir: &Path, database: &str, extra: &[&str]) -> Self {
        let port = free_port();
        let log = dir.join(format!("node-{port}.log"));
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", database])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start keyward");
        Self { child, port, base: format!("http://127.0.0.1:{port}"), log }
    }

    /// What it has logged so far.
    pub fn read_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal by name (`TERM`, `HUP`) with kill(1).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -{name} {pid} failed");
    }

    pub fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return status;
            }
            assert!(Instant::now() < deadline, "keyward still runs after {within:?}:\n{}", self.read_log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_until_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "keyward on port {} did not become healthy", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Runs a `keyward` command to completion and parses its one JSON object.
pub fn run_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN).args(args).current_dir(dir).stdin(Stdio::null()).output().expect("run keyward");
    assert!(out.status.success(), "keyward {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

/// An organization and an admin key made with the command line: (org id, secret).
pub fn bootstrap(dir: &Path, database: &str) -> (String, String) {
    let org = run_json(dir, &["admin", "create-org", "--name", "Acme", "--database", database]);
    let org = org["id"].as_str().expect("org id").to_owned();
    let sa = run_json(
        dir,
        &[
            "admin",
            "create-service-account",
            "--org",
            &org,
            "--name",
            "ops",
            "--role",
            "admin",
            "--with-key",
            "--database",
            database,
        ],
    );
    (org, sa["key"]["secret"].as_str().expect("secret").to_owned())
}
