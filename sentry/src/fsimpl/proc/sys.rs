//! /proc/sys: for now `kernel/osrelease`, `kernel/ostype`,
//! `kernel/hostname` and `kernel/domainname`, read-only.

use std::sync::{Arc, Mutex};

use super::node;
use crate::errno::Errno;
use crate::kernel::kernel::UNAME_RELEASE;
use crate::vfs::ctx::Ctx;
use crate::vfs::inode::Inode;
use crate::vfs::synthetic::{GenFile, Generator, StaticDir};

const SYS_INO: u64 = 3;
const KERNEL_INO: u64 = 4;

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

fn file(ino: u64, gen: Generator) -> Arc<dyn Inode> {
    GenFile::new(node(ino, libc::S_IFREG | 0o444), gen)
}

/// The /proc/sys directory.
pub(super) fn new() -> Arc<dyn Inode> {
    let kernel = StaticDir::new(
        node(KERNEL_INO, libc::S_IFDIR | 0o555),
        vec![
            (b"domainname", file(5, from_kernel(|k| &k.domainname))),
            (b"hostname", file(6, from_kernel(|k| &k.hostname))),
            (
                b"osrelease",
                file(
                    7,
                    Box::new(|_: &Ctx<'_>| Ok(line(UNAME_RELEASE.as_bytes()))),
                ),
            ),
            (
                b"ostype",
                file(8, Box::new(|_: &Ctx<'_>| Ok(line(b"Linux")))),
            ),
        ],
    );
    StaticDir::new(
        node(SYS_INO, libc::S_IFDIR | 0o555),
        vec![(b"kernel", kernel as Arc<dyn Inode>)],
    )
}
