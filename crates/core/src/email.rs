//! Email addresses of users: one check, used when signing up, adding users and signing in.

/// A text that is not an email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an email address")]
pub struct BadEmail(pub String);

/// The most characters an address may have (RFC 5321's path limit).
pub const MAX_EMAIL_LENGTH: usize = 254;

/// Checks an email address: `something@something`, no spaces or control characters, at most
/// [`MAX_EMAIL_LENGTH`] characters. Returns it trimmed.
pub fn check_email(text: &str) -> Result<String, BadEmail> {
    let text = text.trim();
    let ok = text.len() <= MAX_EMAIL_LENGTH
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && text
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if ok {
        Ok(text.to_owned())
    } else {
        Err(BadEmail(text.chars().take(MAX_EMAIL_LENGTH).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_need_a_local_part_a_domain_and_no_spaces() {
        assert_eq!(check_email(" ops@example.com ").unwrap(), "ops@example.com");
        for bad in ["ops@", "@example.com", "a b@example.com", "plain", "a@b\nc"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(check_email(&long).is_err());
    }
}
