//! # runway-testkit: the pieces tests (and the demo) are built from
//!
//! - [`TestDb`]: a store on a fresh database — a SQLite file in a temporary directory, or a
//!   new database on the PostgreSQL server `RUNWAY_TEST_POSTGRES_URL` names, dropped again when
//!   the `TestDb` is dropped (even when the test panics).
//! - [`load_fleet`]: a `runway-sim` fleet turned into customers and instances of a tenant, with
//!   each PBX's credentials and the simulator's CA certificate, so the engine reads the
//!   simulated PBXs exactly as it reads real ones. `runway demo` uses it too.
//! - `Chromium` (feature `browser`): a real headless Chromium driven through `chromedriver`, for
//!   browser tests.

#[cfg(feature = "browser")]
mod browser;
mod db;
mod fleet;

#[cfg(feature = "browser")]
pub use browser::{BrowserError, Chromium, Element};
pub use db::{Backend, TestDb, postgres_admin_url};
pub use fleet::{FleetPbx, load_fleet, load_sim_fleet};
