//! The socket syscalls: socket, socketpair, bind, connect, listen, accept,
//! accept4, getsockname, getpeername, sendto, recvfrom, sendmsg, recvmsg,
//! shutdown, getsockopt, setsockopt. AF_UNIX sockets are
//! `fsimpl::socket::unix`; AF_INET and AF_INET6 go to `socket_inet`
//! (loopback only); every other family is EAFNOSUPPORT. This layer reads
//! and writes app memory: addresses,
//! msghdrs, iovecs and control messages (SCM_RIGHTS, SCM_CREDENTIALS), and
//! resolves names: abstract ones in the sandbox's name table, path names
//! through the VFS, where bind makes an S_IFSOCK inode.

use std::sync::Arc;
use std::time::Duration;

use super::fs::{umask, user_pieces, walk_start, MAX_RW_COUNT};
use super::socket_inet::{self as inet, as_inet};
use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::socket::queue::Ucred;
use crate::fsimpl::socket::unix::{self, Endpoint, IoFlags, Kind, NameKey, UnixSocket};
use crate::kernel::Task;
use crate::mm::Segments;
use crate::vfs::file::FileDescription;
use crate::vfs::perm::{self, MAY_EXEC, MAY_WRITE};
use crate::vfs::walk::{self, Found, WalkOpts};
use crate::vfs::Ctx;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_socket,
        socket,
        Support::Partial,
        &[Int, Hex, Int],
        "AF_UNIX (stream, datagram, seqpacket); AF_INET/AF_INET6 TCP and UDP over loopback only \
         (127.0.0.0/8, ::1; other addresses EADDRNOTAVAIL/ENETUNREACH), SOCK_RAW EPERM; \
         AF_NETLINK and other families EAFNOSUPPORT",
    );
    t.set(
        libc::SYS_socketpair,
        socketpair,
        Support::Partial,
        &[Int, Hex, Int, Hex],
        "AF_UNIX only; AF_INET/AF_INET6 EOPNOTSUPP as in Linux, other families EAFNOSUPPORT",
    );
    t.set(libc::SYS_bind, bind, Support::Full, &[Fd, Hex, Int], "");
    t.set(
        libc::SYS_connect,
        connect,
        Support::Full,
        &[Fd, Hex, Int],
        "",
    );
    t.set(libc::SYS_listen, listen, Support::Full, &[Fd, Int], "");
    t.set(libc::SYS_accept, accept, Support::Full, &[Fd, Hex, Hex], "");
    t.set(
        libc::SYS_accept4,
        accept4,
        Support::Full,
        &[Fd, Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_getsockname,
        getsockname,
        Support::Full,
        &[Fd, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_getpeername,
        getpeername,
        Support::Full,
        &[Fd, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_sendto,
        sendto,
        Support::Partial,
        &[Fd, Buf(2), Int, Hex, Hex, Int],
        "MSG_OOB is EOPNOTSUPP; MSG_MORE and MSG_EOR are ignored",
    );
    t.set(
        libc::SYS_recvfrom,
        recvfrom,
        Support::Partial,
        &[Fd, Buf(2), Int, Hex, Hex, Hex],
        "MSG_OOB and MSG_ERRQUEUE are EOPNOTSUPP",
    );
    t.set(
        libc::SYS_sendmsg,
        sendmsg,
        Support::Partial,
        &[Fd, Hex, Hex],
        "SCM_RIGHTS and SCM_CREDENTIALS; files in flight that form a cycle are never freed; \
         control messages on inet sockets are ignored",
    );
    t.set(
        libc::SYS_recvmsg,
        recvmsg,
        Support::Partial,
        &[Fd, Hex, Hex],
        "SCM_RIGHTS and SCM_CREDENTIALS",
    );
    t.set(libc::SYS_shutdown, shutdown, Support::Full, &[Fd, Int], "");
    t.set(
        libc::SYS_getsockopt,
        getsockopt,
        Support::Partial,
        &[Fd, Int, Int, Hex, Hex],
        "AF_UNIX: SOL_SOCKET options only; inet: SOL_SOCKET, IPPROTO_TCP/UDP/IP/IPV6 options \
         read back as set",
    );
    t.set(
        libc::SYS_setsockopt,
        setsockopt,
        Support::Partial,
        &[Fd, Int, Int, Hex, Int],
        "AF_UNIX: SOL_SOCKET options only; SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, TCP_NODELAY, \
         IP_TOS… are kept but do nothing (SO_REUSEADDR/SO_REUSEPORT and IPV6_V6ONLY do act on \
         inet binds)",
    );
}

/// Linux's AF_MAX: families at or past it are EAFNOSUPPORT.
const AF_MAX: i32 = 46;
/// Linux's SOCK_MAX: types at or past it are EINVAL.
const SOCK_MAX: i32 = 11;
pub(super) const SOCK_TYPE_MASK: i32 = 0xf;
/// sizeof(struct sockaddr_storage): the longest address copied in.
const SOCKADDR_MAX: usize = 128;
/// sizeof(struct sockaddr_un).
const SOCKADDR_UN: usize = 110;
/// SCM_MAX_FD: files one message carries.
const SCM_MAX_FD: usize = 253;
const UIO_MAXIOV: u64 = 1024;
const CMSG_HDR: usize = 16;

fn cmsg_align(n: usize) -> usize {
    (n + 7) & !7
}

/// The checks socket(2) and socketpair(2) make of every family, in
/// Linux's order: the flags, the family's range, the type's.
fn common_args(domain: i32, ty: i32) -> Result<(), Errno> {
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if !(0..AF_MAX).contains(&domain) {
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty & SOCK_TYPE_MASK >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The type and the SOCK_NONBLOCK/SOCK_CLOEXEC flags of an AF_UNIX
/// socket(2) or socketpair(2), checked in Linux's order.
fn socket_args(domain: i32, ty: i32, protocol: i32) -> Result<(Kind, bool, bool), Errno> {
    common_args(domain, ty)?;
    let flags = ty & !SOCK_TYPE_MASK;
    let base = ty & SOCK_TYPE_MASK;
    if domain != libc::AF_UNIX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if protocol != 0 && protocol != libc::PF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let kind = Kind::from_linux(base).ok_or(Errno::ESOCKTNOSUPPORT)?;
    Ok((
        kind,
        flags & libc::SOCK_NONBLOCK != 0,
        flags & libc::SOCK_CLOEXEC != 0,
    ))
}

fn socket(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (domain, ty) = (a[0] as i32, a[1] as i32);
    if let Some(family) = inet::family(domain) {
        common_args(domain, ty)?;
        return inet::socket(t, family, ty, a[2] as i32);
    }
    let (kind, nonblock, cloexec) = socket_args(a[0] as i32, a[1] as i32, a[2] as i32)?;
    let s = UnixSocket::new(kind, UnixSocket::cred_of(t), nonblock);
    Ok(t.fds.install(s, cloexec)? as u64)
}

fn socketpair(t: &mut Task, a: [u64; 6]) -> SysResult {
    if inet::family(a[0] as i32).is_some() {
        common_args(a[0] as i32, a[1] as i32)?;
        return Err(Errno::EOPNOTSUPP);
    }
    let (kind, nonblock, cloexec) = socket_args(a[0] as i32, a[1] as i32, a[2] as i32)?;
    let (x, y) = unix::pair(kind, UnixSocket::cred_of(t), nonblock);
    let fx = t.fds.install(x, cloexec)?;
    let fy = match t.fds.install(y, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = t.fds.remove(fx);
            return Err(e);
        }
    };
    if let Err(e) = t.write_struct(a[3], &[fx, fy]) {
        let _ = t.fds.remove(fx);
        let _ = t.fds.remove(fy);
        return Err(e);
    }
    Ok(0)
}

/// The socket open at `fd`: EBADF, or ENOTSOCK for another kind of file.
fn socket_at(t: &Task, fd: u64) -> Result<Arc<dyn FileDescription>, Errno> {
    let file = t.fds.get(fd as i32)?;
    if as_socket(&file).is_none() && as_inet(&file).is_none() {
        return Err(Errno::ENOTSOCK);
    }
    Ok(file)
}

fn as_socket(file: &Arc<dyn FileDescription>) -> Option<&UnixSocket> {
    file.as_any()?.downcast_ref::<UnixSocket>()
}

/// `socket_at`'s socket, for a file it returned.
fn sock(file: &Arc<dyn FileDescription>) -> Result<&UnixSocket, Errno> {
    as_socket(file).ok_or(Errno::ENOTSOCK)
}

/// A sockaddr as AF_UNIX reads it.
enum Addr {
    /// AF_UNSPEC (a datagram connect's disconnect).
    Unspec,
    /// The family alone: autobind.
    Auto,
    /// An abstract name (sun_path's bytes, leading NUL included) and the
    /// address as given.
    Abstract(Vec<u8>, Vec<u8>),
    /// A path name and the address getsockname will report.
    Path(Vec<u8>, Vec<u8>),
}

/// Copies in and parses the sockaddr at `ptr` of `len` bytes: EINVAL for
/// a length past sockaddr_storage, EFAULT, then EINVAL for a short or long
/// address or one of another family.
fn read_addr(t: &Task, ptr: u64, len: u64) -> Result<Addr, Errno> {
    parse_addr(&copy_addr(t, ptr, len)?)
}

/// Copies in the sockaddr at `ptr` of `len` bytes, as Linux's
/// move_addr_to_kernel: EINVAL past sockaddr_storage, then EFAULT.
pub(super) fn copy_addr(t: &Task, ptr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let len = len as u32 as usize;
    if len > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; len];
    if len > 0 {
        t.mm.copy_in(ptr, &mut raw)?;
    }
    Ok(raw)
}

fn parse_addr(raw: &[u8]) -> Result<Addr, Errno> {
    if raw.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let family = i32::from(u16::from_ne_bytes([raw[0], raw[1]]));
    if family == libc::AF_UNSPEC {
        return Ok(Addr::Unspec);
    }
    if family != libc::AF_UNIX || raw.len() > SOCKADDR_UN {
        return Err(Errno::EINVAL);
    }
    if raw.len() == 2 {
        return Ok(Addr::Auto);
    }
    let path = &raw[2..];
    if path[0] == 0 {
        return Ok(Addr::Abstract(path.to_vec(), raw.to_vec()));
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    let name = path[..end].to_vec();
    let mut addr = raw[..2].to_vec();
    addr.extend_from_slice(&name);
    addr.push(0);
    Ok(Addr::Path(name, addr))
}

/// The socket bound to `addr`: ENOENT and the walk's errors for a path,
/// EACCES without write permission on the socket file, ECONNREFUSED where
/// no socket is bound.
fn resolve(t: &Task, kind: Kind, addr: &Addr) -> Result<Arc<Endpoint>, Errno> {
    let names = &t.kernel.unix_names;
    match addr {
        Addr::Abstract(name, _) => names
            .find(&NameKey::Abstract(kind, name.clone()))
            .ok_or(Errno::ECONNREFUSED),
        Addr::Path(path, _) => {
            let (root, start) = walk_start(t, libc::AT_FDCWD, path)?;
            let ctx = Ctx::of(t);
            let d = walk::lookup(&ctx, &root, &start, path, true)?;
            let st = d.stat(&ctx)?;
            perm::check(&st, &ctx.fs_cred(), MAY_WRITE)?;
            if st.file_type() != libc::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            names
                .find(&NameKey::Inode {
                    dev: st.dev,
                    ino: st.ino,
                })
                .ok_or(Errno::ECONNREFUSED)
        }
        Addr::Unspec | Addr::Auto => Err(Errno::EINVAL),
    }
}

fn bind(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::bind(t, s, a[1], a[2]);
    }
    let ep = sock(&file)?.endpoint();
    let addr = read_addr(t, a[1], a[2])?;
    let names = Arc::clone(&t.kernel.unix_names);
    match addr {
        Addr::Unspec => Err(Errno::EINVAL),
        Addr::Auto => ep.autobind(&names).map(|_| 0),
        Addr::Abstract(name, raw) => ep
            .bind(&names, NameKey::Abstract(ep.kind(), name), raw)
            .map(|_| 0),
        Addr::Path(path, raw) => {
            if ep.is_bound() {
                return Err(Errno::EINVAL);
            }
            let key = make_socket_file(t, &path)?;
            ep.bind(&names, key, raw).map(|_| 0)
        }
    }
}

/// bind's S_IFSOCK inode at `path` (EADDRINUSE if the name exists; EROFS
/// and EACCES as for mknod); its key in the name table.
fn make_socket_file(t: &Task, path: &[u8]) -> Result<NameKey, Errno> {
    let (root, start) = walk_start(t, libc::AT_FDCWD, path)?;
    let ctx = Ctx::of(t);
    let opts = WalkOpts {
        follow: false,
        allow_missing: true,
        ..WalkOpts::default()
    };
    let (parent, name) = match walk::walk(&ctx, &root, &start, path, opts)? {
        Found::Dentry(_) => return Err(Errno::EADDRINUSE),
        Found::Missing { parent, name, .. } => (parent, name),
    };
    if parent.read_only() {
        return Err(Errno::EROFS);
    }
    perm::check(&parent.stat(&ctx)?, &ctx.fs_cred(), MAY_WRITE | MAY_EXEC)?;
    let mode = libc::S_IFSOCK | (0o777 & !umask(t));
    parent.inode().mknod(&ctx, &name, mode, 0).map_err(|e| {
        if e == Errno::EEXIST {
            Errno::EADDRINUSE
        } else {
            e
        }
    })?;
    let st = parent.lookup_child(&ctx, &name)?.stat(&ctx)?;
    Ok(NameKey::Inode {
        dev: st.dev,
        ino: st.ino,
    })
}

fn connect(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::connect(t, s, a[1], a[2]);
    }
    let s = sock(&file)?;
    let ep = s.endpoint();
    let addr = read_addr(t, a[1], a[2])?;
    if matches!(addr, Addr::Unspec) {
        return ep.disconnect().map(|_| 0);
    }
    let target = resolve(t, ep.kind(), &addr)?;
    let names = Arc::clone(&t.kernel.unix_names);
    ep.connect(t, &names, target, UnixSocket::cred_of(t), s.nonblocking())?;
    Ok(0)
}

fn listen(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::listen(t, s, a[1] as i32);
    }
    sock(&file)?
        .endpoint()
        .listen(a[1] as i32, UnixSocket::cred_of(t))?;
    Ok(0)
}

fn accept(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_accept(t, a[0], a[1], a[2], 0)
}

fn accept4(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_accept(t, a[0], a[1], a[2], a[3] as i32)
}

fn do_accept(t: &Task, fd: u64, addr: u64, addrlen: u64, flags: i32) -> SysResult {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = socket_at(t, fd)?;
    if let Some(s) = as_inet(&file) {
        return inet::accept(t, s, addr, addrlen, flags);
    }
    let s = sock(&file)?;
    let ep = s.endpoint().accept(t, s.nonblocking())?;
    let peer = ep.peer_addr().unwrap_or_else(|_| unix::unnamed_addr());
    let new = UnixSocket::wrap(ep, flags & libc::SOCK_NONBLOCK != 0);
    if addr != 0 {
        write_addr(t, addr, addrlen, &peer)?;
    }
    Ok(t.fds.install(new, flags & libc::SOCK_CLOEXEC != 0)? as u64)
}

/// Copies an address out as getsockname and accept do: `*len` (EINVAL if
/// negative) bytes at most, then the full length into `*len`.
pub(super) fn write_addr(t: &Task, ptr: u64, len_ptr: u64, addr: &[u8]) -> Result<(), Errno> {
    let len: i32 = t.read_struct(len_ptr)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (len as usize).min(addr.len());
    if n > 0 {
        t.mm.copy_out(ptr, &addr[..n])?;
    }
    t.write_struct(len_ptr, &(addr.len() as i32))
}

fn getsockname(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::getsockname(t, s, a[1], a[2]);
    }
    let addr = sock(&file)?.endpoint().local_addr();
    write_addr(t, a[1], a[2], &addr)?;
    Ok(0)
}

fn getpeername(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::getpeername(t, s, a[1], a[2]);
    }
    let addr = sock(&file)?.endpoint().peer_addr()?;
    write_addr(t, a[1], a[2], &addr)?;
    Ok(0)
}

fn shutdown(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        s.shutdown(a[1] as i32)?;
        return Ok(0);
    }
    sock(&file)?.endpoint().shutdown(a[1] as i32)?;
    Ok(0)
}

/// `buf` of `len` bytes as memory-file pieces (`write`: for a receive).
pub(super) fn buffer(t: &Task, buf: u64, len: u64, write: bool) -> Result<Segments, Errno> {
    let len = (len as usize).min(MAX_RW_COUNT);
    let pieces = if len == 0 {
        Vec::new()
    } else {
        user_pieces(t, buf, len, write)?
    };
    Ok(super::fs::segments(t, pieces))
}

/// An iovec array as memory-file pieces (EINVAL past UIO_MAXIOV or for a
/// negative length, EFAULT for a bad buffer).
pub(super) fn iov_buffer(t: &Task, iov: u64, cnt: u64, write: bool) -> Result<Segments, Errno> {
    if cnt > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let mut raw = vec![0u8; cnt as usize * 16];
    t.mm.copy_in(iov, &mut raw)?;
    let mut pieces = Vec::new();
    let mut total = 0usize;
    for c in raw.chunks_exact(16) {
        let base = u64::from_ne_bytes(c[..8].try_into().unwrap_or_default());
        let len = u64::from_ne_bytes(c[8..].try_into().unwrap_or_default());
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let len = (len as usize).min(MAX_RW_COUNT - total);
        if len == 0 {
            continue;
        }
        pieces.extend(user_pieces(t, base, len, write)?);
        total += len;
    }
    Ok(super::fs::segments(t, pieces))
}

fn send_flags(s: &UnixSocket, flags: i32) -> Result<IoFlags, Errno> {
    IoFlags::for_send(s.nonblocking(), flags)
}

fn recv_flags(s: &UnixSocket, flags: i32) -> Result<IoFlags, Errno> {
    IoFlags::for_recv(s.nonblocking(), flags)
}

/// The destination of a send: only datagram sockets use one; a stream
/// socket given one fails (EISCONN connected, else EOPNOTSUPP), a
/// seqpacket socket ignores it.
fn destination(
    t: &Task,
    s: &UnixSocket,
    addr: u64,
    len: u64,
) -> Result<Option<Arc<Endpoint>>, Errno> {
    if addr == 0 || len == 0 {
        return Ok(None);
    }
    let parsed = read_addr(t, addr, len)?;
    match s.endpoint().kind() {
        Kind::Stream => Err(if s.endpoint().peer_addr().is_ok() {
            Errno::EISCONN
        } else {
            Errno::EOPNOTSUPP
        }),
        Kind::SeqPacket => Ok(None),
        Kind::Dgram => resolve(t, Kind::Dgram, &parsed).map(Some),
    }
}

/// The credentials of a message: the sender's, or those it gave in
/// SCM_CREDENTIALS, which must be its own (or any, for root).
fn default_cred(t: &Task) -> Ucred {
    Ucred {
        pid: t.tgid,
        uid: t.creds.uid,
        gid: t.creds.gid,
    }
}

fn check_cred(t: &Task, c: Ucred) -> Result<Ucred, Errno> {
    let root = t.creds.euid == 0;
    let cr = &t.creds;
    let pid_ok = c.pid == t.tgid || root;
    let uid_ok = [cr.uid, cr.euid, cr.suid].contains(&c.uid) || root;
    let gid_ok = [cr.gid, cr.egid, cr.sgid].contains(&c.gid) || root;
    if pid_ok && uid_ok && gid_ok {
        Ok(c)
    } else {
        Err(Errno::EPERM)
    }
}

fn sendto(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::sendto(t, s, a);
    }
    let s = sock(&file)?;
    let fl = send_flags(s, a[3] as i32)?;
    let src = buffer(t, a[1], a[2], false)?;
    let to = destination(t, s, a[4], a[5])?;
    let names = Arc::clone(&t.kernel.unix_names);
    let n = s
        .endpoint()
        .send(t, &names, &src, to, Vec::new(), default_cred(t), fl)?;
    Ok(n as u64)
}

/// struct msghdr: name, namelen, iov, iovlen, control, controllen, flags.
#[derive(Clone, Copy, Default)]
#[repr(C)]
pub(super) struct MsgHdr {
    pub name: u64,
    pub namelen: u32,
    _pad: u32,
    pub iov: u64,
    pub iovlen: u64,
    pub control: u64,
    pub controllen: u64,
    pub flags: i32,
    _pad2: u32,
}

/// Ancillary data a sender attached.
struct Control {
    rights: Vec<Arc<dyn FileDescription>>,
    cred: Option<Ucred>,
}

fn read_control(t: &Task, ptr: u64, len: u64) -> Result<Control, Errno> {
    let mut c = Control {
        rights: Vec::new(),
        cred: None,
    };
    if len == 0 {
        return Ok(c);
    }
    if len > i32::MAX as u64 {
        return Err(Errno(libc::ENOBUFS));
    }
    let mut buf = vec![0u8; len as usize];
    t.mm.copy_in(ptr, &mut buf)?;
    let mut at = 0;
    while at + CMSG_HDR <= buf.len() {
        let clen = u64::from_ne_bytes(buf[at..at + 8].try_into().unwrap_or_default()) as usize;
        let level = i32::from_ne_bytes(buf[at + 8..at + 12].try_into().unwrap_or_default());
        let ty = i32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap_or_default());
        if clen < CMSG_HDR || clen > buf.len() - at {
            return Err(Errno::EINVAL);
        }
        if level != libc::SOL_SOCKET {
            return Err(Errno::EINVAL);
        }
        let data = &buf[at + CMSG_HDR..at + clen];
        match ty {
            libc::SCM_RIGHTS => {
                let n = data.len() / 4;
                if n == 0 || c.rights.len() + n > SCM_MAX_FD {
                    return Err(Errno::EINVAL);
                }
                for fd in data.chunks_exact(4) {
                    let fd = i32::from_ne_bytes(fd.try_into().unwrap_or_default());
                    c.rights.push(t.fds.get(fd)?);
                }
            }
            libc::SCM_CREDENTIALS => {
                if data.len() != 12 {
                    return Err(Errno::EINVAL);
                }
                let w = |i: usize| data[i..i + 4].try_into().unwrap_or_default();
                let cred = Ucred {
                    pid: i32::from_ne_bytes(w(0)),
                    uid: u32::from_ne_bytes(w(4)),
                    gid: u32::from_ne_bytes(w(8)),
                };
                c.cred = Some(check_cred(t, cred)?);
            }
            _ => return Err(Errno::EINVAL),
        }
        at += cmsg_align(clen);
    }
    Ok(c)
}

fn sendmsg(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::sendmsg(t, s, a[1], a[2] as i32);
    }
    let s = sock(&file)?;
    let fl = send_flags(s, a[2] as i32)?;
    let m: MsgHdr = t.read_struct(a[1])?;
    let src = iov_buffer(t, m.iov, m.iovlen, false)?;
    let ctl = read_control(t, m.control, m.controllen)?;
    let to = destination(t, s, m.name, u64::from(m.namelen))?;
    let cred = ctl.cred.unwrap_or_else(|| default_cred(t));
    let names = Arc::clone(&t.kernel.unix_names);
    let n = s
        .endpoint()
        .send(t, &names, &src, to, ctl.rights, cred, fl)?;
    Ok(n as u64)
}

fn recvfrom(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::recvfrom(t, s, a);
    }
    let s = sock(&file)?;
    let flags = a[3] as i32;
    let fl = recv_flags(s, flags)?;
    let dst = buffer(t, a[1], a[2], true)?;
    let r = s.endpoint().recv(t, &dst, fl)?;
    if a[4] != 0 {
        let from = r.taken.from.clone().unwrap_or_default();
        write_addr(t, a[4], a[5], &from)?;
    }
    Ok(result_len(s, flags, &r.taken))
}

/// What a receive returns: a datagram's full length with MSG_TRUNC.
fn result_len(s: &UnixSocket, flags: i32, tk: &crate::fsimpl::socket::queue::Taken) -> u64 {
    if flags & libc::MSG_TRUNC != 0 && s.endpoint().kind() != Kind::Stream {
        tk.full as u64
    } else {
        tk.copied as u64
    }
}

/// Appends one control message to `out`, cut to what is left of `room`
/// (setting `ctrunc` when cut), as Linux's put_cmsg.
fn put_cmsg(out: &mut Vec<u8>, room: usize, ty: i32, data: &[u8], ctrunc: &mut bool) {
    let left = room - out.len();
    if left < CMSG_HDR {
        *ctrunc = true;
        return;
    }
    let full = CMSG_HDR + data.len();
    let len = full.min(left);
    if len < full {
        *ctrunc = true;
    }
    out.extend_from_slice(&(len as u64).to_ne_bytes());
    out.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&data[..len - CMSG_HDR]);
    let end = (out.len() - len + cmsg_align(len)).min(room);
    out.resize(end.max(out.len()), 0);
}

/// Builds the control messages of a receive into at most `room` bytes:
/// SCM_CREDENTIALS, then SCM_RIGHTS with the files installed in the
/// receiver's fd table (as many as fit; MSG_CTRUNC for the rest).
fn build_control(
    t: &Task,
    room: usize,
    cred: Option<Ucred>,
    rights: Vec<Arc<dyn FileDescription>>,
    cloexec: bool,
    ctrunc: &mut bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(c) = cred {
        let mut d = Vec::with_capacity(12);
        d.extend_from_slice(&c.pid.to_ne_bytes());
        d.extend_from_slice(&c.uid.to_ne_bytes());
        d.extend_from_slice(&c.gid.to_ne_bytes());
        put_cmsg(&mut out, room, libc::SCM_CREDENTIALS, &d, ctrunc);
    }
    if !rights.is_empty() {
        let count = rights.len();
        let fit = (room - out.len()).saturating_sub(CMSG_HDR) / 4;
        let mut fds = Vec::new();
        for f in rights.into_iter().take(fit) {
            match t.fds.install(f, cloexec) {
                Ok(fd) => fds.push(fd),
                Err(_) => break,
            }
        }
        if fds.len() < count {
            *ctrunc = true;
        }
        if !fds.is_empty() {
            let d: Vec<u8> = fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect();
            put_cmsg(&mut out, room, libc::SCM_RIGHTS, &d, ctrunc);
        }
    }
    out
}

fn recvmsg(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::recvmsg(t, s, a[1], a[2] as i32);
    }
    let s = sock(&file)?;
    let flags = a[2] as i32;
    let fl = recv_flags(s, flags)?;
    let mut m: MsgHdr = t.read_struct(a[1])?;
    let dst = iov_buffer(t, m.iov, m.iovlen, true)?;
    let r = s.endpoint().recv(t, &dst, fl)?;
    let tk = r.taken;
    let mut out_flags = flags & libc::MSG_CMSG_CLOEXEC;
    if tk.truncated {
        out_flags |= libc::MSG_TRUNC;
    }
    if m.name != 0 {
        let from = tk.from.clone().unwrap_or_default();
        let n = (m.namelen as usize).min(from.len());
        if n > 0 {
            t.mm.copy_out(m.name, &from[..n])?;
        }
        m.namelen = from.len() as u32;
    } else {
        m.namelen = 0;
    }
    let cred = if r.passcred {
        Some(tk.cred.unwrap_or(Ucred {
            pid: 0,
            uid: u32::MAX,
            gid: u32::MAX,
        }))
    } else {
        None
    };
    let room = if m.control == 0 {
        0
    } else {
        m.controllen.min(i32::MAX as u64) as usize
    };
    let mut ctrunc = false;
    let got_rights = !tk.rights.is_empty();
    let ctl = build_control(
        t,
        room,
        cred,
        tk.rights.clone(),
        flags & libc::MSG_CMSG_CLOEXEC != 0,
        &mut ctrunc,
    );
    if (ctrunc || (room == 0 && (got_rights || cred.is_some()))) && (got_rights || cred.is_some()) {
        out_flags |= libc::MSG_CTRUNC;
    }
    if !ctl.is_empty() {
        t.mm.copy_out(m.control, &ctl)?;
    }
    m.controllen = ctl.len() as u64;
    m.flags = out_flags;
    t.write_struct(a[1], &m)?;
    Ok(result_len(s, flags, &tk))
}

/// Reads an int option value (EINVAL when shorter than an int).
fn int_opt(t: &Task, ptr: u64, len: u64) -> Result<i32, Errno> {
    if (len as u32 as usize) < 4 {
        return Err(Errno::EINVAL);
    }
    t.read_struct(ptr)
}

/// Options stored and reported back with no effect here; the booleans
/// read back as 0 or 1.
const PLAIN_BOOL: [i32; 8] = [
    libc::SO_REUSEADDR,
    libc::SO_KEEPALIVE,
    libc::SO_BROADCAST,
    libc::SO_DONTROUTE,
    libc::SO_OOBINLINE,
    libc::SO_REUSEPORT,
    libc::SO_PASSSEC,
    libc::SO_TIMESTAMP,
];

fn setsockopt(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::setsockopt(t, s, a);
    }
    let ep = sock(&file)?.endpoint();
    let (level, opt, ptr, len) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    if level != libc::SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    match opt {
        libc::SO_PASSCRED => ep.set_passcred(int_opt(t, ptr, len)? != 0),
        libc::SO_SNDBUF | libc::SO_SNDBUFFORCE => ep.set_buf_size(true, int_opt(t, ptr, len)?),
        libc::SO_RCVBUF | libc::SO_RCVBUFFORCE => ep.set_buf_size(false, int_opt(t, ptr, len)?),
        libc::SO_RCVTIMEO | libc::SO_SNDTIMEO => {
            if (len as u32 as usize) < 16 {
                return Err(Errno::EINVAL);
            }
            let tv: [i64; 2] = t.read_struct(ptr)?;
            if !(0..1_000_000).contains(&tv[1]) {
                return Err(Errno::EDOM);
            }
            let d = if tv[0] < 0 || (tv[0] == 0 && tv[1] == 0) {
                None
            } else {
                Some(Duration::new(tv[0] as u64, tv[1] as u32 * 1000))
            };
            ep.set_timeout(opt == libc::SO_SNDTIMEO, d);
        }
        libc::SO_LINGER => {
            if (len as u32 as usize) < 8 {
                return Err(Errno::EINVAL);
            }
            let l: [i32; 2] = t.read_struct(ptr)?;
            ep.set_plain_option(opt, i32::from(l[0] != 0));
            ep.set_plain_option(-opt, l[1]);
        }
        libc::SO_PRIORITY => ep.set_plain_option(opt, int_opt(t, ptr, len)?),
        libc::SO_RCVLOWAT => ep.set_plain_option(opt, int_opt(t, ptr, len)?.max(1)),
        o if PLAIN_BOOL.contains(&o) => {
            ep.set_plain_option(o, i32::from(int_opt(t, ptr, len)? != 0))
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(0)
}

fn getsockopt(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = socket_at(t, a[0])?;
    if let Some(s) = as_inet(&file) {
        return inet::getsockopt(t, s, a);
    }
    let ep = sock(&file)?.endpoint();
    let (level, opt, ptr, len_ptr) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    if level != libc::SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    let int = |v: i32| v.to_ne_bytes().to_vec();
    let val: Vec<u8> = match opt {
        libc::SO_TYPE => int(ep.kind().linux()),
        libc::SO_DOMAIN => int(libc::AF_UNIX),
        libc::SO_PROTOCOL => int(0),
        libc::SO_ERROR => int(ep.take_error().map_or(0, |e| e.0)),
        libc::SO_ACCEPTCONN => int(i32::from(ep.is_listening())),
        libc::SO_PASSCRED => int(i32::from(ep.passcred())),
        libc::SO_SNDBUF => int(ep.buf_sizes().0 as i32),
        libc::SO_RCVBUF => int(ep.buf_sizes().1 as i32),
        libc::SO_PEERCRED => {
            let c = ep.peer_cred();
            let mut v = c.pid.to_ne_bytes().to_vec();
            v.extend_from_slice(&c.uid.to_ne_bytes());
            v.extend_from_slice(&c.gid.to_ne_bytes());
            v
        }
        libc::SO_RCVTIMEO | libc::SO_SNDTIMEO => {
            let d = ep.timeout(opt == libc::SO_SNDTIMEO).unwrap_or_default();
            let mut v = (d.as_secs() as i64).to_ne_bytes().to_vec();
            v.extend_from_slice(&i64::from(d.subsec_micros()).to_ne_bytes());
            v
        }
        libc::SO_LINGER => {
            let mut v = int(ep.plain_option(opt));
            v.extend_from_slice(&ep.plain_option(-opt).to_ne_bytes());
            v
        }
        libc::SO_RCVLOWAT => int(ep.plain_option(opt).max(1)),
        libc::SO_SNDLOWAT => int(1),
        libc::SO_PRIORITY => int(ep.plain_option(opt)),
        o if PLAIN_BOOL.contains(&o) => int(ep.plain_option(o)),
        _ => return Err(Errno::ENOPROTOOPT),
    };
    copy_opt_out(t, ptr, len_ptr, &val)?;
    Ok(0)
}

/// Copies an option value out as getsockopt does: at most `*len_ptr`
/// bytes (EINVAL if negative), then the length copied into `*len_ptr`.
pub(super) fn copy_opt_out(t: &Task, ptr: u64, len_ptr: u64, val: &[u8]) -> Result<(), Errno> {
    let len: i32 = t.read_struct(len_ptr)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (len as usize).min(val.len());
    if n > 0 {
        t.mm.copy_out(ptr, &val[..n])?;
    }
    t.write_struct(len_ptr, &(n as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(path: &[u8]) -> Vec<u8> {
        let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(path);
        v
    }

    #[test]
    fn a_path_address_ends_at_its_first_nul() {
        match parse_addr(&un(b"/tmp/s\0junk")) {
            Ok(Addr::Path(p, addr)) => {
                assert_eq!(p, b"/tmp/s");
                assert_eq!(addr, un(b"/tmp/s\0"));
            }
            _ => panic!("not a path"),
        }
    }

    #[test]
    fn an_abstract_address_keeps_every_byte() {
        match parse_addr(&un(b"\0ab\0c")) {
            Ok(Addr::Abstract(n, _)) => assert_eq!(n, b"\0ab\0c"),
            _ => panic!("not abstract"),
        }
    }

    #[test]
    fn the_family_alone_is_autobind_and_short_or_foreign_ones_are_einval() {
        assert!(matches!(parse_addr(&un(b"")), Ok(Addr::Auto)));
        assert!(matches!(parse_addr(&[1]), Err(Errno::EINVAL)));
        let inet = (libc::AF_INET as u16).to_ne_bytes();
        assert!(matches!(parse_addr(&inet), Err(Errno::EINVAL)));
        assert!(matches!(parse_addr(&un(&[b'a'; 109])), Err(Errno::EINVAL)));
    }

    #[test]
    fn socket_types_and_families_are_checked_in_linux_order() {
        let s = libc::SOCK_STREAM;
        assert_eq!(
            socket_args(libc::AF_UNIX, s | 0x10, 0).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            socket_args(libc::AF_NETLINK, s, 0).err(),
            Some(Errno::EAFNOSUPPORT)
        );
        assert_eq!(socket_args(99, s, 0).err(), Some(Errno::EAFNOSUPPORT));
        assert_eq!(socket_args(libc::AF_UNIX, 12, 0).err(), Some(Errno::EINVAL));
        assert_eq!(
            socket_args(libc::AF_UNIX, 4, 0).err(),
            Some(Errno::ESOCKTNOSUPPORT)
        );
        assert_eq!(
            socket_args(libc::AF_UNIX, s, 6).err(),
            Some(Errno::EPROTONOSUPPORT)
        );
        assert!(matches!(
            socket_args(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0),
            Ok((Kind::Dgram, false, true))
        ));
    }
}
