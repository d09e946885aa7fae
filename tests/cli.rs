//! The command line, driven through the built binary exactly as an
//! operator types it: each test works in a fresh temporary folder with its
//! own SQLite file, reads stdout (one JSON object) and stderr (logs and
//! errors) separately, and talks to `keyward serve` only on 127.0.0.1.

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use keyward::domain::Id;
use keyward::service::users::MIN_PASSWORD_LEN;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use support::node::{Node, Process};

const WHOAMI: &str = "/api/service-account/v1/whoami";
const SA: &str = "/api/service-account/v1/service-account";

/// A fresh, empty working directory for one test.
struct Sandbox {
    dir: tempfile::TempDir,
}

/// What one finished command did.
struct Run {
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A sandbox and the URL of a database file in it.
    fn with_db() -> (Self, String) {
        let sb = Self::new();
        let db = sb.db_url("k.db");
        (sb, db)
    }

    /// `admin create-user` with the password on standard input, and
    /// `env` beside; `None`: without `--password-stdin`.
    fn create_user(
        &self,
        db: &str,
        org: &str,
        email: &str,
        role: &str,
        password: Option<&str>,
        env: &[(&str, &str)],
    ) -> Run {
        let mut args = vec!["admin", "create-user", "--org", org, "--email", email, "--role", role, "--database", db];
        if password.is_some() {
            args.push("--password-stdin");
        }
        self.run_with(&args, env, password.map(|p| format!("{p}\n")).as_deref())
    }

    /// A sandbox, its database's URL, and the id of an organization made there.
    fn with_org() -> (Self, String, String) {
        let (sb, db) = Self::with_db();
        let org = sb.create_org("Acme", &db);
        (sb, db, org)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// `sqlite://<abs path>` of a file in this folder.
    fn db_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.file(name).display())
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[], None)
    }

    /// Runs to completion with extra environment and, when given, `stdin`.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let out = support::node::run(self.path(), args, env, stdin);
        Run {
            what: format!("keyward {}", args.join(" ")),
            status: out.status,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// `keyward ARGS` with `env`, running in this folder, once it serves.
    fn serve(&self, args: &[&str], env: &[(&str, &str)]) -> Node {
        Process::spawn(self.path(), args, env).serving()
    }

    fn create_org(&self, name: &str, db: &str) -> String {
        let org = self.run(&["admin", "create-org", "--name", name, "--database", db]).object();
        org["id"].as_str().expect("org id").to_owned()
    }

    /// An admin service account with Basic Auth and a key: (account JSON, key JSON).
    fn admin_account_with_key(
        &self,
        org: &str,
        name: &str,
        extra: &[&str],
    ) -> (Map<String, Value>, Map<String, Value>) {
        let mut args = vec!["admin", "create-service-account", "--org", org, "--name", name, "--role", "admin"];
        args.extend_from_slice(&["--basic-auth", "--with-key"]);
        args.extend_from_slice(extra);
        let mut account = self.run(&args).object();
        let key = account.remove("key").and_then(|k| k.as_object().cloned()).expect("a key object");
        (account, key)
    }
}

impl Run {
    /// Asserts success and that stdout holds exactly one JSON object.
    fn object(&self) -> Map<String, Value> {
        assert!(self.status.success(), "{} failed ({}):\n{}", self.what, self.status, self.stderr);
        let mut values = serde_json::Deserializer::from_str(&self.stdout).into_iter::<Value>();
        let first =
            values.next().unwrap_or_else(|| panic!("{} printed nothing on stdout", self.what)).unwrap_or_else(|e| {
                panic!("{} printed something other than JSON on stdout ({e}): {:?}", self.what, self.stdout)
            });
        assert!(values.next().is_none(), "{} printed more than one JSON value: {:?}", self.what, self.stdout);
        match first {
            Value::Object(map) => map,
            other => panic!("{} printed {other}, not an object", self.what),
        }
    }

    /// Asserts failure: a non-zero exit, nothing on stdout, a message on
    /// stderr. Returns stderr.
    fn failure(&self) -> &str {
        assert!(!self.status.success(), "{} should have failed but printed {:?}", self.what, self.stdout);
        assert!(self.stdout.is_empty(), "{} failed yet printed on stdout: {:?}", self.what, self.stdout);
        assert!(!self.stderr.trim().is_empty(), "{} failed without a word on stderr", self.what);
        &self.stderr
    }
}

fn keys_of(map: &Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

fn assert_id(v: &Value) -> &str {
    let s = v.as_str().unwrap_or_else(|| panic!("{v} is not a string id"));
    assert!(
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{s:?} is not URL-safe"
    );
    s
}

fn assert_unix_seconds(v: &Value) {
    let n = v.as_i64().unwrap_or_else(|| panic!("{v} is not an integer"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    assert!((now - 300..=now + 300).contains(&n), "{n} is not Unix seconds around now ({now})");
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client")
}

async fn get(node: &Node, path: &str, authorization: &str) -> reqwest::Response {
    client().get(node.url(path)).header("Authorization", authorization).send().await.expect("request")
}

/// `whoami` with a raw key must name this account: proof that the server
/// answering reads the database this test wrote.
async fn assert_knows(node: &Node, account: &Map<String, Value>, key: &Map<String, Value>) {
    let secret = key["secret"].as_str().expect("secret");
    let res = get(node, WHOAMI, secret).await;
    assert_eq!(res.status(), StatusCode::OK, "whoami at {}:\n{}", node.base, node.read_log());
    let me: Value = res.json().await.expect("whoami json");
    assert_eq!(me["id"], account["id"]);
    assert_eq!(me["keyId"], key["keyId"]);
}

#[tokio::test]
async fn migrate_creates_the_database_applies_every_migration_and_prints_one_object() {
    let (sb, db) = Sandbox::with_db();
    let run = sb.run_with(&["migrate", "--database", &db], &[("KEYWARD_LOG", "debug")], None);
    run.object();
    assert!(!run.stderr.trim().is_empty(), "migrate logged nothing on stderr");
    assert!(!run.stdout.contains("INFO") && !run.stdout.contains("DEBUG"), "logs on stdout: {}", run.stdout);
    let file = sb.file("k.db");
    assert!(std::fs::metadata(&file).expect("k.db created").len() > 0);

    // Applied alone, and again without harm.
    sb.run(&["migrate", "--database", &db]).object();
    let migrations = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"))
        .expect("migrations folder")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql")))
        .count() as i64;
    assert!(migrations > 0);
    let store = keyward::store::Store::connect(&db).await.expect("open");
    let mut conn = store.read().await.expect("conn");
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *conn)
        .await
        .expect("migrations table");
    assert_eq!(applied, migrations);
    drop(conn);
    store.close().await;
}

#[test]
fn create_org_prints_exactly_id_and_name() {
    let (sb, db) = Sandbox::with_db();
    let run = sb.run_with(
        &["admin", "create-org", "--name", "Acme Inc", "--database", &db],
        &[("KEYWARD_LOG", "debug")],
        None,
    );
    let org = run.object();
    assert_eq!(keys_of(&org), ["id", "name"]);
    assert_eq!(org["name"], "Acme Inc");
    assert_id(&org["id"]);
    // The database was created on the way: no `migrate` needed first.
    assert!(sb.file("k.db").exists());

    let other = sb.run(&["admin", "create-org", "--name", "Globex", "--database", &db]).object();
    assert_ne!(other["id"], org["id"]);
}

#[test]
fn rotate_signing_key_prints_the_new_and_the_previous_kid() {
    let (sb, db) = Sandbox::with_db();
    let first = sb.run(&["admin", "rotate-signing-key", "--database", &db]).object();
    assert_eq!(keys_of(&first), ["kid", "previousKid"]);
    assert_eq!(first["previousKid"], Value::Null, "no key before: the first one is made");
    let second = sb.run(&["admin", "rotate-signing-key", "--database", &db]).object();
    assert_eq!(second["previousKid"], first["kid"]);
    assert_ne!(second["kid"], first["kid"]);
}

#[test]
fn create_user_reads_the_password_from_stdin_and_prints_id_email_org_and_role() {
    let (sb, db, org) = Sandbox::with_org();
    let password = format!("{}-stdin", "correct horse battery staple");
    for (email, role) in [("ada@example.com", "admin"), ("bob@example.com", "editor"), ("cy@example.com", "viewer")] {
        let run = sb.create_user(&db, &org, email, role, Some(&password), &[("KEYWARD_LOG", "debug")]);
        let user = run.object();
        assert_eq!(keys_of(&user), ["email", "id", "orgId", "role"]);
        assert_id(&user["id"]);
        assert_eq!(user["email"], email);
        assert_eq!(user["orgId"], org.as_str());
        assert_eq!(user["role"], role);
        assert!(!run.stdout.contains(&password) && !run.stderr.contains(&password), "the password was echoed");
    }
}

#[test]
fn create_service_account_prints_the_service_account_json() {
    let (sb, db, org) = Sandbox::with_org();
    let account =
        sb.run(&["admin", "create-service-account", "--org", &org, "--name", "John Doe", "--database", &db]).object();
    for field in
        ["id", "orgId", "name", "enableBasicAuth", "role", "email", "emailConfirmed", "disabled", "created", "keys"]
    {
        assert!(account.contains_key(field), "no {field} in {account:?}");
    }
    assert!(!account.contains_key("key"), "a key without --with-key");
    assert_id(&account["id"]);
    assert_eq!(account["orgId"], org.as_str());
    assert_eq!(account["name"], "John Doe");
    assert_eq!(account["role"], "viewer", "the default role");
    assert_eq!(account["enableBasicAuth"], false);
    assert_eq!(account["email"], Value::Null);
    assert_eq!(account["emailConfirmed"], false);
    assert_eq!(account["disabled"], false);
    assert_unix_seconds(&account["created"]);
    assert_eq!(account["keys"], json!([]));

    for role in ["viewer", "editor", "admin"] {
        let name = format!("{role} robot");
        let made = sb
            .run(&[
                "admin",
                "create-service-account",
                "--org",
                &org,
                "--name",
                &name,
                "--role",
                role,
                "--basic-auth",
                "--database",
                &db,
            ])
            .object();
        assert_eq!(made["role"], role);
        assert_eq!(made["enableBasicAuth"], true);
    }

    // A second account of the same name, ignoring case, is refused.
    sb.run(&["admin", "create-service-account", "--org", &org, "--name", "JOHN DOE", "--database", &db]).failure();
}

#[test]
fn create_service_account_with_key_adds_the_key_and_its_secret() {
    let (sb, db, org) = Sandbox::with_org();
    let (account, key) = sb.admin_account_with_key(&org, "deployer", &["--database", &db]);
    assert_eq!(account["role"], "admin");
    assert_eq!(account["enableBasicAuth"], true);
    for field in ["created", "keyId", "secret"] {
        assert!(key.contains_key(field), "no {field} in {key:?}");
    }
    assert_unix_seconds(&key["created"]);
    let key_id = assert_id(&key["keyId"]);
    let secret = key["secret"].as_str().expect("secret");
    assert!(secret.starts_with(keyward::domain::key::PREFIX), "{secret}");
    assert!(keyward::domain::Secret::parse(secret).is_ok(), "the secret's checksum is wrong");
    // The account's key list has the key's metadata, never its secret.
    let keys = account["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["keyId"], key_id);
    assert!(keys[0].get("secret").is_none());
    assert!(!Value::Object(account.clone()).to_string().contains(secret));

    // Every run mints a different secret.
    let (_, again) = sb.admin_account_with_key(&org, "deployer 2", &["--database", &db]);
    assert_ne!(again["secret"], key["secret"]);
    assert_ne!(again["keyId"], key["keyId"]);
}

#[test]
fn create_service_account_with_key_narrows_the_key_as_told() {
    let (sb, db, org) = Sandbox::with_org();
    let (account, key) = sb.admin_account_with_key(
        &org,
        "gateway client",
        &[
            "--meta",
            r#"{"team": "payments"}"#,
            "--key-role",
            "viewer",
            "--scope",
            "orders:read",
            "--scope",
            "orders:write",
            "--allowed-cidr",
            "10.0.0.0/8",
            "--allowed-cidr",
            "2001:db8::1",
            "--rate-limit",
            "100/60",
            "--key-meta",
            r#"{"tier": "gold"}"#,
            "--database",
            &db,
        ],
    );
    assert_eq!(account["meta"], json!({"team": "payments"}));
    for shown in [&Value::Object(key.clone()), &account["keys"][0]] {
        assert_eq!(shown["role"], "viewer");
        assert_eq!(shown["scopes"], json!(["orders:read", "orders:write"]));
        assert_eq!(shown["allowedCidrs"], json!(["10.0.0.0/8", "2001:db8::1/128"]));
        assert_eq!(shown["rateLimit"], json!({"limit": 100, "period": 60}));
        assert_eq!(shown["meta"], json!({"tier": "gold"}));
    }

    // Each bad flag is refused before anything is written: the name stays free.
    let base = ["admin", "create-service-account", "--org", &org, "--name", "refused", "--database", &db];
    for (extra, flag) in [
        (vec!["--with-key", "--scope", "Not Ok"], "--scope"),
        (vec!["--with-key", "--allowed-cidr", "10.0.0.0/40"], "--allowed-cidr"),
        (vec!["--with-key", "--rate-limit", "100"], "--rate-limit"),
        (vec!["--with-key", "--rate-limit", "0/60"], "--rate-limit"),
        (vec!["--with-key", "--key-meta", "[1]"], "--key-meta"),
        (vec!["--meta", "nope"], "--meta"),
        (vec!["--with-key", "--key-role", "admin"], "--key-role"),
        (vec!["--scope", "read"], "--with-key"),
    ] {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        let msg = sb.run(&args).failure().to_owned();
        assert!(msg.contains(flag), "{args:?}: {msg}");
    }
    sb.run(&base).object();
}

#[tokio::test]
async fn serve_answers_healthz_and_the_cli_key_works_on_whoami() {
    let (sb, db, org) = Sandbox::with_org();
    let (account, key) = sb.admin_account_with_key(&org, "deployer", &["--database", &db]);
    let password = "a long enough password";
    sb.create_user(&db, &org, "ada@example.com", "admin", Some(password), &[]).object();

    let server = sb.serve(&["serve", "--listen", "127.0.0.1:0", "--database", &db], &[]);

    let secret = key["secret"].as_str().expect("secret");
    let key_id = key["keyId"].as_str().expect("keyId");
    for authorization in [secret.to_owned(), format!("Bearer {secret}"), support::basic(key_id, secret)] {
        let res = get(&server, WHOAMI, &authorization).await;
        assert_eq!(res.status(), StatusCode::OK, "whoami with {}", authorization.split(' ').next().unwrap_or(""));
        let me: Value = res.json().await.expect("json");
        assert_eq!(me["kind"], "serviceAccount");
        assert_eq!(me["id"], account["id"]);
        assert_eq!(me["orgId"], org.as_str());
        assert_eq!(me["role"], "admin");
        assert_eq!(me["keyId"], key_id);
    }
    assert_eq!(get(&server, WHOAMI, "").await.status(), StatusCode::UNAUTHORIZED);

    // The account the CLI made is the one the API shows.
    let id = account["id"].as_str().expect("id");
    let res = get(&server, &format!("{SA}/{id}"), secret).await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen: Value = res.json().await.expect("json");
    for field in ["id", "orgId", "name", "role", "enableBasicAuth", "created"] {
        assert_eq!(seen[field], account[field], "{field}");
    }
    assert_eq!(seen["keys"][0]["keyId"], key_id);

    // The user the CLI made can log in with the password given on stdin.
    let login = client()
        .post(format!("{}/api/session/v1/login", server.base))
        .json(&json!({"email": "ada@example.com", "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK);
    let wrong = client()
        .post(format!("{}/api/session/v1/login", server.base))
        .json(&json!({"email": "ada@example.com", "password": format!("{password}!")}))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    assert!(server.read_stdout().is_empty(), "serve printed on stdout: {}", server.read_stdout());
    assert!(!server.read_log().trim().is_empty(), "serve logged nothing on stderr");
}

#[tokio::test]
async fn with_no_arguments_it_serves_on_127_0_0_1_8080_with_keyward_db_in_the_working_directory() {
    const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
    let sb = Sandbox::new();
    assert_eq!(std::fs::read_dir(sb.path()).expect("dir").count(), 0, "the folder starts empty");
    // Whether another program holds the port shows in the outcome: keyward
    // either serves there or says it could not listen there.
    match Process::spawn(sb.path(), &[], &[]).outcome() {
        Ok(server) => {
            assert_eq!(server.addr.to_string(), DEFAULT_LISTEN);
            assert!(sb.file("keyward.db").is_file(), "keyward.db was not created in the working directory");
            // The admin commands use the same default file; the server sees what they write.
            let org = sb.create_org_default("Acme");
            let (account, key) = sb.admin_account_with_key(&org, "deployer", &[]);
            assert_knows(&server, &account, &key).await;
            assert!(server.read_stdout().is_empty(), "serve printed on stdout: {}", server.read_stdout());
        }
        Err((status, log)) => {
            eprintln!(
                "NOTE: {DEFAULT_LISTEN} is in use by another program on this machine: skipping the one assertion \
                 that keyward answers there; checking instead that it tried to listen there"
            );
            assert!(!status.success());
            let tried = format!("listening on {DEFAULT_LISTEN}");
            assert!(log.contains(&tried), "keyward did not try {DEFAULT_LISTEN}:\n{log}");
            // The admin commands' default database is ./keyward.db all the same.
            sb.create_org_default("Acme");
            assert!(sb.file("keyward.db").is_file(), "keyward.db was not created in the working directory");
        }
    }
}

impl Sandbox {
    /// `create-org` with no `--database`: the default file.
    fn create_org_default(&self, name: &str) -> String {
        let org = self.run(&["admin", "create-org", "--name", name]).object();
        org["id"].as_str().expect("org id").to_owned()
    }
}

#[test]
fn database_flag_beats_environment_beats_config_file_beats_default() {
    let sb = Sandbox::new();
    let config = sb.file("keyward-test.toml");
    std::fs::write(&config, format!("database = {:?}\n", sb.db_url("file.db"))).expect("config");
    let config = config.display().to_string();
    let env_db = sb.db_url("env.db");
    let env = [("KEYWARD_DATABASE_URL", env_db.as_str())];
    let all = ["flag.db", "env.db", "file.db", "keyward.db"];
    let made = || -> Vec<&str> { all.iter().copied().filter(|f| sb.file(f).exists()).collect() };

    let flag_db = sb.db_url("flag.db");
    sb.run_with(&["admin", "create-org", "--name", "A", "--config", &config, "--database", &flag_db], &env, None)
        .object();
    assert_eq!(made(), ["flag.db"], "the flag wins");

    sb.run_with(&["admin", "create-org", "--name", "B", "--config", &config], &env, None).object();
    assert_eq!(made(), ["flag.db", "env.db"], "the environment beats the file");

    sb.run(&["admin", "create-org", "--name", "C", "--config", &config]).object();
    assert_eq!(made(), ["flag.db", "env.db", "file.db"], "the file beats the default");

    sb.run(&["admin", "create-org", "--name", "D"]).object();
    assert_eq!(made(), all, "the default is keyward.db in the working directory");

    // `migrate` takes the same sources.
    let other = sb.db_url("migrated.db");
    sb.run_with(&["migrate"], &[("KEYWARD_DATABASE_URL", other.as_str())], None).object();
    assert!(sb.file("migrated.db").exists());
}

#[tokio::test]
async fn serve_reads_every_kebab_case_key_of_a_config_file_and_flags_and_environment_beat_it() {
    let (sb, db) = Sandbox::with_db();
    // Three loopback addresses, each on a port the system picks: the one
    // keyward binds tells which source won.
    let [from_file, from_env, from_flag] = ["127.0.0.2:0", "127.0.0.3:0", "127.0.0.4:0"];
    let data_dir = sb.file("data");
    std::fs::create_dir(&data_dir).expect("data dir");
    let config = sb.file("keyward-test.toml");
    let text = format!(
        "listen = {from_file:?}\ndatabase = {db:?}\npublic-url = \"http://{from_file}/\"\ndata-dir = {:?}\n\
         mail = \"file\"\nmail-from = \"keyward@example.com\"\nmax-keys-per-account = 1\nlast-used-interval = 1\n",
        data_dir.display().to_string()
    );
    std::fs::write(&config, text).expect("config");
    let config = config.display().to_string();
    // Admin commands read the database from the same file.
    let org = sb.run(&["admin", "create-org", "--name", "Acme", "--config", &config]).object()["id"]
        .as_str()
        .expect("org")
        .to_owned();
    let (account, key) = sb.admin_account_with_key(&org, "deployer", &["--config", &config]);
    assert!(!sb.file("keyward.db").exists(), "the config file's database was ignored");

    let env = [("KEYWARD_LISTEN", from_env)];
    let ip = |listen: &str| listen.split(':').next().expect("ip").to_owned();
    {
        let server = sb.serve(&["serve", "--config", &config, "--listen", from_flag], &env);
        assert_eq!(server.addr.ip().to_string(), ip(from_flag), "the flag wins");
        assert_knows(&server, &account, &key).await;
    }
    {
        let server = sb.serve(&["serve", "--config", &config], &env);
        assert_eq!(server.addr.ip().to_string(), ip(from_env), "the environment beats the file");
        assert_knows(&server, &account, &key).await;
    }
    let server = sb.serve(&["serve", "--config", &config], &[]);
    assert_eq!(server.addr.ip().to_string(), ip(from_file), "the file's");
    assert_knows(&server, &account, &key).await;

    // max-keys-per-account = 1: the account already holds its one key.
    let id = account["id"].as_str().expect("id");
    let res = client()
        .post(format!("{}{SA}/{id}/key", server.base))
        .header("Authorization", key["secret"].as_str().expect("secret"))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CONFLICT, "max-keys-per-account from the file was not applied");
}

#[test]
fn a_config_file_that_is_missing_or_has_an_unknown_key_is_an_error() {
    let (sb, db) = Sandbox::with_db();
    let missing = sb.file("nowhere.toml").display().to_string();
    sb.run(&["admin", "create-org", "--name", "A", "--config", &missing, "--database", &db]).failure();

    let typo = sb.file("typo.toml");
    std::fs::write(&typo, "databse = \"sqlite://x.db\"\n").expect("write");
    let stderr = sb.run(&["migrate", "--config", &typo.display().to_string()]).failure().to_owned();
    assert!(stderr.contains("databse"), "the message does not name the unknown key: {stderr}");

    // snake_case is not the file's spelling.
    let snake = sb.file("snake.toml");
    std::fs::write(&snake, "max_keys_per_account = 3\n").expect("write");
    sb.run(&["migrate", "--config", &snake.display().to_string(), "--database", &db]).failure();
    assert!(!sb.file("x.db").exists() && !sb.file("keyward.db").exists());
}

#[test]
fn refused_commands_exit_non_zero_with_a_message_on_stderr_and_nothing_on_stdout() {
    let (sb, db, org) = Sandbox::with_org();
    let unknown_org = Id::generate().to_string();
    let good_password = "x".repeat(MIN_PASSWORD_LEN);
    let short_password = "x".repeat(MIN_PASSWORD_LEN - 1);
    let user =
        |org: &str, email: &str, role: &str, password: &str| sb.create_user(&db, org, email, role, Some(password), &[]);

    // A malformed organization id, and a well-formed one that does not exist.
    let msg = user("not an id", "ada@example.com", "admin", &good_password).failure().to_owned();
    assert!(msg.contains("--org"), "{msg}");
    user(&unknown_org, "ada@example.com", "admin", &good_password).failure();
    for bad in ["not an id", unknown_org.as_str()] {
        sb.run(&["admin", "create-service-account", "--org", bad, "--name", "robot", "--database", &db]).failure();
    }
    // A role that does not exist.
    let msg = user(&org, "ada@example.com", "superuser", &good_password).failure().to_owned();
    assert!(msg.contains("superuser") || msg.contains("role"), "{msg}");
    sb.run(&["admin", "create-service-account", "--org", &org, "--name", "robot", "--role", "root", "--database", &db])
        .failure();
    // A password that is too short, or none at all.
    let msg = user(&org, "ada@example.com", "admin", &short_password).failure().to_owned();
    assert!(msg.contains("password"), "{msg}");
    user(&org, "ada@example.com", "admin", "").failure();
    sb.create_user(&db, &org, "ada@example.com", "admin", None, &[]).failure();
    // A bad email, an empty name.
    user(&org, "not an email", "admin", &good_password).failure();
    sb.run(&["admin", "create-org", "--name", "", "--database", &db]).failure();
    sb.run(&["admin", "create-service-account", "--org", &org, "--name", "", "--database", &db]).failure();
    // A database URL keyward cannot use.
    sb.run(&["migrate", "--database", "mysql://127.0.0.1/keyward"]).failure();

    // Nothing refused left anything behind: the email and the name are still free.
    let ok = user(&org, "ada@example.com", "admin", &good_password).object();
    assert_eq!(ok["email"], "ada@example.com");
    sb.run(&["admin", "create-service-account", "--org", &org, "--name", "robot", "--database", &db]).object();
    // And now the email is taken.
    user(&org, "ADA@example.com", "viewer", &good_password).failure();
}
