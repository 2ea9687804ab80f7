//! Tokens and sessions a simulated PBX hands out, and the credential checks.
//!
//! XAPI rule reproduced here: only one access token per client (API client id or user name)
//! is active at a time: a new login revokes the previous token. Legacy session cookies are
//! independent of each other. Lifetimes run on tokio's clock so tests can pause time.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::time::Instant;

use crate::scenario::{Login, PbxSpec};

/// Name of the legacy session cookie (ASP.NET Core's default, which the v16/v18 web server
/// uses).
pub(crate) const SESSION_COOKIE: &str = ".AspNetCore.Cookies";

struct TokenEntry {
    principal: String,
    expires_at: Instant,
}

/// The tokens and sessions of one PBX.
#[derive(Default)]
pub(crate) struct TokenStore {
    tokens: HashMap<String, TokenEntry>,
    current: HashMap<String, String>,
    sessions: HashMap<String, Instant>,
}

impl TokenStore {
    /// Records a new token for `principal`, revoking its previous one. Returns true when a
    /// previous, still valid token was revoked.
    pub(crate) fn issue(
        &mut self,
        principal: &str,
        token: String,
        expires_at: Instant,
        now: Instant,
    ) -> bool {
        let revoked = self
            .current
            .insert(principal.to_owned(), token.clone())
            .and_then(|old| self.tokens.remove(&old))
            .is_some_and(|old| old.expires_at > now);
        self.tokens.insert(
            token,
            TokenEntry {
                principal: principal.to_owned(),
                expires_at,
            },
        );
        revoked
    }

    /// Whether a bearer token is valid now (known, current for its client, not expired).
    pub(crate) fn check(&mut self, token: &str, now: Instant) -> bool {
        let Some(entry) = self.tokens.get(token) else {
            return false;
        };
        if entry.expires_at <= now {
            let principal = entry.principal.clone();
            self.tokens.remove(token);
            if self.current.get(&principal).is_some_and(|t| t == token) {
                self.current.remove(&principal);
            }
            return false;
        }
        true
    }

    /// Opens a legacy session.
    pub(crate) fn open_session(&mut self, id: String, expires_at: Instant, now: Instant) {
        if self.sessions.len() >= 1024 {
            self.sessions.retain(|_, until| *until > now);
        }
        self.sessions.insert(id, expires_at);
    }

    /// Whether a legacy session is valid now.
    pub(crate) fn check_session(&mut self, id: &str, now: Instant) -> bool {
        match self.sessions.get(id) {
            Some(until) if *until > now => true,
            Some(_) => {
                self.sessions.remove(id);
                false
            }
            None => false,
        }
    }

    /// Revokes every token and session (control API).
    pub(crate) fn revoke_all(&mut self) {
        self.tokens.clear();
        self.current.clear();
        self.sessions.clear();
    }

    /// Number of tokens currently issued and not superseded.
    pub(crate) fn active_tokens(&self) -> usize {
        self.current.len()
    }
}

/// The bearer token of a request, if any.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The value of a cookie, if the request carries it.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `n` random bytes from the system.
fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes)
}

/// A random opaque token (hex).
pub(crate) fn random_token() -> Option<String> {
    random_bytes::<24>().map(|b| HEXLOWER.encode(&b))
}

/// A JWT-shaped access token (header.payload.signature); clients must treat it as opaque.
pub(crate) fn access_token(pbx_id: &str, principal: &str) -> Option<String> {
    let id = random_bytes::<16>()?;
    let signature = random_bytes::<32>()?;
    let header = BASE64URL_NOPAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": "runway-sim",
        "sub": principal,
        "pbx": pbx_id,
        "jti": HEXLOWER.encode(&id),
    });
    let payload = BASE64URL_NOPAD.encode(claims.to_string().as_bytes());
    Some(format!(
        "{header}.{payload}.{}",
        BASE64URL_NOPAD.encode(&signature)
    ))
}

/// The API client login matching these credentials.
pub(crate) fn find_client<'a>(spec: &'a PbxSpec, id: &str, secret: &str) -> Option<&'a str> {
    spec.logins().find_map(|login| match login {
        Login::ClientCredentials {
            client_id,
            client_secret,
        } if client_id == id && client_secret == secret => Some(client_id.as_str()),
        _ => None,
    })
}

/// The admin user login matching these credentials, with its TOTP secret if MFA is on.
pub(crate) fn find_user<'a>(
    spec: &'a PbxSpec,
    name: &str,
    pass: &str,
) -> Option<(&'a str, Option<&'a str>)> {
    spec.logins().find_map(|login| match login {
        Login::User {
            username,
            password,
            totp_secret,
        } if username == name && password == pass => {
            Some((username.as_str(), totp_secret.as_deref()))
        }
        _ => None,
    })
}

/// Whether a legacy login matches.
pub(crate) fn legacy_matches(spec: &PbxSpec, name: &str, pass: &str) -> bool {
    spec.logins().any(|login| {
        matches!(login, Login::Legacy { username, password } if username == name && password == pass)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_new_login_revokes_the_previous_token() {
        let mut store = TokenStore::default();
        let now = Instant::now();
        let later = now + Duration::from_mins(1);
        assert!(!store.issue("client:runway", "t1".into(), later, now));
        assert!(store.check("t1", now));
        assert!(store.issue("client:runway", "t2".into(), later, now));
        assert!(!store.check("t1", now), "the first token is revoked");
        assert!(store.check("t2", now));
        store.issue("user:admin", "u1".into(), later, now);
        assert!(
            store.check("t2", now),
            "another client's login does not revoke"
        );
        assert!(!store.check("t2", later), "expired");
        assert_eq!(store.active_tokens(), 1);
    }

    #[test]
    fn headers_are_read_leniently() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        headers.insert(
            header::COOKIE,
            "a=1; .AspNetCore.Cookies=xyz".parse().unwrap(),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert!(
            access_token("p", "client:runway")
                .unwrap()
                .split('.')
                .count()
                == 3
        );
    }
}
