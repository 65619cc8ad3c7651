//! Which cgroup layout this host has, read from /proc/self/mountinfo.
//!
//! - **v1 (legacy or hybrid)**: one `cgroup` mount per hierarchy, its
//!   controllers named in the super options (`rw,memory`, `rw,cpu,cpuacct`).
//!   If any hierarchy carries a controller ward uses, ward uses v1, even when
//!   a `cgroup2` mount exists beside them (the hybrid layout, where the v2
//!   mount at /sys/fs/cgroup/unified holds no controllers).
//! - **v2 (unified)**: otherwise, the `cgroup2` mount (at /sys/fs/cgroup
//!   when there are several), its controllers listed in `cgroup.controllers`.

use std::path::{Path, PathBuf};

use super::{CgroupError, Controller};

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// A mounted v1 hierarchy and the controllers ward uses that it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mount: PathBuf,
    pub controllers: Vec<Controller>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    V1(Vec<Hierarchy>),
    V2(PathBuf),
}

/// The layout of the running host.
pub fn layout() -> Result<Layout, CgroupError> {
    let text = std::fs::read_to_string(MOUNTINFO).map_err(|source| CgroupError::Mountinfo {
        path: PathBuf::from(MOUNTINFO),
        source,
    })?;
    parse(&text).ok_or(CgroupError::NoCgroupFs)
}

/// The layout described by a mountinfo text, if it has any cgroup mount.
pub fn parse(mountinfo: &str) -> Option<Layout> {
    let mut hierarchies: Vec<Hierarchy> = Vec::new();
    let mut unified: Vec<PathBuf> = Vec::new();
    for line in mountinfo.lines() {
        let Some((head, tail)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount) = head.split(' ').nth(4) else {
            continue;
        };
        let mut tail = tail.split(' ');
        let (fstype, options) = (tail.next(), tail.nth(1));
        let mount = PathBuf::from(unescape(mount));
        match fstype {
            Some("cgroup2") => unified.push(mount),
            Some("cgroup") => {
                let controllers: Vec<Controller> = options
                    .unwrap_or("")
                    .split(',')
                    .filter_map(Controller::from_name)
                    .filter(|c| !hierarchies.iter().any(|h| h.controllers.contains(c)))
                    .collect();
                if !controllers.is_empty() {
                    hierarchies.push(Hierarchy { mount, controllers });
                }
            }
            _ => {}
        }
    }
    if !hierarchies.is_empty() {
        return Some(Layout::V1(hierarchies));
    }
    let preferred = Path::new("/sys/fs/cgroup");
    unified
        .iter()
        .find(|m| m.as_path() == preferred)
        .or(unified.first())
        .map(|m| Layout::V2(m.clone()))
}

/// mountinfo's octal escapes (`\040` for a space) undone.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                let value = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
40 25 0:35 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
41 40 0:36 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
42 40 0:37 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
43 40 0:38 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
44 40 0:39 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
45 40 0:40 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
46 40 0:41 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const UNIFIED: &str = "\
25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
26 25 0:23 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn hybrid_layout_uses_the_v1_hierarchies() {
        let Some(Layout::V1(h)) = parse(HYBRID) else {
            panic!("expected v1");
        };
        let mounts: Vec<_> = h.iter().map(|h| h.mount.to_str().unwrap()).collect();
        assert_eq!(
            mounts,
            [
                "/sys/fs/cgroup/cpu",
                "/sys/fs/cgroup/cpuacct",
                "/sys/fs/cgroup/memory"
            ]
        );
        assert_eq!(h[2].controllers, [Controller::Memory]);
    }

    #[test]
    fn co_mounted_controllers_share_a_hierarchy() {
        let text = "41 40 0:36 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let Some(Layout::V1(h)) = parse(text) else {
            panic!("expected v1");
        };
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].controllers, [Controller::Cpu, Controller::Cpuacct]);
    }

    #[test]
    fn unified_layout_is_v2() {
        assert_eq!(
            parse(UNIFIED),
            Some(Layout::V2(PathBuf::from("/sys/fs/cgroup")))
        );
    }

    #[test]
    fn no_cgroup_mount_is_none() {
        assert_eq!(parse("25 30 0:22 / /sys rw - sysfs sysfs rw\n"), None);
    }

    #[test]
    fn escaped_mount_points_are_unescaped() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
    }
}
