//! /proc/sys: the kernel, vm, fs and net tunables programs read, with the
//! values a stock Linux of the reported release has (and the sandbox's
//! own hostname, pid limit and identity, and its inotify limits). Read-only
//! to the sandbox; an OCI bundle's `linux.sysctl` sets the tunables below
//! (`set`), sandbox-wide, before its container's first process runs.

use std::sync::{Arc, Mutex, OnceLock};

use super::node;
use crate::errno::Errno;
use crate::fsimpl::inotify;
use crate::kernel::kernel::{UNAME_RELEASE, UNAME_VERSION};
use crate::kernel::process::PID_MAX;
use crate::vfs::ctx::Ctx;
use crate::vfs::inode::Inode;
use crate::vfs::notify;
use crate::vfs::raw;
use crate::vfs::synthetic::{GenFile, Generator, StaticDir};

/// /proc/sys's inode numbers start here (below are /proc's own).
const FIRST_INO: u64 = 0x100;

fn line(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(b'\n');
    v
}

/// A line from the kernel's state; ENOENT for a caller with no task.
fn from_kernel(pick: fn(&crate::kernel::Kernel) -> &Mutex<Vec<u8>>) -> Generator {
    Box::new(move |ctx: &Ctx<'_>| {
        let task = ctx.task().ok_or(Errno::ENOENT)?;
        let v = pick(&task.kernel)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(line(&v))
    })
}

/// A fixed value.
fn fixed(v: &'static str) -> Generator {
    Box::new(move |_: &Ctx<'_>| Ok(line(v.as_bytes())))
}

/// The tunables a bundle's `linux.sysctl` may set (those Linux keeps per
/// ipc or network namespace, which a sandbox has of its own), with their
/// stock values.
const TUNABLES: &[(&str, &str)] = &[
    ("kernel.shmall", "18446744073692774399"),
    ("kernel.shmmax", "18446744073692774399"),
    ("kernel.shmmni", "4096"),
    ("kernel.msgmax", "8192"),
    ("kernel.msgmnb", "16384"),
    ("kernel.msgmni", "32000"),
    ("kernel.sem", "32000\t1024000000\t500\t32000"),
    ("net.core.somaxconn", "4096"),
    ("net.ipv4.ip_local_port_range", "32768\t60999"),
    ("net.ipv4.ip_unprivileged_port_start", "1024"),
    ("net.ipv4.ping_group_range", "1\t0"),
    ("net.ipv4.tcp_syncookies", "1"),
    ("net.ipv4.ip_forward", "0"),
];

fn overrides() -> &'static Mutex<std::collections::BTreeMap<String, Vec<u8>>> {
    static O: OnceLock<Mutex<std::collections::BTreeMap<String, Vec<u8>>>> = OnceLock::new();
    O.get_or_init(Default::default)
}

/// Sets tunable `key` ("net.ipv4.ping_group_range", or with '/') to
/// `value` for the whole sandbox; EINVAL for a key the sandbox does not
/// have or a value with a newline.
pub fn set(key: &str, value: &str) -> Result<(), Errno> {
    let key = key.replace('/', ".");
    if !TUNABLES.iter().any(|(k, _)| *k == key) || value.contains('\n') {
        return Err(Errno::EINVAL);
    }
    // Linux prints whitespace-separated values with tabs.
    let shown = value.split_whitespace().collect::<Vec<_>>().join("\t");
    overrides()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, shown.into_bytes());
    Ok(())
}

/// A tunable's value: set by `set`, else its stock value.
fn tunable(key: &'static str) -> Generator {
    Box::new(move |_: &Ctx<'_>| {
        if let Some(v) = overrides()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return Ok(line(v));
        }
        let stock = TUNABLES
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or("");
        Ok(line(stock.as_bytes()))
    })
}

/// A random version-4 UUID, as Linux's random/uuid prints it.
fn uuid() -> Result<Vec<u8>, Errno> {
    let mut b = [0u8; 16];
    raw::getrandom(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}\n",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
    .into_bytes())
}

/// Numbers the nodes of the tree as it is built.
struct Builder {
    next: u64,
}

impl Builder {
    fn ino(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn file(&mut self, gen: Generator) -> Arc<dyn Inode> {
        GenFile::new(node(self.ino(), libc::S_IFREG | 0o444), gen)
    }

    fn dir(&mut self, entries: Vec<(&[u8], Arc<dyn Inode>)>) -> Arc<dyn Inode> {
        StaticDir::new(node(self.ino(), libc::S_IFDIR | 0o555), entries)
    }
}

/// The /proc/sys directory.
pub(super) fn new() -> Arc<dyn Inode> {
    static BOOT_ID: OnceLock<Vec<u8>> = OnceLock::new();
    let mut b = Builder { next: FIRST_INO };
    let random = {
        let boot_id = b.file(Box::new(|_: &Ctx<'_>| {
            if let Some(id) = BOOT_ID.get() {
                return Ok(id.clone());
            }
            let id = uuid()?;
            Ok(BOOT_ID.get_or_init(|| id).clone())
        }));
        let uuid = b.file(Box::new(|_: &Ctx<'_>| uuid()));
        let entropy = b.file(fixed("256"));
        b.dir(vec![
            (b"boot_id", boot_id),
            (b"entropy_avail", entropy),
            (b"uuid", uuid),
        ])
    };
    let kernel = {
        let entries: Vec<(&[u8], Arc<dyn Inode>)> = vec![
            (b"cap_last_cap", b.file(fixed("40"))),
            (b"domainname", b.file(from_kernel(|k| &k.domainname))),
            (b"hostname", b.file(from_kernel(|k| &k.hostname))),
            (b"ngroups_max", b.file(fixed("65536"))),
            (b"osrelease", b.file(fixed(UNAME_RELEASE))),
            (b"ostype", b.file(fixed("Linux"))),
            (b"overflowgid", b.file(fixed("65534"))),
            (b"overflowuid", b.file(fixed("65534"))),
            (
                b"pid_max",
                b.file(Box::new(|_: &Ctx<'_>| {
                    Ok(line(PID_MAX.to_string().as_bytes()))
                })),
            ),
            (b"random", random),
            (b"shmall", b.file(tunable("kernel.shmall"))),
            (b"shmmax", b.file(tunable("kernel.shmmax"))),
            (b"shmmni", b.file(tunable("kernel.shmmni"))),
            (b"msgmax", b.file(tunable("kernel.msgmax"))),
            (b"msgmnb", b.file(tunable("kernel.msgmnb"))),
            (b"msgmni", b.file(tunable("kernel.msgmni"))),
            (b"sem", b.file(tunable("kernel.sem"))),
            (b"tainted", b.file(fixed("0"))),
            (b"threads-max", b.file(fixed("63000"))),
            (b"version", b.file(fixed(UNAME_VERSION))),
        ];
        b.dir(entries)
    };
    let vm = {
        let entries: Vec<(&[u8], Arc<dyn Inode>)> = vec![
            (b"max_map_count", b.file(fixed("65530"))),
            (b"mmap_min_addr", b.file(fixed("65536"))),
            (b"overcommit_memory", b.file(fixed("0"))),
            (b"overcommit_ratio", b.file(fixed("50"))),
        ];
        b.dir(entries)
    };
    let fs = {
        let count = |n: usize| -> Generator {
            Box::new(move |_: &Ctx<'_>| Ok(line(n.to_string().as_bytes())))
        };
        let inotify_entries: Vec<(&[u8], Arc<dyn Inode>)> = vec![
            (b"max_queued_events", b.file(count(inotify::MAX_QUEUED))),
            (b"max_user_instances", b.file(count(inotify::MAX_INSTANCES))),
            (b"max_user_watches", b.file(count(notify::MAX_WATCHES))),
        ];
        let inotify_dir = b.dir(inotify_entries);
        let entries: Vec<(&[u8], Arc<dyn Inode>)> = vec![
            (b"file-max", b.file(fixed("9223372036854775807"))),
            (b"inotify", inotify_dir),
            (b"nr_open", b.file(fixed("1048576"))),
            (b"pipe-max-size", b.file(fixed("1048576"))),
        ];
        b.dir(entries)
    };
    let net = {
        let core_entries: Vec<(&[u8], Arc<dyn Inode>)> =
            vec![(b"somaxconn", b.file(tunable("net.core.somaxconn")))];
        let core = b.dir(core_entries);
        let ipv4_entries: Vec<(&[u8], Arc<dyn Inode>)> = vec![
            (b"ip_forward", b.file(tunable("net.ipv4.ip_forward"))),
            (
                b"ip_local_port_range",
                b.file(tunable("net.ipv4.ip_local_port_range")),
            ),
            (
                b"ip_unprivileged_port_start",
                b.file(tunable("net.ipv4.ip_unprivileged_port_start")),
            ),
            (
                b"ping_group_range",
                b.file(tunable("net.ipv4.ping_group_range")),
            ),
            (
                b"tcp_syncookies",
                b.file(tunable("net.ipv4.tcp_syncookies")),
            ),
        ];
        let ipv4 = b.dir(ipv4_entries);
        b.dir(vec![(b"core", core), (b"ipv4", ipv4)])
    };
    StaticDir::new(
        node(super::SYS_INO, libc::S_IFDIR | 0o555),
        vec![(b"fs", fs), (b"kernel", kernel), (b"net", net), (b"vm", vm)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(root: &Arc<dyn Inode>, path: &[&[u8]]) -> Arc<dyn Inode> {
        let ctx = Ctx::kernel();
        let mut n = Arc::clone(root);
        for p in path {
            n = n.lookup(&ctx, p).expect("present");
        }
        n
    }

    #[test]
    fn the_tunables_programs_read_are_there() {
        let root = new();
        for path in [
            &[&b"kernel"[..], b"osrelease"][..],
            &[b"kernel", b"pid_max"],
            &[b"kernel", b"ngroups_max"],
            &[b"kernel", b"version"],
            &[b"kernel", b"random", b"boot_id"],
            &[b"vm", b"overcommit_memory"],
            &[b"fs", b"nr_open"],
            &[b"fs", b"inotify", b"max_user_watches"],
        ] {
            let n = read(&root, path);
            assert!(n.stat(&Ctx::kernel()).is_ok_and(|s| s.is_regular()));
        }
    }

    #[test]
    fn inode_numbers_are_distinct() {
        let root = new();
        let ctx = Ctx::kernel();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            let st = n.stat(&ctx).expect("stat");
            assert!(seen.insert(st.ino), "duplicate inode {}", st.ino);
            if st.is_dir() {
                for e in n.readdir(&ctx).expect("readdir") {
                    if e.name != b"." && e.name != b".." {
                        stack.push(n.lookup(&ctx, &e.name).expect("lookup"));
                    }
                }
            }
        }
        assert!(seen.len() > 25);
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid().expect("getrandom");
        assert_eq!(u.len(), 37);
        assert_eq!(u[14], b'4');
        assert!(matches!(u[19], b'8' | b'9' | b'a' | b'b'));
    }
}
