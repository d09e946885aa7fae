//! Programs and packages from outside the project (nginx, Python's packages,
//! Node's…). When one is missing the test is skipped with a note naming it,
//! unless KEYWARD_TEST_STRICT is set (as .ci/run does): then it fails.

use std::path::PathBuf;

/// Where program `name` lives: the first of `candidates`, else on PATH.
pub fn outside_program(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = candidates.iter().map(PathBuf::from).chain(on_path).find(|p| p.is_file());
    if found.is_none() {
        missing(name, "install it");
    }
    found
}

/// Notes that `what` is missing and how to get it (`how`), or fails the test
/// under KEYWARD_TEST_STRICT.
pub fn missing(what: &str, how: &str) {
    assert!(
        std::env::var_os("KEYWARD_TEST_STRICT").is_none(),
        "{what}: not found, and KEYWARD_TEST_STRICT is set; {how}"
    );
    eprintln!("SKIPPED: {what}: not found; {how} to run this test");
}
