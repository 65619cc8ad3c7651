//! AF_INET and AF_INET6 sockets over loopback only, wholly inside the
//! sentry: no packet is ever built and nothing leaves the sandbox (the
//! sentry has no host socket and its network namespace is empty). A TCP
//! connection joins two stream endpoints of the AF_UNIX code directly
//! (`stream`), a UDP datagram lands straight in its receiver's queue
//! (`dgram`); the sandbox-wide port tables (`ports`) stand in for routing
//! and demultiplexing, and `addr` parses and renders sockaddr_in/in6.
//! Reachable: 127.0.0.0/8, ::1 and v4-mapped loopback; the wildcards
//! bind to all of it. `iface` shows the one interface, lo; `opts` keeps
//! the options that only read back. AF_NETLINK stays EAFNOSUPPORT.

pub mod addr;
pub mod dgram;
pub mod iface;
pub mod opts;
pub mod ports;
pub mod stream;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use self::addr::Family;
use self::dgram::{Dgram, UdpPorts};
use self::opts::Options;
use self::ports::{BindOpts, Ports};
use self::stream::{Stream, TcpPorts};
use super::queue::Ucred;
use super::unix::{buf_size, IoFlags};
use crate::errno::{Errno, SysResult};
use crate::kernel::task::Task;
use crate::kernel::waiter::WaitQueue;
use crate::mm::Segments;
use crate::vfs::dirfile::with_setfl;
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

/// The anonymous device number sockets report in fstat.
const SOCKFS_DEV: u64 = 8;
/// CAP_NET_BIND_SERVICE: binding ports below 1024.
const CAP_NET_BIND_SERVICE: u32 = 10;
/// SIOCOUTQ (TIOCOUTQ): bytes not yet sent; always 0 here.
const SIOCOUTQ: u64 = 0x5411;

/// The sandbox's port tables.
pub struct Stack {
    pub tcp: Arc<TcpPorts>,
    pub udp: Arc<UdpPorts>,
}

impl Default for Stack {
    fn default() -> Stack {
        Stack {
            tcp: Arc::new(Ports::new(true)),
            udp: Arc::new(Ports::new(false)),
        }
    }
}

/// The protocol half of a socket.
pub enum Proto {
    Tcp(Stream),
    Udp(Arc<Dgram>),
}

/// Options with a shape of their own.
struct Special {
    v6only: bool,
    /// SO_LINGER: l_onoff, l_linger.
    linger: (i32, i32),
    plain: Options,
}

/// An AF_INET or AF_INET6 socket: what its fd refers to.
pub struct InetSocket {
    family: Family,
    proto: Proto,
    flags: AtomicI32,
    special: Mutex<Special>,
    uid: u32,
    gid: u32,
}

/// What a receive took.
pub struct Got {
    pub copied: usize,
    /// A datagram's whole length (MSG_TRUNC).
    pub full: usize,
    pub truncated: bool,
    /// The sender (UDP), rendered for this socket's family.
    pub from: Option<Vec<u8>>,
}

impl InetSocket {
    fn build(family: Family, proto: Proto, cred: Ucred, nonblock: bool) -> Arc<InetSocket> {
        let tcp = matches!(proto, Proto::Tcp(_));
        Arc::new(InetSocket {
            family,
            proto,
            flags: AtomicI32::new(libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 }),
            special: Mutex::new(Special {
                v6only: false,
                linger: (0, 0),
                plain: Options::new(family, tcp),
            }),
            uid: cred.uid,
            gid: cred.gid,
        })
    }

    /// A new TCP (`tcp`) or UDP socket.
    pub fn new(family: Family, tcp: bool, cred: Ucred, nonblock: bool) -> Arc<InetSocket> {
        let proto = if tcp {
            Proto::Tcp(Stream::new(family, cred))
        } else {
            Proto::Udp(Dgram::new(family))
        };
        InetSocket::build(family, proto, cred, nonblock)
    }

    fn special(&self) -> MutexGuard<'_, Special> {
        self.special.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn proto(&self) -> &Proto {
        &self.proto
    }

    pub fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & libc::O_NONBLOCK != 0
    }

    pub fn v6only(&self) -> bool {
        self.special().v6only
    }

    fn bind_opts(&self) -> BindOpts {
        let s = self.special();
        BindOpts {
            v6only: s.v6only,
            reuseaddr: s.plain.flag(libc::SOL_SOCKET, libc::SO_REUSEADDR),
            reuseport: s.plain.flag(libc::SOL_SOCKET, libc::SO_REUSEPORT),
        }
    }

    pub fn bind(&self, t: &Task, a: SocketAddr) -> Result<(), Errno> {
        let low = t.creds.has_cap(CAP_NET_BIND_SERVICE);
        let opts = self.bind_opts();
        match &self.proto {
            Proto::Tcp(s) => s.bind(&t.kernel.inet.tcp, a, opts, low),
            Proto::Udp(d) => d.bind(&t.kernel.inet.udp, a, opts, low),
        }
    }

    /// connect; `to` None is AF_UNSPEC (a UDP socket forgets its peer).
    pub fn connect(&self, t: &Task, to: Option<SocketAddr>, cred: Ucred) -> Result<(), Errno> {
        let opts = self.bind_opts();
        match (&self.proto, to) {
            (Proto::Tcp(_), None) => Err(Errno::EINVAL),
            (Proto::Tcp(s), Some(to)) => {
                s.connect(t, &t.kernel.inet.tcp, to, opts, cred, self.nonblocking())
            }
            (Proto::Udp(d), to) => d.connect(&t.kernel.inet.udp, to, opts),
        }
    }

    pub fn listen(&self, t: &Task, backlog: i32, cred: Ucred) -> Result<(), Errno> {
        match &self.proto {
            Proto::Tcp(s) => s.listen(&t.kernel.inet.tcp, backlog, self.bind_opts(), cred),
            Proto::Udp(_) => Err(Errno::EOPNOTSUPP),
        }
    }

    /// accept: the new socket and its peer's address.
    pub fn accept(&self, t: &Task, nonblock: bool) -> Result<(Arc<InetSocket>, SocketAddr), Errno> {
        let Proto::Tcp(s) = &self.proto else {
            return Err(Errno::EOPNOTSUPP);
        };
        let conn = s.accept(t, self.nonblocking())?;
        let peer = conn
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::new(self.family.any(), 0));
        let cred = Ucred {
            pid: t.tgid,
            uid: self.uid,
            gid: self.gid,
        };
        Ok((
            InetSocket::build(self.family, Proto::Tcp(conn), cred, nonblock),
            peer,
        ))
    }

    /// getsockname's sockaddr.
    pub fn local_addr(&self) -> Vec<u8> {
        let a = match &self.proto {
            Proto::Tcp(s) => s.local_addr(),
            Proto::Udp(d) => d.local_addr(),
        };
        addr::render(self.family, a)
    }

    /// getpeername's sockaddr: ENOTCONN without a peer.
    pub fn peer_addr(&self) -> Result<Vec<u8>, Errno> {
        let a = match &self.proto {
            Proto::Tcp(s) => s.peer_addr()?,
            Proto::Udp(d) => d.peer_addr()?,
        };
        Ok(addr::render(self.family, a))
    }

    pub fn render(&self, a: SocketAddr) -> Vec<u8> {
        addr::render(self.family, a)
    }

    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        match &self.proto {
            Proto::Tcp(s) => s.shutdown(how),
            Proto::Udp(d) => d.shutdown(how),
        }
    }

    /// Sends `src`; `to` matters only to UDP (TCP ignores it, as Linux's
    /// TCP does without fast open).
    pub fn send(
        &self,
        t: &Task,
        src: &Segments,
        to: Option<SocketAddr>,
        fl: IoFlags,
    ) -> Result<usize, Errno> {
        match &self.proto {
            Proto::Tcp(s) => {
                let cred = Ucred {
                    pid: t.tgid,
                    uid: t.creds.uid,
                    gid: t.creds.gid,
                };
                s.send(t, src, cred, fl)
            }
            Proto::Udp(d) => d.send(t, &t.kernel.inet.udp, src, to, self.bind_opts(), fl),
        }
    }

    pub fn recv(&self, t: &Task, dst: &Segments, fl: IoFlags) -> Result<Got, Errno> {
        match &self.proto {
            Proto::Tcp(s) => {
                let r = s.recv(t, dst, fl)?;
                Ok(Got {
                    copied: r.taken.copied,
                    full: r.taken.copied,
                    truncated: false,
                    from: None,
                })
            }
            Proto::Udp(d) => {
                let tk = d.recv(t, dst, fl)?;
                let from = tk
                    .from
                    .as_deref()
                    .and_then(addr::decode)
                    .map(|a| addr::render(self.family, a));
                Ok(Got {
                    copied: tk.copied,
                    full: tk.full,
                    truncated: tk.truncated,
                    from,
                })
            }
        }
    }

    fn is_tcp(&self) -> bool {
        matches!(self.proto, Proto::Tcp(_))
    }

    /// getsockopt's value bytes: ENOPROTOOPT for an unknown option.
    pub fn getsockopt(&self, level: i32, opt: i32) -> Result<Vec<u8>, Errno> {
        let int = |v: i32| v.to_ne_bytes().to_vec();
        let time = |d: Option<Duration>| {
            let d = d.unwrap_or_default();
            let mut v = (d.as_secs() as i64).to_ne_bytes().to_vec();
            v.extend_from_slice(&i64::from(d.subsec_micros()).to_ne_bytes());
            v
        };
        let (sndbuf, rcvbuf) = match &self.proto {
            Proto::Tcp(s) => s.endpoint().buf_sizes(),
            Proto::Udp(d) => d.buf_sizes(),
        };
        let timeout = |send: bool| match &self.proto {
            Proto::Tcp(s) => s.endpoint().timeout(send),
            Proto::Udp(d) => d.timeout(send),
        };
        let v = match (level, opt) {
            (libc::SOL_SOCKET, libc::SO_TYPE) => int(if self.is_tcp() {
                libc::SOCK_STREAM
            } else {
                libc::SOCK_DGRAM
            }),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => int(self.family.linux()),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => int(if self.is_tcp() {
                libc::IPPROTO_TCP
            } else {
                libc::IPPROTO_UDP
            }),
            (libc::SOL_SOCKET, libc::SO_ERROR) => int(match &self.proto {
                Proto::Tcp(s) => s.endpoint().take_error().map_or(0, |e| e.0),
                Proto::Udp(_) => 0,
            }),
            (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => int(i32::from(match &self.proto {
                Proto::Tcp(s) => s.is_listening(),
                Proto::Udp(_) => false,
            })),
            (libc::SOL_SOCKET, libc::SO_SNDBUF) => int(sndbuf as i32),
            (libc::SOL_SOCKET, libc::SO_RCVBUF) => int(rcvbuf as i32),
            (libc::SOL_SOCKET, libc::SO_SNDLOWAT) => int(1),
            (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => time(timeout(false)),
            (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => time(timeout(true)),
            (libc::SOL_SOCKET, libc::SO_LINGER) => {
                let (on, secs) = self.special().linger;
                let mut v = int(on);
                v.extend_from_slice(&secs.to_ne_bytes());
                v
            }
            (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if self.family == Family::V6 => {
                int(i32::from(self.special().v6only))
            }
            (level, opt) => int(self.special().plain.get(level, opt)?),
        };
        Ok(v)
    }

    /// setsockopt with the option's bytes: EINVAL when shorter than the
    /// option, ENOPROTOOPT for an unknown one.
    pub fn setsockopt(&self, level: i32, opt: i32, raw: &[u8]) -> Result<(), Errno> {
        let int = || -> Result<i32, Errno> {
            let b: [u8; 4] = raw
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(Errno::EINVAL)?;
            Ok(i32::from_ne_bytes(b))
        };
        match (level, opt) {
            (libc::SOL_SOCKET, libc::SO_SNDBUF | libc::SO_SNDBUFFORCE) => {
                self.set_buf(true, int()?)
            }
            (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_RCVBUFFORCE) => {
                self.set_buf(false, int()?)
            }
            (libc::SOL_SOCKET, libc::SO_RCVTIMEO | libc::SO_SNDTIMEO) => {
                let b: [u8; 16] = raw
                    .get(..16)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Errno::EINVAL)?;
                let secs = i64::from_ne_bytes(b[..8].try_into().map_err(|_| Errno::EINVAL)?);
                let usec = i64::from_ne_bytes(b[8..].try_into().map_err(|_| Errno::EINVAL)?);
                if !(0..1_000_000).contains(&usec) {
                    return Err(Errno::EDOM);
                }
                let d = if secs < 0 || (secs == 0 && usec == 0) {
                    None
                } else {
                    Some(Duration::new(secs as u64, usec as u32 * 1000))
                };
                let send = opt == libc::SO_SNDTIMEO;
                match &self.proto {
                    Proto::Tcp(s) => s.endpoint().set_timeout(send, d),
                    Proto::Udp(dg) => dg.set_timeout(send, d),
                }
            }
            (libc::SOL_SOCKET, libc::SO_LINGER) => {
                let b: [u8; 8] = raw
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Errno::EINVAL)?;
                let on = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                let secs = i32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
                self.special().linger = (i32::from(on != 0), secs);
            }
            (libc::SOL_SOCKET, libc::SO_RCVLOWAT) => {
                let v = int()?.max(1);
                self.special().plain.set(level, opt, v)?;
            }
            (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if self.family == Family::V6 => {
                let v = int()?;
                if self.bound() {
                    return Err(Errno::EINVAL);
                }
                self.special().v6only = v != 0;
            }
            _ => {
                let v = int()?;
                self.special().plain.set(level, opt, v)?;
            }
        }
        Ok(())
    }

    /// Whether the socket holds a port (IPV6_V6ONLY is fixed from then).
    fn bound(&self) -> bool {
        let a = match &self.proto {
            Proto::Tcp(s) => s.local_addr(),
            Proto::Udp(d) => d.local_addr(),
        };
        a.port() != 0
    }

    fn set_buf(&self, send: bool, val: i32) {
        match &self.proto {
            Proto::Tcp(s) => s.endpoint().set_buf_size(send, val),
            Proto::Udp(d) => d.set_buf_size(send, buf_size(send, val)),
        }
    }

    fn ino(&self) -> u64 {
        match &self.proto {
            Proto::Tcp(s) => s.endpoint().ino(),
            Proto::Udp(d) => d.ino(),
        }
    }

    fn io_flags(&self) -> IoFlags {
        IoFlags {
            nonblock: self.nonblocking(),
            ..IoFlags::default()
        }
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        if let Proto::Udp(d) = &self.proto {
            d.close();
        }
    }
}

impl FileDescription for InetSocket {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        Ok(self.recv(t, dst, self.io_flags())?.copied)
    }

    fn write_task(&self, t: &Task, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        self.send(t, src, None, self.io_flags())
    }

    fn readiness(&self, mask: u32) -> u32 {
        let ev = match &self.proto {
            Proto::Tcp(s) => s.endpoint().events(),
            Proto::Udp(d) => d.events(),
        };
        ev & mask
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(match &self.proto {
            Proto::Tcp(s) => s.endpoint().wait_queue(),
            Proto::Udp(d) => d.wait_queue(),
        })
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: SOCKFS_DEV,
            ino: self.ino(),
            mode: libc::S_IFSOCK | 0o777,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: (0, 0),
            mtime: (0, 0),
            ctime: (0, 0),
            btime: (0, 0),
        })
    }

    fn ioctl(&self, task: &mut Task, cmd: u64, arg: u64) -> SysResult {
        match cmd {
            libc::FIONREAD => {
                let n = match &self.proto {
                    Proto::Tcp(s) => s.endpoint().unread(),
                    Proto::Udp(d) => d.unread(),
                };
                task.write_struct(arg, &(n.min(i32::MAX as usize) as i32))?;
                Ok(0)
            }
            SIOCOUTQ => {
                task.write_struct(arg, &0i32)?;
                Ok(0)
            }
            _ => iface::ioctl(task, cmd, arg).unwrap_or(Err(Errno::ENOTTY)),
        }
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        let old = self.flags.load(Ordering::Relaxed);
        self.flags.store(with_setfl(old, flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        format!("socket:[{}]", self.ino())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
