//! Why a bundle was refused: one variant per check, each carrying the path
//! or value at fault so the message names the problem and where it is.

use std::path::PathBuf;

use super::known::{OCI_VERSION_MAX, OCI_VERSION_MIN};

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no such file: a bundle needs a config.json")]
    NoConfig { path: PathBuf },
    #[error("{path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: ociVersion is missing (ward supports 1.x: {OCI_VERSION_MIN} through {OCI_VERSION_MAX}, later 1.x read as {OCI_VERSION_MAX})")]
    NoOciVersion { path: PathBuf },
    #[error("{path}: unsupported ociVersion \"{version}\" (ward supports 1.x: {OCI_VERSION_MIN} through {OCI_VERSION_MAX}, later 1.x read as {OCI_VERSION_MAX})")]
    OciVersion { path: PathBuf, version: String },
    #[error("{path}: no root: a bundle needs root.path")]
    NoRoot { path: PathBuf },
    #[error("{path}: root.path {root}: {source}")]
    RootPath {
        path: PathBuf,
        root: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: root.path {root} is not a directory")]
    RootNotDir { path: PathBuf, root: PathBuf },
    #[error("{path}: no process: create needs process.args")]
    NoProcess { path: PathBuf },
    #[error("{path}: process.args is empty: create needs a program to run")]
    NoArgs { path: PathBuf },
    #[error("{path}: process.cwd {cwd} is not an absolute path")]
    RelativeCwd { path: PathBuf, cwd: PathBuf },
    #[error("{path}: mounts[{index}]: destination {destination} is not an absolute path")]
    MountDestination {
        path: PathBuf,
        index: usize,
        destination: PathBuf,
    },
    #[error("{path}: mounts[{index}] ({destination}): unsupported mount type \"{typ}\" (ward supports {supported})", supported = super::known::MOUNT_TYPES.join(", "))]
    MountType {
        path: PathBuf,
        index: usize,
        destination: PathBuf,
        typ: String,
    },
    #[error(
        "{path}: mounts[{index}] ({destination}): type \"{typ}\" needs a bind or rbind option"
    )]
    MountNotBind {
        path: PathBuf,
        index: usize,
        destination: PathBuf,
        typ: String,
    },
    #[error("{path}: mounts[{index}] ({destination}): unknown mount option \"{option}\"")]
    MountOption {
        path: PathBuf,
        index: usize,
        destination: PathBuf,
        option: String,
    },
    #[error("{path}: linux.namespaces[{index}]: unsupported namespace type \"{typ}\" (ward supports {supported})", supported = super::known::NAMESPACES.join(", "))]
    NamespaceType {
        path: PathBuf,
        index: usize,
        typ: String,
    },
    #[error("{path}: linux.namespaces[{index}] ({typ}): namespace path {ns_path} does not exist")]
    NamespacePath {
        path: PathBuf,
        index: usize,
        typ: String,
        ns_path: PathBuf,
    },
    #[error("{path}: process.rlimits[{index}]: unknown rlimit type \"{typ}\"")]
    Rlimit {
        path: PathBuf,
        index: usize,
        typ: String,
    },
    #[error("{path}: process.capabilities.{set}[{index}]: unknown capability \"{name}\"")]
    Capability {
        path: PathBuf,
        set: String,
        index: usize,
        name: String,
    },
}
