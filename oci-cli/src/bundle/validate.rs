//! The checks `bundle::load` makes before a config is used: first on the
//! raw JSON (the version, and names the `oci-spec` types would refuse with a
//! less helpful message), then on the parsed spec (root, process, mounts,
//! namespaces). Settings ward accepts but does not act on are logged.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::Value;

use super::known::{is_capability, NAMESPACES, OCI_VERSION_MAJOR, OCI_VERSION_MAX, RLIMITS};
use super::{mounts, BundleError};

/// The checks on the raw JSON: the ociVersion, rlimit types, capability
/// names and namespace types.
pub(super) fn check_raw(config: &Path, v: &Value) -> Result<(), BundleError> {
    check_version(config, v)?;
    for (index, typ) in strings_at(v, "/process/rlimits", Some("type")) {
        if !RLIMITS.contains(&typ) {
            return Err(BundleError::Rlimit {
                path: config.to_path_buf(),
                index,
                typ: typ.to_string(),
            });
        }
    }
    for set in [
        "bounding",
        "effective",
        "inheritable",
        "permitted",
        "ambient",
    ] {
        let pointer = format!("/process/capabilities/{set}");
        for (index, name) in strings_at(v, &pointer, None) {
            if !is_capability(name) {
                return Err(BundleError::Capability {
                    path: config.to_path_buf(),
                    set: set.to_string(),
                    index,
                    name: name.to_string(),
                });
            }
        }
    }
    for (index, typ) in strings_at(v, "/linux/namespaces", Some("type")) {
        if !NAMESPACES.contains(&typ) {
            return Err(BundleError::NamespaceType {
                path: config.to_path_buf(),
                index,
                typ: typ.to_string(),
            });
        }
    }
    Ok(())
}

fn check_version(config: &Path, v: &Value) -> Result<(), BundleError> {
    let version = match v.get("ociVersion").and_then(Value::as_str) {
        None | Some("") => {
            return Err(BundleError::NoOciVersion {
                path: config.to_path_buf(),
            })
        }
        Some(version) => version,
    };
    if version.split('.').next() != Some(OCI_VERSION_MAJOR) || !version.contains('.') {
        return Err(BundleError::OciVersion {
            path: config.to_path_buf(),
            version: version.to_string(),
        });
    }
    if newer_than_max(version) {
        tracing::debug!(
            version,
            max = OCI_VERSION_MAX,
            "config is newer than ward's spec version: unknown fields are ignored"
        );
    }
    Ok(())
}

/// Whether a 1.x `version` has a minor number above ward's.
fn newer_than_max(version: &str) -> bool {
    let minor = |v: &str| -> Option<u64> { v.split('.').nth(1)?.parse().ok() };
    matches!((minor(version), minor(OCI_VERSION_MAX)), (Some(v), Some(max)) if v > max)
}

/// The strings in the array at `pointer`: the elements themselves, or each
/// element's `field`. Entries of another shape are left to the typed parse,
/// which reports them with a line and column.
fn strings_at<'a>(v: &'a Value, pointer: &str, field: Option<&str>) -> Vec<(usize, &'a str)> {
    let Some(items) = v.pointer(pointer).and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let s = match field {
                Some(f) => item.get(f)?,
                None => item,
            };
            Some((i, s.as_str()?))
        })
        .collect()
}

/// The checks on the parsed spec; returns the canonical rootfs.
pub(super) fn check_spec(config: &Path, dir: &Path, spec: &Spec) -> Result<PathBuf, BundleError> {
    let rootfs = check_root(config, dir, spec)?;
    check_process(config, spec)?;
    for (index, m) in spec.mounts().iter().flatten().enumerate() {
        mounts::check(config, index, m)?;
    }
    check_namespaces(config, spec)?;
    log_ignored(spec);
    Ok(rootfs)
}

fn check_root(config: &Path, dir: &Path, spec: &Spec) -> Result<PathBuf, BundleError> {
    let root = match spec.root() {
        Some(r) if !r.path().as_os_str().is_empty() => r.path(),
        _ => {
            return Err(BundleError::NoRoot {
                path: config.to_path_buf(),
            })
        }
    };
    let joined = dir.join(root);
    let rootfs = std::fs::canonicalize(&joined).map_err(|source| BundleError::RootPath {
        path: config.to_path_buf(),
        root: joined.clone(),
        source,
    })?;
    if !rootfs.is_dir() {
        return Err(BundleError::RootNotDir {
            path: config.to_path_buf(),
            root: joined,
        });
    }
    Ok(rootfs)
}

fn check_process(config: &Path, spec: &Spec) -> Result<(), BundleError> {
    let Some(process) = spec.process() else {
        return Err(BundleError::NoProcess {
            path: config.to_path_buf(),
        });
    };
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(BundleError::NoArgs {
            path: config.to_path_buf(),
        });
    }
    if !process.cwd().is_absolute() {
        return Err(BundleError::RelativeCwd {
            path: config.to_path_buf(),
            cwd: process.cwd().clone(),
        });
    }
    if let Some(profile) = process.apparmor_profile() {
        tracing::debug!(
            profile,
            "process.apparmorProfile ignored: the sentry is the boundary"
        );
    }
    if let Some(label) = process.selinux_label() {
        tracing::debug!(
            label,
            "process.selinuxLabel ignored: the sentry is the boundary"
        );
    }
    Ok(())
}

fn check_namespaces(config: &Path, spec: &Spec) -> Result<(), BundleError> {
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().clone());
    for (index, ns) in namespaces.iter().flatten().enumerate() {
        let Some(ns_path) = ns.path() else { continue };
        if !ns_path.exists() {
            return Err(BundleError::NamespacePath {
                path: config.to_path_buf(),
                index,
                typ: config_name(ns.typ()),
                ns_path: ns_path.clone(),
            });
        }
    }
    Ok(())
}

/// A namespace type as config.json spells it ("network", not "net").
fn config_name(typ: oci_spec::runtime::LinuxNamespaceType) -> String {
    match serde_json::to_value(typ) {
        Ok(Value::String(s)) => s,
        _ => typ.to_string(),
    }
}

/// Settings ward accepts and does not act on: the sentry, not a host
/// security module or seccomp filter, is the container's boundary.
fn log_ignored(spec: &Spec) {
    let Some(linux) = spec.linux() else { return };
    if linux.seccomp().is_some() {
        tracing::debug!("linux.seccomp ignored: every syscall is served by the sentry");
    }
    if linux.intel_rdt().is_some() {
        tracing::debug!("linux.intelRdt ignored");
    }
    if linux.personality().is_some() {
        tracing::debug!("linux.personality ignored");
    }
    if let Some(label) = linux.mount_label() {
        tracing::debug!(label, "linux.mountLabel ignored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_minor_versions_are_newer_than_max() {
        assert!(newer_than_max("1.99.0"));
        assert!(!newer_than_max("1.0.2-dev"));
    }

    #[test]
    fn strings_at_reads_fields_and_skips_odd_shapes() {
        let v: Value = serde_json::json!({"a": [{"type": "x"}, 5, {"type": 7}, {"type": "y"}]});
        assert_eq!(strings_at(&v, "/a", Some("type")), vec![(0, "x"), (3, "y")]);
        assert!(strings_at(&v, "/missing", None).is_empty());
    }
}
