//! HTTP integration tests: each test starts the real router on a loopback
//! port with a fresh database of its own.

mod helpers;

mod accounts;
mod audit;
mod bad_input;
mod gateway;
mod identity;
mod keys;
mod lifecycle;
mod platform;
mod roles;
mod seed;
