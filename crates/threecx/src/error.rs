//! Why a PBX could not be read, in words an operator can act on.
//!
//! Every failure becomes one [`ReadError`] variant with a stable [`FailureKind`] (stored with each
//! poll attempt and shown on the dashboard) and a message that says what to do. No variant ever
//! carries a secret: messages are built from what we observed, and anything the PBX echoed back
//! is scrubbed of the instance's secrets before it leaves the client.

use std::error::Error as _;

use std::time::Duration;

use runway_core::{FailureKind, Secret};

/// A read of a PBX that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No connection: the name does not resolve, nothing listens, or the connection broke.
    #[error("cannot reach the PBX: {detail}")]
    Unreachable {
        /// What happened (DNS, refused, reset).
        detail: String,
    },
    /// The TLS handshake failed.
    #[error("TLS problem: {problem}")]
    Tls {
        /// The certificate problem, in words.
        problem: String,
    },
    /// The PBX did not answer in time.
    #[error("timed out after {} s waiting for the PBX", .after.as_secs_f32())]
    Timeout {
        /// The budget that ran out.
        after: Duration,
    },
    /// The PBX refused the credentials.
    #[error("login rejected: {detail}")]
    LoginRejected {
        /// What the PBX said, and what to check.
        detail: String,
    },
    /// A recent login was rejected; Runway waits before trying again so the PBX's
    /// anti-hacking rules never block its address.
    #[error(
        "login not retried for another {} s after a rejected login ({detail}), so the PBX does not block Runway's address",
        .retry_in.as_secs()
    )]
    LoginHeldBack {
        /// Time left before the next attempt.
        retry_in: Duration,
        /// The rejection that started the wait.
        detail: String,
    },
    /// The PBX's edition does not include the XAPI for API clients.
    #[error(
        "API client login needs an Enterprise/AI license on this PBX — use an admin user login"
    )]
    ApiNotLicensed,
    /// The account lacks the rights for the call.
    #[error(
        "forbidden: the account may not read {what}; use a System Owner or System Admin account"
    )]
    Forbidden {
        /// What was refused.
        what: String,
    },
    /// The PBX answered, but not with what a 3CX PBX says.
    #[error("unexpected answer from {endpoint}: {what}")]
    UnexpectedAnswer {
        /// The endpoint that answered.
        endpoint: String,
        /// What was wrong with the answer.
        what: String,
    },
    /// The PBX network policy refuses the address: nothing was sent to it.
    #[error(transparent)]
    NotAllowed(#[from] crate::NotAllowed),
    /// The PBX reported trouble on its side (5xx, 429).
    #[error("the PBX answered {status} on {endpoint}: server trouble, try again later")]
    ServerError {
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
    },
}

impl ReadError {
    /// The failure's stable kind, as stored with the attempt.
    pub fn kind(&self) -> FailureKind {
        match self {
            ReadError::Unreachable { .. } => FailureKind::Unreachable,
            ReadError::Tls { .. } => FailureKind::Tls,
            ReadError::Timeout { .. } => FailureKind::Timeout,
            ReadError::LoginRejected { .. } | ReadError::LoginHeldBack { .. } => {
                FailureKind::LoginRejected
            }
            ReadError::ApiNotLicensed => FailureKind::ApiNotLicensed,
            ReadError::Forbidden { .. } => FailureKind::Forbidden,
            ReadError::UnexpectedAnswer { .. } => FailureKind::UnexpectedAnswer,
            ReadError::ServerError { .. } => FailureKind::ServerError,
            ReadError::NotAllowed(_) => FailureKind::NotAllowed,
        }
    }

    /// Whether the PBX turned the credentials down (retrying at once would only risk a block).
    pub fn is_login_failure(&self) -> bool {
        self.kind().is_login_failure()
    }

    pub(crate) fn unexpected(endpoint: &str, what: impl Into<String>) -> ReadError {
        ReadError::UnexpectedAnswer {
            endpoint: endpoint.to_owned(),
            what: what.into(),
        }
    }

    /// Replaces every occurrence of the given secrets in the message fields with `***`.
    pub(crate) fn scrubbed(self, secrets: &[&Secret]) -> ReadError {
        let scrub = |mut text: String| {
            for secret in secrets.iter().filter(|s| s.expose().len() >= 3) {
                text = text.replace(secret.expose(), "***");
            }
            text
        };
        match self {
            ReadError::Unreachable { detail } => ReadError::Unreachable {
                detail: scrub(detail),
            },
            ReadError::Tls { problem } => ReadError::Tls {
                problem: scrub(problem),
            },
            ReadError::LoginRejected { detail } => ReadError::LoginRejected {
                detail: scrub(detail),
            },
            ReadError::LoginHeldBack { retry_in, detail } => ReadError::LoginHeldBack {
                retry_in,
                detail: scrub(detail),
            },
            ReadError::Forbidden { what } => ReadError::Forbidden { what: scrub(what) },
            ReadError::UnexpectedAnswer { endpoint, what } => ReadError::UnexpectedAnswer {
                endpoint,
                what: scrub(what),
            },
            other @ (ReadError::Timeout { .. }
            | ReadError::ApiNotLicensed
            | ReadError::ServerError { .. }
            | ReadError::NotAllowed(_)) => other,
        }
    }

    /// Classifies a transport failure from the HTTP client.
    pub(crate) fn from_transport(err: &reqwest::Error, budget: Duration) -> ReadError {
        if err.is_timeout() {
            return ReadError::Timeout { after: budget };
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
        let mut chain = Vec::new();
        while let Some(cause) = source {
            if let Some(refused) = cause.downcast_ref::<crate::NotAllowed>() {
                return ReadError::NotAllowed(refused.clone());
            }
            if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
                return ReadError::Tls {
                    problem: describe_tls(tls),
                };
            }
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                    return ReadError::Tls {
                        problem: describe_tls(tls),
                    };
                }
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        return ReadError::Unreachable {
                            detail: "connection refused: nothing listens at that address and port"
                                .to_owned(),
                        };
                    }
                    std::io::ErrorKind::TimedOut => return ReadError::Timeout { after: budget },
                    _ => {}
                }
            }
            chain.push(cause.to_string());
            source = cause.source();
        }
        let all = chain.join(": ");
        if let Some(at) = all.find("invalid peer certificate") {
            // Some layers flatten the rustls error into text; its variant names survive.
            let said = &all[at..];
            let problem = [
                ("UnknownIssuer", rustls::CertificateError::UnknownIssuer),
                ("Expired", rustls::CertificateError::Expired),
                ("NotValidYet", rustls::CertificateError::NotValidYet),
                ("NotValidForName", rustls::CertificateError::NotValidForName),
                ("Revoked", rustls::CertificateError::Revoked),
            ]
            .into_iter()
            .find(|(name, _)| said.contains(name))
            .map_or_else(
                || format!("the certificate was refused ({said})"),
                |(_, cert)| describe_tls(&rustls::Error::InvalidCertificate(cert)),
            );
            return ReadError::Tls { problem };
        }
        let detail = if all.contains("dns error") || all.contains("failed to lookup address") {
            "the host name does not resolve (DNS)".to_owned()
        } else if err.is_connect() {
            format!("could not connect ({all})")
        } else {
            format!("the connection failed ({all})")
        };
        ReadError::Unreachable { detail }
    }
}

fn describe_tls(err: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => {
                "the certificate is not signed by a trusted authority (self-signed?): \
                add the PBX's CA certificate, or for a self-signed on-prem PBX turn on \
                \"accept invalid certificate\""
                    .to_owned()
            }
            C::Expired | C::ExpiredContext { .. } => "the PBX's certificate has expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the PBX's certificate is not valid yet (check the PBX's clock)".to_owned()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the certificate is not valid for this host name: use the name the certificate \
                 was issued for"
                    .to_owned()
            }
            C::Revoked => "the PBX's certificate has been revoked".to_owned(),
            other => format!("the certificate was refused ({other:?})"),
        },
        other => format!("the TLS handshake failed ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_removes_every_secret_from_every_message() {
        let secret = Secret::new("hunter2");
        let err = ReadError::unexpected("SystemStatus", "echoed password=hunter2 back");
        let text = err.scrubbed(&[&secret]).to_string();
        assert!(
            !text.contains("hunter2") && text.contains("password=***"),
            "{text}"
        );
    }

    #[test]
    fn the_api_not_licensed_message_says_what_to_do() {
        assert_eq!(
            ReadError::ApiNotLicensed.to_string(),
            "API client login needs an Enterprise/AI license on this PBX — use an admin user login"
        );
    }
}
