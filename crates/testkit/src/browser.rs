//! A real headless Chromium, driven over the W3C WebDriver protocol through `chromedriver`.
//!
//! WebDriver is JSON over HTTP, so a few calls on reqwest cover what our browser tests do —
//! open a page, find elements by CSS selector, type, click, read text and computed styles,
//! take a screenshot — without pulling a second HTTP stack into the workspace.
//!
//! [`Chromium::start`] finds `chromedriver` (or `RUNWAY_CHROMEDRIVER`) and Chromium (or
//! `RUNWAY_CHROMIUM`). When they are missing it returns `None` so the test can skip, except when
//! `RUNWAY_REQUIRE_SERVICES=1` (CI), where it panics: a missing browser fails the run.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The key under which WebDriver names an element in its answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Flags without which headless Chromium stalls on this closed network (see docs/STACK.md).
const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
];

/// A failed WebDriver command: what was asked and what the driver said.
#[derive(Debug, thiserror::Error)]
#[error("WebDriver {command}: {message}")]
pub struct BrowserError {
    command: String,
    message: String,
}

/// One element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

/// A headless Chromium session; the browser and its driver stop when it is dropped.
pub struct Chromium {
    http: reqwest::Client,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn required() -> bool {
    std::env::var("RUNWAY_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

impl Chromium {
    /// Starts `chromedriver` on a free loopback port and opens a headless Chromium session
    /// with a fresh profile. `None` when no browser is installed and none is required.
    pub async fn start() -> Option<Chromium> {
        let driver = find_program("RUNWAY_CHROMEDRIVER", &["chromedriver"]);
        let chromium = find_program(
            "RUNWAY_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            assert!(
                !required(),
                "headless Chromium and chromedriver are required (RUNWAY_REQUIRE_SERVICES=1) \
                 but were not found; scripts/test installs them"
            );
            eprintln!(
                "skipped: chromium or chromedriver not installed (scripts/test installs them)"
            );
            return None;
        };
        Some(
            Self::launch(&driver, &chromium)
                .await
                .unwrap_or_else(|err| panic!("could not start headless Chromium: {err}")),
        )
    }

    async fn launch(driver_path: &Path, chromium: &Path) -> Result<Chromium, BrowserError> {
        let fail = |message: String| BrowserError {
            command: "start".into(),
            message,
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| fail(format!("no free port: {e}")))?
            .port();
        let mut driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail(format!("{}: {e}", driver_path.display())))?;
        // Ready when it says so on stdout: no polling, no sleeping.
        let stdout = driver.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next_line().await {
                Ok(Some(line)) if line.contains("started successfully") => break,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    return Err(fail("chromedriver exited before it was ready".into()));
                }
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let profile = tempfile::tempdir().map_err(|e| fail(format!("profile directory: {e}")))?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push("--window-size=1440,1000".into());
        // reqwest is built without a default TLS provider; loopback needs none, but the client
        // cannot be built without one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let answer = call(
            &http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
            }}})),
        )
        .await?;
        let session = answer["sessionId"]
            .as_str()
            .ok_or_else(|| fail(format!("no session id in {answer}")))?;
        let chromium = Chromium {
            session: format!("{base}/session/{session}"),
            http,
            driver,
            _profile: profile,
        };
        // Finding an element waits up to 10 s for it to appear: a click that starts a
        // navigation may return before the next page is there, so tests wait for an element of
        // the page they expect rather than for a fixed time.
        chromium
            .command(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({"implicit": 10_000, "pageLoad": 30_000})),
            )
            .await?;
        Ok(chromium)
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, BrowserError> {
        call(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The address of the page now shown.
    pub async fn current_url(&self) -> Result<String, BrowserError> {
        let url = self.command(reqwest::Method::GET, "/url", None).await?;
        Ok(url.as_str().unwrap_or_default().to_owned())
    }

    /// How many elements match a CSS selector now (without waiting for any to appear).
    pub async fn count(&self, css: &str) -> Result<usize, BrowserError> {
        let n = self
            .command(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({
                    "script": "return document.querySelectorAll(arguments[0]).length;",
                    "args": [css],
                })),
            )
            .await?;
        Ok(n.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0))
    }

    /// The first element matching a CSS selector, waiting up to 10 s for one to appear.
    pub async fn find(&self, css: &str) -> Result<Element, BrowserError> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        element(&found).ok_or_else(|| BrowserError {
            command: format!("find {css}"),
            message: format!("unexpected answer {found}"),
        })
    }

    /// Every element matching a CSS selector, in document order (waiting up to 10 s while
    /// there is none; use [`Chromium::count`] to check that there is none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, BrowserError> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(found
            .as_array()
            .map(|all| all.iter().filter_map(element).collect())
            .unwrap_or_default())
    }

    /// An element's rendered text.
    pub async fn text(&self, element: &Element) -> Result<String, BrowserError> {
        let text = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{}/text", element.0),
                None,
            )
            .await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// The text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> Result<String, BrowserError> {
        let found = self.find(css).await?;
        self.text(&found).await
    }

    /// An element's attribute, if it has it.
    pub async fn attribute(
        &self,
        element: &Element,
        name: &str,
    ) -> Result<Option<String>, BrowserError> {
        let value = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{}/attribute/{name}", element.0),
                None,
            )
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// A CSS property as the browser computed it (colours come back as `rgb(r, g, b)`).
    pub async fn css_value(
        &self,
        element: &Element,
        property: &str,
    ) -> Result<String, BrowserError> {
        let value = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{}/css/{property}", element.0),
                None,
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Clicks an element (and waits for the page it leads to, if any).
    pub async fn click(&self, element: &Element) -> Result<(), BrowserError> {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// Types `text` into an element.
    pub async fn type_into(&self, element: &Element, text: &str) -> Result<(), BrowserError> {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await
        .map(drop)
    }

    /// Saves a PNG screenshot of the window to `path`, creating its directory.
    pub async fn screenshot(&self, path: &Path) -> Result<(), BrowserError> {
        use base64::Engine as _;
        let fail = |message: String| BrowserError {
            command: "screenshot".into(),
            message,
        };
        let shot = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap_or_default())
            .map_err(|e| fail(format!("not base64: {e}")))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        }
        std::fs::write(path, png).map_err(|e| fail(format!("{}: {e}", path.display())))
    }

    /// Resizes the window so the whole page fits a screenshot.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), BrowserError> {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await
        .map(drop)
    }

    /// Closes the session (the driver stops when the `Chromium` is dropped).
    pub async fn quit(mut self) {
        let _ = self.command(reqwest::Method::DELETE, "", None).await;
        let _ = self.driver.kill().await;
    }
}

fn element(value: &Value) -> Option<Element> {
    value[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, BrowserError> {
    let command = format!("{method} {url}");
    let fail = |message: String| BrowserError {
        command: command.clone(),
        message,
    };
    let mut request = http.request(method.clone(), url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    let answer: Value = response.json().await.map_err(|e| fail(e.to_string()))?;
    if status.is_success() {
        Ok(answer["value"].clone())
    } else {
        Err(fail(format!(
            "{status}: {} {}",
            answer["value"]["error"].as_str().unwrap_or("error"),
            answer["value"]["message"].as_str().unwrap_or_default()
        )))
    }
}
