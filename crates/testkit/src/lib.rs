//! # runway-testkit: the pieces tests are built from (test-only: the binary never links it)
//!
//! - [`TestDb`]: a store on a fresh database — a SQLite file in a temporary directory, or a
//!   new database on the PostgreSQL server `RUNWAY_TEST_POSTGRES_URL` names, dropped again when
//!   the `TestDb` is dropped (even when the test panics).
//! - [`Chromium`]: a real headless Chromium driven through `chromedriver`, for browser tests.
//! - [`logs`] and [`secrets`]: what the secrets scan of `scripts/test` reads — every test's
//!   logs, at debug level, in `RUNWAY_TEST_LOG_DIR`, and the list of every secret the tests
//!   used; a secret found in a log fails the run.
//! - [`Alertmanager`] and [`SmtpServer`]: a real Prometheus Alertmanager (`RUNWAY_TEST_ALERTMANAGER`)
//!   that forwards to a webhook the testkit runs, and a real aiosmtpd SMTP server
//!   (`RUNWAY_TEST_AIOSMTPD`) that keeps a Maildir, one private instance per test on loopback;
//!   `None` (skip) without their variable, a panic under `RUNWAY_REQUIRE_SERVICES=1`.
//! - [`icalendar_python`]: a Python interpreter that can `import icalendar`
//!   (`RUNWAY_TEST_ICALENDAR_PYTHON`), the independent parser of the calendar feed's tests; the
//!   same skip-or-panic rule.
//! - [`receivers`]: strict fake receivers for the channels with no real server offline —
//!   [`WebhookReceiver`] (Standard Webhooks), [`SlackReceiver`], [`TeamsReceiver`],
//!   [`PagerDutyReceiver`] — that record every request, check it as
//!   `reference/alerting/CHANNELS.md` documents, and can be scripted to fail.
//! - [`http`]: a small plain-HTTP client for loopback, to hand-write requests in tests.

mod browser;
mod db;
pub mod http;
pub mod logs;
pub mod receivers;
pub mod secrets;
mod services;

pub use browser::{BrowserError, Chromium, Element};
pub use db::{Backend, TestDb, postgres_admin_url};
pub use receivers::{
    PagerDutyReceiver, RecordedRequest, Reply, SlackReceiver, TeamsReceiver, WebhookReceiver,
};
pub use services::{
    AIOSMTPD_ENV, ALERTMANAGER_ENV, Alertmanager, ICALENDAR_ENV, STARTUP_DEADLINE, SmtpServer,
    icalendar_python,
};
