//! keyward: service accounts and API keys for machines.

pub mod domain;
pub mod metrics;
pub mod service;
pub mod store;
