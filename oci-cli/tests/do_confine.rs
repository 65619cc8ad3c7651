//! Confinement as the host sees it, through the real `ward do`: once app
//! code runs, the sentry holds no capability and its stubs none either,
//! the gofer only what reading the root needs, all three under seccomp
//! with no_new_privs; and `--debug` says how much each allowlist admits.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::host_procs::{cap, children, status, Running};
use common::{describe, run, ward_do};

fn assert_confined(st: &BTreeMap<String, String>, who: &str) {
    assert_eq!(st["NoNewPrivs"], "1", "{who}: no_new_privs");
    assert_eq!(st["Seccomp"], "2", "{who}: seccomp filter mode");
    assert_eq!(cap(st, "CapBnd"), 0, "{who}: bounding set");
    assert_eq!(cap(st, "CapInh"), 0, "{who}: inheritable set");
    assert_eq!(cap(st, "CapAmb"), 0, "{who}: ambient set");
}

fn the_sentry_and_its_stubs_hold_no_capability_under(platform: &str) {
    let sandbox = Running::start(["--platform", platform, "sh", "-c", "echo up; read x"]);
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
    let sandbox = Running::start(["--platform", "systrap", "sh", "-c", "echo up; read x"]);
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
