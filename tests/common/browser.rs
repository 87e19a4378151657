//! A real browser for the dashboard's tests: Debian's chromedriver on a
//! port of its own choosing and headless Chromium in a fresh profile,
//! driven over WebDriver with fantoccini. Both run in one process group,
//! killed when the `Browser` is dropped (also when a test panics).
//!
//! Every page is watched for errors a person would find in the console:
//! chromedriver's browser log (console errors, failed loads, uncaught
//! exceptions, CSP reports) and a script Chromium runs before each page's
//! own, which notes Content-Security-Policy violations and uncaught errors
//! in the tab's sessionStorage, so that they outlive a navigation.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a page may take to show what a test waits for: the pages
/// refresh every 3 to 5 seconds, and a worker publishes output every second.
pub(crate) const PAGE_WAIT: Duration = Duration::from_secs(20);

/// The desktop size of the screenshots.
pub(crate) const DESKTOP: (u32, u32) = (1280, 800);

/// Where the watch script keeps what it saw, in the tab's sessionStorage.
const SEEN: &str = "taskq-test-errors";

/// Run by Chromium before each page's own scripts (CDP's
/// `Page.addScriptToEvaluateOnNewDocument`, which CSP does not apply to).
const WATCH: &str = r#"(() => {
  const note = (what) => {
    try {
      const seen = JSON.parse(sessionStorage.getItem("taskq-test-errors") || "[]");
      seen.push(location.pathname + ": " + what);
      sessionStorage.setItem("taskq-test-errors", JSON.stringify(seen));
    } catch (e) { /* a page without storage (about:blank) */ }
  };
  addEventListener("securitypolicyviolation", (e) =>
    note(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`));
  addEventListener("error", (e) => {
    if (e.message) note(`uncaught error: ${e.message} (${e.filename}:${e.lineno})`);
    else if (e.target && e.target !== window) note(`failed to load ${e.target.src || e.target.href || e.target.tagName}`);
  }, true);
  addEventListener("unhandledrejection", (e) => note(`unhandled rejection: ${e.reason}`));
})();"#;

/// chromedriver and headless Chromium, with one session open.
pub(crate) struct Browser {
    client: Client,
    /// The dashboard's address, `http://127.0.0.1:PORT`.
    base: String,
    /// Dropped after `client`: kills chromedriver and Chromium, then
    /// removes the profile.
    driver: Driver,
}

/// chromedriver's process group (Chromium's processes are in it too) and
/// Chromium's profile directory.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its group: every Chromium process it started
        // goes with it (the crash handlers Chromium daemonises exit on their own).
        if let Some(group) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

/// A program on PATH, or a panic naming the Debian package to install.
fn required(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file()));
    found.unwrap_or_else(|| {
        panic!(
            "the browser tests need {program}, which is not on PATH: install Debian's {package} package \
             (apt-get install chromium chromium-driver; scripts/test installs both)"
        )
    })
}

/// Starts chromedriver on a port it picks (`--port=0`), in a process
/// group of its own, and reads the port from what it prints.
fn start_driver() -> Driver {
    let chromedriver = required("chromedriver", "chromium-driver");
    let profile = tempfile::Builder::new().prefix("taskq-chromium-").tempdir().expect("a profile dir");
    let mut child = Command::new(&chromedriver)
        .arg("--port=0")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    // Reads on to the end, so that chromedriver never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut said = Vec::new();
    let port = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromedriver did not say where it listens within 15 s; it said: {said:?}");
        };
        // "ChromeDriver was started successfully on port 40113."
        if let Some(port) = line
            .strip_prefix("ChromeDriver was started successfully on port ")
            .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok())
        {
            break port;
        }
        said.push(line);
    };
    Driver { child, port, profile }
}

/// One of chromedriver's own endpoints under the session
/// (`se/log`, `goog/cdp/execute`), as a raw fantoccini command.
#[derive(Debug)]
struct Vendor {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for Vendor {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/{}", session.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

impl Browser {
    /// Starts chromedriver and headless Chromium, for the dashboard at
    /// `base` (`http://127.0.0.1:PORT`).
    pub(crate) async fn start(base: &str) -> Browser {
        let chromium = required("chromium", "chromium");
        let driver = start_driver();
        let (width, height) = DESKTOP;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--hide-scrollbars", "--lang=en-US", format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", driver.profile.path().display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}/", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start a Chromium session: {e}"));
        let browser = Browser { client, base: base.to_string(), driver };
        browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": WATCH })).await;
        browser
    }

    /// Logs in as `user` with HTTP basic auth: credentials in the address
    /// of the first page, which headless Chromium then sends with every
    /// request to the dashboard (pages, forms, app.js's fetches and streams).
    pub(crate) async fn login(&self, user: &str, password: &str) {
        let with_credentials = self.base.replacen("http://", &format!("http://{user}:{password}@"), 1);
        self.client.goto(&format!("{with_credentials}/")).await.expect("the overview loads");
        self.assert_no_errors().await;
    }

    /// The WebDriver client, for what these helpers do not cover.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Goes to `path` of the dashboard, as typed in the address bar, after
    /// checking that the page being left showed no error.
    pub(crate) async fn visit(&self, path: &str) {
        self.assert_no_errors().await;
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("{path} loads: {e}"));
        self.assert_no_errors().await;
    }

    /// The path (and query) of the page shown.
    pub(crate) async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current address");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The text of the first element matching `css`, as shown (innerText),
    /// whitespace runs made one space; `None` when nothing matches.
    pub(crate) async fn text(&self, css: &str) -> Result<Option<String>, String> {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;";
        match self.client.execute(script, vec![json!(css)]).await {
            Ok(Value::String(text)) => Ok(Some(text.split_whitespace().collect::<Vec<_>>().join(" "))),
            Ok(_) => Ok(None),
            Err(e) => Err(format!("cannot read the page: {e}")),
        }
    }

    /// Waits until the text of `css` satisfies `ok`, and returns it; on
    /// timeout, panics naming `what`, the page and the text last shown.
    pub(crate) async fn wait_text(&self, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let last = match self.text(css).await {
                Ok(Some(text)) if ok(&text) => return text,
                Ok(Some(text)) => format!("{css} shows {text:?}"),
                Ok(None) => format!("nothing matches {css}"),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let at = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                panic!("timed out after {PAGE_WAIT:?} waiting for {what} on {at}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` shows exactly `expected`.
    pub(crate) async fn wait_for(&self, css: &str, expected: &str) {
        self.wait_text(css, &format!("{css} to show {expected:?}"), |t| t == expected).await;
    }

    /// The buttons (`//button` under `xpath`) as `(label, enabled)`, read
    /// in one script: app.js may swap `main` between two WebDriver calls.
    pub(crate) async fn buttons(&self, xpath: &str) -> Vec<(String, bool)> {
        let script = "const found = document.evaluate(arguments[0], document, null, \
                      XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null); const buttons = []; \
                      for (let i = 0; i < found.snapshotLength; i++) { const b = found.snapshotItem(i); \
                      buttons.push([b.innerText.trim(), !b.disabled]); } return buttons;";
        let found = self.client.execute(script, vec![json!(format!("{xpath}//button"))]).await.expect("the buttons");
        serde_json::from_value(found).expect("labels and whether enabled")
    }

    /// Presses the button labelled `label` under `xpath` (`//tr[@data-id='…']`),
    /// which must be enabled. A button that app.js swapped for a fresh one
    /// between finding and pressing it is found again.
    pub(crate) async fn press(&self, xpath: &str, label: &str) {
        let path = format!("{xpath}//button[normalize-space()='{label}']");
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let pressed = async {
                let button = self.client.find(Locator::XPath(&path)).await?;
                if !button.is_enabled().await? {
                    return Ok(false);
                }
                button.click().await.map(|()| true)
            };
            match pressed.await {
                Ok(true) => return,
                Ok(false) => panic!("{path} is disabled"),
                Err(e) if Instant::now() >= deadline => panic!("cannot press {path}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Follows the link labelled `label` in the navigation bar.
    pub(crate) async fn follow_nav(&self, label: &str) {
        self.assert_no_errors().await;
        let path = format!("//header//nav//a[normalize-space()='{label}']");
        let link = self.client.find(Locator::XPath(&path)).await.unwrap_or_else(|e| panic!("no link {path}: {e}"));
        link.click().await.unwrap_or_else(|e| panic!("cannot follow {path}: {e}"));
    }

    /// Marks the page shown, for `assert_same_page`: the mark lives on
    /// `window`, which app.js's swaps of `main` keep and a reload drops.
    pub(crate) async fn mark_page(&self) {
        self.client.execute("window.taskqTestMark = true;", vec![]).await.expect("a mark set");
    }

    /// Asserts that the page marked by `mark_page` was never reloaded.
    pub(crate) async fn assert_same_page(&self) {
        let marked = self.client.execute("return window.taskqTestMark === true;", vec![]).await.expect("a mark read");
        assert_eq!(marked, json!(true), "the page was reloaded (or left): its mark is gone");
    }

    /// What went wrong on the pages shown since the last call: severe
    /// entries of the console log, and what the watch script noted.
    pub(crate) async fn errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let log = self.vendor("se/log", json!({ "type": "browser" })).await;
        for entry in log.as_array().into_iter().flatten() {
            let message = entry["message"].as_str().unwrap_or_default();
            if entry["level"] == "SEVERE" {
                errors.push(format!("console: {message}"));
            }
        }
        let script = "const seen = sessionStorage.getItem(arguments[0]); sessionStorage.removeItem(arguments[0]); \
                      return seen ? JSON.parse(seen) : [];";
        // A page still loading may refuse scripts for a moment.
        let deadline = Instant::now() + PAGE_WAIT;
        let noted = loop {
            match self.client.execute(script, vec![json!(SEEN)]).await {
                Ok(noted) => break noted,
                Err(e) if Instant::now() >= deadline => panic!("cannot read the page's errors: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        errors.extend(noted.as_array().into_iter().flatten().map(|n| n.as_str().unwrap_or_default().to_string()));
        errors
    }

    /// Asserts that the pages shown since the last check had no error.
    pub(crate) async fn assert_no_errors(&self) {
        let errors = self.errors().await;
        let at = self.path().await;
        assert!(errors.is_empty(), "errors in the browser (now on {at}):\n{}", errors.join("\n"));
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    pub(crate) async fn cdp(&self, command: &str, params: Value) -> Value {
        self.vendor("goog/cdp/execute", json!({ "cmd": command, "params": params })).await
    }

    async fn vendor(&self, path: &'static str, body: Value) -> Value {
        self.client.issue_cmd(Vendor { path, body }).await.unwrap_or_else(|e| panic!("chromedriver's {path}: {e}"))
    }

    /// Shows pages as a desktop of `DESKTOP`'s size would, in the light or
    /// dark colour scheme, and checks that the page now is in that scheme.
    pub(crate) async fn desktop(&self, dark: bool) {
        let (width, height) = DESKTOP;
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
        self.cdp("Emulation.setDeviceMetricsOverride", metrics).await;
        let scheme = if dark { "dark" } else { "light" };
        let features = json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] });
        self.cdp("Emulation.setEmulatedMedia", features).await;
        let shown = self
            .client
            .execute(
                "return [matchMedia('(prefers-color-scheme: dark)').matches, \
                 getComputedStyle(document.body).backgroundColor, innerWidth, innerHeight];",
                vec![],
            )
            .await
            .expect("the page's scheme");
        // app.css: --bg is #0d1117 in the dark, #ffffff in the light.
        let background = if dark { "rgb(13, 17, 23)" } else { "rgb(255, 255, 255)" };
        assert_eq!(shown, json!([dark, background, width, height]), "the page in the {scheme} scheme");
    }

    /// Saves what the window shows as a PNG at `to`; `whole`: the whole
    /// page, as tall as it is (the window grown to it, then set back).
    pub(crate) async fn screenshot(&self, to: &Path, whole: bool) {
        let (width, height) = DESKTOP;
        if whole {
            let tall = self.client.execute("return document.documentElement.scrollHeight;", vec![]).await;
            let tall = tall.ok().and_then(|h| h.as_u64()).unwrap_or(u64::from(height)).max(u64::from(height));
            let metrics = json!({ "width": width, "height": tall, "deviceScaleFactor": 1, "mobile": false });
            self.cdp("Emulation.setDeviceMetricsOverride", metrics).await;
        }
        let png = self.client.screenshot().await.expect("a screenshot");
        if whole {
            let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
            self.cdp("Emulation.setDeviceMetricsOverride", metrics).await;
        }
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        std::fs::write(to, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", to.display()));
    }

    /// Checks the last page for errors and ends the session (Chromium
    /// quits); dropping the browser then stops chromedriver.
    pub(crate) async fn close(self) {
        self.assert_no_errors().await;
        let Browser { client, driver, .. } = self;
        let _ = client.close().await;
        drop(driver);
    }
}
