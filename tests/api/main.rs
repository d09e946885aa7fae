//! HTTP integration tests on SQLite: each test starts the real router on a
//! loopback port with a fresh database of its own. `tests/api_postgres.rs`
//! runs the same files on PostgreSQL.

/// The engine this binary runs the suite on.
pub const ENGINE: helpers::Engine = helpers::Engine::Sqlite;

mod helpers;
#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod audit;
mod bad_input;
mod deletion;
mod gateway;
mod github_reports;
mod idempotency;
mod identity;
mod keys;
mod leaks;
mod lifecycle;
mod mail;
mod narrow;
mod org_policy;
mod platform;
mod reports;
mod roles;
mod seed;
mod signing;
mod smtp;
mod tokens;
mod trust;
mod users;
mod webhooks;
