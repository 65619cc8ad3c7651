//! The harness for running containers with the real peers, containerd and
//! podman, over an OCI runtime binary: the busybox image they run
//! (`image`), a containerd and a podman of the test's own (`containerd`,
//! `podman`), every external command bounded in time (`bounded`), and the
//! host cleanup after them (`host`).
//!
//! The runtime is ward (this build's binary) unless `WARD_PEER_RUNTIME`
//! names another, e.g. `/usr/sbin/runc` to check the harness itself.

use std::path::PathBuf;

pub mod bounded;
pub mod containerd;
pub mod host;
pub mod image;
pub mod podman;

/// The runtime the peers call when `WARD_PEER_RUNTIME` is not set.
pub const DEFAULT_RUNTIME: &str = super::WARD;

/// The OCI runtime binary under test.
pub fn runtime() -> PathBuf {
    std::env::var_os("WARD_PEER_RUNTIME")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUNTIME))
}
