//! Real services for the delivery tests, one private instance per test, on loopback:
//! Prometheus Alertmanager ([`Alertmanager`]) and an aiosmtpd SMTP server ([`SmtpServer`]);
//! and an independent iCalendar parser (Python's `icalendar`, [`icalendar_python`]) for the
//! calendar feed's tests.
//!
//! Tests find the programs through environment variables that `scripts/test` sets:
//! [`ALERTMANAGER_ENV`] names the `prometheus-alertmanager` binary, [`AIOSMTPD_ENV`] a Python
//! interpreter that can import `aiosmtpd`. Without the variable `start` returns `None` and the
//! test skips, except when `RUNWAY_REQUIRE_SERVICES=1` (CI), where it panics: a missing service
//! fails the run. A service that is configured but does not come up always panics, with the tail
//! of its log.
//!
//! Each instance gets a temporary directory (its configuration, its data, its log) and a free
//! port: the port of a just-closed `127.0.0.1:0` socket, retried with a new one when the process
//! reports the port taken in between. Readiness is polled against a deadline (Alertmanager's
//! `GET /-/ready`, the SMTP `220` greeting), never waited for with a fixed sleep. The process is
//! killed when the value is dropped, even when the test panics.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::receivers::{Accepted, Channel, Incoming, Outcome, Rejection, Reply, Server};

/// The variable naming the `prometheus-alertmanager` binary (`scripts/test` sets
/// `/usr/bin/prometheus-alertmanager`).
pub const ALERTMANAGER_ENV: &str = "RUNWAY_TEST_ALERTMANAGER";

/// The variable naming a Python interpreter that can `import aiosmtpd`.
pub const AIOSMTPD_ENV: &str = "RUNWAY_TEST_AIOSMTPD";

/// The variable naming a Python interpreter that can `import icalendar`: the independent
/// parser the calendar feed's tests check the feed with.
pub const ICALENDAR_ENV: &str = "RUNWAY_TEST_ICALENDAR_PYTHON";

/// How long a service may take to become ready.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(30);

/// How often readiness is checked while waiting for it.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Startup attempts (each on a fresh port) when the chosen port turns out to be taken.
const PORT_ATTEMPTS: usize = 3;

/// The lines of a log quoted in a panic message.
const LOG_TAIL_LINES: usize = 40;

fn required() -> bool {
    std::env::var("RUNWAY_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The program `env` names; `None` (the test skips) when unset, unless services are required.
fn program(env: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(env) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            assert!(
                !required(),
                "RUNWAY_REQUIRE_SERVICES=1 but {env} is not set: the {what} tests cannot run \
                 (scripts/test provides it)"
            );
            eprintln!("skipped: set {env} to run the {what} tests (scripts/test provides it)");
            None
        }
    }
}

/// The Python interpreter [`ICALENDAR_ENV`] names (no service to start: the tests run their
/// script with it); `None` (the test skips) when unset, unless services are required.
pub fn icalendar_python() -> Option<PathBuf> {
    program(ICALENDAR_ENV, "iCalendar (Python icalendar)")
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Why one startup attempt failed.
enum StartError {
    /// The port was taken between choosing it and the process binding it: try another.
    PortTaken,
    /// Anything else: give up, saying this.
    Failed(String),
}

/// The last lines of a log file.
fn tail(path: &Path) -> String {
    let text = std::fs::read(path).map_or_else(
        |err| format!("(cannot read {}: {err})", path.display()),
        |bytes| String::from_utf8_lossy(&bytes).into_owned(),
    );
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    let mut out = String::new();
    for line in &lines[start..] {
        let _ = writeln!(out, "    {line}");
    }
    if out.is_empty() {
        out.push_str("    (empty)\n");
    }
    out
}

/// Spawns `command` with stdout and stderr appended to `log`, killed when dropped.
fn spawn_logged(mut command: Command, log: &Path) -> Result<Child, StartError> {
    let file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|err| StartError::Failed(format!("cannot create {}: {err}", log.display())))?;
    let stderr = file
        .try_clone()
        .map_err(|err| StartError::Failed(err.to_string()))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| StartError::Failed(format!("cannot run it: {err}")))
}

/// Polls `ready` every [`POLL_INTERVAL`] until it holds, the child exits, or the deadline.
async fn wait_ready<F, Fut>(child: &mut Child, log: &Path, mut ready: F) -> Result<(), StartError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + STARTUP_DEADLINE;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let log_tail = tail(log);
                if log_tail.contains("address already in use") {
                    return Err(StartError::PortTaken);
                }
                return Err(StartError::Failed(format!(
                    "it exited ({status}) before it was ready; its log ends:\n{log_tail}"
                )));
            }
            Ok(None) => {}
            Err(err) => return Err(StartError::Failed(format!("cannot watch it: {err}"))),
        }
        if ready().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let _ = child.kill().await;
            return Err(StartError::Failed(format!(
                "not ready within {STARTUP_DEADLINE:?}; its log ends:\n{}",
                tail(log)
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Starts a service on fresh ports until one is not taken; `launch(port, attempt)` spawns it and
/// waits for it.
async fn on_free_port<T, F, Fut>(what: &str, mut launch: F) -> T
where
    F: FnMut(u16, usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, StartError>>,
{
    for attempt in 1..=PORT_ATTEMPTS {
        let port = free_port()
            .unwrap_or_else(|err| panic!("could not start {what}: no free loopback port: {err}"));
        match launch(port, attempt).await {
            Ok(service) => return service,
            Err(StartError::PortTaken) => {
                eprintln!("{what}: port {port} was taken before it could bind it; retrying");
            }
            Err(StartError::Failed(why)) => panic!("could not start {what}: {why}"),
        }
    }
    panic!("could not start {what}: the port was taken {PORT_ATTEMPTS} times in a row")
}

// ---------------------------------------------------------------------------------------------
// Alertmanager

/// A real Prometheus Alertmanager on `127.0.0.1`, its clustering off, routing every alert to a
/// webhook receiver this testkit runs, so a test sees what it forwards.
///
/// The route (see [`Alertmanager::config`]): `group_by: ['...']` (each label set is a group of
/// its own), `group_wait` and `group_interval` 1 s, `repeat_interval` 1 h, `send_resolved:
/// true`, `resolve_timeout` the default 5 m. On 0.25 a firing alert forwarded without an
/// `endsAt` from its client shows `endsAt` `0001-01-01T00:00:00Z` (CHANNELS.md §5).
pub struct Alertmanager {
    // Dropped first: the process is killed before its directory is removed.
    child: Child,
    port: u16,
    log: PathBuf,
    config: String,
    hook: Server<AlertmanagerHook>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Alertmanager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alertmanager")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl Alertmanager {
    /// Starts a fresh Alertmanager from [`ALERTMANAGER_ENV`] and waits until `GET /-/ready`
    /// answers 200. `None` when the variable is unset and services are not required.
    ///
    /// # Panics
    /// When the variable is unset under `RUNWAY_REQUIRE_SERVICES=1`, or Alertmanager does not
    /// come up (with the end of its log).
    pub async fn start() -> Option<Alertmanager> {
        crate::logs::init();
        let program = program(ALERTMANAGER_ENV, "Alertmanager")?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let hook = Server::start(AlertmanagerHook::default(), Vec::new()).await;
        let config = format!(
            "global:\n  resolve_timeout: 5m\n\
             route:\n  receiver: testkit\n  group_by: ['...']\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: testkit\n    webhook_configs:\n      \
             - url: '{}/hook'\n        send_resolved: true\n",
            hook.base_url()
        );
        let config_path = dir.path().join("alertmanager.yml");
        std::fs::write(&config_path, &config)
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", config_path.display()));
        let what = format!("Alertmanager ({})", program.display());
        let (child, port, log) = on_free_port(&what, |port, attempt| {
            let (program, dir, config_path) = (&program, dir.path(), &config_path);
            async move {
                let log = dir.join(format!("alertmanager.{attempt}.log"));
                let mut command = Command::new(program);
                command
                    .arg(format!("--config.file={}", config_path.display()))
                    .arg(format!("--storage.path={}", dir.join("data").display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    // Empty: clustering (gossip on 0.0.0.0:9094 by default) off.
                    .arg("--cluster.listen-address=");
                let mut child = spawn_logged(command, &log)?;
                let ready = format!("http://127.0.0.1:{port}/-/ready");
                wait_ready(&mut child, &log, || async {
                    crate::http::get(&ready)
                        .await
                        .is_ok_and(|response| response.status == 200)
                })
                .await?;
                Ok((child, port, log))
            }
        })
        .await;
        Some(Alertmanager {
            child,
            port,
            log,
            config,
            hook,
            _dir: dir,
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` (the API is under `/api/v2/`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The configuration it runs with (YAML).
    pub fn config(&self) -> &str {
        &self.config
    }

    /// The URL of the embedded webhook receiver Alertmanager forwards to.
    pub fn webhook_url(&self) -> String {
        format!("{}/hook", self.hook.base_url())
    }

    /// Its log so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `POST /api/v2/alerts` with `alerts` (a JSON array), as a client would.
    ///
    /// # Panics
    /// When Alertmanager does not answer.
    pub async fn post_alerts(&self, alerts: &Value) -> crate::http::Response {
        crate::http::post_json(&format!("{}/api/v2/alerts", self.url()), alerts)
            .await
            .unwrap_or_else(|err| panic!("Alertmanager did not answer: {err}"))
    }

    /// `GET /api/v2/alerts`: the alerts it holds now (resolved ones are not listed).
    ///
    /// # Panics
    /// When Alertmanager does not answer 200 with a JSON array.
    pub async fn alerts(&self) -> Vec<Value> {
        let url = format!("{}/api/v2/alerts", self.url());
        let response = crate::http::get(&url)
            .await
            .unwrap_or_else(|err| panic!("Alertmanager did not answer: {err}"));
        match response.json() {
            Some(Value::Array(alerts)) if response.status == 200 => alerts,
            _ => panic!(
                "GET /api/v2/alerts answered {}: {}",
                response.status,
                response.text()
            ),
        }
    }

    /// Every notification Alertmanager forwarded to the embedded webhook, in order: the
    /// webhook payloads (`version` "4", `status`, `alerts`, `groupLabels`, …).
    pub fn forwarded(&self) -> Vec<Value> {
        self.hook.channel.lock().clone()
    }

    /// Waits for a forwarded notification that `matches` (one forwarded already counts) and
    /// returns it. Woken by each post, not by a timer.
    ///
    /// # Panics
    /// After `timeout`, with what was forwarded and the end of Alertmanager's log.
    pub async fn wait_for_forwarded(
        &self,
        matches: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Value {
        let found = self
            .hook
            .core
            .wait_for_state(timeout, || {
                self.forwarded().into_iter().find(|n| matches(n))
            })
            .await;
        found.unwrap_or_else(|| {
            panic!(
                "Alertmanager forwarded no matching notification within {timeout:?}; it \
                 forwarded:\n{:#?}\nits log ends:\n{}",
                self.forwarded(),
                tail(&self.log)
            )
        })
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// The webhook receiver Alertmanager forwards to; it checks the shape Alertmanager sends
/// (`version` "4", `status` firing|resolved, an `alerts` array).
#[derive(Default)]
struct AlertmanagerHook {
    forwarded: Mutex<Vec<Value>>,
}

impl AlertmanagerHook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.forwarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Channel for AlertmanagerHook {
    type Valid = Value;

    fn check(&self, request: &Incoming) -> Result<Value, Rejection> {
        let reject = |error: String| Rejection {
            reply: Reply::text(400, &error),
            error,
        };
        if !request.is_post() || request.path() != "/hook" {
            return Err(reject(format!("{} {}", request.method, request.path())));
        }
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|err| reject(format!("the body is not JSON: {err}")))?;
        let shaped = body.get("version").and_then(Value::as_str) == Some("4")
            && matches!(
                body.get("status").and_then(Value::as_str),
                Some("firing" | "resolved")
            )
            && body.get("alerts").is_some_and(Value::is_array);
        if !shaped {
            return Err(reject(format!(
                "not an Alertmanager webhook payload: {body}"
            )));
        }
        Ok(body)
    }

    fn accept(&self, _request: &Incoming, body: Value) -> Accepted {
        self.lock().push(body);
        Accepted {
            outcome: Outcome::Processed,
            reply: Reply::new(200),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SMTP

/// A real SMTP server (aiosmtpd) on `127.0.0.1` that keeps every message in a Maildir: no
/// AUTH, no TLS, `8BITMIME`. Each message gets the `X-Peer`, `X-MailFrom` and `X-RcptTo`
/// headers of its envelope (CHANNELS.md §6).
pub struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl SmtpServer {
    /// Starts `$RUNWAY_TEST_AIOSMTPD -m aiosmtpd -n -l 127.0.0.1:PORT -c
    /// aiosmtpd.handlers.Mailbox <dir>/maildir` and waits for its `220` greeting. `None` when
    /// [`AIOSMTPD_ENV`] is unset and services are not required.
    ///
    /// # Panics
    /// When the variable is unset under `RUNWAY_REQUIRE_SERVICES=1`, or the server does not
    /// come up (with the end of its log).
    pub async fn start() -> Option<SmtpServer> {
        crate::logs::init();
        let python = program(AIOSMTPD_ENV, "SMTP")?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        // aiosmtpd creates the Maildir (new/, cur/, tmp/) itself.
        let maildir = dir.path().join("maildir");
        let what = format!("aiosmtpd ({} -m aiosmtpd)", python.display());
        let (child, port, log) = on_free_port(&what, |port, attempt| {
            let (python, dir, maildir) = (&python, dir.path(), &maildir);
            async move {
                let log = dir.join(format!("aiosmtpd.{attempt}.log"));
                let mut command = Command::new(python);
                command
                    .args(["-m", "aiosmtpd", "-n", "-l"])
                    .arg(format!("127.0.0.1:{port}"))
                    .args(["-c", "aiosmtpd.handlers.Mailbox"])
                    .arg(maildir)
                    .env("PYTHONUNBUFFERED", "1");
                let mut child = spawn_logged(command, &log)?;
                wait_ready(&mut child, &log, || greeting(port)).await?;
                Ok((child, port, log))
            }
        })
        .await;
        Some(SmtpServer {
            child,
            port,
            maildir,
            log,
            _dir: dir,
        })
    }

    /// The host to send to: `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The port to send to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every message delivered so far, raw (RFC 5322, with the `X-Peer`, `X-MailFrom` and
    /// `X-RcptTo` headers aiosmtpd adds), in the order the server stored them.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<(u64, String, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                (delivery_number(&name), name, entry.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            // A file is renamed into new/ complete (Maildir), so what is listed is whole.
            .filter_map(|(_, _, path)| std::fs::read(path).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect()
    }

    /// Waits until at least `n` messages were delivered and returns them all. The Maildir is
    /// checked every 20 ms: the server is another process and says nothing when mail arrives.
    ///
    /// # Panics
    /// After `timeout`, with the end of the server's log.
    pub async fn wait_for_messages(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{} message(s) delivered within {timeout:?}, not {n}; the server's log ends:\n{}",
                messages.len(),
                tail(&self.log)
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Python's Maildir names files `<time>.M<µs>P<pid>Q<n>.<host>`, `n` counting the deliveries
/// of the process: the order they arrived in.
fn delivery_number(name: &str) -> u64 {
    name.split_once('Q')
        .map(|(_, rest)| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Whether an SMTP server on `port` greets with `220`.
async fn greeting(port: u16) -> bool {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let mut stream = BufReader::new(stream);
        let mut line = String::new();
        stream.read_line(&mut line).await?;
        if line.starts_with("220") {
            let _ = stream.get_mut().write_all(b"QUIT\r\n").await;
            Ok::<bool, std::io::Error>(true)
        } else {
            Ok(false)
        }
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .is_ok_and(|answer| answer.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::delivery_number;

    #[test]
    fn maildir_names_sort_by_their_delivery_counter() {
        assert_eq!(delivery_number("1764590000.M123456P4242Q3.host"), 3);
        assert_eq!(delivery_number("1764590000.M12P4242Q12.host"), 12);
        assert_eq!(delivery_number("garbage"), u64::MAX);
    }
}
