//! OCI bundles for the lifecycle tests: a busybox-static rootfs (busybox
//! and the applets the tests use as symlinks) and a config.json built as
//! JSON here, with a private state root (`--root`) per test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use super::{TempDir, WARD};

/// A bundle, a state root for it and the container id the test uses.
pub struct TestBundle {
    pub dir: TempDir,
    pub state: TempDir,
}

const APPLETS: &[&str] = &[
    "sh", "echo", "sleep", "cat", "true", "false", "id", "hostname", "ls", "ps", "mkdir", "touch",
    "test", "wc", "env", "pwd", "kill",
];

/// A busybox rootfs under `dir/rootfs`.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for d in ["bin", "tmp", "proc", "sys", "dev", "etc", "root"] {
        std::fs::create_dir_all(root.join(d)).expect("rootfs dirs");
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("copying /bin/busybox");
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a)).expect("applet link");
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("passwd");
    std::fs::write(root.join("etc/group"), "root:x:0:\n").expect("group");
    root
}

/// The config of a container running `args` (no terminal, writable root).
pub fn config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_KILL", "CAP_CHOWN"],
                "effective": ["CAP_KILL", "CAP_CHOWN"],
                "permitted": ["CAP_KILL", "CAP_CHOWN"]
            },
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "wardtest",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
        }
    })
}

impl TestBundle {
    /// A bundle running `args`.
    pub fn new(tag: &str, args: &[&str]) -> TestBundle {
        Self::with_config(tag, config(args))
    }

    pub fn with_config(tag: &str, cfg: Value) -> TestBundle {
        let dir = TempDir::new(tag);
        busybox_rootfs(dir.path());
        let b = TestBundle {
            dir,
            state: TempDir::new(&format!("{tag}-state")),
        };
        b.write_config(&cfg);
        b
    }

    pub fn write_config(&self, cfg: &Value) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(cfg).expect("config json"),
        )
        .expect("writing config.json");
    }

    /// `ward --root STATE ARGS…`.
    pub fn ward(&self, args: &[&str]) -> Command {
        let mut c = Command::new(WARD);
        c.arg("--root").arg(self.state.path()).args(args);
        c
    }

    /// `ward --root STATE ARGS…` run to completion, stdin closed.
    pub fn run(&self, args: &[&str]) -> Output {
        self.ward(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running ward")
    }

    /// `ward create --bundle DIR ID` with stdout and stderr going to files
    /// (the container's stdio), which `output` reads back.
    pub fn create(&self, id: &str) -> Output {
        let out = std::fs::File::create(self.out_path(id)).expect("stdout file");
        let err = std::fs::File::create(self.err_path(id)).expect("stderr file");
        self.ward(&["create", "--bundle"])
            .arg(self.dir.path())
            .arg("--pid-file")
            .arg(self.dir.path().join(format!("{id}.pid")))
            .arg(id)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .map(|s| Output {
                status: s,
                stdout: Vec::new(),
                stderr: std::fs::read(self.err_path(id)).unwrap_or_default(),
            })
            .expect("running ward create")
    }

    pub fn out_path(&self, id: &str) -> PathBuf {
        self.dir.path().join(format!("{id}.out"))
    }

    pub fn err_path(&self, id: &str) -> PathBuf {
        self.dir.path().join(format!("{id}.err"))
    }

    /// What the container wrote to stdout so far.
    pub fn output(&self, id: &str) -> String {
        std::fs::read_to_string(self.out_path(id)).unwrap_or_default()
    }

    /// `ward state ID`'s "status".
    pub fn status(&self, id: &str) -> String {
        let out = self.run(&["state", id]);
        if !out.status.success() {
            return format!("(state failed: {})", String::from_utf8_lossy(&out.stderr));
        }
        let v: Value = serde_json::from_slice(&out.stdout).expect("state json");
        v["status"].as_str().unwrap_or("").to_string()
    }

    /// The pid the pid file names.
    pub fn pid(&self, id: &str) -> i32 {
        std::fs::read_to_string(self.dir.path().join(format!("{id}.pid")))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid number")
    }
}

impl Drop for TestBundle {
    fn drop(&mut self) {
        // Whatever a failed test left running.
        if let Ok(entries) = std::fs::read_dir(self.state.path()) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.run(&["delete", "--force", &id]);
            }
        }
    }
}

/// Makes this test process a child subreaper, as containerd's shim is: a
/// container's host process, orphaned when `ward create` exits, becomes
/// our child, so its exit status can be waited for.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes a plain flag.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(r, 0, "PR_SET_CHILD_SUBREAPER");
}

/// Waits for our (adopted) child `pid`; its wait status.
pub fn wait_child(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into a valid int.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return status;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(
            e.raw_os_error(),
            Some(libc::EINTR),
            "waitpid({pid}): {e} (not adopted? call become_subreaper first)"
        );
    }
}
