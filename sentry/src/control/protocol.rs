//! The messages `ward` (its create, start, exec, kill… commands and each
//! container's host process) and the sentry exchange on the sandbox's
//! control socket: one JSON value per SOCK_SEQPACKET message, host fds
//! (a container's gofer socket and stdio) riding along as SCM_RIGHTS.
//! Everything here is plain data; `wire` moves it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Capability sets, bit N for capability N.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// RLIMIT_* number.
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// A process to start: a container's init or an exec'd one.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct ProcessSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(default)]
    pub additional_gids: Vec<u32>,
    #[serde(default)]
    pub umask: Option<u32>,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    pub caps: CapSets,
    #[serde(default)]
    pub no_new_privileges: bool,
}

/// What is mounted at a destination of a container's tree.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum MountKind {
    /// The container gofer's attach point `index` (a bind mount's source).
    Gofer { index: u32 },
    /// A tmpfs in sandbox memory; `mode` of its root.
    Tmpfs { mode: Option<u32> },
    Proc,
    Sysfs,
    Devpts,
    /// POSIX message queues: an empty tmpfs (ward has no mq_* calls yet).
    Mqueue,
    /// The cgroup file system: an empty read-only directory inside the
    /// sandbox (its limits are applied from outside).
    Cgroup,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct MountSpec {
    /// Absolute path inside the container.
    pub destination: String,
    #[serde(flatten)]
    pub kind: MountKind,
    /// MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC…
    pub flags: u64,
}

/// A container to make in the sandbox.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ContainerSpec {
    pub id: String,
    pub process: ProcessSpec,
    /// `root.readonly`: the root is mounted read-only.
    pub root_readonly: bool,
    pub mounts: Vec<MountSpec>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub domainname: Option<String>,
    #[serde(default)]
    pub masked_paths: Vec<String>,
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    #[serde(default)]
    pub sysctl: BTreeMap<String, String>,
}

/// Which processes of a container a signal goes to.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SignalTarget {
    /// Its init.
    Init,
    /// Every process of it.
    All,
    /// One process, by sandbox pid (it must belong to the container).
    Pid(i32),
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Makes the container and its init, which waits for `Start`. Fds: the
    /// gofer's socket, then stdin, stdout, stderr. The connection then
    /// stays open: the sentry sends `Exited` on it when the init ends.
    Create { spec: ContainerSpec },
    /// Lets a created container's init run.
    Start { id: String },
    /// Starts a process in a running container. Fds: stdin, stdout,
    /// stderr. The connection stays open for its `Exited`.
    Exec { id: String, process: ProcessSpec },
    Signal {
        id: String,
        target: SignalTarget,
        signal: i32,
    },
    /// The container's processes.
    Ps { id: String },
    /// Forgets a container whose processes are gone (kills any left).
    Delete { id: String },
}

/// One process of a container, as `ps` shows it.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ProcessInfo {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// Start time in seconds since the sandbox started.
    pub start_secs: u64,
    /// CPU time used, in seconds.
    pub cpu_secs: u64,
    pub cmd: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Exited { code: i32 },
    Signaled { signal: i32 },
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Ok,
    /// A process was made: its sandbox pid.
    Made { pid: i32 },
    Ps { processes: Vec<ProcessInfo> },
    /// The watched process ended.
    Exited { status: Status },
    /// The request failed: why, in one line.
    Error { message: String },
}
