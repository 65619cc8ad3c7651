//! Confinement as the host sees it, through the real `ward do`: once app
//! code runs, the sentry holds no capability and its stubs none either,
//! the gofer only what reading the root needs, all three under seccomp
//! with no_new_privs; and `--debug` says how much each allowlist admits.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use common::{describe, run, ward_do};

/// The fields of /proc/PID/status (or /proc/PID/task/TID/status).
fn status(path: &str) -> BTreeMap<String, String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn cap(st: &BTreeMap<String, String>, field: &str) -> u64 {
    u64::from_str_radix(&st[field], 16).expect("a hex capability mask")
}

/// Host pids whose parent is `ppid`.
fn children(ppid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after ')'.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        if after.split_whitespace().nth(1) == Some(&ppid.to_string()) {
            out.push(pid);
        }
    }
    out
}

fn argv(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// `ward do` running a shell that says it is up and waits for a line on
/// stdin: while it waits, the sentry runs app code, so it is confined.
struct Running {
    ward: Child,
}

impl Running {
    fn start(platform: &str) -> Running {
        let mut ward = ward_do(["--platform", platform, "sh", "-c", "echo up; read x"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ward do");
        let mut line = String::new();
        BufReader::new(ward.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("read the sandbox's first line");
        assert_eq!(line, "up\n", "the sandbox did not start");
        Running { ward }
    }

    /// The host pid of ward's child whose argv names `role`.
    fn component(&self, role: &str) -> u32 {
        children(self.ward.id())
            .into_iter()
            .find(|&p| argv(p).iter().any(|a| a == role))
            .unwrap_or_else(|| panic!("no {role} among ward's children"))
    }

    fn finish(mut self) {
        let mut stdin = self.ward.stdin.take().expect("stdin");
        stdin.write_all(b"\n").expect("release the sandbox");
        drop(stdin);
        let st = self.ward.wait().expect("wait for ward");
        assert!(st.success(), "ward do ended {st:?}");
    }
}

fn assert_confined(st: &BTreeMap<String, String>, who: &str) {
    assert_eq!(st["NoNewPrivs"], "1", "{who}: no_new_privs");
    assert_eq!(st["Seccomp"], "2", "{who}: seccomp filter mode");
    assert_eq!(cap(st, "CapBnd"), 0, "{who}: bounding set");
    assert_eq!(cap(st, "CapInh"), 0, "{who}: inheritable set");
    assert_eq!(cap(st, "CapAmb"), 0, "{who}: ambient set");
}

fn the_sentry_and_its_stubs_hold_no_capability_under(platform: &str) {
    let sandbox = Running::start(platform);
    let sentry = sandbox.component("sentry");
    let leader = status(&format!("/proc/{sentry}/status"));
    assert_confined(&leader, "sentry");
    assert_eq!(cap(&leader, "CapPrm"), 0, "sentry: permitted set");
    // Every thread: nothing at all (helper threads started before the
    // pivot drop what they inherited themselves).
    for t in fs::read_dir(format!("/proc/{sentry}/task"))
        .expect("tasks")
        .flatten()
    {
        let st = status(&format!("{}/status", t.path().display()));
        assert_eq!(cap(&st, "CapEff"), 0, "sentry thread {:?}", t.file_name());
        assert_eq!(cap(&st, "CapBnd"), 0, "sentry thread {:?}", t.file_name());
        assert_eq!(cap(&st, "CapPrm"), 0, "sentry thread {:?}", t.file_name());
    }
    let stubs = children(sentry);
    assert!(!stubs.is_empty(), "the sentry has no stub");
    for stub in stubs {
        let st = status(&format!("/proc/{stub}/status"));
        assert_confined(&st, "stub");
        assert_eq!(cap(&st, "CapPrm"), 0, "stub {stub}: permitted set");
        assert_eq!(cap(&st, "CapEff"), 0, "stub {stub}: effective set");
    }
    sandbox.finish();
}

#[test]
fn the_sentry_and_its_stubs_hold_no_capability_under_systrap() {
    the_sentry_and_its_stubs_hold_no_capability_under("systrap");
}

#[test]
fn the_sentry_and_its_stubs_hold_no_capability_under_ptrace() {
    the_sentry_and_its_stubs_hold_no_capability_under("ptrace");
}

#[test]
fn the_gofer_keeps_only_what_reading_the_root_needs() {
    let sandbox = Running::start("systrap");
    let gofer = sandbox.component("gofer");
    let st = status(&format!("/proc/{gofer}/status"));
    assert_confined(&st, "gofer");
    let keep = gofer::confine::cap_mask(gofer::confine::GOFER_CAPS);
    assert_eq!(cap(&st, "CapEff"), keep, "gofer: effective set");
    assert_eq!(cap(&st, "CapPrm"), keep, "gofer: permitted set");
    sandbox.finish();
}

#[test]
fn debug_says_how_many_syscalls_each_allowlist_admits() {
    let out = run(&mut ward_do(["--debug", "true"]));
    assert!(out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let sentry = sentry::confine::seccomp::SENTRY_POLICY;
    let want = format!(
        "sentry seccomp allowlist: {} syscalls ({} with argument rules)",
        sentry.len(),
        sentry::confine::seccomp::with_argument_rules(sentry)
    );
    assert!(err.contains(&want), "no {want:?} in {err}");
    let gofer = gofer::confine::GOFER_POLICY;
    let want = format!(
        "gofer seccomp allowlist: {} syscalls ({} with argument rules)",
        gofer.len(),
        gofer::confine::with_argument_rules(gofer)
    );
    assert!(err.contains(&want), "no {want:?} in {err}");
}
