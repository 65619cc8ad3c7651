//! podman with storage of the test's own: its image store, run dir and
//! libpod tmp dir in one temporary directory, the busybox image loaded from
//! the OCI archive, containers run by a given OCI runtime binary; dropped,
//! it removes its containers, kills the conmon and cleanup processes that
//! still name its directory, and unmounts what they left.
//!
//! The global flags, each needed on this VM (no systemd, no journald,
//! containers.conf and storage.conf left as Debian ships them):
//! - `--root`, `--runroot`, `--tmpdir`: all state in our directory, never
//!   /var/lib/containers, /run/containers/storage or /run/libpod;
//! - `--storage-driver overlay`: podman's default, named so a host
//!   storage.conf cannot pick another (it works on this VM's /tmp; `vfs`
//!   is the fallback where overlay mounts fail);
//! - `--cgroup-manager cgroupfs`: there is no systemd to ask for a scope;
//! - `--events-backend file`: there is no journald; the log goes in --tmpdir;
//! - `--runtime PATH`: the OCI runtime under test. podman passes it no
//!   global flags, so it keeps its default `--root` (/run/ward for ward);
//!   `--runtime-flag root=…` would not help: podman 4.3's exit cleanup
//!   (`podman container cleanup`, run by conmon) calls `delete --force`
//!   without the runtime flags.
//!
//! And per `run` (see [`Podman::run`]): `--network none`, so podman sets no
//! network up (netavark would change the host's firewall and
//! /run/containers/networks); `--ulimit nofile=1024:1024 --ulimit
//! nproc=1024:1024`, because podman's defaults for root (1048576 open
//! files, 4194304 processes) exceed this VM's hard limits and raising them
//! needs CAP_SYS_RESOURCE, which the VM withholds (runc fails "error setting
//! rlimit type 7: operation not permitted"; `--ulimit host` does not help).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::bounded::{self, CLEANUP_LIMIT};
use super::host;
use super::image::{busybox_image, IMAGE_REF};
use crate::common::{describe, TempDir};

/// Podman with storage in a temporary directory; dropping it cleans up.
pub struct Podman {
    dir: TempDir,
    runtime: PathBuf,
}

impl Podman {
    /// Sets up storage and loads the busybox image; containers will run
    /// under `runtime`.
    pub fn new(runtime: &Path) -> Podman {
        let podman = Podman {
            dir: TempDir::new("podman"),
            runtime: runtime.to_owned(),
        };
        let archive = &busybox_image().archive;
        let out = bounded::run(podman.command(["load", "--quiet", "--input"]).arg(archive));
        assert!(
            out.status.success(),
            "podman load --input {} failed\n{}",
            archive.display(),
            describe(&out)
        );
        podman
    }

    /// `podman GLOBAL-FLAGS… ARGS…` (see the module comment for the flags).
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let dir = self.dir.path();
        let mut cmd = Command::new("podman");
        cmd.arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .arg("--tmpdir")
            .arg(dir.join("tmp"))
            .args(["--storage-driver", "overlay"])
            .args(["--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file"])
            .arg("--runtime")
            .arg(&self.runtime)
            .args(args);
        cmd
    }

    /// `podman … run --rm --name NAME --network none --ulimit … IMAGE ARGV…`.
    pub fn run(&self, name: &str, argv: &[&str]) -> Command {
        let mut cmd = self.command(["run", "--rm", "--name", name, "--network", "none"]);
        cmd.args([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .arg(IMAGE_REF)
        .args(argv);
        cmd
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = bounded::run_within(
            &mut self.command(["rm", "--all", "--force", "--time", "0"]),
            CLEANUP_LIMIT,
        );
        // conmon and `podman container cleanup` run detached from the test;
        // both name our directories on their command lines.
        for pid in host::processes_mentioning(self.dir.path()) {
            host::kill(pid);
        }
        host::unmount_under(self.dir.path());
    }
}
