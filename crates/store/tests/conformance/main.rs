//! The store's conformance suite: every behaviour of [`runway_store::Store`], written once and
//! run on SQLite always and on PostgreSQL whenever `RUNWAY_TEST_POSTGRES_URL` is set (see
//! `harness.rs`). Test names read `<area>::<backend>::<behaviour>`.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]
#![allow(
    clippy::too_many_lines,
    reason = "story tests walk through one behaviour end to end"
)]

#[macro_use]
mod harness;

mod access;
mod alerts;
mod customers;
mod delivery;
mod history;
mod instances;
mod isolation;
mod leasing;
mod metrics;
mod migrations;
mod node_lock;
mod retention;
mod secrets;
mod tenants;
mod throttle;
mod users;
