//! `ward update`'s flags (runc update's) and their translation into
//! `LinuxResources`, the same value a bundle's `linux.resources` gives.
//! Either a resources file (`--resources FILE`, `-` for stdin, as
//! containerd's shim sends it) or flags, never both.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("reading resources from {path}")]
    ReadResources {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("resources in {path} are not a valid linux resources JSON object")]
    ParseResources {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("--resources cannot be combined with --{flag}; put the value in the resources file")]
    Mixed { flag: &'static str },
    #[error("--{flag} {value:?} is not a size (a number, optionally with k, m, g, t or p)")]
    Size { flag: &'static str, value: String },
    #[error("--{flag} is not supported by ward (no real-time cpu scheduling)")]
    Realtime { flag: &'static str },
    #[error("--{flag} is not supported by ward (no Intel RDT)")]
    Rdt { flag: &'static str },
}

/// runc update's flags.
#[derive(Debug, Clone, Default, Args)]
pub struct UpdateFlags {
    /// Read the new resources from FILE as JSON (`-` for stdin).
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// Block I/O weight (10..1000).
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period (-1: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst in microseconds.
    #[arg(long)]
    pub cpu_burst: Option<u64>,
    /// CPU shares (relative weight).
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// Real-time period (refused: ward has no real-time scheduling).
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// Real-time runtime (refused: ward has no real-time scheduling).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs the sandbox may run on (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the sandbox may use (0-3, 0,1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (ignored, with a warning, as by runc).
    #[arg(long)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP memory limit.
    #[arg(long)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit, with an optional k, m, g suffix (-1: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1: unlimited swap).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of tasks (-1 or 0: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT L3 cache schema (refused).
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (refused).
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
}

/// The resources `flags` ask for; what they leave out stays as it is.
pub fn resources_from_update(flags: &UpdateFlags) -> Result<LinuxResources, UpdateError> {
    if flags.l3_cache_schema.is_some() {
        return Err(UpdateError::Rdt {
            flag: "l3-cache-schema",
        });
    }
    if flags.mem_bw_schema.is_some() {
        return Err(UpdateError::Rdt {
            flag: "mem-bw-schema",
        });
    }
    if flags.cpu_rt_period.is_some() {
        return Err(UpdateError::Realtime {
            flag: "cpu-rt-period",
        });
    }
    if flags.cpu_rt_runtime.is_some() {
        return Err(UpdateError::Realtime {
            flag: "cpu-rt-runtime",
        });
    }
    if let Some(path) = &flags.resources {
        if let Some(flag) = first_flag(flags) {
            return Err(UpdateError::Mixed { flag });
        }
        return read_resources(path);
    }
    if flags.kernel_memory.is_some() || flags.kernel_memory_tcp.is_some() {
        tracing::warn!("kernel memory settings are ignored: kernels since 5.4 no longer have them");
    }
    let size = |flag, value: &Option<String>| -> Result<Option<i64>, UpdateError> {
        value
            .as_deref()
            .map(|v| {
                parse_bytes(v).ok_or_else(|| UpdateError::Size {
                    flag,
                    value: v.to_string(),
                })
            })
            .transpose()
    };
    let mut r = LinuxResources::default();
    let (limit, reservation, swap) = (
        size("memory", &flags.memory)?,
        size("memory-reservation", &flags.memory_reservation)?,
        size("memory-swap", &flags.memory_swap)?,
    );
    if limit.is_some() || reservation.is_some() || swap.is_some() {
        let mut m = LinuxMemory::default();
        m.set_limit(limit)
            .set_reservation(reservation)
            .set_swap(swap);
        r.set_memory(Some(m));
    }
    let f = flags;
    if f.cpu_share.is_some()
        || f.cpu_period.is_some()
        || f.cpu_quota.is_some()
        || f.cpu_burst.is_some()
        || f.cpuset_cpus.is_some()
        || f.cpuset_mems.is_some()
    {
        let mut c = LinuxCpu::default();
        c.set_shares(f.cpu_share)
            .set_period(f.cpu_period)
            .set_quota(f.cpu_quota)
            .set_burst(f.cpu_burst)
            .set_cpus(f.cpuset_cpus.clone())
            .set_mems(f.cpuset_mems.clone());
        r.set_cpu(Some(c));
    }
    if let Some(limit) = f.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        r.set_pids(Some(p));
    }
    if let Some(weight) = f.blkio_weight {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(weight));
        r.set_block_io(Some(b));
    }
    Ok(r)
}

/// The first resource flag given besides --resources.
fn first_flag(f: &UpdateFlags) -> Option<&'static str> {
    [
        ("blkio-weight", f.blkio_weight.is_some()),
        ("cpu-period", f.cpu_period.is_some()),
        ("cpu-quota", f.cpu_quota.is_some()),
        ("cpu-burst", f.cpu_burst.is_some()),
        ("cpu-share", f.cpu_share.is_some()),
        ("cpuset-cpus", f.cpuset_cpus.is_some()),
        ("cpuset-mems", f.cpuset_mems.is_some()),
        ("kernel-memory", f.kernel_memory.is_some()),
        ("kernel-memory-tcp", f.kernel_memory_tcp.is_some()),
        ("memory", f.memory.is_some()),
        ("memory-reservation", f.memory_reservation.is_some()),
        ("memory-swap", f.memory_swap.is_some()),
        ("pids-limit", f.pids_limit.is_some()),
    ]
    .into_iter()
    .find_map(|(name, given)| given.then_some(name))
}

fn read_resources(path: &PathBuf) -> Result<LinuxResources, UpdateError> {
    let read_err = |source| UpdateError::ReadResources {
        path: path.clone(),
        source,
    };
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(read_err)?;
    } else {
        text = std::fs::read_to_string(path).map_err(read_err)?;
    }
    serde_json::from_str(&text).map_err(|source| UpdateError::ParseResources {
        path: path.clone(),
        source,
    })
}

/// A size as runc's flags take it: "-1", or a number (decimals allowed)
/// with an optional binary suffix k, m, g, t, p (any case, with an optional
/// "b" or "ib"): "512m", "1.5G", "64KiB", "4096".
pub fn parse_bytes(text: &str) -> Option<i64> {
    let text = text.trim();
    if text == "-1" {
        return Some(-1);
    }
    let lower = text.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    if number.is_empty() {
        return None;
    }
    let bytes = if number.contains('.') {
        let value: f64 = number.parse().ok()?;
        let scaled = value * (1u64 << shift) as f64;
        if !scaled.is_finite() || scaled >= i64::MAX as f64 {
            return None;
        }
        scaled as i64
    } else {
        let value: i64 = number.parse().ok()?;
        value.checked_mul(1i64 << shift)?
    };
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("64k"), Some(64 << 10));
        assert_eq!(parse_bytes("512M"), Some(512 << 20));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("3kb"), Some(3 << 10));
        assert_eq!(parse_bytes("1.5g"), Some(3 << 29));
        assert_eq!(parse_bytes("-1"), Some(-1));
    }

    #[test]
    fn bad_sizes_are_none() {
        for bad in ["", "m", "12x", "-2", "1..2k", "99999999999p"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn flags_become_resources() {
        let flags = UpdateFlags {
            memory: Some("256m".into()),
            memory_swap: Some("-1".into()),
            cpu_share: Some(512),
            cpu_quota: Some(-1),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(100),
            ..Default::default()
        };
        let r = resources_from_update(&flags).unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.limit(), Some(256 << 20));
        assert_eq!(m.swap(), Some(-1));
        assert_eq!(m.reservation(), None);
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(c.shares(), Some(512));
        assert_eq!(c.quota(), Some(-1));
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(r.pids().unwrap().limit(), 100);
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        flags: UpdateFlags,
    }

    #[test]
    fn runc_update_command_lines_parse() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "update",
            "--memory-swap",
            "-1",
            "--cpu-quota",
            "-1",
            "--cpu-shares",
            "256",
            "--pids-limit",
            "-1",
            "-r",
            "-",
        ])
        .unwrap();
        assert_eq!(cli.flags.memory_swap.as_deref(), Some("-1"));
        assert_eq!(cli.flags.cpu_quota, Some(-1));
        assert_eq!(cli.flags.cpu_share, Some(256));
        assert_eq!(cli.flags.pids_limit, Some(-1));
        assert_eq!(cli.flags.resources, Some(PathBuf::from("-")));
    }

    #[test]
    fn no_flags_change_nothing() {
        let r = resources_from_update(&UpdateFlags::default()).unwrap();
        assert_eq!(r, LinuxResources::default());
    }

    #[test]
    fn realtime_flags_are_refused() {
        let flags = UpdateFlags {
            cpu_rt_runtime: Some(1000),
            ..Default::default()
        };
        assert!(matches!(
            resources_from_update(&flags),
            Err(UpdateError::Realtime { .. })
        ));
    }

    #[test]
    fn resources_file_is_read_as_json() {
        let path = std::env::temp_dir().join(format!("ward-update-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"memory":{"limit":1048576},"pids":{"limit":5}}"#).unwrap();
        let flags = UpdateFlags {
            resources: Some(path.clone()),
            ..Default::default()
        };
        let r = resources_from_update(&flags);
        std::fs::remove_file(&path).unwrap();
        let r = r.unwrap();
        assert_eq!(r.memory().unwrap().limit(), Some(1 << 20));
        assert_eq!(r.pids().unwrap().limit(), 5);
    }

    #[test]
    fn resources_file_and_flags_are_not_mixed() {
        let flags = UpdateFlags {
            resources: Some("-".into()),
            memory: Some("1m".into()),
            ..Default::default()
        };
        assert!(matches!(
            resources_from_update(&flags),
            Err(UpdateError::Mixed { flag: "memory" })
        ));
    }

    #[test]
    fn bad_memory_flag_names_the_flag() {
        let flags = UpdateFlags {
            memory_reservation: Some("lots".into()),
            ..Default::default()
        };
        let err = resources_from_update(&flags).unwrap_err();
        assert!(err.to_string().contains("--memory-reservation"), "{err}");
    }
}
