//! Acceptance tests of `ward do`, `ward --debug` and `ward syscalls`,
//! driving the real binary. Programs run under ward are compared with the
//! same programs run natively, back to back; small C programs are compiled
//! with `cc` for what no host tool shows (signals, errno, the PID).
//!
//! Each test checks one behaviour and says which in its name.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::strace_log::Log;
use common::{
    compile_c, describe, native, on_path, run, shell_code, skip, unique_name, ward, ward_do,
    TempDir, WARD,
};

/// Runs `argv` natively and then under `ward do`, back to back, and checks
/// that stdout is byte-identical and the exit codes agree.
fn assert_same_as_native(argv: &[&str]) {
    let host = run(&mut native(argv));
    let sandboxed = run(&mut ward_do(argv));

    assert!(
        sandboxed.stdout == host.stdout,
        "stdout of {argv:?} differs from native\n--- native stdout ---\n{}\n--- ward ---\n{}",
        String::from_utf8_lossy(&host.stdout),
        describe(&sandboxed)
    );
    assert_eq!(
        shell_code(&sandboxed),
        shell_code(&host),
        "exit code of {argv:?} differs from native\n{}",
        describe(&sandboxed)
    );
}

/// The rows of `ward syscalls`: (name, support level).
fn syscall_table() -> Vec<(String, String)> {
    let out = run(&mut ward(["syscalls"]));
    assert!(
        out.status.success(),
        "ward syscalls failed\n{}",
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let nr = cols.next()?;
            nr.parse::<u32>().ok()?;
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect()
}

fn support_of(table: &[(String, String)], name: &str) -> Option<String> {
    table
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s.clone())
}

// ---- running a program ----

#[test]
fn echo_prints_its_arguments_and_exits_zero() {
    let out = run(&mut ward_do(["/bin/echo", "hello"]));

    assert_eq!(out.stdout, b"hello\n", "{}", describe(&out));
    assert_eq!(shell_code(&out), 0, "{}", describe(&out));
}

#[test]
fn exit_status_of_the_program_is_wards_exit_status() {
    let out = run(&mut ward_do(["/bin/sh", "-c", "exit 3"]));

    assert_eq!(shell_code(&out), 3, "{}", describe(&out));
}

// ---- output identical to native ----

#[test]
fn ls_la_of_etc_matches_native() {
    assert_same_as_native(&["/bin/ls", "-la", "/etc"]);
}

#[test]
fn cat_of_os_release_matches_native() {
    assert_same_as_native(&["/bin/cat", "/etc/os-release"]);
}

#[test]
fn busybox_ls_of_root_matches_native() {
    if !Path::new("/bin/busybox").exists() {
        skip("/bin/busybox is missing (scripts/test-all installs busybox-static)");
        return;
    }
    assert_same_as_native(&["/bin/busybox", "ls", "/"]);
}

#[test]
fn python_startup_json_and_listdir_match_native() {
    if !Path::new("/usr/bin/python3").exists() {
        skip("/usr/bin/python3 is missing");
        return;
    }
    assert_same_as_native(&[
        "/usr/bin/python3",
        "-c",
        r#"import json,os,sys; print(sys.version_info[:2], json.dumps(sorted(os.listdir("/"))[:3]))"#,
    ]);
}

// ---- programs that cannot start ----

#[test]
fn missing_command_exits_127_with_command_not_found() {
    let out = run(&mut ward_do(["no-such-command-xyz"]));

    assert_eq!(shell_code(&out), 127, "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ward: no-such-command-xyz: command not found"),
        "{}",
        describe(&out)
    );
}

#[test]
fn non_executable_file_exits_126_with_permission_denied() {
    // A file of our own rather than /etc/hostname, which some hosts mark
    // executable (mode 0755); a shebang makes it runnable but for its mode.
    let dir = TempDir::new("noexec");
    let file = dir.path().join("not-executable");
    fs::write(&file, "#!/bin/sh\necho should not run\n").expect("write the script");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod 0644");

    let out = run(&mut ward_do([&file]));

    assert_eq!(shell_code(&out), 126, "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("ward: {}: Permission denied", file.display());
    assert!(
        stderr.contains(&expected),
        "want {expected:?}\n{}",
        describe(&out)
    );
}

#[test]
fn missing_absolute_path_exits_127() {
    let dir = TempDir::new("missing");
    let missing = dir.path().join("no-such-program");

    let out = run(&mut ward_do([&missing]));

    assert_eq!(shell_code(&out), 127, "{}", describe(&out));
}

// ---- working directory and environment ----

#[test]
fn cwd_option_sets_the_programs_working_directory() {
    let out = run(&mut ward_do(["--cwd", "/etc", "/bin/pwd"]));

    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/etc\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn working_directory_defaults_to_the_callers() {
    let out = run(ward_do(["/bin/pwd"]).current_dir("/usr"));

    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/usr\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn env_option_is_visible_to_the_program() {
    let out = run(&mut ward_do(["--env", "FOO=bar", "/usr/bin/env"]));

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l == "FOO=bar"), "{}", describe(&out));
}

#[test]
fn callers_environment_is_kept() {
    let name = format!("WARD_TEST_CALLER_{}", std::process::id());
    let value = unique_name("kept");

    let out = run(ward_do(["/usr/bin/env"]).env(&name, &value));

    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!("{name}={value}");
    assert!(
        stdout.lines().any(|l| l == expected),
        "want {expected:?}\n{}",
        describe(&out)
    );
}

// ---- programs killed by a signal ----

#[test]
fn program_killed_by_sigsegv_exits_139() {
    let prog = compile_c(
        "null_deref",
        "int main(void) {\n    volatile int *p = 0;\n    return *p;\n}\n",
    );
    let host = run(&mut native([prog.path()]));
    assert_eq!(shell_code(&host), 139, "natively\n{}", describe(&host));

    let out = run(&mut ward_do([prog.path()]));

    assert_eq!(shell_code(&out), 139, "{}", describe(&out));
}

#[test]
fn program_killed_by_sigill_exits_132() {
    let prog = compile_c("trap", "int main(void) {\n    __builtin_trap();\n}\n");
    let host = run(&mut native([prog.path()]));
    assert_eq!(shell_code(&host), 132, "natively\n{}", describe(&host));

    let out = run(&mut ward_do([prog.path()]));

    assert_eq!(shell_code(&out), 132, "{}", describe(&out));
}

// ---- the host root is read-only under an in-memory overlay ----

const CREATE_FILE_C: &str = r#"#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Creates argv[1]; prints "created" or the name of the errno. */
int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    int fd = open(argv[1], O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) {
        close(fd);
        puts("created");
        return 0;
    }
    const char *name = strerrorname_np(errno);
    puts(name ? name : "unknown errno");
    return 1;
}
"#;

#[test]
fn creating_a_host_file_succeeds_inside_the_sandbox_only() {
    let prog = compile_c("create_file", CREATE_FILE_C);
    let target = std::env::temp_dir().join(unique_name("overlay"));

    let out = run(&mut ward_do([prog.path(), target.as_path()]));

    let leaked = target.exists();
    let _ = fs::remove_file(&target);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "created\n",
        "{}",
        describe(&out)
    );
    assert!(!leaked, "{} was created on the host", target.display());
}

/// `--rw-root` writes through to the host's root: only ever tried inside
/// a scratch directory of this test's own.
#[test]
fn rw_root_writes_through_to_the_host_root() {
    let scratch = TempDir::new("rw-host-root");
    let made = scratch.path().join("made");
    let out = run(ward([
        "do".as_ref(),
        "--rw-root".as_ref(),
        "--cwd".as_ref(),
        scratch.path().as_os_str(),
        "/bin/sh".as_ref(),
        "-c".as_ref(),
        "echo through > made".as_ref(),
    ])
    .current_dir(scratch.path()));

    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(fs::read(&made).ok().as_deref(), Some(&b"through\n"[..]));
}

#[test]
fn a_file_created_in_the_sandbox_never_appears_on_the_host() {
    let prog = compile_c("create_file", CREATE_FILE_C);
    let target = std::env::temp_dir().join(unique_name("no-leak"));
    let host = run(&mut native([prog.path(), target.as_path()]));
    assert_eq!(host.stdout, b"created\n", "natively\n{}", describe(&host));
    fs::remove_file(&target).expect("remove the natively created file");

    let out = run(&mut ward_do([prog.path(), target.as_path()]));

    let leaked = target.exists();
    let _ = fs::remove_file(&target);
    assert!(
        !leaked,
        "{} was created on the host\n{}",
        target.display(),
        describe(&out)
    );
}

// ---- the syscall log and table ----

#[test]
fn debug_log_records_the_programs_syscalls() {
    let dir = TempDir::new("debug-log");
    let log = dir.path().join("ward.log");

    let out = run(&mut ward([
        "--debug".as_ref(),
        "--log".as_ref(),
        log.as_os_str(),
        "do".as_ref(),
        "/bin/true".as_ref(),
    ]));

    assert_eq!(shell_code(&out), 0, "{}", describe(&out));
    let text = fs::read_to_string(&log).expect("read the log");
    assert!(
        text.lines().any(|l| l.contains("brk(")),
        "no brk( in the log:\n{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("exit_group(")),
        "no exit_group( in the log:\n{text}"
    );
}

#[test]
fn syscalls_lists_read_as_full() {
    let table = syscall_table();

    assert_eq!(support_of(&table, "read").as_deref(), Some("full"));
}

#[test]
fn syscalls_lists_rseq_as_unsupported() {
    let table = syscall_table();

    assert_eq!(support_of(&table, "rseq").as_deref(), Some("unsupported"));
}

// ---- isolation ----

#[test]
fn only_the_gofer_opens_the_file_the_program_reads() {
    if !on_path("strace") {
        skip("strace is missing");
        return;
    }
    let dir = TempDir::new("strace");
    let log_path = dir.path().join("strace.log");
    let out = run(std::process::Command::new("strace")
        .args(["-f", "-qq", "-s", "4096", "-o"])
        .arg(&log_path)
        .args([
            "-e",
            "trace=open,openat,openat2,execve,clone,clone3,fork,vfork",
            WARD,
            "do",
            "/bin/cat",
            "/etc/hostname",
        ]));
    let hostname = fs::read("/etc/hostname").expect("read /etc/hostname");
    assert_eq!(out.stdout, hostname, "under strace\n{}", describe(&out));
    let log = Log::parse(&fs::read_to_string(&log_path).expect("read the strace log"));

    let gofers = log.processes_execing_with_arg("gofer");
    let execs: Vec<_> = log.calls.iter().filter(|c| c.name() == "execve").collect();
    assert_eq!(
        gofers.len(),
        1,
        "want one `ward gofer` exec, found {gofers:?}; execs: {execs:#?}"
    );
    let gofer = gofers[0];
    let opens: Vec<_> = log
        .calls
        .iter()
        .filter(|c| matches!(c.name(), "open" | "openat" | "openat2"))
        .filter(|c| c.text.contains("hostname"))
        .collect();

    assert!(
        opens.iter().any(|c| log.process_of(c.tid) == gofer),
        "the gofer (pid {gofer}) never opened hostname; opens: {opens:#?}"
    );
    let elsewhere: Vec<_> = opens
        .iter()
        .filter(|c| log.process_of(c.tid) != gofer)
        .collect();
    assert!(
        elsewhere.is_empty(),
        "hostname opened outside the gofer (pid {gofer}): {elsewhere:#?}"
    );
}

#[test]
fn getpid_is_answered_by_the_sentry_not_the_host() {
    let prog = compile_c(
        "getpid",
        "#include <stdio.h>\n#include <sys/syscall.h>\n#include <unistd.h>\n\n\
         int main(void) {\n    printf(\"%ld\\n\", syscall(SYS_getpid));\n    return 0;\n}\n",
    );
    let host = run(&mut native([prog.path()]));
    assert_ne!(host.stdout, b"1\n", "natively\n{}", describe(&host));

    let out = run(&mut ward_do([prog.path()]));

    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn debug_says_which_platform_ran_and_why() {
    // The default: systrap where the kernel and CPU support it (this
    // machine's do), else ptrace with the reason.
    let out = run(&mut ward(["--debug", "do", "/bin/true"]));
    assert!(out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("platform chosen: systrap (the default")
            || err.contains("platform chosen: ptrace (the fallback: systrap cannot run here"),
        "{err}"
    );
    for p in ["ptrace", "systrap"] {
        let out = run(&mut ward(["--debug", "do", "--platform", p, "/bin/true"]));
        assert!(out.status.success(), "{}", describe(&out));
        let want = format!("platform chosen: {p} (asked for with --platform)");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&want),
            "{}",
            describe(&out)
        );
    }
    let out = run(&mut ward_do(["--platform", "kvm", "/bin/true"]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: auto, systrap, ptrace"));
}
