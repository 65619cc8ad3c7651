//! Freed sandbox memory as the host sees it: the pages of a tmpfs file
//! written and removed stay with the sentry only while they may be reused,
//! and go back to the host once the sandbox has been idle a moment (the
//! sentry's warm pool and its trimmer thread, which starts after the
//! sentry is confined and so holds no capability).

mod common;

use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::host_procs::{cap, kib, status, try_status, Running};

const WRITTEN_KIB: u64 = 32 * 1024;

#[test]
fn freed_tmpfs_pages_go_back_to_the_host_once_the_sandbox_is_idle() {
    let mut sandbox = Running::start([
        "sh",
        "-c",
        "echo up; read x; dd if=/dev/zero of=/dev/shm/f bs=64k count=512 2>/dev/null; \
         rm /dev/shm/f; echo freed; read x",
    ]);
    let sentry = sandbox.component("sentry");
    let shmem = || kib(&status(&format!("/proc/{sentry}/status")), "RssShmem");
    let before = shmem();
    sandbox.send_line();
    sandbox.expect_line("freed");
    let after_rm = shmem();

    // Whatever threads the sentry runs now (the trimmer among them, unless
    // it already finished) hold nothing.
    for t in fs::read_dir(format!("/proc/{sentry}/task"))
        .expect("tasks")
        .flatten()
    {
        let Ok(st) = try_status(&format!("{}/status", t.path().display())) else {
            continue; // the thread ended meanwhile
        };
        assert_eq!(cap(&st, "CapPrm"), 0, "sentry thread {:?}", t.file_name());
    }

    // Given back within a few seconds (the trimmer waits one second of
    // idleness; the deadline is generous for a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut now = shmem();
    while now > before + WRITTEN_KIB / 4 && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
        now = shmem();
    }
    assert!(
        now <= before + WRITTEN_KIB / 4,
        "the sentry still holds {now} KiB of shared memory (before the file: {before}, \
         after its removal: {after_rm})"
    );
    eprintln!(
        "sentry RssShmem: {before} KiB before, {after_rm} after the removal, {now} at the end"
    );
    sandbox.finish();
}
