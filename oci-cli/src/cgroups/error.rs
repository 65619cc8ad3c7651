//! The one error type of the cgroups module: a variant per failing step,
//! each carrying the path or value it failed on.

use std::io;
use std::path::PathBuf;

use super::Controller;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroups path {path:?} is systemd style (slice:prefix:name); ward has no systemd cgroup driver, use a path such as /ward/ID")]
    SystemdPath { path: String },
    #[error("cgroups path {path:?} is invalid: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("reading {path}")]
    Mountinfo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no cgroup file system is mounted (looked for cgroup v1 hierarchies of memory, cpu, cpuacct, cpuset, pids or freezer, and for a cgroup2 mount)")]
    NoCgroupFs,
    #[error("cgroup {path:?} does not exist (looked for {dir})")]
    NotFound { path: String, dir: PathBuf },
    #[error("creating cgroup directory {path}")]
    Mkdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {value:?} to {path}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("{path} holds {value:?}, not a number")]
    Parse { path: PathBuf, value: String },
    #[error(
        "{resource} was asked for but the {controller} cgroup controller is not available here"
    )]
    ControllerMissing {
        controller: Controller,
        resource: &'static str,
    },
    #[error("{resource} is not supported by ward")]
    Unsupported { resource: &'static str },
    #[error("invalid {resource}: {reason}")]
    InvalidValue {
        resource: &'static str,
        reason: String,
    },
    #[error("cgroup {path} did not reach the {state} state (it is {actual:?})")]
    FreezeTimeout {
        path: PathBuf,
        state: &'static str,
        actual: String,
    },
    #[error("cgroup {path} still has processes in it; it cannot be removed")]
    Busy { path: PathBuf },
    #[error("removing cgroup directory {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
