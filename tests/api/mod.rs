//! The HTTP integration suite: each file is one part of the API. Listed
//! here once, for both engines: `main.rs` runs it on SQLite and
//! `../api_postgres.rs` on PostgreSQL.

mod accounts;
mod audit;
mod bad_input;
mod basics;
mod ceiling;
mod decision;
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
mod signing;
mod smtp;
mod tokens;
mod trust;
mod users;
mod webhooks;
