//! The inet socket options that are kept only to be read back (no effect
//! on a loopback stack): which (level, option) pairs each kind of socket
//! knows, their defaults, and how a set value is normalised. Pure.

use std::collections::HashMap;

use super::addr::Family;
use crate::errno::Errno;

/// UDP_CORK (linux/udp.h).
const UDP_CORK: i32 = 1;

/// How a stored value reads back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// 0 or 1.
    Bool,
    /// As set.
    Int,
    /// As set, at least 1 (EINVAL below).
    Positive,
    /// A hop limit: -1 means the default, else 1..=255 (EINVAL outside).
    Hops,
}

/// Which sockets know an option.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    All,
    Tcp,
    Udp,
    V6,
}

/// (level, option, default, shape, which sockets know it).
#[rustfmt::skip]
const TABLE: &[(i32, i32, i32, Shape, Who)] = &[
    (libc::SOL_SOCKET, libc::SO_REUSEADDR, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_REUSEPORT, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_BROADCAST, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_DONTROUTE, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_OOBINLINE, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_TIMESTAMP, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_PASSCRED, 0, Shape::Bool, Who::All),
    (libc::SOL_SOCKET, libc::SO_PRIORITY, 0, Shape::Int, Who::All),
    (libc::SOL_SOCKET, libc::SO_RCVLOWAT, 1, Shape::Int, Who::All),
    (libc::IPPROTO_TCP, libc::TCP_NODELAY, 0, Shape::Bool, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_CORK, 0, Shape::Bool, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_QUICKACK, 1, Shape::Bool, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 7200, Shape::Positive, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 75, Shape::Positive, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 9, Shape::Positive, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_SYNCNT, 6, Shape::Positive, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_MAXSEG, 536, Shape::Int, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, 0, Shape::Int, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, 0, Shape::Int, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_FASTOPEN, 0, Shape::Int, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_LINGER2, 60, Shape::Int, Who::Tcp),
    (libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, 0, Shape::Int, Who::Tcp),
    (libc::IPPROTO_UDP, UDP_CORK, 0, Shape::Bool, Who::Udp),
    (libc::IPPROTO_IP, libc::IP_TOS, 0, Shape::Int, Who::All),
    (libc::IPPROTO_IP, libc::IP_TTL, 64, Shape::Hops, Who::All),
    (libc::IPPROTO_IP, libc::IP_RECVERR, 0, Shape::Bool, Who::All),
    (libc::IPPROTO_IP, libc::IP_PKTINFO, 0, Shape::Bool, Who::All),
    (libc::IPPROTO_IP, libc::IP_RECVTOS, 0, Shape::Bool, Who::All),
    (libc::IPPROTO_IP, libc::IP_RECVTTL, 0, Shape::Bool, Who::All),
    (libc::IPPROTO_IP, libc::IP_FREEBIND, 0, Shape::Bool, Who::All),
    (libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 0, Shape::Bool, Who::All),
    (libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, 1, Shape::Int, Who::All),
    (libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, 1, Shape::Int, Who::All),
    (libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, 1, Shape::Bool, Who::All),
    (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, 64, Shape::Hops, Who::V6),
    (libc::IPPROTO_IPV6, libc::IPV6_TCLASS, 0, Shape::Int, Who::V6),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 0, Shape::Bool, Who::V6),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 0, Shape::Bool, Who::V6),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, 0, Shape::Bool, Who::V6),
    (libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, 1, Shape::Int, Who::V6),
    (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 1, Shape::Int, Who::V6),
    (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 1, Shape::Bool, Who::V6),
];

/// The stored options of one socket.
pub struct Options {
    family: Family,
    tcp: bool,
    vals: HashMap<(i32, i32), i32>,
}

impl Options {
    pub fn new(family: Family, tcp: bool) -> Options {
        Options {
            family,
            tcp,
            vals: HashMap::new(),
        }
    }

    fn entry(&self, level: i32, opt: i32) -> Option<(i32, Shape)> {
        TABLE
            .iter()
            .find(|e| e.0 == level && e.1 == opt)
            .filter(|e| match e.4 {
                Who::All => true,
                Who::Tcp => self.tcp,
                Who::Udp => !self.tcp,
                Who::V6 => self.family == Family::V6,
            })
            .map(|e| (e.2, e.3))
    }

    /// The value read back: ENOPROTOOPT for an option this socket lacks.
    pub fn get(&self, level: i32, opt: i32) -> Result<i32, Errno> {
        let (default, _) = self.entry(level, opt).ok_or(Errno::ENOPROTOOPT)?;
        Ok(self.vals.get(&(level, opt)).copied().unwrap_or(default))
    }

    /// Stores `val`: ENOPROTOOPT for an option this socket lacks, EINVAL
    /// for a value out of its range.
    pub fn set(&mut self, level: i32, opt: i32, val: i32) -> Result<(), Errno> {
        let (default, shape) = self.entry(level, opt).ok_or(Errno::ENOPROTOOPT)?;
        let v = match shape {
            Shape::Bool => i32::from(val != 0),
            Shape::Int => val,
            Shape::Positive if val < 1 => return Err(Errno::EINVAL),
            Shape::Positive => val,
            Shape::Hops if val == -1 => default,
            Shape::Hops if !(1..=255).contains(&val) => return Err(Errno::EINVAL),
            Shape::Hops => val,
        };
        self.vals.insert((level, opt), v);
        Ok(())
    }

    /// A boolean option's value (SO_REUSEADDR…), false if unknown.
    pub fn flag(&self, level: i32, opt: i32) -> bool {
        self.get(level, opt).is_ok_and(|v| v != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_back_their_defaults_then_what_was_set() {
        let mut o = Options::new(Family::V4, true);
        assert_eq!(o.get(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), Ok(7200));
        assert_eq!(o.set(libc::IPPROTO_TCP, libc::TCP_NODELAY, 5), Ok(()));
        assert_eq!(o.get(libc::IPPROTO_TCP, libc::TCP_NODELAY), Ok(1));
        assert_eq!(o.set(libc::IPPROTO_IP, libc::IP_TTL, -1), Ok(()));
        assert_eq!(o.get(libc::IPPROTO_IP, libc::IP_TTL), Ok(64));
        assert_eq!(
            o.set(libc::IPPROTO_IP, libc::IP_TTL, 300),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn options_of_other_protocols_are_enoprotoopt() {
        let udp = Options::new(Family::V4, false);
        assert_eq!(
            udp.get(libc::IPPROTO_TCP, libc::TCP_NODELAY),
            Err(Errno::ENOPROTOOPT)
        );
        assert_eq!(
            udp.get(libc::IPPROTO_IPV6, libc::IPV6_TCLASS),
            Err(Errno::ENOPROTOOPT)
        );
        let tcp6 = Options::new(Family::V6, true);
        assert_eq!(
            tcp6.get(libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS),
            Ok(64)
        );
    }
}
