//! The HTTP integration suite of `tests/api/` again, on PostgreSQL: each test
//! gets a database of its own on the server named by KEYWARD_TEST_DATABASE_URL
//! (skipped with a note when it is unset, failed under KEYWARD_TEST_STRICT).

/// The engine this binary runs the suite on.
pub const ENGINE: helpers::Engine = helpers::Engine::Postgres;

#[path = "api/helpers.rs"]
mod helpers;
mod support;

#[path = "api/accounts.rs"]
mod accounts;
#[path = "api/audit.rs"]
mod audit;
#[path = "api/bad_input.rs"]
mod bad_input;
#[path = "api/deletion.rs"]
mod deletion;
#[path = "api/gateway.rs"]
mod gateway;
#[path = "api/github_reports.rs"]
mod github_reports;
#[path = "api/idempotency.rs"]
mod idempotency;
#[path = "api/identity.rs"]
mod identity;
#[path = "api/keys.rs"]
mod keys;
#[path = "api/leaks.rs"]
mod leaks;
#[path = "api/lifecycle.rs"]
mod lifecycle;
#[path = "api/mail.rs"]
mod mail;
#[path = "api/narrow.rs"]
mod narrow;
#[path = "api/org_policy.rs"]
mod org_policy;
#[path = "api/platform.rs"]
mod platform;
#[path = "api/reports.rs"]
mod reports;
#[path = "api/roles.rs"]
mod roles;
#[path = "api/seed.rs"]
mod seed;
#[path = "api/signing.rs"]
mod signing;
#[path = "api/smtp.rs"]
mod smtp;
#[path = "api/tokens.rs"]
mod tokens;
#[path = "api/trust.rs"]
mod trust;
#[path = "api/users.rs"]
mod users;
#[path = "api/webhooks.rs"]
mod webhooks;
