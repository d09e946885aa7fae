//! Support shared by the integration test binaries: fresh PostgreSQL
//! databases, the Redis server, and the real `keyward` binary as a child
//! process.

#![allow(dead_code)]

pub mod node;
pub mod postgres;
pub mod redis;
