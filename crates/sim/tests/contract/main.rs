//! Black-box tests of the simulator over real HTTP(S) on loopback: one test binary, one module
//! per concern. Every test starts its own simulator on port 0 (bound before `start` returns,
//! so no sleeping for readiness) with a pinned clock.

// Helpers outside #[test] functions unwrap too: a panic is a failed test with a line number.
#![allow(clippy::unwrap_used)]

mod control;
mod faults;
mod helpers;
mod https;
mod legacy;
mod logins;
mod samples;
mod scenario_files;
mod xapi;
