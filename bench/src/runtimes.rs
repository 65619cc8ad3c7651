//! The runtimes compared, one table column each: native, `ward do` on each
//! platform, `runsc do` and runc. Finding each one, probing that it can run
//! `/bin/true` here, and turning "run this workload" into the command line
//! for it, with the workload's file arguments resolved to paths that
//! runtime's view of the file system has.
//!
//! It builds commands; running them is `exec`'s job.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::exec;
use crate::runc::Bundle;
use crate::workloads::{Arg, Mechanism};

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Column {
    #[serde(rename = "native")]
    Native,
    #[serde(rename = "ward-systrap")]
    WardSystrap,
    #[serde(rename = "ward-ptrace")]
    WardPtrace,
    #[serde(rename = "runsc")]
    Runsc,
    #[serde(rename = "runc")]
    Runc,
}

impl Column {
    /// Table order, which is also the order of each interleaved round.
    pub const ALL: [Self; 5] = [
        Self::Native,
        Self::WardSystrap,
        Self::WardPtrace,
        Self::Runsc,
        Self::Runc,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::WardSystrap => "ward-systrap",
            Self::WardPtrace => "ward-ptrace",
            Self::Runsc => "runsc",
            Self::Runc => "runc",
        }
    }

    /// The position in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The `ward do --platform` value of a ward column.
    pub fn ward_platform(self) -> Option<&'static str> {
        match self {
            Self::WardSystrap => Some("systrap"),
            Self::WardPtrace => Some("ptrace"),
            _ => None,
        }
    }

    /// The trap mechanism under a ward column, for its floor.
    pub fn mechanism(self) -> Option<Mechanism> {
        match self {
            Self::WardSystrap => Some(Mechanism::Systrap),
            Self::WardPtrace => Some(Mechanism::Ptrace),
            _ => None,
        }
    }
}

/// The host files the workloads read and write.
#[derive(Debug, Clone)]
pub struct Files {
    /// Directory of the dynamically linked workload binaries.
    pub bin_dir: PathBuf,
    pub small: PathBuf,
    pub big: PathBuf,
    /// Where a native run writes (in the build directory).
    pub native_write: PathBuf,
    /// Where a sandboxed run writes: a name under /dev/shm.
    pub sandbox_write: String,
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A workload program: `NAME MIN_MS ARGS...`.
    Program {
        name: &'a str,
        min_ms: u64,
        args: &'a [Arg],
    },
    /// `/bin/true`.
    True,
    /// `/bin/sleep 2`.
    Sleep,
}

/// How to launch programs under one runtime.
pub enum Launcher {
    Native,
    Ward {
        bin: PathBuf,
        platform: &'static str,
    },
    Runsc {
        bin: PathBuf,
    },
    Runc(Bundle),
}

/// A command ready to spawn, and what to clean up if it fails.
pub struct Prepared {
    pub cmd: Command,
    /// The runc container id, to delete after a failed run.
    pub container: Option<String>,
}

/// A column and whether it can be measured here.
pub struct Runtime {
    pub column: Column,
    /// The launcher, or why the column is n/a.
    pub launcher: Result<Launcher, String>,
    /// What was found (binary path, version), for the JSON.
    pub detail: String,
}

impl Launcher {
    /// The command that runs `target` under this runtime.
    pub fn prepare(&self, target: Target, files: &Files) -> Result<Prepared> {
        let host_argv = || -> Vec<String> {
            match target {
                Target::Program { name, min_ms, args } => {
                    let mut argv = vec![
                        files.bin_dir.join(name).display().to_string(),
                        min_ms.to_string(),
                    ];
                    argv.extend(args.iter().map(|a| host_arg(*a, files, self.is_native())));
                    argv
                }
                Target::True => vec!["/bin/true".to_string()],
                Target::Sleep => vec!["/bin/sleep".to_string(), "2".to_string()],
            }
        };
        let (cmd, container) = match self {
            Self::Native => {
                let argv = host_argv();
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                (cmd, None)
            }
            Self::Ward { bin, platform } => {
                let mut cmd = Command::new(bin);
                cmd.args(["do", "--platform", platform]).args(host_argv());
                (cmd, None)
            }
            Self::Runsc { bin } => {
                let mut cmd = Command::new(bin);
                cmd.args(runsc_prefix()).args(host_argv());
                (cmd, None)
            }
            Self::Runc(bundle) => {
                let argv = match target {
                    Target::Program { name, min_ms, args } => {
                        let mut argv = vec![format!("/bench/{name}"), min_ms.to_string()];
                        argv.extend(args.iter().map(|a| runc_arg(*a)));
                        argv
                    }
                    Target::True => vec!["/bin/true".to_string()],
                    Target::Sleep => vec!["/bin/sleep".to_string(), "2".to_string()],
                };
                let (cmd, id) = bundle.command(&argv)?;
                (cmd, Some(id))
            }
        };
        Ok(Prepared { cmd, container })
    }

    /// Cleans up after a failed run (a runc container left behind).
    pub fn after_failure(&self, prepared_container: Option<&str>) {
        if let (Self::Runc(bundle), Some(id)) = (self, prepared_container) {
            bundle.delete(id);
        }
    }

    fn is_native(&self) -> bool {
        matches!(self, Self::Native)
    }
}

/// The arguments before the program in `runsc ... do PROGRAM`.
fn runsc_prefix() -> [&'static str; 3] {
    ["--network=none", "--platform=ptrace", "do"]
}

/// A workload argument as a path on the host's root (native, ward, runsc).
fn host_arg(arg: Arg, files: &Files, native: bool) -> String {
    match arg {
        Arg::Literal(s) => s.to_string(),
        Arg::SmallFile => files.small.display().to_string(),
        Arg::BigFile => files.big.display().to_string(),
        Arg::WriteTarget if native => files.native_write.display().to_string(),
        Arg::WriteTarget => files.sandbox_write.clone(),
        Arg::DataDir => files
            .small
            .parent()
            .map_or_else(|| "/tmp".to_string(), |d| d.display().to_string()),
    }
}

/// A workload argument as a path in the runc root file system.
fn runc_arg(arg: Arg) -> String {
    match arg {
        Arg::Literal(s) => s.to_string(),
        Arg::SmallFile => format!("/data/{}", crate::runc::SMALL_FILE),
        Arg::BigFile => format!("/data/{}", crate::runc::BIG_FILE),
        Arg::WriteTarget => "/dev/shm/ward-bench-write.tmp".to_string(),
        Arg::DataDir => "/data".to_string(),
    }
}

/// The ward binary: `$WARD_BIN`, else `ward` next to this executable or
/// one directory up (when run from `target/<profile>/deps`).
pub fn find_ward() -> Result<PathBuf> {
    if let Some(path) = env::var_os("WARD_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("WARD_BIN names {}, which is not a file", path.display());
        }
        return Ok(path);
    }
    let exe = env::current_exe().context("cannot find ward-bench's own executable")?;
    let dir = exe
        .parent()
        .context("ward-bench's executable has no directory")?;
    [Some(dir.join("ward")), dir.parent().map(|p| p.join("ward"))]
        .into_iter()
        .flatten()
        .find(|c| c.is_file())
        .with_context(|| {
            format!(
                "no ward binary next to {} (cargo build --workspace, or set WARD_BIN)",
                exe.display()
            )
        })
}

/// The first `name` on `$PATH` (plus the sbin directories, where Debian
/// puts runc), if any.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs `target` once under `launcher` and says why it failed, if it did.
pub fn probe(launcher: &Launcher, files: &Files, timeout: Duration) -> Result<(), String> {
    let mut prepared = launcher
        .prepare(Target::True, files)
        .map_err(|e| format!("{e:#}"))?;
    let finished = exec::run(&mut prepared.cmd, timeout).map_err(|e| format!("{e:#}"))?;
    match finished.failure() {
        None => Ok(()),
        Some(why) => {
            launcher.after_failure(prepared.container.as_deref());
            Err(format!("/bin/true failed under it: {why}"))
        }
    }
}

/// The first line of `BIN --version`, for the record.
pub fn version_of(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files {
            bin_dir: PathBuf::from("/b/dyn"),
            small: PathBuf::from("/b/data/file4k"),
            big: PathBuf::from("/b/data/file64m"),
            native_write: PathBuf::from("/b/data/write.tmp"),
            sandbox_write: "/dev/shm/w.tmp".to_string(),
        }
    }

    fn argv(prepared: &Prepared) -> Vec<String> {
        std::iter::once(prepared.cmd.get_program())
            .chain(prepared.cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn columns_are_in_table_order() {
        for (i, column) in Column::ALL.iter().enumerate() {
            assert_eq!(column.index(), i);
        }
    }

    #[test]
    fn native_runs_write_into_the_build_directory() {
        let target = Target::Program {
            name: "seq_write",
            min_ms: 40,
            args: &[Arg::WriteTarget],
        };
        let prepared = Launcher::Native.prepare(target, &files()).unwrap();
        assert_eq!(
            argv(&prepared),
            ["/b/dyn/seq_write", "40", "/b/data/write.tmp"]
        );
    }

    #[test]
    fn ward_runs_name_the_platform_and_write_to_dev_shm() {
        let launcher = Launcher::Ward {
            bin: PathBuf::from("/t/ward"),
            platform: "ptrace",
        };
        let target = Target::Program {
            name: "seq_write",
            min_ms: 40,
            args: &[Arg::WriteTarget],
        };
        let prepared = launcher.prepare(target, &files()).unwrap();
        assert_eq!(
            argv(&prepared),
            [
                "/t/ward",
                "do",
                "--platform",
                "ptrace",
                "/b/dyn/seq_write",
                "40",
                "/dev/shm/w.tmp"
            ]
        );
    }

    #[test]
    fn runsc_runs_use_ptrace_and_no_network() {
        let launcher = Launcher::Runsc {
            bin: PathBuf::from("/usr/bin/runsc"),
        };
        let target = Target::Program {
            name: "stat",
            min_ms: 40,
            args: &[Arg::SmallFile],
        };
        let prepared = launcher.prepare(target, &files()).unwrap();
        assert_eq!(
            argv(&prepared),
            [
                "/usr/bin/runsc",
                "--network=none",
                "--platform=ptrace",
                "do",
                "/b/dyn/stat",
                "40",
                "/b/data/file4k"
            ]
        );
    }

    #[test]
    fn runc_arguments_point_into_the_bundle_root() {
        assert_eq!(runc_arg(Arg::BigFile), "/data/file64m");
        assert_eq!(runc_arg(Arg::Literal("same")), "same");
    }
}
