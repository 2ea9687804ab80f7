//! CSRF protection: a synchronizer token on every unsafe request.
//!
//! A signed-in browser's token is derived from its session secret (SHA-256 of `csrf:` and the
//! secret): tied to the session, unknowable without the cookie, and nothing more to store.
//! The two forms shown before signing in (`/login`, `/setup`) use a separate `SameSite=Strict`
//! pre-session cookie instead — on those two paths only, so that cookie can never stand in for a
//! session's token anywhere else. Their token is the cookie's secret signed with a key only the
//! server has (HMAC-SHA256 with a key derived from the installation's secret key), so whoever
//! manages to plant a cookie in a browser still cannot forge the matching form field. [`require_csrf`] checks every POST/PUT/PATCH/DELETE:
//! the token comes in the `X-CSRF-Token` header or, for HTML forms, the `csrf` field. Requests
//! that carry an `Authorization: Bearer` API token need none (no cookie authenticates them);
//! any other `Authorization` scheme gets no such pass.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq as _;

use super::{PRESESSION_COOKIE, SESSION_COOKIE, cookie_in, tokens};
use crate::error::{ApiError, WebError};
use crate::state::AppState;

/// What the pre-session token's signing key is derived for (see `Store::derived_key`).
pub(crate) const PRESESSION_KEY_PURPOSE: &str = "presession-csrf";

/// The header API calls made with a session carry the token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The largest form body checked (larger ones are refused).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;
/// The largest multipart upload checked: an import file (see `pages::import`).
const MAX_UPLOAD_BYTES: usize = crate::pages::MAX_UPLOAD_BYTES;

/// The CSRF token of a session, from the session's secret.
pub fn token_for_session(session_secret: &str) -> String {
    tokens::token_hash(&format!("csrf:{session_secret}"))
}

/// The CSRF token of a pre-session cookie: its secret signed with the server's key (hex).
pub fn token_for_presession(key: &[u8; 32], presession_secret: &str) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(b"presession:");
    mac.update(presession_secret.as_bytes());
    tokens::hex(&mac.finalize().into_bytes())
}

/// Refuses unsafe requests without a valid CSRF token (see the module docs).
pub async fn require_csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let unsafe_method = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !unsafe_method || is_bearer(&request) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let api = path.starts_with("/api/");
    let before_sign_in = matches!(path, "/login" | "/setup");
    let headers = request.headers();
    let expected: Vec<String> = [
        cookie_in(headers, SESSION_COOKIE).map(|s| token_for_session(&s)),
        cookie_in(headers, PRESESSION_COOKIE)
            .filter(|_| before_sign_in)
            .map(|s| token_for_presession(&state.presession_key, &s)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let from_header = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    // A file upload: the `csrf` field of a multipart form.
    let boundary = multer::parse_boundary(content_type).ok();

    let (request, provided) = match from_header {
        Some(token) => (request, Some(token)),
        None if is_form => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
                return refuse(api, WebError::Invalid("the form is too large".into()));
            };
            let token = form_urlencoded_field(&bytes, "csrf");
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
        None if boundary.is_some() => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_UPLOAD_BYTES).await else {
                return refuse(api, WebError::Invalid("the upload is too large".into()));
            };
            let token = multipart_field(bytes.clone(), boundary.unwrap_or_default(), "csrf").await;
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
        None => (request, None),
    };
    let valid = provided.is_some_and(|provided| {
        expected
            .iter()
            .any(|e| bool::from(e.as_bytes().ct_eq(provided.as_bytes())))
    });
    if valid {
        next.run(request).await
    } else {
        refuse(api, WebError::Csrf)
    }
}

/// Whether the request presents an API token (`Authorization: Bearer …`, scheme in any case).
fn is_bearer(request: &Request) -> bool {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "))
}

fn refuse(api: bool, err: WebError) -> Response {
    if api {
        ApiError(err).into_response()
    } else {
        err.into_response()
    }
}

/// The text of the first field called `name` of a multipart body (forms put `csrf` first, so
/// the file after it is not read).
async fn multipart_field(body: axum::body::Bytes, boundary: String, name: &str) -> Option<String> {
    let stream = Body::from(body).into_data_stream();
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}
