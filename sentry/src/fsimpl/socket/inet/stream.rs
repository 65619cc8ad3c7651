//! TCP over loopback: a connection is a pair of AF_UNIX stream endpoints
//! (`unix::Endpoint`), so data, shutdown, close, EOF, ECONNRESET, SIGPIPE,
//! MSG_PEEK/WAITALL and poll behave as the unix code has them, with no
//! extra copy or thread. This file adds what TCP is besides: addresses and
//! ports (bind, the ephemeral port of an unbound connect or listen, the
//! listener a connect reaches through the port table), the accepted end
//! named by the address connected to, and TCP's answers where they differ
//! from AF_UNIX (ENOTCONN, EPIPE on an unconnected write, EINPROGRESS).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use super::addr::{self, Family};
use super::ports::{BindOpts, Binding, Ports};
use crate::errno::Errno;
use crate::fsimpl::socket::queue::Ucred;
use crate::fsimpl::socket::unix::{Endpoint, IoFlags, Kind, Received};
use crate::kernel::task::Task;
use crate::mm::Segments;

/// The TCP port table.
pub type TcpPorts = Ports<Endpoint>;

struct State {
    /// The port this socket holds (accepted sockets share their
    /// listener's and hold none).
    binding: Option<Binding<Endpoint>>,
    /// A non-blocking connect answered EINPROGRESS: the next connect
    /// reports it done (0), as Linux does, before EISCONN.
    connect_pending: bool,
    /// A non-blocking connect found nobody listening: the socket is dead
    /// (SO_ERROR ECONNREFUSED, then ECONNABORTED for another connect).
    refused: bool,
    /// This end shut its writing down (SHUT_WR or SHUT_RDWR).
    shut_wr: bool,
    /// A write went to a peer that had closed: Linux's peer answers it
    /// with a reset, and writes from then on fail.
    reset: bool,
}

/// One TCP socket.
pub struct Stream {
    ep: Arc<Endpoint>,
    family: Family,
    state: Mutex<State>,
}

impl Stream {
    pub fn new(family: Family, cred: Ucred) -> Stream {
        Stream::wrap(family, Endpoint::new(Kind::Stream, cred))
    }

    fn wrap(family: Family, ep: Arc<Endpoint>) -> Stream {
        Stream {
            ep,
            family,
            state: Mutex::new(State {
                binding: None,
                connect_pending: false,
                refused: false,
                shut_wr: false,
                reset: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.ep
    }

    fn is_bound(&self) -> bool {
        self.lock().binding.is_some() || self.ep.is_connected()
    }

    /// bind: EINVAL when already bound, EADDRNOTAVAIL for an address that
    /// is not local, EACCES for a port below 1024 without
    /// CAP_NET_BIND_SERVICE, EADDRINUSE when taken.
    pub fn bind(
        &self,
        ports: &Arc<TcpPorts>,
        a: SocketAddr,
        opts: BindOpts,
        may_bind_low: bool,
    ) -> Result<(), Errno> {
        if self.is_bound() {
            return Err(Errno::EINVAL);
        }
        if !addr::is_local(a.ip()) {
            return Err(Errno(libc::EADDRNOTAVAIL));
        }
        if a.port() != 0 && a.port() < 1024 && !may_bind_low {
            return Err(Errno::EACCES);
        }
        self.take_port(ports, a.ip(), a.port(), opts)
    }

    /// Takes `ip`:`port` (port 0: an ephemeral one) and names the
    /// endpoint by it. The port table is never locked under our lock.
    fn take_port(
        &self,
        ports: &Arc<TcpPorts>,
        ip: IpAddr,
        port: u16,
        opts: BindOpts,
    ) -> Result<(), Errno> {
        let b = ports.bind(ip, port, opts, Arc::downgrade(&self.ep))?;
        let local = SocketAddr::new(ip, b.port());
        let mut st = self.lock();
        if st.binding.is_some() {
            // Lost a race with another bind: the new binding goes once
            // our lock is released (the table is locked to drop it).
            drop(st);
            drop(b);
            return Err(Errno::EINVAL);
        }
        st.binding = Some(b);
        drop(st);
        self.ep.set_address(addr::encode(local));
        Ok(())
    }

    /// listen: an unbound socket first takes an ephemeral port on the
    /// wildcard address; EINVAL when connected; EADDRINUSE when another
    /// socket listens on the address.
    pub fn listen(
        &self,
        ports: &Arc<TcpPorts>,
        backlog: i32,
        opts: BindOpts,
        cred: Ucred,
    ) -> Result<(), Errno> {
        if self.ep.is_connected() {
            return Err(Errno::EINVAL);
        }
        if self.lock().binding.is_none() {
            self.take_port(ports, self.family.any(), 0, opts)?;
        }
        if let Some(b) = self.lock().binding.as_ref() {
            ports.listen(b)?;
        }
        self.ep.listen(backlog, cred)
    }

    pub fn is_listening(&self) -> bool {
        self.ep.is_listening()
    }

    /// connect to `to`: EISCONN when connected (after a non-blocking
    /// connect's EINPROGRESS, the next connect answers 0 first),
    /// ENETUNREACH off loopback, ECONNREFUSED where nobody listens;
    /// non-blocking, the connection is made (or refused) at once and
    /// EINPROGRESS returned, the outcome left for poll and SO_ERROR, as
    /// Linux answers on loopback.
    pub fn connect(
        &self,
        t: &Task,
        ports: &Arc<TcpPorts>,
        to: SocketAddr,
        opts: BindOpts,
        cred: Ucred,
        nonblock: bool,
    ) -> Result<(), Errno> {
        {
            let mut st = self.lock();
            if std::mem::take(&mut st.connect_pending) {
                return Ok(());
            }
            if st.refused {
                drop(st);
                return Err(self.ep.take_error().unwrap_or(Errno(libc::ECONNABORTED)));
            }
        }
        if self.ep.is_connected() || self.ep.is_listening() {
            return Err(Errno(libc::EISCONN));
        }
        let dst_ip = addr::route(to.ip())?;
        let dst = SocketAddr::new(dst_ip, to.port());
        let src_ip = addr::source_for(dst_ip);
        let Some(listener) = ports.find(dst_ip, to.port(), |ep| ep.is_listening()) else {
            if !nonblock {
                return Err(Errno(libc::ECONNREFUSED));
            }
            self.lock().refused = true;
            self.ep.set_error(Errno(libc::ECONNREFUSED));
            self.ep.shutdown(libc::SHUT_RDWR)?;
            return Err(Errno(libc::EINPROGRESS));
        };
        let local = match self.local() {
            None => {
                self.take_port(ports, src_ip, 0, opts)?;
                SocketAddr::new(src_ip, self.local_port())
            }
            Some(l) if l.ip().is_unspecified() => SocketAddr::new(src_ip, l.port()),
            Some(l) => l,
        };
        self.ep.set_address(addr::encode(local));
        self.ep
            .connect_as(t, None, listener, cred, nonblock, Some(addr::encode(dst)))?;
        if nonblock {
            self.lock().connect_pending = true;
            return Err(Errno(libc::EINPROGRESS));
        }
        Ok(())
    }

    /// accept: the next connection, as a socket of this one's family.
    pub fn accept(&self, t: &Task, nonblock: bool) -> Result<Stream, Errno> {
        let ep = self.ep.accept(t, nonblock)?;
        Ok(Stream::wrap(self.family, ep))
    }

    fn local(&self) -> Option<SocketAddr> {
        let named = self.lock().binding.is_some() || self.ep.is_connected();
        if !named {
            return None;
        }
        addr::decode(&self.ep.local_addr())
    }

    fn local_port(&self) -> u16 {
        self.lock().binding.as_ref().map_or(0, Binding::port)
    }

    /// getsockname's address (the wildcard and port 0 when unbound).
    pub fn local_addr(&self) -> SocketAddr {
        self.local()
            .unwrap_or_else(|| SocketAddr::new(self.family.any(), 0))
    }

    /// getpeername's address: ENOTCONN without a peer.
    pub fn peer_addr(&self) -> Result<SocketAddr, Errno> {
        let raw = self.ep.peer_addr()?;
        addr::decode(&raw).ok_or(Errno(libc::ENOTCONN))
    }

    /// shutdown: ENOTCONN unless connected (a listener's is accepted).
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        if !matches!(how, libc::SHUT_RD | libc::SHUT_WR | libc::SHUT_RDWR) {
            return Err(Errno::EINVAL);
        }
        if !self.ep.is_connected() && !self.ep.is_listening() {
            return Err(Errno(libc::ENOTCONN));
        }
        if how != libc::SHUT_RD {
            self.lock().shut_wr = true;
        }
        self.ep.shutdown(how)
    }

    /// Sends to the peer; unconnected: EPIPE (and SIGPIPE), as TCP answers.
    /// The first write after the peer closed succeeds (its bytes are
    /// dropped), as on Linux, where the peer's reset comes after it.
    pub fn send(&self, t: &Task, src: &Segments, cred: Ucred, fl: IoFlags) -> Result<usize, Errno> {
        if !self.ep.is_connected() {
            if let Some(e) = self.ep.take_error() {
                return Err(e);
            }
            if !fl.nosignal {
                crate::kernel::signal_hooks::raise_sigpipe(t);
            }
            return Err(Errno::EPIPE);
        }
        if self.ep.peer_closed() {
            let mut st = self.lock();
            if !st.shut_wr && !std::mem::replace(&mut st.reset, true) {
                return Ok(src.len());
            }
        }
        let names = Arc::clone(&t.kernel.unix_names);
        self.ep.send(t, &names, src, None, Vec::new(), cred, fl)
    }

    /// Receives from the peer: ENOTCONN unless connected.
    pub fn recv(&self, t: &Task, dst: &Segments, fl: IoFlags) -> Result<Received, Errno> {
        if !self.ep.is_connected() {
            return Err(Errno(libc::ENOTCONN));
        }
        self.ep.recv(t, dst, fl)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.ep.close();
    }
}
