//! Headless Chromium driven over WebDriver (chromedriver on 127.0.0.1), with
//! the few helpers the web app's tests need: find by visible text or label,
//! wait, read the browser's console, and take screenshots at two widths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::outside::outside_program;
use crate::support::wait::{wait_for, wait_for_blocking};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(15);

/// The two widths every screenshot is taken at: a laptop and a small phone.
pub const WIDTHS: [(u32, u32); 2] = [(1440, 900), (375, 812)];

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Also on a failed test: end the WebDriver session (Chromium quits with
    /// it), then chromedriver. Both stay in the test's process group, so a
    /// test run that is killed takes them along.
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            use std::io::{Read, Write};
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.driver_port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request =
                    format!("DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(request.as_bytes());
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Any WebDriver endpoint fantoccini has no method for (permissions, logs).
#[derive(Debug)]
struct Raw {
    method: Method,
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for Raw {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/{}", session.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (self.method.clone(), Some(self.body.to_string()))
    }
}

/// The port chromedriver listens on, from its line "ChromeDriver was
/// started successfully on port N." in `said`.
/// chromedriver is killed if it does not say it in time (the test fails).
fn driver_port(said: &Path, driver: &mut Child) -> u16 {
    /// Kills chromedriver when dropped, unless defused: also when the wait fails.
    struct KillOnFailure<'a>(Option<&'a mut Child>);
    impl Drop for KillOnFailure<'_> {
        fn drop(&mut self) {
            if let Some(driver) = self.0.take() {
                let _ = driver.kill();
                let _ = driver.wait();
            }
        }
    }
    let mut guard = KillOnFailure(Some(driver));
    let port = wait_for_blocking(WAIT, "chromedriver to say its port", || {
        let text = std::fs::read_to_string(said).unwrap_or_default();
        let port = text
            .lines()
            .find_map(|l| l.strip_prefix("ChromeDriver was started successfully on port "))
            .and_then(|rest| rest.trim_end_matches('.').parse().ok());
        if let Some(port) = port {
            return Ok(port);
        }
        if let Some(Ok(Some(status))) = guard.0.as_mut().map(|d| d.try_wait()) {
            panic!("chromedriver exited ({status}) before listening:\n{text}");
        }
        Err(text)
    });
    guard.0 = None;
    port
}

impl Browser {
    /// `None` when Chromium or chromedriver is missing and skipped (see `outside_program`).
    pub async fn start() -> Option<Self> {
        let chromium = outside_program("chromium", &[CHROMIUM])?;
        let chromedriver = outside_program("chromedriver", &[CHROMEDRIVER])?;
        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--no-default-browser-check", "--window-size=1440,900",
                    "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        };
        // chromedriver picks its port and says which on its standard output.
        let said = profile.path().join("chromedriver.out");
        let mut driver = Command::new(&chromedriver)
            .args(["--port=0", "--allowed-ips=127.0.0.1"])
            .stdout(std::fs::File::create(&said).expect("driver output"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let port = driver_port(&said, &mut driver);
        let webdriver = format!("http://127.0.0.1:{port}");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector).capabilities(capabilities).connect(&webdriver).await {
            Ok(client) => client,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver on {webdriver} did not start a session: {e}");
            }
        };
        let session = client.session_id().await.ok().flatten();
        let browser = Self { client, driver, driver_port: port, session, _profile: profile };
        browser.client.set_window_size(WIDTHS[0].0, WIDTHS[0].1).await.expect("window size");
        Some(browser)
    }

    /// Ends the session (Chromium quits); dropping ends chromedriver.
    pub async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.session = None;
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Waits for an element matching the XPath.
    pub async fn find(&self, xpath: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::XPath(xpath)).await {
            Ok(found) => found,
            Err(e) => panic!("no element {xpath}: {e}\n--- the page shows ---\n{}", self.text().await),
        }
    }

    /// Whether an element matching the XPath is there right now.
    pub async fn has(&self, xpath: &str) -> bool {
        !self.client.find_all(Locator::XPath(xpath)).await.expect("find_all").is_empty()
    }

    /// Waits for a heading of the page (`h1`) or of the open dialog (`h2`).
    pub async fn heading(&self, text: &str) -> Element {
        self.find(&format!("//*[self::h1 or self::h2][normalize-space()={}]", quote(text))).await
    }

    /// A button by its visible text, optionally inside the open dialog.
    pub async fn button(&self, text: &str) -> Element {
        self.find(&format!("//button[normalize-space()={}]", quote(text))).await
    }

    pub async fn dialog_button(&self, text: &str) -> Element {
        self.find(&format!("//dialog[@open]//button[normalize-space()={}]", quote(text))).await
    }

    pub async fn click_button(&self, text: &str) {
        self.button(text).await.click().await.unwrap_or_else(|e| panic!("click {text}: {e}"));
    }

    pub async fn click_dialog_button(&self, text: &str) {
        self.dialog_button(text).await.click().await.unwrap_or_else(|e| panic!("click {text}: {e}"));
    }

    /// The control a `<label>` with this text names (inside `scope`, an
    /// XPath prefix such as `//dialog[@open]`, or the page for "").
    pub async fn labelled(&self, scope: &str, label: &str) -> Element {
        let label_el = self.find(&format!("{scope}//label[normalize-space()={}]", quote(label))).await;
        let id = label_el.attr("for").await.expect("attr").unwrap_or_else(|| panic!("label {label} has no for"));
        self.client.find(Locator::Id(&id)).await.unwrap_or_else(|e| panic!("no control #{id} for {label}: {e}"))
    }

    pub async fn fill(&self, scope: &str, label: &str, value: &str) {
        let input = self.labelled(scope, label).await;
        input.clear().await.expect("clear");
        input.send_keys(value).await.unwrap_or_else(|e| panic!("type into {label}: {e}"));
    }

    /// Waits until the page's visible text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        wait_for(WAIT, &format!("the page to show {needle:?}"), async || {
            let text = self.text().await;
            if text.contains(needle) { Ok(()) } else { Err(text) }
        })
        .await;
    }

    /// Waits until `check` holds, re-evaluated on each pass.
    pub async fn wait_until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        wait_for(WAIT, what, async || if check().await { Ok(()) } else { Err(self.text().await) }).await;
    }

    /// Waits until no dialog is open (or in the page at all).
    pub async fn no_dialog(&self) {
        self.wait_until("the dialog is gone", || async { !self.has("//dialog").await }).await;
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        match self.client.execute("return document.body ? document.body.innerText : ''", vec![]).await {
            Ok(Value::String(s)) => s,
            other => format!("<no text: {other:?}>"),
        }
    }

    /// The whole document as the browser holds it now: markup, attributes,
    /// and the values of form controls (which the markup does not show).
    pub async fn everything(&self) -> String {
        let source = self.client.source().await.expect("page source");
        let values = self
            .client
            .execute(
                "return [...document.querySelectorAll('input, textarea, select')].map(e => e.value).join('\\n')",
                vec![],
            )
            .await
            .expect("control values");
        format!("{source}\n{values}")
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.expect("url").path().to_owned()
    }

    /// `fetch` from inside the page, with the browser's own cookies: the
    /// status of the answer.
    pub async fn fetch_status(&self, method: &str, path: &str, headers: Value, body: Value) -> u16 {
        let script = "const [method, path, headers, body, done] = arguments; \
             fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body), \
             credentials: 'same-origin'}).then(r => done(r.status), e => done(String(e)));";
        match self.client.execute_async(script, vec![json!(method), json!(path), headers, body]).await {
            Ok(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()).expect("status"),
            other => panic!("fetch {method} {path} failed: {other:?}"),
        }
    }

    /// The form controls and buttons on screen that have no accessible name
    /// (a label, an aria-label, or text of their own).
    pub async fn unlabelled_controls(&self) -> Vec<String> {
        let script = "return [...document.querySelectorAll('input, select, textarea, button')] \
             .filter(e => e.offsetParent !== null || e.closest('dialog[open]')) \
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') \
                 && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim())) \
             .map(e => e.outerHTML)";
        let found = self.client.execute(script, vec![]).await.expect("controls");
        serde_json::from_value(found).expect("a list")
    }

    /// Lets pages read the clipboard, so a test can see what Copy put there.
    pub async fn allow_clipboard(&self) -> Result<Value, CmdError> {
        let mut result = Ok(Value::Null);
        for name in ["clipboard-read", "clipboard-write"] {
            result = self
                .client
                .issue_cmd(Raw {
                    method: Method::POST,
                    path: "permissions",
                    body: json!({"descriptor": {"name": name}, "state": "granted"}),
                })
                .await;
        }
        result
    }

    /// The clipboard's text, as the page can read it.
    pub async fn clipboard(&self) -> Option<String> {
        let script =
            "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done({error: String(e)}));";
        match self.client.execute_async(script, vec![]).await {
            Ok(Value::String(s)) => Some(s),
            other => {
                eprintln!("note: the clipboard could not be read in this browser: {other:?}");
                None
            }
        }
    }

    /// The browser console's messages since the last call (errors, CSP
    /// violations, failed loads).
    pub async fn console(&self) -> Vec<String> {
        let logs = self
            .client
            .issue_cmd(Raw { method: Method::POST, path: "se/log", body: json!({"type": "browser"}) })
            .await
            .expect("browser log");
        logs.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| format!("{} {}", e["level"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// PNGs of the current screen at each of `WIDTHS`, saved as
    /// `docs/screenshots/NAME-WIDTH.png`, the README's pictures, on every
    /// run; the window ends at the first width.
    pub async fn screenshots(&self, name: &str) {
        self.screenshots_showing(name, None).await;
    }

    /// `screenshots`, with the element the XPath `anchor` finds scrolled
    /// into the middle of the screen at each width.
    pub async fn screenshots_showing(&self, name: &str, anchor: Option<&str>) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        for (width, height) in WIDTHS {
            self.client.set_window_size(width, height).await.expect("resize");
            self.wait_until("the page takes the new width", || async {
                let inner = self.client.execute("return window.innerWidth", vec![]).await.ok();
                inner.and_then(|v| v.as_u64()) == Some(u64::from(width))
            })
            .await;
            if let Some(xpath) = anchor {
                let scroll = "const n = document.evaluate(arguments[0], document, null, \
                     XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; \
                     if (n) { n.scrollIntoView({block: 'center', behavior: 'instant'}); } return !!n;";
                let found = self.client.execute(scroll, vec![json!(xpath)]).await.expect("scroll");
                assert_eq!(found, json!(true), "{name}: nothing at {xpath} to show");
            }
            // The status line is transient; the pictures show the screen under it.
            let hide = "const t = document.getElementById('toast'); if (t) { t.className = 'toast'; }";
            self.client.execute(hide, vec![]).await.expect("hide the status line");
            self.wait_until("nothing on the page moves", || async {
                let running = self.client.execute("return document.getAnimations().length", vec![]).await.ok();
                running.and_then(|v| v.as_u64()) == Some(0)
            })
            .await;
            let overflow = self
                .client
                .execute("return document.documentElement.scrollWidth - window.innerWidth", vec![])
                .await
                .expect("widths");
            assert!(overflow.as_i64().unwrap_or(1) <= 0, "{name} scrolls sideways at {width} px by {overflow}");
            let png = self.client.screenshot().await.expect("screenshot");
            assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
            std::fs::write(dir.join(format!("{name}-{width}.png")), small_png(&png)).expect("write screenshot");
        }
        self.client.set_window_size(WIDTHS[0].0, WIDTHS[0].1).await.expect("resize");
    }
}

/// `png`, a screenshot, as an 8-bit palette PNG of the 256 colours it uses
/// most, every other pixel drawn in the nearest of them. A page is flat
/// colours and anti-aliased text: the loss does not show, and the file is
/// well under half the size, which keeps the README's pictures small.
pub fn small_png(png: &[u8]) -> Vec<u8> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("an image that fits in memory")];
    let frame = reader.next_frame(&mut pixels).expect("the pixels");
    let rgb: Vec<[u8; 3]> =
        pixels[..frame.buffer_size()].chunks_exact(frame.color_type.samples()).map(|p| [p[0], p[1], p[2]]).collect();
    let mut uses: HashMap<[u8; 3], usize> = HashMap::new();
    for colour in &rgb {
        *uses.entry(*colour).or_default() += 1;
    }
    let mut by_use: Vec<([u8; 3], usize)> = uses.into_iter().collect();
    by_use.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let palette: Vec<[u8; 3]> = by_use.iter().take(256).map(|(colour, _)| *colour).collect();
    let mut index: HashMap<[u8; 3], u8> = palette.iter().zip(0..=u8::MAX).map(|(c, i)| (*c, i)).collect();
    let nearest = |c: [u8; 3]| {
        let distance = |p: &[u8; 3]| (0..3).map(|i| (i32::from(p[i]) - i32::from(c[i])).pow(2)).sum::<i32>();
        palette.iter().zip(0..=u8::MAX).min_by_key(|(p, _)| distance(p)).map_or(0, |(_, i)| i)
    };
    let indices: Vec<u8> = rgb.iter().map(|c| *index.entry(*c).or_insert_with(|| nearest(*c))).collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, frame.width, frame.height);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(palette.concat());
    encoder.set_compression(png::Compression::High);
    encoder.set_filter(png::Filter::NoFilter);
    let mut writer = encoder.write_header().expect("PNG header");
    writer.write_image_data(&indices).expect("PNG data");
    writer.finish().expect("PNG end");
    out
}

/// `docs/screenshots`, where the README finds its pictures.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs").join("screenshots")
}

/// An XPath string literal for any text.
pub fn quote(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
