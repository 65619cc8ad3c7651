//! A cgroup in the v1 hierarchies: one directory per mounted hierarchy
//! that carries a controller ward uses, all at the same path.

use std::path::{Path, PathBuf};

use super::detect::Hierarchy;
use super::files::{self, read_u64_optional};
use super::path::relative;
use super::resources::Current;
use super::stats::{MemoryEntry, Stats};
use super::{CgroupError, Controller};

/// cpuacct.stat counts in USER_HZ ticks, fixed at 100 per second in the ABI.
const NANOS_PER_TICK: u64 = 1_000_000_000 / 100;

#[derive(Debug)]
pub struct V1Cgroup {
    dirs: Vec<(Vec<Controller>, PathBuf)>,
}

impl V1Cgroup {
    pub fn create(hierarchies: &[Hierarchy], path: &str) -> Result<V1Cgroup, CgroupError> {
        let mut dirs = Vec::new();
        for h in hierarchies {
            let cpuset = h.controllers.contains(&Controller::Cpuset);
            let dir = make_dirs(&h.mount, relative(path), cpuset)?;
            dirs.push((h.controllers.clone(), dir));
        }
        let cgroup = V1Cgroup { dirs };
        for c in Controller::ALL {
            if cgroup.dir(c).is_none() {
                tracing::debug!(controller = %c, "no v1 hierarchy has this controller; limits on it cannot be applied");
            }
        }
        Ok(cgroup)
    }

    /// The cgroup in the hierarchies where it exists (a removal cut short
    /// can leave it in some only); `NotFound` if it is in none.
    pub fn load(hierarchies: &[Hierarchy], path: &str) -> Result<V1Cgroup, CgroupError> {
        let mut dirs = Vec::new();
        for h in hierarchies {
            let dir = h.mount.join(relative(path));
            if dir.is_dir() {
                dirs.push((h.controllers.clone(), dir));
            } else {
                tracing::debug!(dir = %dir.display(), "cgroup missing in this hierarchy");
            }
        }
        if dirs.is_empty() {
            let dir = hierarchies
                .first()
                .map(|h| h.mount.join(relative(path)))
                .unwrap_or_default();
            return Err(CgroupError::NotFound {
                path: path.to_string(),
                dir,
            });
        }
        Ok(V1Cgroup { dirs })
    }

    pub fn dir(&self, controller: Controller) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(cs, _)| cs.contains(&controller))
            .map(|(_, d)| d.as_path())
    }

    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        for (_, dir) in &self.dirs {
            files::write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The directory whose cgroup.procs lists the sandbox's processes.
    pub fn procs_dir(&self) -> Option<&Path> {
        [Controller::Pids, Controller::Freezer, Controller::Memory]
            .into_iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()))
    }

    pub fn current(&self) -> Result<Current, CgroupError> {
        let Some(mem) = self.dir(Controller::Memory) else {
            return Ok(Current::default());
        };
        let limit = files::read_u64(&mem.join("memory.limit_in_bytes"))?;
        Ok(Current {
            memory_limit: Some(i64::try_from(limit).unwrap_or(i64::MAX)),
            swap_accounting: mem.join("memory.memsw.limit_in_bytes").exists(),
            cpu_max: None,
        })
    }

    /// Writes FROZEN or THAWED to freezer.state and waits until the state
    /// reads back so; a freeze that does not finish is undone.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let dir = self
            .dir(Controller::Freezer)
            .ok_or(CgroupError::ControllerMissing {
                controller: Controller::Freezer,
                resource: if frozen { "pausing" } else { "resuming" },
            })?;
        let file = dir.join("freezer.state");
        let want = if frozen { "FROZEN" } else { "THAWED" };
        files::write(&file, want)?;
        let mut actual = String::new();
        let reached = files::wait_until(files::FREEZE_LIMIT, || {
            actual = files::read(&file)?.trim().to_string();
            if actual == want {
                return Ok(true);
            }
            // A freeze can stall in FREEZING on a task that was busy; asking
            // again retries the tasks left.
            files::write(&file, want)?;
            Ok(false)
        })?;
        if reached {
            return Ok(());
        }
        if frozen {
            let _ = files::write(&file, "THAWED");
        }
        Err(CgroupError::FreezeTimeout {
            path: dir.to_path_buf(),
            state: want,
            actual,
        })
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        if let Some(dir) = self.dir(Controller::Cpuacct) {
            let u = &mut s.cpu.usage;
            u.total = read_u64_optional(&dir.join("cpuacct.usage"))?.unwrap_or(0);
            let list = |name: &str| -> Result<Vec<u64>, CgroupError> {
                Ok(files::read_optional(&dir.join(name))?
                    .map(|t| files::number_list(&t))
                    .unwrap_or_default())
            };
            u.percpu = list("cpuacct.usage_percpu")?;
            u.percpu_user = list("cpuacct.usage_percpu_user")?;
            u.percpu_kernel = list("cpuacct.usage_percpu_sys")?;
            if let Some(text) = files::read_optional(&dir.join("cpuacct.stat"))? {
                let ticks = files::flat_keyed(&text);
                u.user = ticks.get("user").copied().unwrap_or(0) * NANOS_PER_TICK;
                u.kernel = ticks.get("system").copied().unwrap_or(0) * NANOS_PER_TICK;
            }
        }
        if let Some(dir) = self.dir(Controller::Cpu) {
            if let Some(text) = files::read_optional(&dir.join("cpu.stat"))? {
                let stat = files::flat_keyed(&text);
                let t = &mut s.cpu.throttling;
                t.periods = stat.get("nr_periods").copied().unwrap_or(0);
                t.throttled_periods = stat.get("nr_throttled").copied().unwrap_or(0);
                t.throttled_time = stat.get("throttled_time").copied().unwrap_or(0);
            }
        }
        if let Some(dir) = self.dir(Controller::Memory) {
            let m = &mut s.memory;
            m.raw = files::flat_keyed(&files::read(&dir.join("memory.stat"))?);
            m.cache = m.raw.get("cache").copied().unwrap_or(0);
            m.usage = memory_entry(dir, "memory")?;
            m.swap = memory_entry(dir, "memory.memsw")?;
        }
        if let Some(dir) = self.dir(Controller::Pids) {
            s.pids.current = read_u64_optional(&dir.join("pids.current"))?.unwrap_or(0);
            s.pids.limit = read_u64_optional(&dir.join("pids.max"))?
                .filter(|l| *l != u64::MAX)
                .unwrap_or(0);
        }
        Ok(s)
    }

    /// Removes the directory in each hierarchy; a process is in all of
    /// them, so the first one that stays busy ends the attempt.
    pub fn destroy(self) -> Result<(), CgroupError> {
        for (_, dir) in &self.dirs {
            files::remove_tree(dir)?;
        }
        Ok(())
    }
}

/// `PREFIX.usage_in_bytes` and its siblings, zero where a file is missing.
fn memory_entry(dir: &Path, prefix: &str) -> Result<MemoryEntry, CgroupError> {
    let get = |name: &str| -> Result<u64, CgroupError> {
        Ok(read_u64_optional(&dir.join(format!("{prefix}.{name}")))?.unwrap_or(0))
    };
    Ok(MemoryEntry {
        limit: get("limit_in_bytes")?,
        usage: get("usage_in_bytes")?,
        max: get("max_usage_in_bytes")?,
        failcnt: get("failcnt")?,
    })
}

/// Makes `mount/rel` one level at a time; in a cpuset hierarchy every level
/// gets its parent's cpus and mems if it has none, or no task could join it.
fn make_dirs(mount: &Path, rel: &str, cpuset: bool) -> Result<PathBuf, CgroupError> {
    let mut dir = mount.to_path_buf();
    for part in rel.split('/') {
        let parent = dir.clone();
        dir.push(part);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(CgroupError::Mkdir { path: dir, source }),
        }
        if cpuset {
            for name in ["cpuset.cpus", "cpuset.mems"] {
                if files::read(&dir.join(name))?.trim().is_empty() {
                    let from_parent = files::read(&parent.join(name))?;
                    files::write(&dir.join(name), from_parent.trim())?;
                }
            }
        }
    }
    Ok(dir)
}
