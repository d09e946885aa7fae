//! Support shared by the integration test binaries: fresh PostgreSQL
//! databases, the Redis server, the real `keyward` binary as a child
//! process, programs from outside the project, and a private certificate
//! authority.

#![allow(dead_code)]

pub mod node;
pub mod outside;
pub mod pki;
pub mod postgres;
pub mod redis;
