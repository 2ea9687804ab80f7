//! Why a read of a PBX failed, as a stable kind: stored with every failed attempt, shown on the
//! dashboard ("stale because …") and, later, matched by alert routing.
//!
//! The PBX client reports most kinds; the engine adds the ones it finds before a request is
//! made ([`FailureKind::BadAddress`], [`FailureKind::Credentials`], a TLS setting that cannot
//! work). One enum for all of them, so no part of Runway invents a kind as a string. A stored
//! spelling this version does not know (written by a newer one) reads back as
//! [`FailureKind::Unknown`], never as an error.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable kind of a failed read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No connection: the name does not resolve, nothing listens, or the connection broke.
    Unreachable,
    /// The TLS handshake failed, or the TLS settings cannot work.
    Tls,
    /// The PBX did not answer in time.
    Timeout,
    /// The PBX refused the credentials (or a recent refusal holds the next login back).
    LoginRejected,
    /// The PBX's edition does not include the XAPI for API clients.
    ApiNotLicensed,
    /// The account lacks the rights for the call.
    Forbidden,
    /// The PBX answered, but not with what a 3CX PBX says.
    UnexpectedAnswer,
    /// The PBX reported trouble on its side (5xx, 429).
    ServerError,
    /// The PBX network policy refuses the PBX's address: nothing was sent to it.
    NotAllowed,
    /// The stored address cannot be a PBX's.
    BadAddress,
    /// The stored credentials cannot be decrypted with this installation's key.
    Credentials,
    /// A kind this version of Runway does not know (stored by a newer one).
    Unknown,
}

impl FailureKind {
    /// Every kind, [`FailureKind::Unknown`] last.
    pub const ALL: [FailureKind; 12] = [
        FailureKind::Unreachable,
        FailureKind::Tls,
        FailureKind::Timeout,
        FailureKind::LoginRejected,
        FailureKind::ApiNotLicensed,
        FailureKind::Forbidden,
        FailureKind::UnexpectedAnswer,
        FailureKind::ServerError,
        FailureKind::NotAllowed,
        FailureKind::BadAddress,
        FailureKind::Credentials,
        FailureKind::Unknown,
    ];

    /// The stored spelling, also used by the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Unreachable => "unreachable",
            FailureKind::Tls => "tls",
            FailureKind::Timeout => "timeout",
            FailureKind::LoginRejected => "login_rejected",
            FailureKind::ApiNotLicensed => "api_not_licensed",
            FailureKind::Forbidden => "forbidden",
            FailureKind::UnexpectedAnswer => "unexpected_answer",
            FailureKind::ServerError => "server_error",
            FailureKind::NotAllowed => "network_policy",
            FailureKind::BadAddress => "bad_address",
            FailureKind::Credentials => "credentials",
            FailureKind::Unknown => "unknown",
        }
    }

    /// The kind a stored spelling names; [`FailureKind::Unknown`] for any other text.
    pub fn from_stored(text: &str) -> FailureKind {
        FailureKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .unwrap_or(FailureKind::Unknown)
    }

    /// Whether the PBX turned the login down (retrying at once would only risk a block).
    pub fn is_login_failure(self) -> bool {
        matches!(
            self,
            FailureKind::LoginRejected | FailureKind::ApiNotLicensed
        )
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_spelling() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::from_stored(kind.as_str()), kind);
        }
        let spellings: std::collections::HashSet<_> =
            FailureKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(spellings.len(), FailureKind::ALL.len());
    }

    #[test]
    fn a_spelling_from_a_newer_version_reads_back_as_unknown() {
        assert_eq!(
            FailureKind::from_stored("certificate_pinned"),
            FailureKind::Unknown
        );
        assert_eq!(FailureKind::from_stored(""), FailureKind::Unknown);
        assert_eq!(FailureKind::from_stored("Timeout"), FailureKind::Unknown);
    }
}
