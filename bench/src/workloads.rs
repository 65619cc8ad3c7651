//! What is measured: the workload table (data: name, figure, unit, how it
//! runs) and building the C programs with the system compiler into the
//! build directory, dynamic for the host-root runtimes and static for the
//! runc root file system, only when a source or `bench.h` is newer.
//!
//! It never runs a workload.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::Serialize;

/// The unit of a figure, which also says which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// Nanoseconds per operation (or per run, for start-up): lower is better.
    #[serde(rename = "ns")]
    Nanos,
    /// Throughput: higher is better.
    #[serde(rename = "MiB/s")]
    MibPerSec,
    /// Memory: lower is better.
    #[serde(rename = "MiB")]
    Mib,
}

impl Unit {
    pub fn higher_is_better(self) -> bool {
        self == Self::MibPerSec
    }
}

/// An argument of a workload program, resolved per runtime to a path the
/// program can see there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    Literal(&'static str),
    /// The 4 KiB file created in the build directory.
    SmallFile,
    /// The 64 MiB file created in the build directory.
    BigFile,
    /// A file the program may create (and removes again).
    WriteTarget,
    /// A directory on the root file system the program may create files
    /// in (and remove them again): the build directory's data directory
    /// (through the gofer, under ward's overlay), `/data` for runc.
    DataDir,
}

/// The trap mechanism a floor measures, matched with the ward platform
/// built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Systrap,
    Ptrace,
}

/// How a workload is run and measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A program run under every runtime; it prints its own figure.
    Program {
        program: &'static str,
        args: &'static [Arg],
    },
    /// A program run natively only, measuring a trap mechanism. `floor_of`
    /// names the platform whose per-syscall floor this is (the same-CPU
    /// variants).
    Floor {
        program: &'static str,
        args: &'static [Arg],
        floor_of: Option<Mechanism>,
    },
    /// Wall time of `/bin/true` from spawn to exit, measured from outside.
    Startup,
    /// Summed peak RSS (VmHWM) of the runtime's whole process tree while
    /// the app runs `sleep 2`.
    PeakRss,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Short name, for `--filter` and the JSON.
    pub name: &'static str,
    /// What the table's first column says.
    pub figure: &'static str,
    pub unit: Unit,
    pub kind: Kind,
    /// Trapped syscalls per operation, for the ward/floor ratio; None where
    /// that ratio means nothing.
    pub syscalls_per_op: Option<u32>,
}

impl Workload {
    /// The C program this workload runs, if any.
    pub fn program(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Program { program, .. } | Kind::Floor { program, .. } => Some(program),
            Kind::Startup | Kind::PeakRss => None,
        }
    }

    pub fn is_floor(&self) -> bool {
        matches!(self.kind, Kind::Floor { .. })
    }
}

const fn program(
    name: &'static str,
    figure: &'static str,
    unit: Unit,
    args: &'static [Arg],
    syscalls_per_op: Option<u32>,
) -> Workload {
    program_as(name, name, figure, unit, args, syscalls_per_op)
}

/// A workload running `program` (a source in the workloads directory) under
/// another name, as one program measured on two file systems.
const fn program_as(
    name: &'static str,
    program: &'static str,
    figure: &'static str,
    unit: Unit,
    args: &'static [Arg],
    syscalls_per_op: Option<u32>,
) -> Workload {
    Workload {
        name,
        figure,
        unit,
        kind: Kind::Program { program, args },
        syscalls_per_op,
    }
}

const fn floor(
    name: &'static str,
    figure: &'static str,
    program: &'static str,
    args: &'static [Arg],
    floor_of: Option<Mechanism>,
) -> Workload {
    Workload {
        name,
        figure,
        unit: Unit::Nanos,
        kind: Kind::Floor {
            program,
            args,
            floor_of,
        },
        syscalls_per_op: None,
    }
}

/// Every workload, in table order.
pub const ALL: &[Workload] = &[
    program("getpid", "getpid", Unit::Nanos, &[], Some(1)),
    // No floor ratio: with a vDSO, clock_gettime should not trap at all.
    program("clock_gettime", "clock_gettime", Unit::Nanos, &[], None),
    program(
        "open_read_close",
        "open + read 4 KiB + close",
        Unit::Nanos,
        &[Arg::SmallFile],
        Some(3),
    ),
    program("stat", "stat", Unit::Nanos, &[Arg::SmallFile], Some(1)),
    program(
        "open_close",
        "open + close",
        Unit::Nanos,
        &[Arg::SmallFile],
        Some(2),
    ),
    program_as(
        "create_unlink_tmpfs",
        "create_unlink",
        "create + unlink, tmpfs (/dev/shm)",
        Unit::Nanos,
        &[Arg::Literal("/dev/shm")],
        Some(3),
    ),
    program_as(
        "create_unlink_root",
        "create_unlink",
        "create + unlink, root file system",
        Unit::Nanos,
        &[Arg::DataDir],
        Some(3),
    ),
    program(
        "pipe_pingpong",
        "pipe ping-pong round trip (2 processes)",
        Unit::Nanos,
        &[],
        None,
    ),
    program(
        "futex_pingpong",
        "futex ping-pong round trip (2 threads)",
        Unit::Nanos,
        &[],
        None,
    ),
    program(
        "fork_exit_wait",
        "fork + exit + wait",
        Unit::Nanos,
        &[],
        None,
    ),
    program(
        "fork_big",
        "fork + exit + wait, 100 MiB touched",
        Unit::Nanos,
        &[],
        None,
    ),
    program(
        "fork_exec_wait",
        "fork + execve(/bin/true) + wait",
        Unit::Nanos,
        &[],
        None,
    ),
    program(
        "mmap_touch",
        "mmap 1 MiB + touch + munmap",
        Unit::Nanos,
        &[],
        None,
    ),
    program(
        "seq_write",
        "64 MiB sequential write",
        Unit::MibPerSec,
        &[Arg::WriteTarget],
        None,
    ),
    program(
        "seq_read",
        "64 MiB sequential read",
        Unit::MibPerSec,
        &[Arg::BigFile],
        None,
    ),
    Workload {
        name: "startup",
        figure: "start-up to exit of /bin/true",
        unit: Unit::Nanos,
        kind: Kind::Startup,
        syscalls_per_op: None,
    },
    Workload {
        name: "rss",
        figure: "peak RSS, all processes, app in `sleep 2`",
        unit: Unit::Mib,
        kind: Kind::PeakRss,
        syscalls_per_op: None,
    },
    floor(
        "floor_ptrace_same_cpu",
        "floor: PTRACE_SYSEMU round trip, same CPU",
        "floor_ptrace",
        &[Arg::Literal("same")],
        Some(Mechanism::Ptrace),
    ),
    floor(
        "floor_ptrace_two_cpus",
        "floor: PTRACE_SYSEMU round trip, two CPUs",
        "floor_ptrace",
        &[Arg::Literal("cross")],
        None,
    ),
    floor(
        "floor_seccomp_local",
        "floor: seccomp trap, in-process SIGSYS handler",
        "floor_seccomp",
        &[Arg::Literal("local")],
        None,
    ),
    floor(
        "floor_seccomp_same_cpu",
        "floor: seccomp trap + futex hand-off, same CPU",
        "floor_seccomp",
        &[Arg::Literal("same")],
        Some(Mechanism::Systrap),
    ),
    floor(
        "floor_seccomp_two_cpus",
        "floor: seccomp trap + futex hand-off, two CPUs",
        "floor_seccomp",
        &[Arg::Literal("cross")],
        None,
    ),
    floor(
        "floor_seccomp_spin",
        "floor: seccomp trap + spinning hand-off, two CPUs",
        "floor_seccomp",
        &[Arg::Literal("spin")],
        None,
    ),
];

/// The workloads whose name contains one of `filters` (all when none), in
/// table order.
pub fn select(filters: &[String]) -> Vec<&'static Workload> {
    ALL.iter()
        .filter(|w| filters.is_empty() || filters.iter().any(|f| w.name.contains(f.as_str())))
        .collect()
}

/// How a program is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linkage {
    /// For the runtimes that see the host's root: native, ward, runsc.
    Dynamic,
    /// For the runc root file system, which has no libc.
    Static,
}

impl Linkage {
    fn dir(self) -> &'static str {
        match self {
            Self::Dynamic => "dyn",
            Self::Static => "static",
        }
    }
}

/// Builds workload programs into `<build>/dyn/NAME` and `<build>/static/NAME`.
#[derive(Debug, Clone)]
pub struct Builder {
    cc: OsString,
    sources: PathBuf,
    build_dir: PathBuf,
    header_mtime: Option<SystemTime>,
}

impl Builder {
    pub fn new(cc: OsString, sources: &Path, build_dir: &Path) -> Result<Self> {
        for linkage in [Linkage::Dynamic, Linkage::Static] {
            let dir = build_dir.join(linkage.dir());
            fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create build directory {}", dir.display()))?;
        }
        let header_mtime = fs::metadata(sources.join("bench.h"))
            .and_then(|m| m.modified())
            .ok();
        Ok(Self {
            cc,
            sources: sources.to_path_buf(),
            build_dir: build_dir.to_path_buf(),
            header_mtime,
        })
    }

    /// Where `program`'s binary goes.
    pub fn binary(&self, program: &str, linkage: Linkage) -> PathBuf {
        self.build_dir.join(linkage.dir()).join(program)
    }

    /// Builds `program` (the stem of a `.c` file, possibly under a
    /// subdirectory such as "rootfs/true") unless it is up to date.
    /// Err carries a one-line reason.
    pub fn build(&self, program: &str, linkage: Linkage) -> Result<PathBuf> {
        let source = self.sources.join(format!("{program}.c"));
        let name = Path::new(program)
            .file_name()
            .context("empty program name")?
            .to_string_lossy()
            .into_owned();
        let out = self.binary(&name, linkage);
        if self.is_fresh(&source, &out) {
            return Ok(out);
        }
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        let mut cmd = Command::new(&self.cc);
        cmd.args(["-O2", "-Wall", "-pthread"]);
        if linkage == Linkage::Static {
            cmd.arg("-static");
        }
        cmd.arg("-I").arg(&self.sources);
        cmd.arg("-o").arg(&tmp).arg(&source);
        let output = cmd
            .output()
            .with_context(|| format!("cannot run {}", self.cc.to_string_lossy()))?;
        if !output.status.success() {
            let _ = fs::remove_file(&tmp);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr
                .lines()
                .find(|l| l.contains("error"))
                .or_else(|| stderr.lines().next())
                .unwrap_or("no message");
            anyhow::bail!("cannot compile {}: {first}", source.display());
        }
        fs::rename(&tmp, &out)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), out.display()))?;
        Ok(out)
    }

    fn is_fresh(&self, source: &Path, out: &Path) -> bool {
        let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        match (mtime(out), mtime(source)) {
            (Some(built), Some(src)) => {
                built >= src && self.header_mtime.is_none_or(|h| built >= h)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|w| w.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn no_filter_selects_everything() {
        assert_eq!(select(&[]).len(), ALL.len());
    }

    #[test]
    fn a_filter_selects_by_substring() {
        let names: Vec<_> = select(&["fork".to_string()])
            .iter()
            .map(|w| w.name)
            .collect();
        assert_eq!(names, ["fork_exit_wait", "fork_big", "fork_exec_wait"]);
    }

    #[test]
    fn each_mechanism_has_exactly_one_floor() {
        for mechanism in [Mechanism::Systrap, Mechanism::Ptrace] {
            let count = ALL
                .iter()
                .filter(
                    |w| matches!(w.kind, Kind::Floor { floor_of: Some(m), .. } if m == mechanism),
                )
                .count();
            assert_eq!(count, 1, "{mechanism:?}");
        }
    }

    #[test]
    fn every_program_has_a_source() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
        for program in ALL.iter().filter_map(Workload::program) {
            assert!(dir.join(format!("{program}.c")).is_file(), "{program}");
        }
    }

    #[test]
    fn throughput_is_the_only_higher_is_better_unit() {
        assert!(Unit::MibPerSec.higher_is_better());
        assert!(!Unit::Nanos.higher_is_better());
        assert!(!Unit::Mib.higher_is_better());
    }
}
