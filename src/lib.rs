//! keyward: service accounts and API keys for machines.
//!
//! `domain` holds the vocabulary and rules, `store` the SQL, `service` the
//! use cases, `http` the REST API, `web` the web app, `mail` and `webhooks`
//! the background senders; `cli` and `server` run them.

pub mod cli;
pub mod config;
pub mod domain;
pub mod files;
pub mod html;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod redact;
pub mod server;
pub mod service;
pub mod store;
pub mod web;
pub mod webhooks;
