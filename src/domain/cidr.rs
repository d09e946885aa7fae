//! Address ranges a key may be used from.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// The most ranges one key may carry.
pub const MAX_CIDRS: usize = 50;

/// An IPv4 or IPv6 range, kept as its network (`10.1.2.3/8` is
/// `10.0.0.0/8`); a bare address is its /32 or /128.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr(IpNet);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an IPv4 or IPv6 address or CIDR range, such as 203.0.113.0/24 or 2001:db8::/32")]
pub struct CidrError;

impl Cidr {
    pub fn parse(raw: &str) -> Result<Self, CidrError> {
        let raw = raw.trim();
        let net = raw.parse::<IpNet>().or_else(|_| raw.parse::<IpAddr>().map(IpNet::from)).map_err(|_| CidrError)?;
        Ok(Self(unmapped(net).trunc()))
    }

    /// Whether every address of `other` is in this range.
    pub fn covers(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0)
    }

    /// An IPv4 client seen through an IPv6 socket (`::ffff:a.b.c.d`) is
    /// that IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

/// An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) is the IPv4 range it
/// maps: clients are compared by their canonical address, so the mapped form
/// would never match anyone.
fn unmapped(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        _ => net,
    }
}

/// A list of ranges: at most [`MAX_CIDRS`], duplicates dropped. An error
/// names the index at fault, or `None` for the list as a whole.
pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Cidr>, super::narrow::ListError> {
    let mut out: Vec<Cidr> = Vec::with_capacity(raw.len().min(MAX_CIDRS));
    for (i, s) in raw.iter().enumerate() {
        let cidr = Cidr::parse(s.as_ref()).map_err(|e| (Some(i), e.to_string()))?;
        if !out.contains(&cidr) {
            out.push(cidr);
        }
    }
    if out.len() > MAX_CIDRS {
        return Err((None, format!("at most {MAX_CIDRS} ranges")));
    }
    Ok(out)
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ranges_and_bare_addresses() {
        assert_eq!(Cidr::parse("203.0.113.7").expect("v4").to_string(), "203.0.113.7/32");
        assert_eq!(Cidr::parse("2001:db8::1").expect("v6").to_string(), "2001:db8::1/128");
        assert_eq!(Cidr::parse("10.1.2.3/8").expect("net").to_string(), "10.0.0.0/8");
        for bad in ["", "10.0.0.0/33", "nope", "1.2.3", "::/129", "10.0.0.0/8/8"] {
            assert_eq!(Cidr::parse(bad), Err(CidrError), "{bad}");
        }
    }

    #[test]
    fn a_mapped_range_is_its_ipv4_range() {
        let mapped = Cidr::parse("::ffff:10.0.0.0/104").expect("mapped");
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains(ip("10.9.8.7")));
        assert!(mapped.contains(ip("::ffff:10.9.8.7")));
        assert_eq!(Cidr::parse("::ffff:192.0.2.1").expect("one").to_string(), "192.0.2.1/32");
        assert_eq!(Cidr::parse("::ffff:0:0/96").expect("all").to_string(), "0.0.0.0/0");
    }

    #[test]
    fn containment_sees_mapped_ipv4() {
        let net = Cidr::parse("192.0.2.0/24").expect("net");
        assert!(net.contains(ip("192.0.2.200")));
        assert!(net.contains(ip("::ffff:192.0.2.9")));
        assert!(!net.contains(ip("192.0.3.1")));
        assert!(Cidr::parse("2001:db8::/32").expect("v6").contains(ip("2001:db8:ffff::1")));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = Cidr::parse(&s);
        }
    }
}
