//! Bearer secrets: session cookies and API tokens are 256-bit random values; the store keeps
//! only their SHA-256 (hex). API tokens carry a `rw_` prefix so they are recognisable in a
//! secret scanner.

use std::sync::Arc;

use jiff::Timestamp;
use runway_core::Secret;
use runway_store::{ApiToken, ApiTokenId, NewApiToken, Store, TenantId, UserId};
use sha2::{Digest as _, Sha256};

use crate::error::WebError;

/// The prefix of every API token.
pub const API_TOKEN_PREFIX: &str = "rw_";

/// 32 random bytes as 64 hex digits.
pub(crate) fn random_secret() -> Result<String, WebError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| WebError::Internal(format!("the system random generator failed: {err}")))?;
    Ok(hex(&bytes))
}

pub(crate) use runway_core::hex;

/// The hash the store keeps for a secret.
pub fn token_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Creates an API token for a user; returns the plaintext (shown once, never stored) and the
/// stored token.
pub async fn create_api_token(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    user: UserId,
    name: &str,
    now: Timestamp,
) -> Result<(Secret, ApiToken), WebError> {
    let plaintext = format!("{API_TOKEN_PREFIX}{}", random_secret()?);
    let token = store
        .create_api_token(
            tenant,
            &NewApiToken {
                user_id: user,
                name: name.to_owned(),
                token_hash: token_hash(&plaintext),
            },
            now,
        )
        .await?;
    Ok((Secret::new(plaintext), token))
}

/// Revokes an API token of the tenant.
pub async fn revoke_api_token(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    token: ApiTokenId,
    now: Timestamp,
) -> Result<ApiToken, WebError> {
    Ok(store.revoke_api_token(tenant, token, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_are_sha256_hex() {
        let a = random_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_secret().unwrap());
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
