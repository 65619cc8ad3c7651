//! A containerd of the test's own: its socket, root, state, runtime root
//! and FIFO directories all in one temporary directory (never the system's
//! /run/containerd), started from a generated config, with the busybox
//! image imported, and torn down whole when dropped: its tasks and
//! containers deleted, the shims it started killed, mounts left under its
//! directories unmounted.
//!
//! One daemon per test: it starts and imports the image in well under a
//! second here, and a guard that is a plain local value is always dropped,
//! which a shared `static` never is.
//!
//! What containerd 1.6 cannot move: each shim's ttrpc socket is
//! `/run/containerd/s/<sha256 of our socket, namespace and id>`, unique to
//! this daemon; the shim removes it when it exits, and teardown removes
//! those of shims it had to kill.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use super::bounded::{self, Watched, CLEANUP_LIMIT, COMMAND_LIMIT};
use super::host;
use super::image::{busybox_image, IMAGE_REF};
use crate::common::{describe, TempDir};

/// The containerd namespace the tests use.
pub const NAMESPACE: &str = "ward-peers";

/// What containerd logs once every plugin is loaded and it serves its socket.
const BOOTED: &str = "containerd successfully booted";

/// A running containerd; dropping it tears everything down.
pub struct Containerd {
    dir: TempDir,
    daemon: Child,
    /// containerd's log so far (its stderr, drained by a thread).
    log: Arc<Mutex<String>>,
    runtime: PathBuf,
}

impl Containerd {
    /// Starts a containerd whose tasks run under `runtime` (an OCI runtime
    /// binary: ward, or runc to check the harness), and imports the busybox
    /// image.
    pub fn start(runtime: &Path) -> Containerd {
        let dir = TempDir::new("containerd");
        let config = dir.path().join("config.toml");
        fs::write(&config, config_toml(dir.path()))
            .unwrap_or_else(|e| panic!("writing {}: {e}", config.display()));
        let mut daemon = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting containerd (scripts/test-all installs it): {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let booted = drain_log(daemon.stderr.take(), Arc::clone(&log));
        let containerd = Containerd {
            dir,
            daemon,
            log,
            runtime: runtime.to_owned(),
        };
        // Ready when it says so: the line comes after the gRPC socket is
        // served. No polling; a daemon that dies or stalls fails the test.
        if booted.recv_timeout(COMMAND_LIMIT) != Ok(true) {
            panic!(
                "containerd did not boot within {COMMAND_LIMIT:?}\n--- log (last lines) ---\n{}",
                containerd.log()
            );
        }
        containerd.import(&busybox_image().archive);
        containerd
    }

    /// The daemon's gRPC socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// The `--root` containerd's shim gives the runtime (per namespace, under it).
    pub fn runtime_root(&self) -> PathBuf {
        self.dir.path().join("runtime-root")
    }

    fn fifo_dir(&self) -> PathBuf {
        self.dir.path().join("fifo")
    }

    /// The last lines of the daemon's log, for failure messages.
    pub fn log(&self) -> String {
        const LINES: usize = 30;
        let log = self
            .log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LINES)..].join("\n")
    }

    /// A finished command's status and output, then the daemon's last log
    /// lines: the message for a failed assertion.
    pub fn explain(&self, out: &Output) -> String {
        format!(
            "{}\n--- containerd log (last lines) ---\n{}",
            describe(out),
            self.log()
        )
    }

    /// `ctr --address SOCKET --namespace NAMESPACE ARGS…`.
    pub fn ctr<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.socket())
            .arg("--namespace")
            .arg(NAMESPACE)
            .args(args);
        cmd
    }

    /// `ctr run FLAGS… <runtime options> IMAGE ID ARGV…`: the runtime
    /// binary as the runc shim's `BinaryName` (`--runc-binary`), its state
    /// under our directory (`--runc-root`), our FIFOs.
    pub fn run(&self, flags: &[&str], id: &str, argv: &[&str]) -> Command {
        let mut args: Vec<OsString> = vec!["run".into()];
        args.extend(flags.iter().map(OsString::from));
        args.extend([
            "--runc-binary".into(),
            self.runtime.clone().into(),
            "--runc-root".into(),
            self.runtime_root().into(),
            "--fifo-dir".into(),
            self.fifo_dir().into(),
            IMAGE_REF.into(),
            id.into(),
        ]);
        args.extend(argv.iter().map(OsString::from));
        self.ctr(args)
    }

    /// Starts `argv` in a new container `id` and returns once it runs
    /// (`ctr run --detach` returns after the runtime's `start`).
    pub fn run_detached(&self, id: &str, argv: &[&str]) {
        let out = bounded::run(&mut self.run(&["--detach"], id, argv));
        assert!(
            out.status.success(),
            "ctr run --detach {id} failed\n{}",
            self.explain(&out)
        );
    }

    /// Starts `ctr run --rm … ID ARGV…` in the background, its output watched.
    pub fn run_watched(&self, id: &str, argv: &[&str]) -> Watched {
        Watched::spawn(&mut self.run(&["--rm"], id, argv))
    }

    /// `ctr task exec --exec-id EXEC_ID ID ARGV…`.
    pub fn exec(&self, id: &str, exec_id: &str, argv: &[&str]) -> Command {
        let mut cmd = self.ctr(["task", "exec", "--exec-id", exec_id, "--fifo-dir"]);
        cmd.arg(self.fifo_dir()).arg(id).args(argv);
        cmd
    }

    /// Runs `ctr ARGS…` and returns its stdout; panics with its output and
    /// the daemon's log if it fails.
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let out = bounded::run(&mut self.ctr(args));
        assert!(
            out.status.success(),
            "ctr {args:?} failed\n{}",
            self.explain(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The status (`RUNNING`, `PAUSED`, `STOPPED`, …) and pid `ctr task ls`
    /// shows for task `id`.
    pub fn task_status(&self, id: &str) -> Option<(String, u32)> {
        let listing = self.ctr_ok(&["task", "ls"]);
        parse_task_ls(&listing, id)
    }

    /// The `status` the runtime itself reports for container `id`
    /// (`RUNTIME --root ROOT state ID`, with the root the shim gave it).
    pub fn runtime_status(&self, id: &str) -> String {
        let out = bounded::run(
            Command::new(&self.runtime)
                .arg("--root")
                .arg(self.runtime_root().join(NAMESPACE))
                .args(["state", id]),
        );
        assert!(
            out.status.success(),
            "runtime state {id} failed\n{}",
            self.explain(&out)
        );
        let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "runtime state {id} printed no JSON ({e})\n{}",
                describe(&out)
            )
        });
        state["status"].as_str().unwrap_or_default().to_owned()
    }

    fn import(&self, archive: &Path) {
        let out = bounded::run(self.ctr(["images", "import"]).arg(archive));
        assert!(
            out.status.success(),
            "ctr images import {} failed\n{}",
            archive.display(),
            self.explain(&out)
        );
    }

    /// Deletes every task and container, best effort and bounded.
    fn delete_everything(&self) {
        let ids = |what: &str| -> Vec<String> {
            bounded::run_within(&mut self.ctr([what, "ls", "--quiet"]), CLEANUP_LIMIT)
                .map(|out| {
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        for id in ids("tasks") {
            let _ = bounded::run_within(
                &mut self.ctr(["tasks", "delete", "--force", &id]),
                CLEANUP_LIMIT,
            );
        }
        for id in ids("containers") {
            let _ =
                bounded::run_within(&mut self.ctr(["containers", "delete", &id]), CLEANUP_LIMIT);
        }
    }

    /// The shim sockets this daemon's shims announced.
    fn shim_sockets(&self) -> Vec<PathBuf> {
        let tasks = self
            .dir
            .path()
            .join("state/io.containerd.runtime.v2.task")
            .join(NAMESPACE);
        let Ok(entries) = fs::read_dir(tasks) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| fs::read_to_string(entry.ok()?.path().join("address")).ok())
            .filter_map(|address| {
                let path = address.trim().strip_prefix("unix://")?.to_owned();
                path.starts_with("/run/containerd/s/")
                    .then(|| PathBuf::from(path))
            })
            .collect()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.delete_everything();
        let sockets = self.shim_sockets();
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        // Shims outlive the daemon (it daemonizes them); each names our
        // socket on its command line, as do any runtime processes they left.
        for pid in host::processes_mentioning(self.dir.path()) {
            host::kill(pid);
        }
        host::unmount_under(self.dir.path());
        for socket in sockets {
            let _ = fs::remove_file(socket);
        }
    }
}

/// containerd's config: v2 format, everything under `dir`; the CRI plugin
/// is off (ctr needs none of it), and so is the `opt` plugin, which would
/// make /opt/containerd. The snapshotter is the default, overlayfs, which
/// works on this VM's /tmp; the others, which only log why they cannot
/// load here, are off.
fn config_toml(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{d}/containerd.sock"

[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[debug]
  address = "{d}/debug.sock"

[metrics]
  address = ""
"#
    )
}

/// Drains containerd's stderr into `log` on a thread; the receiver gets
/// `true` when the boot line appears, `false` if the log ends first.
fn drain_log(
    stderr: Option<std::process::ChildStderr>,
    log: Arc<Mutex<String>>,
) -> mpsc::Receiver<bool> {
    let (tx, rx) = mpsc::channel();
    let Some(stderr) = stderr else {
        let _ = tx.send(false);
        return rx;
    };
    thread::spawn(move || {
        let mut told = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !told && line.contains(BOOTED) {
                told = tx.send(true).is_ok();
            }
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
        let _ = tx.send(false);
    });
    rx
}

/// Finds task `id` in `ctr task ls` output (`TASK PID STATUS` columns).
pub fn parse_task_ls(listing: &str, id: &str) -> Option<(String, u32)> {
    listing.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        if fields.next()? != id {
            return None;
        }
        let pid = fields.next()?.parse().ok()?;
        Some((fields.next()?.to_owned(), pid))
    })
}
