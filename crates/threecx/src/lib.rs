//! # runway-threecx: reading a 3CX PBX's license
//!
//! Given a PBX's address and a login, [`PbxClient::read_license`] returns the license facts
//! (as `runway-core` defines them) with the raw answers, and [`PbxClient::refresh_license`]
//! first asks the PBX to re-query 3CX's license server. Three ways in:
//!
//! - **API client** (v20 XAPI, OAuth2 client credentials): needs an Enterprise/AI license.
//! - **Admin user** (v20 web-client login, with a TOTP code when MFA is on): every edition;
//!   falls back to the legacy API on a v16/v18 PBX.
//! - **Legacy** (v16/v18 `/api/login` + cookie): falls back to the web-client login on a PBX
//!   that has been upgraded to v20.
//!
//! Every failure is a typed [`ReadError`] with a message an operator can act on and never a
//! secret. Each read is bounded by a timeout and every body by a size cap. See
//! `../shared/reference/3cx/PROTOCOL.md` in the team's reference folder for the protocol facts.

mod client;
mod error;
mod fields;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod legacy;
mod network;
mod target;
mod totp;
mod xapi;

pub use client::{Api, LicenseReading, PbxClient};
pub use error::ReadError;
pub use http::{Connector, TargetError};
pub use network::{NetworkPolicy, NotAllowed};
pub use runway_core::{BaseUrl, Credentials, FailureKind, Secret, TlsOptions};
pub use target::{PbxTarget, ReadLimits};
pub use totp::{BadTotpSecret, totp_code, validate_totp_secret};

#[cfg(test)]
mod sample_bodies;
