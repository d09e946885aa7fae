//! `TestApp`: one keyward server per test, on 127.0.0.1 port 0, with a fresh
//! database (a SQLite file in a temporary folder, or a PostgreSQL database of
//! its own, as the test binary's `ENGINE` says), an organization, and an
//! admin key.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use keyward::domain::clock::ManualClock;
use keyward::domain::{Clock, Name, Role, SealingKey, SystemClock};
use keyward::http::AppState;
use keyward::server::app;
use keyward::service::accounts::NewAccount;
use keyward::service::keys::{Lifetime, NewKey};
use keyward::service::{Limits, Principal, Service};
use keyward::store::Store;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub use crate::support::outside::outside_program;
/// The suite waits as the child-process tests do (`tests/support/wait.rs`).
pub use crate::support::wait::{wait_for, wait_until};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub service: Service,
    pub store: Store,
    /// The first organization, made at start.
    pub org_id: String,
    /// A key of an admin service account of that organization.
    pub admin_key: String,
    pub db_path: std::path::PathBuf,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database, dropped with the app.
    pub postgres: Option<crate::support::postgres::FreshDb>,
    /// What seals the database's signing material (kept outside it).
    pub sealing_key: SealingKey,
}

/// Which engine a test binary runs the suite on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct Options {
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    /// Peers whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The public URL links and cookies are made for; the server's own
    /// address when `None`.
    pub public_url: Option<String>,
    /// GitHub's leak reports (`--leak-report-keys`, `--leak-action`).
    pub leak_reports: Option<keyward::http::api::leaks::LeakReports>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            // Uses are written out soon after they happen: tests wait for them.
            limits: Limits { usage_flush: std::time::Duration::from_millis(20), ..Limits::default() },
            clock: Arc::new(SystemClock),
            trusted_proxies: Vec::new(),
            public_url: None,
            leak_reports: None,
        }
    }
}

impl TestApp {
    /// `None` when the engine is not available here (the test then returns,
    /// after a note saying it was skipped).
    pub async fn spawn() -> Option<Self> {
        Self::spawn_with(Options::default()).await
    }

    /// A server whose clock only moves when the test says so.
    pub async fn spawn_with_clock(start: i64) -> Option<(Self, ManualClock)> {
        let clock = ManualClock::new(start);
        let app = Self::spawn_with(Options { clock: Arc::new(clock.clone()), ..Options::default() }).await?;
        Some((app, clock))
    }

    pub async fn spawn_with(options: Options) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("keyward.db");
        let postgres = match crate::ENGINE {
            Engine::Sqlite => None,
            Engine::Postgres => {
                Some(crate::support::postgres::FreshDb::migrated(&crate::support::postgres::server_url()?).await)
            }
        };
        let url = match &postgres {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", db_path.display()),
        };
        let store = Store::connect(&url).await.expect("open store");
        store.migrate().await.expect("migrate");
        let sealing_key = SealingKey::generate().expect("randomness");
        let service = Service::with_clock(store.clone(), options.limits, sealing_key.clone(), options.clock);
        service.adopt_secret_key().await.expect("secret key");
        service.spawn_background().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let public_url = options.public_url.clone().unwrap_or_else(|| base.clone());
        let app = app(AppState::new(service.clone(), &public_url)
            .with_trusted_proxies(&options.trusted_proxies)
            .with_leak_reports(options.leak_reports));
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
        });
        let org = service.create_org(Name::parse("Acme").expect("name")).await.expect("org");
        let mut app = Self {
            base,
            client: reqwest::Client::new(),
            service,
            store,
            org_id: org.id.to_string(),
            admin_key: String::new(),
            db_path,
            dir,
            postgres,
            sealing_key,
        };
        app.admin_key = app.key_with_role(&app.org_id.clone(), Role::Admin).await;
        Some(app)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with `Authorization: <key>` (the key's raw form).
    pub fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).header("Authorization", key)
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, key).send().await.expect("request")
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &Value) -> Response {
        self.request(Method::POST, path, key).json(body).send().await.expect("request")
    }

    pub async fn patch_json(&self, path: &str, key: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, key).json(body).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, key: &str) -> Response {
        self.request(Method::DELETE, path, key).send().await.expect("request")
    }

    /// A new organization made by the operator.
    pub async fn create_org(&self, name: &str) -> String {
        self.service.create_org(Name::parse(name).expect("name")).await.expect("org").id.to_string()
    }

    /// A new service account of `role` in `org`, with one key; returns the secret.
    pub async fn key_with_role(&self, org: &str, role: Role) -> String {
        self.account_with_key(org, role, false).await.1
    }

    /// A new service account and one key: (account id, key id, secret).
    pub async fn account_with_key(&self, org: &str, role: Role, basic: bool) -> (String, String) {
        let (account, _key, secret) = self.account_key_triple(org, role, basic).await;
        (account, secret)
    }

    pub async fn account_key_triple(&self, org: &str, role: Role, basic: bool) -> (String, String, String) {
        let by = Principal::operator(keyward::domain::Id::parse(org).expect("org id"));
        let name = format!("{role}-{}", keyward::domain::Id::generate());
        let account = self
            .service
            .create_account(
                &by,
                NewAccount {
                    name: Name::parse(&name).expect("name"),
                    enable_basic_auth: basic,
                    role,
                    email: None,
                    meta: None,
                },
            )
            .await
            .expect("account");
        let minted = self
            .service
            .create_key(
                &by,
                &account.account.id,
                NewKey { name: None, lifetime: Lifetime::Unlimited, narrowing: Default::default() },
            )
            .await
            .expect("key");
        (account.account.id.to_string(), minted.key.id.to_string(), minted.secret.expose().to_owned())
    }

    /// Creates an account over the API as the admin key; returns its JSON.
    pub async fn create_account(&self, body: Value) -> Value {
        let res = self.post_json(SA, &self.admin_key, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "create account {body}");
        res.json().await.expect("json")
    }

    /// Creates a key over the API as the admin key; returns its JSON.
    pub async fn create_key(&self, account_id: &str) -> Value {
        let res = self.post_json(&format!("{SA}/{account_id}/key"), &self.admin_key, &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED, "create key");
        res.json().await.expect("json")
    }

    /// Logs a person in over the API: (the session's `Cookie` value, its
    /// CSRF token), or the status of the refusal.
    pub async fn login(&self, email: &str, password: &str) -> Result<(String, String), StatusCode> {
        let res = self
            .client
            .post(self.url("/api/session/v1/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login");
        if res.status() != StatusCode::OK {
            return Err(res.status());
        }
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("keyward_session=") || v.starts_with("__Host-keyward_session="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
        let csrf = res.json::<Value>().await.expect("json")["csrfToken"].as_str().expect("csrf").to_owned();
        Ok((cookie, csrf))
    }

    /// Counts rows of a table straight from the database file.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let mut conn = self.store.read().await.expect("conn");
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await
            .expect("count")
    }
}

pub const SA: &str = "/api/service-account/v1/service-account";

/// Asserts a problem+json answer with `status`, returning its body.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = res.json().await.expect("problem body");
    assert_eq!(body["status"], status.as_u16());
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "problem lacks {member}: {body}");
    }
    body
}
