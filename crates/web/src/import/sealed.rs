//! The checked file between the preview page and its commit, without keeping it on the server
//! and without showing its secrets: the preview's form carries the file sealed (XChaCha20-
//! Poly1305) with a key derived from the installation's secret key — which every node shares,
//! so the commit may land on any node — bound to the tenant and user it was checked for and to
//! an expiry. The page's source shows ciphertext only; a sealed file cannot be opened by another
//! user, another tenant, or after an hour.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use jiff::{SignedDuration, Timestamp};

use crate::auth::Caller;
use crate::error::WebError;
use crate::state::AppState;

/// The purpose the sealing key is derived for.
const PURPOSE: &str = "import-upload";
/// How long a preview can be committed.
const LIFETIME: SignedDuration = SignedDuration::from_hours(1);
/// The format's version byte.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

fn cipher(state: &AppState) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&Key::from(state.store.derived_key(PURPOSE)))
}

fn aad(caller: &Caller, expires: i64) -> Vec<u8> {
    format!(
        "runway/import/v1/tenant:{}/user:{}/expires:{expires}",
        caller.tenant.id.0, caller.user.id.0
    )
    .into_bytes()
}

/// The file sealed for the caller, as text for a hidden form field.
pub(crate) fn seal(state: &AppState, caller: &Caller, file: &[u8]) -> Result<String, WebError> {
    let expires = (state.now() + LIFETIME).as_second();
    let nonce = XNonce::try_generate()
        .map_err(|_| WebError::Internal("the system random number generator failed".into()))?;
    let ciphertext = cipher(state)
        .encrypt(
            &nonce,
            Payload {
                msg: file,
                aad: &aad(caller, expires),
            },
        )
        .map_err(|_| WebError::Internal("sealing the import failed".into()))?;
    let mut sealed = Vec::with_capacity(1 + 8 + NONCE_LEN + ciphertext.len());
    sealed.push(VERSION);
    sealed.extend_from_slice(&expires.to_be_bytes());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// The file [`seal`] sealed for this caller, unless it has expired or was tampered with.
pub(crate) fn open(state: &AppState, caller: &Caller, text: &str) -> Result<Vec<u8>, WebError> {
    let again = || {
        WebError::Invalid(
            "this preview can no longer be imported (it is over an hour old, or was made for \
             another user); upload the file again"
                .into(),
        )
    };
    let sealed = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| again())?;
    let Some((&VERSION, rest)) = sealed.split_first() else {
        return Err(again());
    };
    if rest.len() < 8 + NONCE_LEN {
        return Err(again());
    }
    let (expires, rest) = rest.split_at(8);
    let expires = i64::from_be_bytes(expires.try_into().map_err(|_| again())?);
    if Timestamp::from_second(expires).map_err(|_| again())? < state.now() {
        return Err(again());
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = XNonce::try_from(nonce).map_err(|_| again())?;
    cipher(state)
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad: &aad(caller, expires),
            },
        )
        .map_err(|_| again())
}
