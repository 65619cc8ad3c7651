//! AF_UNIX sockets, wholly inside the sentry: SOCK_STREAM, SOCK_DGRAM and
//! SOCK_SEQPACKET. An `Endpoint` is one socket's kernel state (its receive
//! queue, its connection, its name); a `UnixSocket` is the open file that
//! holds it, and closing the last one releases the endpoint. Data goes
//! straight into the receiver's queue; the sender is told (through its
//! wait queue) when the receiver takes a message, so poll and blocked
//! writers see room. Names live in the sandbox-wide `Names` table: an
//! abstract name by its bytes, a path name by the (dev, ino) of the
//! S_IFSOCK inode bind made for it, so a name lasts as long as its socket
//! and a path works only while its file does. Never more than one
//! endpoint lock is held at a time.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::queue::{Message, MsgQueue, Taken, Ucred};
use crate::errno::{Errno, SysResult};
use crate::kernel::task::Task;
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;
use crate::vfs::dirfile::with_setfl;
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

const POLLIN: Events = (libc::POLLIN | libc::POLLRDNORM) as Events;
const POLLOUT: Events = (libc::POLLOUT | libc::POLLWRNORM) as Events;
const POLLHUP: Events = libc::POLLHUP as Events;
const POLLERR: Events = libc::POLLERR as Events;
const POLLRDHUP: Events = libc::POLLRDHUP as Events;

/// Linux's defaults and bounds for SO_SNDBUF/SO_RCVBUF (net.core.wmem_max
/// and rmem_max, SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF).
pub const DEFAULT_BUF: usize = 212_992;
const MIN_SNDBUF: usize = 4608;
const MIN_RCVBUF: usize = 2304;
/// net.unix.max_dgram_qlen: datagrams a receiver queues.
const MAX_DGRAM_QLEN: usize = 512;
/// net.core.somaxconn: the largest listen backlog.
pub const SOMAXCONN: usize = 4096;
/// The anonymous device number sockets report in fstat.
const SOCKFS_DEV: u64 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Stream,
    Dgram,
    SeqPacket,
}

impl Kind {
    /// From socket(2)'s type (flags stripped); SOCK_RAW is SOCK_DGRAM, as
    /// Linux has it for AF_UNIX.
    pub fn from_linux(ty: i32) -> Option<Kind> {
        match ty {
            libc::SOCK_STREAM => Some(Kind::Stream),
            libc::SOCK_DGRAM | libc::SOCK_RAW => Some(Kind::Dgram),
            libc::SOCK_SEQPACKET => Some(Kind::SeqPacket),
            _ => None,
        }
    }

    pub fn linux(self) -> i32 {
        match self {
            Kind::Stream => libc::SOCK_STREAM,
            Kind::Dgram => libc::SOCK_DGRAM,
            Kind::SeqPacket => libc::SOCK_SEQPACKET,
        }
    }

    /// Connection-based (stream and seqpacket).
    fn connected_kind(self) -> bool {
        self != Kind::Dgram
    }
}

/// What a bound name is found by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NameKey {
    /// An abstract name: sun_path's bytes, the leading NUL included. As
    /// in Linux, each socket type has its own abstract namespace.
    Abstract(Kind, Vec<u8>),
    /// A path name: its socket inode.
    Inode { dev: u64, ino: u64 },
}

/// The sandbox-wide table of bound names.
#[derive(Default)]
pub struct Names {
    map: Mutex<HashMap<NameKey, Weak<Endpoint>>>,
    next_auto: AtomicU64,
}

impl Names {
    fn lock(&self) -> MutexGuard<'_, HashMap<NameKey, Weak<Endpoint>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live socket bound to `key`.
    pub fn find(&self, key: &NameKey) -> Option<Arc<Endpoint>> {
        self.lock().get(key).and_then(Weak::upgrade)
    }

    fn insert(&self, key: &NameKey, ep: &Arc<Endpoint>) -> Result<(), Errno> {
        let mut m = self.lock();
        if m.get(key).is_some_and(|w| w.strong_count() > 0) {
            return Err(Errno(libc::EADDRINUSE));
        }
        m.insert(key.clone(), Arc::downgrade(ep));
        Ok(())
    }

    fn remove(&self, key: &NameKey, ep: *const Endpoint) {
        let mut m = self.lock();
        if m.get(key).is_some_and(|w| w.as_ptr() == ep) {
            m.remove(key);
        }
    }

    /// A free autobind name: NUL and five hex digits, as Linux picks.
    fn auto_name(&self, kind: Kind) -> Result<Vec<u8>, Errno> {
        for _ in 0..0x10_0000 {
            let n = self.next_auto.fetch_add(1, Ordering::Relaxed) & 0xf_ffff;
            let name = format!("\0{n:05x}").into_bytes();
            if self.find(&NameKey::Abstract(kind, name.clone())).is_none() {
                return Ok(name);
            }
        }
        Err(Errno::ENOSPC)
    }
}

/// A bound name: the address getsockname reports and, for an AF_UNIX
/// name, its entry in the name table (inet sockets keep their port in
/// their own table and leave it out).
#[derive(Clone)]
struct Name {
    /// The sockaddr_un bytes (family included), as long as they count; an
    /// inet socket's encoded address.
    addr: Vec<u8>,
    slot: Option<(NameKey, Arc<Names>)>,
}

/// The family alone: the address of an unbound socket.
pub fn unnamed_addr() -> Vec<u8> {
    (libc::AF_UNIX as u16).to_ne_bytes().to_vec()
}

enum Conn {
    Unconnected,
    Listening {
        backlog: usize,
        pending: VecDeque<Arc<Endpoint>>,
    },
    /// Streams: the peer; datagrams: the default destination.
    Connected(Arc<Endpoint>),
}

struct State {
    conn: Conn,
    recv: MsgQueue,
    name: Option<Name>,
    /// RCV_SHUTDOWN: reads past the queue see EOF.
    shut_rd: bool,
    /// SEND_SHUTDOWN: writes fail with EPIPE.
    shut_wr: bool,
    closed: bool,
    /// SO_ERROR (sk_err).
    error: Option<Errno>,
    passcred: bool,
    sndbuf: usize,
    rcvbuf: usize,
    /// SO_PEERCRED.
    peer_cred: Option<Ucred>,
    /// Whose socket this is: the creator's, or the listener's at listen().
    cred: Ucred,
    rcvtimeo: Option<Duration>,
    sndtimeo: Option<Duration>,
    /// Options accepted and reported back but with no effect here.
    plain: HashMap<i32, i32>,
}

/// One socket's kernel state.
pub struct Endpoint {
    kind: Kind,
    /// Notified with POLLIN when data or a connection arrives, POLLOUT
    /// when room is made, everything on shutdown and close.
    queue: Arc<WaitQueue>,
    state: Mutex<State>,
    ino: u64,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 20);

/// A fresh socket inode number (fstat's st_ino, "socket:[N]").
pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// How a send or receive was asked for.
#[derive(Clone, Copy, Default)]
pub struct IoFlags {
    pub nonblock: bool,
    pub peek: bool,
    pub waitall: bool,
    pub nosignal: bool,
}

impl IoFlags {
    /// A send's MSG_* `flags` on a socket whose description is
    /// `nonblocking`; MSG_OOB is EOPNOTSUPP (no socket here has urgent data).
    pub fn for_send(nonblocking: bool, flags: i32) -> Result<IoFlags, Errno> {
        if flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(IoFlags {
            nonblock: nonblocking || flags & libc::MSG_DONTWAIT != 0,
            nosignal: flags & libc::MSG_NOSIGNAL != 0,
            ..IoFlags::default()
        })
    }

    /// A receive's MSG_* `flags`; MSG_OOB and MSG_ERRQUEUE are EOPNOTSUPP.
    pub fn for_recv(nonblocking: bool, flags: i32) -> Result<IoFlags, Errno> {
        if flags & (libc::MSG_OOB | libc::MSG_ERRQUEUE) != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(IoFlags {
            nonblock: nonblocking || flags & libc::MSG_DONTWAIT != 0,
            peek: flags & libc::MSG_PEEK != 0,
            waitall: flags & libc::MSG_WAITALL != 0,
            nosignal: false,
        })
    }
}

/// shutdown(2)'s `how` as (reading ends, writing ends); EINVAL otherwise.
pub fn shutdown_sides(how: i32) -> Result<(bool, bool), Errno> {
    match how {
        libc::SHUT_RD => Ok((true, false)),
        libc::SHUT_WR => Ok((false, true)),
        libc::SHUT_RDWR => Ok((true, true)),
        _ => Err(Errno::EINVAL),
    }
}

/// What a receive returns besides the data.
pub struct Received {
    pub taken: Taken,
    /// SO_PASSCRED was on: deliver SCM_CREDENTIALS.
    pub passcred: bool,
}

impl Endpoint {
    pub fn new(kind: Kind, cred: Ucred) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            kind,
            queue: Arc::new(WaitQueue::new()),
            state: Mutex::new(State {
                conn: Conn::Unconnected,
                recv: MsgQueue::new(),
                name: None,
                shut_rd: false,
                shut_wr: false,
                closed: false,
                error: None,
                passcred: false,
                sndbuf: DEFAULT_BUF,
                rcvbuf: DEFAULT_BUF,
                peer_cred: None,
                cred,
                rcvtimeo: None,
                sndtimeo: None,
                plain: HashMap::new(),
            }),
            ino: next_ino(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Closes this endpoint: its name goes, its queue is dropped, a
    /// connected peer sees EOF (and ECONNRESET when data was left unread
    /// or the connection was never accepted), pending connections are
    /// refused.
    fn release(self: &Arc<Self>, embryo: bool) {
        let (conn, msgs, name, unread) = {
            let mut st = self.lock();
            st.closed = true;
            st.shut_rd = true;
            st.shut_wr = true;
            let unread = !st.recv.is_empty();
            let conn = std::mem::replace(&mut st.conn, Conn::Unconnected);
            // The address stays for a peer's getpeername; the name goes.
            let slot = st.name.as_mut().and_then(|n| n.slot.take());
            (conn, st.recv.clear(), slot, unread)
        };
        if let Some((key, table)) = name {
            table.remove(&key, Arc::as_ptr(self));
        }
        match conn {
            Conn::Connected(peer) if self.kind.connected_kind() => {
                {
                    let mut p = peer.lock();
                    p.shut_rd = true;
                    p.shut_wr = true;
                    if unread || embryo {
                        p.error = Some(Errno(libc::ECONNRESET));
                    }
                }
                peer.queue.notify(Events::MAX);
            }
            Conn::Listening { pending, .. } => {
                for p in pending {
                    p.release(true);
                }
            }
            _ => {}
        }
        self.queue.notify(Events::MAX);
        drop(msgs);
    }

    /// bind: EINVAL if already bound, EADDRINUSE if the name is taken.
    pub fn bind(
        self: &Arc<Self>,
        table: &Arc<Names>,
        key: NameKey,
        addr: Vec<u8>,
    ) -> Result<(), Errno> {
        let mut st = self.lock();
        if st.name.is_some() {
            return Err(Errno::EINVAL);
        }
        table.insert(&key, self)?;
        st.name = Some(Name {
            addr,
            slot: Some((key, Arc::clone(table))),
        });
        Ok(())
    }

    /// Names the endpoint with `addr` outside any name table (an inet
    /// socket's address, its port held in the port table).
    pub fn set_address(&self, addr: Vec<u8>) {
        self.lock().name = Some(Name { addr, slot: None });
    }

    /// Closes the endpoint as its last file does (for the files of other
    /// families built on it).
    pub fn close(self: &Arc<Self>) {
        self.release(false);
    }

    pub fn wait_queue(&self) -> &WaitQueue {
        &self.queue
    }

    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// Whether the connected peer has closed.
    pub fn peer_closed(&self) -> bool {
        let peer = match &self.lock().conn {
            Conn::Connected(p) => Arc::clone(p),
            _ => return false,
        };
        let closed = peer.lock().closed;
        closed
    }

    /// Connected (a stream's peer, or a datagram's default destination).
    pub fn is_connected(&self) -> bool {
        matches!(self.lock().conn, Conn::Connected(_))
    }

    pub fn is_bound(&self) -> bool {
        self.lock().name.is_some()
    }

    /// Binds to a fresh abstract name (bind with only the family, or a
    /// send or connect with SO_PASSCRED on and no name).
    pub fn autobind(self: &Arc<Self>, table: &Arc<Names>) -> Result<(), Errno> {
        loop {
            let name = table.auto_name(self.kind)?;
            let mut addr = unnamed_addr();
            addr.extend_from_slice(&name);
            match self.bind(table, NameKey::Abstract(self.kind, name), addr) {
                Err(e) if e.0 == libc::EADDRINUSE => continue,
                r => return r,
            }
        }
    }

    fn autobind_for_cred(self: &Arc<Self>, table: &Arc<Names>) -> Result<(), Errno> {
        let need = {
            let st = self.lock();
            st.passcred && st.name.is_none()
        };
        if need {
            match self.autobind(table) {
                Err(e) if e == Errno::EINVAL => {}
                r => r?,
            }
        }
        Ok(())
    }

    /// getsockname's address.
    pub fn local_addr(&self) -> Vec<u8> {
        self.lock()
            .name
            .as_ref()
            .map_or_else(unnamed_addr, |n| n.addr.clone())
    }

    /// getpeername's address: ENOTCONN without a peer.
    pub fn peer_addr(&self) -> Result<Vec<u8>, Errno> {
        let peer = match &self.lock().conn {
            Conn::Connected(p) => Arc::clone(p),
            _ => return Err(Errno(libc::ENOTCONN)),
        };
        Ok(peer.local_addr())
    }

    /// listen: EOPNOTSUPP for datagrams, EINVAL unbound or connected.
    pub fn listen(&self, backlog: i32, cred: Ucred) -> Result<(), Errno> {
        if self.kind == Kind::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = if backlog < 0 || backlog as usize > SOMAXCONN {
            SOMAXCONN
        } else {
            backlog as usize
        };
        let mut st = self.lock();
        if st.name.is_none() {
            return Err(Errno::EINVAL);
        }
        match &mut st.conn {
            Conn::Connected(_) => return Err(Errno::EINVAL),
            Conn::Listening { backlog: b, .. } => *b = backlog,
            Conn::Unconnected => {
                st.conn = Conn::Listening {
                    backlog,
                    pending: VecDeque::new(),
                };
                st.cred = cred;
            }
        }
        drop(st);
        self.queue.notify(Events::MAX);
        Ok(())
    }

    pub fn is_listening(&self) -> bool {
        matches!(self.lock().conn, Conn::Listening { .. })
    }

    /// connect of a stream or seqpacket socket to the listener `target`.
    pub fn connect(
        self: &Arc<Self>,
        t: &Task,
        table: &Arc<Names>,
        target: Arc<Endpoint>,
        cred: Ucred,
        nonblock: bool,
    ) -> Result<(), Errno> {
        self.connect_as(t, Some(table), target, cred, nonblock, None)
    }

    /// connect, naming the accepted end `accepted` when given (an inet
    /// connection's local address is the one connected to, not the
    /// listener's), else as the listener is named.
    pub fn connect_as(
        self: &Arc<Self>,
        t: &Task,
        table: Option<&Arc<Names>>,
        target: Arc<Endpoint>,
        cred: Ucred,
        nonblock: bool,
        accepted: Option<Vec<u8>>,
    ) -> Result<(), Errno> {
        if self.kind == Kind::Dgram {
            if target.kind != Kind::Dgram {
                return Err(Errno(libc::EPROTOTYPE));
            }
            if let Some(table) = table {
                self.autobind_for_cred(table)?;
            }
            self.lock().conn = Conn::Connected(target);
            return Ok(());
        }
        match self.lock().conn {
            Conn::Connected(_) => return Err(Errno(libc::EISCONN)),
            Conn::Listening { .. } => return Err(Errno::EINVAL),
            Conn::Unconnected => {}
        }
        if target.kind != self.kind {
            return Err(Errno(libc::EPROTOTYPE));
        }
        if let Some(table) = table {
            self.autobind_for_cred(table)?;
        }
        let deadline = self.lock().sndtimeo.map(|d| Instant::now() + d);
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&target.queue, Events::MAX);
            let server = {
                let mut ts = target.lock();
                let (listener_cred, passcred) = (ts.cred, ts.passcred);
                let name = match &accepted {
                    Some(addr) => Some(Name {
                        addr: addr.clone(),
                        slot: None,
                    }),
                    None => ts.name.clone(),
                };
                if ts.closed {
                    return Err(Errno(libc::ECONNREFUSED));
                }
                let Conn::Listening { backlog, pending } = &mut ts.conn else {
                    return Err(Errno(libc::ECONNREFUSED));
                };
                if pending.len() <= *backlog {
                    let server = Endpoint::new(self.kind, listener_cred);
                    {
                        let mut ss = server.lock();
                        ss.conn = Conn::Connected(Arc::clone(self));
                        ss.peer_cred = Some(cred);
                        ss.passcred = passcred;
                        ss.name = name;
                    }
                    pending.push_back(Arc::clone(&server));
                    Some((server, listener_cred))
                } else {
                    None
                }
            };
            if let Some((server, listener_cred)) = server {
                target.queue.notify(POLLIN);
                let mut st = self.lock();
                if matches!(st.conn, Conn::Connected(_)) {
                    drop(st);
                    server.release(true);
                    return Err(Errno(libc::EISCONN));
                }
                st.conn = Conn::Connected(server);
                st.peer_cred = Some(listener_cred);
                return Ok(());
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            if !t.block(seen, deadline)? {
                return Err(Errno::EAGAIN);
            }
        }
    }

    /// connect(AF_UNSPEC) of a datagram socket: forget the peer.
    pub fn disconnect(&self) -> Result<(), Errno> {
        if self.kind != Kind::Dgram {
            return Err(Errno::EINVAL);
        }
        self.lock().conn = Conn::Unconnected;
        Ok(())
    }

    /// accept: the next pending connection.
    pub fn accept(&self, t: &Task, nonblock: bool) -> Result<Arc<Endpoint>, Errno> {
        if self.kind == Kind::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let deadline = self.lock().rcvtimeo.map(|d| Instant::now() + d);
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLIN | POLLHUP | POLLERR);
            {
                let mut st = self.lock();
                let Conn::Listening { pending, .. } = &mut st.conn else {
                    return Err(Errno::EINVAL);
                };
                if let Some(p) = pending.pop_front() {
                    drop(st);
                    self.queue.notify(POLLOUT);
                    return Ok(p);
                }
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            if !t.block(seen, deadline)? {
                return Err(Errno::EAGAIN);
            }
        }
    }

    /// shutdown with SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2).
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        let (rd, wr) = shutdown_sides(how)?;
        let peer = {
            let mut st = self.lock();
            let peer = match &st.conn {
                Conn::Connected(p) => Some(Arc::clone(p)),
                _ => None,
            };
            st.shut_rd |= rd;
            st.shut_wr |= wr;
            peer
        };
        self.queue.notify(Events::MAX);
        if let Some(peer) = peer.filter(|_| self.kind.connected_kind()) {
            {
                let mut p = peer.lock();
                p.shut_rd |= wr;
                p.shut_wr |= rd;
            }
            peer.queue.notify(Events::MAX);
        }
        Ok(())
    }

    /// Sends the bytes of `src` (with `rights` and `cred`) to the peer, or
    /// for a datagram socket to `to` if given.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        self: &Arc<Self>,
        t: &Task,
        table: &Arc<Names>,
        src: &Segments,
        to: Option<Arc<Endpoint>>,
        rights: Vec<Arc<dyn FileDescription>>,
        cred: Ucred,
        fl: IoFlags,
    ) -> Result<usize, Errno> {
        match self.kind {
            Kind::Stream => {
                if to.is_some() {
                    return Err(if matches!(self.lock().conn, Conn::Connected(_)) {
                        Errno(libc::EISCONN)
                    } else {
                        Errno::EOPNOTSUPP
                    });
                }
                self.send_stream(t, src, rights, cred, fl)
            }
            Kind::SeqPacket => self.send_packet(t, table, src, None, rights, cred, fl),
            Kind::Dgram => self.send_packet(t, table, src, to, rights, cred, fl),
        }
    }

    fn epipe(t: &Task, fl: IoFlags) -> Errno {
        if !fl.nosignal {
            crate::kernel::signal_hooks::raise_sigpipe(t);
        }
        Errno::EPIPE
    }

    fn send_stream(
        self: &Arc<Self>,
        t: &Task,
        src: &Segments,
        rights: Vec<Arc<dyn FileDescription>>,
        cred: Ucred,
        fl: IoFlags,
    ) -> Result<usize, Errno> {
        let (peer, sndbuf, from, deadline) = {
            let mut st = self.lock();
            let peer = match &st.conn {
                Conn::Connected(p) => Arc::clone(p),
                _ => return Err(st.error.take().unwrap_or(Errno(libc::ENOTCONN))),
            };
            if st.shut_wr {
                drop(st);
                return Err(Self::epipe(t, fl));
            }
            let from = st.name.as_ref().map(|n| n.addr.clone());
            (
                peer,
                st.sndbuf,
                from,
                st.sndtimeo.map(|d| Instant::now() + d),
            )
        };
        let total = src.len();
        let mut done = 0;
        let mut rights = Some(rights);
        while done < total {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLOUT | POLLERR | POLLHUP);
            reg.add(&peer.queue, POLLOUT);
            let shut_wr = self.lock().shut_wr;
            let sent = {
                let mut ps = peer.lock();
                if ps.closed || ps.shut_rd || shut_wr {
                    drop(ps);
                    let e = Self::epipe(t, fl);
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
                let room = sndbuf.saturating_sub(ps.recv.bytes());
                let n = room.min(total - done);
                if n > 0 {
                    let mut data = vec![0u8; n];
                    src.read_at(done, &mut data);
                    let mut m = Message::new(data, cred);
                    m.rights = rights.take().unwrap_or_default();
                    m.from = from.clone();
                    m.sender = Some(Arc::downgrade(&self.queue));
                    ps.recv.push(m);
                }
                n
            };
            if sent > 0 {
                done += sent;
                peer.queue.notify(POLLIN);
                continue;
            }
            if fl.nonblock {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            match t.block(seen, deadline) {
                Ok(true) => {}
                Ok(false) => {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EAGAIN)
                    }
                }
                Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            }
        }
        Ok(done)
    }

    #[allow(clippy::too_many_arguments)]
    fn send_packet(
        self: &Arc<Self>,
        t: &Task,
        table: &Arc<Names>,
        src: &Segments,
        to: Option<Arc<Endpoint>>,
        rights: Vec<Arc<dyn FileDescription>>,
        cred: Ucred,
        fl: IoFlags,
    ) -> Result<usize, Errno> {
        let len = src.len();
        self.autobind_for_cred(table)?;
        let (target, from, deadline) = {
            let mut st = self.lock();
            if let Some(e) = st.error.take() {
                return Err(e);
            }
            if self.kind == Kind::SeqPacket && !matches!(st.conn, Conn::Connected(_)) {
                return Err(Errno(libc::ENOTCONN));
            }
            if st.shut_wr {
                drop(st);
                return Err(Self::epipe(t, fl));
            }
            if len > st.sndbuf.saturating_sub(32) {
                return Err(Errno(libc::EMSGSIZE));
            }
            let target = match (to, &st.conn) {
                (Some(to), _) => to,
                (None, Conn::Connected(p)) => Arc::clone(p),
                (None, _) => return Err(Errno(libc::ENOTCONN)),
            };
            let from = st.name.as_ref().map(|n| n.addr.clone());
            (target, from, st.sndtimeo.map(|d| Instant::now() + d))
        };
        if target.kind != self.kind {
            return Err(Errno(libc::EPROTOTYPE));
        }
        let mut data = vec![0u8; len];
        src.read_at(0, &mut data);
        let mut msg = Some(Message {
            data,
            start: 0,
            rights,
            cred,
            from,
            sender: Some(Arc::downgrade(&self.queue)),
        });
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLOUT | POLLERR | POLLHUP);
            reg.add(&target.queue, POLLOUT);
            {
                let mut ts = target.lock();
                if ts.closed {
                    drop(ts);
                    let mut st = self.lock();
                    if matches!(&st.conn, Conn::Connected(p) if Arc::ptr_eq(p, &target)) {
                        if self.kind == Kind::SeqPacket {
                            drop(st);
                            return Err(Self::epipe(t, fl));
                        }
                        st.conn = Conn::Unconnected;
                    }
                    return Err(Errno(libc::ECONNREFUSED));
                }
                if self.kind == Kind::Dgram {
                    if let Conn::Connected(p) = &ts.conn {
                        if !Arc::ptr_eq(p, self) {
                            return Err(Errno::EPERM);
                        }
                    }
                }
                if ts.shut_rd {
                    drop(ts);
                    return Err(Self::epipe(t, fl));
                }
                let full = ts.recv.count() >= MAX_DGRAM_QLEN
                    || (!ts.recv.is_empty() && ts.recv.bytes() + len > ts.rcvbuf);
                if !full {
                    if let Some(m) = msg.take() {
                        ts.recv.push(m);
                    }
                    drop(ts);
                    target.queue.notify(POLLIN);
                    return Ok(len);
                }
            }
            if fl.nonblock {
                return Err(Errno::EAGAIN);
            }
            if !t.block(seen, deadline)? {
                return Err(Errno::EAGAIN);
            }
        }
    }

    /// Receives into `dst`.
    pub fn recv(&self, t: &Task, dst: &Segments, fl: IoFlags) -> Result<Received, Errno> {
        let total = dst.len();
        let deadline = self.lock().rcvtimeo.map(|d| Instant::now() + d);
        let mut acc: Option<Taken> = None;
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLIN | POLLHUP | POLLERR | POLLRDHUP);
            let (got, passcred) = {
                let mut st = self.lock();
                match (&st.conn, self.kind) {
                    (Conn::Connected(_), _) | (_, Kind::Dgram) => {}
                    (_, Kind::Stream) if !st.closed && !st.shut_rd => return Err(Errno::EINVAL),
                    (_, Kind::SeqPacket) if !st.shut_rd => return Err(Errno(libc::ENOTCONN)),
                    _ => {}
                }
                let passcred = st.passcred;
                let got = if self.kind == Kind::Stream {
                    let at = acc.as_ref().map_or(0, |a| a.copied);
                    if total == 0 {
                        return Ok(Received {
                            taken: Taken::default(),
                            passcred,
                        });
                    }
                    let tk = st.recv.read_stream(
                        &mut |off, bytes| {
                            dst.fill_at(at + off, bytes);
                        },
                        total - at,
                        fl.peek,
                        passcred,
                    );
                    (tk.copied > 0).then_some(tk)
                } else {
                    st.recv.read_packet(
                        &mut |off, bytes| {
                            dst.fill_at(off, bytes);
                        },
                        total,
                        fl.peek,
                    )
                };
                match got {
                    Some(tk) => (Some(tk), passcred),
                    None => {
                        if acc.is_some() {
                            (None, passcred)
                        } else if let Some(e) = st.error.take() {
                            return Err(e);
                        } else if st.shut_rd {
                            return Ok(Received {
                                taken: Taken::default(),
                                passcred,
                            });
                        } else {
                            (None, passcred)
                        }
                    }
                }
            };
            if let Some(tk) = got {
                if !fl.peek {
                    self.queue.notify(POLLOUT);
                    for s in &tk.senders {
                        if let Some(q) = s.upgrade() {
                            q.notify(POLLOUT);
                        }
                    }
                }
                let tk = match acc.take() {
                    None => tk,
                    Some(mut a) => {
                        a.copied += tk.copied;
                        a.full += tk.full;
                        a.rights.extend(tk.rights);
                        a
                    }
                };
                let more = fl.waitall
                    && !fl.peek
                    && self.kind == Kind::Stream
                    && tk.copied < total
                    && tk.rights.is_empty();
                if !more {
                    return Ok(Received {
                        taken: tk,
                        passcred,
                    });
                }
                acc = Some(tk);
                continue;
            }
            // Nothing more to take: a partial MSG_WAITALL read ends at EOF.
            if acc.is_some() && (fl.nonblock || self.lock().shut_rd) {
                let taken = acc.take().unwrap_or_default();
                return Ok(Received { taken, passcred });
            }
            if fl.nonblock {
                return Err(Errno::EAGAIN);
            }
            let r = t.block(seen, deadline);
            match (r, acc.take()) {
                (Ok(true), a) => acc = a,
                (Ok(false), Some(a)) | (Err(_), Some(a)) => {
                    return Ok(Received { taken: a, passcred })
                }
                (Ok(false), None) => return Err(Errno::EAGAIN),
                (Err(e), None) => return Err(e),
            }
        }
    }

    /// The poll events ready now.
    pub fn events(&self) -> Events {
        let (mut ev, peer) = {
            let st = self.lock();
            if let Conn::Listening { pending, .. } = &st.conn {
                return if pending.is_empty() { 0 } else { POLLIN };
            }
            let mut ev = 0;
            if !st.recv.is_empty() {
                ev |= POLLIN;
            }
            if st.shut_rd {
                ev |= POLLIN | POLLRDHUP;
            }
            if st.shut_rd && st.shut_wr {
                ev |= POLLHUP;
            }
            if st.error.is_some() {
                ev |= POLLERR;
            }
            let peer = match &st.conn {
                Conn::Connected(p) => Some(Arc::clone(p)),
                _ => {
                    if self.kind.connected_kind() {
                        ev |= POLLHUP;
                    }
                    None
                }
            };
            if st.shut_wr {
                ev |= POLLOUT;
            }
            (ev, peer.map(|p| (p, st.sndbuf)))
        };
        match peer {
            None => ev |= POLLOUT,
            Some((p, sndbuf)) => {
                let ps = p.lock();
                let room = if self.kind == Kind::Stream {
                    ps.recv.bytes() < sndbuf
                } else {
                    ps.closed || (ps.recv.count() < MAX_DGRAM_QLEN && ps.recv.bytes() < ps.rcvbuf)
                };
                if room {
                    ev |= POLLOUT;
                }
            }
        }
        ev
    }

    /// FIONREAD: unread bytes (a stream) or the next datagram's length.
    pub fn unread(&self) -> usize {
        let st = self.lock();
        if self.kind == Kind::Stream {
            st.recv.bytes()
        } else {
            st.recv.next_len().unwrap_or(0)
        }
    }

    pub fn passcred(&self) -> bool {
        self.lock().passcred
    }

    pub fn set_passcred(&self, on: bool) {
        self.lock().passcred = on;
    }

    /// SO_SNDBUF / SO_RCVBUF as getsockopt reports them.
    pub fn buf_sizes(&self) -> (usize, usize) {
        let st = self.lock();
        (st.sndbuf, st.rcvbuf)
    }

    /// setsockopt SO_SNDBUF (`send`) or SO_RCVBUF: doubled and clamped as Linux does.
    pub fn set_buf_size(&self, send: bool, val: i32) {
        let v = buf_size(send, val);
        let mut st = self.lock();
        if send {
            st.sndbuf = v;
        } else {
            st.rcvbuf = v;
        }
        drop(st);
        self.queue.notify(POLLOUT);
    }

    /// SO_PEERCRED: pid 0 and ids -1 with no peer.
    pub fn peer_cred(&self) -> Ucred {
        self.lock().peer_cred.unwrap_or(Ucred {
            pid: 0,
            uid: u32::MAX,
            gid: u32::MAX,
        })
    }

    /// Leaves `e` pending for SO_ERROR (and poll's POLLERR).
    pub fn set_error(&self, e: Errno) {
        self.lock().error = Some(e);
        self.queue.notify(Events::MAX);
    }

    /// SO_ERROR: the pending error, cleared.
    pub fn take_error(&self) -> Option<Errno> {
        self.lock().error.take()
    }

    /// SO_RCVTIMEO (`send` false) / SO_SNDTIMEO.
    pub fn timeout(&self, send: bool) -> Option<Duration> {
        let st = self.lock();
        if send {
            st.sndtimeo
        } else {
            st.rcvtimeo
        }
    }

    pub fn set_timeout(&self, send: bool, d: Option<Duration>) {
        let mut st = self.lock();
        if send {
            st.sndtimeo = d;
        } else {
            st.rcvtimeo = d;
        }
    }

    /// An option kept only to be read back (SO_REUSEADDR, SO_KEEPALIVE…).
    pub fn plain_option(&self, opt: i32) -> i32 {
        self.lock().plain.get(&opt).copied().unwrap_or(0)
    }

    pub fn set_plain_option(&self, opt: i32, val: i32) {
        self.lock().plain.insert(opt, val);
    }
}

/// What SO_SNDBUF (`send`) or SO_RCVBUF set to `val` becomes: doubled and
/// clamped as Linux does.
pub fn buf_size(send: bool, val: i32) -> usize {
    let v = (val.max(0) as usize).min(DEFAULT_BUF) * 2;
    v.max(if send { MIN_SNDBUF } else { MIN_RCVBUF })
}

/// A pair of connected sockets (socketpair).
pub fn pair(kind: Kind, cred: Ucred, nonblock: bool) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
    let a = Endpoint::new(kind, cred);
    let b = Endpoint::new(kind, cred);
    for (x, y) in [(&a, &b), (&b, &a)] {
        let mut st = x.lock();
        st.conn = Conn::Connected(Arc::clone(y));
        st.peer_cred = Some(cred);
    }
    (UnixSocket::wrap(a, nonblock), UnixSocket::wrap(b, nonblock))
}

/// An AF_UNIX socket: what a socket fd refers to.
pub struct UnixSocket {
    ep: Arc<Endpoint>,
    flags: AtomicI32,
    uid: u32,
    gid: u32,
}

impl UnixSocket {
    /// A new unconnected socket owned by `cred`.
    pub fn new(kind: Kind, cred: Ucred, nonblock: bool) -> Arc<UnixSocket> {
        UnixSocket::wrap(Endpoint::new(kind, cred), nonblock)
    }

    /// The file for an endpoint (a new socket, or an accepted connection).
    pub fn wrap(ep: Arc<Endpoint>, nonblock: bool) -> Arc<UnixSocket> {
        let cred = ep.lock().cred;
        Arc::new(UnixSocket {
            ep,
            flags: AtomicI32::new(libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 }),
            uid: cred.uid,
            gid: cred.gid,
        })
    }

    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.ep
    }

    pub fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & libc::O_NONBLOCK != 0
    }

    /// The credentials a task's send carries and its connect leaves.
    pub fn cred_of(t: &Task) -> Ucred {
        Ucred {
            pid: t.tgid,
            uid: t.creds.euid,
            gid: t.creds.egid,
        }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        self.ep.release(false);
    }
}

impl FileDescription for UnixSocket {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let fl = IoFlags {
            nonblock: self.nonblocking(),
            ..IoFlags::default()
        };
        let r = self.ep.recv(t, dst, fl)?;
        // Files sent with a plain read are dropped, as Linux drops them.
        Ok(r.taken.copied)
    }

    fn write_task(&self, t: &Task, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let fl = IoFlags {
            nonblock: self.nonblocking(),
            ..IoFlags::default()
        };
        let table = Arc::clone(&t.kernel.unix_names);
        self.ep
            .send(t, &table, src, None, Vec::new(), UnixSocket::cred_of(t), fl)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.ep.events() & mask
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.ep.queue)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: SOCKFS_DEV,
            ino: self.ep.ino,
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
        if cmd == libc::FIONREAD {
            let n = self.ep.unread().min(i32::MAX as usize) as i32;
            task.write_struct(arg, &n)?;
            return Ok(0);
        }
        super::inet::iface::ioctl(task, cmd, arg).unwrap_or(Err(Errno::ENOTTY))
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        let old = self.flags.load(Ordering::Relaxed);
        self.flags.store(with_setfl(old, flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        format!("socket:[{}]", self.ep.ino)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
