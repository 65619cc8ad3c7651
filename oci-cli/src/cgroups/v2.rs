//! A cgroup in the v2 unified hierarchy: one directory, with the
//! controllers ward needs enabled in each ancestor's cgroup.subtree_control.

use std::path::{Path, PathBuf};

use super::files::{self, read_u64_optional};
use super::path::relative;
use super::resources::Current;
use super::stats::Stats;
use super::{CgroupError, Controller};

/// The controllers ward enables; freezing and cpu accounting are in the
/// v2 core and need no controller.
const ENABLED: [Controller; 4] = [
    Controller::Cpu,
    Controller::Cpuset,
    Controller::Memory,
    Controller::Pids,
];

#[derive(Debug)]
pub struct V2Cgroup {
    pub dir: PathBuf,
    controllers: Vec<Controller>,
}

impl V2Cgroup {
    pub fn create(mount: &Path, path: &str) -> Result<V2Cgroup, CgroupError> {
        let mut wanted = controllers_in(&mount.join("cgroup.controllers"))?;
        let mut dir = mount.to_path_buf();
        for part in relative(path).split('/') {
            enable(&dir, &mut wanted)?;
            dir.push(part);
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(CgroupError::Mkdir { path: dir, source }),
            }
        }
        let cgroup = V2Cgroup::at(dir)?;
        for c in ENABLED {
            if !cgroup.controllers.contains(&c) {
                tracing::debug!(controller = %c, "the {c} controller is not available in this cgroup; limits on it cannot be applied");
            }
        }
        Ok(cgroup)
    }

    pub fn load(mount: &Path, path: &str) -> Result<V2Cgroup, CgroupError> {
        let dir = mount.join(relative(path));
        if !dir.is_dir() {
            return Err(CgroupError::NotFound {
                path: path.to_string(),
                dir,
            });
        }
        V2Cgroup::at(dir)
    }

    fn at(dir: PathBuf) -> Result<V2Cgroup, CgroupError> {
        let mut controllers = controllers_in(&dir.join("cgroup.controllers"))?;
        controllers.push(Controller::Cpuacct);
        if dir.join("cgroup.freeze").exists() {
            controllers.push(Controller::Freezer);
        }
        Ok(V2Cgroup { dir, controllers })
    }

    pub fn dir(&self, controller: Controller) -> Option<&Path> {
        self.controllers
            .contains(&controller)
            .then_some(self.dir.as_path())
    }

    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        files::write(&self.dir.join("cgroup.procs"), &pid.to_string())
    }

    pub fn current(&self) -> Result<Current, CgroupError> {
        let mut cur = Current::default();
        if self.dir(Controller::Memory).is_some() {
            let max = files::read_u64(&self.dir.join("memory.max"))?;
            cur.memory_limit = Some(i64::try_from(max).unwrap_or(-1));
            cur.swap_accounting = self.dir.join("memory.swap.max").exists();
        }
        if self.dir(Controller::Cpu).is_some() {
            cur.cpu_max =
                files::read_optional(&self.dir.join("cpu.max"))?.map(|t| t.trim().to_string());
        }
        Ok(cur)
    }

    /// Writes cgroup.freeze and waits for cgroup.events to say `frozen 1`
    /// (or `frozen 0`); a freeze that does not finish is undone.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let resource = if frozen { "pausing" } else { "resuming" };
        self.dir(Controller::Freezer)
            .ok_or(CgroupError::ControllerMissing {
                controller: Controller::Freezer,
                resource,
            })?;
        let (value, want) = if frozen {
            ("1", "frozen 1")
        } else {
            ("0", "frozen 0")
        };
        let freeze = self.dir.join("cgroup.freeze");
        let events = self.dir.join("cgroup.events");
        files::write(&freeze, value)?;
        let mut actual = String::new();
        let reached = files::wait_until(files::FREEZE_LIMIT, || {
            let text = files::read(&events)?;
            actual = text
                .lines()
                .find(|l| l.starts_with("frozen "))
                .unwrap_or("")
                .to_string();
            Ok(actual == want)
        })?;
        if reached {
            return Ok(());
        }
        if frozen {
            let _ = files::write(&freeze, "0");
        }
        Err(CgroupError::FreezeTimeout {
            path: self.dir.clone(),
            state: if frozen { "frozen" } else { "thawed" },
            actual,
        })
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        let dir = &self.dir;
        if let Some(text) = files::read_optional(&dir.join("cpu.stat"))? {
            let stat = files::flat_keyed(&text);
            let get = |k: &str| stat.get(k).copied().unwrap_or(0);
            s.cpu.usage.total = get("usage_usec") * 1000;
            s.cpu.usage.user = get("user_usec") * 1000;
            s.cpu.usage.kernel = get("system_usec") * 1000;
            s.cpu.throttling.periods = get("nr_periods");
            s.cpu.throttling.throttled_periods = get("nr_throttled");
            s.cpu.throttling.throttled_time = get("throttled_usec") * 1000;
        }
        if self.dir(Controller::Memory).is_some() {
            let m = &mut s.memory;
            m.raw = files::flat_keyed(&files::read(&dir.join("memory.stat"))?);
            m.cache = m.raw.get("file").copied().unwrap_or(0);
            let get = |name: &str| -> Result<u64, CgroupError> {
                Ok(read_u64_optional(&dir.join(name))?.unwrap_or(0))
            };
            m.usage.usage = get("memory.current")?;
            m.usage.limit = get("memory.max")?;
            m.usage.max = get("memory.peak")?;
            m.usage.failcnt = files::read_optional(&dir.join("memory.events"))?
                .and_then(|t| files::flat_keyed(&t).get("max").copied())
                .unwrap_or(0);
            m.swap.usage = m.usage.usage + get("memory.swap.current")?;
            m.swap.limit = m.usage.limit.saturating_add(get("memory.swap.max")?);
        }
        if self.dir(Controller::Pids).is_some() {
            s.pids.current = read_u64_optional(&dir.join("pids.current"))?.unwrap_or(0);
            s.pids.limit = read_u64_optional(&dir.join("pids.max"))?
                .filter(|l| *l != u64::MAX)
                .unwrap_or(0);
        }
        Ok(s)
    }

    pub fn destroy(self) -> Result<(), CgroupError> {
        files::remove_tree(&self.dir)
    }
}

/// The controllers ward enables that a cgroup.controllers file lists.
fn controllers_in(file: &Path) -> Result<Vec<Controller>, CgroupError> {
    let text = files::read(file)?;
    Ok(text
        .split_whitespace()
        .filter_map(Controller::from_name)
        .filter(|c| ENABLED.contains(c))
        .collect())
}

/// Enables each of `wanted` in `dir`'s subtree_control; one the kernel
/// refuses is dropped from `wanted` (and later is "not available").
fn enable(dir: &Path, wanted: &mut Vec<Controller>) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let have = files::read(&file)?;
    let have: Vec<&str> = have.split_whitespace().collect();
    let mut refused = Vec::new();
    for c in wanted.iter().filter(|c| !have.contains(&c.name())) {
        if let Err(e) = files::write(&file, &format!("+{c}")) {
            let why = std::error::Error::source(&e).map(ToString::to_string);
            tracing::warn!(
                "cannot enable the {c} controller in {}: {}",
                file.display(),
                why.unwrap_or_default()
            );
            refused.push(*c);
        }
    }
    wanted.retain(|c| !refused.contains(c));
    Ok(())
}
