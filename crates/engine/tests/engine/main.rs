//! The engine against a simulated fleet and a real database (SQLite always; PostgreSQL when
//! `RUNWAY_TEST_POSTGRES_URL` is set, required under `RUNWAY_REQUIRE_SERVICES=1`).

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

mod harness;
mod nodes;
mod poller;
mod restart;
mod user_reads;
