//! RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits) with base32 secrets, as 3CX's
//! authenticator-app MFA uses. The simulator checks `SecurityCode` with it; tests and the demo
//! can compute the code a client should send.

use jiff::Timestamp;
use ring::hmac;

use crate::encoding::base32_decode;

/// Length of one TOTP time step in seconds.
pub const STEP_SECONDS: i64 = 30;

/// Why a TOTP code could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The secret is not valid base32 (RFC 4648).
    #[error("the TOTP secret is not valid base32 (letters A–Z and digits 2–7)")]
    InvalidSecret,
    /// The secret decodes to no bytes.
    #[error("the TOTP secret is empty")]
    EmptySecret,
}

/// Decodes a base32 TOTP secret, rejecting empty or malformed ones.
pub fn decode_secret(secret_base32: &str) -> Result<Vec<u8>, TotpError> {
    let bytes = base32_decode(secret_base32).ok_or(TotpError::InvalidSecret)?;
    if bytes.is_empty() {
        return Err(TotpError::EmptySecret);
    }
    Ok(bytes)
}

/// The 6-digit code (0–999999) for raw secret bytes at a Unix time in seconds.
pub fn code_at_unix(secret: &[u8], unix_seconds: i64) -> u32 {
    hotp(secret, unix_seconds.div_euclid(STEP_SECONDS), 1_000_000)
}

/// The 6-digit code, zero-padded, for a base32 secret at the given instant.
pub fn code(secret_base32: &str, at: Timestamp) -> Result<String, TotpError> {
    let secret = decode_secret(secret_base32)?;
    Ok(format!("{:06}", code_at_unix(&secret, at.as_second())))
}

/// Whether `candidate` is the code for the current step or one step either side (the usual
/// allowance for clock skew between phone and server).
pub fn verify(secret_base32: &str, candidate: &str, at: Timestamp) -> bool {
    let Ok(secret) = decode_secret(secret_base32) else {
        return false;
    };
    let candidate = candidate.trim();
    if candidate.len() != 6 || !candidate.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let now = at.as_second();
    [-STEP_SECONDS, 0, STEP_SECONDS]
        .iter()
        .any(|skew| format!("{:06}", code_at_unix(&secret, now + skew)) == candidate)
}

/// RFC 4226 HOTP truncated modulo `modulus` (10^digits).
fn hotp(secret: &[u8], counter: i64, modulus: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let digest = tag.as_ref();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = [
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ];
    u32::from_be_bytes(word) % modulus
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_rfc6238_sha1_vectors() {
        // RFC 6238 appendix B lists 8-digit codes; 3CX uses 6 digits (the same value mod 10^6).
        let vectors = [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ];
        for (time, expected) in vectors {
            assert_eq!(hotp(RFC_SECRET, time / STEP_SECONDS, 100_000_000), expected);
            assert_eq!(code_at_unix(RFC_SECRET, time), expected % 1_000_000);
        }
    }

    #[test]
    fn base32_secret_and_skew_window() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // base32 of the RFC secret
        let at = Timestamp::from_second(59).unwrap();
        assert_eq!(code(secret, at).unwrap(), "287082");
        assert!(verify(secret, "287082", at));
        let next_step = Timestamp::from_second(59 + 30).unwrap();
        assert!(
            verify(secret, "287082", next_step),
            "one step of skew is accepted"
        );
        let far = Timestamp::from_second(59 + 300).unwrap();
        assert!(!verify(secret, "287082", far));
        assert!(!verify(secret, "28708", at));
        assert_eq!(code("!!", at), Err(TotpError::InvalidSecret));
    }
}
