//! The OCI bundle runc runs the workloads from: a root file system in a
//! temporary directory holding the statically linked workloads under
//! `/bench`, busybox (when a static one is installed) or our own static
//! `true` and `sleep` under `/bin`, and the data files under `/data`; one
//! `config.json` per run (its own directory, the shared root by absolute
//! path) so every run gets a fresh container id.
//!
//! The directory is removed when the bundle is dropped.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use serde_json::json;

/// The file names of the data files inside `/data`.
pub const SMALL_FILE: &str = "file4k";
pub const BIG_FILE: &str = "file64m";

/// What goes into the root file system.
pub struct Contents<'a> {
    /// Static workload binaries, installed as `/bench/NAME`.
    pub programs: Vec<(String, PathBuf)>,
    /// A statically linked busybox, providing /bin/true, /bin/sleep, /bin/sh.
    pub busybox: Option<&'a Path>,
    /// Static `true` and `sleep`, used when there is no static busybox.
    pub fallback_true: Option<PathBuf>,
    pub fallback_sleep: Option<PathBuf>,
    pub small: &'a Path,
    pub big: &'a Path,
}

/// A runc bundle in a temporary directory.
pub struct Bundle {
    runc: PathBuf,
    dir: PathBuf,
    rootfs: PathBuf,
    next: AtomicU64,
}

impl Bundle {
    /// Lays out the root file system under `parent/runc-bundle-PID`.
    pub fn create(runc: &Path, parent: &Path, contents: &Contents) -> Result<Self> {
        let dir = parent.join(format!("runc-bundle-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        let rootfs = dir.join("rootfs");
        let bundle = Self {
            runc: runc.to_path_buf(),
            dir,
            rootfs,
            next: AtomicU64::new(0),
        };
        let dirs = ["bench", "bin", "data", "dev", "proc", "sys", "tmp"]
            .map(|sub| bundle.rootfs.join(sub));
        for path in dirs.iter().chain([&bundle.dir.join("runs")]) {
            fs::create_dir_all(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        for (name, binary) in &contents.programs {
            install(binary, &bundle.rootfs.join("bench").join(name))?;
        }
        let bin = bundle.rootfs.join("bin");
        match contents.busybox {
            Some(busybox) => {
                install(busybox, &bin.join("busybox"))?;
                for applet in ["true", "sleep", "sh"] {
                    std::os::unix::fs::symlink("busybox", bin.join(applet))
                        .with_context(|| format!("cannot link /bin/{applet}"))?;
                }
            }
            None => {
                let helpers = [
                    ("true", &contents.fallback_true),
                    ("sleep", &contents.fallback_sleep),
                ];
                for (name, helper) in helpers {
                    let helper = helper
                        .as_ref()
                        .with_context(|| format!("no busybox and no static {name}"))?;
                    install(helper, &bin.join(name))?;
                }
            }
        }
        let data = bundle.rootfs.join("data");
        install(contents.small, &data.join(SMALL_FILE))?;
        install(contents.big, &data.join(BIG_FILE))?;
        Ok(bundle)
    }

    /// Writes a config for `argv` in a run directory of its own and returns
    /// the `runc run` command and the container id.
    pub fn command(&self, argv: &[String]) -> Result<(Command, String)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("ward-bench-{}-{n}", std::process::id());
        let run_dir = self.dir.join("runs").join(&id);
        fs::create_dir_all(&run_dir)
            .with_context(|| format!("cannot create {}", run_dir.display()))?;
        let config = config(argv, &self.rootfs);
        let text = serde_json::to_string_pretty(&config).context("cannot encode config.json")?;
        fs::write(run_dir.join("config.json"), text)
            .with_context(|| format!("cannot write {}/config.json", run_dir.display()))?;
        let mut cmd = Command::new(&self.runc);
        cmd.arg("run").arg("--bundle").arg(&run_dir).arg(&id);
        Ok((cmd, id))
    }

    /// Removes a container a failed run may have left behind.
    pub fn delete(&self, id: &str) {
        let _ = Command::new(&self.runc)
            .args(["delete", "--force", id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Hard-links `from` to `to`, or copies it when linking is not possible.
fn install(from: &Path, to: &Path) -> Result<()> {
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to)
        .map(|_| ())
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

/// An OCI runtime config like `runc spec`'s, without a terminal: the root
/// read-only (as the sandboxes' host root is), a 256 MiB /dev/shm for the
/// write workload, no network.
pub fn config(argv: &[String], rootfs: &Path) -> serde_json::Value {
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": argv,
            "env": ["PATH=/bin:/bench"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": rootfs, "readonly": false },
        "hostname": "ward-bench",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=262144k"] },
            { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "nodev", "mode=1777"] }
        ],
        "linux": {
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "namespaces": [
                { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                { "type": "uts" }, { "type": "mount" }
            ],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// Whether the ELF file at `path` is statically linked (has no PT_INTERP).
pub fn is_static_elf(path: &Path) -> bool {
    let mut head = Vec::new();
    let read = fs::File::open(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
    read.is_ok() && elf_has_no_interpreter(&head)
}

/// Whether `image` (the start of an ELF64 little-endian file) is an ELF
/// whose program headers, all within `image`, include no PT_INTERP.
pub fn elf_has_no_interpreter(image: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    if image.len() < 64 || &image[..4] != b"\x7fELF" || image[4] != 2 || image[5] != 1 {
        return false;
    }
    let u16_at = |at: usize| u16::from_le_bytes([image[at], image[at + 1]]) as usize;
    let mut phoff_bytes = [0u8; 8];
    phoff_bytes.copy_from_slice(&image[0x20..0x28]);
    let Ok(phoff) = usize::try_from(u64::from_le_bytes(phoff_bytes)) else {
        return false;
    };
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    if phentsize < 4 {
        return false;
    }
    (0..phnum).all(|i| {
        let at = phoff.saturating_add(i.saturating_mul(phentsize));
        match image.get(at..at + 4) {
            Some(t) => u32::from_le_bytes([t[0], t[1], t[2], t[3]]) != PT_INTERP,
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(types: &[u32]) -> Vec<u8> {
        let mut image = vec![0u8; 64 + 56 * types.len()];
        image[..6].copy_from_slice(b"\x7fELF\x02\x01");
        image[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        image[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        image[0x38..0x3a].copy_from_slice(&(types.len() as u16).to_le_bytes());
        for (i, t) in types.iter().enumerate() {
            image[64 + 56 * i..68 + 56 * i].copy_from_slice(&t.to_le_bytes());
        }
        image
    }

    #[test]
    fn an_elf_without_interpreter_is_static() {
        assert!(elf_has_no_interpreter(&elf(&[1, 1, 4])));
    }

    #[test]
    fn an_elf_with_an_interpreter_is_dynamic() {
        assert!(!elf_has_no_interpreter(&elf(&[6, 3, 1])));
    }

    #[test]
    fn truncated_or_foreign_files_are_not_static_elves() {
        let mut cut = elf(&[1, 1]);
        cut.truncate(100);
        assert!(!elf_has_no_interpreter(&cut));
        assert!(!elf_has_no_interpreter(b"#!/bin/sh\n"));
    }

    #[test]
    fn the_config_runs_argv_without_a_terminal_on_a_read_only_root() {
        let config = config(
            &["/bench/getpid".to_string(), "40".to_string()],
            Path::new("/r"),
        );
        assert_eq!(config["process"]["args"], json!(["/bench/getpid", "40"]));
        assert_eq!(config["process"]["terminal"], json!(false));
        assert_eq!(config["root"], json!({ "path": "/r", "readonly": false }));
    }
}
