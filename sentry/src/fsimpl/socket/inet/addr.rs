//! Inet addresses: sockaddr_in and sockaddr_in6 read and written as Linux
//! lays them out, the loopback-only routing answers (which addresses are
//! local, which reachable), and the family-neutral form the stack keeps
//! (a v4-mapped v6 address is its v4 address) with its byte encoding for
//! endpoint names. Pure, unit-tested.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::errno::Errno;

/// sizeof(struct sockaddr_in).
pub const SOCKADDR_IN: usize = 16;
/// sizeof(struct sockaddr_in6).
pub const SOCKADDR_IN6: usize = 28;
/// SIN6_LEN_RFC2133: the shortest sockaddr_in6 Linux takes (no scope id).
const SIN6_LEN_RFC2133: usize = 24;

/// An inet socket's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn linux(self) -> i32 {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }

    /// The wildcard address: what an unbound socket reports.
    pub fn any(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// The stack's form: v4-mapped v6 addresses become v4 ones.
pub fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => SocketAddr::new(IpAddr::V6(*v6.ip()), v6.port()),
        },
        v4 => v4,
    }
}

/// Whether a socket may bind `ip`: the loopback addresses and the
/// wildcards are the only local ones here.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified(),
    }
}

/// Where a connect or send to `ip` goes: the loopback address it reaches
/// (the wildcard means this host, as in Linux), or ENETUNREACH: there is
/// no route but loopback.
pub fn route(ip: IpAddr) -> Result<IpAddr, Errno> {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(v6) if v6.is_unspecified() => Ok(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ip if is_local(ip) => Ok(ip),
        _ => Err(Errno(libc::ENETUNREACH)),
    }
}

/// The source address of a connection or datagram to `dst` (already
/// routed): the loopback address of its family (127.0.0.1 for all of
/// 127.0.0.0/8, as Linux's local route names it).
pub fn source_for(dst: IpAddr) -> IpAddr {
    match dst {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// The sa_family of a raw address: EINVAL when shorter than the field.
pub fn sa_family(raw: &[u8]) -> Result<i32, Errno> {
    match raw {
        [a, b, ..] => Ok(i32::from(u16::from_ne_bytes([*a, *b]))),
        _ => Err(Errno::EINVAL),
    }
}

/// Reads `raw` as the address of a socket of `family`: EINVAL when too
/// short for it; the sa_family found is returned for the caller to judge
/// (bind, connect and send differ). The address is in canonical form.
pub fn parse(family: Family, raw: &[u8]) -> Result<(i32, SocketAddr), Errno> {
    let min = match family {
        Family::V4 => SOCKADDR_IN,
        Family::V6 => SIN6_LEN_RFC2133,
    };
    if raw.len() < min {
        return Err(Errno::EINVAL);
    }
    let fam = sa_family(raw)?;
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    let addr = match family {
        Family::V4 => {
            let ip: [u8; 4] = raw[4..8].try_into().map_err(|_| Errno::EINVAL)?;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port))
        }
        Family::V6 => {
            let ip: [u8; 16] = raw[8..24].try_into().map_err(|_| Errno::EINVAL)?;
            canonical(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                0,
            )))
        }
    };
    Ok((fam, addr))
}

/// The sockaddr a socket of `family` reports for `a` (getsockname,
/// getpeername, accept, recvfrom): a v4 address on a v6 socket is shown
/// v4-mapped.
pub fn render(family: Family, a: SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(SOCKADDR_IN6);
    out.extend_from_slice(&(family.linux() as u16).to_ne_bytes());
    out.extend_from_slice(&a.port().to_be_bytes());
    match family {
        Family::V4 => {
            let ip = match a.ip() {
                IpAddr::V4(v4) => v4,
                IpAddr::V6(v6) => v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
            };
            out.extend_from_slice(&ip.octets());
            out.resize(SOCKADDR_IN, 0);
        }
        Family::V6 => {
            let ip = match a.ip() {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&ip.octets());
            out.resize(SOCKADDR_IN6, 0);
        }
    }
    out
}

/// The bytes an endpoint is named by: the address as v6 (v4 mapped) and
/// the port, so a peer of either family can be rendered.
pub fn encode(a: SocketAddr) -> Vec<u8> {
    let ip = match a.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let mut out = ip.octets().to_vec();
    out.extend_from_slice(&a.port().to_be_bytes());
    out
}

/// `encode`'s inverse; None for bytes it did not make.
pub fn decode(raw: &[u8]) -> Option<SocketAddr> {
    let ip: [u8; 16] = raw.get(..16)?.try_into().ok()?;
    let port = u16::from_be_bytes(raw.get(16..18)?.try_into().ok()?);
    Some(canonical(SocketAddr::new(
        IpAddr::V6(Ipv6Addr::from(ip)),
        port,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sin(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut v = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&port.to_be_bytes());
        v.extend_from_slice(&ip);
        v.resize(SOCKADDR_IN, 0);
        v
    }

    #[test]
    fn a_sockaddr_in_reads_back_as_it_renders() {
        let raw = sin([127, 0, 0, 1], 8080);
        let (fam, a) = parse(Family::V4, &raw).expect("parses");
        assert_eq!(fam, libc::AF_INET);
        assert_eq!(a, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(render(Family::V4, a), raw);
    }

    #[test]
    fn short_addresses_are_einval() {
        assert_eq!(
            parse(Family::V4, &sin([127, 0, 0, 1], 1)[..15]).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(parse(Family::V6, &[0u8; 23]).err(), Some(Errno::EINVAL));
        assert_eq!(sa_family(&[2]).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn a_mapped_address_is_its_v4_address_and_renders_mapped_on_v6() {
        let a: SocketAddr = "[::ffff:127.0.0.2]:9".parse().expect("addr");
        let c = canonical(a);
        assert_eq!(c, "127.0.0.2:9".parse().expect("addr"));
        let raw = render(Family::V6, c);
        assert_eq!(raw.len(), SOCKADDR_IN6);
        assert_eq!(parse(Family::V6, &raw).expect("parses").1, c);
    }

    #[test]
    fn the_v6_wildcard_stays_v6() {
        let a: SocketAddr = "[::]:0".parse().expect("addr");
        assert_eq!(canonical(a), a);
        assert_eq!(decode(&encode(a)), Some(a));
        let v4: SocketAddr = "0.0.0.0:5".parse().expect("addr");
        assert_eq!(decode(&encode(v4)), Some(v4));
    }

    #[test]
    fn only_loopback_is_local_or_reachable() {
        assert!(is_local("127.1.2.3".parse().expect("ip")));
        assert!(is_local("::".parse().expect("ip")));
        assert!(!is_local("10.1.2.3".parse().expect("ip")));
        assert_eq!(
            route("10.1.2.3".parse().expect("ip")).err(),
            Some(Errno(libc::ENETUNREACH))
        );
        assert_eq!(
            route("0.0.0.0".parse().expect("ip")),
            Ok("127.0.0.1".parse().expect("ip"))
        );
        assert_eq!(
            route("::".parse().expect("ip")),
            Ok("::1".parse().expect("ip"))
        );
    }
}
