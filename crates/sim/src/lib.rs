//! `runway-sim`: a simulated fleet of 3CX PBXs, faithful to the protocol facts in
//! `shared/reference/3cx/PROTOCOL.md`, for the PBX client's contract tests, `runway demo` and
//! benchmarks.
//!
//! A [`Scenario`] (TOML or JSON) describes the fleet: per PBX its version (v18 legacy API or
//! v20 XAPI, with each version's field set and quirks), login kind and credentials, edition,
//! license dates (absolute or relative to a given "now"), limits, latency, faults and a
//! pending upstream renewal. [`SimServer::start`] serves it over HTTP and HTTPS (a generated
//! CA), one PBX per path prefix or per port, with a control API under `/_sim` to change
//! licenses and faults while running and to read per-PBX counters.
//!
//! This crate depends on no other runway crate on purpose: a misunderstanding of the protocol
//! must not hide in code shared with the client under test. It has its own date handling
//! ([`dates`]) and its own edition rules ([`license`]); its TOTP ([`totp`]) is the `totp-rs`
//! crate's, a third-party implementation of the RFC rather than the client's code.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use runway_sim::{Scenario, SimOptions, SimServer};
//! let now = jiff::Timestamp::now();
//! let scenario = Scenario::load("scenarios/demo.toml".as_ref(), now)?;
//! let sim = SimServer::start(scenario, SimOptions::default()).await?;
//! println!("{}", sim.https_url("harbor-main").unwrap_or_default());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
pub mod clock;
pub mod control;
pub mod dates;
pub mod faults;
pub mod generate;
pub mod latency;
mod legacy;
pub mod license;
mod pbx;
mod reply;
mod rng;
pub mod scenario;
pub mod server;
mod tls;
pub mod totp;
pub mod version;
pub mod xapi;

pub use clock::Clock;
pub use dates::{DateSpec, DateStyle, ServedDate};
pub use faults::{Endpoint, EndpointScope, Fault, FaultKind, GarbageStyle, OddStyle};
pub use generate::{FleetSpec, generate};
pub use latency::Latency;
pub use license::{License, LicenseChange, RawLicenseChange, Renewal};
pub use pbx::{PbxCounters, PbxHandle};
pub use scenario::{
    Licensee, Login, LoginKind, PbxSpec, RawPbx, Scenario, ScenarioError, ScenarioFile,
    ScenarioFormat, UnlicensedApiAnswer,
};
pub use server::{PbxUrls, Scheme, ServeMode, SimError, SimHandle, SimOptions, SimServer};
pub use version::{ApiGeneration, PbxVersion};
