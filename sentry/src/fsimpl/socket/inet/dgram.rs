//! UDP over loopback: a datagram goes straight from the sender into the
//! receive queue (`queue::MsgQueue`) of the socket the port table names
//! for its destination, with the sender's address; a connected receiver
//! takes only its peer's datagrams. As UDP does, a datagram that finds no
//! receiver or no room is dropped, never waited for.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::addr::{self, Family};
use super::ports::{BindOpts, Binding, Ports};
use crate::errno::Errno;
use crate::fsimpl::socket::queue::{Message, MsgQueue, Taken, Ucred};
use crate::fsimpl::socket::unix::{next_ino, IoFlags, DEFAULT_BUF};
use crate::kernel::task::Task;
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;

/// The UDP port table.
pub type UdpPorts = Ports<Dgram>;

const POLLIN: Events = (libc::POLLIN | libc::POLLRDNORM) as Events;
const POLLOUT: Events = (libc::POLLOUT | libc::POLLWRNORM) as Events;
const POLLHUP: Events = libc::POLLHUP as Events;
const POLLERR: Events = libc::POLLERR as Events;
const POLLRDHUP: Events = libc::POLLRDHUP as Events;

/// The largest UDP payload: 65535 less the IP and UDP headers.
fn max_payload(family: Family) -> usize {
    match family {
        Family::V4 => 65_507,
        Family::V6 => 65_527,
    }
}

struct State {
    recv: MsgQueue,
    binding: Option<Binding<Dgram>>,
    /// The bound (or, once connected, the source) address.
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    shut_rd: bool,
    shut_wr: bool,
    closed: bool,
    sndbuf: usize,
    rcvbuf: usize,
    rcvtimeo: Option<Duration>,
    sndtimeo: Option<Duration>,
}

/// One UDP socket.
pub struct Dgram {
    family: Family,
    queue: WaitQueue,
    state: Mutex<State>,
    ino: u64,
}

impl Dgram {
    pub fn new(family: Family) -> Arc<Dgram> {
        Arc::new(Dgram {
            family,
            queue: WaitQueue::new(),
            state: Mutex::new(State {
                recv: MsgQueue::new(),
                binding: None,
                local: None,
                peer: None,
                shut_rd: false,
                shut_wr: false,
                closed: false,
                sndbuf: DEFAULT_BUF,
                rcvbuf: DEFAULT_BUF,
                rcvtimeo: None,
                sndtimeo: None,
            }),
            ino: next_ino(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn ino(&self) -> u64 {
        self.ino
    }

    pub fn wait_queue(&self) -> &WaitQueue {
        &self.queue
    }

    /// bind: as TCP's (EINVAL, EADDRNOTAVAIL, EACCES, EADDRINUSE).
    pub fn bind(
        self: &Arc<Self>,
        ports: &Arc<UdpPorts>,
        a: SocketAddr,
        opts: BindOpts,
        may_bind_low: bool,
    ) -> Result<(), Errno> {
        if self.lock().binding.is_some() {
            return Err(Errno::EINVAL);
        }
        if !addr::is_local(a.ip()) {
            return Err(Errno(libc::EADDRNOTAVAIL));
        }
        if a.port() != 0 && a.port() < 1024 && !may_bind_low {
            return Err(Errno::EACCES);
        }
        self.take_port(ports, a, opts)
    }

    /// Takes a port; the table is never locked under our lock.
    fn take_port(
        self: &Arc<Self>,
        ports: &Arc<UdpPorts>,
        a: SocketAddr,
        opts: BindOpts,
    ) -> Result<(), Errno> {
        let b = ports.bind(a.ip(), a.port(), opts, Arc::downgrade(self))?;
        let mut st = self.lock();
        if st.binding.is_some() {
            // Lost a race with another bind: the new binding goes once
            // our lock is released (the table is locked to drop it).
            drop(st);
            drop(b);
            return Err(Errno::EINVAL);
        }
        st.local = Some(SocketAddr::new(a.ip(), b.port()));
        st.binding = Some(b);
        Ok(())
    }

    /// The local address, binding an ephemeral port on the wildcard first
    /// when unbound (a send or connect autobinds).
    fn autobind(
        self: &Arc<Self>,
        ports: &Arc<UdpPorts>,
        opts: BindOpts,
    ) -> Result<SocketAddr, Errno> {
        if let Some(l) = self.lock().local {
            return Ok(l);
        }
        match self.take_port(ports, SocketAddr::new(self.family.any(), 0), opts) {
            Err(e) if e == Errno::EINVAL => {}
            r => r?,
        }
        Ok(self.local_addr())
    }

    /// connect: the default destination and the only source taken
    /// (ENETUNREACH off loopback); None forgets it (AF_UNSPEC).
    pub fn connect(
        self: &Arc<Self>,
        ports: &Arc<UdpPorts>,
        to: Option<SocketAddr>,
        opts: BindOpts,
    ) -> Result<(), Errno> {
        let Some(to) = to else {
            self.lock().peer = None;
            return Ok(());
        };
        let dst = SocketAddr::new(addr::route(to.ip())?, to.port());
        let local = self.autobind(ports, opts)?;
        let mut st = self.lock();
        if local.ip().is_unspecified() {
            st.local = Some(SocketAddr::new(addr::source_for(dst.ip()), local.port()));
        }
        st.peer = Some(dst);
        Ok(())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.lock()
            .local
            .unwrap_or_else(|| SocketAddr::new(self.family.any(), 0))
    }

    pub fn peer_addr(&self) -> Result<SocketAddr, Errno> {
        self.lock().peer.ok_or(Errno(libc::ENOTCONN))
    }

    /// Whether a datagram from `src` may land here.
    fn accepts(&self, src: SocketAddr) -> bool {
        let st = self.lock();
        !st.closed && st.peer.is_none_or(|p| p == src)
    }

    /// Sends `src`'s bytes as one datagram to `to` or the connected peer:
    /// EDESTADDRREQ with neither, EINVAL for port 0, ENETUNREACH off
    /// loopback, EMSGSIZE past UDP's limit, EPIPE after SHUT_WR.
    pub fn send(
        self: &Arc<Self>,
        t: &Task,
        ports: &Arc<UdpPorts>,
        src: &Segments,
        to: Option<SocketAddr>,
        opts: BindOpts,
        fl: IoFlags,
    ) -> Result<usize, Errno> {
        let len = src.len();
        let (peer, shut_wr) = {
            let st = self.lock();
            (st.peer, st.shut_wr)
        };
        let dst = match to.or(peer) {
            Some(d) => d,
            None => return Err(Errno(libc::EDESTADDRREQ)),
        };
        if dst.port() == 0 {
            return Err(Errno::EINVAL);
        }
        let dst = SocketAddr::new(addr::route(dst.ip())?, dst.port());
        if len > max_payload(self.family) {
            return Err(Errno(libc::EMSGSIZE));
        }
        if shut_wr {
            if !fl.nosignal {
                crate::kernel::signal_hooks::raise_sigpipe(t);
            }
            return Err(Errno::EPIPE);
        }
        let local = self.autobind(ports, opts)?;
        let from = if local.ip().is_unspecified() {
            SocketAddr::new(addr::source_for(dst.ip()), local.port())
        } else {
            local
        };
        let Some(target) = ports.find(dst.ip(), dst.port(), |r| r.accepts(from)) else {
            return Ok(len);
        };
        let mut data = vec![0u8; len];
        src.read_at(0, &mut data);
        let mut msg = Message::new(data, Ucred::default());
        msg.from = Some(addr::encode(from));
        let queued = {
            let mut ts = target.lock();
            let room = ts.recv.is_empty() || ts.recv.bytes() + len <= ts.rcvbuf;
            if room && !ts.closed {
                ts.recv.push(msg);
            }
            room
        };
        if queued {
            target.queue.notify(POLLIN);
        }
        Ok(len)
    }

    /// Receives one datagram into `dst`; its sender comes back encoded in
    /// `Taken::from`.
    pub fn recv(&self, t: &Task, dst: &Segments, fl: IoFlags) -> Result<Taken, Errno> {
        let deadline = self.lock().rcvtimeo.map(|d| Instant::now() + d);
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLIN | POLLHUP | POLLERR | POLLRDHUP);
            {
                let mut st = self.lock();
                let got = st.recv.read_packet(
                    &mut |off, bytes| {
                        dst.fill_at(off, bytes);
                    },
                    dst.len(),
                    fl.peek,
                );
                if let Some(tk) = got {
                    return Ok(tk);
                }
                if st.shut_rd {
                    return Ok(Taken::default());
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

    /// shutdown: ENOTCONN unless connected, as Linux's UDP answers.
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        let (rd, wr) = crate::fsimpl::socket::unix::shutdown_sides(how)?;
        {
            let mut st = self.lock();
            if st.peer.is_none() {
                return Err(Errno(libc::ENOTCONN));
            }
            st.shut_rd |= rd;
            st.shut_wr |= wr;
        }
        self.queue.notify(Events::MAX);
        Ok(())
    }

    pub fn events(&self) -> Events {
        let st = self.lock();
        let mut ev = POLLOUT;
        if !st.recv.is_empty() || st.shut_rd {
            ev |= POLLIN;
        }
        if st.shut_rd {
            ev |= POLLRDHUP;
        }
        if st.shut_rd && st.shut_wr {
            ev |= POLLHUP;
        }
        ev
    }

    /// FIONREAD: the next datagram's length.
    pub fn unread(&self) -> usize {
        self.lock().recv.next_len().unwrap_or(0)
    }

    /// SO_SNDBUF and SO_RCVBUF.
    pub fn buf_sizes(&self) -> (usize, usize) {
        let st = self.lock();
        (st.sndbuf, st.rcvbuf)
    }

    /// Sets SO_SNDBUF (`send`) or SO_RCVBUF to an already doubled value.
    pub fn set_buf_size(&self, send: bool, v: usize) {
        let mut st = self.lock();
        if send {
            st.sndbuf = v;
        } else {
            st.rcvbuf = v;
        }
    }

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

    /// Closes the socket: its port goes and its queue is dropped.
    pub fn close(&self) {
        let (binding, msgs) = {
            let mut st = self.lock();
            st.closed = true;
            (st.binding.take(), st.recv.clear())
        };
        drop(binding);
        drop(msgs);
        self.queue.notify(Events::MAX);
    }
}
