//! A container's tree: its gofer's root as "/" with the sentry's own
//! special file systems mounted on it (devfs at /dev, a tmpfs at
//! /dev/shm, devpts at /dev/pts, procfs at /proc, sysfs at /sys), and the
//! gofer-backed inodes of its bind mounts' sources, for `mount_at`.
//!
//! Several containers live in one sentry: each has its own gofer client
//! and its own tree built here; nothing in this module is sandbox-wide.
//! Never does: reach the host but through the container's gofer.

use std::sync::Arc;

use gofer::Client;

use super::dentry::Dentry;
use super::inode::Inode;
use super::mount::{MountFlags, MountState};
use super::VfsError;
use crate::fsimpl;
use crate::fsimpl::gofer::GoferInode;
use crate::mm::MemoryFile;

/// The tree of a container whose root the gofer `root_client` serves
/// (attach index 0): the root itself at "/", changes going through to the
/// gofer unless `read_only` (the bundle's `root.readonly`: every change
/// is then EROFS, and the mount shows "ro"), with the special file systems
/// of [`special_mounts`]. A root that is not a directory is
/// [`VfsError::RootNotDir`].
pub fn container_root(
    root_client: Arc<Client>,
    read_only: bool,
    memfile: Arc<MemoryFile>,
) -> Result<Arc<Dentry>, VfsError> {
    let (fid, attr) = attach_root(&root_client)?;
    let root = Dentry::new_root(GoferInode::new_root(root_client, fid, attr, !read_only));
    if read_only {
        root.set_mount_state(|s| s.flags = MountFlags::from_ms(libc::MS_RDONLY));
    }
    special_mounts(&root, memfile);
    Ok(root)
}

/// A fid for the gofer's root (attach index 0), which must be a directory.
pub(super) fn attach_root(client: &Client) -> Result<(gofer::Fid, gofer::Attr), VfsError> {
    let (fid, attr) = client.attach().map_err(VfsError::Attach)?;
    if attr.mode & libc::S_IFMT != libc::S_IFDIR {
        let _ = client.clunk(fid);
        return Err(VfsError::RootNotDir { mode: attr.mode });
    }
    Ok((fid, attr))
}

/// The source the gofer `client` serves at attach `index` (1 for its first
/// `--mount`, …) as an inode to mount with [`super::mount_at::mount_at`]:
/// a directory, or a single regular file (a bind mount of a file, such as
/// /etc/hosts). Read-only when `read_only` (the gofer should serve the
/// source read-only too; it refuses changes either way); otherwise changes
/// go through to the gofer, and the source's names are not cached.
pub fn gofer_mount_inode(
    client: &Arc<Client>,
    index: u32,
    read_only: bool,
) -> Result<Arc<dyn Inode>, VfsError> {
    let (fid, attr) = client
        .attach_source(index)
        .map_err(|source| VfsError::AttachMount { index, source })?;
    match attr.mode & libc::S_IFMT {
        libc::S_IFDIR | libc::S_IFREG => {}
        _ => {
            let _ = client.clunk(fid);
            return Err(VfsError::MountType {
                index,
                mode: attr.mode,
            });
        }
    }
    Ok(GoferInode::new_root(
        Arc::clone(client),
        fid,
        attr,
        !read_only,
    ))
}

/// Mounts devfs at "/dev", a tmpfs (mode 1777, its data in `memfile`) at
/// "/dev/shm", devpts at "/dev/pts", procfs at "/proc" and sysfs at
/// "/sys" on `root`, whether or not its file system has those names.
pub(super) fn special_mounts(root: &Arc<Dentry>, memfile: Arc<MemoryFile>) {
    let flags = |ms: u64| MountState {
        flags: MountFlags::from_ms(ms),
        made: None,
    };
    let (strict, special) = (
        libc::MS_STRICTATIME | libc::MS_NOSUID,
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
    );
    let dev = root.mount_with(b"dev", fsimpl::dev::new(), flags(strict));
    let shm = fsimpl::tmpfs::new(memfile, fsimpl::devnums::SHM, 0o1777);
    dev.mount_with(b"shm", shm, flags(strict | libc::MS_NODEV));
    let pts = fsimpl::devpts::new();
    dev.mount_with(b"pts", pts, flags(libc::MS_NOSUID | libc::MS_NOEXEC));
    root.mount_with(b"proc", fsimpl::proc::new(), flags(special));
    let sys = fsimpl::sys::new(crate::kernel::kernel::host_cpus());
    root.mount_with(b"sys", sys, flags(special));
}
