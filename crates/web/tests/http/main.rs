//! Runway's web app driven over HTTP: pages, API, accounts and the engine's read path against
//! a simulated fleet, on a fresh database per test (see `helpers.rs`).

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]
#![allow(
    clippy::too_many_lines,
    reason = "story tests walk through one behaviour"
)]

mod accounts;
mod alerts;
mod api;
mod audit;
mod authz_matrix;
mod browser;
mod browser_alerts;
mod calendar_feed;
mod delivery;
mod health;
mod helpers;
mod import;
mod instances;
mod isolation;
mod metrics;
mod settings;
mod status;
mod stored_secrets;
