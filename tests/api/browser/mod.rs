//! Real-browser checks: headless Chromium driven through WebDriver (fantoccini) against the real
//! server on a free port. Several people in several browsers, each seeing only what their role
//! allows. Screenshots of the key pages land in `target/screenshots/` for a human look.
//!
//! Skips (fails under LEADROUTE_TEST_REQUIRE_ALL=1) when chromedriver or Chromium is missing.
//! Nothing is downloaded: each browser runs with a fresh profile and background networking off.
//!
//! Below: the chromedriver child process, and a thin `Browser` over `fantoccini::Client` whose
//! helpers panic with the page's text, so the scenarios read as steps.

mod bidi;
mod chat;
mod fixtures;
mod leads;
mod routing;
mod rules;
mod team;
mod website;
mod xss;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::helpers::skip;

/// How long an explicit wait polls before the test fails.
const WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);
/// A name that is markup: it must show as text and never run.
const XSS_NAME: &str = "<img src=x onerror=alert(1)>";

/// A chromedriver child process on a free port. On drop it is asked to shut down, which ends
/// the browsers a failed test left open, and then killed.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl ChromeDriver {
    /// Starts chromedriver, or returns None (with a skip notice) when it or Chromium is missing.
    pub async fn start() -> Option<Self> {
        let found = program("/usr/bin/chromedriver", "chromedriver")
            .zip(program("/usr/bin/chromium", "chromium"));
        let Some((program, chromium)) = found else {
            skip("Chromium/chromedriver (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut driver = Self {
            child,
            port,
            chromium,
        };
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = http
                .get(format!("http://127.0.0.1:{port}/status"))
                .send()
                .await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return Some(driver);
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("chromedriver exited before answering: {exit}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            tokio::time::sleep(POLL).await;
        }
    }

    /// A new session: its own headless Chromium with a fresh profile, for the server at `base`.
    pub async fn browser(&self, base: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-quic".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": self.chromium, "args": args}),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session");
        Browser {
            client,
            base: base.to_owned(),
            _profile: profile,
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program(fixed: &str, name: &str) -> Option<PathBuf> {
    let fixed = Path::new(fixed);
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// One person's browser: a fantoccini client (all of its API through `Deref`) plus the app's
/// base URL and the profile directory that lives as long as the session.
pub struct Browser {
    client: Client,
    base: String,
    _profile: tempfile::TempDir,
}

impl Deref for Browser {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// Opens `path` of the app.
    pub async fn open(&self, path: &str) {
        self.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    /// The current path, with `?query` when there is one.
    pub async fn location(&self) -> String {
        let url = self.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Polls until the browser is on `location` (path and query) and the page has loaded.
    pub async fn wait_for_location(&self, location: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = self.execute("return document.readyState", vec![]).await;
            if self.location().await == location && ready.is_ok_and(|r| r == "complete") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected to be on {location}, still on {}\n--- page text ---\n{}",
                self.location().await,
                self.body_text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until `script` returns true (a signal the page gives), or fails after a while.
    pub async fn wait_until(&self, script: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        while self.js(script).await != Value::Bool(true) {
            assert!(Instant::now() < deadline, "waited in vain for {what}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until some element matching `css` has exactly the visible text `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let script = "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)";
        let deadline = Instant::now() + WAIT;
        loop {
            let texts = self.execute(script, vec![json!(css)]).await;
            if texts.is_ok_and(|t| t.as_array().unwrap().iter().any(|t| t == expected)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} reads {expected:?} on {}\n--- page text ---\n{}",
                self.location().await,
                self.body_text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until an element matches.
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        match self
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(locator)
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "waiting for {locator:?} on {}: {e}\n--- page text ---\n{}",
                self.location().await,
                self.body_text().await
            ),
        }
    }

    pub async fn wait_css(&self, css: &str) -> Element {
        self.wait_for(Locator::Css(css)).await
    }

    /// The visible text of the first element matching `css` (waited for).
    pub async fn text(&self, css: &str) -> String {
        self.wait_css(css).await.text().await.unwrap()
    }

    /// The visible text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(Locator::Css(css)).await.unwrap() {
            texts.push(element.text().await.unwrap());
        }
        texts
    }

    pub async fn count(&self, css: &str) -> usize {
        self.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// What a person sees on the page, as text.
    pub async fn body_text(&self) -> String {
        match self.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }

    /// Buttons with this label, anywhere on the page.
    pub async fn buttons(&self, label: &str) -> Vec<Element> {
        let xpath = format!("//button[normalize-space()='{label}']");
        self.find_all(Locator::XPath(&xpath)).await.unwrap()
    }

    /// Signs in through the form; lands on the Leads page.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.open("/signin").await;
        let form = self.wait_css("form[action='/signin']").await;
        form.fill("email", email).await;
        form.fill("password", password).await;
        form.press("Sign in").await;
        self.wait_for_location("/leads").await;
    }

    /// Opens the account menu by clicking its summary; its items' labels.
    pub async fn open_account_menu(&self) -> Vec<String> {
        self.wait_css("details.account-menu > summary")
            .await
            .click()
            .await
            .unwrap();
        let menu = self.wait_css("details.account-menu[open] > ul").await;
        assert!(menu.is_displayed().await.unwrap(), "the open menu shows");
        let text = menu.text().await.unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// No script ran: no alert is open, there is no `<img>` anywhere, and the markup is text.
    pub async fn assert_markup_inert(&self) {
        let alert = self.get_alert_text().await;
        assert!(
            alert.as_ref().is_err_and(|e| e.is_no_such_alert()),
            "an alert is open: {alert:?}"
        );
        assert_eq!(self.count("img").await, 0, "an <img> was made");
        assert!(self.body_text().await.contains(XSS_NAME));
    }

    pub async fn js(&self, script: &str) -> Value {
        self.execute(script, vec![]).await.unwrap()
    }

    /// Sizes the window so that the page itself gets `width` x `height` CSS pixels.
    pub async fn set_viewport_size(&self, width: u32, height: u32) {
        let got = self.resize_viewport(width, height).await;
        assert_eq!(got, (width, height), "viewport size");
    }

    /// Resizes the window until the page has `width` x `height` CSS pixels, or the wait ends;
    /// the size the page has then. The page learns of a new window size a moment after the
    /// WebDriver call returns (later on a busy machine), so each resize is polled for until
    /// the page's size moves; the window's decorations are then added by growing the window
    /// by what the page still lacks.
    async fn resize_viewport(&self, width: u32, height: u32) -> (u32, u32) {
        let want = (width, height);
        let deadline = Instant::now() + WAIT;
        let (mut window_w, mut window_h) = want;
        loop {
            let before = self.viewport().await;
            self.set_window_size(window_w, window_h).await.unwrap();
            let settle = deadline.min(Instant::now() + Duration::from_secs(2));
            let got = loop {
                let got = self.viewport().await;
                if got == want || got != before || Instant::now() > settle {
                    break got;
                }
                tokio::time::sleep(POLL).await;
            };
            if got == want || Instant::now() > deadline {
                return got;
            }
            let grow = |window: u32, want: u32, got: u32| (window + want).saturating_sub(got);
            window_w = grow(window_w, width, got.0);
            window_h = grow(window_h, height, got.1);
        }
    }

    /// The page's size in CSS pixels: `innerWidth` x `innerHeight`.
    async fn viewport(&self) -> (u32, u32) {
        let inner = self.js("return [innerWidth, innerHeight]").await;
        let px = |v: &Value| v.as_u64().unwrap() as u32;
        (px(&inner[0]), px(&inner[1]))
    }

    /// How many CSS pixels the page is wider than the window (0 when nothing overflows).
    pub async fn horizontal_overflow(&self) -> i64 {
        let script = "const d = document.documentElement; return d.scrollWidth - d.clientWidth";
        self.js(script).await.as_i64().unwrap()
    }

    /// A PNG of what is in the window, in `target/screenshots/{name}.png`.
    pub async fn viewport_screenshot(&self, name: &str) {
        let png = self.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// A PNG of the whole page: the page is made as tall as its content for the shot.
    pub async fn full_screenshot(&self, name: &str) {
        let (width, height) = self.viewport().await;
        let full = self
            .js("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .map_or(height, |h| h as u32);
        if full > height {
            self.resize_viewport(width, full).await;
        }
        self.viewport_screenshot(name).await;
        if full > height {
            self.set_viewport_size(width, height).await;
        }
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// Form steps on an element (a form, or any part of the page holding the fields).
pub trait FormExt {
    /// Types `value` into the field `name`, replacing what was there.
    async fn fill(&self, name: &str, value: &str);
    /// Picks the option `value` of the select `name`.
    async fn select(&self, name: &str, value: &str);
    /// Clicks the submit button with the visible label `label`.
    async fn press(&self, label: &str);
    /// The `value` property (what a field holds now).
    async fn value(&self) -> String;
}

impl FormExt for Element {
    async fn fill(&self, name: &str, value: &str) {
        let field = self
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap_or_else(|e| panic!("field {name}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
        assert_eq!(field.value().await, value, "field {name}");
    }

    async fn select(&self, name: &str, value: &str) {
        let select = self
            .find(Locator::Css(&format!("select[name='{name}']")))
            .await
            .unwrap_or_else(|e| panic!("select {name}: {e}"));
        select.select_by_value(value).await.unwrap();
        assert_eq!(select.value().await, value, "select {name}");
    }

    async fn press(&self, label: &str) {
        let xpath = format!(".//button[@type='submit'][normalize-space()='{label}']");
        self.find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("button {label}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn value(&self) -> String {
        self.prop("value").await.unwrap().unwrap_or_default()
    }
}
