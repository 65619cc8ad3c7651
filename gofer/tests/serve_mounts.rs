//! A server with bind-mount sources, end to end: a real `serve_sources` on
//! a thread over temporary trees, a real `Client`. Each source is its own
//! tree: attached by index, changed only when it and the server are
//! read-write, never left through a symlink, never linked or renamed into
//! another source; a file source is served as that one file.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{symlink, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use gofer::{Access, Client, ClientError, SetAttr, SourceError};

/// ```text
/// <base>/root/file              "root"
/// <base>/data/up   -> /          (a symlink that must not lead to the host's root)
/// <base>/data/sub/inner         "inner"
/// <base>/conf/hosts             "127.0.0.1 localhost\n"
/// <base>/conf/link -> hosts     (a file source named through a symlink)
/// <base>/ro/kept                "kept"
/// ```
struct Scratch {
    base: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir().join(format!(
            "gofer-mounts-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(base.join("root")).expect("mkdir root");
        fs::create_dir_all(base.join("data/sub")).expect("mkdir data");
        fs::create_dir_all(base.join("conf")).expect("mkdir conf");
        fs::create_dir_all(base.join("ro")).expect("mkdir ro");
        fs::write(base.join("root/file"), b"root").expect("write");
        fs::write(base.join("data/sub/inner"), b"inner").expect("write");
        fs::write(base.join("conf/hosts"), b"127.0.0.1 localhost\n").expect("write");
        fs::write(base.join("ro/kept"), b"kept").expect("write");
        symlink("/", base.join("data/up")).expect("symlink up");
        symlink("hosts", base.join("conf/link")).expect("symlink link");
        Scratch { base }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
    }

    /// Serves root (0), data (1), conf/link (2, a file) and ro (3, read-only).
    fn serve(&self, access: Access) -> Client {
        let sources = vec![
            gofer::Source::root(gofer::open_root(&self.path("root")).expect("root"), false),
            gofer::open_source(&self.path("data"), false).expect("data"),
            gofer::open_source(&self.path("conf/link"), false).expect("conf/link"),
            gofer::open_source(&self.path("ro"), true).expect("ro"),
        ];
        let (server_end, client_end) = gofer::socketpair().expect("socketpair");
        thread::spawn(move || gofer::serve_sources(sources, server_end, access));
        Client::new(client_end).expect("handshake")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn errno<T: std::fmt::Debug>(r: Result<T, ClientError>) -> i32 {
    match r {
        Err(ClientError::Errno(e)) => e,
        other => panic!("expected an errno reply, got {other:?}"),
    }
}

fn ino(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").ino()
}

#[test]
fn each_index_attaches_its_own_source() {
    let s = Scratch::new();
    let c = s.serve(Access::ReadOnly);
    let (_, root) = c.attach_source(0).expect("attach root");
    let (_, data) = c.attach_source(1).expect("attach data");
    let (_, hosts) = c.attach_source(2).expect("attach file");
    let (_, ro) = c.attach_source(3).expect("attach ro");
    assert_eq!(root.ino, ino(&s.path("root")));
    assert_eq!(data.ino, ino(&s.path("data")));
    assert_eq!(hosts.ino, ino(&s.path("conf/hosts")), "the link's target");
    assert_eq!(hosts.mode & libc::S_IFMT, libc::S_IFREG);
    assert_eq!(ro.ino, ino(&s.path("ro")));
    let (root_again, _) = c.attach().expect("attach");
    let (_, file) = c.walk(root_again, b"file").expect("walk root");
    assert_eq!(file.ino, ino(&s.path("root/file")));
}

#[test]
fn an_index_out_of_range_is_einval() {
    let s = Scratch::new();
    let c = s.serve(Access::ReadWrite);
    assert_eq!(errno(c.attach_source(4)), libc::EINVAL);
    assert_eq!(errno(c.attach_source(u32::MAX)), libc::EINVAL);
    c.attach_source(3).expect("the connection still serves");
}

#[test]
fn a_file_source_is_read_and_written_as_that_file() {
    let s = Scratch::new();
    let c = s.serve(Access::ReadWrite);
    let (fid, _) = c.attach_source(2).expect("attach file");
    let mut text = String::new();
    fs::File::from(c.open(fid, libc::O_RDONLY).expect("open"))
        .read_to_string(&mut text)
        .expect("read");
    assert_eq!(text, "127.0.0.1 localhost\n");
    let mut w = fs::File::from(c.open(fid, libc::O_WRONLY).expect("open for writing"));
    w.seek(SeekFrom::End(0)).expect("seek");
    w.write_all(b"10.0.0.1 db\n").expect("write");
    let attr = c
        .setattr(
            fid,
            SetAttr {
                mode: Some(0o600),
                ..SetAttr::default()
            },
        )
        .expect("chmod");
    assert_eq!(attr.mode & 0o777, 0o600);
    assert_eq!(
        fs::read(s.path("conf/hosts")).expect("read host file"),
        b"127.0.0.1 localhost\n10.0.0.1 db\n"
    );
    let truncated = c
        .setattr(
            fid,
            SetAttr {
                size: Some(9),
                ..SetAttr::default()
            },
        )
        .expect("truncate");
    assert_eq!(truncated.size, 9);
    assert_eq!(fs::read(s.path("conf/hosts")).expect("read"), b"127.0.0.1");
    assert_eq!(errno(c.walk(fid, b"x")), libc::ENOTDIR);
    assert_eq!(errno(c.readdir(fid)), libc::ENOTDIR);
    assert_eq!(errno(c.mkdir(fid, b"x", 0o755)), libc::ENOTDIR);
    let names: Vec<_> = fs::read_dir(s.path("conf"))
        .expect("list conf")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "nothing made beside the file: {names:?}");
}

#[test]
fn a_read_only_source_refuses_every_change_under_a_read_write_server() {
    let s = Scratch::new();
    let c = s.serve(Access::ReadWrite);
    let (dir, _) = c.attach_source(3).expect("attach ro");
    let (kept, _) = c.walk(dir, b"kept").expect("walk");
    assert_eq!(errno(c.open(kept, libc::O_WRONLY)), libc::EROFS);
    assert_eq!(
        errno(c.open(kept, libc::O_RDONLY | libc::O_TRUNC)),
        libc::EROFS
    );
    assert_eq!(
        errno(c.create(dir, b"new", libc::O_RDWR, 0o644)),
        libc::EROFS
    );
    assert_eq!(errno(c.mkdir(dir, b"new", 0o755)), libc::EROFS);
    assert_eq!(errno(c.symlink(dir, b"new", b"kept")), libc::EROFS);
    assert_eq!(errno(c.unlink(dir, b"kept", 0)), libc::EROFS);
    assert_eq!(errno(c.rename(dir, b"kept", dir, b"new", 0)), libc::EROFS);
    assert_eq!(errno(c.link(kept, dir, b"new")), libc::EROFS);
    let truncate = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(kept, truncate)), libc::EROFS);
    assert_eq!(fs::read(s.path("ro/kept")).expect("read"), b"kept");
    // The other sources of the same server still change.
    let (root, _) = c.attach().expect("attach root");
    c.mkdir(root, b"made", 0o755).expect("mkdir in the root");
    assert!(s.path("root/made").is_dir());
}

#[test]
fn a_read_only_root_refuses_changes_while_a_mount_takes_them() {
    let s = Scratch::new();
    let sources = vec![
        gofer::Source::root(gofer::open_root(&s.path("root")).expect("root"), true),
        gofer::open_source(&s.path("data"), false).expect("data"),
    ];
    let (server_end, client_end) = gofer::socketpair().expect("socketpair");
    thread::spawn(move || gofer::serve_sources(sources, server_end, Access::ReadWrite));
    let c = Client::new(client_end).expect("handshake");
    let (root, _) = c.attach().expect("attach root");
    assert_eq!(errno(c.mkdir(root, b"made", 0o755)), libc::EROFS);
    let (data, _) = c.attach_source(1).expect("attach data");
    c.mkdir(data, b"made", 0o755).expect("mkdir in the mount");
    assert!(s.path("data/made").is_dir());
    assert!(!s.path("root/made").exists());
}

#[test]
fn a_read_only_server_refuses_changes_in_read_write_sources() {
    let s = Scratch::new();
    let c = s.serve(Access::ReadOnly);
    let (data, _) = c.attach_source(1).expect("attach data");
    assert_eq!(errno(c.mkdir(data, b"made", 0o755)), libc::EROFS);
    let (file, _) = c.attach_source(2).expect("attach file");
    assert_eq!(errno(c.open(file, libc::O_RDWR)), libc::EROFS);
}

#[test]
fn names_never_move_between_sources() {
    let s = Scratch::new();
    let c = s.serve(Access::ReadWrite);
    let (root, _) = c.attach().expect("attach root");
    let (data, _) = c.attach_source(1).expect("attach data");
    let (file, _) = c.walk(root, b"file").expect("walk");
    assert_eq!(errno(c.link(file, data, b"file")), libc::EXDEV);
    assert_eq!(
        errno(c.rename(root, b"file", data, b"file", 0)),
        libc::EXDEV
    );
    let (hosts, _) = c.attach_source(2).expect("attach file");
    assert_eq!(errno(c.link(hosts, root, b"hosts")), libc::EXDEV);
    assert!(s.path("root/file").exists());
    assert!(!s.path("data/file").exists());
}

#[test]
fn a_symlink_to_slash_in_a_mounted_dir_is_never_followed_on_the_host() {
    let s = Scratch::new();
    let c = s.serve(Access::ReadWrite);
    let (data, _) = c.attach_source(1).expect("attach data");
    let (up, attr) = c.walk(data, b"up").expect("walk up");
    assert_eq!(attr.mode & libc::S_IFMT, libc::S_IFLNK, "the link itself");
    assert_eq!(c.readlink(up).expect("readlink"), b"/");
    // Through the link is not into the host's root.
    assert_eq!(errno(c.walk(up, b"etc")), libc::ENOTDIR);
    assert_eq!(errno(c.open(up, libc::O_RDONLY)), libc::ELOOP);
    assert_eq!(errno(c.mkdir(up, b"escaped", 0o755)), libc::ENOTDIR);
    assert_eq!(errno(c.walk(data, b"..")), libc::EINVAL);
    assert!(!Path::new("/escaped").exists());
    // The sentry resolves "/" against its own tree: here the root's "file".
    let (root, _) = c.attach().expect("attach root");
    c.walk(root, b"file").expect("the root's own file");
}

#[test]
fn sources_that_are_neither_dirs_nor_files_are_refused_by_name() {
    let s = Scratch::new();
    match gofer::open_source(Path::new("/dev/null"), false) {
        Err(e @ SourceError::Type { .. }) => {
            assert!(e.to_string().contains("/dev/null"), "{e}");
        }
        other => panic!("a device must be refused, got {other:?}"),
    }
    let sock = s.path("sock");
    let _listener = UnixListener::bind(&sock).expect("bind");
    match gofer::open_source(&sock, true) {
        Err(e @ SourceError::Type { .. }) => {
            assert!(e.to_string().contains(sock.to_str().expect("utf-8")), "{e}");
        }
        other => panic!("a socket must be refused, got {other:?}"),
    }
    assert!(matches!(
        gofer::open_source(Path::new("/proc/self"), true),
        Err(SourceError::HostPseudoFs { .. })
    ));
    assert!(matches!(
        gofer::open_source(&s.path("missing"), true),
        Err(SourceError::Open { .. })
    ));
}

#[test]
fn a_file_root_is_refused() {
    let s = Scratch::new();
    let (server_end, _client_end) = gofer::socketpair().expect("socketpair");
    let file = gofer::open_source(&s.path("conf/hosts"), false).expect("file");
    let r = gofer::serve_sources(vec![file], server_end, Access::ReadOnly);
    assert!(
        matches!(r, Err(gofer::ServeError::RootNotDirectory { .. })),
        "{r:?}"
    );
}
