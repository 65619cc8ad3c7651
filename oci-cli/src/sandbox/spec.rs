//! An OCI runtime config, already validated by `bundle`, turned into what
//! the sentry makes (`ContainerSpec`, `ProcessSpec`) and what the
//! container's gofer serves (the bind sources). Mount types map as runsc
//! maps them: proc, sysfs, devpts and the /dev tmpfs are the sentry's own;
//! tmpfs and mqueue are tmpfs in sandbox memory; cgroup is an empty
//! read-only directory; bind and rbind are gofer sources.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, Mount, Process, Spec};
use sentry::control::protocol::{CapSets, ContainerSpec, MountKind, MountSpec, ProcessSpec, Rlimit};

use super::plan::GoferSource;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("config.json has no process")]
    NoProcess,
    #[error("config.json: process.args is empty")]
    NoArgs,
    #[error("config.json: {0}")]
    Bad(String),
}

/// Capability names, in Linux's numbering (CAP_CHOWN = 0 …).
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The bit of capability `name` ("CAP_CHOWN" or "chown").
pub fn cap_bit(name: &str) -> Option<u64> {
    let up = name.to_ascii_uppercase();
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    CAP_NAMES.iter().position(|n| *n == full).map(|i| 1u64 << i)
}

fn caps_of(set: &Option<std::collections::HashSet<Capability>>) -> u64 {
    let Some(set) = set else { return 0 };
    set.iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .filter_map(|v| v.as_str().and_then(cap_bit))
        .fold(0, |a, b| a | b)
}

/// RLIMIT_* by its spec name.
fn rlimit_number(name: &str) -> Option<u32> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    })
}

/// The sentry's form of an OCI process.
pub fn process_spec(p: &Process) -> Result<ProcessSpec, SpecError> {
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(SpecError::NoArgs);
    }
    let user = p.user();
    let mut rlimits = Vec::new();
    for r in p.rlimits().iter().flatten() {
        let name = serde_json::to_value(r.typ())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let resource =
            rlimit_number(&name).ok_or_else(|| SpecError::Bad(format!("unknown rlimit {name}")))?;
        rlimits.push(Rlimit {
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    let caps = match p.capabilities() {
        Some(c) => CapSets {
            bounding: caps_of(c.bounding()),
            effective: caps_of(c.effective()),
            permitted: caps_of(c.permitted()),
            inheritable: caps_of(c.inheritable()),
            ambient: caps_of(c.ambient()),
        },
        None => CapSets::default(),
    };
    Ok(ProcessSpec {
        args,
        env: p.env().clone().unwrap_or_default(),
        cwd: p.cwd().to_string_lossy().into_owned(),
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        rlimits,
        caps,
        no_new_privileges: p.no_new_privileges().unwrap_or(false),
    })
}

/// MS_* flags of mount options; data options (size=, mode=…) are skipped.
fn mount_flags(options: &[String]) -> u64 {
    let mut f: u64 = 0;
    for o in options {
        match o.as_str() {
            "ro" | "rro" => f |= libc::MS_RDONLY,
            "rw" | "rrw" => f &= !libc::MS_RDONLY,
            "nosuid" | "rnosuid" => f |= libc::MS_NOSUID,
            "suid" | "rsuid" => f &= !libc::MS_NOSUID,
            "nodev" | "rnodev" => f |= libc::MS_NODEV,
            "dev" | "rdev" => f &= !libc::MS_NODEV,
            "noexec" | "rnoexec" => f |= libc::MS_NOEXEC,
            "exec" | "rexec" => f &= !libc::MS_NOEXEC,
            _ => {}
        }
    }
    f
}

fn is_bind(m: &Mount) -> bool {
    let typ = m.typ().as_deref().unwrap_or("");
    typ == "bind"
        || m
            .options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

fn tmpfs_mode(options: &[String]) -> Option<u32> {
    options
        .iter()
        .find_map(|o| o.strip_prefix("mode="))
        .and_then(|m| u32::from_str_radix(m, 8).ok())
}

/// The container's spec and its gofer's bind sources (attach index i+1).
pub fn container_spec(
    id: &str,
    spec: &Spec,
    bundle_dir: &Path,
) -> Result<(ContainerSpec, Vec<GoferSource>), SpecError> {
    let process = process_spec(spec.process().as_ref().ok_or(SpecError::NoProcess)?)?;
    let mut sources = Vec::new();
    let mut mounts = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let dest = m.destination().to_string_lossy().into_owned();
        let options = m.options().clone().unwrap_or_default();
        let flags = mount_flags(&options);
        let typ = m.typ().as_deref().unwrap_or("");
        let kind = if is_bind(m) {
            let src = m.source().clone().unwrap_or_default();
            let src: PathBuf = if src.is_absolute() {
                src
            } else {
                bundle_dir.join(src)
            };
            sources.push(GoferSource {
                source: src,
                read_only: flags & libc::MS_RDONLY != 0,
            });
            MountKind::Gofer {
                index: sources.len() as u32,
            }
        } else {
            match typ {
                "proc" => MountKind::Proc,
                "sysfs" => MountKind::Sysfs,
                "devpts" => MountKind::Devpts,
                "mqueue" => MountKind::Mqueue,
                "cgroup" | "cgroup2" => MountKind::Cgroup,
                // The sentry's devfs is /dev whatever the bundle mounts there.
                "tmpfs" if dest == "/dev" => continue,
                "tmpfs" => MountKind::Tmpfs {
                    mode: tmpfs_mode(&options),
                },
                other => {
                    return Err(SpecError::Bad(format!(
                        "mount {dest}: type {other:?} is not supported"
                    )))
                }
            }
        };
        mounts.push(MountSpec {
            destination: dest,
            kind,
            flags,
        });
    }
    let linux = spec.linux().as_ref();
    let strings = |v: Option<&Vec<String>>| v.cloned().unwrap_or_default();
    let sysctl: BTreeMap<String, String> = linux
        .and_then(|l| l.sysctl().clone())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    Ok((
        ContainerSpec {
            id: id.to_string(),
            process,
            root_readonly: spec
                .root()
                .as_ref()
                .and_then(|r| r.readonly())
                .unwrap_or(false),
            mounts,
            hostname: spec.hostname().clone(),
            domainname: spec.domainname().clone(),
            masked_paths: strings(linux.and_then(|l| l.masked_paths().as_ref())),
            readonly_paths: strings(linux.and_then(|l| l.readonly_paths().as_ref())),
            sysctl,
        },
        sources,
    ))
}
