//! RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits) with base32 secrets, as 3CX's
//! authenticator-app MFA uses, computed by `totp-rs`. The simulator checks `SecurityCode` with
//! it; tests and the demo can compute the code a client should send.

use jiff::Timestamp;
use totp_rs::{Builder, Secret, Totp};

/// Length of one TOTP time step in seconds.
pub const STEP_SECONDS: u64 = 30;

/// Why a TOTP code could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The secret is not valid base32 (RFC 4648).
    #[error("the TOTP secret is not valid base32 (letters A–Z and digits 2–7)")]
    InvalidSecret,
    /// The secret decodes to no bytes.
    #[error("the TOTP secret is empty")]
    EmptySecret,
    /// The instant is before 1970, where TOTP has no time step.
    #[error("TOTP codes start in 1970")]
    BeforeUnixEpoch,
}

/// Decodes a base32 TOTP secret (case, spaces, dashes and `=` padding ignored), rejecting
/// empty or malformed ones.
pub fn decode_secret(secret_base32: &str) -> Result<Vec<u8>, TotpError> {
    let letters: String = secret_base32
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '='))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let secret = Secret::try_from_base32(letters).map_err(|_| TotpError::InvalidSecret)?;
    if secret.as_bytes().is_empty() {
        return Err(TotpError::EmptySecret);
    }
    Ok(secret.as_bytes().to_vec())
}

/// The generator for a base32 secret: SHA-1, 6 digits, 30-second steps, one step of skew
/// either side (the usual allowance for clock skew between phone and server).
fn totp(secret_base32: &str) -> Result<Totp, TotpError> {
    // 3CX's secrets are 80 bits, under the 128 the RFC recommends: build without that check.
    Ok(Builder::new()
        .with_secret(decode_secret(secret_base32)?)
        .with_step_duration(STEP_SECONDS)
        .with_skew(1)
        .build_noncompliant())
}

fn unix_seconds(at: Timestamp) -> Result<u64, TotpError> {
    u64::try_from(at.as_second()).map_err(|_| TotpError::BeforeUnixEpoch)
}

/// The 6-digit code, zero-padded, for a base32 secret at the given instant.
pub fn code(secret_base32: &str, at: Timestamp) -> Result<String, TotpError> {
    Ok(totp(secret_base32)?.generate(unix_seconds(at)?).to_string())
}

/// Whether `candidate` is the code for the current step or one step either side.
pub fn verify(secret_base32: &str, candidate: &str, at: Timestamp) -> bool {
    let (Ok(totp), Ok(now)) = (totp(secret_base32), unix_seconds(at)) else {
        return false;
    };
    totp.check(candidate.trim(), now).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base32 of the RFC's secret, the ASCII "12345678901234567890".
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn matches_rfc6238_sha1_vectors() {
        assert_eq!(decode_secret(RFC_SECRET).unwrap(), b"12345678901234567890");
        // RFC 6238 appendix B lists 8-digit codes; 3CX uses 6 digits (the last six).
        for (time, rfc_code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code(RFC_SECRET, at(time)).unwrap(),
                rfc_code[2..],
                "at {time}"
            );
        }
    }

    #[test]
    fn base32_secret_and_skew_window() {
        assert_eq!(code(RFC_SECRET, at(59)).unwrap(), "287082");
        assert_eq!(
            code("gezd-gnbv gy3t qojq gezd gnbv gy3t qojq====", at(59)).unwrap(),
            "287082",
            "case, spaces, dashes and padding are ignored"
        );
        assert!(verify(RFC_SECRET, "287082", at(59)));
        assert!(
            verify(RFC_SECRET, " 287082 ", at(59 + 30)),
            "one step of skew is accepted"
        );
        assert!(!verify(RFC_SECRET, "287082", at(59 + 300)));
        assert!(!verify(RFC_SECRET, "28708", at(59)));
        assert!(!verify(RFC_SECRET, "+87082", at(59)));
        assert_eq!(code("!!", at(59)), Err(TotpError::InvalidSecret));
        assert_eq!(code("", at(59)), Err(TotpError::EmptySecret));
        assert_eq!(code(RFC_SECRET, at(-1)), Err(TotpError::BeforeUnixEpoch));
    }
}
