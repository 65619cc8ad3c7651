//! cgroups for a sandbox: every host process of one sandbox (the sentry, the
//! stub processes that run app code, the gofers) lives in one cgroup, and
//! `linux.resources` (memory, cpu, pids) limit the sandbox as a whole. This
//! module creates, fills, limits, freezes, measures and removes that cgroup;
//! it never kills a process and never applies less than it was asked.
//!
//! Detection happens at run time (`detect.rs`), from /proc/self/mountinfo:
//! if any cgroup v1 hierarchy carries a controller ward uses (memory, cpu,
//! cpuacct, cpuset, pids, freezer), ward works in v1 (`v1.rs`), one
//! directory per hierarchy, even beside a cgroup2 mount (the hybrid layout
//! of systemd's "hybrid" mode); otherwise in the cgroup2 unified hierarchy
//! (`v2.rs`), enabling the controllers it needs in every ancestor's
//! `cgroup.subtree_control`. A controller that is not there is an error for a
//! resource that asks for it (`CgroupError::ControllerMissing`) and a debug
//! log when nothing asks for it.
//!
//! `resources.rs` turns the spec's values into file writes for either
//! version, `stats.rs` reads them back in the shape of `runc events
//! --stats`, `update.rs` turns `ward update`'s flags into resources.

mod detect;
mod error;
mod files;
mod path;
mod resources;
mod stats;
mod update;
mod v1;
mod v2;

use std::fmt;
use std::path::Path;

use oci_spec::runtime::LinuxResources;

pub use error::CgroupError;
pub use stats::{
    events_stats_json, CpuStats, CpuUsage, MemoryEntry, MemoryStats, PidsStats, Stats, Throttling,
};
pub use update::{parse_bytes, resources_from_update, UpdateError, UpdateFlags};

/// A cgroup controller ward uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Controller {
    Memory,
    Cpu,
    Cpuacct,
    Cpuset,
    Pids,
    Freezer,
}

impl Controller {
    pub const ALL: [Controller; 6] = [
        Controller::Memory,
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Cpuset,
        Controller::Pids,
        Controller::Freezer,
    ];

    /// The controller's name, as in mount options and `cgroup.controllers`.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Cpuset => "cpuset",
            Controller::Pids => "pids",
            Controller::Freezer => "freezer",
        }
    }

    fn from_name(name: &str) -> Option<Controller> {
        Controller::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which cgroup version a `Cgroup` lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// One sandbox's cgroup, in every hierarchy ward uses.
#[derive(Debug)]
pub struct Cgroup {
    path: String,
    tree: Tree,
}

#[derive(Debug)]
enum Tree {
    V1(v1::V1Cgroup),
    V2(v2::V2Cgroup),
}

impl Cgroup {
    /// Creates the cgroup `path` (`linux.cgroupsPath`: "/ward/ID",
    /// "k8s.io/ID"), or takes it over if it exists.
    pub fn create(path: &str) -> Result<Cgroup, CgroupError> {
        let path = path::canonical(path)?;
        let tree = match detect::layout()? {
            detect::Layout::V1(hierarchies) => Tree::V1(v1::V1Cgroup::create(&hierarchies, &path)?),
            detect::Layout::V2(mount) => Tree::V2(v2::V2Cgroup::create(&mount, &path)?),
        };
        tracing::debug!(path, ?tree, "cgroup created");
        Ok(Cgroup { path, tree })
    }

    /// The existing cgroup `path`, for commands after `create`.
    pub fn load(path: &str) -> Result<Cgroup, CgroupError> {
        let path = path::canonical(path)?;
        let tree = match detect::layout()? {
            detect::Layout::V1(hierarchies) => Tree::V1(v1::V1Cgroup::load(&hierarchies, &path)?),
            detect::Layout::V2(mount) => Tree::V2(v2::V2Cgroup::load(&mount, &path)?),
        };
        Ok(Cgroup { path, tree })
    }

    /// The canonical path, the string to keep for `load`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn version(&self) -> Version {
        match self.tree {
            Tree::V1(_) => Version::V1,
            Tree::V2(_) => Version::V2,
        }
    }

    /// The directory of this cgroup that `controller` acts through, if the
    /// controller is available.
    pub fn dir(&self, controller: Controller) -> Option<&Path> {
        match &self.tree {
            Tree::V1(t) => t.dir(controller),
            Tree::V2(t) => t.dir(controller),
        }
    }

    /// Moves process `pid` into the cgroup; whatever it starts later is
    /// born there too.
    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        match &self.tree {
            Tree::V1(t) => t.add(pid),
            Tree::V2(t) => t.add(pid),
        }
    }

    /// Applies the memory, cpu and pids limits of `r`. Nothing is written
    /// unless every value can be: a value needing a missing controller, or
    /// one ward does not support, fails before the first write.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let plan = match &self.tree {
            Tree::V1(t) => resources::plan_v1(r, &t.current()?)?,
            Tree::V2(t) => resources::plan_v2(r, &t.current()?)?,
        };
        let mut writes = Vec::with_capacity(plan.len());
        for w in &plan {
            let dir = self
                .dir(w.controller)
                .ok_or(CgroupError::ControllerMissing {
                    controller: w.controller,
                    resource: w.resource,
                })?;
            writes.push((dir.join(&w.file), w));
        }
        for (file, w) in writes {
            tracing::debug!(file = %file.display(), value = w.value, "cgroup write");
            files::write(&file, &w.value)?;
        }
        Ok(())
    }

    /// Freezes every process of the cgroup, returning once all are frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match &self.tree {
            Tree::V1(t) => t.set_frozen(true),
            Tree::V2(t) => t.set_frozen(true),
        }
    }

    /// Lets the processes of a frozen cgroup run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match &self.tree {
            Tree::V1(t) => t.set_frozen(false),
            Tree::V2(t) => t.set_frozen(false),
        }
    }

    /// The processes in the cgroup and its descendants, sorted.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = match &self.tree {
            Tree::V1(t) => t.procs_dir(),
            Tree::V2(t) => Some(t.dir.as_path()),
        };
        let mut pids = Vec::new();
        if let Some(dir) = dir {
            files::collect_procs(dir, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// What the cgroup's processes use, as `runc events --stats` reports it.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        match &self.tree {
            Tree::V1(t) => t.stats(),
            Tree::V2(t) => t.stats(),
        }
    }

    /// Removes the cgroup's directories (and any below them) once their
    /// processes are gone, waiting briefly for exiting ones. Kills nothing.
    pub fn destroy(self) -> Result<(), CgroupError> {
        match self.tree {
            Tree::V1(t) => t.destroy(),
            Tree::V2(t) => t.destroy(),
        }
    }
}
