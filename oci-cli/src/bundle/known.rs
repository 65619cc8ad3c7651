//! What ward accepts in a bundle, as data: the mount types and options, the
//! namespaces, capabilities, rlimits and hooks. The validator checks bundles
//! against these lists and `ward features` prints the same lists, so the two
//! never disagree.

/// The oldest runtime-spec version ward reads.
pub const OCI_VERSION_MIN: &str = "1.0.0";

/// The newest runtime-spec version ward is written against (the one the
/// `oci-spec` crate implements); later 1.x configs are read with the fields
/// ward knows.
pub const OCI_VERSION_MAX: &str = oci_spec::runtime::VERSION;

/// The spec's major version: any 1.x config is accepted.
pub const OCI_VERSION_MAJOR: &str = "1";

/// Mount types served by the sentry or the gofer. A bind mount may also be
/// written with type "none" or no type and a `bind`/`rbind` option.
pub const MOUNT_TYPES: &[&str] = &[
    "bind", "rbind", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2",
];

/// Mount options that are flags (runc's list): each sets or clears a mount
/// flag, a propagation type, or a recursive (`r`-prefixed) attribute.
pub const MOUNT_FLAG_OPTIONS: &[&str] = &[
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// File-system data options written without a value (options of the form
/// `key=value`, such as `mode=755` or `size=65536k`, always pass through to
/// the file system).
pub const MOUNT_DATA_WORDS: &[&str] = &[
    // devpts
    "newinstance",
    "ptmxinstance",
    // tmpfs
    "inode32",
    "inode64",
    "noswap",
    // cgroup2
    "nsdelegate",
    "favordynmods",
    "memory_localevents",
    "memory_recursiveprot",
    // cgroup v1: the controllers to mount, and its flags
    "all",
    "blkio",
    "clone_children",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "noprefix",
    "none",
    "perf_event",
    "pids",
    "rdma",
    "xattr",
];

/// Namespace types a config may name (each a field of the sandbox ward
/// builds; a `path` must exist and is joined by the whole sandbox).
pub const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
];

/// Capability names ward knows (Linux's, up to CAP_CHECKPOINT_RESTORE).
pub const CAPABILITIES: &[&str] = &[
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

/// Resource limits a config may set.
pub const RLIMITS: &[&str] = &[
    "RLIMIT_AS",
    "RLIMIT_CORE",
    "RLIMIT_CPU",
    "RLIMIT_DATA",
    "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_RSS",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING",
    "RLIMIT_STACK",
];

/// Hook kinds, by their names in config.json, in the order of a container's life.
pub const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Whether `name` is a capability ward knows; like the `oci-spec` crate,
/// the `CAP_` prefix is optional and case does not matter.
pub fn is_capability(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES
        .iter()
        .any(|c| c.strip_prefix("CAP_") == Some(bare))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_match_with_or_without_prefix() {
        assert!(is_capability("CAP_SYS_ADMIN"));
        assert!(is_capability("sys_admin"));
        assert!(!is_capability("CAP_SYS_EVERYTHING"));
        assert!(!is_capability("CAP_"));
    }

    #[test]
    fn every_capability_the_oci_spec_crate_parses_is_known() {
        for name in CAPABILITIES {
            let parsed: Result<oci_spec::runtime::Capability, _> =
                serde_json::from_str(&format!("\"{name}\""));
            assert!(parsed.is_ok(), "{name} does not parse");
        }
    }

    #[test]
    fn every_rlimit_parses_as_the_oci_spec_crate_type() {
        for name in RLIMITS {
            let parsed: Result<oci_spec::runtime::PosixRlimitType, _> =
                serde_json::from_str(&format!("\"{name}\""));
            assert!(parsed.is_ok(), "{name} does not parse");
        }
    }

    #[test]
    fn flag_options_are_sorted_and_unique() {
        assert!(MOUNT_FLAG_OPTIONS.windows(2).all(|w| w[0] < w[1]));
    }
}
