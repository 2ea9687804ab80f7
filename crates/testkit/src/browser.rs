//! A real headless Chromium, driven over the W3C WebDriver protocol through `chromedriver` with
//! `fantoccini`.
//!
//! [`Chromium::start`] finds `chromedriver` (or `RUNWAY_CHROMEDRIVER`) and Chromium (or
//! `RUNWAY_CHROMIUM`). When they are missing it returns `None` so the test can skip, except when
//! `RUNWAY_REQUIRE_SERVICES=1` (CI), where it panics: a missing browser fails the run.
//!
//! The methods cover what our browser tests do — open a page, find elements by CSS selector,
//! type, click, read text and computed styles, take a screenshot — and name the command that
//! failed in their error.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// One element of the current page.
pub use fantoccini::elements::Element;

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

/// Turns an error of `command` into a [`BrowserError`] (for `map_err`).
fn failed<E: std::fmt::Display>(command: impl Into<String>) -> impl FnOnce(E) -> BrowserError {
    let command = command.into();
    move |err| BrowserError {
        command,
        message: err.to_string(),
    }
}

/// A headless Chromium session; the browser and its driver stop when it is dropped.
pub struct Chromium {
    client: Client,
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(failed("start: no free port"))?
            .port();
        let mut driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(failed(format!("start {}", driver_path.display())))?;
        // Ready when it says so on stdout: no polling, no sleeping.
        let stdout = driver.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next_line().await {
                Ok(Some(line)) if line.contains("started successfully") => break,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    return Err(failed("start")("chromedriver exited before it was ready"));
                }
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let profile = tempfile::tempdir().map_err(failed("start: profile"))?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push("--window-size=1440,1000".into());
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": args}),
        );
        // chromedriver speaks plain HTTP on loopback: no TLS stack is involved.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(failed("new session"))?;
        // Finding an element waits up to 10 s for it to appear: a click that starts a
        // navigation may return before the next page is there, so tests wait for an element of
        // the page they expect rather than for a fixed time.
        client
            .update_timeouts(TimeoutConfiguration::new(
                None,
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(10)),
            ))
            .await
            .map_err(failed("timeouts"))?;
        Ok(Chromium {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.client
            .goto(url)
            .await
            .map_err(failed(format!("goto {url}")))
    }

    /// The address of the page now shown.
    pub async fn current_url(&self) -> Result<String, BrowserError> {
        let url = self.client.current_url().await;
        url.map(String::from).map_err(failed("current url"))
    }

    /// How many elements match a CSS selector now (without waiting for any to appear).
    pub async fn count(&self, css: &str) -> Result<usize, BrowserError> {
        let n = self
            .client
            .execute(
                "return document.querySelectorAll(arguments[0]).length;",
                vec![json!(css)],
            )
            .await
            .map_err(failed(format!("count {css}")))?;
        Ok(n.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0))
    }

    /// The first element matching a CSS selector, waiting up to 10 s for one to appear.
    pub async fn find(&self, css: &str) -> Result<Element, BrowserError> {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(failed(format!("find {css}")))
    }

    /// Every element matching a CSS selector, in document order (waiting up to 10 s while
    /// there is none; use [`Chromium::count`] to check that there is none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, BrowserError> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_err(failed(format!("find all {css}")))
    }

    /// An element's rendered text.
    pub async fn text(&self, element: &Element) -> Result<String, BrowserError> {
        element.text().await.map_err(failed("text"))
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
        element
            .attr(name)
            .await
            .map_err(failed(format!("attribute {name}")))
    }

    /// A CSS property as the browser computed it (colours come back as `rgb(r, g, b)`).
    pub async fn css_value(
        &self,
        element: &Element,
        property: &str,
    ) -> Result<String, BrowserError> {
        element
            .css_value(property)
            .await
            .map_err(failed(format!("css {property}")))
    }

    /// Clicks an element (and waits for the page it leads to, if any).
    pub async fn click(&self, element: &Element) -> Result<(), BrowserError> {
        element.click().await.map_err(failed("click"))
    }

    /// Types `text` into an element.
    pub async fn type_into(&self, element: &Element, text: &str) -> Result<(), BrowserError> {
        element.send_keys(text).await.map_err(failed("type"))
    }

    /// Saves a PNG screenshot of the window to `path`, creating its directory.
    pub async fn screenshot(&self, path: &Path) -> Result<(), BrowserError> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(failed("screenshot"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(failed(format!("screenshot {}", dir.display())))?;
        }
        std::fs::write(path, png).map_err(failed(format!("screenshot {}", path.display())))
    }

    /// Resizes the window so the whole page fits a screenshot.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), BrowserError> {
        self.client
            .set_window_size(width, height)
            .await
            .map_err(failed("window size"))
    }

    /// Closes the session (the driver stops when the `Chromium` is dropped).
    pub async fn quit(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}
