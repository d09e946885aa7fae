//! Programs from outside the project (curl…) that a test runs.

use std::path::PathBuf;

/// Where `name` lives: the first of `candidates`, else on PATH. When it is
/// missing the test is skipped with a note, unless KEYWARD_TEST_STRICT is
/// set (as .ci/run does): then a missing program fails the test.
pub fn outside_program(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = candidates.iter().map(PathBuf::from).chain(on_path).find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("KEYWARD_TEST_STRICT").is_none(),
            "{name} is required (KEYWARD_TEST_STRICT is set) but was not found"
        );
        eprintln!("SKIPPED: {name} is not installed; install it to run this test");
    }
    found
}
