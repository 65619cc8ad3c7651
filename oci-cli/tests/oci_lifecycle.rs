//! The OCI verbs on real bundles (a busybox-static rootfs): create holds
//! the process until start, state follows it, kill/delete end it, run
//! waits and propagates the exit code, exec and ps work inside a running
//! container, hooks run with the state, pods share one sandbox, and bad
//! input fails with one line and leaves nothing behind.

mod common;

use common::bundle::{become_subreaper, config, wait_child, TestBundle};
use serde_json::json;

fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn one_line_error(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "expected one line, got: {err}");
    err
}

#[test]
fn create_waits_for_start_then_runs_to_stopped() {
    become_subreaper();
    let b = TestBundle::new("life", &["sh", "-c", "echo started; exit 0"]);
    ok(&b.create("c1"), "create");
    assert_eq!(b.status("c1"), "created");
    // Nothing of the workload ran before start.
    assert_eq!(b.output("c1"), "");
    let pid = b.pid("c1");
    ok(&b.run(&["start", "c1"]), "start");
    let status = wait_child(pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    assert_eq!(b.output("c1"), "started\n");
    assert_eq!(b.status("c1"), "stopped");
    ok(&b.run(&["delete", "c1"]), "delete");
    let gone = b.run(&["state", "c1"]);
    assert!(!gone.status.success());
}

#[test]
fn the_host_process_exits_with_the_init_status() {
    become_subreaper();
    let b = TestBundle::new("code", &["sh", "-c", "exit 3"]);
    ok(&b.create("c"), "create");
    let pid = b.pid("c");
    ok(&b.run(&["start", "c"]), "start");
    let status = wait_child(pid);
    assert!(libc::WIFEXITED(status), "status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 3);
    ok(&b.run(&["delete", "c"]), "delete");
}

#[test]
fn kill_ends_a_running_container_with_the_signal() {
    become_subreaper();
    let b = TestBundle::new("kill", &["sleep", "1000"]);
    ok(&b.create("k"), "create");
    let pid = b.pid("k");
    ok(&b.run(&["start", "k"]), "start");
    assert_eq!(b.status("k"), "running");
    ok(&b.run(&["kill", "k", "KILL"]), "kill");
    let status = wait_child(pid);
    assert!(libc::WIFSIGNALED(status), "status {status:#x}");
    assert_eq!(libc::WTERMSIG(status), libc::SIGKILL);
    assert_eq!(b.status("k"), "stopped");
    let again = b.run(&["kill", "k", "TERM"]);
    assert!(one_line_error(&again).contains("not running"));
    ok(&b.run(&["delete", "k"]), "delete");
}

#[test]
fn delete_refuses_a_running_container_unless_forced() {
    let b = TestBundle::new("del", &["sleep", "1000"]);
    ok(&b.create("d"), "create");
    ok(&b.run(&["start", "d"]), "start");
    let refused = b.run(&["delete", "d"]);
    assert!(one_line_error(&refused).contains("not stopped"));
    ok(&b.run(&["delete", "--force", "d"]), "delete --force");
    let list = b.run(&["list", "--quiet"]);
    ok(&list, "list");
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "");
}

#[test]
fn run_waits_and_exits_with_the_status() {
    let b = TestBundle::new("run", &["sh", "-c", "echo hi from run; exit 5"]);
    let out = b
        .ward(&["run", "--bundle"])
        .arg(b.dir.path())
        .arg("r1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ward run");
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi from run\n");
    // run deletes the container when it ends.
    assert!(!b.run(&["state", "r1"]).status.success());
}

#[test]
fn exec_and_ps_in_a_running_container() {
    let b = TestBundle::new("exec", &["sleep", "1000"]);
    ok(&b.create("e"), "create");
    ok(&b.run(&["start", "e"]), "start");
    let out = b.run(&[
        "exec",
        "e",
        "sh",
        "-c",
        "echo in-container $(hostname); exit 4",
    ]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "in-container wardtest\n"
    );
    let ps = b.run(&["ps", "--format", "json", "e"]);
    ok(&ps, "ps");
    let pids: Vec<i32> = serde_json::from_slice(&ps.stdout).expect("ps json");
    // The init is shown by its host process's pid.
    assert_eq!(pids, vec![b.pid("e")]);
    let table = b.run(&["ps", "e"]);
    ok(&table, "ps table");
    assert!(String::from_utf8_lossy(&table.stdout).contains("sleep 1000"));
    ok(&b.run(&["delete", "--force", "e"]), "delete");
}

#[test]
fn hooks_run_with_the_state_on_stdin() {
    let mut cfg = config(&["true"]);
    let tmp = common::TempDir::new("hooks-out");
    let log = tmp.path().join("hooks.log");
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} $(cat) >> {}", log.display())]});
    cfg["hooks"] = json!({
        "createRuntime": [hook("createRuntime")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    let b = TestBundle::with_config("hooks", cfg);
    ok(&b.create("h"), "create");
    ok(&b.run(&["start", "h"]), "start");
    ok(&b.run(&["delete", "--force", "h"]), "delete");
    let text = std::fs::read_to_string(&log).expect("hook log");
    let kinds: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["createRuntime", "poststart", "poststop"], "{text}");
    assert!(text.contains("\"id\":\"h\""), "{text}");
    assert!(
        text.lines()
            .next()
            .unwrap_or("")
            .contains("\"status\":\"created\""),
        "{text}"
    );
}

#[test]
fn a_failing_create_hook_leaves_nothing_behind() {
    let mut cfg = config(&["true"]);
    cfg["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
    let b = TestBundle::with_config("hookfail", cfg);
    let out = b.create("f");
    let err = one_line_error(&out);
    assert!(err.contains("createRuntime"), "{err}");
    assert!(!b.run(&["state", "f"]).status.success());
}

#[test]
fn bad_bundles_fail_with_one_line_and_leave_nothing() {
    let b = TestBundle::new("bad", &["true"]);
    // No rootfs.
    std::fs::rename(b.dir.path().join("rootfs"), b.dir.path().join("gone")).expect("rename");
    assert!(one_line_error(&b.create("x")).contains("rootfs"));
    std::fs::rename(b.dir.path().join("gone"), b.dir.path().join("rootfs")).expect("rename");
    // Not JSON.
    std::fs::write(b.dir.path().join("config.json"), "{ not json").expect("write");
    assert!(one_line_error(&b.create("x")).contains("config.json"));
    // Unsupported version.
    let mut cfg = config(&["true"]);
    cfg["ociVersion"] = json!("2.0.0");
    b.write_config(&cfg);
    assert!(one_line_error(&b.create("x")).contains("2.0.0"));
    // Unknown mount type.
    let mut cfg = config(&["true"]);
    cfg["mounts"] = json!([{"destination": "/mnt", "type": "nfs", "source": "x"}]);
    b.write_config(&cfg);
    assert!(one_line_error(&b.create("x")).contains("nfs"));
    // Nothing was left.
    let list = b.run(&["list", "--quiet"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "");
    // A duplicate id.
    b.write_config(&config(&["sleep", "100"]));
    ok(&b.create("dup"), "create");
    assert!(one_line_error(&b.create("dup")).contains("dup"));
    // A container that does not exist.
    assert!(one_line_error(&b.run(&["start", "nope"])).contains("nope"));
    assert!(one_line_error(&b.run(&["kill", "nope"])).contains("nope"));
    assert!(one_line_error(&b.run(&["delete", "nope"])).contains("nope"));
    ok(&b.run(&["delete", "--force", "dup"]), "delete");
}

#[test]
fn a_pod_member_stops_and_is_deleted_while_the_sandbox_runs() {
    become_subreaper();
    let mut sb_cfg = config(&["sleep", "1000"]);
    sb_cfg["annotations"] = json!({"io.kubernetes.cri.container-type": "sandbox"});
    let sb = TestBundle::with_config("pod-sb", sb_cfg);
    ok(&sb.create("pod"), "create sandbox");
    ok(&sb.run(&["start", "pod"]), "start sandbox");

    let mut m_cfg = config(&["sleep", "1000"]);
    m_cfg["annotations"] = json!({
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.sandbox-id": "pod"
    });
    m_cfg["hostname"] = json!(null);
    let m = TestBundle::with_config("pod-m", m_cfg);
    // Same state root: the member finds its sandbox there.
    let create = std::process::Command::new(common::WARD)
        .arg("--root")
        .arg(sb.state.path())
        .args(["create", "--bundle"])
        .arg(m.dir.path())
        .arg("--pid-file")
        .arg(m.dir.path().join("m.pid"))
        .arg("m")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(m.out_path("m")).expect("out"))
        .stderr(std::fs::File::create(m.err_path("m")).expect("err"))
        .status()
        .expect("create member");
    assert!(
        create.success(),
        "{}",
        std::fs::read_to_string(m.err_path("m")).unwrap_or_default()
    );
    ok(&sb.run(&["start", "m"]), "start member");
    let member_pid: i32 = std::fs::read_to_string(m.dir.path().join("m.pid"))
        .expect("pid")
        .parse()
        .expect("pid");
    // Both run in one sandbox: the member sees the pod's hostname.
    let host = sb.run(&["exec", "m", "hostname"]);
    assert_eq!(String::from_utf8_lossy(&host.stdout), "wardtest\n");
    ok(&sb.run(&["kill", "m", "KILL"]), "kill member");
    let status = wait_child(member_pid);
    assert!(libc::WIFSIGNALED(status));
    assert_eq!(sb.status("m"), "stopped");
    ok(&sb.run(&["delete", "m"]), "delete member");
    assert_eq!(sb.status("pod"), "running");
    // The sandbox still serves: exec works.
    let out = sb.run(&["exec", "pod", "echo", "still"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "still\n");
    ok(&sb.run(&["delete", "--force", "pod"]), "delete sandbox");
}

/// Receives the pty master runc-style from a console socket.
fn receive_master(listener: &std::os::unix::net::UnixListener) -> std::fs::File {
    use std::os::fd::{AsRawFd, FromRawFd};
    let (conn, _) = listener.accept().expect("console socket accept");
    let mut buf = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let mut control = [0u8; 64];
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    hdr.msg_controllen = control.len();
    // SAFETY: `hdr` points at live buffers for the call.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut hdr, 0) };
    assert!(n > 0, "recvmsg on the console socket");
    // SAFETY: the kernel filled `control`; the first header carries one fd.
    let fd = unsafe {
        let c = libc::CMSG_FIRSTHDR(&hdr);
        assert!(!c.is_null(), "no fd on the console socket");
        (libc::CMSG_DATA(c) as *const i32).read_unaligned()
    };
    // SAFETY: the fd just arrived and is ours.
    unsafe { std::fs::File::from_raw_fd(fd) }
}

#[test]
fn a_terminal_goes_to_the_console_socket() {
    let mut cfg = config(&["sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty"]);
    cfg["process"]["terminal"] = json!(true);
    let b = TestBundle::with_config("tty", cfg);
    let sock = b.dir.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind console socket");
    let create = std::thread::spawn({
        let mut cmd = b.ward(&["create", "--bundle"]);
        cmd.arg(b.dir.path())
            .arg("--console-socket")
            .arg(&sock)
            .arg("t")
            .stdin(std::process::Stdio::null());
        move || cmd.output().expect("ward create")
    });
    let master = receive_master(&listener);
    let out = create.join().expect("create thread");
    ok(&out, "create");
    ok(&b.run(&["start", "t"]), "start");
    let mut text = String::new();
    let mut reader = std::io::BufReader::new(master);
    std::io::BufRead::read_line(&mut reader, &mut text).expect("reading the pty");
    assert_eq!(text.trim_end(), "is-a-tty");
    ok(&b.run(&["delete", "--force", "t"]), "delete");
}

#[test]
fn terminal_without_a_console_socket_is_refused_cleanly() {
    let mut cfg = config(&["true"]);
    cfg["process"]["terminal"] = json!(true);
    let b = TestBundle::with_config("notty", cfg);
    let err = one_line_error(&b.create("n"));
    assert!(err.contains("console-socket"), "{err}");
    assert!(!b.run(&["state", "n"]).status.success());
}

#[test]
fn masked_and_readonly_paths_inside_the_container() {
    let mut cfg = config(&[
        "sh",
        "-c",
        "cat /etc/secret; echo; touch /etc/ro/x 2>/dev/null && echo wrote || echo refused; touch /tmp/w && echo tmp-ok",
    ]);
    cfg["linux"]["maskedPaths"] = json!(["/etc/secret", "/nonexistent"]);
    cfg["linux"]["readonlyPaths"] = json!(["/etc/ro"]);
    let b = TestBundle::with_config("mask", cfg);
    let rootfs = b.dir.path().join("rootfs");
    std::fs::write(rootfs.join("etc/secret"), "do-not-show").expect("secret");
    std::fs::create_dir(rootfs.join("etc/ro")).expect("ro dir");
    let out = b
        .ward(&["run", "--bundle"])
        .arg(b.dir.path())
        .arg("m")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ward run");
    ok(&out, "run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "\nrefused\ntmp-ok\n");
    // The writable root is the bundle's rootfs, as with runc.
    assert!(rootfs.join("tmp/w").exists());
    assert!(!rootfs.join("etc/ro/x").exists());
}

#[test]
fn a_read_only_root_refuses_writes() {
    let mut cfg = config(&[
        "sh",
        "-c",
        "touch /x 2>/dev/null && echo wrote || echo refused",
    ]);
    cfg["root"]["readonly"] = json!(true);
    let b = TestBundle::with_config("rootro", cfg);
    let out = b
        .ward(&["run", "--bundle"])
        .arg(b.dir.path())
        .arg("r")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ward run");
    ok(&out, "run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "refused\n");
}

#[test]
fn bind_mounts_of_a_directory_and_a_file() {
    let src = common::TempDir::new("bind-src");
    std::fs::write(src.path().join("hello"), "from-the-host\n").expect("src file");
    let file = src.path().join("hosts");
    std::fs::write(&file, "127.0.0.1 localhost\n").expect("hosts");
    let mut cfg = config(&[
        "sh",
        "-c",
        "cat /data/hello /etc/hosts; echo new > /data/made; touch /ro/x 2>/dev/null || echo ro-refused",
    ]);
    cfg["mounts"] = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "bind", "source": src.path(), "options": ["rbind", "rw"]},
        {"destination": "/etc/hosts", "type": "bind", "source": file, "options": ["bind", "ro"]},
        {"destination": "/ro", "type": "none", "source": src.path(), "options": ["bind", "ro"]},
    ]);
    let b = TestBundle::with_config("bind", cfg);
    let out = b
        .ward(&["run", "--bundle"])
        .arg(b.dir.path())
        .arg("bm")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ward run");
    ok(&out, "run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from-the-host\n127.0.0.1 localhost\nro-refused\n"
    );
    assert_eq!(
        std::fs::read_to_string(src.path().join("made")).expect("made"),
        "new\n"
    );
}

/// Whether the cgroup at `path` (as ward recorded it) is frozen.
fn frozen(path: &str) -> bool {
    let v1 = format!("/sys/fs/cgroup/freezer{path}/freezer.state");
    if let Ok(s) = std::fs::read_to_string(&v1) {
        return s.trim() == "FROZEN";
    }
    let v2 = format!("/sys/fs/cgroup{path}/cgroup.freeze");
    std::fs::read_to_string(v2)
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

#[test]
fn pause_resume_events_and_update_act_on_the_sandbox_cgroup() {
    let mut cfg = config(&["sleep", "1000"]);
    let path = format!("/ward-test/lifecycle-{}", std::process::id());
    cfg["linux"]["cgroupsPath"] = json!(path);
    cfg["linux"]["resources"] = json!({"pids": {"limit": 100}});
    let b = TestBundle::with_config("cg", cfg);
    ok(&b.create("p"), "create");
    ok(&b.run(&["start", "p"]), "start");
    let state: serde_json::Value =
        serde_json::from_slice(&b.run(&["state", "p"]).stdout).expect("state");
    assert_eq!(state["status"], "running");
    ok(&b.run(&["pause", "p"]), "pause");
    assert_eq!(b.status("p"), "paused");
    assert!(frozen(&path), "the sandbox's cgroup is not frozen");
    ok(&b.run(&["resume", "p"]), "resume");
    assert_eq!(b.status("p"), "running");
    assert!(!frozen(&path));
    ok(&b.run(&["update", "--pids-limit", "50", "p"]), "update");
    let ev = b.run(&["events", "--stats", "p"]);
    ok(&ev, "events");
    let v: serde_json::Value = serde_json::from_slice(&ev.stdout).expect("events json");
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], "p");
    assert_eq!(v["data"]["pids"]["limit"], 50, "{v}");
    assert!(
        v["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1,
        "{v}"
    );
    ok(&b.run(&["delete", "--force", "p"]), "delete");
}

#[test]
fn an_oom_score_adj_the_host_refuses_is_one_clear_error() {
    // Whether this host lets a process lower its oom_score_adj.
    let native = std::process::Command::new("/bin/sh")
        .args(["-c", "echo -500 > /proc/self/oom_score_adj"])
        .output()
        .expect("sh");
    let mut cfg = config(&["true"]);
    cfg["process"]["oomScoreAdj"] = json!(-500);
    let b = TestBundle::with_config("oom", cfg);
    let out = b.create("o");
    if native.status.success() {
        ok(&out, "create with oomScoreAdj");
        ok(&b.run(&["delete", "--force", "o"]), "delete");
    } else {
        let err = one_line_error(&out);
        assert!(err.contains("oomScoreAdj -500"), "{err}");
        assert!(!b.run(&["state", "o"]).status.success());
    }
}

#[test]
fn sysctls_are_set_inside_the_sandbox_and_unknown_ones_refused() {
    let mut cfg = config(&[
        "cat",
        "/proc/sys/net/ipv4/ping_group_range",
        "/proc/sys/kernel/shmmni",
    ]);
    cfg["linux"]["sysctl"] = json!({"net.ipv4.ping_group_range": "0 0", "kernel.shmmni": "100"});
    let b = TestBundle::with_config("sysctl", cfg);
    let out = b
        .ward(&["run", "--bundle"])
        .arg(b.dir.path())
        .arg("s")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ward run");
    ok(&out, "run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\t0\n100\n");
    let mut cfg = config(&["true"]);
    cfg["linux"]["sysctl"] = json!({"vm.swappiness": "1"});
    b.write_config(&cfg);
    let err = one_line_error(&b.create("bad"));
    assert!(err.contains("vm.swappiness"), "{err}");
    assert!(!b.run(&["state", "bad"]).status.success());
}

/// The pid of the sentry under a sandbox's host process.
fn sentry_of(host: i32) -> i32 {
    let children = std::fs::read_to_string(format!("/proc/{host}/task/{host}/children"))
        .expect("children of the host process");
    children
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .map(|c| c.contains("--control"))
                .unwrap_or(false)
        })
        .expect("a sentry child")
}

fn ns_inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).expect("namespace").ino()
}

#[test]
fn a_network_namespace_path_is_joined_by_the_sandbox() {
    let name = format!("ward-test-{}", std::process::id());
    let made = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status();
    if !made.map(|s| s.success()).unwrap_or(false) {
        common::skip("`ip netns add` is not available here");
        return;
    }
    let path = format!("/run/netns/{name}");
    let mut cfg = config(&["sleep", "1000"]);
    cfg["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "network", "path": path}]);
    let b = TestBundle::with_config("netns", cfg);
    let created = b.create("n");
    let result = std::panic::catch_unwind(|| {
        ok(&created, "create");
        let sentry = sentry_of(b.pid("n"));
        assert_eq!(ns_inode(&format!("/proc/{sentry}/ns/net")), ns_inode(&path));
        assert_ne!(ns_inode("/proc/self/ns/net"), ns_inode(&path));
    });
    let _ = b.run(&["delete", "--force", "n"]);
    let _ = std::process::Command::new("ip")
        .args(["netns", "delete", &name])
        .status();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
