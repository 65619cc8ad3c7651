//! The sandbox-wide port tables, one per protocol (TCP, UDP), shared by
//! v4 and v6 sockets as Linux shares them: which socket holds which
//! (address, port), the conflicts bind and listen refuse (EADDRINUSE),
//! ephemeral ports (32768–60999) and the lookups connect and send make.
//! A v6 socket bound to `::` without IPV6_V6ONLY holds the v4 port too.
//! A binding lasts as long as its `Binding` handle: closing a socket frees
//! its port at once (no TIME_WAIT here).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::errno::Errno;

/// Linux's default net.ipv4.ip_local_port_range.
const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;

/// What a socket asks for when it binds.
#[derive(Clone, Copy, Debug)]
pub struct BindOpts {
    pub v6only: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
}

struct Entry<T> {
    id: u64,
    ip: IpAddr,
    opts: BindOpts,
    listening: bool,
    owner: Weak<T>,
}

impl<T> Entry<T> {
    /// Whether a packet or connection to `ip` may land here.
    fn covers(&self, ip: IpAddr) -> bool {
        match (self.ip, ip) {
            (a, b) if a == b => true,
            (IpAddr::V4(a), IpAddr::V4(_)) => a.is_unspecified(),
            (IpAddr::V6(a), IpAddr::V6(_)) => a.is_unspecified(),
            (IpAddr::V6(a), IpAddr::V4(_)) => a.is_unspecified() && !self.opts.v6only,
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }

    /// Whether this binding and a new one at `ip` share an address.
    fn overlaps(&self, ip: IpAddr, opts: BindOpts) -> bool {
        let other = Entry::<T> {
            id: 0,
            ip,
            opts,
            listening: false,
            owner: Weak::new(),
        };
        self.covers(ip) || other.covers(self.ip)
    }
}

struct Inner<T> {
    ports: HashMap<u16, Vec<Entry<T>>>,
    next_id: u64,
    next_ephemeral: u16,
}

/// One protocol's port table.
pub struct Ports<T> {
    inner: Mutex<Inner<T>>,
    /// TCP: SO_REUSEADDR shares a port only while neither socket listens.
    stream: bool,
}

/// A socket's hold on an (address, port); dropping it frees them.
pub struct Binding<T> {
    table: Arc<Ports<T>>,
    port: u16,
    id: u64,
}

impl<T> Binding<T> {
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl<T> Drop for Binding<T> {
    fn drop(&mut self) {
        let mut inner = self.table.lock();
        if let Some(v) = inner.ports.get_mut(&self.port) {
            v.retain(|e| e.id != self.id);
            if v.is_empty() {
                inner.ports.remove(&self.port);
            }
        }
    }
}

impl<T> Ports<T> {
    pub fn new(stream: bool) -> Ports<T> {
        Ports {
            inner: Mutex::new(Inner {
                ports: HashMap::new(),
                next_id: 1,
                next_ephemeral: *EPHEMERAL.start(),
            }),
            stream,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether two bindings may share a port.
    fn shareable(&self, a: BindOpts, a_listening: bool, b: BindOpts, b_listening: bool) -> bool {
        (a.reuseport && b.reuseport)
            || (a.reuseaddr && b.reuseaddr && !(self.stream && (a_listening || b_listening)))
    }

    fn free(&self, entries: Option<&Vec<Entry<T>>>, ip: IpAddr, opts: BindOpts) -> bool {
        entries.is_none_or(|v| {
            v.iter().all(|e| {
                e.owner.strong_count() == 0
                    || !e.overlaps(ip, opts)
                    || self.shareable(e.opts, e.listening, opts, false)
            })
        })
    }

    /// Binds `owner` to `ip`:`port`, port 0 meaning a free ephemeral one:
    /// EADDRINUSE when taken (or no ephemeral port is free).
    pub fn bind(
        self: &Arc<Self>,
        ip: IpAddr,
        port: u16,
        opts: BindOpts,
        owner: Weak<T>,
    ) -> Result<Binding<T>, Errno> {
        let mut inner = self.lock();
        let port = if port != 0 {
            if !self.free(inner.ports.get(&port), ip, opts) {
                return Err(Errno::EADDRINUSE);
            }
            port
        } else {
            let span = usize::from(EPHEMERAL.end() - EPHEMERAL.start()) + 1;
            let mut found = None;
            for _ in 0..span {
                let p = inner.next_ephemeral;
                inner.next_ephemeral = if p >= *EPHEMERAL.end() {
                    *EPHEMERAL.start()
                } else {
                    p + 1
                };
                let unused = inner
                    .ports
                    .get(&p)
                    .is_none_or(|v| v.iter().all(|e| e.owner.strong_count() == 0));
                if unused {
                    found = Some(p);
                    break;
                }
            }
            found.ok_or(Errno::EADDRINUSE)?
        };
        let id = inner.next_id;
        inner.next_id += 1;
        let v = inner.ports.entry(port).or_default();
        v.retain(|e| e.owner.strong_count() > 0);
        v.push(Entry {
            id,
            ip,
            opts,
            listening: false,
            owner,
        });
        Ok(Binding {
            table: Arc::clone(self),
            port,
            id,
        })
    }

    /// listen: marks the binding listening; EADDRINUSE when another
    /// listener shares its address without SO_REUSEPORT on both.
    pub fn listen(&self, b: &Binding<T>) -> Result<(), Errno> {
        let mut inner = self.lock();
        let Some(v) = inner.ports.get_mut(&b.port) else {
            return Ok(());
        };
        let Some(me) = v.iter().position(|e| e.id == b.id) else {
            return Ok(());
        };
        let (ip, opts) = (v[me].ip, v[me].opts);
        let clash = v.iter().any(|e| {
            e.id != b.id
                && e.listening
                && e.owner.strong_count() > 0
                && e.overlaps(ip, opts)
                && !(e.opts.reuseport && opts.reuseport)
        });
        if clash {
            return Err(Errno::EADDRINUSE);
        }
        v[me].listening = true;
        Ok(())
    }

    /// The live socket a connection or datagram to `ip`:`port` reaches
    /// among those `want` accepts: one bound to `ip` itself before a
    /// wildcard.
    pub fn find(&self, ip: IpAddr, port: u16, want: impl Fn(&T) -> bool) -> Option<Arc<T>> {
        let inner = self.lock();
        let v = inner.ports.get(&port)?;
        let pick = |exact: bool| {
            v.iter()
                .filter(|e| e.covers(ip) && (e.ip == ip) == exact)
                .filter_map(|e| e.owner.upgrade())
                .find(|o| want(o))
        };
        pick(true).or_else(|| pick(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: BindOpts = BindOpts {
        v6only: false,
        reuseaddr: false,
        reuseport: false,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn a_taken_port_is_eaddrinuse_until_its_binding_goes() {
        let t = Arc::new(Ports::<u8>::new(true));
        let owner = Arc::new(1u8);
        let b = t.bind(ip("127.0.0.1"), 5000, PLAIN, Arc::downgrade(&owner));
        assert!(b.is_ok());
        let again = t.bind(ip("0.0.0.0"), 5000, PLAIN, Arc::downgrade(&owner));
        assert_eq!(again.err().map(|e| e.0), Some(libc::EADDRINUSE));
        drop(b);
        assert!(t
            .bind(ip("0.0.0.0"), 5000, PLAIN, Arc::downgrade(&owner))
            .is_ok());
    }

    #[test]
    fn a_v6_wildcard_takes_the_v4_port_unless_v6only() {
        let t = Arc::new(Ports::<u8>::new(true));
        let owner = Arc::new(1u8);
        let _b = t.bind(ip("::"), 6000, PLAIN, Arc::downgrade(&owner));
        assert!(t
            .bind(ip("127.0.0.1"), 6000, PLAIN, Arc::downgrade(&owner))
            .is_err());
        let only = BindOpts {
            v6only: true,
            ..PLAIN
        };
        let _c = t.bind(ip("::"), 6001, only, Arc::downgrade(&owner));
        assert!(t
            .bind(ip("127.0.0.1"), 6001, PLAIN, Arc::downgrade(&owner))
            .is_ok());
    }

    #[test]
    fn port_zero_picks_distinct_ephemeral_ports() {
        let t = Arc::new(Ports::<u8>::new(false));
        let owner = Arc::new(1u8);
        let a = t
            .bind(ip("127.0.0.1"), 0, PLAIN, Arc::downgrade(&owner))
            .expect("a");
        let b = t
            .bind(ip("127.0.0.1"), 0, PLAIN, Arc::downgrade(&owner))
            .expect("b");
        assert!(EPHEMERAL.contains(&a.port()) && EPHEMERAL.contains(&b.port()));
        assert_ne!(a.port(), b.port());
    }

    #[test]
    fn reuseaddr_shares_a_port_until_one_listens() {
        let t = Arc::new(Ports::<u8>::new(true));
        let owner = Arc::new(1u8);
        let ra = BindOpts {
            reuseaddr: true,
            ..PLAIN
        };
        let a = t
            .bind(ip("0.0.0.0"), 7000, ra, Arc::downgrade(&owner))
            .expect("a");
        let b = t
            .bind(ip("0.0.0.0"), 7000, ra, Arc::downgrade(&owner))
            .expect("b");
        assert!(t.listen(&a).is_ok());
        assert_eq!(t.listen(&b).err().map(|e| e.0), Some(libc::EADDRINUSE));
    }

    #[test]
    fn find_prefers_the_exact_address_and_maps_v4_to_a_v6_wildcard() {
        let t = Arc::new(Ports::<u8>::new(false));
        let (wild, exact) = (Arc::new(1u8), Arc::new(2u8));
        let ra = BindOpts {
            reuseaddr: true,
            ..PLAIN
        };
        let _w = t.bind(ip("::"), 8000, ra, Arc::downgrade(&wild));
        let _e = t.bind(ip("127.0.0.1"), 8000, ra, Arc::downgrade(&exact));
        assert_eq!(t.find(ip("127.0.0.1"), 8000, |_| true).as_deref(), Some(&2));
        assert_eq!(t.find(ip("127.0.0.5"), 8000, |_| true).as_deref(), Some(&1));
        assert_eq!(t.find(ip("::1"), 8000, |_| true).as_deref(), Some(&1));
        assert!(t.find(ip("::1"), 8001, |_| true).is_none());
    }
}
