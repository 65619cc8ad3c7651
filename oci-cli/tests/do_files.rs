//! Files for real under `ward do`: each test runs one shell command that
//! builds, archives, commits, locks or pipes through files in /tmp, once
//! natively in a fresh directory and once sandboxed in one `ward do
//! /bin/sh -c …` over the host's own /tmp path names, and compares what
//! they print and how they end. The sandbox writes into the overlay, so
//! afterwards the host's /tmp must not hold any of the names it made.
//!
//! A command whose tool is missing on the host is skipped with a note.

mod common;

use std::fs;
use std::path::Path;

use common::{describe, native, on_path, run, shell_code, skip, unique_name, ward_do, TempDir};

/// Two processes inserting 100 rows each into one sqlite3 database (its
/// path the first argument) under sqlite's own locking, then the count.
const SQLITE_SCRIPT: &str = r#"
import os, sqlite3, sys
db = sys.argv[1]
c = sqlite3.connect(db, timeout=30)
c.execute("create table t(x)")
c.commit()
c.close()
def work(tag):
    c = sqlite3.connect(db, timeout=30)
    for i in range(100):
        with c:
            c.execute("insert into t values (?)", (tag * 1000 + i,))
    c.close()
pids = []
for tag in (1, 2):
    pid = os.fork()
    if pid == 0:
        work(tag)
        os._exit(0)
    pids.append(pid)
ok = all(os.waitpid(p, 0)[1] == 0 for p in pids)
c = sqlite3.connect(db)
print(c.execute("select count(*) from t").fetchone()[0], ok)
"#;

/// Runs `script` (with `@D@` standing for its directory) natively in a
/// fresh directory and under `ward do` with `@D@` = /tmp, the names in
/// `made` being what it creates there; compares stdout (the directory
/// written as /tmp) and exit codes, checks stdout is `want`, and that the
/// host's /tmp gained none of `made`. When the host's /tmp already holds
/// one of them, the sandboxed run uses a fresh name under /tmp instead.
fn same_as_native_in_tmp(script: &str, made: &[&str], want: &str) {
    let host_dir = TempDir::new("files");
    let host_script = script.replace("@D@", &host_dir.path().to_string_lossy());
    let host = run(&mut native(["/bin/sh", "-c", &host_script]));
    let host_out =
        String::from_utf8_lossy(&host.stdout).replace(&*host_dir.path().to_string_lossy(), "/tmp");

    let literal = made.iter().all(|n| !Path::new("/tmp").join(n).exists());
    let (sandbox_dir, setup) = if literal {
        ("/tmp".to_string(), String::new())
    } else {
        let d = format!("/tmp/{}", unique_name("files"));
        (d.clone(), format!("mkdir {d} && "))
    };
    let sandbox_script = format!("{setup}{}", script.replace("@D@", &sandbox_dir));
    let sandboxed = run(&mut ward_do(["/bin/sh", "-c", &sandbox_script]));
    let sandbox_out = String::from_utf8_lossy(&sandboxed.stdout).replace(&sandbox_dir, "/tmp");

    assert_eq!(
        host_out,
        want,
        "the native run of {host_script:?} printed something else\n{}",
        describe(&host)
    );
    assert_eq!(
        sandbox_out,
        host_out,
        "stdout of {sandbox_script:?} differs from native\n{}",
        describe(&sandboxed)
    );
    assert_eq!(
        shell_code(&sandboxed),
        shell_code(&host),
        "exit code of {sandbox_script:?} differs from native\n{}",
        describe(&sandboxed)
    );
    if literal {
        for n in made {
            assert!(
                !Path::new("/tmp").join(n).exists(),
                "the sandbox's /tmp/{n} reached the host"
            );
        }
    } else {
        assert!(
            !Path::new(&sandbox_dir).exists(),
            "the sandbox's {sandbox_dir} reached the host"
        );
    }
}

/// Whether every program is on PATH; says which is missing otherwise.
fn have(programs: &[&str]) -> bool {
    match programs.iter().find(|p| !on_path(p)) {
        Some(p) => {
            skip(&format!("{p} is not installed"));
            false
        }
        None => true,
    }
}

/// Whether /usr/bin/python3 imports `modules`; says so otherwise.
fn python_has(modules: &str) -> bool {
    let ok = Path::new("/usr/bin/python3").exists()
        && run(&mut native([
            "/usr/bin/python3",
            "-c",
            &format!("import {modules}"),
        ]))
        .status
        .success();
    if !ok {
        skip(&format!("/usr/bin/python3 cannot import {modules}"));
    }
    ok
}

#[test]
fn gcc_compiles_and_runs_a_program_in_tmp() {
    if !have(&["gcc"]) {
        return;
    }
    same_as_native_in_tmp(
        r#"cd @D@ && printf "int main(){return 7;}" > a.c && gcc a.c -o a && ./a; echo $?"#,
        &["a.c", "a"],
        "7\n",
    );
}

#[test]
fn tar_round_trip_of_usr_include_linux_is_diff_clean() {
    if !have(&["tar", "diff"]) {
        return;
    }
    if !Path::new("/usr/include/linux").is_dir() {
        skip("/usr/include/linux is absent");
        return;
    }
    same_as_native_in_tmp(
        "mkdir @D@/t && tar -C /usr/include -cf @D@/t/l.tar linux && mkdir @D@/t/x \
         && tar -C @D@/t/x -xf @D@/t/l.tar && diff -r /usr/include/linux @D@/t/x/linux \
         && echo same",
        &["t"],
        "same\n",
    );
}

#[test]
fn git_init_add_commit_log_in_tmp() {
    if !have(&["git", "wc"]) {
        return;
    }
    same_as_native_in_tmp(
        "cd @D@ && mkdir g && cd g && git init -q && echo hi > f && git add f \
         && git -c user.email=a@b -c user.name=n commit -qm m && git log --oneline | wc -l",
        &["g"],
        "1\n",
    );
}

#[test]
fn two_processes_insert_into_one_sqlite_file_under_its_locking() {
    if !python_has("sqlite3") {
        return;
    }
    let dir = TempDir::new("sqlite-script");
    let script = dir.path().join("insert.py");
    fs::write(&script, SQLITE_SCRIPT).expect("writing the sqlite script");
    same_as_native_in_tmp(
        &format!("/usr/bin/python3 {} @D@/sq.db", script.display()),
        &["sq.db", "sq.db-journal"],
        "200 True\n",
    );
}

#[test]
fn a_symlink_and_a_fifo_in_tmp() {
    if !have(&["ln", "cat", "mkfifo"]) {
        return;
    }
    let hostname = fs::read_to_string("/etc/hostname").unwrap_or_default();
    same_as_native_in_tmp(
        "ln -s /etc/hostname @D@/l && cat @D@/l && mkfifo @D@/f && (echo x > @D@/f &) \
         && cat @D@/f",
        &["l", "f"],
        &format!("{hostname}x\n"),
    );
}

#[test]
fn python_venv_in_tmp() {
    if !python_has("venv, ensurepip") {
        return;
    }
    same_as_native_in_tmp(
        r#"/usr/bin/python3 -m venv @D@/v && @D@/v/bin/python -c "import sys; print(sys.prefix)""#,
        &["v"],
        "/tmp/v\n",
    );
}
