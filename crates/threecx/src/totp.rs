//! TOTP codes (RFC 6238) for admin logins with two-factor authentication.
//!
//! When an admin account has MFA on, the PBX wants a six-digit code with the password. The
//! instance stores the account's base32 TOTP secret (encrypted) and we compute the code for the
//! current 30-second step, like an authenticator app would.

use runway_core::Secret;

/// A TOTP secret that is not valid base32.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the TOTP secret is not valid base32 (letters A–Z and digits 2–7)")]
pub struct BadTotpSecret;

/// The six-digit code for `unix_seconds`, from a base32 secret (spaces and case ignored).
pub fn totp_code(secret: &Secret, unix_seconds: i64) -> Result<String, BadTotpSecret> {
    let key = decode_base32(secret.expose())?;
    let time = u64::try_from(unix_seconds).map_err(|_| BadTotpSecret)?;
    // The builder's defaults are 3CX's: SHA-1, six digits, 30-second steps. Built without the
    // RFC's 128-bit minimum, since 3CX hands out 80-bit secrets.
    let totp = totp_rs::Builder::new()
        .with_secret(key)
        .build_noncompliant();
    Ok(totp.generate(time).to_string())
}

/// Checks that a secret decodes, so a typo is caught when it is saved rather than at login.
pub fn validate_totp_secret(secret: &Secret) -> Result<(), BadTotpSecret> {
    decode_base32(secret.expose()).map(|_| ())
}

/// The secret's bytes, ignoring case, white space, dashes and `=` padding as people type them.
fn decode_base32(text: &str) -> Result<Vec<u8>, BadTotpSecret> {
    let letters: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let secret = totp_rs::Secret::try_from_base32(letters).map_err(|_| BadTotpSecret)?;
    if secret.as_bytes().is_empty() {
        Err(BadTotpSecret)
    } else {
        Ok(secret.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows: the secret is ASCII "12345678901234567890".
    #[test]
    fn totp_matches_rfc_6238_test_vectors() {
        let secret = Secret::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp_code(&secret, time).unwrap(), code, "at {time}");
        }
    }

    #[test]
    fn secrets_with_spaces_and_lower_case_are_accepted_and_junk_refused() {
        let spaced = Secret::new("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
        assert_eq!(totp_code(&spaced, 59).unwrap(), "287082");
        assert_eq!(
            validate_totp_secret(&Secret::new("not base32!")),
            Err(BadTotpSecret)
        );
        assert_eq!(validate_totp_secret(&Secret::new("")), Err(BadTotpSecret));
    }
}
