//! TOTP codes (RFC 6238) for admin logins with two-factor authentication.
//!
//! When an admin account has MFA on, the PBX wants a six-digit code with the password. The
//! instance stores the account's base32 TOTP secret (encrypted) and we compute the code for the
//! current 30-second step, like an authenticator app would.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use runway_core::Secret;

/// A TOTP secret that is not valid base32.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the TOTP secret is not valid base32 (letters A–Z and digits 2–7)")]
pub struct BadTotpSecret;

/// The six-digit code for `unix_seconds`, from a base32 secret (spaces and case ignored).
pub fn totp_code(secret: &Secret, unix_seconds: i64) -> Result<String, BadTotpSecret> {
    let key = decode_base32(secret.expose())?;
    let step = u64::try_from(unix_seconds.div_euclid(30)).map_err(|_| BadTotpSecret)?;
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&key).map_err(|_| BadTotpSecret)?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0F);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7F,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    Ok(format!("{:06}", word % 1_000_000))
}

/// Checks that a secret decodes, so a typo is caught when it is saved rather than at login.
pub fn validate_totp_secret(secret: &Secret) -> Result<(), BadTotpSecret> {
    decode_base32(secret.expose()).map(|_| ())
}

fn decode_base32(text: &str) -> Result<Vec<u8>, BadTotpSecret> {
    let mut bits: u64 = 0;
    let mut count = 0u32;
    let mut out = Vec::new();
    for c in text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
    {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => u64::from(c) - u64::from('A'),
            c @ '2'..='7' => u64::from(c) - u64::from('2') + 26,
            _ => return Err(BadTotpSecret),
        };
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xFF).map_err(|_| BadTotpSecret)?);
        }
    }
    if out.is_empty() {
        Err(BadTotpSecret)
    } else {
        Ok(out)
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
