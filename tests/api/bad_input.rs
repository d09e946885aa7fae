//! Bad input: every refusal has its status and a problem+json
//! body naming the field at fault, and leaves nothing behind. No input, of
//! any shape, reaches a 5xx.

use std::time::{SystemTime, UNIX_EPOCH};

use keyward::domain::{Email, Id, Role};
use keyward::service::Principal;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SA, TestApp, problem};

const JSON: &str = "application/json";
const KIB_64: usize = 64 * 1024;

/// One request that must be refused. `path` is a template: `{sa}`, `{key}`
/// and `{user}` become a live account, one of its keys and a member.
struct Case {
    what: String,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    status: u16,
    /// The field or parameter the problem must name; alternatives separated
    /// by `|` where either is a fair answer.
    field: Option<&'static str>,
    /// Sent with the admin key; `false` for the calls anyone may make.
    keyed: bool,
}

fn case(
    what: impl Into<String>,
    method: Method,
    path: impl Into<String>,
    body: impl Into<Vec<u8>>,
    status: u16,
    field: Option<&'static str>,
) -> Case {
    Case {
        what: what.into(),
        method,
        path: path.into(),
        content_type: Some(JSON),
        body: Some(body.into()),
        status,
        field,
        keyed: true,
    }
}

/// A GET without a body.
fn query(path: impl Into<String>, status: u16, field: Option<&'static str>) -> Case {
    let path = path.into();
    Case {
        what: format!("GET {path}"),
        method: Method::GET,
        path,
        content_type: None,
        body: None,
        status,
        field,
        keyed: true,
    }
}

impl Case {
    fn content_type(mut self, content_type: Option<&'static str>) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sent without credentials.
    fn anonymous(mut self) -> Self {
        self.keyed = false;
        self
    }
}

const CREATE_SA: &str = "/api/service-account/v1/service-account";
const PATCH_SA: &str = "/api/service-account/v1/service-account/{sa}";
const CREATE_KEY: &str = "/api/service-account/v1/service-account/{sa}/key";
const PATCH_KEY: &str = "/api/service-account/v1/service-account/{sa}/key/{key}";
const ROTATE: &str = "/api/service-account/v1/service-account/{sa}/key/{key}/rotate";
const CREATE_USER: &str = "/api/user/v1/user";
const PATCH_USER: &str = "/api/user/v1/user/{user}";

/// Every body endpoint, with a body it would accept.
const BODY_ENDPOINTS: [(Method, &str, &str); 7] = [
    (Method::POST, CREATE_SA, r#"{"name": "fine"}"#),
    (Method::PATCH, PATCH_SA, r#"{"name": "fine"}"#),
    (Method::POST, CREATE_KEY, r#"{"name": "fine"}"#),
    (Method::PATCH, PATCH_KEY, r#"{"name": "fine"}"#),
    (Method::POST, ROTATE, r#"{"gracePeriod": 5}"#),
    (Method::POST, CREATE_USER, r#"{"email": "fine@example.com"}"#),
    (Method::PATCH, PATCH_USER, r#"{"role": "editor"}"#),
];

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// A JSON object of exactly `len` bytes that would otherwise be accepted.
fn padded(body: &str, len: usize) -> Vec<u8> {
    let mut bytes = body.as_bytes().to_vec();
    let close = bytes.pop().expect("a closing brace");
    bytes.resize(len - 1, b' ');
    bytes.push(close);
    bytes
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Method as M;
    let mut out = Vec::new();

    // The body as a whole, on every endpoint that takes one.
    for (method, path, good) in BODY_ENDPOINTS {
        let at = format!("{method} {path}");
        out.push(case(format!("{at}: not JSON"), method.clone(), path, r#"{"name": "#, 400, None));
        out.push(case(format!("{at}: JSON with a trailing comma"), method.clone(), path, r#"{"name": "x",}"#, 400, None));
        out.push(case(format!("{at}: invalid UTF-8"), method.clone(), path, vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'], 400, None));
        out.push(case(format!("{at}: nested past any parser's depth"), method.clone(), path, "[".repeat(60_000), 400, None));
        out.push(case(format!("{at}: text/plain"), method.clone(), path, good, 415, None).content_type(Some("text/plain")));
        out.push(case(format!("{at}: no Content-Type"), method.clone(), path, good, 415, None).content_type(None));
        out.push(case(format!("{at}: a form"), method.clone(), path, "name=fine", 415, None).content_type(Some("application/x-www-form-urlencoded")));
        out.push(case(format!("{at}: 64 KiB + 1"), method.clone(), path, padded(good, KIB_64 + 1), 413, None));
        out.push(case(format!("{at}: 1 MiB"), method.clone(), path, padded(good, 1024 * 1024), 413, None).content_type(Some("text/plain")));
        for not_object in ["[]", r#""John Doe""#, "5", "null", "true", r#"[{"name": "x"}]"#] {
            out.push(case(format!("{at}: {not_object}"), method.clone(), path, not_object, 422, Some("body")));
        }
        out.push(case(format!("{at}: an unknown field"), method.clone(), path, r#"{"colour": "blue"}"#, 422, Some("colour")));
        out.push(case(format!("{at}: a field in the wrong case"), method.clone(), path, r#"{"Name": "x"}"#, 422, Some("Name")));
    }

    // Creating a service account.
    let a = |what: &str, body: String, status: u16, field: Option<&'static str>| case(format!("POST account: {what}"), M::POST, CREATE_SA, body, status, field);
    out.extend([
        a("no fields", "{}".into(), 422, Some("name")),
        a("no name", r#"{"enableBasicAuth": true}"#.into(), 422, Some("name")),
        a("null name", r#"{"name": null}"#.into(), 422, Some("name")),
        a("empty name", r#"{"name": ""}"#.into(), 422, Some("name")),
        a("blank name", r#"{"name": "   "}"#.into(), 422, Some("name")),
        a("white space name", r#"{"name": "\t\n\r"}"#.into(), 422, Some("name")),
        a("name of 201 characters", json!({"name": "a".repeat(201)}).to_string(), 422, Some("name")),
        a("name of 201 two-byte characters", json!({"name": "é".repeat(201)}).to_string(), 422, Some("name")),
        a("name with a NUL", r#"{"name": "a\u0000b"}"#.into(), 422, Some("name")),
        a("name as a number", r#"{"name": 5}"#.into(), 422, Some("name")),
        a("name as a list", r#"{"name": ["x"]}"#.into(), 422, Some("name")),
        a("enableBasicAuth as a string", r#"{"name": "x", "enableBasicAuth": "yes"}"#.into(), 422, Some("enableBasicAuth")),
        a("enableBasicAuth as a number", r#"{"name": "x", "enableBasicAuth": 1}"#.into(), 422, Some("enableBasicAuth")),
        a("an unknown role", r#"{"name": "x", "role": "owner"}"#.into(), 422, Some("role")),
        a("an empty role", r#"{"name": "x", "role": ""}"#.into(), 422, Some("role")),
        a("role as a number", r#"{"name": "x", "role": 5}"#.into(), 422, Some("role")),
        a("a bad email", r#"{"name": "x", "email": "not-an-email"}"#.into(), 422, Some("email")),
        a("an email without a domain", r#"{"name": "x", "email": "ops@"}"#.into(), 422, Some("email")),
        a("an empty email", r#"{"name": "x", "email": ""}"#.into(), 422, Some("email")),
        a("email as a number", r#"{"name": "x", "email": 5}"#.into(), 422, Some("email")),
        a("an unknown field", r#"{"name": "x", "colour": "blue"}"#.into(), 422, Some("colour")),
        a("a read-only field", r#"{"name": "x", "id": "0123"}"#.into(), 422, Some("id")),
        a("keys", r#"{"name": "x", "keys": []}"#.into(), 422, Some("keys")),
    ]);

    // Changing a service account.
    let pa = |what: &str, body: String, field: &'static str| case(format!("PATCH account: {what}"), M::PATCH, PATCH_SA, body, 422, Some(field));
    out.extend([
        pa("empty name", r#"{"name": ""}"#.into(), "name"),
        pa("blank name", r#"{"name": "  "}"#.into(), "name"),
        pa("name of 201 characters", json!({"name": "b".repeat(201)}).to_string(), "name"),
        pa("name as a number", r#"{"name": 201}"#.into(), "name"),
        pa("an unknown role", r#"{"role": "owner"}"#.into(), "role"),
        pa("disabled as a string", r#"{"disabled": "no"}"#.into(), "disabled"),
        pa("enableBasicAuth as a number", r#"{"enableBasicAuth": 1}"#.into(), "enableBasicAuth"),
        pa("orgId in the body", json!({"orgId": Id::generate()}).to_string(), "orgId"),
        pa("email that is not an address", r#"{"email": "not-an-address"}"#.into(), "email"),
        pa("a good field beside an unknown one", r#"{"name": "fine", "colour": "blue"}"#.into(), "colour"),
        pa("a good field beside a mistyped one", r#"{"name": "fine", "disabled": "yes"}"#.into(), "disabled"),
    ]);

    // Creating a key.
    let past = now() - 60;
    let k = |what: &str, body: String, field: &'static str| case(format!("POST key: {what}"), M::POST, CREATE_KEY, body, 422, Some(field));
    out.extend([
        k("expiresIn as a word", r#"{"expiresIn": "soon"}"#.into(), "expiresIn"),
        k("expiresIn zero", r#"{"expiresIn": 0}"#.into(), "expiresIn"),
        k("expiresIn negative", r#"{"expiresIn": -60}"#.into(), "expiresIn"),
        k("expiresIn fractional", r#"{"expiresIn": 1.5}"#.into(), "expiresIn"),
        k("expiresIn past 64 bits", r#"{"expiresIn": 99999999999999999999}"#.into(), "expiresIn"),
        k("expires as a word", r#"{"expires": "tomorrow"}"#.into(), "expires"),
        k("expires in the past", json!({"expires": past}).to_string(), "expires"),
        k("expires at the epoch", r#"{"expires": 0}"#.into(), "expires"),
        k("expires negative", r#"{"expires": -1}"#.into(), "expires"),
        k("both expiresIn and expires", json!({"expiresIn": 3600, "expires": now() + 3600}).to_string(), "expires|expiresIn"),
        k("empty name", r#"{"name": ""}"#.into(), "name"),
        k("name of 201 characters", json!({"name": "k".repeat(201)}).to_string(), "name"),
        k("name as a number", r#"{"name": 5}"#.into(), "name"),
        k("a secret of one's own", r#"{"secret": "kw_mine"}"#.into(), "secret"),
    ]);

    // Changing and rotating a key.
    let pk = |what: &str, body: &str, field: &'static str| case(format!("PATCH key: {what}"), M::PATCH, PATCH_KEY, body, 422, Some(field));
    let r = |what: &str, body: &str, field: &'static str| case(format!("rotate key: {what}"), M::POST, ROTATE, body, 422, Some(field));
    let long_key_name = json!({"name": "n".repeat(201)}).to_string();
    out.extend([
        pk("name as a number", r#"{"name": 5}"#, "name"),
        pk("blank name", r#"{"name": " "}"#, "name"),
        pk("name of 201 characters", &long_key_name, "name"),
        pk("disabled as a string", r#"{"disabled": "yes"}"#, "disabled"),
        pk("expires, which is not changed this way", r#"{"expires": 5}"#, "expires"),
        r("gracePeriod negative", r#"{"gracePeriod": -1}"#, "gracePeriod"),
        r("gracePeriod as a word", r#"{"gracePeriod": "soon"}"#, "gracePeriod"),
        r("gracePeriod fractional", r#"{"gracePeriod": 0.5}"#, "gracePeriod"),
        r("an unknown field", r#"{"grace": 5}"#, "grace"),
    ]);

    // People.
    let u = |what: &str, body: &str, field: &'static str| case(format!("POST user: {what}"), M::POST, CREATE_USER, body, 422, Some(field));
    let pu = |what: &str, body: &str, field: &'static str| case(format!("PATCH user: {what}"), M::PATCH, PATCH_USER, body, 422, Some(field));
    out.extend([
        u("no email", "{}", "email"),
        u("a bad email", r#"{"email": "nope"}"#, "email"),
        u("email as a number", r#"{"email": 5}"#, "email"),
        u("an unknown role", r#"{"email": "a@example.com", "role": "owner"}"#, "role"),
        u("a password", r#"{"email": "a@example.com", "password": "hunter2hunter2"}"#, "password"),
        pu("no role", "{}", "role"),
        pu("a null role", r#"{"role": null}"#, "role"),
        pu("an unknown role", r#"{"role": "owner"}"#, "role"),
        pu("an email", r#"{"role": "viewer", "email": "b@example.com"}"#, "email"),
    ]);

    // Query parameters of every listing.
    out.extend([
        query("/api/service-account/v1/service-account?limit=0", 400, Some("limit")),
        query("/api/service-account/v1/service-account?limit=201", 400, Some("limit")),
        query("/api/service-account/v1/service-account?limit=abc", 400, Some("limit")),
        query("/api/service-account/v1/service-account?limit=-1", 400, Some("limit")),
        query("/api/service-account/v1/service-account?limit=1.5", 400, Some("limit")),
        query("/api/service-account/v1/service-account?limit=", 400, Some("limit")),
        query("/api/service-account/v1/service-account?limit=99999999999999999999999", 400, Some("limit")),
        query("/api/service-account/v1/service-account?cursor=garbage", 400, Some("cursor")),
        query("/api/service-account/v1/service-account?cursor=%00%01", 400, Some("cursor")),
        query("/api/audit/v1/event?limit=0", 400, Some("limit")),
        query("/api/audit/v1/event?limit=201", 400, Some("limit")),
        query("/api/audit/v1/event?limit=abc", 400, Some("limit")),
        query("/api/audit/v1/event?cursor=garbage", 400, Some("cursor")),
        query("/api/user/v1/user?limit=0", 400, Some("limit")),
        query("/api/user/v1/user?limit=201", 400, Some("limit")),
        query("/api/user/v1/user?cursor=garbage", 400, Some("cursor")),
    ]);
    out.push(query(format!("{CREATE_SA}?name={}", "n".repeat(201)), 400, Some("name")));

    // A NUL in any text a client can send. PostgreSQL refuses NUL in text
    // outright, so one that slipped through to a query would be a 500 there.
    const HOOKS: &str = "/api/webhook/v1/webhook";
    let nul = |what: &str, method: Method, path: &str, body: &str, status: u16, field: Option<&'static str>| {
        case(format!("NUL in {what}"), method, path, body, status, field)
    };
    out.extend([
        nul("login's email", M::POST, "/api/session/v1/login", r#"{"email": "a\u0000@example.com", "password": "long enough"}"#, 401, None).anonymous(),
        nul("login's email, among other controls", M::POST, "/api/session/v1/login", r#"{"email": "\u007f\u0000\u0080", "password": "long enough"}"#, 401, None).anonymous(),
        nul("login's password", M::POST, "/api/session/v1/login", r#"{"email": "a@example.com", "password": "a\u0000b"}"#, 401, None).anonymous(),
        nul("setup's token", M::POST, "/api/session/v1/setup", r#"{"token": "a\u0000", "orgName": "x", "email": "a@example.com", "password": "long enough password"}"#, 422, Some("token")).anonymous(),
        nul("a password link's token", M::POST, "/api/session/v1/password", r#"{"token": "a\u0000", "password": "long enough password"}"#, 422, Some("token")).anonymous(),
        nul("an account's email", M::POST, CREATE_SA, r#"{"name": "x", "email": "a\u0000@example.com"}"#, 422, Some("email")),
        nul("an account's role", M::POST, CREATE_SA, r#"{"name": "x", "role": "admin\u0000"}"#, 422, Some("role")),
        nul("an account's new name", M::PATCH, PATCH_SA, r#"{"name": "\u0000"}"#, 422, Some("name")),
        nul("an account's new email", M::PATCH, PATCH_SA, r#"{"email": "\u0000"}"#, 422, Some("email")),
        nul("a key's name", M::POST, CREATE_KEY, r#"{"name": "a\u0000"}"#, 422, Some("name")),
        nul("a key's role", M::POST, CREATE_KEY, r#"{"role": "\u0000"}"#, 422, Some("role")),
        nul("a key's scope", M::POST, CREATE_KEY, r#"{"scopes": ["read\u0000"]}"#, 422, Some("scopes[0]")),
        nul("a key's range", M::POST, CREATE_KEY, r#"{"allowedCidrs": ["10.0.0.0/8\u0000"]}"#, 422, Some("allowedCidrs[0]")),
        nul("a key's new name", M::PATCH, PATCH_KEY, r#"{"name": "a\u0000"}"#, 422, Some("name")),
        nul("a key's new scope", M::PATCH, PATCH_KEY, r#"{"scopes": ["\u0000"]}"#, 422, Some("scopes[0]")),
        nul("a person's email", M::POST, CREATE_USER, r#"{"email": "a\u0000@example.com"}"#, 422, Some("email")),
        nul("a person's role", M::POST, CREATE_USER, r#"{"email": "a@example.com", "role": "\u0000"}"#, 422, Some("role")),
        nul("a person's new role", M::PATCH, PATCH_USER, r#"{"role": "viewer\u0000"}"#, 422, Some("role")),
        nul("a webhook's path", M::POST, HOOKS, r#"{"url": "https://hooks.example.com/\u0000", "events": ["key.*"]}"#, 422, Some("url")),
        nul("a webhook's host", M::POST, HOOKS, r#"{"url": "https://hooks\u0000.example.com/", "events": ["key.*"]}"#, 422, Some("url")),
        nul("a webhook's event", M::POST, HOOKS, r#"{"url": "https://hooks.example.com/", "events": ["key.\u0000"]}"#, 422, Some("events[0]")),
        query(format!("{CREATE_SA}?name=a%00b"), 400, Some("name")),
        query(format!("{CREATE_SA}?deleted=%00"), 400, Some("deleted")),
        query(format!("{CREATE_SA}?orgId=%00"), 403, None),
        query("/api/service-account/v1/key/unused?days=%00", 400, Some("days")),
        query("/api/audit/v1/event?actorId=%00", 400, Some("actorId")),
        query("/api/audit/v1/event?targetId=a%00", 400, Some("targetId")),
        query("/api/audit/v1/event?action=key.%00", 400, Some("action")),
        query("/api/user/v1/user?cursor=%00", 400, Some("cursor")),
        query(format!("{HOOKS}?limit=%00"), 400, Some("limit")),
    ]);

    // Path ids of the wrong shape exist nowhere: 404, even with a good body.
    for path in [
        format!("{CREATE_SA}/1235"),
        format!("{CREATE_SA}/not-an-id"),
        format!("{CREATE_SA}/%00"),
        format!("{CREATE_SA}/..%2F..%2Fetc"),
        format!("{CREATE_SA}/{}", Id::generate().as_str().to_ascii_uppercase()),
        format!("{CREATE_SA}/{}0", Id::generate()),
    ] {
        out.push(query(path.clone(), 404, None));
        out.push(case(format!("PATCH {path}"), M::PATCH, path.clone(), r#"{"name": "fine"}"#, 404, None));
        out.push(Case { body: None, content_type: None, ..case(format!("DELETE {path}"), M::DELETE, path, "", 404, None) });
    }
    for (method, path, body) in [
        (M::POST, "/api/service-account/v1/service-account/1235/key", "{}"),
        (M::GET, "/api/service-account/v1/service-account/1235/key", ""),
        (M::PATCH, "/api/service-account/v1/service-account/{sa}/key/1235", r#"{"name": "fine"}"#),
        (M::DELETE, "/api/service-account/v1/service-account/{sa}/key/1235", ""),
        (M::POST, "/api/service-account/v1/service-account/{sa}/key/1235/rotate", "{}"),
        (M::POST, "/api/service-account/v1/service-account/1235/key/{key}/rotate", "{}"),
        (M::PATCH, "/api/user/v1/user/1235", r#"{"role": "viewer"}"#),
        (M::DELETE, "/api/user/v1/user/not-an-id", ""),
    ] {
        let body = (!body.is_empty()).then(|| body.as_bytes().to_vec());
        let content_type = body.as_ref().map(|_| JSON);
        out.push(Case { what: format!("{method} {path}"), method, path: path.into(), content_type, body, status: 404, field: None, keyed: true });
    }
    out
}

/// A live account with a key, and a member, for the templates.
struct Fixture {
    sa: String,
    key: String,
    user: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (sa, key, _) = app.account_key_triple(&app.org_id, Role::Viewer, false).await;
    let by = Principal::operator(Id::parse(&app.org_id).expect("org id"));
    let email = Email::parse(&format!("member-{}@example.com", Id::generate())).expect("email");
    let user = app.service.invite_user(&by, email, Role::Viewer).await.expect("invite").id.to_string();
    Fixture { sa, key, user }
}

fn render(path: &str, f: &Fixture) -> String {
    path.replace("{sa}", &f.sa).replace("{key}", &f.key).replace("{user}", &f.user)
}

/// Everything a refused call could have written: row counts and the
/// fixture as the API shows it.
async fn state(app: &TestApp, f: &Fixture) -> Value {
    let mut rows = serde_json::Map::new();
    for table in ["service_accounts", "api_keys", "audit_events", "users", "memberships"] {
        rows.insert(table.into(), app.count_rows(table).await.into());
    }
    let account: Value = app.get(&format!("{SA}/{}", f.sa), &app.admin_key).await.json().await.expect("json");
    let users: Value = app.get("/api/user/v1/user?limit=200", &app.admin_key).await.json().await.expect("json");
    json!({"rows": rows, "account": account, "users": users})
}

/// Checks a refusal: status, problem+json with every member, the field.
/// Returns what is wrong, if anything.
async fn check_problem(res: Response, status: u16, field: Option<&str>) -> Option<String> {
    let got = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = res.text().await.unwrap_or_default();
    if got != status {
        return Some(format!("expected {status}, got {got} {text}"));
    }
    if content_type != "application/problem+json" {
        return Some(format!("Content-Type {content_type:?}, not application/problem+json: {text}"));
    }
    let body: Value = match serde_json::from_str(&text) {
        Ok(body) => body,
        Err(_) => return Some(format!("the problem is not JSON: {text}")),
    };
    for member in ["type", "title", "detail"] {
        if body[member].as_str().is_none_or(str::is_empty) {
            return Some(format!("the problem lacks {member}: {body}"));
        }
    }
    if body["status"] != status {
        return Some(format!("the problem's status is not {status}: {body}"));
    }
    if let Some(field) = field {
        let named = body["field"].as_str().unwrap_or("");
        if !field.split('|').any(|f| f == named) {
            return Some(format!("the problem names {:?}, not {field}: {body}", body["field"]));
        }
    }
    None
}

async fn send(
    app: &TestApp,
    key: Option<&str>,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(key) = key {
        req = req.header("Authorization", key);
    }
    if let Some(content_type) = content_type {
        req = req.header("Content-Type", content_type);
    }
    if let Some(body) = body {
        req = req.body(body);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn every_bad_input_is_refused_with_a_problem_naming_the_field_and_writes_nothing() {
    let Some(app) = TestApp::spawn().await else { return };
    let f = fixture(&app).await;
    let cases = cases();
    let mut failures = Vec::new();
    for c in &cases {
        let before = state(&app, &f).await;
        let key = c.keyed.then_some(app.admin_key.as_str());
        let res = send(&app, key, c.method.clone(), &render(&c.path, &f), c.content_type, c.body.clone()).await;
        if let Some(why) = check_problem(res, c.status, c.field).await {
            failures.push(format!("{}: {why}", c.what));
        }
        let after = state(&app, &f).await;
        if after != before {
            failures.push(format!("{}: refused, yet something changed:\n  before {before}\n  after  {after}", c.what));
        }
    }
    assert!(cases.len() > 150, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were not refused properly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The refusals above are precise: what sits just inside each limit is
/// accepted.
#[tokio::test]
async fn the_edges_of_each_limit_are_accepted() {
    let Some(app) = TestApp::spawn().await else { return };
    let f = fixture(&app).await;
    let accepted = [
        (Method::POST, CREATE_SA, Some(JSON), json!({"name": "a".repeat(200)}).to_string().into_bytes(), 201),
        (Method::POST, CREATE_SA, Some(JSON), json!({"name": "é".repeat(200)}).to_string().into_bytes(), 201),
        (
            Method::POST,
            CREATE_SA,
            Some(JSON),
            json!({"name": format!("  {}  ", "c".repeat(200))}).to_string().into_bytes(),
            201,
        ),
        (Method::POST, CREATE_SA, Some(JSON), padded(r#"{"name": "exactly 64 KiB"}"#, KIB_64), 201),
        (
            Method::POST,
            CREATE_SA,
            Some("application/json; charset=utf-8"),
            br#"{"name": "with charset"}"#.to_vec(),
            201,
        ),
        (
            Method::POST,
            CREATE_SA,
            Some(JSON),
            br#"{"name": "all fields", "enableBasicAuth": false, "role": "Editor", "email": "ops@example.com"}"#
                .to_vec(),
            201,
        ),
        (Method::PATCH, PATCH_SA, Some(JSON), json!({"name": "p".repeat(200)}).to_string().into_bytes(), 200),
        (Method::PATCH, PATCH_SA, Some(JSON), b"{}".to_vec(), 200),
        (Method::POST, CREATE_KEY, Some(JSON), br#"{"expiresIn": 1}"#.to_vec(), 201),
        (
            Method::POST,
            CREATE_KEY,
            Some(JSON),
            json!({"expires": now() + 3600, "name": "k".repeat(200)}).to_string().into_bytes(),
            201,
        ),
        (Method::POST, CREATE_KEY, None, Vec::new(), 201),
        (Method::POST, CREATE_KEY, Some(JSON), b"  \n ".to_vec(), 201),
        (Method::PATCH, PATCH_KEY, Some(JSON), br#"{"name": null}"#.to_vec(), 200),
        (Method::POST, ROTATE, Some(JSON), br#"{"gracePeriod": 0}"#.to_vec(), 201),
    ];
    for (method, path, content_type, body, status) in accepted {
        let what = format!("{method} {path} {}", String::from_utf8_lossy(&body[..body.len().min(80)]));
        let res = send(&app, Some(&app.admin_key), method, &render(path, &f), content_type, Some(body)).await;
        let got = res.status().as_u16();
        assert_eq!(got, status, "{what}: {}", res.text().await.unwrap_or_default());
    }
    for limit in [1, 200] {
        for listing in [CREATE_SA, "/api/audit/v1/event", "/api/user/v1/user"] {
            let res = app.get(&format!("{listing}?limit={limit}"), &app.admin_key).await;
            assert_eq!(res.status(), StatusCode::OK, "{listing}?limit={limit}");
        }
    }
}

#[tokio::test]
async fn a_cursor_issued_by_another_listing_is_400_naming_cursor() {
    let Some(app) = TestApp::spawn().await else { return };
    for n in 0..3 {
        app.create_account(json!({"name": format!("account {n}")})).await;
        let email = format!("person{n}@example.com");
        let res = app.post_json("/api/user/v1/user", &app.admin_key, &json!({"email": email})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let listings = [CREATE_SA, "/api/audit/v1/event", "/api/user/v1/user"];
    let mut cursors = Vec::new();
    for listing in listings {
        let page: Value = app.get(&format!("{listing}?limit=1"), &app.admin_key).await.json().await.expect("json");
        let cursor =
            page["nextCursor"].as_str().unwrap_or_else(|| panic!("{listing} gave no cursor: {page}")).to_owned();
        // Each cursor works where it was issued.
        let res = app.get(&format!("{listing}?limit=1&cursor={cursor}"), &app.admin_key).await;
        assert_eq!(res.status(), StatusCode::OK, "{listing} refuses its own cursor");
        cursors.push((listing, cursor));
    }
    for (issued_by, cursor) in &cursors {
        for listing in listings.iter().filter(|l| *l != issued_by) {
            let res = app.get(&format!("{listing}?cursor={cursor}"), &app.admin_key).await;
            let body = problem(res, StatusCode::BAD_REQUEST).await;
            assert_eq!(body["field"], "cursor", "{issued_by}'s cursor on {listing}: {body}");
        }
        // A cursor altered by one character is not one keyward issued.
        let mut altered = cursor.clone();
        let last = altered.pop().expect("non-empty");
        altered.push(if last == 'A' { 'B' } else { 'A' });
        altered.push('x');
        let res = app.get(&format!("{issued_by}?cursor={altered}"), &app.admin_key).await;
        assert_eq!(problem(res, StatusCode::BAD_REQUEST).await["field"], "cursor", "{issued_by} with {altered}");
    }
}

#[tokio::test]
async fn a_refused_patch_leaves_the_account_and_key_as_they_were() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = app.create_account(json!({"name": "steady", "enableBasicAuth": true, "role": "editor"})).await;
    let id = account["id"].as_str().expect("id");
    let key = app.create_key(id).await;
    let key_id = key["keyId"].as_str().expect("keyId");
    let before: Value = app.get(&format!("{SA}/{id}"), &app.admin_key).await.json().await.expect("json");
    let events = app.count_rows("audit_events").await;

    // Each body has a good field beside a bad one: the good one must not land.
    let bad = [
        (format!("{SA}/{id}"), json!({"name": "renamed", "role": "owner"}), "role"),
        (format!("{SA}/{id}"), json!({"disabled": true, "name": ""}), "name"),
        (format!("{SA}/{id}"), json!({"enableBasicAuth": false, "colour": "red"}), "colour"),
        (format!("{SA}/{id}"), json!({"role": "viewer", "disabled": "yes"}), "disabled"),
        (format!("{SA}/{id}/key/{key_id}"), json!({"disabled": true, "name": "x".repeat(201)}), "name"),
        (format!("{SA}/{id}/key/{key_id}"), json!({"name": "renamed", "disabled": 1}), "disabled"),
    ];
    for (path, body, field) in bad {
        let res = app.patch_json(&path, &app.admin_key, &body).await;
        let problem = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["field"], field, "PATCH {path} {body}");
    }
    let after: Value = app.get(&format!("{SA}/{id}"), &app.admin_key).await.json().await.expect("json");
    assert_eq!(after, before);
    assert_eq!(app.count_rows("audit_events").await, events);
    let secret = key["secret"].as_str().expect("secret");
    assert_eq!(app.get("/api/service-account/v1/whoami", secret).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_methods_and_unknown_routes_are_problems_too() {
    let Some(app) = TestApp::spawn().await else { return };
    for (method, path, status) in [
        (Method::PUT, SA.to_owned(), StatusCode::METHOD_NOT_ALLOWED),
        (Method::DELETE, SA.to_owned(), StatusCode::METHOD_NOT_ALLOWED),
        (Method::PUT, format!("{SA}/{}", Id::generate()), StatusCode::METHOD_NOT_ALLOWED),
        (Method::GET, "/api/service-account/v2/service-account".to_owned(), StatusCode::NOT_FOUND),
        (Method::GET, format!("{SA}/"), StatusCode::NOT_FOUND),
    ] {
        let res = app.request(method.clone(), &path, &app.admin_key).send().await.expect("request");
        assert_eq!(res.status(), status, "{method} {path}");
        problem(res, status).await;
    }
}

// ---------------------------------------------------------------------------
// Anything at all: never a 5xx, always a problem for a 4xx, and a 4xx leaves
// nothing behind.

const FIELDS: [&str; 10] =
    ["name", "enableBasicAuth", "role", "email", "expiresIn", "expires", "gracePeriod", "disabled", "keys", ""];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,240}".prop_map(Value::from),
        prop::sample::select(vec!["viewer", "Editor", "ADMIN", "owner", "", " ", "a@b.co", "kw_x"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(field_name(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(FIELDS.to_vec()).prop_map(String::from), 1 => ".{0,16}"]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        ".{0,600}".prop_map(String::into_bytes),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        // Objects of known fields: the likeliest to get deep.
        prop::collection::btree_map(field_name(), json_value(), 0..5).prop_map(|m| Value::Object(
            m.into_iter().collect()
        )
        .to_string()
        .into_bytes()),
    ]
}

/// A JSON object of the fields `endpoint` knows, with values of roughly the
/// right type: the inputs likeliest to get past parsing into the use cases.
#[rustfmt::skip]
fn plausible(endpoint: usize) -> impl Strategy<Value = Vec<u8>> {
    let text = || prop_oneof![".{0,210}", prop::sample::select(vec!["ok", " padded ", "viewer", "Editor", "owner"]).prop_map(String::from)];
    let number = || prop_oneof![any::<i64>(), -10i64..10, 1i64..100_000, Just(i64::MAX), Just(i64::MIN)];
    let email = || prop_oneof!["[a-zA-Z0-9.+-]{1,12}@[a-z0-9-]{1,10}\\.[a-z]{2,4}", ".{0,40}"];
    let fields: Vec<(&'static str, BoxedStrategy<Value>)> = match endpoint {
        0 => vec![("name", text().prop_map(Value::from).boxed()), ("enableBasicAuth", any::<bool>().prop_map(Value::from).boxed()), ("role", text().prop_map(Value::from).boxed()), ("email", email().prop_map(Value::from).boxed())],
        1 => vec![("name", text().prop_map(Value::from).boxed()), ("enableBasicAuth", any::<bool>().prop_map(Value::from).boxed()), ("role", text().prop_map(Value::from).boxed()), ("disabled", any::<bool>().prop_map(Value::from).boxed())],
        2 => vec![("name", text().prop_map(Value::from).boxed()), ("expiresIn", number().prop_map(Value::from).boxed()), ("expires", number().prop_map(Value::from).boxed())],
        3 => vec![("name", prop::option::of(text()).prop_map(Value::from).boxed()), ("disabled", any::<bool>().prop_map(Value::from).boxed())],
        4 => vec![("gracePeriod", number().prop_map(Value::from).boxed())],
        5 => vec![("email", email().prop_map(Value::from).boxed()), ("role", text().prop_map(Value::from).boxed())],
        _ => vec![("role", text().prop_map(Value::from).boxed())],
    };
    let picks: Vec<_> = fields
        .into_iter()
        .map(|(name, value)| prop::option::weighted(0.7, value).prop_map(move |v| v.map(|v| (name, v))))
        .collect();
    picks.prop_map(|picked| {
        let object: serde_json::Map<String, Value> = picked.into_iter().flatten().map(|(k, v)| (k.to_owned(), v)).collect();
        Value::Object(object).to_string().into_bytes()
    })
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some(JSON)),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("application/merge-patch+json")),
        1 => Just(Some("APPLICATION/JSON")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/jsonp")),
        1 => Just(None),
    ]
}

#[test]
fn arbitrary_bodies_never_reach_a_5xx_and_every_4xx_is_a_problem_that_wrote_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let Some((app, f)) = rt.block_on(async {
        let app = TestApp::spawn().await?;
        let f = fixture(&app).await;
        Some((app, f))
    }) else {
        return;
    };
    let config = ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) };
    let mut runner = TestRunner::new(config);
    let strategy = (0..BODY_ENDPOINTS.len(), content_type()).prop_flat_map(|(endpoint, content_type)| {
        (Just(endpoint), Just(content_type), prop_oneof![body(), plausible(endpoint), plausible(endpoint)])
    });
    let result = runner.run(&strategy, |(endpoint, content_type, body)| {
        let (method, path, _) = &BODY_ENDPOINTS[endpoint];
        rt.block_on(async {
            let before = state(&app, &f).await;
            let mut req = app.request(method.clone(), &render(path, &f), &app.admin_key).body(body.clone());
            if let Some(content_type) = content_type {
                req = req.header("Content-Type", content_type);
            }
            let res = req.send().await.map_err(|e| TestCaseError::fail(format!("request: {e}")))?;
            let status = res.status().as_u16();
            let what = format!("{method} {path} ({content_type:?}) {}", String::from_utf8_lossy(&body));
            prop_assert!(status < 500, "{what}: {status} {}", res.text().await.unwrap_or_default());
            if (400..500).contains(&status) {
                if let Some(why) = check_problem(res, status, None).await {
                    return Err(TestCaseError::fail(format!("{what}: {why}")));
                }
                let after = state(&app, &f).await;
                prop_assert_eq!(after, before, "{}: a refused call changed something", what);
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The two calls that do not answer with problem+json take a NUL as well:
/// the leak endpoint's `202` says nothing of what it was given, and the
/// token endpoint answers in OAuth's own error format.
#[tokio::test]
async fn a_nul_reaches_no_5xx_where_the_answer_is_not_a_problem() {
    let Some(app) = TestApp::spawn().await else { return };
    const FORM: &str = "application/x-www-form-urlencoded";
    const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
    let assertion = format!("grant_type={JWT_BEARER}&assertion=a.%00.b");
    for (path, content_type, body, status) in [
        ("/api/leak/v1/revoke", JSON, r#"{"secrets": ["kw_\u0000", "\u0000"]}"#.to_owned(), 202),
        ("/api/auth/v1/oauth/token", FORM, "grant_type=%00".to_owned(), 400),
        ("/api/auth/v1/oauth/token", FORM, assertion, 400),
    ] {
        let res = send(&app, None, Method::POST, path, Some(content_type), Some(body.clone().into_bytes())).await;
        assert_eq!(res.status().as_u16(), status, "{path} {body}: {}", res.text().await.unwrap_or_default());
    }
}
