//! # runway-engine: reading every PBX, on schedule and on demand
//!
//! The [`Engine`] keeps the fleet's licenses fresh. Each instance is read on its interval (six
//! hours by default, spread by jitter so a fleet added at once does not stampede), at most
//! [`EngineConfig::concurrency`] at a time, each read bounded by its timeout. A success is
//! recorded with its history and events in one transaction; a failure records the attempt and
//! its typed error and leaves the last good license as it was (the dashboard shows it as
//! stale, with the error). An instance that keeps failing is retried with exponential backoff,
//! and a rejected login waits longer still, so a PBX never locks Runway out.
//!
//! ## One read path, one recording path
//! The scheduler ([`Engine::run`], or one pass with [`Engine::run_due`]) and a user's "read
//! now" / "refresh license" ([`Engine::read_instance`]) go through the same steps: lease the
//! instance, read (or refresh then read) the PBX, record, schedule the next read, release.
//! Every license that enters Runway — those reads, and facts typed in for a manual instance
//! ([`Engine::set_manual_license`]) or imported from CSV ([`Engine::import_instances`]) — is
//! recorded by one function, which works out the events
//! from the state before and writes them with the reading in one transaction; reminder
//! decisions join it there.
//!
//! ## Concurrency
//! At most [`EngineConfig::concurrency`] PBX reads are in flight at once ([`DEFAULT_CONCURRENCY`]
//! by default), scheduled and user-requested reads together.
//!
//! ## Several nodes
//! Reads are leased in the store (`FOR UPDATE SKIP LOCKED` on PostgreSQL) for a little longer
//! than a read can take, so nodes sharing a database split the fleet, never read one PBX twice
//! at once, and take over the leases of a node that died once they lapse.
//!
//! ## Metrics
//! Every read of the read path is timed into [`Engine::poll_durations`], a Prometheus
//! histogram the web layer serves at `/metrics`.
//!
//! ## Time
//! Every instant comes from the [`Clock`](runway_clock::Clock) the engine is given, so tests move time without
//! sleeping; only the idle wait between passes of [`Engine::run`] uses real time.

mod engine;
mod error;
mod events;
mod metrics;
mod schedule;

pub use engine::{
    CycleReport, DEFAULT_CONCURRENCY, Engine, EngineConfig, ImportInstance, ReadOutcome, Recorded,
};
pub use error::{EngineError, TestConnectionError};
pub use metrics::{POLL_DURATION_BUCKETS, PollDurations};
pub use schedule::{LastRead, SchedulePolicy};
