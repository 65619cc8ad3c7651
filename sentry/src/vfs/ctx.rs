//! Who is asking: the context every VFS operation runs in. File systems
//! whose contents depend on the caller (procfs: /proc/self, /proc/PID/fd)
//! read the task from here; permission checks read its credentials.

use crate::kernel::creds::CAP_FULL;
use crate::kernel::Task;

/// The caller of a VFS operation: an app task, or the kernel itself (the
/// loader, boot), which acts as root and sees no task-specific files.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    task: Option<&'a Task>,
}

/// The identity a permission check uses: ids, groups and the effective
/// capability set.
#[derive(Clone, Copy, Debug)]
pub struct Cred<'a> {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
    pub caps: u64,
}

impl Cred<'_> {
    pub const ROOT: Cred<'static> = Cred {
        uid: 0,
        gid: 0,
        groups: &[],
        caps: CAP_FULL,
    };

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// Whether the caller holds capability `cap` (a `kernel::creds::CAP_*`).
    pub fn has_cap(&self, cap: u32) -> bool {
        self.caps & (1 << cap) != 0
    }
}

impl<'a> Ctx<'a> {
    /// The kernel acting on its own behalf (root, no task).
    pub fn kernel() -> Ctx<'static> {
        Ctx { task: None }
    }

    /// An app task.
    pub fn of(task: &'a Task) -> Ctx<'a> {
        Ctx { task: Some(task) }
    }

    pub fn task(&self) -> Option<&'a Task> {
        self.task
    }

    /// The file-system identity (fsuid, fsgid, effective capabilities):
    /// what open and the path walk check.
    pub fn fs_cred(&self) -> Cred<'a> {
        match self.task {
            Some(t) => Cred {
                uid: t.creds.fsuid,
                gid: t.creds.fsgid,
                groups: &t.creds.groups,
                caps: t.creds.effective,
            },
            None => Cred::ROOT,
        }
    }

    /// The real identity: what access(2) checks unless AT_EACCESS. As
    /// Linux's faccessat does, a non-root real uid checks with no
    /// capabilities, real root with its permitted set.
    pub fn real_cred(&self) -> Cred<'a> {
        match self.task {
            Some(t) => Cred {
                uid: t.creds.uid,
                gid: t.creds.gid,
                groups: &t.creds.groups,
                caps: if t.creds.uid == 0 {
                    t.creds.permitted
                } else {
                    0
                },
            },
            None => Cred::ROOT,
        }
    }
}
