//! Acceptance of the process model through the real `ward do`: shells,
//! pipelines, job control builtins, Python's threads, subprocesses,
//! multiprocessing and alarms print exactly what they print natively; and
//! signals sent to `ward` reach the sandboxed program.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::{same_as_native, ward_do};

const PYTHON: &str = "/usr/bin/python3";

#[test]
fn a_pipeline_counts_what_ls_lists() {
    same_as_native(&["/bin/sh", "-c", "ls / | wc -l"]);
}

#[test]
fn a_bash_script_with_substitution_background_jobs_traps_loops_and_xargs() {
    let script = r#"
x=$(echo hello | tr a-z A-Z); echo "$x"
(sleep 0.05; echo bg) & wait
trap 'echo got USR1' USR1
kill -USR1 $$
printf 'a\nb\nc\n' | while read l; do echo "line $l"; done
echo 1 2 3 | xargs -n1 echo item
"#;
    same_as_native(&["/bin/bash", "-c", script]);
}

#[test]
fn python_threads_append_under_a_lock() {
    let prog = "import threading\nl=[];k=threading.Lock()\ndef w(i):\n  for _ in range(200):\n    with k: l.append(i)\nts=[threading.Thread(target=w,args=(i,)) for i in range(8)]\n[t.start() for t in ts];[t.join() for t in ts]\nprint(len(l), sorted(set(l)))";
    same_as_native(&[PYTHON, "-c", prog]);
}

#[test]
fn python_subprocess_captures_ls() {
    let prog = "import subprocess\nr=subprocess.run(['ls','/'],capture_output=True)\nprint(r.returncode, r.stdout.decode().split())";
    same_as_native(&[PYTHON, "-c", prog]);
}

#[test]
fn python_alarm_runs_its_handler() {
    let prog = "import signal,time\nsignal.signal(signal.SIGALRM, lambda s,f: print('alarm', s))\nsignal.alarm(1)\ntime.sleep(2)\nprint('done')";
    same_as_native(&[PYTHON, "-c", prog]);
}

#[test]
fn python_multiprocessing_pool_maps() {
    let prog = "import multiprocessing as m\nif __name__=='__main__':\n  with m.Pool(4) as p: print(p.map(abs, range(-5,5)))";
    same_as_native(&[PYTHON, "-c", prog]);
}

#[test]
fn sigterm_sent_to_ward_reaches_the_program() {
    // The program announces itself, then waits for SIGTERM in a trap.
    let mut child = ward_do([
        "/bin/sh",
        "-c",
        "trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.05; done",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .expect("starting ward do");
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut first = [0u8; 6];
    out.read_exact(&mut first).expect("reading the ready line");
    assert_eq!(&first, b"ready\n");
    // SAFETY: kill takes plain integers; the child is ours and alive.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("reading the rest");
    let status = child.wait().expect("waiting for ward");
    assert_eq!(rest, "got TERM\n");
    assert_eq!(status.code(), Some(5));
}

/// The pids of `pid`'s children, and theirs, recursively (from /proc).
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let path = t.path().join("children");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for c in text
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            out.push(c);
            out.extend(descendants(c));
        }
    }
    out
}

/// Whether `pid` is still a running (not zombie) process.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[test]
fn killing_ward_leaves_no_sentry_gofer_or_stub_running() {
    let mut child = ward_do([
        "/bin/sh",
        "-c",
        "trap '' TERM INT; echo ready; while :; do sleep 0.05; done",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .expect("starting ward do");
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut first = [0u8; 6];
    out.read_exact(&mut first).expect("reading the ready line");
    // Sentry, gofer and stubs are all below ward (stubs below the sentry).
    let family = descendants(child.id());
    assert!(
        family.len() >= 3,
        "expected a sentry, a gofer and a stub: {family:?}"
    );
    // SAFETY: kill takes plain integers; the child is ours.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    // The workload ignores it; now ward itself is killed.
    child.kill().expect("killing ward");
    child.wait().expect("reaping ward");
    // PR_SET_PDEATHSIG and PTRACE_O_EXITKILL end them at once; allow the
    // kernel a bounded moment to deliver those kills.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut left: Vec<u32> = family.clone();
    while !left.is_empty() && std::time::Instant::now() < deadline {
        left.retain(|&p| running(p));
        std::thread::yield_now();
    }
    assert!(
        left.is_empty(),
        "still running after ward was killed: {left:?}"
    );
}

#[test]
fn the_command_may_be_a_script_run_through_its_interpreter() {
    // /usr/bin/ldd is a `#!/bin/bash` script on Debian.
    let script = "/usr/bin/ldd";
    let head = std::fs::read(script).unwrap_or_default();
    if !head.starts_with(b"#!") {
        eprintln!("skipped: {script} is not a script here");
        return;
    }
    same_as_native(&[script, "--version"]);
}

#[test]
fn python3_found_on_path_runs_even_through_a_wrapper_script() {
    // On machines with pyenv, `python3` on PATH is a bash shim that execs
    // the real interpreter; either way the output matches native.
    let prog =
        "import json,os,sys; print(sys.version_info[:2], json.dumps(sorted(os.listdir('/'))[:3]))";
    same_as_native(&["python3", "-c", prog]);
}
