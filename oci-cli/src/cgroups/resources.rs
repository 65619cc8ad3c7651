//! `linux.resources` turned into control-file writes, for v1 and for v2
//! (pure: the callers read the few current values it needs and do the
//! writes). As runc does, a zero memory or cpu-shares value means "not set".
//!
//! The v2 conversions are the documented ones: cpu.shares (2..262144) maps
//! linearly onto cpu.weight (1..10000); the spec's swap is memory+swap,
//! while memory.swap.max is swap alone, so it is `swap - limit`.

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use super::{CgroupError, Controller};

/// One value to write to one control file of the controller's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub controller: Controller,
    /// What the user asked for, in words, for error messages.
    pub resource: &'static str,
    pub file: String,
    pub value: String,
}

/// What the plans need to know of the cgroup as it is.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// The memory limit now, -1 when unlimited; `None` without a memory
    /// controller.
    pub memory_limit: Option<i64>,
    /// Whether the kernel accounts swap (the memsw / memory.swap files exist).
    pub swap_accounting: bool,
    /// v2's cpu.max as it reads now ("max 100000").
    pub cpu_max: Option<String>,
}

/// The writes that apply `r` to a v1 cgroup.
pub fn plan_v1(r: &LinuxResources, cur: &Current) -> Result<Vec<Write>, CgroupError> {
    refuse_unsupported(r)?;
    if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(CgroupError::Unsupported {
            resource: "linux.resources.unified on cgroup v1",
        });
    }
    let mut plan = Vec::new();
    if let Some(m) = r.memory() {
        memory_v1(m, cur, &mut plan)?;
    }
    if let Some(c) = r.cpu() {
        refuse_realtime(c)?;
        let cpu = |resource, file: &str, value: String| Write {
            controller: Controller::Cpu,
            resource,
            file: file.to_string(),
            value,
        };
        if let Some(shares) = c.shares().filter(|s| *s != 0) {
            plan.push(cpu("cpu shares", "cpu.shares", shares.to_string()));
        }
        if let Some(period) = c.period().filter(|p| *p != 0) {
            plan.push(cpu("cpu period", "cpu.cfs_period_us", period.to_string()));
        }
        if let Some(quota) = c.quota().filter(|q| *q != 0) {
            plan.push(cpu("cpu quota", "cpu.cfs_quota_us", quota.to_string()));
        }
        if let Some(burst) = c.burst() {
            plan.push(cpu("cpu burst", "cpu.cfs_burst_us", burst.to_string()));
        }
        if let Some(idle) = c.idle() {
            plan.push(cpu("cpu idle", "cpu.idle", idle.to_string()));
        }
        cpuset(c, &mut plan);
    }
    if let Some(p) = r.pids() {
        plan.push(pids(p.limit()));
    }
    Ok(plan)
}

/// The writes that apply `r` to a v2 cgroup.
pub fn plan_v2(r: &LinuxResources, cur: &Current) -> Result<Vec<Write>, CgroupError> {
    refuse_unsupported(r)?;
    let mut plan = Vec::new();
    if let Some(m) = r.memory() {
        memory_v2(m, cur, &mut plan)?;
    }
    if let Some(c) = r.cpu() {
        refuse_realtime(c)?;
        let cpu = |resource, file: &str, value: String| Write {
            controller: Controller::Cpu,
            resource,
            file: file.to_string(),
            value,
        };
        if let Some(shares) = c.shares().filter(|s| *s != 0) {
            let weight = shares_to_weight(shares);
            plan.push(cpu("cpu shares", "cpu.weight", weight.to_string()));
        }
        if let Some(max) = cpu_max(c.quota(), c.period(), cur.cpu_max.as_deref()) {
            plan.push(cpu("cpu quota and period", "cpu.max", max));
        }
        if let Some(burst) = c.burst() {
            plan.push(cpu("cpu burst", "cpu.max.burst", burst.to_string()));
        }
        if let Some(idle) = c.idle() {
            plan.push(cpu("cpu idle", "cpu.idle", idle.to_string()));
        }
        cpuset(c, &mut plan);
    }
    if let Some(p) = r.pids() {
        plan.push(pids(p.limit()));
    }
    for (key, value) in r.unified().iter().flatten() {
        plan.push(unified(key, value)?);
    }
    Ok(plan)
}

fn memory_v1(m: &LinuxMemory, cur: &Current, plan: &mut Vec<Write>) -> Result<(), CgroupError> {
    let mem = |resource, file: &str, value: String| Write {
        controller: Controller::Memory,
        resource,
        file: file.to_string(),
        value,
    };
    let limit = set(m.limit());
    let mut swap = set(m.swap());
    check_swap(limit, swap)?;
    if limit == Some(-1) && swap.is_none() && cur.swap_accounting {
        // An unlimited memory limit with no word on swap lifts both, as runc does.
        swap = Some(-1);
    }
    if swap.is_some() && cur.memory_limit.is_some() && !cur.swap_accounting {
        return Err(no_swap_accounting("memory.memsw.limit_in_bytes"));
    }
    let limit_write = limit.map(|l| mem("memory limit", "memory.limit_in_bytes", l.to_string()));
    let swap_write = swap.map(|s| {
        mem(
            "memory+swap limit",
            "memory.memsw.limit_in_bytes",
            s.to_string(),
        )
    });
    // memsw may never be below the memory limit: raise memsw first, lower it last.
    let raising = match (swap, cur.memory_limit) {
        (Some(-1), _) | (_, None) => true,
        (Some(s), Some(now)) => now == -1 || s >= now,
        (None, _) => false,
    };
    if raising {
        plan.extend(swap_write);
        plan.extend(limit_write);
    } else {
        plan.extend(limit_write);
        plan.extend(swap_write);
    }
    if let Some(r) = set(m.reservation()) {
        plan.push(mem(
            "memory reservation",
            "memory.soft_limit_in_bytes",
            r.to_string(),
        ));
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::InvalidValue {
                resource: "memory swappiness",
                reason: format!("{s} is above 100"),
            });
        }
        plan.push(mem("memory swappiness", "memory.swappiness", s.to_string()));
    }
    if m.disable_oom_killer() == Some(true) {
        plan.push(mem(
            "disabling the oom killer",
            "memory.oom_control",
            "1".into(),
        ));
    }
    #[allow(deprecated)]
    warn_kernel_memory(m.kernel());
    if let Some(t) = m.kernel_tcp() {
        plan.push(mem(
            "kernel tcp memory limit",
            "memory.kmem.tcp.limit_in_bytes",
            t.to_string(),
        ));
    }
    Ok(())
}

fn memory_v2(m: &LinuxMemory, cur: &Current, plan: &mut Vec<Write>) -> Result<(), CgroupError> {
    let mem = |resource, file: &str, value: String| Write {
        controller: Controller::Memory,
        resource,
        file: file.to_string(),
        value,
    };
    let limit = set(m.limit());
    let swap = set(m.swap());
    check_swap(limit, swap)?;
    if let Some(l) = limit {
        plan.push(mem("memory limit", "memory.max", max_or(l)));
    }
    let swap_max = match (swap, limit) {
        (Some(-1), _) | (None, Some(-1)) => Some("max".to_string()),
        (Some(s), _) => match limit.or(cur.memory_limit) {
            Some(l) if l > 0 => Some((s - l).to_string()),
            _ => {
                return Err(CgroupError::InvalidValue {
                    resource: "memory+swap limit",
                    reason: "a swap limit needs a memory limit".into(),
                })
            }
        },
        (None, _) => None,
    };
    if let Some(v) = swap_max {
        if cur.memory_limit.is_some() && !cur.swap_accounting {
            if swap.is_some() {
                return Err(no_swap_accounting("memory.swap.max"));
            }
        } else {
            plan.push(mem("memory+swap limit", "memory.swap.max", v));
        }
    }
    if let Some(r) = set(m.reservation()) {
        plan.push(mem("memory reservation", "memory.low", max_or(r)));
    }
    if m.swappiness().is_some() {
        return Err(CgroupError::Unsupported {
            resource: "memory swappiness on cgroup v2",
        });
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(CgroupError::Unsupported {
            resource: "disabling the oom killer on cgroup v2",
        });
    }
    #[allow(deprecated)]
    warn_kernel_memory(m.kernel());
    if m.kernel_tcp().is_some() {
        return Err(CgroupError::Unsupported {
            resource: "a kernel tcp memory limit on cgroup v2",
        });
    }
    Ok(())
}

/// The spec's memory+swap must not be below the memory limit.
fn check_swap(limit: Option<i64>, swap: Option<i64>) -> Result<(), CgroupError> {
    for (what, v) in [("memory limit", limit), ("memory+swap limit", swap)] {
        if v.is_some_and(|v| v < -1) {
            return Err(CgroupError::InvalidValue {
                resource: what,
                reason: format!("{} is negative", v.unwrap_or_default()),
            });
        }
    }
    match (limit, swap) {
        (Some(l), Some(s)) if l > 0 && s > 0 && s < l => Err(CgroupError::InvalidValue {
            resource: "memory+swap limit",
            reason: format!("{s} is below the memory limit {l}"),
        }),
        _ => Ok(()),
    }
}

fn no_swap_accounting(file: &str) -> CgroupError {
    CgroupError::InvalidValue {
        resource: "memory+swap limit",
        reason: format!("this kernel does not account swap (no {file})"),
    }
}

#[allow(deprecated)]
fn warn_kernel_memory(kernel: Option<i64>) {
    if kernel.is_some() {
        tracing::warn!("kernel memory limits are ignored: kernels since 5.4 no longer have them");
    }
}

fn refuse_realtime(c: &LinuxCpu) -> Result<(), CgroupError> {
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some_and(|v| v != 0) {
        return Err(CgroupError::Unsupported {
            resource: "real-time cpu scheduling (cpu realtimeRuntime / realtimePeriod)",
        });
    }
    Ok(())
}

fn cpuset(c: &LinuxCpu, plan: &mut Vec<Write>) {
    for (resource, file, value) in [
        ("cpuset cpus", "cpuset.cpus", c.cpus()),
        ("cpuset mems", "cpuset.mems", c.mems()),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            plan.push(Write {
                controller: Controller::Cpuset,
                resource,
                file: file.to_string(),
                value: v.clone(),
            });
        }
    }
}

/// pids.max: a positive limit, anything else is unlimited.
fn pids(limit: i64) -> Write {
    Write {
        controller: Controller::Pids,
        resource: "pids limit",
        file: "pids.max".to_string(),
        value: if limit > 0 {
            limit.to_string()
        } else {
            "max".to_string()
        },
    }
}

/// One `linux.resources.unified` entry: a v2 file of a controller ward manages.
fn unified(key: &str, value: &str) -> Result<Write, CgroupError> {
    let prefix = key.split('.').next().unwrap_or("");
    let controller = Controller::from_name(prefix)
        .filter(|c| !matches!(c, Controller::Cpuacct | Controller::Freezer))
        .filter(|_| !key.contains('/') && key.contains('.'))
        .ok_or_else(|| CgroupError::InvalidValue {
            resource: "linux.resources.unified",
            reason: format!("{key:?} is not a file of the memory, cpu, cpuset or pids controller"),
        })?;
    Ok(Write {
        controller,
        resource: "linux.resources.unified",
        file: key.to_string(),
        value: value.to_string(),
    })
}

/// Block I/O, huge pages, network classes and RDMA are not managed by ward;
/// a limit on one is refused rather than dropped. Device rules are the
/// sentry's business (it serves /dev itself), so they are ignored here.
fn refuse_unsupported(r: &LinuxResources) -> Result<(), CgroupError> {
    if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        tracing::debug!("device cgroup rules are not applied: the sentry serves /dev itself");
    }
    if r.block_io()
        .as_ref()
        .is_some_and(|b| *b != Default::default())
    {
        return Err(CgroupError::Unsupported {
            resource: "block I/O limits (linux.resources.blockIO)",
        });
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        return Err(CgroupError::Unsupported {
            resource: "huge page limits (linux.resources.hugepageLimits)",
        });
    }
    if r.network().is_some() {
        return Err(CgroupError::Unsupported {
            resource: "network class and priority (linux.resources.network)",
        });
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(CgroupError::Unsupported {
            resource: "rdma limits (linux.resources.rdma)",
        });
    }
    Ok(())
}

/// A memory or cpu value, with 0 meaning "not set".
fn set(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v != 0)
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// cpu.shares mapped onto cpu.weight: 2 → 1, 1024 → 39, 262144 → 10000.
pub fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + (shares - 2) * 9999 / 262_142
}

/// cpu.max for a quota and a period; a quota alone keeps the period the
/// file has, a period alone keeps the quota.
pub fn cpu_max(quota: Option<i64>, period: Option<u64>, current: Option<&str>) -> Option<String> {
    let period = period.filter(|p| *p != 0);
    let quota = quota.filter(|q| *q != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut now = current.unwrap_or("max 100000").split_whitespace();
    let (now_quota, now_period) = (now.next().unwrap_or("max"), now.next().unwrap_or("100000"));
    let quota = match quota {
        Some(q) if q > 0 => q.to_string(),
        Some(_) => "max".to_string(),
        None => now_quota.to_string(),
    };
    let period = period.map_or_else(|| now_period.to_string(), |p| p.to_string());
    Some(format!("{quota} {period}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn files(plan: &[Write]) -> Vec<(&str, &str)> {
        plan.iter()
            .map(|w| (w.file.as_str(), w.value.as_str()))
            .collect()
    }

    fn current(limit: i64) -> Current {
        Current {
            memory_limit: Some(limit),
            swap_accounting: true,
            cpu_max: Some("max 100000".into()),
        }
    }

    #[test]
    fn shares_map_onto_weight_as_runc_does() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
    }

    #[test]
    fn cpu_max_takes_quota_and_period() {
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000), None).unwrap(),
            "50000 100000"
        );
        assert_eq!(
            cpu_max(Some(-1), None, Some("20000 50000")).unwrap(),
            "max 50000"
        );
        assert_eq!(
            cpu_max(None, Some(10_000), Some("20000 50000")).unwrap(),
            "20000 10000"
        );
        assert_eq!(cpu_max(None, None, None), None);
    }

    #[test]
    fn v1_raises_memsw_before_the_limit() {
        let r = resources(r#"{"memory":{"limit":200,"swap":400}}"#);
        let plan = plan_v1(&r, &current(100)).unwrap();
        assert_eq!(
            files(&plan),
            [
                ("memory.memsw.limit_in_bytes", "400"),
                ("memory.limit_in_bytes", "200")
            ]
        );
    }

    #[test]
    fn v1_lowers_the_limit_before_memsw() {
        let r = resources(r#"{"memory":{"limit":100,"swap":150}}"#);
        let plan = plan_v1(&r, &current(300)).unwrap();
        assert_eq!(
            files(&plan),
            [
                ("memory.limit_in_bytes", "100"),
                ("memory.memsw.limit_in_bytes", "150")
            ]
        );
    }

    #[test]
    fn swap_below_limit_is_invalid() {
        let r = resources(r#"{"memory":{"limit":200,"swap":100}}"#);
        assert!(matches!(
            plan_v2(&r, &current(-1)),
            Err(CgroupError::InvalidValue { .. })
        ));
    }

    #[test]
    fn v2_swap_is_memory_plus_swap_minus_memory() {
        let r = resources(r#"{"memory":{"limit":100,"swap":250,"reservation":50}}"#);
        let plan = plan_v2(&r, &current(-1)).unwrap();
        assert_eq!(
            files(&plan),
            [
                ("memory.max", "100"),
                ("memory.swap.max", "150"),
                ("memory.low", "50")
            ]
        );
    }

    #[test]
    fn v2_unlimited_memory_lifts_swap_too() {
        let r = resources(r#"{"memory":{"limit":-1}}"#);
        let plan = plan_v2(&r, &current(100)).unwrap();
        assert_eq!(
            files(&plan),
            [("memory.max", "max"), ("memory.swap.max", "max")]
        );
    }

    #[test]
    fn swap_without_accounting_is_an_error() {
        let r = resources(r#"{"memory":{"limit":100,"swap":200}}"#);
        let cur = Current {
            swap_accounting: false,
            ..current(-1)
        };
        assert!(plan_v1(&r, &cur).is_err());
        assert!(plan_v2(&r, &cur).is_err());
    }

    #[test]
    fn zero_memory_values_mean_unset() {
        let r = resources(r#"{"memory":{"limit":0,"reservation":0,"swap":0}}"#);
        assert!(plan_v1(&r, &current(-1)).unwrap().is_empty());
    }

    #[test]
    fn v2_cpu_and_pids() {
        let r = resources(
            r#"{"cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0","mems":"0"},"pids":{"limit":32}}"#,
        );
        let plan = plan_v2(&r, &current(-1)).unwrap();
        assert_eq!(
            files(&plan),
            [
                ("cpu.weight", "39"),
                ("cpu.max", "50000 100000"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
                ("pids.max", "32")
            ]
        );
    }

    #[test]
    fn v1_cpu_and_pids() {
        let r =
            resources(r#"{"cpu":{"shares":512,"quota":-1,"period":50000},"pids":{"limit":-1}}"#);
        let plan = plan_v1(&r, &current(-1)).unwrap();
        assert_eq!(
            files(&plan),
            [
                ("cpu.shares", "512"),
                ("cpu.cfs_period_us", "50000"),
                ("cpu.cfs_quota_us", "-1"),
                ("pids.max", "max")
            ]
        );
    }

    #[test]
    fn realtime_cpu_is_refused() {
        let r = resources(r#"{"cpu":{"realtimeRuntime":950000}}"#);
        assert!(matches!(
            plan_v1(&r, &current(-1)),
            Err(CgroupError::Unsupported { .. })
        ));
    }

    #[test]
    fn block_io_limits_are_refused_but_device_rules_ignored() {
        let r = resources(r#"{"blockIO":{"weight":10}}"#);
        assert!(plan_v2(&r, &current(-1)).is_err());
        let r = resources(r#"{"devices":[{"allow":false,"access":"rwm"}],"blockIO":{}}"#);
        assert!(plan_v2(&r, &current(-1)).unwrap().is_empty());
    }

    #[test]
    fn unified_entries_must_name_a_managed_controller() {
        let r = resources(r#"{"unified":{"memory.high":"1000000"}}"#);
        assert_eq!(
            files(&plan_v2(&r, &current(-1)).unwrap()),
            [("memory.high", "1000000")]
        );
        let r = resources(r#"{"unified":{"io.max":"8:0 rbps=1"}}"#);
        assert!(plan_v2(&r, &current(-1)).is_err());
        let r = resources(r#"{"unified":{"memory.high":"1"}}"#);
        assert!(plan_v1(&r, &current(-1)).is_err());
    }
}
