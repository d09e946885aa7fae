//! Support shared by the integration test binaries: fresh PostgreSQL
//! databases, the Redis server, the real `keyward` binary as a child
//! process, and programs from outside the project.

#![allow(dead_code)]

pub mod node;
pub mod outside;
pub mod postgres;
pub mod redis;
