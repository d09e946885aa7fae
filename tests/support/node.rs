//! The real `keyward` binary as a child process: commands run to completion,
//! and servers killed when dropped.
//!
//! A server listens on port 0 and the harness reads the address it bound
//! from its log ("keyward is serving listen=…"): no port is chosen before the
//! child starts, so none can be taken by another program in between.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::wait::wait_for_blocking;

pub const BIN: &str = env!("CARGO_BIN_EXE_keyward");
/// How long a server may take to bind on a busy machine; only reached when
/// it is broken.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The line a server logs once it listens, with the address it bound.
const SERVING: &str = "keyward is serving";

/// `keyward` run in `dir`, with no `KEYWARD_*` variable inherited from
/// whoever runs the tests: what a test does not set is the default.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KEYWARD_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs `keyward ARGS` in `dir` to completion, with `env` and, when given,
/// `stdin`; stdout and stderr are captured apart.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut child = command(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start keyward");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().expect("stdin pipe").write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait for keyward")
}

/// Runs a `keyward` command to completion and parses its one JSON object.
pub fn run_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(dir, args, &[], None);
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

/// A `keyward` process that has been started, whether or not it serves yet.
pub struct Process {
    pub child: Child,
    /// Where its standard error goes.
    pub log: PathBuf,
    /// Where its standard output goes.
    pub stdout: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// `keyward ARGS` in `dir` with `env`, its output written to
    /// `dir/node-N.log` and `dir/node-N.stdout`.
    pub fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let (log, stdout) = (dir.join(format!("node-{n}.log")), dir.join(format!("node-{n}.stdout")));
        let child = command(dir)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start keyward");
        Self { child, log, stdout }
    }

    /// What it has logged so far.
    pub fn read_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until its log holds `needle`; answers the log then.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> String {
        wait_for_blocking(within, &format!("keyward to log {needle:?}"), || {
            let log = self.read_log();
            if log.contains(needle) { Ok(log) } else { Err(log) }
        })
    }

    /// What it has printed on standard output so far.
    pub fn read_stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Sends a signal by name (`TERM`, `HUP`) with kill(1).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -{name} {pid} failed");
    }

    pub fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let log = self.log.clone();
        wait_for_blocking(within, "keyward to exit", || match self.child.try_wait().expect("child status") {
            Some(status) => Ok(status),
            None => Err(std::fs::read_to_string(&log).unwrap_or_default()),
        })
    }

    /// Waits until it logs the address it serves on (`Ok`), or exits
    /// without serving (`Err`, with its exit status).
    pub fn outcome(mut self) -> Result<Node, (ExitStatus, String)> {
        let served = wait_for_blocking(START_TIMEOUT, "keyward to serve or exit", || {
            let log = self.read_log();
            if let Some(addr) = bound_address(&log) {
                let scheme = if log.contains("tls=true") { "https" } else { "http" };
                return Ok(Ok((addr, format!("{scheme}://{addr}"))));
            }
            match self.child.try_wait().expect("child status") {
                Some(status) => Ok(Err(status)),
                None => Err(log),
            }
        });
        match served {
            Ok((addr, base)) => Ok(Node { process: self, addr, port: addr.port(), base }),
            Err(status) => {
                let log = self.read_log();
                Err((status, log))
            }
        }
    }

    /// Waits until it serves; fails the test, with its log, if it exits.
    pub fn serving(self) -> Node {
        self.outcome().unwrap_or_else(|(status, log)| panic!("keyward exited ({status}) before serving:\n{log}"))
    }
}

/// The `listen=` address of the log's "keyward is serving" line.
fn bound_address(log: &str) -> Option<SocketAddr> {
    // Whole lines only: a line being written may end mid-port.
    let written = &log[..log.rfind('\n').map_or(0, |end| end + 1)];
    let line = written.lines().find(|l| l.contains(SERVING))?;
    let value = line.split_whitespace().find_map(|field| field.strip_prefix("listen="))?;
    Some(value.parse().unwrap_or_else(|e| panic!("listen={value} is not an address ({e}): {line}")))
}

/// A `keyward` server, once it listens; killed when dropped.
pub struct Node {
    pub process: Process,
    /// The address it bound.
    pub addr: SocketAddr,
    pub port: u16,
    /// `http://` (or `https://` under TLS) and its address.
    pub base: String,
}

impl std::ops::Deref for Node {
    type Target = Process;

    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// `serve` on a port the system picks, on `database`, with `extra` flags.
pub fn serve_args<'a>(database: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--database", database];
    args.extend_from_slice(extra);
    args
}

impl Node {
    /// `keyward serve` on 127.0.0.1 with `database` and `extra` flags, run
    /// in `dir`, once it serves.
    pub fn start(dir: &Path, database: &str, extra: &[&str]) -> Self {
        Self::spawn(dir, database, extra).serving()
    }

    /// Started, not waited for (see `Process::serving`).
    pub fn spawn(dir: &Path, database: &str, extra: &[&str]) -> Process {
        Process::spawn(dir, &serve_args(database, extra), &[])
    }

    pub fn wait_until_healthy(&self, within: Duration) {
        wait_for_blocking(within, &format!("keyward on {} to answer /healthz", self.addr), || {
            if let Ok(mut stream) = std::net::TcpStream::connect(self.addr) {
                use std::io::{Read, Write};
                let _ = stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    return Ok(());
                }
            }
            Err(self.read_log())
        });
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs `body` to `path` as `credential`, holds the answer to
    /// `201 Created`, and reads what was created.
    pub async fn create(
        &self,
        client: &reqwest::Client,
        path: &str,
        credential: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let res = client.post(self.url(path)).header("Authorization", credential).json(&body).send().await;
        let res = res.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        assert_eq!(res.status(), reqwest::StatusCode::CREATED, "POST {path}");
        res.json().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}
