//! Runs the README's walkthrough, line for line, against a fresh server, so
//! that what a newcomer pastes keeps working.

mod support;

use std::path::Path;
use std::process::Command;

use support::node::{BIN, Process};

fn walkthrough() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md");
    let start = readme.find("<!-- walkthrough:start -->").expect("walkthrough start marker");
    let end = readme.find("<!-- walkthrough:end -->").expect("walkthrough end marker");
    let section = &readme[start..end];
    let body_start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let body_end = section[body_start..].find("```").expect("closed block") + body_start;
    section[body_start..body_end].to_owned()
}

/// The README's Layout names every top-level module of `src/`.
#[test]
fn the_layout_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let layout = readme.split("## Layout").nth(1).expect("a Layout section");
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(root.join("src")).expect("src") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        modules.push(if entry.path().is_dir() { format!("src/{name}/") } else { format!("src/{name}") });
    }
    assert!(modules.len() > 10, "src/ was read: {modules:?}");
    let missing: Vec<&String> = modules.iter().filter(|m| !layout.contains(m.as_str())).collect();
    assert!(missing.is_empty(), "the README's Layout does not name {missing:?}");
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let script = walkthrough();
    assert!(script.contains("keyward admin create-org"), "the walkthrough lost its bootstrap step");
    let dir = tempfile::tempdir().expect("temp dir");
    // The README's server: `keyward serve` in a folder of its own, on a
    // port the system picks.
    let server = Process::spawn(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]).serving();

    // `keyward` on the PATH is the binary under test, run in the server's
    // folder so that both use its keyward.db, as the README says.
    let bin_dir = Path::new(BIN).parent().expect("bin dir");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("KW", &server.base)
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the walkthrough failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    let whoami: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("kind").is_some())
        .collect();
    assert_eq!(whoami.len(), 3, "three whoami answers expected:\n{stdout}");
    for answer in &whoami {
        assert_eq!(answer["kind"], "serviceAccount");
        assert_eq!(answer["role"], "viewer");
        assert_eq!(answer["keyId"], whoami[0]["keyId"]);
    }
    assert!(stdout.lines().any(|l| l.trim() == "401"), "the deleted key was not refused:\n{stdout}");
    assert!(dir.path().join("keyward.db").exists());
}
