//! Which addresses Runway may connect to when it reads a PBX: the PBX network policy.
//!
//! A PBX address is typed in by an admin (or sent through the API), so without a policy Runway
//! could be made to send requests — with the PBX's credentials — to its own host, to a cloud
//! metadata service, or to anything else it can reach. By default it refuses loopback,
//! link-local (which includes cloud metadata at 169.254.169.254), multicast, broadcast and
//! unspecified addresses, for IPv4 and IPv6 alike (IPv4-mapped IPv6 addresses count as the
//! IPv4 address they map). Private ranges stay allowed: on-premises PBXs reached over a VPN are
//! normal. An installation widens the policy with an allow list (an address in it is allowed
//! even when its class is refused by default) and narrows it with a deny list (which wins).
//!
//! Runway resolves a PBX's host name itself ([`PolicyResolver`]) and connects only to the
//! addresses it checked, so a name cannot resolve to one address when checked and another when
//! used. An address literal in the URL is checked before any request. A refused address fails
//! at once with [`ReadError::NotAllowed`](crate::ReadError::NotAllowed), and nothing is sent.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use runway_core::Cidr;

/// The settings that change the policy, named in every refusal.
pub(crate) const POLICY_SETTINGS: &str = "--pbx-network-allow / RUNWAY_PBX_NETWORK_ALLOW";

/// Which addresses PBX reads may connect to; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Ranges allowed even when their class is refused by default.
    pub allow: Vec<Cidr>,
    /// Ranges refused whatever else says (the deny list wins over the allow list).
    pub deny: Vec<Cidr>,
}

impl NetworkPolicy {
    /// The default policy with `allow` added (e.g. loopback, for a simulated fleet).
    pub fn allowing(allow: Vec<Cidr>) -> NetworkPolicy {
        NetworkPolicy {
            allow,
            deny: Vec::new(),
        }
    }

    /// The default policy with this machine's loopback allowed (127.0.0.0/8 and ::1): for a
    /// fleet simulated on this machine — the demo, tests and benchmarks.
    pub fn allowing_loopback() -> NetworkPolicy {
        NetworkPolicy::allowing(Cidr::parse_list("127.0.0.0/8, ::1").unwrap_or_default())
    }

    /// Whether reads may connect to `address`.
    pub fn permits(&self, address: IpAddr) -> bool {
        if self.deny.iter().any(|cidr| cidr.contains(address)) {
            return false;
        }
        self.allow.iter().any(|cidr| cidr.contains(address)) || !refused_by_default(address)
    }
}

/// Whether an address's class is refused unless allowed: loopback, link-local, multicast,
/// broadcast, unspecified (and IPv4's "this network", 0.0.0.0/8).
fn refused_by_default(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refused_by_default(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unicast_link_local()
                    || v6.is_multicast()
                    || v6.is_unspecified()
            }
        },
    }
}

/// An address the policy refuses, as a resolver error (so the client can say so).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address} is not allowed by the PBX network policy ({POLICY_SETTINGS})")]
pub struct NotAllowed {
    /// The refused address (or the name whose every address was refused).
    pub address: String,
}

/// Resolves PBX host names and hands the HTTP client only the addresses the policy permits.
#[derive(Debug)]
pub(crate) struct PolicyResolver {
    pub(crate) policy: Arc<NetworkPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| policy.permits(address.ip()))
                .collect();
            if permitted.is_empty() && !found.is_empty() {
                let refused = found
                    .iter()
                    .map(|address| address.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(NotAllowed {
                    address: format!("{host} ({refused})"),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_policy_refuses_loopback_link_local_multicast_and_unspecified() {
        let policy = NetworkPolicy::default();
        for refused in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "::ffff:127.0.0.2",
            "169.254.169.254",
            "fe80::1",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "::ffff:169.254.169.254",
        ] {
            assert!(!policy.permits(ip(refused)), "{refused}");
        }
        for allowed in [
            "10.1.2.3",
            "192.168.0.10",
            "172.16.5.4",
            "fd00::10",
            "203.0.113.9",
            "2001:db8::1",
        ] {
            assert!(policy.permits(ip(allowed)), "{allowed}");
        }
    }

    #[test]
    fn a_simulated_fleet_on_loopback_is_allowed_explicitly() {
        let policy = NetworkPolicy::allowing_loopback();
        assert!(policy.permits(ip("127.0.0.1")) && policy.permits(ip("::1")));
        assert!(!policy.permits(ip("169.254.169.254")));
    }

    #[test]
    fn the_allow_list_widens_and_the_deny_list_narrows_and_wins() {
        let policy = NetworkPolicy {
            allow: Cidr::parse_list("127.0.0.1, 169.254.10.0/24").unwrap(),
            deny: Cidr::parse_list("10.9.0.0/16, 169.254.10.7").unwrap(),
        };
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(policy.permits(ip("::ffff:127.0.0.1")));
        assert!(!policy.permits(ip("127.0.0.2")), "outside the allow list");
        assert!(policy.permits(ip("169.254.10.8")));
        assert!(!policy.permits(ip("169.254.10.7")), "the deny list wins");
        assert!(!policy.permits(ip("10.9.1.1")));
        assert!(policy.permits(ip("10.8.1.1")));
    }
}
