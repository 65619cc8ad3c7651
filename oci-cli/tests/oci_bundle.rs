//! The host-side OCI verbs of the real `ward` binary: `spec` (and the
//! library's `bundle::load` of what it writes), `features`, `list` and
//! `state` on empty and hand-made state roots with live and dead processes.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use common::{describe, run, ward, TempDir};
use oci_cli::state::{self, ContainerRecord, StateRoot, Status};

/// A bundle directory with a busybox-static rootfs (or an empty one when
/// busybox is not installed: `spec` and `load` need only the directory).
fn busybox_bundle(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    let bin = dir.path().join("rootfs/bin");
    fs::create_dir_all(&bin).unwrap();
    if Path::new("/bin/busybox").is_file() {
        fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", bin.join("sh")).unwrap();
    }
    dir
}

fn spec_in(dir: &Path, extra: &[&str]) -> std::process::Output {
    run(ward(["spec", "--bundle"]).arg(dir).args(extra))
}

#[test]
fn spec_writes_a_config_that_loads() {
    let dir = busybox_bundle("spec");
    let out = spec_in(dir.path(), &[]);
    assert!(out.status.success(), "{}", describe(&out));
    let b = oci_cli::bundle::load(dir.path()).unwrap();
    assert_eq!(
        b.rootfs,
        fs::canonicalize(dir.path().join("rootfs")).unwrap()
    );
    let process = b.spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_deref(), Some(&["sh".to_string()][..]));
    assert_eq!(b.pod_role(), oci_cli::bundle::PodRole::Standalone);
}

#[test]
fn a_rootless_spec_loads_too() {
    let dir = busybox_bundle("spec-rootless");
    let out = spec_in(dir.path(), &["--rootless"]);
    assert!(out.status.success(), "{}", describe(&out));
    let b = oci_cli::bundle::load(dir.path()).unwrap();
    let linux = b.spec.linux().as_ref().unwrap();
    assert!(linux.uid_mappings().is_some());
}

#[test]
fn spec_refuses_to_overwrite_a_config() {
    let dir = busybox_bundle("spec-twice");
    assert!(spec_in(dir.path(), &[]).status.success());
    fs::write(dir.path().join("config.json"), "mine").unwrap();
    let out = spec_in(dir.path(), &[]);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("config.json exists: remove it first"), "{err}");
    assert_eq!(
        fs::read_to_string(dir.path().join("config.json")).unwrap(),
        "mine"
    );
}

#[test]
fn features_states_what_ward_accepts() {
    let out = run(&mut ward(["features"]));
    assert!(out.status.success(), "{}", describe(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parsed: oci_spec::runtime::Features = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(parsed.oci_version_min(), "1.0.0");
    let options: Vec<_> = doc["mountOptions"].as_array().unwrap().iter().collect();
    assert!(options.contains(&&serde_json::json!("rbind")));
    assert_eq!(doc["linux"]["seccomp"]["enabled"], false);
    assert_eq!(doc["linux"]["cgroup"]["systemd"], false);
}

fn list(root: &Path, extra: &[&str]) -> String {
    let out = run(ward(["--root"]).arg(root).arg("list").args(extra));
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn list_of_an_empty_root_is_runc_s_header_or_null() {
    let dir = TempDir::new("list-empty");
    let root = dir.path().join("state");
    assert_eq!(
        list(&root, &[]),
        "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
    );
    assert_eq!(list(&root, &["--format", "json"]), "null\n");
    assert_eq!(list(&root, &["-q"]), "");
}

/// A child that lives until the test kills it.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Self {
        Sleeper(Command::new("sleep").arg("1000").spawn().unwrap())
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> i32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id() as i32;
    c.wait().unwrap();
    pid
}

fn save(root: &StateRoot, id: &str, pid: i32, pid_start: u64, bundle: &Path) {
    let locked = root.create(id).unwrap();
    let record = ContainerRecord {
        id: id.into(),
        bundle: bundle.to_path_buf(),
        rootfs: bundle.join("rootfs"),
        created: state::now_rfc3339(),
        owner: state::current_owner(),
        annotations: BTreeMap::from([("k".to_string(), "v".to_string())]),
        pid,
        pid_start,
        status: Status::Running,
        sandbox_id: id.into(),
        control: locked.dir().join("control.sock"),
        cgroup: None,
        extra: BTreeMap::new(),
    };
    locked.save(&record).unwrap();
}

/// A state root with "alive" (a live sleep) and "gone" (a reaped pid,
/// recorded with a start time no live process has).
fn hand_made_root(dir: &TempDir, sleeper: &Sleeper) -> PathBuf {
    let root = dir.path().join("state");
    let state_root = StateRoot::new(&root);
    let start = state::process_start_time(sleeper.pid()).unwrap();
    save(&state_root, "alive", sleeper.pid(), start, dir.path());
    save(&state_root, "gone", dead_pid(), 1, dir.path());
    root
}

#[test]
fn list_shows_a_live_container_running_and_a_dead_one_stopped() {
    let dir = TempDir::new("list-made");
    let sleeper = Sleeper::start();
    let root = hand_made_root(&dir, &sleeper);

    let table = list(&root, &[]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(
        rows[1][..3],
        ["alive", &sleeper.pid().to_string(), "running"],
        "{table}"
    );
    assert_eq!(rows[2][..3], ["gone", "0", "stopped"], "{table}");
    assert_eq!(rows[1][3], dir.path().to_str().unwrap(), "{table}");

    let json: serde_json::Value =
        serde_json::from_str(&list(&root, &["--format", "json"])).unwrap();
    assert_eq!(json[0]["id"], "alive");
    assert_eq!(json[0]["status"], "running");
    assert_eq!(json[0]["annotations"]["k"], "v");
    assert_eq!(json[1]["status"], "stopped");
    assert_eq!(json[1]["pid"], 0);

    assert_eq!(list(&root, &["--quiet"]), "alive\ngone\n");
}

#[test]
fn state_prints_the_oci_state_of_a_container() {
    let dir = TempDir::new("state-made");
    let sleeper = Sleeper::start();
    let root = hand_made_root(&dir, &sleeper);
    let out = run(ward(["--root"]).arg(&root).args(["state", "alive"]));
    assert!(out.status.success(), "{}", describe(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["id"], "alive");
    assert_eq!(s["status"], "running");
    assert_eq!(s["pid"], sleeper.pid());
    assert_eq!(s["bundle"], dir.path().to_str().unwrap());
    assert!(s["ociVersion"].as_str().unwrap().starts_with("1."));
}

#[test]
fn state_of_a_missing_container_is_one_line_and_exit_1() {
    let dir = TempDir::new("state-missing");
    let out = run(ward(["--root"]).arg(dir.path()).args(["state", "nope"]));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("container nope does not exist"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn the_top_level_root_leaves_ward_do_s_own_root_alone() {
    // `--root` before the verb is the state root; `ward do --root` is still
    // the sandbox's root directory: this parses, and --help shows both.
    let out = run(&mut ward(["--root", "/tmp/unused-state", "do", "--help"]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--root"));
}
