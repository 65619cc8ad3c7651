//! The real, confined `ward gofer` serving a root and bind-mount sources
//! (`--mount SRC[:ro]`): each source is opened before the gofer
//! pivot_roots into its root, and stays served through the held fd
//! afterwards, although its path is then out of the gofer's reach.
//! Driven with the real client over the socket at fd 3.

mod common;

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{describe, TempDir, WARD};
use gofer::{Client, ClientError};

/// `ward gofer ARGS…` with `sock` as its fd 3.
fn gofer_command(args: &[&std::ffi::OsStr], sock: &OwnedFd) -> Command {
    let mut cmd = Command::new(WARD);
    cmd.arg("gofer").args(args);
    cmd.stdin(Stdio::null());
    let fd = sock.as_raw_fd();
    // SAFETY: the closure runs between fork and exec and calls only dup2,
    // which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Starts a confined gofer over `args` and connects to it.
fn start(args: &[&std::ffi::OsStr]) -> (Child, Client) {
    let (ours, theirs) = gofer::socketpair().expect("socketpair");
    let child = gofer_command(args, &theirs)
        .spawn()
        .expect("starting ward gofer");
    drop(theirs);
    (child, Client::new(ours).expect("handshake with the gofer"))
}

fn errno<T: std::fmt::Debug>(r: Result<T, ClientError>) -> i32 {
    match r {
        Err(ClientError::Errno(e)) => e,
        other => panic!("expected an errno reply, got {other:?}"),
    }
}

fn read_all(client: &Client, fid: gofer::Fid) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    fs::File::from(client.open(fid, libc::O_RDONLY).expect("open"))
        .read_to_end(&mut out)
        .expect("read");
    out
}

/// ```text
/// <tmp>/rootfs/bin/           the root
/// <tmp>/data/inner  "inner"   --mount data (read-write)
/// <tmp>/hosts       "hosts"   --mount hosts:ro (a file)
/// ```
fn scratch() -> TempDir {
    let tmp = TempDir::new("gofer-mounts");
    let p = tmp.path();
    fs::create_dir_all(p.join("rootfs/bin")).expect("mkdir rootfs");
    fs::create_dir_all(p.join("data")).expect("mkdir data");
    fs::write(p.join("data/inner"), b"inner").expect("write");
    fs::write(p.join("hosts"), b"127.0.0.1 localhost\n").expect("write");
    tmp
}

fn os(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}

#[test]
fn a_confined_gofer_serves_its_mount_sources_by_index() {
    let tmp = scratch();
    let p = tmp.path();
    let (rootfs, data, hosts) = (p.join("rootfs"), p.join("data"), p.join("hosts"));
    let mut hosts_ro = hosts.clone().into_os_string();
    hosts_ro.push(":ro");
    let (mut child, c) = start(&[
        "--root".as_ref(),
        os(&rootfs),
        "--rw".as_ref(),
        "--root-ro".as_ref(),
        "--mount".as_ref(),
        os(&data),
        "--mount".as_ref(),
        &hosts_ro,
    ]);
    let (root, _) = c.attach().expect("attach root");
    c.walk(root, b"bin").expect("the root is served");
    assert_eq!(errno(c.mkdir(root, b"made", 0o755)), libc::EROFS);

    let (dir, _) = c.attach_source(1).expect("attach data");
    let (inner, _) = c.walk(dir, b"inner").expect("walk");
    assert_eq!(read_all(&c, inner), b"inner");
    c.mkdir(dir, b"made", 0o755)
        .expect("mkdir in the read-write mount");
    assert!(data.join("made").is_dir());

    let (file, attr) = c.attach_source(2).expect("attach hosts");
    assert_eq!(attr.mode & libc::S_IFMT, libc::S_IFREG);
    assert_eq!(read_all(&c, file), b"127.0.0.1 localhost\n");
    assert_eq!(errno(c.open(file, libc::O_WRONLY)), libc::EROFS);
    assert_eq!(errno(c.attach_source(3)), libc::EINVAL);

    drop(c);
    let status = child.wait().expect("wait");
    assert!(status.success(), "the gofer ends cleanly: {status:?}");
    assert!(!rootfs.join("made").exists());
}

#[test]
fn a_device_source_is_refused_at_start_by_name() {
    let tmp = scratch();
    let rootfs = tmp.path().join("rootfs");
    let (_ours, theirs) = gofer::socketpair().expect("socketpair");
    let out = gofer_command(
        &[
            "--root".as_ref(),
            os(&rootfs),
            "--mount".as_ref(),
            "/dev/null:ro".as_ref(),
        ],
        &theirs,
    )
    .output()
    .expect("running ward gofer");
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/dev/null") && err.contains("neither a directory nor a regular file"),
        "{}",
        describe(&out)
    );
}
