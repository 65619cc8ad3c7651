//! An OCI runtime config, already validated by `bundle`, turned into what
//! the sentry makes (`ContainerSpec`, `ProcessSpec`) and what the
//! container's gofer serves (the bind sources). Mount types map as runsc
//! maps them: proc, sysfs, devpts and the /dev tmpfs are the sentry's own;
//! tmpfs and mqueue are tmpfs in sandbox memory; cgroup is an empty
//! read-only directory; bind and rbind are gofer sources.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, Mount, Process, Spec};
use sentry::control::protocol::{
    CapSets, ContainerSpec, MountKind, MountSpec, ProcessSpec, Rlimit,
};

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

/// The bit of capability `name` ("CAP_CHOWN" or "chown").
pub fn cap_bit(name: &str) -> Option<u64> {
    let up = name.to_ascii_uppercase();
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    crate::bundle::known::CAPABILITIES
        .iter()
        .position(|n| *n == full)
        .map(|i| 1u64 << i)
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
        || m.options()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).expect("spec")
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {
                "user": {"uid": 5, "gid": 6, "additionalGids": [7], "umask": 63},
                "args": ["sh"], "cwd": "/w", "env": ["A=1"],
                "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
                "noNewPrivileges": true
            },
            "root": {"path": "rootfs", "readonly": true},
            "hostname": "h",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=700"]},
                {"destination": "/b", "type": "bind", "source": "rel", "options": ["rbind", "ro"]},
                {"destination": "/c", "type": "none", "source": "/abs", "options": ["bind"]},
                {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"}
            ],
            "linux": {"maskedPaths": ["/m"], "readonlyPaths": ["/r"]}
        })
    }

    #[test]
    fn the_process_keeps_ids_caps_limits_and_umask() {
        let (c, _) = container_spec("x", &spec(base()), Path::new("/b")).expect("spec");
        let p = &c.process;
        assert_eq!((p.uid, p.gid, p.additional_gids.clone()), (5, 6, vec![7]));
        assert_eq!(p.umask, Some(63));
        let kill = 1 << 5;
        let chown = 1;
        assert_eq!(p.caps.bounding, kill | chown);
        assert_eq!(p.caps.effective, kill);
        assert_eq!(
            p.rlimits,
            vec![Rlimit {
                resource: libc::RLIMIT_NOFILE,
                soft: 10,
                hard: 20
            }]
        );
        assert!(p.no_new_privileges);
        assert!(c.root_readonly);
        assert_eq!(c.hostname.as_deref(), Some("h"));
        assert_eq!(
            (c.masked_paths.clone(), c.readonly_paths.clone()),
            (vec!["/m".to_string()], vec!["/r".to_string()])
        );
    }

    #[test]
    fn mounts_map_to_the_sentrys_kinds_and_bind_sources_to_gofer_indexes() {
        let (c, sources) = container_spec("x", &spec(base()), Path::new("/bundle")).expect("spec");
        let kinds: Vec<(&str, &MountKind)> = c
            .mounts
            .iter()
            .map(|m| (m.destination.as_str(), &m.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("/proc", &MountKind::Proc),
                ("/t", &MountKind::Tmpfs { mode: Some(0o700) }),
                ("/b", &MountKind::Gofer { index: 1 }),
                ("/c", &MountKind::Gofer { index: 2 }),
                ("/sys/fs/cgroup", &MountKind::Cgroup),
            ]
        );
        assert_eq!(c.mounts[1].flags, libc::MS_NOSUID);
        assert_eq!(c.mounts[2].flags, libc::MS_RDONLY);
        assert_eq!(sources[0].source, PathBuf::from("/bundle/rel"));
        assert!(sources[0].read_only);
        assert_eq!(sources[1].source, PathBuf::from("/abs"));
        assert!(!sources[1].read_only);
    }

    #[test]
    fn capability_names_with_or_without_the_prefix() {
        assert_eq!(cap_bit("CAP_CHOWN"), Some(1));
        assert_eq!(cap_bit("sys_admin"), Some(1 << 21));
        assert_eq!(cap_bit("CAP_NOPE"), None);
    }

    #[test]
    fn empty_args_are_refused() {
        let mut j = base();
        j["process"]["args"] = serde_json::json!([]);
        assert!(matches!(
            container_spec("x", &spec(j), Path::new("/b")),
            Err(SpecError::NoArgs)
        ));
    }
}
