//! The SQLite and PostgreSQL migrations give the same schema: the same
//! tables, columns (type, nullability), keys, unique and check constraints,
//! foreign keys and indexes. And a database made before a migration that
//! rebuilds tables comes through it with its rows.

mod support;

use std::collections::BTreeSet;

use keyward::store::Store;
use sqlx::Row;
use support::postgres::{FreshDb, server_url};

/// One fact about the schema, in a form both engines can be brought to.
type Facts = BTreeSet<String>;

fn normalize_type(t: &str) -> String {
    match t.to_ascii_lowercase().as_str() {
        "int8" | "bigint" => "bigint".into(),
        "int4" | "integer" | "int" => "integer".into(),
        "text" | "character varying" | "varchar" => "text".into(),
        other => other.into(),
    }
}

async fn sqlite_facts(url: &str) -> Facts {
    let store = Store::connect(url).await.expect("sqlite");
    store.migrate().await.expect("migrate");
    let mut conn = store.read().await.expect("conn");
    let mut facts = Facts::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("tables");
    for table in &tables {
        facts.insert(format!("table {table}"));
        let columns = sqlx::query(&format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}')"))
            .fetch_all(&mut *conn)
            .await
            .expect("columns");
        let mut pk = Vec::new();
        for c in &columns {
            let name: String = c.get("name");
            let pk_pos: i64 = c.get("pk");
            // A primary key column is NOT NULL in PostgreSQL whatever was written.
            let not_null = c.get::<i64, _>("notnull") != 0 || pk_pos > 0;
            facts.insert(format!(
                "column {table}.{name} {} {}",
                normalize_type(&c.get::<String, _>("type")),
                if not_null { "not null" } else { "null" }
            ));
            if pk_pos > 0 {
                pk.push((pk_pos, name));
            }
        }
        pk.sort();
        facts.insert(format!("primary key {table} ({})", pk.into_iter().map(|p| p.1).collect::<Vec<_>>().join(", ")));
        let indexes =
            sqlx::query(&format!("SELECT name, \"unique\", origin, partial FROM pragma_index_list('{table}')"))
                .fetch_all(&mut *conn)
                .await
                .expect("indexes");
        for i in &indexes {
            let name: String = i.get("name");
            let origin: String = i.get("origin");
            let cols: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"))
                    .fetch_all(&mut *conn)
                    .await
                    .expect("index columns");
            match origin.as_str() {
                "u" => facts.insert(format!("unique {table} ({})", cols.join(", "))),
                "c" => {
                    let partial = if i.get::<i64, _>("partial") == 1 { " partial" } else { "" };
                    facts.insert(format!("index {name} on {table} ({}){partial}", cols.join(", ")))
                }
                _ => true,
            };
        }
        // One row per column: a key over several columns is brought together
        // in column order, as PostgreSQL writes it.
        let fks = sqlx::query(&format!(
            "SELECT id, \"table\" AS target, \"from\", \"to\", on_delete FROM pragma_foreign_key_list('{table}') \
             ORDER BY id, seq"
        ))
        .fetch_all(&mut *conn)
        .await
        .expect("foreign keys");
        let mut keys: std::collections::BTreeMap<i64, (String, Vec<String>, Vec<String>, String)> = Default::default();
        for fk in &fks {
            let key = keys.entry(fk.get("id")).or_insert_with(|| {
                (fk.get("target"), Vec::new(), Vec::new(), fk.get::<String, _>("on_delete").to_lowercase())
            });
            key.1.push(fk.get("from"));
            key.2.push(fk.get("to"));
        }
        for (target, from, to, on_delete) in keys.into_values() {
            facts.insert(format!(
                "foreign key {table}.{} -> {target}.{} on delete {on_delete}",
                from.join(", "),
                to.join(", ")
            ));
        }
        let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(table)
            .fetch_one(&mut *conn)
            .await
            .expect("table sql");
        for check in checks_in(&sql) {
            facts.insert(format!("check {table} {check}"));
        }
    }
    facts
}

/// The CHECK expressions of a CREATE TABLE statement, spaces squeezed.
fn checks_in(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find("CHECK (") {
        let body = &rest[i + 7..];
        let mut depth = 1;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(body.len(), |(j, _)| j);
        out.push(squeeze(&body[..end]));
        rest = &body[end..];
    }
    out
}

/// PostgreSQL's rendering of `x IN (0, 1)` is `((x = ANY (ARRAY[(0)::bigint, …])))`;
/// this brings it back to the form written in the migration.
fn postgres_check(def: &str) -> String {
    let mut s = squeeze(def.trim_start_matches("CHECK "));
    for noise in ["::bigint", "::text", "array[", "]"] {
        s = s.replace(noise, "");
    }
    s.replace("=any", "in")
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')').collect::<String>().to_lowercase()
}

async fn postgres_facts(url: &str) -> Facts {
    let store = Store::connect(url).await.expect("postgres");
    store.migrate().await.expect("migrate");
    let mut conn = store.read().await.expect("conn");
    let mut facts = Facts::new();
    let columns = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, is_nullable::text AS n \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("columns");
    for c in &columns {
        let table: String = c.get("t");
        facts.insert(format!("table {table}"));
        let nullable: String = c.get("n");
        facts.insert(format!(
            "column {table}.{} {} {}",
            c.get::<String, _>("c"),
            normalize_type(&c.get::<String, _>("ty")),
            if nullable == "NO" { "not null" } else { "null" }
        ));
    }
    let constraints = sqlx::query(
        "SELECT cl.relname::text AS t, con.contype::text AS kind, pg_get_constraintdef(con.oid)::text AS def \
         FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid \
         JOIN pg_namespace ns ON ns.oid = cl.relnamespace \
         WHERE ns.nspname = 'public' AND cl.relname NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("constraints");
    for c in &constraints {
        let table: String = c.get("t");
        let def: String = c.get("def");
        let inner = |prefix: &str| {
            def.trim_start_matches(prefix).split(')').next().unwrap_or("").trim_start_matches('(').to_owned()
        };
        match c.get::<String, _>("kind").as_str() {
            "p" => facts.insert(format!("primary key {table} ({})", inner("PRIMARY KEY "))),
            "u" => facts.insert(format!("unique {table} ({})", inner("UNIQUE "))),
            "c" => facts.insert(format!("check {table} {}", postgres_check(&def))),
            "f" => {
                // FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
                let from = inner("FOREIGN KEY ");
                let after = def.split("REFERENCES ").nth(1).unwrap_or("");
                let (target, to) = after.split_once('(').unwrap_or(("", ""));
                let to = to.split(')').next().unwrap_or("");
                let on_delete = if def.contains("ON DELETE CASCADE") { "cascade" } else { "no action" };
                facts.insert(format!("foreign key {table}.{from} -> {target}.{to} on delete {on_delete}"))
            }
            _ => true,
        };
    }
    let indexes = sqlx::query(
        "SELECT i.tablename::text AS t, i.indexname::text AS name, i.indexdef::text AS def FROM pg_indexes i \
         WHERE i.schemaname = 'public' AND i.tablename NOT LIKE '_sqlx%' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("indexes");
    for i in &indexes {
        let def: String = i.get("def");
        // `CREATE INDEX … USING btree (a, b)`, with ` WHERE (…)` after it
        // for a partial index.
        let (def, partial) = match def.split_once(" WHERE ") {
            Some((def, _)) => (def.to_owned(), " partial"),
            None => (def, ""),
        };
        let cols = def.rsplit('(').next().unwrap_or("").trim_end_matches(')');
        facts.insert(format!("index {} on {} ({cols}){partial}", i.get::<String, _>("name"), i.get::<String, _>("t")));
    }
    facts
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_give_the_same_schema() {
    let Some(server) = server_url() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = sqlite_facts(&format!("sqlite://{}", dir.path().join("schema.db").display())).await;
    let db = FreshDb::create(&server).await;
    let postgres = postgres_facts(&db.url).await;

    assert!(
        sqlite.iter().any(|f| f.starts_with("column api_keys.secret_hash")),
        "the schema was not read: {sqlite:#?}"
    );
    assert!(sqlite.iter().any(|f| f.starts_with("check ")) && sqlite.iter().any(|f| f.starts_with("foreign key ")));
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migrations differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}

/// Applies the engine's migrations numbered below `before` only, as an
/// older release would have.
async fn migrate_up_to(url: &str, engine: &str, before: &str) {
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(engine);
    let older = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(&all).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        if name.as_str() < before {
            std::fs::copy(&path, older.path().join(&name)).expect("copy");
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let migrator = sqlx::migrate::Migrator::new(older.path()).await.expect("migrations");
    migrator.run(&pool).await.expect("older migrations");
    pool.close().await;
}

async fn execute(store: &Store, sql: &str) -> Result<(), sqlx::Error> {
    let mut tx = store.begin().await.expect("tx");
    sqlx::query(sql).execute(tx.conn()).await?;
    tx.commit().await.expect("commit");
    Ok(())
}

/// `(id, user_id, org_id, role, email, created, accepted)` of a membership.
type MemberRow = (String, String, String, String, String, i64, Option<i64>);

/// 0005 rebuilds `memberships` (and, on SQLite, `outbox`): every member
/// keeps the id the API showed (the user's), the address and a state that
/// follows from whether the person could log in; password links issued
/// before, which went to admins, stop working; queued mail stays queued.
async fn invitations_migration_keeps_members_and_mail(url: &str, engine: &str) {
    migrate_up_to(url, engine, "0005").await;
    let store = Store::connect(url).await.expect("connect");
    for sql in [
        "INSERT INTO orgs (id, name, created) VALUES ('o1', 'Acme', 10), ('o2', 'Globex', 10)",
        "INSERT INTO users (id, email, email_folded, password_hash, created) VALUES \
         ('u1', 'Ada@Example.com', 'ada@example.com', '$argon2id$x', 10), \
         ('u2', 'grace@example.com', 'grace@example.com', NULL, 11)",
        "INSERT INTO memberships (user_id, org_id, role, created) VALUES \
         ('u1', 'o1', 'admin', 20), ('u1', 'o2', 'viewer', 21), ('u2', 'o1', 'editor', 22)",
        "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created, expires) VALUES \
         ('handed-to-an-admin', 'password', 'u2', 22, 9999999999), ('first-run', 'setup', NULL, 1, 9999999999)",
        "INSERT INTO outbox (id, org_id, kind, recipient, payload, created, attempts, next_attempt) VALUES \
         ('m1', 'o1', 'confirm-email', 'ops@example.com', '{}', 30, 2, 40)",
    ] {
        execute(&store, sql).await.expect(sql);
    }
    store.migrate().await.expect("0005 on a database with rows");

    let mut conn = store.read().await.expect("conn");
    let members: Vec<MemberRow> = sqlx::query_as(
        "SELECT id, user_id, org_id, role, email, created, accepted FROM memberships ORDER BY user_id, org_id",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("members");
    let row = |id: &str, org: &str, role: &str, email: &str, created: i64, accepted: Option<i64>| {
        (id.to_owned(), id.to_owned(), org.to_owned(), role.to_owned(), email.to_owned(), created, accepted)
    };
    assert_eq!(
        members,
        vec![
            row("u1", "o1", "admin", "Ada@Example.com", 20, Some(20)),
            row("u1", "o2", "viewer", "Ada@Example.com", 21, Some(21)),
            row("u2", "o1", "editor", "grace@example.com", 22, None),
        ]
    );
    let purposes: Vec<String> =
        sqlx::query_scalar("SELECT purpose FROM one_time_tokens").fetch_all(&mut *conn).await.expect("tokens");
    assert_eq!(purposes, vec!["setup".to_owned()], "a password link from before survived");
    let queued: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT id, kind, attempts, next_attempt FROM outbox").fetch_all(&mut *conn).await.expect("q");
    assert_eq!(queued, vec![("m1".to_owned(), "confirm-email".to_owned(), 2, 40)]);
    drop(conn);

    // The new kind is taken, an unknown one still refused; a link needs its
    // membership, and goes with it.
    let outbox = "INSERT INTO outbox (id, org_id, kind, recipient, payload, created, next_attempt) VALUES";
    execute(&store, &format!("{outbox} ('m2', 'o1', 'invitation', 'g@example.com', '{{}}', 50, 50)"))
        .await
        .expect("an invitation");
    assert!(
        execute(&store, &format!("{outbox} ('m3', 'o1', 'bogus', 'g@example.com', '{{}}', 50, 50)")).await.is_err()
    );
    let link = "INSERT INTO invitations (token_hash, org_id, member_id, created, expires) VALUES";
    assert!(execute(&store, &format!("{link} ('h0', 'o2', 'u2', 50, 60)")).await.is_err(), "a link without a member");
    execute(&store, &format!("{link} ('h1', 'o1', 'u2', 50, 60)")).await.expect("a link");
    execute(&store, "DELETE FROM memberships WHERE org_id = 'o1' AND id = 'u2'").await.expect("remove");
    let mut conn = store.read().await.expect("conn");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations").fetch_one(&mut *conn).await.expect("count");
    assert_eq!(left, 0, "a link outlived its membership");
}

#[tokio::test]
async fn the_invitations_migration_keeps_members_and_mail_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("upgrade.db").display());
    invitations_migration_keeps_members_and_mail(&url, "sqlite").await;
}

#[tokio::test]
async fn the_invitations_migration_keeps_members_and_mail_on_postgres() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    invitations_migration_keeps_members_and_mail(&db.url, "postgres").await;
}

/// 0017 adds the webhook turns and failing streaks, and rebuilds `outbox`
/// on SQLite for its new kind: endpoints, their deliveries and queued mail
/// come through, the endpoints with no streak and no reason.
async fn webhook_lanes_migration_keeps_endpoints_deliveries_and_mail(url: &str, engine: &str) {
    migrate_up_to(url, engine, "0017").await;
    let store = Store::connect(url).await.expect("connect");
    for sql in [
        "INSERT INTO orgs (id, name, created) VALUES ('o1', 'Acme', 10)",
        "INSERT INTO webhooks (id, org_id, url, events, secret_sealed, disabled, created, secret_created) VALUES \
         ('w1', 'o1', 'https://hooks.example.com/k', '[\"key.*\"]', 'v1.x', 1, 20, 20)",
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, created, attempts, next_attempt_at, \
         status) VALUES ('d1', 'w1', 'key.created', '{}', 30, 3, 40, 'pending')",
        "INSERT INTO outbox (id, org_id, kind, recipient, payload, created, attempts, next_attempt) VALUES \
         ('m1', 'o1', 'key-leaked', 'ops@example.com', '{}', 30, 2, 40)",
    ] {
        execute(&store, sql).await.expect(sql);
    }
    store.migrate().await.expect("0017 on a database with rows");

    let mut conn = store.read().await.expect("conn");
    let endpoint: (String, i64, i64, Option<i64>, i64, Option<String>) =
        sqlx::query_as("SELECT id, disabled, served, failing_since, failures, disabled_reason FROM webhooks")
            .fetch_one(&mut *conn)
            .await
            .expect("endpoint");
    assert_eq!(endpoint, ("w1".to_owned(), 1, 0, None, 0, None), "disabled by an admin before: no reason");
    let delivery: (String, i64, String) =
        sqlx::query_as("SELECT id, attempts, status FROM webhook_deliveries").fetch_one(&mut *conn).await.expect("d");
    assert_eq!(delivery, ("d1".to_owned(), 3, "pending".to_owned()));
    let queued: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT id, kind, attempts, next_attempt FROM outbox").fetch_all(&mut *conn).await.expect("q");
    assert_eq!(queued, vec![("m1".to_owned(), "key-leaked".to_owned(), 2, 40)]);
    drop(conn);

    let outbox = "INSERT INTO outbox (id, org_id, kind, recipient, payload, created, next_attempt) VALUES";
    execute(&store, &format!("{outbox} ('m2', 'o1', 'webhook-disabled', 'a@example.com', '{{}}', 50, 50)"))
        .await
        .expect("the new kind");
    assert!(
        execute(&store, &format!("{outbox} ('m3', 'o1', 'bogus', 'a@example.com', '{{}}', 50, 50)")).await.is_err()
    );
    let turn = "INSERT INTO webhook_org_turns (org_id, served) VALUES";
    execute(&store, &format!("{turn} ('o1', 1)")).await.expect("a turn");
    assert!(execute(&store, &format!("{turn} ('o1', 2)")).await.is_err(), "one turn per organization");
    execute(&store, "DELETE FROM orgs WHERE id = 'o1'").await.expect("delete the organization");
    let mut conn = store.read().await.expect("conn");
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_org_turns").fetch_one(&mut *conn).await.expect("count");
    assert_eq!(left, 0, "a turn outlived its organization");
}

#[tokio::test]
async fn the_webhook_lanes_migration_keeps_endpoints_deliveries_and_mail_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("upgrade.db").display());
    webhook_lanes_migration_keeps_endpoints_deliveries_and_mail(&url, "sqlite").await;
}

#[tokio::test]
async fn the_webhook_lanes_migration_keeps_endpoints_deliveries_and_mail_on_postgres() {
    let Some(server) = server_url() else { return };
    let db = FreshDb::create(&server).await;
    webhook_lanes_migration_keeps_endpoints_deliveries_and_mail(&db.url, "postgres").await;
}
