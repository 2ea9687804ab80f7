//! Cookies and headers that depend on how the browser reached Runway: over HTTPS, every cookie
//! is `Secure` and carries the `__Host-` prefix (so no other site or subdomain, and no plain-HTTP
//! answer, can set or overwrite it), and `Strict-Transport-Security` is sent.
//!
//! A request came over HTTPS when the installation says so (`--secure-cookies`) or when a
//! trusted proxy (`--trusted-proxy`) reports `https` in `X-Forwarded-Proto` or `Forwarded`.
//! Runway's handlers name cookies without the prefix; [`transport`] renames them at the edge,
//! both ways, and over HTTPS it ignores unprefixed cookies altogether.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{PRESESSION_COOKIE, SESSION_COOKIE};
use crate::state::AppState;

/// The prefix of Runway's cookies over HTTPS.
pub const HOST_PREFIX: &str = "__Host-";

/// `Strict-Transport-Security` for answers over HTTPS: one year.
const HSTS: &str = "max-age=31536000";

/// Renames cookies, marks them `Secure` and sends HSTS when the request came over HTTPS.
pub async fn transport(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if !is_https(&state.settings, peer, request.headers()) {
        return next.run(request).await;
    }
    unprefix_cookies(request.headers_mut());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        if let Some(secured) = cookie.to_str().ok().and_then(secure_cookie) {
            headers.append(header::SET_COOKIE, secured);
        }
    }
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    response
}

/// Whether a request from `peer` came over HTTPS (see the module docs).
pub(crate) fn is_https(
    settings: &crate::WebSettings,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> bool {
    settings.secure_cookies
        || peer.is_some_and(|peer| {
            settings
                .trusted_proxies
                .iter()
                .any(|cidr| cidr.contains(peer))
                && forwarded_https(headers)
        })
}

/// Whether a (trusted) proxy says the client used HTTPS.
fn forwarded_https(headers: &HeaderMap) -> bool {
    let said = |name: header::HeaderName| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
    };
    let forwarded_proto = said(header::FORWARDED).iter().any(|v| {
        v.split([',', ';'])
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(k, val)| k.trim() == "proto" && val.trim().trim_matches('"') == "https")
    });
    forwarded_proto
        || said(header::HeaderName::from_static("x-forwarded-proto"))
            .iter()
            .any(|v| {
                v.split(',')
                    .next()
                    .is_some_and(|first| first.trim() == "https")
            })
}

/// Keeps only the `__Host-` versions of Runway's cookies, without the prefix, as the handlers
/// name them; other cookies pass unchanged.
fn unprefix_cookies(headers: &mut HeaderMap) {
    let ours = [SESSION_COOKIE, PRESESSION_COOKIE];
    let pairs: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(|pair| pair.trim().to_owned())
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            if ours.contains(&name) {
                None // unprefixed: could have been set over plain HTTP
            } else {
                Some(
                    pair.strip_prefix(HOST_PREFIX)
                        .map_or(pair.clone(), str::to_owned),
                )
            }
        })
        .collect();
    headers.remove(header::COOKIE);
    if let Ok(value) = HeaderValue::from_str(&pairs.join("; ")) {
        headers.insert(header::COOKIE, value);
    }
}

/// One of Runway's `Set-Cookie` values with the `__Host-` prefix and `Secure`.
fn secure_cookie(cookie: &str) -> Option<HeaderValue> {
    let mut text = format!("{HOST_PREFIX}{cookie}");
    if !cookie.split(';').any(|part| part.trim() == "Secure") {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_says_https_in_either_header() {
        let mut headers = HeaderMap::new();
        assert!(!forwarded_https(&headers));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(forwarded_https(&headers));
        let mut forwarded = HeaderMap::new();
        forwarded.insert(
            header::FORWARDED,
            HeaderValue::from_static("for=192.0.2.7;proto=https"),
        );
        assert!(forwarded_https(&forwarded));
    }

    #[test]
    fn over_https_only_prefixed_cookies_count_and_set_cookies_are_secured() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "runway_session=planted; __Host-runway_session=real; theme=dark",
            ),
        );
        unprefix_cookies(&mut headers);
        assert_eq!(headers[header::COOKIE], "runway_session=real; theme=dark");
        let set = secure_cookie("runway_session=abc; Path=/; HttpOnly; SameSite=Lax").unwrap();
        assert_eq!(
            set,
            "__Host-runway_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
