//! What tests need from outside the project: programs (nginx, curl,
//! Chromium…), Python's and Node's packages, and the PostgreSQL and Redis
//! servers. A test whose need is missing fails, naming it and how to get it,
//! so that `cargo test` never counts as passed a test that did not run.
//!
//! A developer who cannot have something skips the tests that need it, by
//! the name the failure gives: `KEYWARD_TEST_SKIP=chromium,nginx cargo test`.
//! Each of those tests then prints a SKIPPED note and passes.

use std::path::PathBuf;

pub const SKIP_VAR: &str = "KEYWARD_TEST_SKIP";

/// How to get each program the tests run.
const INSTALL: &[(&str, &str)] = &[
    ("chromium", "apt-get install chromium"),
    ("chromedriver", "apt-get install chromium-driver"),
    ("curl", "apt-get install curl"),
    ("nginx", "apt-get install nginx-light"),
    ("node", "apt-get install nodejs npm"),
    ("python3", "apt-get install python3"),
];

/// Whether the developer skips what needs `name` (see the module's note).
pub fn skipped(name: &str) -> bool {
    std::env::var(SKIP_VAR).unwrap_or_default().split(',').any(|s| s.trim().eq_ignore_ascii_case(name))
}

/// `what` is missing: fails the test, saying `how` to get it, unless the
/// developer skips `name`; then returns after a note.
pub fn missing(name: &str, what: &str, how: &str) {
    assert!(
        skipped(name),
        "{what}; {how} (scripts/test installs everything), or skip the tests that need it with {SKIP_VAR}={name}"
    );
    eprintln!("SKIPPED: {what}, and {SKIP_VAR} names {name}");
}

/// Where program `name` lives: the first of `candidates`, else on PATH.
/// `None` only when it is missing and skipped.
pub fn outside_program(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = candidates.iter().map(PathBuf::from).chain(on_path).find(|p| p.is_file());
    if found.is_none() {
        let how = INSTALL.iter().find(|(n, _)| *n == name).map_or("install it", |(_, how)| how);
        missing(name, &format!("{name} is not installed"), how);
    }
    found
}

/// Names the Python the tests run; `scripts/test` sets it to its virtual
/// environment's.
pub const PYTHON_VAR: &str = "KEYWARD_TEST_PYTHON";

/// The virtual environment `scripts/test` installs the tests' Python
/// packages in (with the default target folder).
const VENV_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/py/bin/python3");

/// The Python the tests run: the one `KEYWARD_TEST_PYTHON` names, else the
/// virtual environment of `scripts/test` when there is one, else the
/// system's. `None` only when it is missing and skipped.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os(PYTHON_VAR).filter(|p| !p.is_empty()).map(PathBuf::from) {
        Some(named) if named.is_file() => Some(named),
        Some(named) => {
            missing(
                "python3",
                &format!("{PYTHON_VAR} names {}, which is not there", named.display()),
                "run scripts/test --setup-only",
            );
            None
        }
        None => outside_program("python3", &[VENV_PYTHON, "/usr/bin/python3", "/usr/local/bin/python3"]),
    }
}

/// Python 3 that imports `modules` (as `import` says them: `jwt,
/// cryptography`); `None` only when they are missing and `name` skipped.
pub fn python_with(name: &str, modules: &str, how: &str) -> Option<PathBuf> {
    let python = python()?;
    let imports = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if imports {
        return Some(python);
    }
    missing(name, &format!("{} cannot import {modules}", python.display()), how);
    None
}

/// The URL of a server the tests need (PostgreSQL, Redis): the one in
/// variable `var`, else `default`, when `answers` says it answers there;
/// `None` only when it does not and `name` is skipped.
pub fn server(name: &str, var: &str, default: &str, install: &str, answers: impl Fn(&str) -> bool) -> Option<String> {
    let url = std::env::var(var).ok().filter(|u| !u.is_empty()).unwrap_or_else(|| default.to_owned());
    if answers(&url) {
        return Some(url);
    }
    missing(name, &format!("nothing answers at {url}"), &format!("start {name} ({install}) or name yours in {var}"));
    None
}
