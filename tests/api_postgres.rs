//! The HTTP integration suite of `tests/api/` again, on PostgreSQL: each test
//! gets a database of its own on the server named by KEYWARD_TEST_DATABASE_URL.

/// The engine this binary runs the suite on.
pub const ENGINE: helpers::Engine = helpers::Engine::Postgres;

#[path = "api/helpers.rs"]
mod helpers;
#[path = "api/mod.rs"]
mod suite;
mod support;
