//! What it takes to reach one PBX: its address, how to log in, and how to trust its certificate
//! (the types are `runway-core`'s, shared with the store), and the limits every read obeys.

use std::time::Duration;

use runway_core::{BaseUrl, Credentials, TlsOptions};

/// One PBX to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxTarget {
    /// The PBX's web address, e.g. `https://pbx.example.com:5001` (a path prefix is kept).
    pub base_url: BaseUrl,
    /// How to log in.
    pub credentials: Credentials,
    /// How to trust its certificate.
    pub tls: TlsOptions,
}

/// Limits every read obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most one whole read (login included) may take.
    pub timeout: Duration,
    /// The largest response body accepted.
    pub max_body_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits {
            timeout: Duration::from_secs(20),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}
