//! The mount table as a process sees it: every mount of the tree, from
//! the tree's root down through the mounts below each mount (devfs at
//! /dev, procfs at /proc, those mount(2) made, …), numbered in that order;
//! a reader sees those at or below its root, with paths from its root.
//! Mounts stacked on one mount point are all listed, lowest first.
//! Per-mount options come from each mount's flags; a mount made by
//! mount(2) names its own type, source and file-system options.

use std::sync::Arc;

use super::format::MountLine;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
const SYSFS_MAGIC: i64 = 0x6265_6572;
const TMPFS_MAGIC: i64 = 0x0102_1994;
const V9FS_MAGIC: i64 = 0x0102_1997;
const OVERLAYFS_MAGIC: i64 = 0x794c_7630;
const DEVPTS_MAGIC: i64 = 0x1cd1;
const CGROUP2_MAGIC: i64 = 0x6367_7270;
const MQUEUE_MAGIC: i64 = 0x1980_0202;

/// How one of the sandbox's own file systems names itself in the mount
/// table: (type, source, superblock options).
fn describe(magic: i64, point: &[u8]) -> (&'static str, &'static str, &'static str) {
    match magic {
        PROC_SUPER_MAGIC => ("proc", "proc", ""),
        SYSFS_MAGIC => ("sysfs", "sysfs", ""),
        TMPFS_MAGIC if point == b"/dev" => ("tmpfs", "tmpfs", "mode=755"),
        TMPFS_MAGIC => ("tmpfs", "tmpfs", ""),
        V9FS_MAGIC => ("9p", "none", ""),
        OVERLAYFS_MAGIC => ("overlay", "overlay", ""),
        DEVPTS_MAGIC => ("devpts", "devpts", "gid=5,mode=620,ptmxmode=666"),
        CGROUP2_MAGIC => ("cgroup2", "cgroup2", ""),
        MQUEUE_MAGIC => ("mqueue", "mqueue", ""),
        _ => ("none", "none", ""),
    }
}

/// Every mount root of the tree `d` is in, with its id and its parent's.
fn all_mounts(d: &Arc<Dentry>) -> Vec<(u32, u32, Arc<Dentry>)> {
    let mut top = Arc::clone(d);
    while let Some(p) = top.parent().cloned() {
        top = p;
    }
    let mut out = vec![(1u32, 1u32, top)];
    let mut i = 0;
    while i < out.len() {
        let (id, _, m) = out[i].clone();
        let mut kids = m.submounts();
        kids.sort_by_key(|k| k.path());
        for k in kids {
            // A mount stacked on others is listed after them, each the
            // parent of the one above it.
            let mut stack = vec![Arc::clone(&k)];
            while let Some(c) = stack
                .last()
                .and_then(|d| d.mount_state().made)
                .and_then(|m| m.covered.clone())
            {
                stack.push(c);
            }
            let mut parent = id;
            for m in stack.into_iter().rev() {
                let next = out.len() as u32 + 1;
                out.push((next, parent, m));
                parent = next;
            }
        }
        i += 1;
    }
    out
}

/// The mounts a process whose root is `root` sees.
pub(super) fn lines(ctx: &Ctx<'_>, root: &Arc<Dentry>) -> Vec<MountLine> {
    let root_mount = root.mount_root();
    let mut out = Vec::new();
    for (id, parent, m) in all_mounts(root) {
        let point = if Arc::ptr_eq(&m, &root_mount) {
            b"/".to_vec()
        } else if m.is_below(root) {
            m.path_from(root).0
        } else {
            continue;
        };
        let info = m.inode().fs_info();
        let state = m.mount_state();
        let root = state
            .made
            .as_ref()
            .map_or_else(|| b"/".to_vec(), |m| m.root.clone());
        let (fstype, source, super_opts) = match state.made {
            Some(made) if !made.fstype.is_empty() => (
                made.fstype.clone(),
                made.source.clone(),
                made.super_opts.clone(),
            ),
            _ => {
                let (f, s, o) = describe(info.magic, &point);
                (f.to_string(), s.as_bytes().to_vec(), o.to_string())
            }
        };
        out.push(MountLine {
            id,
            parent,
            dev: m.stat(ctx).map(|s| s.dev).unwrap_or(0),
            point,
            root,
            fstype,
            source,
            read_only: info.read_only || state.flags.any_read_only(),
            mount_opts: state.flags.options(),
            super_opts,
        });
    }
    out
}

/// The id of the mount `d` is in (for fdinfo's mnt_id).
pub(super) fn mount_id(d: &Arc<Dentry>) -> u32 {
    let root = d.mount_root();
    all_mounts(d)
        .into_iter()
        .find(|(_, _, m)| Arc::ptr_eq(m, &root))
        .map_or(0, |(id, _, _)| id)
}
