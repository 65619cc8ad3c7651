//! containerd running containers on the runtime under test (ward; or the
//! binary `WARD_PEER_RUNTIME` names): ctr run, exit codes, task exec, kill,
//! ps, pause and resume, each through containerd-shim-runc-v2 with the
//! runtime as its runc binary.

mod common;

use common::peers::bounded;
use common::peers::containerd::Containerd;
use common::peers::runtime;
use common::{shell_code, unique_name};

#[test]
fn ctr_run_prints_what_the_container_prints() {
    let containerd = Containerd::start(&runtime());
    let id = unique_name("echo");

    let out = bounded::run(&mut containerd.run(&["--rm"], &id, &["echo", "hi"]));

    assert!(out.status.success(), "{}", containerd.explain(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hi\n",
        "{}",
        containerd.explain(&out)
    );
}

#[test]
fn ctr_run_exits_with_the_containers_exit_code() {
    let containerd = Containerd::start(&runtime());
    let id = unique_name("exit3");

    let out = bounded::run(&mut containerd.run(&["--rm"], &id, &["sh", "-c", "exit 3"]));

    assert_eq!(shell_code(&out), 3, "{}", containerd.explain(&out));
}

#[test]
fn ctr_task_exec_runs_inside_the_running_container() {
    let containerd = Containerd::start(&runtime());
    let id = unique_name("exec");
    containerd.run_detached(&id, &["sleep", "1000"]);

    // The exec'ed process sees the container's own init as pid 1.
    let out = bounded::run(&mut containerd.exec(&id, "look", &["cat", "/proc/1/cmdline"]));

    assert!(out.status.success(), "{}", containerd.explain(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "sleep\x001000\x00",
        "{}",
        containerd.explain(&out)
    );
}

#[test]
fn ctr_task_kill_sigkill_ends_a_sleep() {
    let containerd = Containerd::start(&runtime());
    let id = unique_name("kill9");
    let mut run = containerd.run_watched(&id, &["sh", "-c", "echo ready; exec sleep 1000"]);
    run.wait_for_line("ready");

    containerd.ctr_ok(&["task", "kill", "--signal", "SIGKILL", &id]);

    let out = run.finish();
    assert_eq!(shell_code(&out), 128 + 9, "{}", containerd.explain(&out));
}

#[test]
fn ctr_task_kill_sigterm_reaches_the_containers_handler() {
    let containerd = Containerd::start(&runtime());
    let id = unique_name("kill15");
    // The container's init ignores signals it has no handler for, so the
    // workload sets one and says so before the test sends SIGTERM.
    let script = "trap 'exit 42' TERM; echo ready; sleep 1000 & wait";
    let mut run = containerd.run_watched(&id, &["sh", "-c", script]);
    run.wait_for_line("ready");

    containerd.ctr_ok(&["task", "kill", "--signal", "SIGTERM", &id]);

    let out = run.finish();
    assert_eq!(shell_code(&out), 42, "{}", containerd.explain(&out));
}

#[test]
fn ctr_task_ps_lists_the_init_pid() {
    let containerd = Containerd::start(&runtime());
    let id = unique_name("ps");
    containerd.run_detached(&id, &["sleep", "1000"]);
    let (_, init_pid) = containerd
        .task_status(&id)
        .unwrap_or_else(|| panic!("ctr task ls does not list {id}"));

    let listing = containerd.ctr_ok(&["task", "ps", &id]);

    let pids: Vec<&str> = listing
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        pids.contains(&init_pid.to_string().as_str()),
        "init pid {init_pid} not in:\n{listing}"
    );
}

#[test]
fn ctr_task_pause_and_resume_freeze_and_thaw_the_container() {
    let containerd = Containerd::start(&runtime());
    let id = unique_name("pause");
    containerd.run_detached(&id, &["sleep", "1000"]);

    containerd.ctr_ok(&["task", "pause", &id]);
    let paused = containerd.task_status(&id).map(|(status, _)| status);
    let runtime_paused = containerd.runtime_status(&id);
    containerd.ctr_ok(&["task", "resume", &id]);
    let resumed = containerd.task_status(&id).map(|(status, _)| status);
    let runtime_resumed = containerd.runtime_status(&id);

    // containerd's shim keeps its own task state; the runtime's `state` is
    // asked too, so a pause that only exits 0 does not pass.
    assert_eq!(paused.as_deref(), Some("PAUSED"));
    assert_eq!(runtime_paused, "paused");
    assert_eq!(resumed.as_deref(), Some("RUNNING"));
    assert_eq!(runtime_resumed, "running");
}
