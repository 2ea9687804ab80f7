//! What every channel's tests share: the notices, a stored channel pointing at a receiver, the
//! retry table and the secret checks every channel must pass, a loopback port nobody listens
//! on, and a scripted stand-in for an Alertmanager that fails.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri};
use jiff::Timestamp;
use jiff::civil::date;
use runway_alerts::{
    Attempt, ChannelKind, ChannelSettings, ChannelTarget, Notice, NoticeAction, Notifier,
    notifier_for,
};
use runway_clock::{Clock, ManualClock};
use runway_core::Severity;
use runway_store::{AlertId, AlertKind, AlertResolution, Channel, ChannelId, InstanceId, TenantId};
use runway_testkit::Reply;

/// When the notices were decided.
pub(crate) const DECIDED_AT: &str = "2026-11-28T08:00:00Z";

/// Where the license is renewed (its `&` must survive every channel's escaping).
pub(crate) const RENEW_URL: &str = "https://www.3cx.com/renew?key=ABCD-EFGH-IJKL-MNOP&x=1";

/// The series every notice here belongs to.
pub(crate) const SERIES_KEY: &str = "runway:t1:i7:license_expiry:2026-12-01";

/// How long a test waits for something that is already on its way.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// Test logs for the secrets scan, and the TLS provider the HTTP client needs.
pub(crate) fn init() {
    runway_testkit::logs::init();
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A critical reminder, three days before pbx-01's license expires.
pub(crate) fn trigger() -> Notice {
    Notice {
        idempotency_key: format!("{SERIES_KEY}:milestone:3"),
        series_key: SERIES_KEY.to_owned(),
        action: NoticeAction::Trigger,
        alert_id: Some(AlertId(42)),
        kind: AlertKind::LicenseExpiry,
        severity: Severity::Critical,
        stage: "milestone:3".to_owned(),
        days_left: Some(3),
        instance_id: InstanceId(7),
        instance_name: "pbx-01".to_owned(),
        customer_name: "Smith & Sons".to_owned(),
        customer_id: None,
        license_key: Some("ABCD-EFGH-IJKL-MNOP".to_owned()),
        edition: Some("Enterprise".to_owned()),
        expiry_date: Some(date(2026, 12, 1)),
        zone: "Europe/Berlin".to_owned(),
        renew_url: Some(RENEW_URL.to_owned()),
        resolution: None,
        resolution_note: None,
        summary: "pbx-01 (Smith & Sons): license expires in 3 days on 2026-12-01".to_owned(),
        at: DECIDED_AT.parse().unwrap(),
    }
}

/// The same series at another severity and stage (an earlier reminder).
pub(crate) fn at_severity(severity: Severity, stage: &str) -> Notice {
    Notice {
        idempotency_key: format!("{SERIES_KEY}:{stage}"),
        severity,
        stage: stage.to_owned(),
        ..trigger()
    }
}

/// The series resolved: the license was renewed until 2027-12-01.
pub(crate) fn resolve() -> Notice {
    Notice {
        idempotency_key: format!("{SERIES_KEY}:resolve"),
        action: NoticeAction::Resolve,
        resolution: Some(AlertResolution::Renewed),
        resolution_note: Some("renewed: new expiry 2027-12-01".to_owned()),
        summary: "Resolved: pbx-01 (Smith & Sons): renewed: new expiry 2027-12-01".to_owned(),
        at: "2026-11-29T09:30:00Z".parse().unwrap(),
        ..trigger()
    }
}

/// A clock a few seconds after the notices were decided.
pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        DECIDED_AT.parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_secs(5),
    ))
}

/// A stored channel of `kind` with these settings and secret.
pub(crate) fn target(
    kind: ChannelKind,
    settings: ChannelSettings,
    secret: Option<&str>,
) -> ChannelTarget {
    ChannelTarget {
        channel: Channel {
            id: ChannelId(3),
            tenant_id: TenantId(1),
            name: format!("{} channel", kind.label()),
            kind,
            settings,
            has_secret: secret.is_some(),
            enabled: true,
            created_at: DECIDED_AT.parse().unwrap(),
            paused: None,
        },
        secret: secret.map(str::to_owned),
    }
}

/// The notifier for that channel, through the shared HTTP client.
pub(crate) fn notifier(
    kind: ChannelKind,
    settings: ChannelSettings,
    secret: Option<&str>,
    clock: Arc<dyn Clock>,
) -> Box<dyn Notifier> {
    let http = runway_alerts::http_client().unwrap();
    notifier_for(&target(kind, settings, secret), &http, clock).unwrap()
}

/// Settings with only a URL.
pub(crate) fn url_settings(url: String) -> ChannelSettings {
    ChannelSettings {
        url: Some(url),
        ..ChannelSettings::default()
    }
}

/// A port on 127.0.0.1 that nobody listens on: bound, then closed again.
pub(crate) fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What an attempt came to, with the wait asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    Sent,
    Retryable(Option<Duration>),
    Permanent,
    Rejected,
}

impl Expected {
    pub(crate) fn of(attempt: &Attempt) -> Expected {
        match attempt {
            Attempt::Sent { .. } => Expected::Sent,
            Attempt::Retryable { retry_after, .. } => Expected::Retryable(*retry_after),
            Attempt::Permanent { .. } => Expected::Permanent,
            Attempt::Rejected { .. } => Expected::Rejected,
        }
    }
}

/// The failing rows of the retry table (CHANNELS.md §1–§5, `runway_alerts::classify`): 408,
/// 425, 429 and 5xx are retried, after `Retry-After` when given; other 4xx are permanent; a
/// redirect (to `location`, the receiver itself, so a followed one would show) is permanent.
pub(crate) fn failure_rows(location: &str) -> Vec<(Reply, Expected)> {
    let mut rows = Vec::new();
    for status in [408, 425, 429, 500, 502, 503, 504] {
        rows.push((Reply::new(status), Expected::Retryable(None)));
    }
    for status in [429, 503] {
        rows.push((
            Reply::new(status).with_retry_after("120"),
            // `Retry-After: 120` is delta-seconds.
            Expected::Retryable(Some(Duration::from_mins(2))),
        ));
    }
    for status in [400, 401, 403, 404, 410] {
        rows.push((Reply::new(status), Expected::Permanent));
    }
    for status in [301, 302, 303, 307, 308] {
        rows.push((
            Reply::new(status).with_header("location", location),
            Expected::Permanent,
        ));
    }
    rows
}

/// Sends `notice` once per row, `script` arranging the row's answer, and checks that each
/// attempt was exactly one request (`requests` counts them: no hidden retry, no redirect
/// followed), came to the row's outcome, and that a failure's text names the status.
pub(crate) async fn assert_retry_table(
    notifier: &dyn Notifier,
    notice: &Notice,
    rows: &[(Reply, Expected)],
    script: impl Fn(&Reply),
    requests: impl Fn() -> usize,
) {
    let mut wrong = Vec::new();
    for (reply, expected) in rows {
        let before = requests();
        script(reply);
        let attempt = notifier.notify(notice, None).await;
        let sent = requests() - before;
        let what = format!("{} {:?}", reply.status, reply.retry_after);
        if sent != 1 {
            wrong.push(format!("{what}: {sent} requests for one attempt"));
        }
        if Expected::of(&attempt) != *expected {
            wrong.push(format!("{what}: expected {expected:?}, got {attempt:?}"));
        }
        if let Some(error) = attempt.error()
            && !error.contains(&format!("HTTP {}", reply.status))
        {
            wrong.push(format!(
                "{what}: the error does not name the status: {error}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{:?} broke the retry table:\n  {}",
        notifier.kind(),
        wrong.join("\n  ")
    );
}

/// Answers that repeat `credential` (and then `more`) after fillers of many lengths, so that
/// wherever a notifier cuts a receiver's answer for its error text, some answer is cut inside
/// the credential.
pub(crate) fn echoes(credential: &str, more: &[&str]) -> Vec<Reply> {
    let offsets = std::iter::once(0).chain((200..=400).step_by(7));
    offsets
        .enumerate()
        .map(|(i, offset)| {
            let status = if i % 2 == 0 { 400 } else { 503 };
            let body = format!(
                "{}{credential} is not valid here {}",
                ".".repeat(offset),
                more.join(" ")
            );
            Reply::new(status).with_body(body)
        })
        .collect()
}

/// The shortest piece of a credential that counts as leaked.
const LEAKED_CHARS: usize = 12;

/// Asserts that a failed attempt's error holds none of `whole` (URLs, paths) and not even a
/// [`LEAKED_CHARS`]-character piece of any of `credentials` (keys, tokens, passwords). A
/// failure says where, not what: the test's output is scanned for secrets too.
pub(crate) fn assert_hides(attempt: &Attempt, whole: &[&str], credentials: &[&str]) {
    let error = attempt
        .error()
        .unwrap_or_else(|| panic!("expected a failed attempt, got {:?}", Expected::of(attempt)));
    for secret in whole {
        if let Some(at) = error.find(secret) {
            panic!(
                "the error text ({} characters) holds a secret URL or path at byte {at}",
                error.chars().count()
            );
        }
    }
    for credential in credentials {
        let chars: Vec<char> = credential.chars().collect();
        for piece in chars.windows(LEAKED_CHARS.min(chars.len())) {
            let piece: String = piece.iter().collect();
            if let Some(at) = error.find(&piece) {
                panic!(
                    "the error text ({} characters) holds a {}-character piece of a \
                     credential at byte {at}",
                    error.chars().count(),
                    piece.chars().count()
                );
            }
        }
    }
}

/// Sends `notice` once per answer `script`ed from `replies`, asserting each attempt failed and
/// hid the secrets.
pub(crate) async fn assert_answers_hide_secrets(
    notifier: &dyn Notifier,
    notice: &Notice,
    replies: &[Reply],
    script: impl Fn(&Reply),
    whole: &[&str],
    credentials: &[&str],
) {
    for reply in replies {
        script(reply);
        let attempt = notifier.notify(notice, None).await;
        assert!(!attempt.is_sent(), "{:?}", Expected::of(&attempt));
        assert_hides(&attempt, whole, credentials);
    }
}

/// A scripted HTTP server standing in for an Alertmanager that fails (the real one cannot be
/// made to): each request gets the next scripted [`Reply`], or Alertmanager's `200` with an
/// empty body. It records each request's path and `Authorization`.
pub(crate) struct Stub {
    addr: SocketAddr,
    state: Arc<Mutex<StubState>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct StubState {
    replies: VecDeque<Reply>,
    requests: Vec<(String, Option<String>)>,
}

impl Stub {
    pub(crate) async fn start() -> Stub {
        let state = Arc::new(Mutex::new(StubState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler_state = Arc::clone(&state);
        let router = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, _: Bytes| {
            let state = Arc::clone(&handler_state);
            async move {
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                let authorization = headers
                    .get("authorization")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                state.requests.push((uri.path().to_owned(), authorization));
                response(state.replies.pop_front().unwrap_or_else(|| Reply::new(200)))
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Stub { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`, the "Alertmanager" base URL.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers the next request with `reply`.
    pub(crate) fn fail_next(&self, reply: &Reply) {
        self.lock().replies.push_back(reply.clone());
    }

    /// Every request so far: its path and `Authorization` header.
    pub(crate) fn requests(&self) -> Vec<(String, Option<String>)> {
        self.lock().requests.clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn response(reply: Reply) -> axum::response::Response {
    let mut builder =
        axum::response::Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    if let Some(retry_after) = &reply.retry_after {
        builder = builder.header("retry-after", retry_after);
    }
    for (name, value) in &reply.headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(reply.body)).unwrap()
}
