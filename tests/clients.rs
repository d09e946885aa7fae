//! The typed clients under `clients/` (made by `scripts/clients.sh` from the
//! OpenAPI document) against the real binary: each language's own tests run
//! with the server's URL, an organization and an admin key in their
//! environment, and this test fails when they do. They walk the guide's flow,
//! page through a listing and read refusals as typed problems.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::node::{Node, bootstrap};
use support::outside::{missing, outside_program, python_with};

const CLIENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/clients");

/// A server on a fresh SQLite database with an organization and an admin key.
struct Server {
    node: Node,
    org: String,
    key: String,
    /// Where the database and the log are, removed once the node is gone.
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("sqlite://{}", dir.path().join("keyward.db").display());
        let (org, key) = bootstrap(dir.path(), &database);
        let node = Node::start(dir.path(), &database, &[]);
        Self { _dir: dir, node, org, key }
    }

    /// Runs `program args` in `cwd` with the server in its environment and
    /// fails, with what it printed and the server's log, when it fails.
    fn run(&self, cwd: &Path, program: &Path, args: &[&str], env: &[(&str, &str)]) {
        let out = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .env("KEYWARD_URL", &self.node.base)
            .env("KEYWARD_ORG_ID", &self.org)
            .env("KEYWARD_ADMIN_KEY", &self.key)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", program.display()));
        if !out.status.success() {
            let log = self.node.read_log();
            panic!(
                "{} {args:?} in {} failed ({}):\n--- stdout\n{}\n--- stderr\n{}\n--- server log\n{log}",
                program.display(),
                cwd.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
    }
}

/// Python 3 with what the generated package needs (clients/python/requirements.txt).
fn python_with_httpx() -> Option<PathBuf> {
    python_with("httpx", "httpx, attrs", "pip install -r clients/python/requirements.txt")
}

/// Node.js with clients/typescript's packages installed.
fn node_with_packages() -> Option<PathBuf> {
    let node = outside_program("node", &["/usr/bin/node", "/usr/local/bin/node"])?;
    let modules = Path::new(CLIENTS).join("typescript/node_modules");
    if !["typescript/bin/tsc", "openapi-fetch/package.json"].iter().all(|f| modules.join(f).is_file()) {
        missing("npm-packages", "clients/typescript has no node_modules", "run `npm ci` in clients/typescript");
        return None;
    }
    Some(node)
}

#[test]
fn the_python_client_passes_its_tests_against_the_server() {
    let Some(python) = python_with_httpx() else { return };
    let server = Server::start();
    let dir = Path::new(CLIENTS).join("python");
    server.run(
        &dir,
        &python,
        &["-m", "unittest", "discover", "-s", "tests", "-v"],
        &[("PYTHONPATH", "keyward-client"), ("PYTHONDONTWRITEBYTECODE", "1")],
    );
}

#[test]
fn the_typescript_client_passes_its_tests_against_the_server() {
    let Some(node) = node_with_packages() else { return };
    let server = Server::start();
    let dir = Path::new(CLIENTS).join("typescript");
    // The compiler checks the tests' calls against the generated types first.
    server.run(&dir, &node, &["node_modules/typescript/bin/tsc", "-p", "."], &[]);
    server.run(&dir, &node, &["--test", "dist/test/"], &[]);
}
