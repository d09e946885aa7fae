//! A fresh PostgreSQL database per test, dropped when the test ends.
//!
//! `KEYWARD_TEST_DATABASE_URL` names a server (any database on it; default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets a database
//! of its own there. When nothing answers there the test fails, unless
//! `postgres` is skipped (see `outside`).

use std::time::Duration;

use sqlx::Connection;

pub const URL_VAR: &str = "KEYWARD_TEST_DATABASE_URL";
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server to test against; `None` only when skipped.
pub fn server_url() -> Option<String> {
    super::outside::server("postgres", URL_VAR, DEFAULT_URL, "apt-get install postgresql", |url| {
        std::net::ToSocketAddrs::to_socket_addrs(&host_port(url)).is_ok_and(|mut addrs| {
            addrs.any(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok())
        })
    })
}

/// The `host:port` a PostgreSQL URL connects to.
pub fn host_port(url: &str) -> String {
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let after_user = after_scheme.rsplit_once('@').map_or(after_scheme, |(_, h)| h);
    let host = after_user.split(['/', '?']).next().unwrap_or_default();
    if host.contains(':') { host.to_owned() } else { format!("{host}:5432") }
}

/// A database that exists for as long as this value.
pub struct FreshDb {
    pub url: String,
    name: String,
    server: String,
    /// For a migrated database: the connection that holds it (see
    /// `migrated`); it is kept, not dropped, when this value goes.
    holder: Option<sqlx::PgConnection>,
}

/// A template database with every migration applied, and the rows the
/// migrations put in it.
struct Template {
    name: String,
    tables: Vec<String>,
    rows: Vec<(String, String)>,
}

impl FreshDb {
    /// An empty database.
    pub async fn create(server: &str) -> Self {
        Self::copy_of(server, "template1", format!("kw_test_{}", keyward::domain::Id::generate())).await
    }

    /// A database with every migration applied and nothing else: migrating
    /// takes longer than copying a template, and copying longer than
    /// emptying a database used before. So databases copied from the
    /// template are kept for the next test: the first one free is taken,
    /// held by a session lock on a connection of its own (across test
    /// processes too), emptied, and given the migrations' rows again.
    pub async fn migrated(server: &str) -> Self {
        static TEMPLATE: tokio::sync::OnceCell<Template> = tokio::sync::OnceCell::const_new();
        let template = TEMPLATE.get_or_init(|| migrated_template(server)).await;
        for slot in 0.. {
            let name = format!("{}_{slot}", template.name);
            let mut holder = sqlx::PgConnection::connect(server).await.expect("connect to the PostgreSQL server");
            let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(&name)
                .fetch_one(&mut holder)
                .await
                .expect("advisory lock");
            if !held {
                let _ = holder.close().await;
                continue;
            }
            let exists =
                sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1").bind(&name).fetch_optional(&mut holder);
            let mut db = if exists.await.expect("pg_database").is_some() {
                let db = Self { url: with_database(server, &name), name, server: server.to_owned(), holder: None };
                template.empty(&db.url).await;
                db
            } else {
                Self::copy_of(server, &template.name, name).await
            };
            db.holder = Some(holder);
            return db;
        }
        unreachable!("slots never run out")
    }

    async fn copy_of(server: &str, template: &str, name: String) -> Self {
        let mut conn = sqlx::PgConnection::connect(server).await.expect("connect to the PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        Self { url: with_database(server, &name), name, server: server.to_owned(), holder: None }
    }
}

impl Template {
    /// Brings the database at `url` back to what the template holds.
    async fn empty(&self, url: &str) {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to a kept database");
        let mut tx = conn.begin().await.expect("begin");
        let tables = self.tables.join(", ");
        sqlx::query(&format!("TRUNCATE {tables} RESTART IDENTITY CASCADE")).execute(&mut *tx).await.expect("truncate");
        for (table, rows) in &self.rows {
            sqlx::query(&format!("INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::json)"))
                .bind(rows)
                .execute(&mut *tx)
                .await
                .expect("the migrations' rows");
        }
        tx.commit().await.expect("commit");
        let _ = conn.close().await;
    }
}

/// The template database for the migrations in the tree, made first if no
/// test run made it before: `kw_template_` and a digest of the migrations,
/// so that a change to them makes a new one. Made under another name and
/// renamed when complete, so that concurrent runs never copy a template
/// half made.
async fn migrated_template(server: &str) -> Template {
    use sha2::Digest;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("migrations").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut digest = sha2::Sha256::new();
    for file in files {
        digest.update(file.file_name().expect("name").as_encoded_bytes());
        digest.update(std::fs::read(&file).expect("migration"));
    }
    let hex: String = digest.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let name = format!("kw_template_{hex}");
    let mut conn = sqlx::PgConnection::connect(server).await.expect("connect to the PostgreSQL server");
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1").bind(&name).fetch_optional(&mut conn);
    if exists.await.expect("pg_database").is_none() {
        let building = FreshDb::create(server).await;
        let store = keyward::store::Store::connect(&building.url).await.expect("open the template");
        store.migrate().await.expect("migrate the template");
        store.close().await;
        let rename = format!("ALTER DATABASE {} RENAME TO {name}", building.name);
        if sqlx::query(&rename).execute(&mut conn).await.is_ok() {
            // Kept, under its new name.
            std::mem::forget(building);
        }
        // Otherwise another run made it meanwhile; this copy is dropped.
    }
    let _ = conn.close().await;
    // What the migrations left in it, to put back in a kept database.
    let mut conn = sqlx::PgConnection::connect(&with_database(server, &name)).await.expect("connect to the template");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut rows = Vec::new();
    for table in &tables {
        let json: Option<String> = sqlx::query_scalar(&format!("SELECT json_agg(t)::text FROM {table} t"))
            .fetch_one(&mut conn)
            .await
            .expect("rows");
        rows.extend(json.map(|json| (table.clone(), json)));
    }
    let _ = conn.close().await;
    Template { name, tables, rows }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if self.holder.is_some() {
            // Kept for the next test: the held connection closes with it,
            // and another test may take it.
            return;
        }
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
