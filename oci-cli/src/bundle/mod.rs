//! An OCI bundle on the host: `config.json` read with the `oci-spec` types
//! and checked before anything is started, the canonical bundle and rootfs
//! paths, and what the annotations say about pods. This module reads the
//! bundle only; it never changes it or starts anything.

mod error;
pub mod known;
pub mod mounts;
pub mod template;
mod validate;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};

pub use error::BundleError;

/// The file in a bundle that holds its configuration.
pub const CONFIG_FILE: &str = "config.json";

/// containerd's CRI plugin: "sandbox" or "container".
pub const CRI_CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
/// containerd's CRI plugin: the id of the pod's sandbox container.
pub const CRI_SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";
/// CRI-O: "sandbox" or "container".
pub const CRIO_CONTAINER_TYPE: &str = "io.kubernetes.cri-o.ContainerType";
/// CRI-O: the id of the pod's sandbox container.
pub const CRIO_SANDBOX_ID: &str = "io.kubernetes.cri-o.SandboxID";

/// A loaded, checked bundle.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// The bundle directory, canonical.
    pub dir: PathBuf,
    pub spec: Spec,
    /// `root.path`, joined to `dir` when relative, canonical.
    pub rootfs: PathBuf,
}

/// Where a container stands in a pod, from its annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodRole {
    /// Not part of a pod: a sandbox of its own.
    Standalone,
    /// A pod's sandbox (pause) container: its sandbox hosts the pod.
    Sandbox,
    /// A container that joins the sandbox of the pod sandbox container `sandbox_id`.
    Member { sandbox_id: String },
}

/// Reads and checks `DIR/config.json`.
pub fn load(dir: &Path) -> Result<Bundle, BundleError> {
    let dir = std::fs::canonicalize(dir).map_err(|source| BundleError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    let config = dir.join(CONFIG_FILE);
    let bytes = std::fs::read(&config).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => BundleError::NoConfig {
            path: config.clone(),
        },
        _ => BundleError::ReadConfig {
            path: config.clone(),
            source,
        },
    })?;
    let spec = parse_config(&config, &bytes)?;
    let rootfs = validate::check_spec(&config, &dir, &spec)?;
    Ok(Bundle { dir, spec, rootfs })
}

/// The checks that need no file system: `bytes` (the text of `config`)
/// parsed as JSON, its version, rlimit, capability and namespace names
/// checked, and read as a `Spec`.
pub fn parse_config(config: &Path, bytes: &[u8]) -> Result<Spec, BundleError> {
    let parse_error = |source| BundleError::Parse {
        path: config.to_path_buf(),
        source,
    };
    let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(parse_error)?;
    if raw.is_object() {
        validate::check_raw(config, &raw)?;
    }
    // Anything else is refused here, with serde's line and column.
    serde_json::from_slice(bytes).map_err(parse_error)
}

impl Bundle {
    /// The config's annotations (empty when it has none).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.spec
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The container's place in a pod, from containerd's CRI annotations or
    /// CRI-O's. A member without a sandbox id cannot join anything and is
    /// treated as standalone.
    pub fn pod_role(&self) -> PodRole {
        pod_role(&self.annotations())
    }

    /// A bind mount's host source: relative sources are relative to the
    /// bundle directory, as runc reads them. The path is cleaned lexically,
    /// never resolved on the host.
    pub fn bind_source(&self, m: &Mount) -> PathBuf {
        let source = m.source().clone().unwrap_or_default();
        clean(&self.dir.join(source))
    }
}

/// The pod role the annotations `a` describe.
pub fn pod_role(a: &BTreeMap<String, String>) -> PodRole {
    let get = |keys: [&str; 2]| keys.iter().find_map(|k| a.get(*k)).map(String::as_str);
    match get([CRI_CONTAINER_TYPE, CRIO_CONTAINER_TYPE]) {
        Some("sandbox") => PodRole::Sandbox,
        Some("container") => match get([CRI_SANDBOX_ID, CRIO_SANDBOX_ID]) {
            Some(id) if !id.is_empty() => PodRole::Member {
                sandbox_id: id.to_string(),
            },
            _ => {
                tracing::debug!("a pod container without a sandbox id runs standalone");
                PodRole::Standalone
            }
        },
        _ => PodRole::Standalone,
    }
}

/// `p` with "." dropped and ".." taken lexically ("/.." stays "/").
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests;
