//! Hooks as real programs: shell scripts and /bin/sh, run by `hooks::run`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ward-hooks-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// An executable shell script `name` in `dir` with `body`.
fn script(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn hook(json: serde_json::Value) -> Hook {
    serde_json::from_value(json).unwrap()
}

const STATE: &[u8] =
    br#"{"ociVersion":"1.1.0","id":"c1","status":"creating","pid":0,"bundle":"/b"}"#;

#[test]
fn a_hook_reads_the_state_json_on_its_stdin() {
    let dir = scratch("stdin");
    let out = dir.join("state");
    let h = script(&dir, "h", "cat > \"$1\"");
    let hooks = [hook(serde_json::json!({"path": h, "args": ["h", out]}))];
    run(HookKind::CreateRuntime, &hooks, STATE).unwrap();
    assert_eq!(fs::read(&out).unwrap(), STATE);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hook_gets_exactly_its_args_and_env() {
    let dir = scratch("argv");
    let out = dir.join("seen");
    let cmd = format!(
        "tr '\\0' ' ' < /proc/$$/cmdline > {o}; echo >> {o}; tr '\\0' ' ' < /proc/$$/environ >> {o}",
        o = out.display()
    );
    let hooks = [hook(serde_json::json!({
        "path": "/bin/sh",
        "args": ["custom-argv0", "-c", cmd],
        "env": ["A=1", "B=two words"]
    }))];
    run(HookKind::Prestart, &hooks, STATE).unwrap();
    let seen = fs::read_to_string(&out).unwrap();
    let mut lines = seen.lines();
    assert!(
        lines.next().unwrap().starts_with("custom-argv0 -c "),
        "{seen}"
    );
    assert_eq!(lines.next().unwrap(), "A=1 B=two words ", "{seen}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hooks_run_in_order() {
    let dir = scratch("order");
    let out = dir.join("log");
    let h = script(&dir, "h", "echo \"$1\" >> \"$2\"");
    let hooks = [
        hook(serde_json::json!({"path": h, "args": ["h", "one", out]})),
        hook(serde_json::json!({"path": h, "args": ["h", "two", out]})),
    ];
    run(HookKind::Poststart, &hooks, STATE).unwrap();
    assert_eq!(fs::read_to_string(&out).unwrap(), "one\ntwo\n");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failing_hook_stops_the_chain_naming_kind_path_status_and_stderr() {
    let dir = scratch("fail");
    let marker = dir.join("second-ran");
    let bad = script(
        &dir,
        "bad",
        "echo first line >&2\necho 'no such volume' >&2\nexit 3",
    );
    let second = script(&dir, "second", "touch \"$1\"");
    let hooks = [
        hook(serde_json::json!({"path": bad})),
        hook(serde_json::json!({"path": second, "args": ["second", marker]})),
    ];
    let e = run(HookKind::CreateContainer, &hooks, STATE).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("createContainer hook "), "{msg}");
    assert!(msg.contains(&bad.display().to_string()), "{msg}");
    assert!(msg.contains("exit status 3"), "{msg}");
    assert!(msg.contains("first line | no such volume"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    assert!(!marker.exists(), "the chain went on after a failure");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hook_killed_by_a_signal_fails() {
    let dir = scratch("signal");
    let h = script(&dir, "h", "kill -9 $$");
    let e = run(
        HookKind::Poststop,
        &[hook(serde_json::json!({"path": h}))],
        STATE,
    )
    .unwrap_err();
    assert!(e.to_string().contains("killed by signal 9"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hook_past_its_timeout_is_killed_with_what_it_started() {
    let dir = scratch("timeout");
    let pidfile = dir.join("child");
    // The hook starts a child that would outlive it, then sleeps.
    let h = script(&dir, "h", "sleep 1000 &\necho $! > \"$1\"\nsleep 1000");
    let hooks = [hook(
        serde_json::json!({"path": h, "args": ["h", pidfile], "timeout": 1}),
    )];
    let e = run(HookKind::StartContainer, &hooks, STATE).unwrap_err();
    assert!(matches!(e, HookError::TimedOut { secs: 1, .. }), "{e}");
    assert!(
        e.to_string().contains("startContainer hook")
            && e.to_string().contains("timed out after 1s")
    );
    let child: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The orphaned sleep was killed with the group; once init reaps it,
    // its pid is gone. Wait for that without timing anything.
    while crate::state::proc_stat::read(child).is_some_and(|s| !s.exited()) {
        std::thread::yield_now();
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_relative_hook_path_is_refused() {
    let e = run(
        HookKind::Prestart,
        &[hook(serde_json::json!({"path": "bin/hook"}))],
        STATE,
    )
    .unwrap_err();
    assert!(matches!(e, HookError::RelativePath { .. }), "{e}");
}

#[test]
fn a_missing_hook_program_fails_to_start() {
    let hooks = [hook(serde_json::json!({"path": "/nonexistent/hook"}))];
    let e = run(HookKind::Prestart, &hooks, STATE).unwrap_err();
    assert!(matches!(e, HookError::Spawn { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/hook"), "{e}");
}

#[test]
fn a_zero_timeout_is_refused() {
    let hooks = [hook(serde_json::json!({"path": "/bin/true", "timeout": 0}))];
    let e = run(HookKind::Prestart, &hooks, STATE).unwrap_err();
    assert!(matches!(e, HookError::BadTimeout { timeout: 0, .. }), "{e}");
}

#[test]
fn kinds_select_their_own_lists() {
    let hooks: Hooks = serde_json::from_value(serde_json::json!({
        "createRuntime": [{"path": "/a"}],
        "poststop": [{"path": "/b"}, {"path": "/c"}]
    }))
    .unwrap();
    assert_eq!(HookKind::CreateRuntime.select(&hooks).len(), 1);
    assert_eq!(HookKind::Poststop.select(&hooks).len(), 2);
    assert!(HookKind::Prestart.select(&hooks).is_empty());
}
