//! Shared file mappings, fallocate and statfs on the read-write gofer
//! (`ward do --rw-root`): each case of `c/rw_shared.c` runs natively and
//! under ward on each platform, each run in a fresh directory of its own
//! beside the other, and the outputs must agree; where the point is that
//! the bytes reach the host file, the test reads that file itself.
//! Plus sqlite3 in WAL mode (its -shm file is a shared mapping) with two
//! writing processes, when python3 is installed.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{compile_c, describe, on_path, run, skip, ward_do, CProgram, TempDir};

const PLATFORMS: [&str; 2] = ["ptrace", "systrap"];

fn program() -> &'static CProgram {
    static PROG: OnceLock<CProgram> = OnceLock::new();
    PROG.get_or_init(|| compile_c("rw_shared", include_str!("c/rw_shared.c")))
}

/// `ward do --platform P --rw-root ARGV…`.
fn ward_rw(platform: &str, argv: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = ward_do(["--platform", platform, "--rw-root"]);
    cmd.args(argv);
    cmd
}

fn stdout_of(out: &Output) -> String {
    assert!(out.status.success(), "{}", describe(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `case` natively and under ward on each platform, each in a
/// directory of its own, and checks the outputs agree; returns the
/// native output and the directory of each run (native first).
fn agree(case: &str) -> (String, Vec<TempDir>) {
    let prog = program().path();
    let native_dir = TempDir::new(case);
    let native = stdout_of(&run(Command::new(prog).arg(case).arg(native_dir.path())));
    assert!(!native.contains("FAIL"), "natively:\n{native}");
    let mut dirs = vec![native_dir];
    for platform in PLATFORMS {
        let dir = TempDir::new(case);
        let out = run(&mut ward_rw(
            platform,
            &[prog.as_os_str(), case.as_ref(), dir.path().as_os_str()],
        ));
        assert_eq!(
            stdout_of(&out),
            native,
            "{case} under {platform}: {}",
            describe(&out)
        );
        dirs.push(dir);
    }
    (native, dirs)
}

#[test]
fn two_processes_mapping_one_file_see_each_others_stores() {
    let (out, _) = agree("two_processes");
    assert!(out.contains("parent sees: from child"), "{out}");
    assert!(out.contains("child sees: from parent"), "{out}");
}

#[test]
fn a_forked_child_writes_through_its_parents_shared_mapping() {
    let (out, _) = agree("forked_mapping");
    assert!(out.contains("read(2): written by the child"), "{out}");
}

#[test]
fn stores_through_a_mapping_are_what_read_returns() {
    let (out, _) = agree("map_then_read");
    assert!(out.contains("pread by another fd: mapped"), "{out}");
}

#[test]
fn write_is_seen_through_an_existing_mapping() {
    let (out, _) = agree("write_then_map");
    assert!(out.contains("mapping: written"), "{out}");
}

#[test]
fn munmap_puts_the_stores_in_the_host_file() {
    let (_, dirs) = agree("munmap");
    for dir in &dirs {
        let data = fs::read(dir.path().join("unmapped")).expect("read the file");
        assert!(data.starts_with(b"kept after munmap"), "{:?}", &data[..20]);
    }
}

/// Runs `case` (msync or fsync) under ward on each platform and reads
/// the host file while the run still maps it.
fn synced_while_mapped(case: &str) {
    let prog = program().path();
    for platform in PLATFORMS {
        let dir = TempDir::new(case);
        let mut child = ward_rw(
            platform,
            &[prog.as_os_str(), case.as_ref(), dir.path().as_os_str()],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start ward");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the first line");
        // The run waits, still mapping the file, until its stdin closes.
        let data = fs::read(dir.path().join("synced")).expect("read the file");
        drop(child.stdin.take());
        let status = child.wait().expect("wait for ward");

        assert_eq!(line, format!("{case}: 0\n"), "under {platform}");
        let want = format!("synced by {case}");
        assert!(
            data.starts_with(want.as_bytes()),
            "under {platform}: {:?}",
            String::from_utf8_lossy(&data[..16])
        );
        assert!(status.success(), "under {platform}: {status:?}");
    }
}

#[test]
fn msync_puts_the_stores_in_the_host_file_while_still_mapped() {
    synced_while_mapped("msync");
}

#[test]
fn fsync_puts_the_stores_in_the_host_file_while_still_mapped() {
    synced_while_mapped("fsync");
}

#[test]
fn pages_past_the_end_after_ftruncate_are_sigbus_until_the_file_grows() {
    let (out, _) = agree("sigbus");
    assert!(out.contains("page 2: signal 7"), "{out}");
    assert!(out.contains("page 2 after growing: signal 0"), "{out}");
}

#[test]
fn mremap_moves_a_shared_mapping_with_the_files_pages() {
    let (out, _) = agree("mremap");
    assert!(
        out.contains("read(2) of the third page: third page"),
        "{out}"
    );
    assert!(
        out.contains("second page through the mapping: written"),
        "{out}"
    );
}

#[test]
fn a_read_only_shared_mapping_sees_writes_but_cannot_be_made_writable() {
    let (out, _) = agree("read_only");
    assert!(out.contains("mprotect write: -1 EACCES"), "{out}");
}

#[test]
fn fallocate_modes_and_errors_match_linux() {
    let (out, _) = agree("fallocate");
    assert!(out.contains("after mode 0: size 12288"), "{out}");
    assert!(out.contains("unknown mode: -1 EOPNOTSUPP"), "{out}");
    assert!(out.contains("read-only fd: -1 EBADF"), "{out}");
}

#[test]
fn statfs_reports_the_host_file_systems_counts() {
    let (out, _) = agree("statfs");
    assert!(out.starts_with("bsize "), "{out}");
}

const WAL_PY: &str = r#"
import os, sqlite3, sys
db = os.path.join(sys.argv[1], "wal.db")
con = sqlite3.connect(db, timeout=60)
print("journal:", con.execute("pragma journal_mode=wal").fetchone()[0])
con.execute("create table t (who text, n int)")
con.commit()
con.close()
pids = []
for who in ("a", "b"):
    pid = os.fork()
    if pid == 0:
        c = sqlite3.connect(db, timeout=60)
        for n in range(200):
            with c:
                c.execute("insert into t values (?, ?)", (who, n))
        c.close()
        os._exit(0)
    pids.append(pid)
for pid in pids:
    _, status = os.waitpid(pid, 0)
    print("exit:", os.waitstatus_to_exitcode(status))
con = sqlite3.connect(db)
print("rows:", con.execute("select who, count(*), sum(n) from t group by who order by who").fetchall())
print("integrity:", con.execute("pragma integrity_check").fetchone()[0])
"#;

/// The rows of `db` as the host's own sqlite3 (through python3) sees them.
fn host_rows(db: &Path) -> String {
    let out = run(Command::new("python3").args([
        "-c",
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
         print(c.execute('select who, count(*) from t group by who order by who').fetchall())",
        db.to_str().expect("utf-8 path"),
    ]));
    stdout_of(&out)
}

#[test]
fn sqlite_in_wal_mode_takes_two_writing_processes() {
    if !on_path("python3") {
        skip("python3 is not installed");
        return;
    }
    let script_dir = TempDir::new("wal-script");
    let script = script_dir.path().join("wal.py");
    fs::write(&script, WAL_PY).expect("write the script");
    let native_dir = TempDir::new("wal");
    let native = stdout_of(&run(Command::new("python3")
        .arg(&script)
        .arg(native_dir.path())));
    for platform in PLATFORMS {
        let dir = TempDir::new("wal");
        let out = run(&mut ward_rw(
            platform,
            &[
                "python3".as_ref(),
                script.as_os_str(),
                dir.path().as_os_str(),
            ],
        ));

        assert_eq!(stdout_of(&out), native, "under {platform}");
        assert!(native.contains("integrity: ok"), "{native}");
        assert_eq!(
            host_rows(&dir.path().join("wal.db")),
            "[('a', 200), ('b', 200)]\n",
            "under {platform}"
        );
    }
}
