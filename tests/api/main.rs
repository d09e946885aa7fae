//! HTTP integration tests on SQLite: each test starts the real router on a
//! loopback port with a fresh database of its own. `tests/api_postgres.rs`
//! runs the same suite on PostgreSQL.

/// The engine this binary runs the suite on.
pub const ENGINE: helpers::Engine = helpers::Engine::Sqlite;

mod helpers;
#[path = "mod.rs"]
mod suite;
#[path = "../support/mod.rs"]
mod support;
