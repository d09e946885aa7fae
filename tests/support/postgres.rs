//! A fresh PostgreSQL database per test, dropped when the test ends.
//!
//! `KEYWARD_TEST_DATABASE_URL` names a server (any database on it, such as
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets a database
//! of its own there. Unset, PostgreSQL tests are skipped with a note, unless
//! `KEYWARD_TEST_STRICT` is set (as `.ci/run` does): then they fail.

use sqlx::Connection;

pub const URL_VAR: &str = "KEYWARD_TEST_DATABASE_URL";

/// The server to test against, or `None` (after a note) to skip.
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("KEYWARD_TEST_STRICT").is_none(),
                "{URL_VAR} must point at a PostgreSQL server (KEYWARD_TEST_STRICT is set)"
            );
            eprintln!("SKIPPED: set {URL_VAR}=postgres://… to run the PostgreSQL tests");
            None
        }
    }
}

/// A database that exists for as long as this value.
pub struct FreshDb {
    pub url: String,
    name: String,
    server: String,
}

impl FreshDb {
    pub async fn create(server: &str) -> Self {
        let name = format!("kw_test_{}", keyward::domain::Id::generate());
        let mut conn = sqlx::PgConnection::connect(server).await.expect("connect to the PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
        let _ = conn.close().await;
        Self { url: with_database(server, &name), name, server: server.to_owned() }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop may run inside a runtime, which cannot be blocked on: a thread
        // of its own does the asynchronous clean-up.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{database}?{q}"),
        None => format!("{root}/{database}"),
    }
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
    assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
