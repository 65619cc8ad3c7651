//! memfd_create: an anonymous regular file in sandbox memory. Each is an
//! unlinked file of one internal tmpfs (never mounted), so it reads,
//! writes, truncates and maps as any tmpfs file does. Sealing is accepted
//! as a flag only: F_ADD_SEALS and F_GET_SEALS are EINVAL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::errno::{Errno, SysResult};
use crate::fsimpl::{devnums, tmpfs};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::dentry::Dentry;
use crate::vfs::inode::Inode;
use crate::vfs::Ctx;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_memfd_create,
        memfd_create,
        Support::Partial,
        &[Path, Hex],
        "tmpfs-backed; MFD_ALLOW_SEALING accepted, seals not enforced; no MFD_HUGETLB",
    );
}

/// The longest name (without the "memfd:" prefix) Linux takes.
const MAX_NAME: usize = 249;

const FLAGS: u32 = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | 0x0008 | 0x0010; // MFD_NOEXEC_SEAL, MFD_EXEC

/// The internal tmpfs every memfd lives in (one per sentry: one sandbox).
fn memfd_root(t: &Task) -> &'static Arc<dyn Inode> {
    static ROOT: OnceLock<Arc<dyn Inode>> = OnceLock::new();
    ROOT.get_or_init(|| tmpfs::new(Arc::clone(t.mm.memfile()), devnums::MEMFD, 0o1777))
}

fn memfd_create(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[1] as u32;
    if flags & !FLAGS != 0 || flags & libc::MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let name = t.mm.read_cstring(a[0], MAX_NAME + 1).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    if name.len() > MAX_NAME {
        return Err(Errno::EINVAL);
    }
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let slot = format!("memfd.{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let root = memfd_root(t);
    let ctx = Ctx::of(t);
    let inode = root.create(&ctx, slot.as_bytes(), 0o777)?;
    let _ = root.unlink(&Ctx::kernel(), slot.as_bytes());
    let mut label = b"/memfd:".to_vec();
    label.extend_from_slice(&name);
    label.extend_from_slice(b" (deleted)");
    let dentry = Dentry::new_anon(&label, Arc::clone(&inode));
    let file = inode.open(&ctx, &dentry, libc::O_RDWR | libc::O_LARGEFILE)?;
    Ok(t.fds.install(file, flags & libc::MFD_CLOEXEC != 0)? as u64)
}
