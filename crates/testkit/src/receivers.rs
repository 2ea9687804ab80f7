//! Strict fake receivers for the alert channels that have no real server offline: Standard
//! Webhooks ([`WebhookReceiver`]), Slack incoming webhooks ([`SlackReceiver`]), Teams Workflows
//! webhooks ([`TeamsReceiver`]) and the PagerDuty Events API v2 ([`PagerDutyReceiver`]).
//!
//! Each is a plain HTTP/1.1 server on `127.0.0.1` and a free port, stopped when dropped. Each
//! one:
//!
//! - records every request it gets ([`RecordedRequest`]: method, path, query, headers, the raw
//!   body bytes, when it arrived, what was answered and why);
//! - checks it exactly as the "What a local fake receiver must check" list of
//!   `reference/alerting/CHANNELS.md` says for its channel (every check names its section), and
//!   answers a malformed request with that channel's documented error. The problem is recorded
//!   too, so a test can assert that nothing was malformed ([`SlackReceiver::malformed`],
//!   [`SlackReceiver::assert_no_malformed`]), whatever was answered;
//! - can be scripted to fail: [`SlackReceiver::fail_next`] answers the next `n` requests with a
//!   [`Reply`] (a status, `Retry-After`, a body, a delay to stall past the sender's timeout),
//!   [`SlackReceiver::set_outage`] answers every request with one until it is lifted. A request
//!   answered that way is recorded but not processed, as a real service that failed would not
//!   have ingested it;
//! - lets a test wait for what it expects without sleeping: `wait_for(n, timeout)` returns once
//!   `n` requests were processed (woken by a `tokio::sync::watch`, never by polling), and
//!   panics with everything received so far when the time is up.
//!
//! The credentials in their URLs (Slack's token, Teams' `sig`) and the webhook secret are
//! registered with [`crate::secrets::used`], so the secrets scan of `scripts/test` fails the run
//! when the code under test logs them. For the same reason nothing here prints them.

mod pagerduty;
mod slack;
mod teams;
mod webhook;

pub use pagerduty::{OpenAlert, PagerDutyEffect, PagerDutyEvent, PagerDutyReceiver};
pub use slack::SlackReceiver;
pub use teams::TeamsReceiver;
pub use webhook::{WebhookEvent, WebhookReceiver};

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A scripted answer: what a receiver replies instead of processing a request, to simulate an
/// outage, a rate limit or a revoked endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// A `Retry-After` header (seconds, or an HTTP date), if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: String,
    /// More headers (e.g. `location` for a 3xx, `content-type`).
    pub headers: Vec<(String, String)>,
    /// How long to wait before answering: a delay past the sender's timeout simulates a
    /// receiver that stalls.
    pub delay: Option<Duration>,
}

impl Reply {
    /// `status` with an empty body, no headers and no delay.
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: String::new(),
            headers: Vec::new(),
            delay: None,
        }
    }

    /// With a `Retry-After` header.
    #[must_use]
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Reply {
        self.retry_after = Some(value.into());
        self
    }

    /// With this body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<String>) -> Reply {
        self.body = body.into();
        self
    }

    /// With one more header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answered only after `delay`.
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    pub(crate) fn text(status: u16, body: &str) -> Reply {
        Reply::new(status)
            .with_body(body)
            .with_header("content-type", "text/plain; charset=utf-8")
    }

    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::new(status)
            .with_body(body.to_string())
            .with_header("content-type", "application/json")
    }

    fn into_response(self) -> axum::response::Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut builder = axum::response::Response::builder().status(status);
        if let Some(retry_after) = &self.retry_after {
            builder = builder.header("retry-after", retry_after);
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder.body(Body::from(self.body)).unwrap_or_else(|err| {
            let mut response = axum::response::Response::new(Body::from(format!(
                "the test scripted an invalid reply: {err}"
            )));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        })
    }
}

/// What a receiver did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Well-formed and processed.
    Processed,
    /// Well-formed, but already processed once (a Standard Webhooks `webhook-id` seen before):
    /// acknowledged with a 2xx and not processed again.
    Duplicate,
    /// Answered with a scripted [`Reply`] and not processed. Whether it was well-formed is in
    /// [`RecordedRequest::error`].
    Scripted,
    /// Malformed: answered with the channel's documented error.
    Rejected,
}

/// One request as a receiver got it, and what it answered.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, without the `?`.
    pub query: Option<String>,
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body exactly as received.
    pub body: Vec<u8>,
    /// When it arrived, by the wall clock.
    pub received_at: SystemTime,
    /// When it arrived, by the monotonic clock (to measure spacing between attempts).
    pub at: Instant,
    /// The status answered.
    pub status: u16,
    /// What was done with it.
    pub outcome: Outcome,
    /// Why it is malformed, when it is (also for a request answered with a scripted reply).
    pub error: Option<String>,
}

impl RecordedRequest {
    /// The first value of a header (the name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request being handled.
pub(crate) struct Incoming {
    pub(crate) method: Method,
    uri: Uri,
    headers: HeaderMap,
    pub(crate) body: Bytes,
    received_at: SystemTime,
    at: Instant,
}

impl Incoming {
    pub(crate) fn path(&self) -> &str {
        self.uri.path()
    }

    pub(crate) fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The value of a header, when present and text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Content-Type` is `application/json`, parameters (e.g. `; charset=utf-8`) allowed.
    pub(crate) fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        })
    }

    pub(crate) fn is_post(&self) -> bool {
        self.method == Method::POST
    }
}

/// A malformed request: what to answer and why.
pub(crate) struct Rejection {
    pub(crate) reply: Reply,
    pub(crate) error: String,
}

/// A well-formed request, handled.
pub(crate) struct Accepted {
    pub(crate) outcome: Outcome,
    pub(crate) reply: Reply,
}

/// What makes a receiver one channel's: its checks, and what it does with a request that
/// passes them.
pub(crate) trait Channel: Send + Sync + 'static {
    /// What the checks learnt, for [`Channel::accept`].
    type Valid: Send;
    /// The documented checks.
    fn check(&self, request: &Incoming) -> Result<Self::Valid, Rejection>;
    /// Processes a well-formed request (not called for scripted replies).
    fn accept(&self, request: &Incoming, valid: Self::Valid) -> Accepted;
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    requests: usize,
    processed: usize,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    next: VecDeque<Reply>,
    outage: Option<Reply>,
}

/// What every receiver shares: the record, the script, the counters tests wait on.
pub(crate) struct Core {
    state: Mutex<State>,
    counts: watch::Sender<Counts>,
    /// Replaced by `[redacted]` wherever a request is described (panic messages end up in the
    /// scanned test output).
    secrets: Vec<String>,
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn scripted(&self) -> Option<Reply> {
        let mut state = self.lock();
        state.next.pop_front().or_else(|| state.outage.clone())
    }

    fn record(&self, request: RecordedRequest) {
        let processed = request.outcome == Outcome::Processed;
        self.lock().requests.push(request);
        self.counts.send_modify(|counts| {
            counts.requests += 1;
            if processed {
                counts.processed += 1;
            }
        });
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub(crate) fn malformed(&self) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.error.is_some())
            .cloned()
            .collect()
    }

    pub(crate) fn fail_next(&self, n: usize, reply: &Reply) {
        let mut state = self.lock();
        state.next.extend(std::iter::repeat_n(reply, n).cloned());
    }

    pub(crate) fn set_outage(&self, reply: Option<Reply>) {
        self.lock().outage = reply;
    }

    fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, "[redacted]")
        })
    }

    /// One line per request: method, path, status, outcome, problem (secrets redacted).
    pub(crate) fn describe(&self, requests: &[RecordedRequest]) -> String {
        let mut out = String::new();
        for (i, r) in requests.iter().enumerate() {
            let query = r
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let _ = write!(
                out,
                "\n  #{i} {} {}{query} -> {} {:?}",
                r.method, r.path, r.status, r.outcome
            );
            if let Some(error) = &r.error {
                let _ = write!(out, ": {error}");
            }
        }
        if out.is_empty() {
            out.push_str("\n  (none)");
        }
        self.redact(&out)
    }

    pub(crate) fn assert_no_malformed(&self, what: &str) {
        let malformed = self.malformed();
        assert!(
            malformed.is_empty(),
            "{what} received {} malformed request(s):{}",
            malformed.len(),
            self.describe(&malformed)
        );
    }

    /// Waits until `done` holds for the counters; panics after `timeout` describing what came.
    async fn wait_until(&self, what: &str, timeout: Duration, done: impl FnMut(&Counts) -> bool) {
        let mut counts = self.counts.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            // The sender lives as long as `self`: this cannot fail while we borrow it.
            let _ = counts.wait_for(done).await;
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out after {timeout:?} waiting for {what}; requests so far:{}",
            self.describe(&self.requests())
        );
    }

    pub(crate) async fn wait_processed(&self, what: &str, n: usize, timeout: Duration) {
        self.wait_until(
            &format!("{n} processed request(s) at {what}"),
            timeout,
            |c| c.processed >= n,
        )
        .await;
    }

    pub(crate) async fn wait_requests(
        &self,
        what: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<RecordedRequest> {
        self.wait_until(&format!("{n} request(s) at {what}"), timeout, |c| {
            c.requests >= n
        })
        .await;
        self.requests()
    }

    /// Waits until `found` finds something in the receiver's state, checking again after every
    /// request recorded (woken by the counters, never by a timer); `None` after `timeout`.
    pub(crate) async fn wait_for_state<T>(
        &self,
        timeout: Duration,
        mut found: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        let mut counts = self.counts.subscribe();
        tokio::time::timeout(timeout, async {
            loop {
                counts.borrow_and_update();
                if let Some(value) = found() {
                    return value;
                }
                // The sender lives as long as `self`: `changed` cannot fail while we borrow it.
                if counts.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .ok()
    }
}

/// A running receiver: the HTTP server on loopback, its record and its channel.
pub(crate) struct Server<C> {
    pub(crate) core: Arc<Core>,
    pub(crate) channel: Arc<C>,
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl<C: Channel> Server<C> {
    /// Starts serving `channel` on `127.0.0.1` and a free port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub(crate) async fn start(channel: C, secrets: Vec<String>) -> Server<C> {
        crate::logs::init();
        let core = Arc::new(Core {
            state: Mutex::new(State::default()),
            counts: watch::Sender::new(Counts::default()),
            secrets,
        });
        let channel = Arc::new(channel);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for a fake receiver");
        let addr = listener
            .local_addr()
            .expect("the fake receiver's own address");
        let (handler_core, handler_channel) = (Arc::clone(&core), Arc::clone(&channel));
        let router = Router::new()
            .fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let (core, channel) = (Arc::clone(&handler_core), Arc::clone(&handler_channel));
                    async move { handle(&core, &*channel, method, uri, headers, body).await }
                },
            )
            // Size limits are the channels' to check and answer (PagerDuty: 512 KB, Teams:
            // 28 KB), not axum's.
            .layer(DefaultBodyLimit::disable());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Server {
            core,
            channel,
            addr,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl<C> Drop for Server<C> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle<C: Channel>(
    core: &Core,
    channel: &C,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let incoming = Incoming {
        method,
        uri,
        headers,
        body,
        received_at: SystemTime::now(),
        at: Instant::now(),
    };
    // Checked even when a scripted reply is due: a malformed retry during an outage is still
    // a bug of the sender, and is recorded as one.
    let verdict = channel.check(&incoming);
    let (outcome, reply, error) = match (core.scripted(), verdict) {
        (Some(reply), verdict) => (Outcome::Scripted, reply, verdict.err().map(|r| r.error)),
        (None, Err(rejection)) => (Outcome::Rejected, rejection.reply, Some(rejection.error)),
        (None, Ok(valid)) => {
            let accepted = channel.accept(&incoming, valid);
            (accepted.outcome, accepted.reply, None)
        }
    };
    core.record(RecordedRequest {
        method: incoming.method.to_string(),
        path: incoming.path().to_owned(),
        query: incoming.query().map(str::to_owned),
        headers: incoming
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: incoming.body.to_vec(),
        received_at: incoming.received_at,
        at: incoming.at,
        status: reply.status,
        outcome,
        error,
    });
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    reply.into_response()
}

/// `n` random bytes.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the system random number generator");
    bytes
}

/// `len` random characters from `alphabet`.
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    let bytes = random_bytes::<64>();
    bytes
        .iter()
        .cycle()
        .take(len)
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect()
}

pub(crate) use runway_core::hex;

/// The methods every receiver has, documented once.
macro_rules! common_methods {
    ($what:literal) => {
        /// Every request received, in order: processed, duplicates, scripted failures and
        /// rejected ones.
        pub fn requests(&self) -> Vec<$crate::receivers::RecordedRequest> {
            self.server.core.requests()
        }

        /// The requests that failed a documented check, whatever was answered.
        pub fn malformed(&self) -> Vec<$crate::receivers::RecordedRequest> {
            self.server.core.malformed()
        }

        /// Asserts that no request failed a documented check.
        ///
        /// # Panics
        /// When one did, listing them with their problems.
        pub fn assert_no_malformed(&self) {
            self.server.core.assert_no_malformed($what);
        }

        /// Answers the next `n` requests with `reply` instead of processing them (before an
        /// outage set with `set_outage`).
        pub fn fail_next(&self, n: usize, reply: &$crate::receivers::Reply) {
            self.server.core.fail_next(n, reply);
        }

        /// Answers every request with `reply` instead of processing it, until called again
        /// with `None` (the receiver recovers).
        pub fn set_outage(&self, reply: Option<$crate::receivers::Reply>) {
            self.server.core.set_outage(reply);
        }

        /// Waits until `n` requests of any outcome arrived and returns them all.
        ///
        /// # Panics
        /// After `timeout`, listing what arrived.
        pub async fn wait_for_requests(
            &self,
            n: usize,
            timeout: std::time::Duration,
        ) -> Vec<$crate::receivers::RecordedRequest> {
            self.server.core.wait_requests($what, n, timeout).await
        }

        /// `http://127.0.0.1:PORT`, the server's root (hand-written requests to other paths).
        pub fn base_url(&self) -> String {
            self.server.base_url()
        }
    };
}
pub(crate) use common_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_use_only_their_alphabet() {
        let s = random_string(b"AB", 100);
        assert_eq!(s.len(), 100);
        assert!(s.chars().all(|c| c == 'A' || c == 'B'));
    }

    #[test]
    fn describing_requests_redacts_secrets() {
        let core = Core {
            state: Mutex::new(State::default()),
            counts: watch::Sender::new(Counts::default()),
            secrets: vec!["s3cr3t-token-value".into()],
        };
        core.record(RecordedRequest {
            method: "POST".into(),
            path: "/services/T1/B1/s3cr3t-token-value".into(),
            query: None,
            headers: Vec::new(),
            body: Vec::new(),
            received_at: SystemTime::now(),
            at: Instant::now(),
            status: 200,
            outcome: Outcome::Processed,
            error: None,
        });
        let text = core.describe(&core.requests());
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(
            text.contains("/services/T1/B1/[redacted] -> 200 Processed"),
            "{text}"
        );
    }
}
