//! # runway-testkit: the pieces tests are built from (test-only: the binary never links it)
//!
//! - [`TestDb`]: a store on a fresh database — a SQLite file in a temporary directory, or a
//!   new database on the PostgreSQL server `RUNWAY_TEST_POSTGRES_URL` names, dropped again when
//!   the `TestDb` is dropped (even when the test panics).
//! - [`Chromium`]: a real headless Chromium driven through `chromedriver`, for browser tests.
//! - [`logs`] and [`secrets`]: what the secrets scan of `scripts/test` reads — every test's
//!   logs, at debug level, in `RUNWAY_TEST_LOG_DIR`, and the list of every secret the tests
//!   used; a secret found in a log fails the run.

mod browser;
mod db;
pub mod logs;
pub mod secrets;

pub use browser::{BrowserError, Chromium, Element};
pub use db::{Backend, TestDb, postgres_admin_url};
