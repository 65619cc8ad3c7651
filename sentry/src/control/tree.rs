//! A container's file tree: its root from its own gofer (read-write unless
//! `root.readonly`, changes going through to the bundle's rootfs as with
//! runc), the sentry's /dev, /proc and /sys, the bundle's mounts (bind
//! sources from the same gofer, tmpfs and mqueue in sandbox memory, an
//! empty read-only cgroup directory), then masked paths (hidden under an
//! empty read-only tmpfs, or /dev/null for a file) and read-only paths.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use super::protocol::{ContainerSpec, MountKind};
use crate::errno::Errno;
use crate::fsimpl;
use crate::mm::MemoryFile;
use crate::vfs::mount::{MountFlags, MountState};
use crate::vfs::{walk, Ctx, Dentry, Vfs};

/// Builds the tree for `spec` over the gofer connected at `gofer`.
pub fn build(memfile: &Arc<MemoryFile>, spec: &ContainerSpec, gofer: OwnedFd) -> Result<Vfs, String> {
    let client = Arc::new(
        gofer::Client::new(gofer).map_err(|e| format!("connecting to the gofer: {e}"))?,
    );
    let root = crate::vfs::container_root(client.clone(), spec.root_readonly, memfile.clone())
        .map_err(|e| format!("mounting the root: {e}"))?;
    for m in &spec.mounts {
        mount_one(&root, &client, memfile, &m.destination, &m.kind, m.flags)
            .map_err(|e| format!("mount {}: {}", m.destination, e.message()))?;
    }
    for p in &spec.masked_paths {
        mask(&root, memfile, p).map_err(|e| format!("masking {p}: {}", e.message()))?;
    }
    for p in &spec.readonly_paths {
        read_only(&root, p).map_err(|e| format!("read-only path {p}: {}", e.message()))?;
    }
    if !spec.sysctl.is_empty() {
        tracing::debug!(count = spec.sysctl.len(), "linux.sysctl: the sandbox's kernel has fixed values; not applied");
    }
    Ok(Vfs::from_root(root))
}

fn state(flags: u64) -> MountState {
    MountState {
        flags: MountFlags::from_ms(flags),
        made: None,
    }
}

fn tmpfs(memfile: &Arc<MemoryFile>, mode: u32) -> Arc<dyn crate::vfs::inode::Inode> {
    fsimpl::tmpfs::new(
        memfile.clone(),
        crate::syscalls::mount::next_dev(),
        mode,
    )
}

fn mount_one(
    root: &Arc<Dentry>,
    client: &Arc<gofer::Client>,
    memfile: &Arc<MemoryFile>,
    dest: &str,
    kind: &MountKind,
    flags: u64,
) -> Result<(), Errno> {
    let d = dest.as_bytes();
    let inode = match kind {
        // The sentry's own are already at their usual places.
        MountKind::Proc if dest == "/proc" => return Ok(()),
        MountKind::Sysfs if dest == "/sys" => return Ok(()),
        MountKind::Devpts if dest == "/dev/pts" => return Ok(()),
        MountKind::Proc => fsimpl::proc::new(),
        MountKind::Sysfs => fsimpl::sys::new(crate::kernel::kernel::host_cpus()),
        MountKind::Devpts => fsimpl::devpts::new(),
        MountKind::Tmpfs { mode } => tmpfs(memfile, mode.unwrap_or(0o1777)),
        MountKind::Mqueue => tmpfs(memfile, 0o1777),
        MountKind::Cgroup => {
            crate::vfs::mount_at(root, d, tmpfs(memfile, 0o555), state(flags | libc::MS_RDONLY))?;
            return Ok(());
        }
        MountKind::Gofer { index } => {
            crate::vfs::gofer_mount_inode(client, *index, flags & libc::MS_RDONLY != 0)
                .map_err(|e| {
                    tracing::debug!("bind source {index}: {e}");
                    Errno::ENOENT
                })?
        }
    };
    crate::vfs::mount_at(root, d, inode, state(flags))?;
    Ok(())
}

/// The dentry at `path`, or None when there is nothing there.
fn existing(root: &Arc<Dentry>, path: &str) -> Result<Option<Arc<Dentry>>, Errno> {
    match walk::lookup(&Ctx::kernel(), root, root, path.as_bytes(), true) {
        Ok(d) => Ok(Some(d)),
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

fn mask(root: &Arc<Dentry>, memfile: &Arc<MemoryFile>, path: &str) -> Result<(), Errno> {
    let Some(d) = existing(root, path)? else {
        return Ok(());
    };
    let ro = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if d.stat(&Ctx::kernel())?.is_dir() {
        crate::vfs::mount_at(root, path.as_bytes(), tmpfs(memfile, 0o555), state(ro))?;
    } else {
        let null = existing(root, "/dev/null")?.ok_or(Errno::ENOENT)?;
        crate::vfs::mount_at(root, path.as_bytes(), null.inode().clone(), state(ro))?;
    }
    Ok(())
}

fn read_only(root: &Arc<Dentry>, path: &str) -> Result<(), Errno> {
    let Some(d) = existing(root, path)? else {
        return Ok(());
    };
    let mut flags = d.mount_flags();
    flags.read_only = true;
    let st = MountState { flags, made: None };
    crate::vfs::mount_at(root, path.as_bytes(), d.inode().clone(), st)?;
    Ok(())
}
