//! Passwords: argon2id hashes in PHC format.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Argon2, PasswordHash};
use runway_core::Secret;

use crate::error::WebError;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), WebError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(WebError::Invalid(format!(
            "the password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(WebError::Invalid("the password is too long".into()));
    }
    Ok(())
}

/// Hashes a password with argon2id and a fresh salt.
pub fn hash_password(password: &str) -> Result<Secret, WebError> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|err| WebError::Internal(format!("hashing a password failed: {err}")))?;
    Ok(Secret::new(hash.to_string()))
}

/// Whether `password` matches the stored hash (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &Secret) -> bool {
    match PasswordHash::new(hash.expose()) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks a password against a stored hash (or, with no hash, spends the same time) on a
/// blocking thread, at most `permits` at once: argon2 never stalls the request workers.
pub(crate) async fn verify_off_the_workers(
    permits: &tokio::sync::Semaphore,
    password: String,
    hash: Option<Secret>,
) -> Result<bool, WebError> {
    let _permit = permits
        .acquire()
        .await
        .map_err(|_| WebError::Internal("the password checks were closed".into()))?;
    tokio::task::spawn_blocking(move || {
        if let Some(hash) = hash {
            verify_password(&password, &hash)
        } else {
            verify_nothing(&password);
            false
        }
    })
    .await
    .map_err(|err| WebError::Internal(format!("a password check failed: {err}")))
}

/// Spends the time a verification takes, so an unknown email answers as slowly as a wrong
/// password and timing does not tell which addresses have accounts.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<Secret>> = std::sync::OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("runway-dummy-password").ok()) {
        let _ = verify_password(password, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.expose().starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("x", &Secret::new("not a hash")));
    }
}
