//! Sign-in throttling that slows guessing without letting anyone lock others out.
//!
//! Failed sign-ins are counted in the database (so every node counts alike, and a restart
//! forgets nothing) under two keys, in windows that begin with the first failure:
//!
//! - **the account together with the client address** it was tried from: after
//!   [`WebSettings::max_failed_logins`] failures that pair is refused until its window has
//!   passed — even with the right password, so guessing one account from one place gains
//!   nothing. The same account from any other address is not affected: five bad attempts by a
//!   stranger never lock the owner out.
//! - **the client address**: an address that fails often is only *slowed down* (each further
//!   attempt waits longer, up to [`MAX_DELAY`]) and never refused, so a correct password is
//!   never refused because of failures counted against an address — an office behind one NAT,
//!   or every user behind a reverse proxy not configured as trusted, keeps signing in.
//!
//! Every attempt is counted *before* the password is checked (and forgiven once it proves
//! right), so concurrent guesses cannot all slip past the limit while their hashes are being
//! computed. The client address is the TCP peer, or — only when the peer is one of
//! [`WebSettings::trusted_proxies`] — the address the proxy reports (see `client_address`).
//!
//! [`WebSettings::max_failed_logins`]: crate::WebSettings::max_failed_logins
//! [`WebSettings::trusted_proxies`]: crate::WebSettings::trusted_proxies

use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderMap;
use runway_core::Cidr;

/// The longest an address that keeps failing waits before its attempt is checked.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// Failures an address may have in a window before its attempts are slowed down: enough for
/// an office of people mistyping their passwords now and then.
pub const ADDRESS_ALLOWANCE: u32 = 25;

/// The key of an account tried from an address.
pub(crate) fn account_key(email: &str, address: &str) -> String {
    format!("account:{}|{address}", email.trim().to_lowercase())
}

/// The key of a client address.
pub(crate) fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// How long an attempt from an address with `failures` in its window waits: nothing up to
/// [`ADDRESS_ALLOWANCE`], then `step` doubling with each further failure, at most
/// [`MAX_DELAY`].
pub(crate) fn address_delay(failures: u32, step: Duration) -> Duration {
    let over = failures.saturating_sub(ADDRESS_ALLOWANCE);
    if over == 0 {
        return Duration::ZERO;
    }
    step.saturating_mul(1 << (over - 1).min(16)).min(MAX_DELAY)
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy — then the nearest
/// address in the proxy's `Forwarded` (or `X-Forwarded-For`) chain that is not itself a
/// trusted proxy. Headers from anyone else are ignored, so a client cannot pick its address.
pub(crate) fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |address: IpAddr| trusted.iter().any(|cidr| cidr.contains(address));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let chain = forwarded_chain(headers);
    Some(
        chain
            .iter()
            .rev()
            .copied()
            .find(|address| !is_trusted(*address))
            .or_else(|| chain.first().copied())
            .unwrap_or(peer),
    )
}

/// The client addresses a proxy reports, first hop first: from `Forwarded` (RFC 7239) when
/// present, else from `X-Forwarded-For`. Entries that are not addresses are skipped.
fn forwarded_chain(headers: &HeaderMap) -> Vec<IpAddr> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|part| part.trim().to_owned())
            .collect()
    };
    let forwarded: Vec<IpAddr> = values("forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| node_address(value))
                    .flatten()
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    values("x-forwarded-for")
        .iter()
        .filter_map(|value| node_address(value))
        .collect()
}

/// An address from a `for=` node or an `X-Forwarded-For` entry: `192.0.2.7`, `"192.0.2.7:80"`,
/// `"[2001:db8::1]:4711"`.
fn node_address(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Ok(address) = value.parse() {
        return Some(address);
    }
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    value.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let proxy = [Cidr::parse("10.0.0.0/8").unwrap()];
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_address(Some(ip("198.51.100.4")), &spoofed, &proxy),
            Some(ip("198.51.100.4")),
            "a client cannot choose its address"
        );
        // The client spoofs a first hop; the proxy appends what it saw: the last untrusted one
        // is the client.
        let chain = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.4, 10.0.0.2")]);
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &chain, &proxy),
            Some(ip("198.51.100.4"))
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &forwarded, &proxy),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &HeaderMap::new(), &proxy),
            Some(ip("10.0.0.1")),
            "a proxy that says nothing is the client"
        );
        assert_eq!(client_address(None, &chain, &proxy), None);
    }

    #[test]
    fn a_failing_address_waits_longer_and_longer_up_to_a_limit() {
        let step = Duration::from_millis(250);
        assert_eq!(address_delay(ADDRESS_ALLOWANCE, step), Duration::ZERO);
        assert_eq!(address_delay(ADDRESS_ALLOWANCE + 1, step), step);
        assert_eq!(address_delay(ADDRESS_ALLOWANCE + 3, step), step * 4);
        assert_eq!(address_delay(u32::MAX, step), MAX_DELAY);
    }
}
