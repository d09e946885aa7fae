//! The web app in a real browser: Debian's headless Chromium, driven over
//! WebDriver, against the real `keyward` binary on a fresh database. The
//! first run's setup link, creating an account and its key as the README's
//! screenshots show it (and the copied
//! secret authenticating), an admin's day, an invitation taken from the
//! invitee's mailbox, another accepted through its emailed link by a person
//! who already had an account, a viewer's restricted view, CSRF refusals,
//! and the screenshots the README shows.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`
//! (`apt-get install chromium chromium-driver`); without them each test
//! fails, or says SKIPPED when KEYWARD_TEST_SKIP names them.

#[path = "web/browser.rs"]
mod browser;
mod support;

use std::path::Path;
use std::time::Duration;

use browser::Browser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::basic;
use support::node::{Node, run, run_json};
use support::wait::{wait_for, wait_for_blocking};

const PASSWORD: &str = "correct horse battery staple";
const WHOAMI: &str = "/api/service-account/v1/whoami";
const SA: &str = "/api/service-account/v1/service-account";

/// A page of the app must not run inline script, load from elsewhere, or be
/// framed.
const CSP_DIRECTIVES: &[&str] = &[
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
];

/// Every page of the web app, by its address (the routes of
/// `src/web/mod.rs`, and the deleted accounts' page the app draws under
/// `/service-accounts/{id}`), and the screenshot of it the tests take for the
/// README.
const PAGES: &[(&str, &str)] = &[
    ("/", "accounts"),
    ("/login", "login"),
    ("/setup", "setup"),
    ("/service-accounts", "accounts"),
    ("/service-accounts/{id}", "account"),
    ("/service-accounts/deleted", "deleted"),
    ("/users", "users"),
    ("/settings", "settings"),
    ("/audit", "audit"),
    ("/webhooks", "webhooks"),
    ("/webhooks/{id}", "webhook"),
    ("/invitations", "invitations"),
    ("/set-password", "set-password"),
    ("/accept-invitation", "invitation"),
];

/// What the README's pictures may weigh together, in bytes.
const SCREENSHOTS_BUDGET: u64 = 800 * 1024;

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

/// The first-run link from the server's log, once it is there.
fn setup_link(node: &Node) -> String {
    let text = node.wait_for_log("/setup?token=", Duration::from_secs(10));
    let at = text.find("/setup?token=").expect("the link");
    let start = text[..at].rfind("http://").expect("the link's origin");
    let end = text[at..].find(|c: char| c.is_whitespace()).map_or(text.len(), |e| at + e);
    text[start..end].to_owned()
}

/// `keyward admin create-user … --password-stdin`.
fn create_user(dir: &Path, database: &str, org: &str, email: &str, role: &str) -> Value {
    let args = ["admin", "create-user", "--database", database, "--org", org, "--email", email, "--role", role];
    let out = run(dir, &[&args[..], &["--password-stdin"]].concat(), &[], Some(&format!("{PASSWORD}\n")));
    assert!(out.status.success(), "create-user failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The link to choose a password in the message to `to` that the file
/// transport wrote into the node's `outbox/` (its data folder is `dir`),
/// once it is there: the invitee's mailbox, which the admin never sees.
fn invitation_link(dir: &Path, base: &str, to: &str) -> String {
    mailed_link(dir, &format!("{base}/set-password?token="), to)
}

/// The first link starting with `prefix` in a message to `to` in the node's
/// `outbox/`, once one is there, whole (to the end of its line).
fn mailed_link(dir: &Path, prefix: &str, to: &str) -> String {
    let outbox = dir.join("outbox");
    wait_for_blocking(Duration::from_secs(15), &format!("a {prefix} link to {to} in {}", outbox.display()), || {
        for entry in std::fs::read_dir(&outbox).into_iter().flatten().flatten() {
            let raw = std::fs::read(entry.path()).unwrap_or_default();
            let Some(message) = mail_parser::MessageParser::default().parse(&raw) else { continue };
            let addressed = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .is_some_and(|a| a.eq_ignore_ascii_case(to));
            let text = message.body_text(0).unwrap_or_default();
            if let (true, Some(at)) = (addressed, text.find(prefix)) {
                let rest: String = text[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "-_&=".contains(*c))
                    .collect();
                return Ok(format!("{prefix}{rest}"));
            }
        }
        Err("")
    })
}

async fn log_in(b: &Browser, base: &str, email: &str) {
    b.goto(&format!("{base}/login")).await;
    b.heading("Log in").await;
    b.fill("", "Email", email).await;
    b.fill("", "Password", PASSWORD).await;
    b.click_button("Log in").await;
    b.heading("Service accounts").await;
}

async fn log_out(b: &Browser) {
    b.click_button("Log out").await;
    b.heading("Log in").await;
    b.wait_for_text("You are logged out.").await;
}

/// The text of the open dialog's value for a `<dt>` label.
async fn dialog_fact(b: &Browser, label: &str) -> String {
    let xpath = format!("//dialog[@open]//dt[normalize-space()={}]/following-sibling::dd[1]", browser::quote(label));
    b.find(&xpath).await.text().await.expect("text").trim().to_owned()
}

/// Reads the key dialog (key id and secret), checks its warning and Copy
/// button, closes it, and makes sure the secret left the page with it.
async fn take_key_from_dialog(b: &Browser, title: &str, screenshot: Option<&str>) -> (String, String) {
    b.heading(title).await;
    let key_id = dialog_fact(b, "Key ID").await;
    let secret =
        b.find("//dialog[@open]//code[@id='key-secret']").await.text().await.expect("secret").trim().to_owned();
    assert!(secret.starts_with("kw_"), "a keyward secret: {secret}");
    assert!(!key_id.is_empty());
    let warning = b.find("//dialog[@open]//*[contains(@class, 'warning')]").await.text().await.expect("warning");
    assert!(warning.contains("will not be shown again"), "{warning}");
    // Copy: the button is there, says it copied, and the clipboard (where
    // this browser lets a page read it) holds exactly the secret.
    let copy = b.dialog_button("Copy").await;
    copy.click().await.expect("click Copy");
    b.wait_for_text("Copied to the clipboard").await;
    assert_eq!(copy.text().await.expect("text"), "Copied");
    let clipboard = b.clipboard().await.expect("the page may read the clipboard (permission granted above)");
    assert_eq!(clipboard, secret, "Copy put the secret on the clipboard");
    assert_labelled(b, title).await;
    if let Some(name) = screenshot {
        b.screenshots(name).await;
    }
    // The dialog holds focus: Tab from its last control comes back inside.
    for _ in 0..4 {
        b.client.active_element().await.expect("focus").send_keys("\u{E004}").await.expect("tab");
        let inside = b.client.execute("return !!document.activeElement.closest('dialog[open]')", vec![]).await;
        assert_eq!(inside.expect("script"), json!(true), "focus stays in the dialog");
    }
    b.click_dialog_button("Close").await;
    b.no_dialog().await;
    let page = b.everything().await;
    assert!(!page.contains(&secret), "the secret is still in the page after the dialog closed");
    (key_id, secret)
}

/// Every control on screen can be named by a screen reader.
async fn assert_labelled(b: &Browser, screen: &str) {
    let unlabelled = b.unlabelled_controls().await;
    assert!(unlabelled.is_empty(), "controls without a label on {screen}: {unlabelled:#?}");
}

async fn whoami(base: &str, authorization: &str) -> (StatusCode, Value) {
    let res =
        http().get(format!("{base}{WHOAMI}")).header("Authorization", authorization).send().await.expect("whoami");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The README shows a picture of every page, at both widths, and no
/// picture it does not show is kept; the browser tests below take them
/// afresh on each run. Needs no browser: it reads the source and the files.
#[test]
fn the_readme_shows_every_page_of_the_web_app() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let web = std::fs::read_to_string(root.join("src/web/mod.rs")).expect("src/web/mod.rs");
    let routes: Vec<&str> = web.split(".route(\"").skip(1).filter_map(|r| r.split('"').next()).collect();
    assert!(routes.contains(&"/audit"), "the routes were read: {routes:?}");
    for route in &routes {
        assert!(PAGES.iter().any(|(page, _)| page == route), "{route} has no screenshot in PAGES");
    }
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let dir = browser::screenshot_dir();
    for (page, shot) in PAGES {
        for (width, _) in browser::WIDTHS {
            let file = format!("{shot}-{width}.png");
            assert!(readme.contains(&format!("docs/screenshots/{file}")), "the README does not show {page} ({file})");
            assert!(
                dir.join(&file).is_file(),
                "{} is missing: run cargo test --test web_e2e",
                dir.join(&file).display()
            );
        }
    }
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).expect("docs/screenshots") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            readme.contains(&format!("docs/screenshots/{name}")),
            "docs/screenshots/{name} is in no README picture"
        );
        total += entry.metadata().expect("size").len();
    }
    assert!(total <= SCREENSHOTS_BUDGET, "the README's pictures weigh {total} bytes, over {SCREENSHOTS_BUDGET}");
}

/// First run → setup → an account and its key → the secret works → an admin's day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup_then_an_account_and_its_key_in_a_browser() {
    let Some(b) = Browser::start().await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(dir.path(), "sqlite://keyward.db", &[]);
    let base = node.base.clone();

    // --- first run: the log holds a one-time link ------------------------
    let link = setup_link(&node);
    assert!(link.starts_with(&format!("{base}/setup?token=")), "{link}");
    b.goto(&format!("{base}/service-accounts")).await;
    b.heading("Log in").await;
    b.screenshots("login").await;

    b.goto(&link).await;
    b.heading("Set up keyward").await;
    b.fill("", "Organization name", "Acme").await;
    b.fill("", "Your email", "admin@acme.example").await;
    b.fill("", "Password", PASSWORD).await;
    b.fill("", "Repeat the password", PASSWORD).await;
    b.screenshots("setup").await;
    b.click_button("Create organization").await;
    b.heading("Service accounts").await;
    assert_eq!(b.path().await, "/service-accounts");
    b.wait_for_text("No service accounts yet.").await;

    // The link is spent: its page, and the API behind it, refuse it.
    let res = http().get(&link).header("Accept", "text/html").send().await.expect("setup page");
    assert_eq!(res.status(), StatusCode::GONE);
    let token = link.split("token=").nth(1).expect("token");
    let body = json!({"token": token, "orgName": "Evil", "email": "evil@example.com", "password": PASSWORD});
    let res = http().post(format!("{base}/api/session/v1/setup")).json(&body).send().await.expect("setup");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.expect("problem")["field"], "token");

    // --- Add → name, Enable Basic Auth → Save ------------------------------
    b.goto(&format!("{base}/service-accounts")).await;
    b.heading("Service accounts").await;
    assert_labelled(&b, "the service accounts page").await;
    b.click_button("Add").await;
    b.heading("Add service account").await;
    // Keyboard: Escape closes a dialog and gives focus back to its opener.
    b.client.active_element().await.expect("focus").send_keys("\u{E00C}").await.expect("Escape");
    b.no_dialog().await;
    let focused = b.client.active_element().await.expect("focus").text().await.expect("text");
    assert_eq!(focused, "Add", "focus went back to the Add button");
    b.click_button("Add").await;
    b.heading("Add service account").await;
    assert_labelled(&b, "the Add dialog").await;
    let dialog = "//dialog[@open]";
    b.fill(dialog, "Name", "John Doe").await;
    b.labelled(dialog, "Enable Basic Auth").await.click().await.expect("tick Enable Basic Auth");
    b.labelled(dialog, "Role").await.select_by_label("Editor").await.expect("role");
    assert!(b.has("//dialog[@open]//label[normalize-space()='Email (optional)']").await);
    b.screenshots("add-dialog").await;
    b.click_dialog_button("Save").await;

    // → the account page → Add key → the dialog with the secret.
    b.heading("John Doe").await;
    let account_id = b.path().await.rsplit('/').next().expect("id").to_owned();
    b.wait_for_text("No keys yet.").await;
    b.allow_clipboard().await.expect("clipboard permission");
    b.click_button("Add key").await;
    let (key_id, secret) = take_key_from_dialog(&b, "Service account key created", Some("key-dialog")).await;
    b.wait_for_text(&key_id).await;

    // A reload shows the key, never the secret.
    b.client.refresh().await.expect("reload");
    b.heading("John Doe").await;
    b.wait_for_text(&key_id).await;
    assert!(!b.everything().await.contains(&secret), "the secret came back after a reload");

    // The copied secret is a working key, three ways.
    for authorization in [secret.clone(), format!("Bearer {secret}"), basic(&key_id, &secret)] {
        let (status, me) = whoami(&base, &authorization).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["kind"], "serviceAccount");
        assert_eq!(me["id"], account_id.as_str());
        assert_eq!(me["keyId"], key_id.as_str());
        assert_eq!(me["role"], "editor");
    }
    // ...and the account page shows when the key was last used.
    let last_used = format!("//tr[td//code[.='{key_id}']]/td[@data-label='Last used']/time");
    b.wait_until("the key's lastUsed shows", || async {
        b.client.refresh().await.expect("reload");
        b.heading("John Doe").await;
        b.has(&last_used).await
    })
    .await;
    assert_labelled(&b, "the account page").await;

    // --- secure by default -------------------------------------------------
    let page = http().get(format!("{base}/service-accounts/{account_id}")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    for directive in CSP_DIRECTIVES {
        assert!(csp.split(';').any(|d| d.trim() == *directive), "CSP lacks {directive}: {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let res = http().get(format!("{base}/api/no-such-thing")).header("Accept", "text/html").send().await.expect("404");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // CSRF: the browser's own cookie is not enough for an unsafe call.
    let create = json!({"name": "csrf-probe"});
    let plain = json!({"Content-Type": "application/json"});
    assert_eq!(b.fetch_status("POST", SA, plain.clone(), create.clone()).await, 403, "no X-CSRF-Token");
    let wrong = json!({"Content-Type": "application/json", "X-CSRF-Token": "0".repeat(64)});
    assert_eq!(b.fetch_status("POST", SA, wrong, create.clone()).await, 403, "a wrong X-CSRF-Token");
    let session = b.client.get_named_cookie("keyward_session").await.expect("session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.same_site().map(|s| s.to_string()).as_deref(), Some("Strict"));
    let cookie = format!("keyward_session={}", session.value());
    let res = http().delete(format!("{base}{SA}/{account_id}")).header("Cookie", &cookie).send().await.expect("del");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a DELETE with the cookie and no X-CSRF-Token");
    let res = http()
        .delete(format!("{base}{SA}/{account_id}"))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", "wrong")
        .send()
        .await
        .expect("del");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a DELETE with a wrong X-CSRF-Token");
    let (status, _) = whoami(&base, &secret).await;
    assert_eq!(status, StatusCode::OK, "the refused calls changed nothing");
    // With the header the app itself sends, the same session may act.
    let csrf = b.client.get_named_cookie("keyward_csrf").await.expect("csrf cookie").value().to_owned();
    let ok = json!({"Content-Type": "application/json", "X-CSRF-Token": csrf});
    for n in 0..24 {
        let body = json!({"name": format!("batch-{n:02}")});
        assert_eq!(b.fetch_status("POST", SA, ok.clone(), body).await, 201);
    }

    // --- list, search, page -------------------------------------------------
    b.goto(&format!("{base}/service-accounts")).await;
    b.heading("Service accounts").await;
    b.wait_for_text("Showing 20 service accounts.").await;
    assert!(!b.text().await.contains("csrf-probe"), "a refused call created nothing");
    b.screenshots("accounts").await;
    b.click_button("Next page").await;
    b.wait_for_text("Showing 5 service accounts.").await;
    b.wait_for_text("Page 2").await;
    b.click_button("Previous page").await;
    b.wait_for_text("Showing 20 service accounts.").await;
    b.fill("", "Search by name", "john").await;
    b.wait_for_text("Showing 1 service account.").await;
    b.find("//table//a[normalize-space()='John Doe']").await.click().await.expect("open John Doe");
    b.heading("John Doe").await;

    // --- rotate, disable, enable, delete keys (each confirmed) --------------
    b.fill("", "New key name (optional)", "deploy").await;
    b.labelled("", "New key expires").await.select_by_label("In 30 days").await.expect("expiry");
    // Narrowed: a lesser role, scopes and a rate limit.
    b.labelled("", "New key role").await.select_by_label("Viewer").await.expect("key role");
    b.fill("", "Scopes (optional)", "orders:read reports").await;
    b.fill("", "Rate limit: uses (optional)", "100").await;
    b.click_button("Add key").await;
    let (second_id, second_secret) = take_key_from_dialog(&b, "Service account key created", None).await;
    b.wait_for_text(&second_id).await;
    let narrowed = b.find(&format!("//tr[td//code[.='{second_id}']]/td[@data-label='Narrowed to']")).await;
    let narrowed = narrowed.text().await.expect("narrowing");
    for shown in ["Role: Viewer", "orders:read", "reports", "Rate: 100 per 60 s"] {
        assert!(narrowed.contains(shown), "{shown:?} not in {narrowed:?}");
    }
    // The account's page with both keys, the narrowed one in view.
    b.screenshots_showing("account", Some(&format!("//tr[td//code[.='{second_id}']]"))).await;
    let (status, me) = whoami(&base, &second_secret).await;
    assert_eq!((status, me["role"].as_str()), (StatusCode::OK, Some("viewer")), "the key acts as a viewer");
    let expires = b.find(&format!("//tr[td//code[.='{second_id}']]/td[@data-label='Expires']")).await;
    assert!(expires.find(fantoccini::Locator::Css("time")).await.is_ok(), "an expiry date is shown");
    let name = b.find(&format!("//tr[td//code[.='{second_id}']]/td[@data-label='Name']")).await;
    assert_eq!(name.text().await.expect("name"), "deploy");
    let label = format!("deploy ({second_id})");
    b.find(&format!("//button[@aria-label='Rotate key {key_id}']")).await.click().await.expect("rotate");
    b.heading("Rotate key?").await;
    b.click_dialog_button("Cancel").await;
    b.no_dialog().await;
    assert_eq!(whoami(&base, &secret).await.0, StatusCode::OK, "Cancel rotated nothing");
    b.find(&format!("//button[@aria-label='Rotate key {key_id}']")).await.click().await.expect("rotate");
    b.heading("Rotate key?").await;
    b.click_dialog_button("Rotate").await;
    let (rotated_id, rotated_secret) = take_key_from_dialog(&b, "Key rotated", None).await;
    assert_eq!(whoami(&base, &secret).await.0, StatusCode::UNAUTHORIZED, "rotated at once");
    assert_eq!(whoami(&base, &rotated_secret).await.0, StatusCode::OK);
    b.wait_for_text(&rotated_id).await;

    b.find(&format!("//button[@aria-label='Disable key {label}']")).await.click().await.expect("disable");
    b.heading("Disable key?").await;
    b.click_dialog_button("Disable key").await;
    b.find(&format!("//button[@aria-label='Enable key {label}']")).await;
    assert_eq!(whoami(&base, &second_secret).await.0, StatusCode::UNAUTHORIZED, "disabled");
    b.wait_for_text("Disabled").await;
    b.find(&format!("//button[@aria-label='Enable key {label}']")).await.click().await.expect("enable");
    b.find(&format!("//button[@aria-label='Disable key {label}']")).await;
    assert_eq!(whoami(&base, &second_secret).await.0, StatusCode::OK, "enabled again");

    b.find(&format!("//button[@aria-label='Delete key {label}']")).await.click().await.expect("delete");
    b.heading("Delete key?").await;
    b.click_dialog_button("Delete key").await;
    b.no_dialog().await;
    b.wait_until("the deleted key leaves the table", || async {
        !b.has(&format!("//button[@aria-label='Delete key {label}']")).await
    })
    .await;
    assert_eq!(whoami(&base, &second_secret).await.0, StatusCode::UNAUTHORIZED, "deleted");

    // --- edit, then delete the account --------------------------------------
    b.click_button("Edit").await;
    b.heading("Edit service account").await;
    b.labelled(dialog, "Enable Basic Auth").await.click().await.expect("untick Basic Auth");
    b.click_dialog_button("Save").await;
    b.no_dialog().await;
    b.wait_until("Basic Auth shows Off", || async {
        b.has("//dt[normalize-space()='Basic Auth']/following-sibling::dd[1][normalize-space()='Off']").await
    })
    .await;
    assert_eq!(whoami(&base, &basic(&rotated_id, &rotated_secret)).await.0, StatusCode::UNAUTHORIZED);

    b.click_button("Delete account").await;
    b.heading("Delete service account?").await;
    b.click_dialog_button("Delete account").await;
    b.heading("Service accounts").await;
    b.wait_for_text("Showing 20 service accounts.").await;
    assert!(!b.has("//table//a[normalize-space()='John Doe']").await, "the deleted account is listed");
    assert_eq!(whoami(&base, &rotated_secret).await.0, StatusCode::UNAUTHORIZED, "its keys died with it");

    // --- restore it from Recently deleted ----------------------------------
    b.find("//a[normalize-space()='Recently deleted']").await.click().await.expect("Recently deleted");
    b.heading("Recently deleted").await;
    b.wait_for_text("Showing 1 deleted service account.").await;
    b.screenshots("deleted").await;
    b.find("//button[@aria-label='Restore John Doe']").await.click().await.expect("Restore");
    b.heading("Restore service account?").await;
    b.click_dialog_button("Restore").await;
    b.no_dialog().await;
    b.heading("John Doe").await;
    assert_eq!(whoami(&base, &rotated_secret).await.0, StatusCode::OK, "restored with its keys");

    // --- the organization's key policy --------------------------------------
    b.find("//nav//a[normalize-space()='Settings']").await.click().await.expect("Settings");
    b.heading("Organization settings").await;
    b.click_button("Edit key policy").await;
    b.heading("Key policy").await;
    b.fill(dialog, "Longest key lifetime (days)", "30").await;
    b.labelled(dialog, "Every key must expire").await.click().await.expect("tick Every key must expire");
    b.click_dialog_button("Save").await;
    b.no_dialog().await;
    b.wait_for_text("30 days").await;
    b.screenshots("settings").await;
    let orgs: Value = http()
        .get(format!("{base}/api/org/v1/org"))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("orgs")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (orgs["items"][0]["maxKeyLifetime"].clone(), orgs["items"][0]["requireExpiry"].clone()),
        (json!(30 * 86_400), json!(true))
    );

    // --- the audit trail, filtered ------------------------------------------
    b.find("//nav//a[normalize-space()='Audit trail']").await.click().await.expect("Audit trail");
    b.heading("Audit trail").await;
    b.find("//table[@id='audit-events']//code[normalize-space()='org.update']").await;
    b.labelled("", "Action").await.select_by_label("Keys").await.expect("action");
    b.click_button("Filter").await;
    b.wait_for_text("matching the filters").await;
    assert_eq!(b.path().await, "/audit");
    let actions: Vec<String> = {
        let cells = b
            .client
            .find_all(fantoccini::Locator::XPath("//table[@id='audit-events']//td[@data-label='Action']"))
            .await;
        let mut out = Vec::new();
        for cell in cells.expect("cells") {
            out.push(cell.text().await.expect("text"));
        }
        out
    };
    assert!(!actions.is_empty() && actions.iter().all(|a| a.starts_with("key.")), "{actions:?}");
    // Following a target's id narrows the trail to it.
    b.find("(//table[@id='audit-events']//td[@data-label='Target']//a)[1]").await.click().await.expect("target");
    b.wait_until("the trail narrowed to one target", || async {
        b.client.current_url().await.map(|u| u.query().unwrap_or("").starts_with("targetId=")).unwrap_or(false)
    })
    .await;
    b.wait_for_text("matching the filters").await;
    b.click_button("Clear").await;
    b.find("//table[@id='audit-events']//code[normalize-space()='org.update']").await;
    assert!(!b.text().await.contains("matching the filters"));
    b.screenshots("audit").await;
    b.find("//nav//a[normalize-space()='Service accounts']").await.click().await.expect("Service accounts");
    b.heading("Service accounts").await;

    // --- log out, and back in ----------------------------------------------
    log_out(&b).await;
    b.fill("", "Email", "admin@acme.example").await;
    b.fill("", "Password", "not the password").await;
    b.click_button("Log in").await;
    b.wait_for_text("Wrong email or password.").await;
    b.fill("", "Password", PASSWORD).await;
    b.click_button("Log in").await;
    b.heading("Service accounts").await;

    // Refused API calls (the CSRF probes, the wrong password, the first
    // visit before login) are logged by the browser; anything else is a fault.
    // A session that ends (here: logged out behind the app's back) sends the
    // next action to the login page, and back where it was after logging in.
    let session = b.client.get_named_cookie("keyward_session").await.expect("session").value().to_owned();
    let csrf = b.client.get_named_cookie("keyward_csrf").await.expect("csrf").value().to_owned();
    let res = http()
        .post(format!("{base}/api/session/v1/logout"))
        .header("Cookie", format!("keyward_session={session}"))
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    b.find("//nav//a[normalize-space()='Users']").await.click().await.expect("Users");
    b.heading("Log in").await;
    b.wait_for_text("Your session has ended.").await;
    b.fill("", "Email", "admin@acme.example").await;
    b.fill("", "Password", PASSWORD).await;
    b.click_button("Log in").await;
    b.heading("Users").await;

    let problems: Vec<String> =
        b.console().await.into_iter().filter(|m| !(m.contains("/api/") && m.contains("status of 4"))).collect();
    assert!(problems.iter().all(|m| !m.starts_with("SEVERE")), "browser console errors: {problems:#?}");
    b.close().await;
    drop(node);
}

/// Users, roles and organizations; what a viewer sees, and what the server
/// refuses it anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_organizations_and_a_viewers_restricted_view() {
    let Some(b) = Browser::start().await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = "sqlite://keyward.db";
    let acme = run_json(dir.path(), &["admin", "create-org", "--database", db, "--name", "Acme"])["id"]
        .as_str()
        .expect("org id")
        .to_owned();
    let globex = run_json(dir.path(), &["admin", "create-org", "--database", db, "--name", "Globex"])["id"]
        .as_str()
        .expect("org id")
        .to_owned();
    create_user(dir.path(), db, &acme, "admin@acme.example", "admin");
    create_user(dir.path(), db, &globex, "admin@acme.example", "admin");
    let sa = ["admin", "create-service-account", "--database", db, "--with-key", "--org"];
    run_json(dir.path(), &[&sa[..], &[acme.as_str(), "--name", "ci-runner"]].concat());
    run_json(dir.path(), &[&sa[..], &[globex.as_str(), "--name", "globex-bot"]].concat());
    // A low limit, so that the throttled login at the end comes quickly.
    let node = Node::start(dir.path(), db, &["--auth-failure-limit", "3"]);
    let base = node.base.clone();
    let log = node.read_log();
    assert!(!log.contains("setup?token="), "no setup link once users exist:\n{log}");
    let res = http().get(format!("{base}/setup?token=anything")).send().await.expect("setup page");
    assert_eq!(res.status(), StatusCode::GONE);

    // --- Globex had to invite the admin (their address had an account):
    // nothing of Globex shows until they accept, which the emailed link asks
    // them to do once they are logged in ---------------------------------
    log_in(&b, &base, "admin@acme.example").await;
    b.wait_for_text("ci-runner").await;
    assert!(!b.has("//select[@id='org-switch']").await, "an invitation counts as an organization");
    b.find("//nav//a[normalize-space()='Invitations (1)']").await.click().await.expect("Invitations");
    b.heading("Invitations").await;
    b.wait_for_text("Globex").await;
    assert_labelled(&b, "the invitations page").await;
    b.screenshots("invitations").await;
    log_out(&b).await;
    let link = mailed_link(dir.path(), &format!("{base}/accept-invitation?token="), "admin@acme.example");
    assert!(link.contains(&format!("&org={globex}")), "{link}");
    b.goto(&link).await;
    b.heading("Log in").await;
    b.wait_for_text("Log in to answer your invitation.").await;
    b.fill("", "Email", "admin@acme.example").await;
    b.fill("", "Password", PASSWORD).await;
    b.click_button("Log in").await;
    b.heading("Join organization?").await;
    b.wait_for_text("Globex").await;
    b.find("//li[contains(@class, 'invitation')]//span[contains(@class, 'badge')][normalize-space()='Admin']").await;
    b.screenshots("invitation").await;
    let res = http().get(&link).send().await.expect("link page");
    assert_eq!(res.status(), StatusCode::OK, "opening the link accepted it");
    b.click_button("Accept").await;
    b.heading("Service accounts").await;
    b.wait_for_text("globex-bot").await;
    b.wait_for_text("You joined Globex").await;
    assert!(!b.has("//nav//a[starts-with(normalize-space(), 'Invitations')]").await, "the invitation is still shown");
    let res = http().get(&link).send().await.expect("used link");
    assert_eq!(res.status(), StatusCode::GONE, "the invitation link works once");

    // --- an admin of two organizations switches between them --------------
    b.labelled("", "Organization").await.select_by_label("Acme").await.expect("switch to Acme");
    b.wait_for_text("ci-runner").await;
    let switch = b.labelled("", "Organization").await;
    switch.select_by_label("Globex").await.expect("switch");
    b.wait_for_text("globex-bot").await;
    assert!(!b.text().await.contains("ci-runner"));
    b.labelled("", "Organization").await.select_by_label("Acme").await.expect("switch back");
    b.wait_for_text("ci-runner").await;

    // --- invite a viewer: the link goes to their mailbox, not to the admin ---
    b.find("//nav//a[normalize-space()='Users']").await.click().await.expect("Users");
    b.heading("Users").await;
    b.wait_for_text("admin@acme.example").await;
    b.click_button("Invite user").await;
    b.heading("Invite user").await;
    b.fill("//dialog[@open]", "Email", "viewer@acme.example").await;
    b.labelled("//dialog[@open]", "Role").await.select_by_label("Viewer").await.expect("role");
    b.click_dialog_button("Invite").await;
    b.no_dialog().await;
    b.wait_for_text("Invitation sent to viewer@acme.example").await;
    b.wait_for_text("Invited").await;
    assert_labelled(&b, "the users page").await;
    b.screenshots("users").await;
    let invite = invitation_link(dir.path(), &base, "viewer@acme.example");
    let token = invite.split("token=").nth(1).expect("token");
    assert!(!b.everything().await.contains(token), "the admin's page holds the invitee's link");

    // Roles change in place; the last admin cannot step down.
    let own_role = b.find("//select[@aria-label='Role of admin@acme.example']").await;
    own_role.select_by_label("Viewer").await.expect("demote self");
    b.wait_for_text("last admin").await;
    assert_eq!(own_role.prop("value").await.expect("value").as_deref(), Some("admin"), "the select went back");
    log_out(&b).await;

    // --- the invitation link sets a password, once ---------------------------
    b.goto(&invite).await;
    b.heading("Choose a password").await;
    b.fill("", "Password", PASSWORD).await;
    b.fill("", "Repeat the password", PASSWORD).await;
    b.screenshots("set-password").await;
    b.click_button("Set password").await;
    b.heading("Log in").await;
    b.wait_for_text("Your password is set.").await;
    let res = http().get(&invite).send().await.expect("used link");
    assert_eq!(res.status(), StatusCode::GONE, "the invitation works once");

    // --- a viewer sees no control it cannot use ------------------------------
    log_in(&b, &base, "viewer@acme.example").await;
    b.wait_for_text("ci-runner").await;
    assert!(b.text().await.contains("Acme"), "the organization is named");
    assert!(!b.has("//select[@id='org-switch']").await, "one organization, no switcher");
    for control in ["Add", "Add key", "Edit", "Delete account", "Invite user"] {
        assert!(!b.has(&format!("//button[normalize-space()='{control}']")).await, "a viewer sees {control}");
    }
    assert!(!b.has("//nav//a[normalize-space()='Users']").await, "a viewer sees Users");
    b.find("//table//a[normalize-space()='ci-runner']").await.click().await.expect("open");
    b.heading("ci-runner").await;
    b.find("//table//th[normalize-space()='Key ID']").await;
    for control in ["Add key", "Rotate", "Disable", "Delete", "Edit", "Delete account", "Disable account"] {
        assert!(!b.has(&format!("//button[normalize-space()='{control}']")).await, "a viewer sees {control}");
    }
    b.screenshots("viewer-account").await;
    b.goto(&format!("{base}/users")).await;
    b.heading("Not available").await;
    assert!(!b.has("//nav//a[normalize-space()='Audit trail']").await, "a viewer sees the audit trail");
    b.goto(&format!("{base}/audit")).await;
    b.heading("Not available").await;
    assert!(!b.has("//table[@id='audit-events']").await);

    // ...and the server refuses a viewer anyway, with a valid CSRF token.
    let csrf = b.client.get_named_cookie("keyward_csrf").await.expect("csrf cookie").value().to_owned();
    let headers = json!({"Content-Type": "application/json", "X-CSRF-Token": csrf});
    assert_eq!(b.fetch_status("POST", SA, headers.clone(), json!({"name": "sneaky"})).await, 403);
    assert_eq!(b.fetch_status("POST", "/api/user/v1/user", headers, json!({"email": "x@acme.example"})).await, 403);

    // --- login throttling: past the limit, even the right password waits ----
    log_out(&b).await;
    b.fill("", "Email", "viewer@acme.example").await;
    let mut throttled = false;
    for _ in 0..6 {
        b.fill("", "Password", "a wrong password").await;
        b.click_button("Log in").await;
        b.wait_until("the login is answered", || async {
            b.has("//p[@role='alert'][not(@hidden)][normalize-space()]").await
        })
        .await;
        if b.text().await.contains("Too many attempts. Try again in") {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "repeated wrong passwords are throttled");
    b.fill("", "Password", PASSWORD).await;
    b.click_button("Log in").await;
    b.wait_until("the right password is refused too", || async {
        b.has("//p[@role='alert'][not(@hidden)][contains(., 'Too many attempts')]").await
    })
    .await;
    assert_eq!(b.path().await, "/login");

    b.close().await;
    drop(node);
}

/// A webhook receiver on loopback that keeps what it is sent.
#[derive(Clone, Default)]
struct Receiver(std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>);

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Receiver::default();
        let kept = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let kept = kept.clone();
                async move {
                    kept.0.lock().expect("lock").push((headers, body));
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
        (receiver, url)
    }

    /// The `n`th request's headers and body, once it came.
    async fn nth(&self, n: usize) -> (axum::http::HeaderMap, String) {
        wait_for(Duration::from_secs(20), &format!("delivery {n}"), async || {
            self.0.lock().expect("lock").get(n).cloned().ok_or("")
        })
        .await
    }
}

/// Whether `secret` (`whsec_…`) signed this delivery, as Standard Webhooks
/// define it: HMAC-SHA256 over `id.timestamp.body`.
fn signed_with(secret: &str, headers: &axum::http::HeaderMap, body: &str) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::STANDARD;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let key = b64.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).expect("base64 secret");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{}.{body}", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    header("webhook-signature").split(' ').any(|s| s == expected)
}

/// The signing secret from the open dialog; checks it leaves the page with it.
async fn take_webhook_secret(b: &Browser, title: &str) -> String {
    b.heading(title).await;
    let secret =
        b.find("//dialog[@open]//code[@id='webhook-secret']").await.text().await.expect("secret").trim().to_owned();
    assert!(secret.starts_with("whsec_"), "a signing secret: {secret}");
    let warning = b.find("//dialog[@open]//*[contains(@class, 'warning')]").await.text().await.expect("warning");
    assert!(warning.contains("will not be shown again"), "{warning}");
    assert_labelled(b, title).await;
    b.click_dialog_button("Close").await;
    b.no_dialog().await;
    assert!(!b.everything().await.contains(&secret), "the signing secret is still in the page");
    secret
}

/// An admin adds a webhook endpoint, sees its signing secret once, watches a
/// signed delivery arrive in its list, rotates the secret, disables and
/// deletes it; a viewer is shown none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_in_the_browser() {
    let Some(b) = Browser::start().await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = "sqlite://keyward.db";
    let (org, admin_key) = support::node::bootstrap(dir.path(), db);
    create_user(dir.path(), db, &org, "admin@acme.example", "admin");
    create_user(dir.path(), db, &org, "viewer@acme.example", "viewer");
    // The receiver is on loopback, which keyward refuses unless told.
    let node = Node::start(dir.path(), db, &["--webhook-allow-private"]);
    let base = node.base.clone();
    let (receiver, hook_url) = Receiver::start().await;
    let create_account = |name: &'static str| {
        let base = base.clone();
        let admin_key = admin_key.clone();
        async move {
            let res =
                http().post(format!("{base}{SA}")).bearer_auth(admin_key).json(&json!({"name": name})).send().await;
            assert_eq!(res.expect("create").status(), StatusCode::CREATED);
        }
    };

    log_in(&b, &base, "admin@acme.example").await;
    b.find("//nav//a[normalize-space()='Webhooks']").await.click().await.expect("Webhooks");
    b.heading("Webhooks").await;
    b.wait_for_text("No webhook endpoints yet.").await;
    assert_labelled(&b, "the webhooks page").await;

    // --- add: a refused URL names its field; no events is refused too -----
    let dialog = "//dialog[@open]";
    b.click_button("Add endpoint").await;
    b.heading("Add webhook endpoint").await;
    assert_labelled(&b, "the Add endpoint dialog").await;
    b.fill(dialog, "URL", "ftp://example.com/hook").await;
    b.click_dialog_button("Add endpoint").await;
    b.wait_for_text("must start with https:// or http://").await;
    assert!(b.has("//dialog[@open]//input[@name='url'][@aria-invalid='true']").await, "the URL is marked");
    b.fill(dialog, "URL", &hook_url).await;
    b.labelled(dialog, "Every key event (key.*)").await.click().await.expect("untick key.*");
    b.click_dialog_button("Add endpoint").await;
    b.wait_for_text("Choose at least one event.").await;
    b.labelled(dialog, "Every service account event (account.*)").await.click().await.expect("tick account.*");
    b.labelled(dialog, "key.deleted").await.click().await.expect("tick key.deleted");
    b.screenshots("webhook-dialog").await;
    b.click_dialog_button("Add endpoint").await;
    let secret = take_webhook_secret(&b, "Webhook endpoint added").await;
    b.heading("Webhook endpoint").await;
    let hook_id = b.path().await.rsplit('/').next().expect("id").to_owned();
    let events =
        b.find("//dt[normalize-space()='Events']/following-sibling::dd[1]").await.text().await.expect("events");
    assert_eq!(events.split_whitespace().collect::<Vec<_>>(), ["account.*", "key.deleted"]);
    b.wait_for_text("Nothing has been sent to this endpoint yet.").await;
    let hooks: Value = http()
        .get(format!("{base}/api/webhook/v1/webhook/{hook_id}"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .expect("get webhook")
        .json()
        .await
        .expect("json");
    assert_eq!(hooks["url"], hook_url.as_str());
    assert!(hooks.get("secret").is_none(), "the secret is never read back: {hooks}");

    // --- a change is delivered, signed with the secret shown ---------------
    create_account("hooked").await;
    let (headers, body) = receiver.nth(0).await;
    assert!(signed_with(&secret, &headers, &body), "signed with the secret the dialog showed");
    assert_eq!(serde_json::from_str::<Value>(&body).expect("json")["type"], "account.created");
    b.wait_until("the delivery shows as delivered", || async {
        b.click_button("Refresh").await;
        b.has("//table[@id='webhook-deliveries']//tr[td//code[.='account.created']]/td[@data-label='Status'][normalize-space()='Delivered']")
            .await
    })
    .await;
    assert_labelled(&b, "the webhook endpoint page").await;
    b.screenshots("webhook").await;
    // The list shows it, with where it sends to.
    b.find("//nav//a[normalize-space()='Webhooks']").await.click().await.expect("Webhooks");
    b.heading("Webhooks").await;
    let listed = format!("//table//a[normalize-space()={}]", browser::quote(&hook_url));
    b.find(&listed).await;
    b.screenshots("webhooks").await;
    b.find(&listed).await.click().await.expect("open the endpoint");

    // --- rotate: later deliveries carry the new secret's signature ---------
    b.click_button("Rotate secret").await;
    b.heading("Rotate signing secret?").await;
    b.click_dialog_button("Rotate secret").await;
    let rotated = take_webhook_secret(&b, "Signing secret rotated").await;
    assert_ne!(rotated, secret);
    create_account("hooked-again").await;
    let (headers, body) = receiver.nth(1).await;
    assert!(signed_with(&rotated, &headers, &body), "signed with the rotated secret");
    assert!(!signed_with(&secret, &headers, &body), "no longer with the old one");

    // --- edit, disable, delete ---------------------------------------------
    b.heading("Webhook endpoint").await;
    b.click_button("Edit").await;
    b.heading("Edit webhook endpoint").await;
    b.labelled(dialog, "key.deleted").await.click().await.expect("untick key.deleted");
    b.click_dialog_button("Save").await;
    b.no_dialog().await;
    b.wait_until("the events show account.* alone", || async {
        b.has("//dt[normalize-space()='Events']/following-sibling::dd[1][normalize-space()='account.*']").await
    })
    .await;
    b.click_button("Disable").await;
    b.heading("Disable webhook endpoint?").await;
    b.click_dialog_button("Disable endpoint").await;
    b.no_dialog().await;
    b.wait_until("the endpoint shows as disabled", || async {
        b.has("//dt[normalize-space()='State']/following-sibling::dd[1][normalize-space()='Disabled']").await
    })
    .await;
    create_account("not-sent").await;
    b.click_button("Enable").await;
    b.wait_until("the endpoint shows as active", || async {
        b.has("//dt[normalize-space()='State']/following-sibling::dd[1][normalize-space()='Active']").await
    })
    .await;
    b.click_button("Delete").await;
    b.heading("Delete webhook endpoint?").await;
    b.click_dialog_button("Delete endpoint").await;
    b.heading("Webhooks").await;
    b.wait_for_text("No webhook endpoints yet.").await;
    let res = http()
        .get(format!("{base}/api/webhook/v1/webhook/{hook_id}"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .expect("get webhook");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "deleted");
    assert_eq!(receiver.0.lock().expect("lock").len(), 2, "nothing was sent while it was disabled");

    // --- a viewer sees no webhooks, and the server refuses it anyway -------
    log_out(&b).await;
    log_in(&b, &base, "viewer@acme.example").await;
    assert!(!b.has("//nav//a[normalize-space()='Webhooks']").await, "a viewer sees Webhooks");
    b.goto(&format!("{base}/webhooks")).await;
    b.heading("Not available").await;
    let status = b.fetch_status("GET", "/api/webhook/v1/webhook", json!({}), Value::Null).await;
    assert_eq!(status, 403, "a viewer may not list webhooks");

    let problems: Vec<String> =
        b.console().await.into_iter().filter(|m| !(m.contains("/api/") && m.contains("status of 4"))).collect();
    assert!(problems.iter().all(|m| !m.starts_with("SEVERE")), "browser console errors: {problems:#?}");
    b.close().await;
    drop(node);
}
