//! Platform endpoints: the OpenAPI 3.1 document and its
//! coverage of every route, `/healthz`, `/readyz`, `/metrics`, and the
//! problem answers for unknown routes and wrong methods.

use std::collections::{BTreeMap, BTreeSet};

use keyward::domain::{Id, Secret};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{SA, TestApp, problem};

const WHOAMI: &str = "/api/service-account/v1/whoami";
/// The methods a route may answer; a documented path must answer exactly
/// the documented ones and `405` to the rest.
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// Every operation of the product's contract, as (method, path template).
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("post", SA),
    ("get", SA),
    ("get", "/api/service-account/v1/service-account/{id}"),
    ("patch", "/api/service-account/v1/service-account/{id}"),
    ("delete", "/api/service-account/v1/service-account/{id}"),
    ("post", "/api/service-account/v1/service-account/{id}/key"),
    ("get", "/api/service-account/v1/service-account/{id}/key"),
    ("patch", "/api/service-account/v1/service-account/{id}/key/{key-id}"),
    ("delete", "/api/service-account/v1/service-account/{id}/key/{key-id}"),
    ("post", "/api/service-account/v1/service-account/{id}/key/{key-id}/rotate"),
    ("get", WHOAMI),
    ("get", "/api/auth/v1/verify"),
    ("get", "/api/audit/v1/event"),
    ("post", "/api/session/v1/login"),
    ("post", "/api/session/v1/logout"),
    ("get", "/api/org/v1/org"),
    ("get", "/api/user/v1/user"),
    ("post", "/api/user/v1/user"),
    ("patch", "/api/user/v1/user/{id}"),
    ("delete", "/api/user/v1/user/{id}"),
    ("get", "/api/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

async fn openapi(app: &TestApp) -> Value {
    let res = app.client.get(app.url("/api/openapi.json")).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    res.json().await.expect("the document is JSON")
}

/// (method, path) of every operation in an OpenAPI document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&method.as_str()) {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

/// A concrete URL for a path template: each `{param}` becomes a fresh id.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("closing brace") + open;
        out.push_str(Id::generate().as_str());
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// How the router answers a request nothing serves: its problem `type` and
/// `detail`, learnt at run time rather than written down here.
async fn unrouted_signature(app: &TestApp) -> (Value, Value) {
    let res = app.get(&format!("/api/no-such-route-{}", Id::generate()), &app.admin_key).await;
    let body = problem(res, StatusCode::NOT_FOUND).await;
    (body["type"].clone(), body["detail"].clone())
}

#[tokio::test]
async fn openapi_json_is_an_openapi_3_1_document_generated_from_the_code() {
    let Some(app) = TestApp::spawn().await else { return };
    let doc = openapi(&app).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "OpenAPI {version}, not 3.1");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
    // What is served is what the handlers' annotations produce.
    let (_, generated) = keyward::http::api_routes();
    assert_eq!(
        doc,
        serde_json::to_value(&generated).expect("serialize"),
        "the served document is not the generated one"
    );

    let schemas = doc["components"]["schemas"].as_object().expect("components.schemas");
    for name in ["ServiceAccountView", "KeyView", "CreatedKeyView", "Problem"] {
        assert!(schemas.contains_key(name), "no schema {name}; have {:?}", schemas.keys().collect::<Vec<_>>());
    }
    let props = |name: &str| -> BTreeSet<String> {
        schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has no properties"))
            .keys()
            .cloned()
            .collect()
    };
    let account = props("ServiceAccountView");
    for field in
        ["id", "orgId", "name", "enableBasicAuth", "role", "email", "emailConfirmed", "disabled", "created", "keys"]
    {
        assert!(account.contains(field), "ServiceAccountView lacks {field}");
    }
    let key = props("KeyView");
    for field in ["keyId", "created", "name", "expires", "lastUsed", "disabled"] {
        assert!(key.contains(field), "KeyView lacks {field}");
    }
    assert!(!key.contains("secret"), "KeyView documents a secret");
    let created = props("CreatedKeyView");
    for field in ["created", "keyId", "secret", "name", "expires"] {
        assert!(created.contains(field), "CreatedKeyView lacks {field}");
    }
    let problem_fields = props("Problem");
    for field in ["type", "title", "status", "detail"] {
        assert!(problem_fields.contains(field), "Problem lacks {field}");
    }

    // Every reference in the document resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().expect("name");
        assert!(schemas.contains_key(name), "dangling $ref to {name}");
    }
}

/// Every JSON body refuses fields it does not know, and says so: a client
/// generated from the document cannot send one the server would refuse.
#[tokio::test]
async fn every_request_body_refuses_unknown_fields() {
    let Some(app) = TestApp::spawn().await else { return };
    let doc = openapi(&app).await;
    let mut bodies = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(reference) = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() else {
                continue;
            };
            let name = reference.rsplit('/').next().expect("a schema name");
            let schema = &doc["components"]["schemas"][name];
            assert_eq!(schema["additionalProperties"], false, "{method} {path}: {name} takes unknown fields");
            bodies += 1;
        }
    }
    assert!(bodies >= 14, "only {bodies} request bodies were found");
}

#[tokio::test]
async fn openapi_documents_every_operation_of_the_contract() {
    let Some(app) = TestApp::spawn().await else { return };
    let documented = operations(&openapi(&app).await);
    let missing: Vec<_> =
        CONTRACT_ROUTES.iter().filter(|(m, p)| !documented.contains(&((*m).to_owned(), (*p).to_owned()))).collect();
    assert!(missing.is_empty(), "operations missing from /api/openapi.json: {missing:?}");
}

/// What client generators build on (clients/ is generated from this
/// document): each operation id names one operation; a request body is
/// never documented as `null`, which every endpoint refuses (no body at all
/// is what it takes for `{}`); page sizes are numbers.
#[tokio::test]
async fn openapi_holds_what_client_generators_rely_on() {
    let Some(app) = TestApp::spawn().await else { return };
    let doc = openapi(&app).await;
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(id) = op["operationId"].as_str() else { continue };
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice (again by {method} {path})");
            if let Some(body) = op.get("requestBody") {
                assert_eq!(body["required"], false, "{method} {path}: an empty body is read as {{}}");
                for (media, content) in body["content"].as_object().expect("content") {
                    let schema = content["schema"].to_string();
                    assert!(!schema.contains(r#"{"type":"null"}"#), "{method} {path} documents a null {media} body");
                }
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["name"] == "limit" {
                    assert_eq!(param["schema"]["type"], "integer", "{method} {path}: limit");
                    assert_eq!(
                        (param["schema"]["minimum"].as_u64(), param["schema"]["maximum"].as_u64()),
                        (Some(1), Some(200))
                    );
                }
            }
        }
    }
}

/// The document tells a client which operations need credentials, and the
/// server agrees: one documented with only named schemes answers `401` to a
/// request without any, one documented without `security` never does. One a
/// key may call documents `orgId`, which every such caller may pin. And
/// every problem it documents is `application/problem+json`, as it is sent.
#[tokio::test]
async fn the_document_says_truly_which_operations_need_credentials() {
    let Some(app) = TestApp::spawn().await else { return };
    let doc = openapi(&app).await;
    let mut wrong = Vec::new();
    let (mut guarded, mut public) = (0, 0);
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            for (status, response) in op["responses"].as_object().expect("responses") {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    let is_problem = content["schema"]["$ref"] == "#/components/schemas/Problem";
                    if is_problem && media != "application/problem+json" {
                        wrong.push(format!("{method} {path}: its {status} problem is documented as {media}"));
                    }
                }
            }
            let requirements = op["security"].as_array().cloned();
            let takes_keys = requirements.iter().flatten().any(|r| r.get("apiKey").is_some());
            let pins = op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "orgId");
            if takes_keys && !pins {
                wrong.push(format!("{method} {path}: a key may call it, but orgId is not documented"));
            }
            let needs_credentials = match &requirements {
                None => false,
                Some(all) if all.iter().all(|r| r.as_object().is_some_and(|o| !o.is_empty())) => true,
                // "With these, or without": nothing to hold it to here.
                Some(_) => continue,
            };
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
            let mut req = app.client.request(method.clone(), app.url(&concrete(path)));
            if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
                req = req.json(&serde_json::json!({}));
            }
            let status = req.send().await.expect("request").status();
            if needs_credentials {
                guarded += 1;
                if status != StatusCode::UNAUTHORIZED {
                    wrong.push(format!(
                        "{method} {path} is documented as guarded but answers {status} without credentials"
                    ));
                }
            } else {
                public += 1;
                if status == StatusCode::UNAUTHORIZED {
                    wrong.push(format!("{method} {path} is documented as public but answers 401 without credentials"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "the document is wrong:\n{}", wrong.join("\n"));
    assert!(guarded > 20 && public > 5, "{guarded} guarded and {public} public operations checked");
}

/// The router and the document agree: every documented operation is
/// served, and every other method on a documented path is `405`. Together
/// with the contract's list above, a route the router serves but the document
/// lacks, or the reverse, fails here.
#[tokio::test]
async fn every_route_the_router_serves_is_documented_and_every_documented_one_is_served() {
    let Some(app) = TestApp::spawn().await else { return };
    let documented = operations(&openapi(&app).await);
    let unrouted = unrouted_signature(&app).await;
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    let mut wrong = Vec::new();
    for path in paths {
        let url = concrete(path);
        for method in METHODS {
            let is_documented = documented.contains(&(method.as_str().to_ascii_lowercase(), path.clone()));
            let res = app.request(method.clone(), &url, &app.admin_key).send().await.expect("request");
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let served =
                status != StatusCode::METHOD_NOT_ALLOWED && (body["type"].clone(), body["detail"].clone()) != unrouted;
            match (is_documented, served) {
                (true, false) => wrong.push(format!("{method} {path} is documented but not served ({status})")),
                (false, true) => wrong.push(format!("{method} {path} is served ({status}) but not documented")),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "router and OpenAPI disagree:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn contract_routes_are_all_served() {
    let Some(app) = TestApp::spawn().await else { return };
    let unrouted = unrouted_signature(&app).await;
    for (method, path) in CONTRACT_ROUTES {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
        let res = app.request(method.clone(), &concrete(path), &app.admin_key).send().await.expect("request");
        let status = res.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!((body["type"].clone(), body["detail"].clone()), unrouted, "{method} {path} is not routed");
        assert!(status.as_u16() < 500, "{method} {path} answered {status}");
    }
}

#[tokio::test]
async fn healthz_and_readyz_answer_200() {
    let Some(app) = TestApp::spawn().await else { return };
    for path in ["/healthz", "/readyz"] {
        let res = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["status"], "ok", "{path}");
    }
}

#[tokio::test]
async fn readyz_is_503_problem_with_retry_after_when_storage_is_gone_while_healthz_stays_200() {
    let Some(app) = TestApp::spawn().await else { return };
    assert_eq!(app.client.get(app.url("/readyz")).send().await.expect("request").status(), StatusCode::OK);
    app.store.close().await;
    let res = app.client.get(app.url("/readyz")).send().await.expect("request");
    let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("Retry-After in seconds");
    assert!(seconds >= 1);
    assert!(!body.to_string().to_lowercase().contains("sqlx"), "internals in {body}");
    // Liveness does not depend on storage.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.expect("request").status(), StatusCode::OK);
}

/// A one-time link's page is for a browser: with storage gone it is an HTML
/// 503 to retry, with Retry-After, and says nothing of the internals.
#[tokio::test]
async fn one_time_link_pages_are_a_503_page_to_retry_when_storage_is_gone() {
    let Some(app) = TestApp::spawn().await else { return };
    app.store.close().await;
    for path in ["/setup?token=abc", "/set-password?token=abc", "/accept-invitation?token=abc"] {
        let res = app.client.get(app.url(path)).header("accept", "text/html").send().await.expect("request");
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!(header("content-type").starts_with("text/html"), "{path}: {}", header("content-type"));
        let seconds: u64 = header("retry-after").parse().expect("Retry-After in seconds");
        assert!(seconds >= 1, "{path}");
        let page = res.text().await.expect("page");
        assert!(page.contains("Try again"), "{path}: {page}");
        assert!(!page.to_lowercase().contains("sqlx") && !page.contains("pool"), "{path}: internals in {page}");
    }
}

/// One sample of the Prometheus text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"))),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        let mut rest = labels;
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad label in {line}"));
            let end = after.find('"').unwrap_or_else(|| panic!("unterminated label in {line}"));
            map.insert(key.to_owned(), after[..end].to_owned());
            rest = after[end + 1..].trim_start_matches(',');
        }
        samples.push(Sample { name: name.to_owned(), labels: map, value });
    }
    samples
}

/// The sum of the samples named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.value)
        .sum()
}

async fn scrape(app: &TestApp) -> (String, Vec<Sample>) {
    let res = app.client.get(app.url("/metrics")).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(content_type.contains("version=0.0.4"), "{content_type}");
    let text = res.text().await.expect("text");
    let samples = parse_prometheus(&text);
    (text, samples)
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_time_them_and_count_auth_outcomes_by_reason() {
    let Some(app) = TestApp::spawn().await else { return };
    let (_, before) = scrape(&app).await;

    assert_eq!(app.get(WHOAMI, &app.admin_key).await.status(), StatusCode::OK);
    let unknown = Secret::mint().expect("randomness");
    assert_eq!(app.get(WHOAMI, unknown.expose()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(WHOAMI, "kw_not-a-key").await.status(), StatusCode::UNAUTHORIZED);
    let res = app.client.get(app.url(WHOAMI)).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let account = format!("{SA}/{}", Id::generate());
    assert_eq!(app.get(&account, &app.admin_key).await.status(), StatusCode::NOT_FOUND);

    let (text, after) = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);

    for (kind, name) in [
        ("counter", "keyward_http_requests"),
        ("histogram", "keyward_http_request_duration_seconds"),
        ("counter", "keyward_auth_attempts"),
    ] {
        assert!(text.contains(&format!("# TYPE {name} {kind}")), "no {kind} {name} in\n{text}");
    }

    // Requests by route template and status.
    let requests = "keyward_http_requests_total";
    assert_eq!(delta(requests, &[("route", WHOAMI), ("status", "200"), ("method", "GET")]), 1.0, "{text}");
    assert_eq!(delta(requests, &[("route", WHOAMI), ("status", "401")]), 3.0, "{text}");
    let template = "/api/service-account/v1/service-account/{id}";
    assert_eq!(delta(requests, &[("route", template), ("status", "404")]), 1.0, "{text}");
    assert!(!text.contains(&account), "a concrete id became a label");
    assert_eq!(delta(requests, &[("route", "/metrics"), ("status", "200")]), 1.0, "the first scrape was not counted");

    // The latency histogram: cumulative buckets ending in +Inf, with _count and _sum.
    let histogram = "keyward_http_request_duration_seconds";
    let mut buckets: Vec<(f64, f64)> = after
        .iter()
        .filter(|s| {
            s.name == format!("{histogram}_bucket") && s.labels.get("route").map(String::as_str) == Some(WHOAMI)
        })
        .map(|s| {
            let le = s.labels.get("le").expect("le");
            (if le == "+Inf" { f64::INFINITY } else { le.parse().expect("le") }, s.value)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 2, "too few buckets: {buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "buckets are not cumulative: {buckets:?}");
    assert_eq!(buckets.last().map(|b| (b.0, b.1)), Some((f64::INFINITY, 4.0)));
    assert_eq!(value(&after, &format!("{histogram}_count"), &[("route", WHOAMI)]), 4.0);
    assert!(value(&after, &format!("{histogram}_sum"), &[("route", WHOAMI)]) > 0.0);

    // Authentication outcomes by reason.
    let auth = "keyward_auth_attempts_total";
    // Two good keys (whoami and the account lookup), one of each refusal.
    for (outcome, count) in [("ok", 2.0), ("unknown", 1.0), ("malformed", 1.0), ("missing", 1.0)] {
        assert_eq!(delta(auth, &[("outcome", outcome)]), count, "{outcome}:\n{text}");
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let Some(app) = TestApp::spawn().await else { return };
    for path in
        ["/nothing-here", "/api/service-account/v2/service-account", "/api/service-account/v1/service-account/x/y/z/w"]
    {
        let res = app.get(path, &app.admin_key).await;
        problem(res, StatusCode::NOT_FOUND).await;
        let res = app.client.post(app.url(path)).send().await.expect("request");
        problem(res, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_naming_the_allowed_ones() {
    let Some(app) = TestApp::spawn().await else { return };
    let account = format!("{SA}/{}", Id::generate());
    for (method, path) in [
        (Method::PUT, "/healthz"),
        (Method::POST, "/metrics"),
        (Method::DELETE, WHOAMI),
        (Method::PUT, SA),
        (Method::POST, account.as_str()),
        (Method::DELETE, "/api/openapi.json"),
    ] {
        let res = app.request(method.clone(), path, &app.admin_key).send().await.expect("request");
        let allow = res.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned);
        problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
        let allow = allow.unwrap_or_else(|| panic!("{method} {path}: a 405 without Allow"));
        assert!(!allow.contains(method.as_str()), "{method} {path}: Allow {allow}");
        assert!(!allow.trim().is_empty());
    }
}

/// The app's files are served by name; any other path under `/assets/` is
/// the server's "not found": problem+json for a client, a page for a browser.
#[tokio::test]
async fn assets_are_served_by_name_and_nothing_else_is() {
    let Some(app) = TestApp::spawn().await else { return };
    let res = app.client.get(app.url("/assets/app.js")).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let media = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(media.starts_with("text/javascript"), "{media}");
    let tag = res.headers().get("etag").expect("an ETag").clone();
    let again = app.client.get(app.url("/assets/app.js")).header("if-none-match", tag).send().await.expect("request");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "the same tag is not the same file");
    for path in ["/assets/nope.js", "/assets/", "/assets/app.js/x", "/assets/..%2FCargo.toml"] {
        let res = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let media = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert_eq!(media, "application/problem+json", "{path}");
        let page = app.client.get(app.url(path)).header("accept", "text/html").send().await.expect("request");
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        let media = page.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!(media.starts_with("text/html"), "{path}: {media}");
    }
}
