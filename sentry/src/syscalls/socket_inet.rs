//! The socket syscalls on AF_INET and AF_INET6 sockets (the loopback
//! stack of `fsimpl::socket::inet`): socket(2)'s type and protocol checks
//! as Linux's inet_create makes them for a root without CAP_NET_RAW, and
//! each call's address reading in Linux's order (length, then family,
//! then reachability). `socket.rs` sends inet sockets here.

use std::net::SocketAddr;
use std::sync::Arc;

use super::socket::{
    buffer, copy_addr, copy_opt_out, iov_buffer, write_addr, MsgHdr, SOCK_TYPE_MASK,
};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::socket::inet::addr::{self, Family};
use crate::fsimpl::socket::inet::{InetSocket, Proto};
use crate::fsimpl::socket::queue::Ucred;
use crate::fsimpl::socket::unix::IoFlags;
use crate::kernel::Task;

/// IPPROTO_MAX: protocols at or past it are EINVAL.
const IPPROTO_MAX: i32 = 263;
/// The longest option value setsockopt reads.
const OPT_MAX: usize = 64;

/// The family of an inet domain.
pub(super) fn family(domain: i32) -> Option<Family> {
    match domain {
        libc::AF_INET => Some(Family::V4),
        libc::AF_INET6 => Some(Family::V6),
        _ => None,
    }
}

/// Whether socket(2) makes TCP (true) or UDP of `base` and `protocol`:
/// EINVAL for a protocol out of range, ESOCKTNOSUPPORT for a type inet
/// lacks, EPROTONOSUPPORT for a protocol the type lacks (MPTCP and
/// UDP-Lite among them, and a raw socket's protocol 0), EACCES for ping
/// sockets (outside net.ipv4.ping_group_range), EPERM for raw ones (no
/// CAP_NET_RAW in the sandbox).
pub(super) fn inet_type(family: Family, base: i32, protocol: i32) -> Result<bool, Errno> {
    if !(0..IPPROTO_MAX).contains(&protocol) {
        return Err(Errno::EINVAL);
    }
    let ping = match family {
        Family::V4 => libc::IPPROTO_ICMP,
        Family::V6 => libc::IPPROTO_ICMPV6,
    };
    match (base, protocol) {
        (libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => Ok(true),
        (libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => Ok(false),
        (libc::SOCK_DGRAM, p) if p == ping => Err(Errno::EACCES),
        (libc::SOCK_STREAM | libc::SOCK_DGRAM, _) => Err(Errno::EPROTONOSUPPORT),
        (libc::SOCK_RAW, 0) => Err(Errno::EPROTONOSUPPORT),
        (libc::SOCK_RAW, _) => Err(Errno::EPERM),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

pub(super) fn socket(t: &Task, family: Family, ty: i32, protocol: i32) -> SysResult {
    let tcp = inet_type(family, ty & SOCK_TYPE_MASK, protocol)?;
    let s = InetSocket::new(family, tcp, cred(t), ty & libc::SOCK_NONBLOCK != 0);
    Ok(t.fds.install(s, ty & libc::SOCK_CLOEXEC != 0)? as u64)
}

fn cred(t: &Task) -> Ucred {
    Ucred {
        pid: t.tgid,
        uid: t.creds.euid,
        gid: t.creds.egid,
    }
}

/// bind's address: EINVAL short, EAFNOSUPPORT of another family (v4 takes
/// AF_UNSPEC with INADDR_ANY, as Linux does), EINVAL for a v4-mapped
/// address on a v6-only socket.
fn bind_addr(s: &InetSocket, raw: &[u8]) -> Result<SocketAddr, Errno> {
    let (fam, a) = addr::parse(s.family(), raw)?;
    match s.family() {
        Family::V4 => {
            let any_unspec = fam == libc::AF_UNSPEC && a.ip().is_unspecified();
            if fam != libc::AF_INET && !any_unspec {
                return Err(Errno::EAFNOSUPPORT);
            }
        }
        Family::V6 => {
            if fam != libc::AF_INET6 {
                return Err(Errno::EAFNOSUPPORT);
            }
            if a.is_ipv4() && s.v6only() {
                return Err(Errno::EINVAL);
            }
        }
    }
    Ok(a)
}

/// connect's address: None for AF_UNSPEC; EINVAL short, EAFNOSUPPORT of
/// another family, ENETUNREACH for a v4-mapped one on a v6-only socket.
fn connect_addr(s: &InetSocket, raw: &[u8]) -> Result<Option<SocketAddr>, Errno> {
    if addr::sa_family(raw)? == libc::AF_UNSPEC {
        return Ok(None);
    }
    let (fam, a) = addr::parse(s.family(), raw)?;
    if fam != s.family().linux() {
        return Err(Errno::EAFNOSUPPORT);
    }
    if a.is_ipv4() && s.family() == Family::V6 && s.v6only() {
        return Err(Errno(libc::ENETUNREACH));
    }
    Ok(Some(a))
}

/// A send's destination (UDP; TCP ignores it): None for none or
/// AF_UNSPEC; as Linux's udp_sendmsg and udpv6_sendmsg read it.
fn send_addr(s: &InetSocket, ptr: u64, raw: &[u8]) -> Result<Option<SocketAddr>, Errno> {
    if ptr == 0 || matches!(s.proto(), Proto::Tcp(_)) {
        return Ok(None);
    }
    match s.family() {
        Family::V4 => {
            let (fam, a) = addr::parse(Family::V4, raw)?;
            match fam {
                libc::AF_INET | libc::AF_UNSPEC => Ok(Some(a)),
                _ => Err(Errno::EAFNOSUPPORT),
            }
        }
        Family::V6 => match addr::sa_family(raw)? {
            libc::AF_INET6 => {
                let (_, a) = addr::parse(Family::V6, raw)?;
                if a.is_ipv4() && s.v6only() {
                    return Err(Errno(libc::ENETUNREACH));
                }
                Ok(Some(a))
            }
            libc::AF_INET if !s.v6only() => Ok(Some(addr::parse(Family::V4, raw)?.1)),
            libc::AF_INET => Err(Errno(libc::ENETUNREACH)),
            libc::AF_UNSPEC => Ok(None),
            _ => Err(Errno::EINVAL),
        },
    }
}

pub(super) fn bind(t: &Task, s: &InetSocket, ptr: u64, len: u64) -> SysResult {
    let raw = copy_addr(t, ptr, len)?;
    let a = bind_addr(s, &raw)?;
    s.bind(t, a)?;
    Ok(0)
}

pub(super) fn connect(t: &Task, s: &InetSocket, ptr: u64, len: u64) -> SysResult {
    let raw = copy_addr(t, ptr, len)?;
    match (connect_addr(s, &raw)?, s.proto()) {
        (None, Proto::Tcp(_)) => Ok(0),
        (to, _) => s.connect(t, to, cred(t)).map(|_| 0),
    }
}

pub(super) fn listen(t: &Task, s: &InetSocket, backlog: i32) -> SysResult {
    s.listen(t, backlog, cred(t))?;
    Ok(0)
}

pub(super) fn accept(t: &Task, s: &InetSocket, addr: u64, addrlen: u64, flags: i32) -> SysResult {
    let (new, peer) = s.accept(t, flags & libc::SOCK_NONBLOCK != 0)?;
    if addr != 0 {
        write_addr(t, addr, addrlen, &s.render(peer))?;
    }
    Ok(t.fds.install(new, flags & libc::SOCK_CLOEXEC != 0)? as u64)
}

pub(super) fn getsockname(t: &Task, s: &InetSocket, ptr: u64, len: u64) -> SysResult {
    write_addr(t, ptr, len, &s.local_addr())?;
    Ok(0)
}

pub(super) fn getpeername(t: &Task, s: &InetSocket, ptr: u64, len: u64) -> SysResult {
    write_addr(t, ptr, len, &s.peer_addr()?)?;
    Ok(0)
}

fn send_flags(s: &InetSocket, flags: i32) -> Result<IoFlags, Errno> {
    IoFlags::for_send(s.nonblocking(), flags)
}

fn recv_flags(s: &InetSocket, flags: i32) -> Result<IoFlags, Errno> {
    IoFlags::for_recv(s.nonblocking(), flags)
}

/// sendto(fd, buf, len, flags, addr, addrlen).
pub(super) fn sendto(t: &Task, s: &InetSocket, a: [u64; 6]) -> SysResult {
    let fl = send_flags(s, a[3] as i32)?;
    let src = buffer(t, a[1], a[2], false)?;
    let raw = if a[4] == 0 {
        Vec::new()
    } else {
        copy_addr(t, a[4], a[5])?
    };
    let to = send_addr(s, a[4], &raw)?;
    Ok(s.send(t, &src, to, fl)? as u64)
}

/// sendmsg: the iovecs to msg_name; control messages are ignored.
pub(super) fn sendmsg(t: &Task, s: &InetSocket, hdr: u64, flags: i32) -> SysResult {
    let fl = send_flags(s, flags)?;
    let m: MsgHdr = t.read_struct(hdr)?;
    let src = iov_buffer(t, m.iov, m.iovlen, false)?;
    let raw = if m.name == 0 {
        Vec::new()
    } else {
        copy_addr(t, m.name, u64::from(m.namelen))?
    };
    let to = send_addr(s, m.name, &raw)?;
    Ok(s.send(t, &src, to, fl)? as u64)
}

/// What a receive returns: a datagram's whole length with MSG_TRUNC.
fn result_len(s: &InetSocket, flags: i32, copied: usize, full: usize) -> u64 {
    if flags & libc::MSG_TRUNC != 0 && matches!(s.proto(), Proto::Udp(_)) {
        full as u64
    } else {
        copied as u64
    }
}

/// recvfrom: the sender's address for UDP; TCP reports none (length 0).
pub(super) fn recvfrom(t: &Task, s: &InetSocket, a: [u64; 6]) -> SysResult {
    let flags = a[3] as i32;
    let fl = recv_flags(s, flags)?;
    let dst = buffer(t, a[1], a[2], true)?;
    let got = s.recv(t, &dst, fl)?;
    if a[4] != 0 {
        write_addr(t, a[4], a[5], got.from.as_deref().unwrap_or_default())?;
    }
    Ok(result_len(s, flags, got.copied, got.full))
}

pub(super) fn recvmsg(t: &Task, s: &InetSocket, hdr: u64, flags: i32) -> SysResult {
    let fl = recv_flags(s, flags)?;
    let mut m: MsgHdr = t.read_struct(hdr)?;
    let dst = iov_buffer(t, m.iov, m.iovlen, true)?;
    let got = s.recv(t, &dst, fl)?;
    let from = got.from.unwrap_or_default();
    if m.name != 0 {
        let n = (m.namelen as usize).min(from.len());
        if n > 0 {
            t.mm.copy_out(m.name, &from[..n])?;
        }
        m.namelen = from.len() as u32;
    } else {
        m.namelen = 0;
    }
    m.controllen = 0;
    m.flags = if got.truncated { libc::MSG_TRUNC } else { 0 };
    t.write_struct(hdr, &m)?;
    Ok(result_len(s, flags, got.copied, got.full))
}

pub(super) fn getsockopt(t: &Task, s: &InetSocket, a: [u64; 6]) -> SysResult {
    let val = s.getsockopt(a[1] as i32, a[2] as i32)?;
    copy_opt_out(t, a[3], a[4], &val)?;
    Ok(0)
}

pub(super) fn setsockopt(t: &Task, s: &InetSocket, a: [u64; 6]) -> SysResult {
    let len = a[4] as u32 as i32;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; (len as usize).min(OPT_MAX)];
    if !raw.is_empty() {
        t.mm.copy_in(a[3], &mut raw)?;
    }
    s.setsockopt(a[1] as i32, a[2] as i32, &raw)?;
    Ok(0)
}

/// The inet socket a file is, if it is one.
pub(super) fn as_inet(file: &Arc<dyn crate::vfs::file::FileDescription>) -> Option<&InetSocket> {
    file.as_any()?.downcast_ref::<InetSocket>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_types_and_protocols_answer_as_linux_without_cap_net_raw() {
        let v4 = Family::V4;
        assert_eq!(inet_type(v4, libc::SOCK_STREAM, 0), Ok(true));
        assert_eq!(
            inet_type(v4, libc::SOCK_STREAM, libc::IPPROTO_TCP),
            Ok(true)
        );
        assert_eq!(
            inet_type(v4, libc::SOCK_DGRAM, libc::IPPROTO_UDP),
            Ok(false)
        );
        assert_eq!(
            inet_type(v4, libc::SOCK_STREAM, libc::IPPROTO_UDP),
            Err(Errno::EPROTONOSUPPORT)
        );
        assert_eq!(inet_type(v4, libc::SOCK_RAW, 1), Err(Errno::EPERM));
        assert_eq!(
            inet_type(v4, libc::SOCK_RAW, 0),
            Err(Errno::EPROTONOSUPPORT)
        );
        assert_eq!(
            inet_type(v4, libc::SOCK_SEQPACKET, 0),
            Err(Errno::ESOCKTNOSUPPORT)
        );
        assert_eq!(
            inet_type(Family::V6, libc::SOCK_DGRAM, libc::IPPROTO_ICMPV6),
            Err(Errno::EACCES)
        );
        assert_eq!(inet_type(v4, libc::SOCK_STREAM, 300), Err(Errno::EINVAL));
    }
}
