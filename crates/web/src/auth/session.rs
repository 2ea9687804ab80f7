//! Signing in and out: session cookies.

use axum::http::HeaderValue;
use runway_store::{Session, TenantId, User};

use super::{PRESESSION_COOKIE, SESSION_COOKIE, tokens};
use crate::error::WebError;
use crate::state::AppState;

/// A new session for a signed-in user: the `Set-Cookie` value to send.
pub async fn start(state: &AppState, user: &User) -> Result<(Session, HeaderValue), WebError> {
    let secret = tokens::random_secret()?;
    let now = state.now();
    let lifetime = jiff::SignedDuration::try_from(state.settings.session_lifetime)
        .map_err(|err| WebError::Internal(format!("session lifetime: {err}")))?;
    let expires_at = now
        .checked_add(lifetime)
        .map_err(|err| WebError::Internal(format!("session end: {err}")))?;
    let session = state
        .store
        .create_session(
            user.tenant_id,
            user.id,
            &tokens::token_hash(&secret),
            now,
            expires_at,
        )
        .await?;
    let max_age = state.settings.session_lifetime.as_secs();
    let cookie = set_cookie(state, SESSION_COOKIE, &secret, "Lax", Some(max_age))?;
    Ok((session, cookie))
}

/// Ends a session.
pub async fn end(
    state: &AppState,
    tenant: TenantId,
    session: runway_store::SessionId,
) -> Result<HeaderValue, WebError> {
    match state.store.delete_session(tenant, session).await {
        Ok(()) | Err(runway_store::StoreError::NotFound { .. }) => {}
        Err(err) => return Err(err.into()),
    }
    set_cookie(state, SESSION_COOKIE, "", "Lax", Some(0))
}

/// A fresh pre-session cookie and the CSRF token its forms carry (the cookie's secret signed
/// with the server's key, see [`super::csrf`]), for forms shown before signing in.
pub fn presession(state: &AppState) -> Result<(String, HeaderValue), WebError> {
    let secret = tokens::random_secret()?;
    let cookie = set_cookie(state, PRESESSION_COOKIE, &secret, "Strict", None)?;
    Ok((
        super::csrf::token_for_presession(&state.presession_key, &secret),
        cookie,
    ))
}

fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<u64>,
) -> Result<HeaderValue, WebError> {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        text.push_str("; Max-Age=");
        text.push_str(&age.to_string());
    }
    if state.settings.secure_cookies {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).map_err(|err| WebError::Internal(format!("cookie: {err}")))
}
