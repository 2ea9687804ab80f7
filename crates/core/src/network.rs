//! Address ranges an installation names in its settings (`10.0.0.0/8`, `::1/128`): the reverse
//! proxies whose `X-Forwarded-For` is believed, and later the networks PBXs may be reached on.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IP network in CIDR notation; a bare address is its own `/32` (or `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// A text that is not an address range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address range such as 10.0.0.0/8, 192.0.2.7 or fd00::/8")]
pub struct BadCidr(pub String);

impl Cidr {
    /// Parses `ADDRESS/PREFIX` or a bare address.
    pub fn parse(text: &str) -> Result<Cidr, BadCidr> {
        let bad = || BadCidr(text.chars().take(100).collect());
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(bad)?,
        };
        // A range of IPv4-mapped IPv6 addresses (`::ffff:10.0.0.0/104`) is the IPv4 range
        // they map: `contains` counts a mapped address as its IPv4 address.
        let (address, prefix) = match mask(address, prefix) {
            IpAddr::V6(network) if prefix >= 96 => network
                .to_ipv4_mapped()
                .map_or((address, prefix), |v4| (IpAddr::V4(v4), prefix - 96)),
            _ => (address, prefix),
        };
        Ok(Cidr {
            network: mask(address, prefix),
            prefix,
        })
    }

    /// Parses a comma-separated list (as a setting is written); empty entries are skipped.
    pub fn parse_list(text: &str) -> Result<Vec<Cidr>, BadCidr> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Cidr::parse)
            .collect()
    }

    /// Whether the address lies in this network. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.7`) counts as the IPv4 address it maps.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & kept).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & kept).into())
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = BadCidr;
    fn from_str(text: &str) -> Result<Cidr, BadCidr> {
        Cidr::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let lan = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(lan.contains(ip("10.1.255.3")));
        assert!(!lan.contains(ip("10.2.0.1")));
        assert!(lan.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped");
        assert!(!lan.contains(ip("fd00::1")));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fdab::1")) && !v6.contains(ip("fe80::1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("203.0.113.9"))
        );
        assert_eq!(
            Cidr::parse("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8",
            "host bits are dropped"
        );
    }

    /// Found by fuzzing: a range written with IPv4-mapped IPv6 addresses stayed an IPv6
    /// range, while `contains` reads a mapped address as IPv4 — so it contained nothing, not
    /// even its own addresses, and a deny list of it denied nothing.
    #[test]
    fn regression_a_range_of_ipv4_mapped_addresses_is_the_ipv4_range_they_map() {
        let mapped = Cidr::parse("::ffff:10.1.0.0/112").unwrap();
        assert_eq!(mapped, Cidr::parse("10.1.0.0/16").unwrap());
        assert_eq!(mapped.to_string(), "10.1.0.0/16");
        assert!(mapped.contains(ip("::ffff:10.1.2.3")) && mapped.contains(ip("10.1.2.3")));
        assert!(!mapped.contains(ip("10.2.0.1")));
        let all = Cidr::parse("::ffff:0.0.0.0/96").unwrap();
        assert_eq!(all.to_string(), "0.0.0.0/0");
        // A shorter prefix leaves the mapped block: an IPv6 range as written.
        assert_eq!(
            Cidr::parse("::ffff:0.0.0.0/95").unwrap().to_string(),
            "::fffe:0:0/95"
        );
    }

    #[test]
    fn bad_ranges_say_what_was_given() {
        for bad in ["", "10.0.0.0/33", "::/129", "ten/8", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Cidr::parse_list(" 10.0.0.0/8, ,127.0.0.1 ").unwrap().len(),
            2
        );
        assert!(Cidr::parse_list("10.0.0.0/8,nope").is_err());
    }
}
