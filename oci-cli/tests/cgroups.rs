//! ward's cgroups on the real host: a cgroup made under a unique path,
//! real child processes moved into it, limits written and read back, a real
//! fork storm stopped by the pids limit, freezing, stats, removal. Every
//! cgroup a test makes is removed, even when the test fails.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use oci_cli::cgroups::{events_stats_json, Cgroup, CgroupError, Controller, Version};
use oci_spec::runtime::LinuxResources;

/// A test's cgroup, killed out and removed when dropped.
struct TestCgroup {
    cgroup: Option<Cgroup>,
}

impl TestCgroup {
    fn get(&self) -> &Cgroup {
        self.cgroup
            .as_ref()
            .expect("the cgroup is there until destroy")
    }

    /// Removes the cgroup, as a test step whose result counts.
    fn destroy(mut self) -> Result<(), CgroupError> {
        self.cgroup.take().expect("destroyed once").destroy()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        if let Some(cg) = self.cgroup.take() {
            // A frozen task holds a SIGKILL until it is thawed.
            let _ = cg.thaw();
            let pids: Vec<String> = cg
                .pids()
                .unwrap_or_default()
                .iter()
                .map(i32::to_string)
                .collect();
            if !pids.is_empty() {
                let _ = Command::new("kill").arg("-KILL").args(&pids).status();
            }
            let _ = cg.destroy();
        }
    }
}

/// A fresh cgroup, or `None` (with the reason printed) where this process
/// cannot make cgroups at all.
fn test_cgroup(tag: &str) -> Option<TestCgroup> {
    let path = format!("/{}", common::unique_name(tag));
    match Cgroup::create(&path) {
        Ok(cgroup) => Some(TestCgroup {
            cgroup: Some(cgroup),
        }),
        Err(CgroupError::NoCgroupFs) => {
            common::skip("no cgroup file system is mounted");
            None
        }
        Err(CgroupError::Mkdir { path, source })
            if matches!(
                source.raw_os_error(),
                Some(libc::EACCES | libc::EPERM | libc::EROFS)
            ) =>
        {
            common::skip(&format!(
                "cgroups are not writable here ({}: {source})",
                path.display()
            ));
            None
        }
        Err(e) => panic!("creating cgroup {path}: {e}"),
    }
}

/// A child that waits on its stdin: it says "ready" once it has read a
/// line, then holds about a megabyte of memory until stdin closes.
fn waiting_child() -> Child {
    Command::new("sh")
        .args([
            "-c",
            "read go; x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo ready; read end; echo ${#x} >/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting sh")
}

/// Tells a `waiting_child` to go on and waits until it says "ready".
fn release(child: &mut Child) {
    let stdin = child.stdin.as_mut().expect("piped stdin");
    stdin.write_all(b"go\n").expect("writing to the child");
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reading the child");
    assert_eq!(line.trim(), "ready");
}

fn finish(mut child: Child) {
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn file(cg: &Cgroup, controller: Controller, name: &str) -> PathBuf {
    cg.dir(controller)
        .unwrap_or_else(|| panic!("no {controller} controller here"))
        .join(name)
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("a valid resources JSON")
}

#[test]
fn added_process_is_in_the_cgroup_of_every_hierarchy() {
    let Some(t) = test_cgroup("add") else { return };
    let cg = t.get();
    let child = waiting_child();
    let pid = i32::try_from(child.id()).unwrap();

    cg.add(pid).expect("adding the child");

    assert_eq!(cg.pids().unwrap(), [pid]);
    let own = read(Path::new(&format!("/proc/{pid}/cgroup")));
    for c in [Controller::Memory, Controller::Pids, Controller::Freezer] {
        if cg.dir(c).is_none() {
            continue;
        }
        let name = match cg.version() {
            Version::V1 => c.name().to_string(),
            Version::V2 => String::new(),
        };
        let wanted = format!(":{name}:{}", cg.path());
        assert!(
            own.lines()
                .any(|l| l.contains(&wanted) && l.ends_with(cg.path())),
            "no {wanted:?} in /proc/{pid}/cgroup:\n{own}"
        );
    }
    finish(child);
    t.destroy().expect("removing the emptied cgroup");
}

#[test]
fn destroy_removes_every_directory() {
    let Some(t) = test_cgroup("destroy") else {
        return;
    };
    let dirs: Vec<PathBuf> = Controller::ALL
        .iter()
        .filter_map(|c| t.get().dir(*c).map(Path::to_path_buf))
        .collect();
    assert!(!dirs.is_empty());

    t.destroy().expect("removing an empty cgroup");

    for dir in dirs {
        assert!(!dir.exists(), "{} is still there", dir.display());
    }
}

#[test]
fn destroy_with_a_live_process_is_busy_and_kills_nothing() {
    let Some(t) = test_cgroup("busy") else { return };
    let path = t.get().path().to_string();
    let mut child = waiting_child();
    t.get()
        .add(i32::try_from(child.id()).unwrap())
        .expect("adding the child");

    let err = t.destroy().unwrap_err();

    assert!(matches!(err, CgroupError::Busy { .. }), "{err}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "destroy killed the child"
    );
    let again = TestCgroup {
        cgroup: Some(Cgroup::load(&path).expect("the busy cgroup is still there")),
    };
    finish(child);
    again.destroy().expect("removing it once empty");
}

#[test]
fn load_finds_the_created_cgroup() {
    let Some(t) = test_cgroup("load") else { return };

    let loaded = Cgroup::load(t.get().path()).expect("loading");

    assert_eq!(loaded.path(), t.get().path());
    assert_eq!(loaded.dir(Controller::Pids), t.get().dir(Controller::Pids));
}

#[test]
fn load_of_a_missing_cgroup_is_not_found() {
    let Some(t) = test_cgroup("missing") else {
        return;
    };
    let missing = format!("{}-never-made", t.get().path());

    let err = Cgroup::load(&missing).unwrap_err();

    assert!(matches!(err, CgroupError::NotFound { .. }), "{err}");
}

#[test]
fn memory_cpu_and_pids_limits_reach_the_control_files() {
    let Some(t) = test_cgroup("limits") else {
        return;
    };
    let cg = t.get();
    let r = resources(
        r#"{"memory":{"limit":67108864,"reservation":33554432},
            "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0","mems":"0"},
            "pids":{"limit":32}}"#,
    );

    cg.apply(&r).expect("applying limits");

    let f = |c, name| read(&file(cg, c, name));
    match cg.version() {
        Version::V1 => {
            assert_eq!(f(Controller::Memory, "memory.limit_in_bytes"), "67108864");
            assert_eq!(
                f(Controller::Memory, "memory.soft_limit_in_bytes"),
                "33554432"
            );
            assert_eq!(f(Controller::Cpu, "cpu.shares"), "512");
            assert_eq!(f(Controller::Cpu, "cpu.cfs_quota_us"), "50000");
            assert_eq!(f(Controller::Cpu, "cpu.cfs_period_us"), "100000");
        }
        Version::V2 => {
            assert_eq!(f(Controller::Memory, "memory.max"), "67108864");
            assert_eq!(f(Controller::Memory, "memory.low"), "33554432");
            assert_eq!(f(Controller::Cpu, "cpu.weight"), "20");
            assert_eq!(f(Controller::Cpu, "cpu.max"), "50000 100000");
        }
    }
    assert_eq!(f(Controller::Cpuset, "cpuset.cpus"), "0");
    assert_eq!(f(Controller::Pids, "pids.max"), "32");
}

#[test]
fn memory_and_swap_limits_can_be_raised_and_lowered() {
    let Some(t) = test_cgroup("swap") else { return };
    let cg = t.get();
    let accounting = match cg.version() {
        Version::V1 => file(cg, Controller::Memory, "memory.memsw.limit_in_bytes").exists(),
        Version::V2 => file(cg, Controller::Memory, "memory.swap.max").exists(),
    };
    if !accounting {
        common::skip("this kernel does not account swap");
        return;
    }

    cg.apply(&resources(
        r#"{"memory":{"limit":33554432,"swap":67108864}}"#,
    ))
    .expect("setting memory and swap");
    cg.apply(&resources(
        r#"{"memory":{"limit":134217728,"swap":268435456}}"#,
    ))
    .expect("raising both");
    cg.apply(&resources(
        r#"{"memory":{"limit":16777216,"swap":16777216}}"#,
    ))
    .expect("lowering both");

    match cg.version() {
        Version::V1 => {
            assert_eq!(
                read(&file(cg, Controller::Memory, "memory.limit_in_bytes")),
                "16777216"
            );
            assert_eq!(
                read(&file(cg, Controller::Memory, "memory.memsw.limit_in_bytes")),
                "16777216"
            );
        }
        Version::V2 => {
            assert_eq!(
                read(&file(cg, Controller::Memory, "memory.max")),
                "16777216"
            );
            assert_eq!(read(&file(cg, Controller::Memory, "memory.swap.max")), "0");
        }
    }
}

const FORK_STORM: &str = r#"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    char go;
    if (read(0, &go, 1) != 1)
        return 2;
    pid_t kids[32];
    int started = 0, failed = 0;
    for (int i = 0; i < 32; i++) {
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (p < 0) {
            if (errno != EAGAIN)
                return 3;
            failed++;
            continue;
        }
        kids[started++] = p;
    }
    for (int i = 0; i < started; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < started; i++)
        waitpid(kids[i], NULL, 0);
    printf("started %d failed %d\n", started, failed);
    return 0;
}
"#;

#[test]
fn pids_limit_stops_a_fork_storm() {
    let Some(t) = test_cgroup("pids") else { return };
    let cg = t.get();
    let storm = common::compile_c("fork_storm", FORK_STORM);
    cg.apply(&resources(r#"{"pids":{"limit":5}}"#))
        .expect("setting pids.max");
    let mut child = Command::new(storm.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the fork storm");
    cg.add(i32::try_from(child.id()).unwrap())
        .expect("adding the storm");

    child
        .stdin
        .take()
        .expect("piped")
        .write_all(b"g")
        .expect("starting it");
    let out = child.wait_with_output().expect("waiting for the storm");

    let out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.trim(), "started 4 failed 28");
    assert_eq!(cg.stats().unwrap().pids.limit, 5);
    t.destroy().expect("removing the cgroup");
}

#[test]
fn freeze_and_thaw_change_the_sandbox_state() {
    let Some(t) = test_cgroup("freeze") else {
        return;
    };
    let cg = t.get();
    let child = waiting_child();
    cg.add(i32::try_from(child.id()).unwrap())
        .expect("adding the child");
    let state = || match cg.version() {
        Version::V1 => read(&file(cg, Controller::Freezer, "freezer.state")),
        Version::V2 => read(&cg.dir(Controller::Freezer).unwrap().join("cgroup.events")),
    };

    cg.freeze().expect("freezing");
    let frozen = state();
    cg.thaw().expect("thawing");
    let thawed = state();

    match cg.version() {
        Version::V1 => {
            assert_eq!(frozen, "FROZEN");
            assert_eq!(thawed, "THAWED");
        }
        Version::V2 => {
            assert!(frozen.lines().any(|l| l == "frozen 1"), "{frozen}");
            assert!(thawed.lines().any(|l| l == "frozen 0"), "{thawed}");
        }
    }
    finish(child);
}

#[test]
fn thawed_process_goes_on_with_what_came_while_frozen() {
    let Some(t) = test_cgroup("thaw") else { return };
    let cg = t.get();
    let mut child = waiting_child();
    cg.add(i32::try_from(child.id()).unwrap())
        .expect("adding the child");
    cg.freeze().expect("freezing");
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();

    cg.thaw().expect("thawing");

    let stdout = child.stdout.as_mut().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    finish(child);
}

#[test]
fn stats_report_the_sandbox_usage() {
    let Some(t) = test_cgroup("stats") else {
        return;
    };
    let cg = t.get();
    let mut child = waiting_child();
    cg.add(i32::try_from(child.id()).unwrap())
        .expect("adding the child");
    release(&mut child);

    let stats = cg.stats().expect("reading stats");

    assert!(stats.cpu.usage.total > 0, "{stats:?}");
    assert!(stats.memory.usage.usage > 0, "{stats:?}");
    assert!(!stats.memory.raw.is_empty(), "{stats:?}");
    assert_eq!(stats.pids.current, 1, "{stats:?}");
    let event = events_stats_json("c1", &stats);
    assert_eq!(event["type"], "stats");
    assert_eq!(event["data"]["pids"]["current"], 1);
    finish(child);
}

#[test]
fn systemd_style_path_is_refused() {
    let err = Cgroup::create("system.slice:ward:abc").unwrap_err();

    assert!(matches!(err, CgroupError::SystemdPath { .. }), "{err}");
}

#[test]
fn value_the_kernel_rejects_names_the_file_and_value() {
    let Some(t) = test_cgroup("invalid") else {
        return;
    };

    let err = t
        .get()
        .apply(&resources(r#"{"cpu":{"cpus":"4095"}}"#))
        .unwrap_err();

    let msg = err.to_string();
    assert!(matches!(err, CgroupError::Write { .. }), "{msg}");
    assert!(msg.contains("cpuset.cpus") && msg.contains("4095"), "{msg}");
}
