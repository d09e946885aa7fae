//! No secret leaks: a secret is returned once, in the response that creates
//! it, and never again.
//!
//! The real binary runs with the most verbose logging there is. Keys are made
//! at the command line and over the API, used in every form (raw, `Bearer`,
//! Basic), made to fail (a one-character typo, an unknown key, a deleted, a
//! disabled and a rotated-away key, Basic where it is off), and one is
//! rotated. Then every byte keyward produced is searched for every secret:
//! the whole log of the server and of the commands, every response but the
//! one that created the secret (headers and bodies: reads, listings, whoami,
//! verify, the audit trail, metrics, problem bodies), and the SQLite file
//! with its `-wal` and `-shm`, both while the server runs and after a
//! graceful stop. An invitation's link counts as a secret too: it is created
//! by the message to the invitee, and must be nowhere else (not in the answer
//! to the admin who invited).
//!
//! A secret counts as found when any 16 consecutive characters of it show up
//! (96 random bits: no false alarms), so a truncated, prefixed or otherwise
//! partial secret is caught too, and so is the base64 form a Basic header
//! carries.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use keyward::domain::{Id, Secret};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::basic;
use support::node::{Process, serve_args};
use support::wait::wait_for;

/// Logging as verbose as it gets: every crate, every level.
const MOST_VERBOSE_LOG: &str = "trace";
const SA: &str = "/api/service-account/v1/service-account";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const VERIFY: &str = "/api/auth/v1/verify";
/// Characters of a secret that count as a leak when found together.
const WINDOW: usize = 16;

/// Something keyward produced, to be searched.
struct Haystack {
    label: String,
    bytes: Vec<u8>,
    /// The secret this output hands out, if it is the one that created it.
    creates: Option<usize>,
}

/// Every secret of the test, and the 16-character windows that betray each.
#[derive(Default)]
struct Secrets {
    labels: Vec<String>,
    values: Vec<String>,
    windows: HashMap<Vec<u8>, usize>,
}

impl Secrets {
    fn add(&mut self, label: &str, value: &str) -> usize {
        assert!(value.len() > WINDOW, "{label} is too short to search for");
        let index = self.labels.len();
        self.labels.push(label.to_owned());
        self.values.push(value.to_owned());
        self.add_form(index, value);
        index
    }

    /// Another form the secret travels in (such as a Basic header).
    fn add_form(&mut self, index: usize, form: &str) {
        for w in form.as_bytes().windows(WINDOW) {
            let previous = self.windows.insert(w.to_vec(), index);
            assert!(previous.is_none_or(|p| p == index), "two secrets share {WINDOW} characters");
        }
    }

    /// The secrets found in `hay`, with some context for the failure message.
    fn found_in(&self, hay: &[u8]) -> Vec<(usize, String)> {
        let mut found: Vec<(usize, String)> = Vec::new();
        for (at, w) in hay.windows(WINDOW).enumerate() {
            if let Some(&index) = self.windows.get(w) {
                if found.iter().all(|(i, _)| *i != index) {
                    let from = at.saturating_sub(80);
                    let to = (at + WINDOW + 80).min(hay.len());
                    found.push((index, String::from_utf8_lossy(&hay[from..to]).into_owned()));
                }
            }
        }
        found
    }
}

/// The API as the test sees it: every answer is kept for the search.
struct Api {
    base: String,
    client: reqwest::Client,
    seen: Vec<Haystack>,
}

impl Api {
    /// Sends a request; returns the status and the body as JSON (null when
    /// empty or not JSON), keeping the whole answer, headers included.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, authorization.map(|a| ("Authorization", a.to_owned())), body).await
    }

    async fn call_with(
        &mut self,
        method: Method,
        path: &str,
        header: Option<(&str, String)>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.base));
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let mut text = format!("{status}\n");
        for (name, value) in res.headers() {
            text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
        }
        let bytes = res.bytes().await.expect("body");
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&bytes));
        self.seen.push(Haystack {
            label: format!("the answer to {method} {path}"),
            bytes: text.into_bytes(),
            creates: None,
        });
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Marks the last answer as the one that created secret `index`.
    fn last_created(&mut self, index: usize) {
        self.seen.last_mut().expect("an answer").creates = Some(index);
    }

    async fn expect(
        &mut self,
        status: StatusCode,
        method: Method,
        path: &str,
        authorization: &str,
        body: Option<Value>,
    ) -> Value {
        let (got, value) = self.call(method.clone(), path, Some(authorization), body).await;
        assert_eq!(got, status, "{method} {path}: {value}");
        value
    }

    /// All pages of a listing.
    async fn pages(&mut self, path: &str, authorization: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=2&cursor={c}"),
                None => format!("{path}{sep}limit=2"),
            };
            let page = self.expect(StatusCode::OK, Method::GET, &url, authorization, None).await;
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }
}

fn read_if_exists(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The same secret with one character of its random part changed: the
/// checksum catches it, and it must not be logged either.
fn one_char_changed(secret: &str) -> String {
    let mut chars: Vec<char> = secret.chars().collect();
    let at = chars.len() / 2;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// The text of the first message holding `needle` that the file transport
/// wrote into `outbox/` under the data folder `dir`, once there is one.
async fn invitation_in_outbox(dir: &Path, needle: &str) -> String {
    let outbox = dir.join("outbox");
    wait_for(Duration::from_secs(15), &format!("a message with {needle} in {}", outbox.display()), async || {
        let files = std::fs::read_dir(&outbox).into_iter().flatten().flatten();
        for file in files {
            let raw = std::fs::read(file.path()).unwrap_or_default();
            if let Some(text) =
                mail_parser::MessageParser::default().parse(&raw).and_then(|m| m.body_text(0).map(String::from))
                && text.contains(needle)
            {
                return Ok(text);
            }
        }
        Err("")
    })
    .await
}

#[tokio::test]
async fn no_secret_is_found_anywhere_but_in_the_answer_that_created_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_file = dir.path().join("k.db");
    let db = format!("sqlite://{}", db_file.display());
    let mut secrets = Secrets::default();
    let mut outputs: Vec<Haystack> = Vec::new();
    let log_everything = [("KEYWARD_LOG", MOST_VERBOSE_LOG)];
    let mut run = |args: &[&str], stdin: Option<&str>| -> Value {
        let args = [args, &["--database", &db]].concat();
        let out =
            support::node::run(dir.path(), &args, &log_everything, stdin.map(|input| format!("{input}\n")).as_deref());
        assert!(out.status.success(), "keyward {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let what = format!("keyward {}", args.join(" "));
        let value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        outputs.push(Haystack { label: format!("the log of {what}"), bytes: out.stderr, creates: None });
        outputs.push(Haystack { label: format!("the output of {what}"), bytes: out.stdout, creates: None });
        value
    };

    // At the command line: an organization, an admin person, and an admin
    // service account with a key.
    let org = run(&["admin", "create-org", "--name", "Acme"], None)["id"].as_str().expect("org").to_owned();
    let password = format!("pw-{}", Id::generate());
    run(
        &["admin", "create-user", "--org", &org, "--email", "ada@example.com", "--role", "admin", "--password-stdin"],
        Some(&password),
    );
    // Another organization adds Ada, who has an account: an invitation waits
    // for her answer, with a link to accept.
    let globex = run(&["admin", "create-org", "--name", "Globex"], None)["id"].as_str().expect("org").to_owned();
    let not_hers = format!("pw-{}", Id::generate());
    run(
        &[
            "admin",
            "create-user",
            "--org",
            &globex,
            "--email",
            "ada@example.com",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        Some(&not_hers),
    );
    let admin = run(
        &["admin", "create-service-account", "--org", &org, "--name", "ops", "--role", "admin", "--with-key"],
        None,
    );
    let admin_secret = admin["key"]["secret"].as_str().expect("CLI secret").to_owned();
    let admin_key_id = admin["key"]["keyId"].as_str().expect("keyId").to_owned();
    let cli_key = secrets.add("the key made by the CLI", &admin_secret);
    outputs.last_mut().expect("output").creates = Some(cli_key);
    let pw = secrets.add("the user's password", &password);

    // The server, logging everything to a file.
    let mut server = Process::spawn(dir.path(), &serve_args(&db, &[]), &log_everything).serving();
    let mut api = Api {
        base: server.base.clone(),
        client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client"),
        seen: Vec::new(),
    };

    // Keys over the API.
    let a = &admin_secret;
    let worker = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            SA,
            a,
            Some(json!({"name": "worker", "enableBasicAuth": true, "role": "editor"})),
        )
        .await;
    let worker = worker["id"].as_str().expect("id").to_owned();
    let plain = api.expect(StatusCode::CREATED, Method::POST, SA, a, Some(json!({"name": "no basic"}))).await;
    let plain = plain["id"].as_str().expect("id").to_owned();
    let mut keys: Vec<(usize, String, String)> = Vec::new();
    for (label, account, body) in [
        ("a key used raw and in Bearer", &worker, Some(json!({}))),
        ("a key used with Basic, then deleted", &worker, Some(json!({"name": "basic"}))),
        ("a key then disabled", &worker, None),
        ("a key then rotated away", &worker, Some(json!({"expiresIn": 3600}))),
        ("a key of an account without Basic, then deleted with it", &plain, Some(json!({}))),
    ] {
        let key = api.expect(StatusCode::CREATED, Method::POST, &format!("{SA}/{account}/key"), a, body).await;
        let secret = key["secret"].as_str().expect("secret").to_owned();
        let index = secrets.add(label, &secret);
        api.last_created(index);
        keys.push((index, key["keyId"].as_str().expect("keyId").to_owned(), secret));
    }
    let [
        (raw_index, raw_id, raw),
        (basic_index, basic_id, basic_secret),
        (_, disabled_id, disabled),
        (_, rotated_id, rotated),
        (plain_index, plain_id, plain_secret),
    ] = <[_; 5]>::try_from(keys).expect("five keys");
    // A Basic header carries base64("keyId:secret"); past "keyId:kw_" (a
    // multiple of 3 bytes) it encodes the secret's random part alone.
    for (index, key_id, secret) in
        [(basic_index, &basic_id, &basic_secret), (plain_index, &plain_id, &plain_secret), (raw_index, &raw_id, &raw)]
    {
        let prefix = key_id.len() + ":kw_".len();
        assert_eq!(prefix % 3, 0, "the Basic encoding is not aligned; adjust the search");
        let encoded = basic(key_id, secret);
        secrets.add_form(index, &encoded["Basic ".len() + prefix / 3 * 4..]);
    }

    // Used in every form.
    for auth in [
        a.clone(),
        raw.clone(),
        format!("Bearer {raw}"),
        basic(&basic_id, &basic_secret),
        format!("bearer {disabled}"),
        rotated.clone(),
    ] {
        api.expect(StatusCode::OK, Method::GET, WHOAMI, &auth, None).await;
        api.expect(StatusCode::OK, Method::GET, VERIFY, &auth, None).await;
    }
    api.expect(StatusCode::OK, Method::GET, &format!("{WHOAMI}?orgId={org}"), &plain_secret, None).await;

    // Made to fail.
    let typo = one_char_changed(&raw);
    assert!(Secret::parse(&typo).is_err(), "the typo should fail the checksum");
    let stranger = Secret::mint().expect("randomness").expose().to_owned();
    let stranger_index = secrets.add("a well-formed key keyward never issued", &stranger);
    for auth in [
        typo.clone(),
        format!("Bearer {typo}"),
        stranger.clone(),
        basic(&raw_id, &basic_secret),
        basic(&plain_id, &plain_secret),
    ] {
        let problem = api.expect(StatusCode::UNAUTHORIZED, Method::GET, WHOAMI, &auth, None).await;
        assert_eq!(problem["status"], 401);
    }
    api.expect(StatusCode::UNAUTHORIZED, Method::GET, VERIFY, &typo, None).await;

    let disabled_path = format!("{SA}/{worker}/key/{disabled_id}");
    api.expect(StatusCode::OK, Method::PATCH, &disabled_path, a, Some(json!({"disabled": true}))).await;
    api.expect(StatusCode::UNAUTHORIZED, Method::GET, WHOAMI, &disabled, None).await;
    api.expect(StatusCode::UNAUTHORIZED, Method::GET, VERIFY, &format!("Bearer {disabled}"), None).await;

    api.expect(StatusCode::NO_CONTENT, Method::DELETE, &format!("{SA}/{worker}/key/{basic_id}"), a, None).await;
    api.expect(StatusCode::UNAUTHORIZED, Method::GET, WHOAMI, &basic(&basic_id, &basic_secret), None).await;
    api.expect(StatusCode::UNAUTHORIZED, Method::GET, WHOAMI, &basic_secret, None).await;

    let rotate = format!("{SA}/{worker}/key/{rotated_id}/rotate");
    let new = api.expect(StatusCode::CREATED, Method::POST, &rotate, a, Some(json!({"gracePeriod": 0}))).await;
    let successor = new["secret"].as_str().expect("secret").to_owned();
    let successor_index = secrets.add("the key that replaced the rotated one", &successor);
    api.last_created(successor_index);
    api.expect(StatusCode::UNAUTHORIZED, Method::GET, WHOAMI, &rotated, None).await;
    api.expect(StatusCode::OK, Method::GET, WHOAMI, &format!("Bearer {successor}"), None).await;

    api.expect(StatusCode::NO_CONTENT, Method::DELETE, &format!("{SA}/{plain}"), a, None).await;
    api.expect(StatusCode::UNAUTHORIZED, Method::GET, WHOAMI, &plain_secret, None).await;

    // A person's session: the login answer creates it, nothing else shows it.
    let (status, session) = api
        .call(
            Method::POST,
            "/api/session/v1/login",
            None,
            Some(json!({"email": "ada@example.com", "password": password})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "login: {session}");
    let set_cookie = String::from_utf8_lossy(&api.seen.last().expect("login").bytes).into_owned();
    let token = set_cookie
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: keyward_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .next()
        .expect("a session cookie");
    let session_index = secrets.add("a session token", &token);
    api.last_created(session_index);
    let cookie = format!("keyward_session={token}");
    let (status, me) = api.call_with(Method::GET, WHOAMI, Some(("Cookie", cookie.clone())), None).await;
    assert_eq!(status, StatusCode::OK, "whoami by session: {me}");
    let (status, _) = api
        .call_with(
            Method::POST,
            "/api/session/v1/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "not the password"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An invitation: its link is in the invitee's message (the file
    // transport's .eml under the data folder) and nowhere else, least of all
    // in the answer to the admin who invited.
    let invite = json!({"email": "grace@example.com", "role": "admin"});
    api.expect(StatusCode::CREATED, Method::POST, &format!("/api/user/v1/user?orgId={org}"), a, Some(invite)).await;
    let message = invitation_in_outbox(dir.path(), "/set-password?token=").await;
    let link = message.split("/set-password?token=").nth(1).expect("a link to choose a password");
    let link: String = link.chars().take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c)).collect();
    let link_index = secrets.add("an invitation's link", &link);
    outputs.push(Haystack {
        label: "the invitee's message".into(),
        bytes: message.into_bytes(),
        creates: Some(link_index),
    });
    // Ada's link to accept Globex's invitation: in her message alone, and
    // its page (opened as a mail scanner would) shows it to nobody.
    let message = invitation_in_outbox(dir.path(), "/accept-invitation?token=").await;
    let accept = message.split("/accept-invitation?token=").nth(1).expect("a link to accept");
    let accept: String = accept.chars().take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c)).collect();
    let accept_index = secrets.add("an invitation's link to accept", &accept);
    outputs.push(Haystack {
        label: "the invited person's message".into(),
        bytes: message.into_bytes(),
        creates: Some(accept_index),
    });
    let page = format!("/accept-invitation?token={accept}&org={globex}");
    let (status, _) = api.call_with(Method::GET, &page, None, None).await;
    assert_eq!(status, StatusCode::OK, "the accept link's page");
    let invitations = "/api/user/v1/me/invitation";
    let (status, waiting) = api.call_with(Method::GET, invitations, Some(("Cookie", cookie.clone())), None).await;
    assert_eq!((status, waiting["items"][0]["orgId"].as_str()), (StatusCode::OK, Some(globex.as_str())));

    // Everything there is to read back.
    for account in api.pages(SA, a).await {
        let id = account["id"].as_str().expect("id");
        api.expect(StatusCode::OK, Method::GET, &format!("{SA}/{id}"), a, None).await;
        api.expect(StatusCode::OK, Method::GET, &format!("{SA}/{id}/key"), a, None).await;
    }
    api.expect(StatusCode::NOT_FOUND, Method::GET, &format!("{SA}/{plain}"), a, None).await;
    api.expect(StatusCode::OK, Method::GET, "/api/org/v1/org", a, None).await;
    api.expect(StatusCode::OK, Method::GET, &format!("/api/user/v1/user?orgId={org}"), a, None).await;
    let audit = api.pages("/api/audit/v1/event", a).await;
    let audit_text = serde_json::to_string(&audit).expect("audit");
    api.expect(StatusCode::OK, Method::GET, "/metrics", a, None).await;
    api.expect(StatusCode::OK, Method::GET, "/api/openapi.json", a, None).await;

    // The database as it is while the server runs, WAL and all.
    let files = |suffix: &str| db_file.with_file_name(format!("k.db{suffix}"));
    let mut stored: Vec<Haystack> = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Some(bytes) = read_if_exists(&files(suffix)) {
            stored.push(Haystack { label: format!("k.db{suffix} while serving"), bytes, creates: None });
        }
    }

    // A graceful stop, so that the WAL is checkpointed into the file.
    server.signal("TERM");
    let status = server.wait_for_exit(Duration::from_secs(30));
    assert!(status.success(), "keyward did not stop cleanly ({status}):\n{}", server.read_log());
    for suffix in ["", "-wal", "-shm"] {
        if let Some(bytes) = read_if_exists(&files(suffix)) {
            stored.push(Haystack { label: format!("k.db{suffix} after the stop"), bytes, creates: None });
        }
    }
    let log = server.read_log();

    // The search could fail: each secret is there to find where it was
    // created, and the places searched hold what they should.
    let mut all: Vec<Haystack> = Vec::new();
    all.extend(outputs);
    all.extend(api.seen);
    for (index, label) in secrets.labels.iter().enumerate() {
        if index == pw || index == stranger_index {
            continue;
        }
        let creator =
            all.iter().find(|h| h.creates == Some(index)).unwrap_or_else(|| panic!("nothing created {label}"));
        assert!(
            secrets.found_in(&creator.bytes).iter().any(|(i, _)| *i == index),
            "the search does not find {label} in {}",
            creator.label
        );
        assert!(contains(&creator.bytes, &secrets.values[index]));
    }
    assert!(log.contains(WHOAMI), "the server's log does not show the requests:\n{log}");
    assert!(log.contains(VERIFY), "the server's log does not show every request:\n{log}");
    let db_after = &stored.iter().find(|h| h.label == "k.db after the stop").expect("k.db").bytes;
    assert!(!db_after.is_empty());
    let everything_stored: Vec<u8> = stored.iter().flat_map(|h| h.bytes.iter().copied()).collect();
    for key_id in [&admin_key_id, &raw_id, &disabled_id, &rotated_id] {
        assert!(contains(&everything_stored, key_id), "the database does not hold key {key_id}: not searchable?");
        assert!(audit_text.contains(key_id.as_str()), "the audit trail does not mention key {key_id}");
    }
    let hash = Secret::parse(&admin_secret).expect("parse").hash().to_hex();
    assert!(contains(&everything_stored, &hash), "the database does not hold the key's SHA-256");

    // The search itself.
    all.push(Haystack { label: "the server's log".into(), bytes: log.into_bytes(), creates: None });
    all.push(Haystack { label: "the audit trail".into(), bytes: audit_text.into_bytes(), creates: None });
    all.extend(stored);
    let mut leaks = Vec::new();
    for hay in &all {
        for (index, context) in secrets.found_in(&hay.bytes) {
            if hay.creates != Some(index) {
                leaks.push(format!("{} found in {}: …{context}…", secrets.labels[index], hay.label));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
