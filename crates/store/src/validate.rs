//! Input checks shared by the operations, so both backends refuse the same things with the same
//! words before anything reaches SQL.

use crate::error::{Result, StoreError};

/// A trimmed, non-empty, single-line name of at most `max` characters.
pub(crate) fn name(text: &str, what: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(StoreError::invalid(format!("the {what} must not be empty")));
    }
    if text.chars().count() > max {
        return Err(StoreError::invalid(format!(
            "the {what} must be at most {max} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(StoreError::invalid(format!(
            "the {what} must not contain control characters"
        )));
    }
    Ok(text.to_owned())
}

/// A customer's name as stored: trimmed, 1 to 200 characters, one line.
pub fn customer_name(text: &str) -> Result<String> {
    name(text, "customer name", 200)
}

/// An instance's name as stored: trimmed, 1 to 200 characters, one line.
pub fn instance_name(text: &str) -> Result<String> {
    name(text, "instance name", 200)
}

/// The key uniqueness is checked on: names clash case-insensitively ("Acme" and "ACME"). An
/// import matches customers and instances on it too.
///
/// Computed here rather than with SQL `lower()`, which SQLite applies to ASCII only.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Free text of at most `max` characters (may be empty).
pub(crate) fn text(text: &str, what: &str, max: usize) -> Result<String> {
    if text.chars().count() > max {
        return Err(StoreError::invalid(format!(
            "the {what} must be at most {max} characters"
        )));
    }
    Ok(text.to_owned())
}

/// Cuts `text` to at most `max` characters, marking the cut (for error messages from PBXs,
/// which can be whole HTML pages).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// An email address (`runway-core`'s one check).
pub(crate) fn email(text: &str) -> Result<String> {
    runway_core::check_email(text).map_err(|err| StoreError::invalid(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_empty_or_too_long() {
        assert_eq!(name("  Acme ", "customer name", 10).unwrap(), "Acme");
        assert!(name("   ", "customer name", 10).is_err());
        assert!(name("abcdefghijk", "customer name", 10).is_err());
        assert!(name("a\nb", "customer name", 10).is_err());
        assert_eq!(name_key(" ÄCME "), "äcme");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hi", 2), "hi");
    }

    #[test]
    fn emails_are_checked() {
        assert!(email("ops@example.com").is_ok());
        assert!(email("ops@").is_err());
        assert!(email("a b@example.com").is_err());
    }
}
