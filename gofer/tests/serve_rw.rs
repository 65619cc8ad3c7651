//! The read-write server, end to end: a real `serve_as` on a thread over a
//! temporary tree, a real `Client`. Every change must stay beneath the
//! root: names are single components, a symlink at the last component is
//! never followed, and a read-only server refuses every change.

use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use gofer::protocol::{decode_reply, encode_request, Reply, Request, MAX_MESSAGE};
use gofer::{Access, Client, ClientError, Fid, SetAttr};

/// A scratch tree with a directory outside it that changes must never reach:
/// ```text
/// <base>/outside/secret       "secret"
/// <base>/root/file            "data"
/// <base>/root/sub/
/// <base>/root/out    -> ../outside         (escapes, as a directory)
/// <base>/root/leak   -> ../outside/secret  (escapes, as a file)
/// ```
struct Scratch {
    base: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir().join(format!(
            "gofer-rw-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(base.join("outside")).expect("mkdir outside");
        fs::create_dir_all(base.join("root/sub")).expect("mkdir root");
        fs::write(base.join("outside/secret"), b"secret").expect("write secret");
        // Explicitly: a read-write server clears the (process-wide) umask.
        fs::set_permissions(
            base.join("outside/secret"),
            fs::Permissions::from_mode(0o644),
        )
        .expect("chmod secret");
        fs::write(base.join("root/file"), b"data").expect("write file");
        symlink("../outside", base.join("root/out")).expect("symlink out");
        symlink("../outside/secret", base.join("root/leak")).expect("symlink leak");
        Scratch { base }
    }

    fn root(&self) -> PathBuf {
        self.base.join("root")
    }

    fn outside_untouched(&self) {
        let names: Vec<_> = fs::read_dir(self.base.join("outside"))
            .expect("list outside")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["secret"], "something was made outside the root");
        let md = fs::metadata(self.base.join("outside/secret")).expect("stat secret");
        assert_eq!(md.len(), 6, "the secret was truncated");
        assert_eq!(
            md.permissions().mode() & 0o777,
            0o644,
            "the secret was chmod'ed"
        );
        assert_eq!(
            fs::read(self.base.join("outside/secret")).expect("read"),
            b"secret"
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn start(root: &Path, access: Access) -> (Client, UnixDatagram, Fid) {
    let (server_end, client_end) = gofer::socketpair().expect("socketpair");
    let root = gofer::open_root(root).expect("open root");
    thread::spawn(move || gofer::serve_as(root, server_end, access));
    let raw = UnixDatagram::from(client_end.try_clone().expect("dup"));
    let client = Client::new(client_end).expect("handshake");
    let (fid, _) = client.attach().expect("attach");
    (client, raw, fid)
}

fn errno<T: std::fmt::Debug>(r: Result<T, ClientError>) -> i32 {
    match r {
        Err(ClientError::Errno(e)) => e,
        other => panic!("expected an errno reply, got {other:?}"),
    }
}

#[test]
fn a_read_only_server_refuses_every_change_with_erofs() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadOnly);
    let (file, _) = c.walk(root, b"file").expect("walk");
    assert_eq!(
        errno(c.create(root, b"n", libc::O_RDWR, 0o644)),
        libc::EROFS
    );
    assert_eq!(errno(c.mkdir(root, b"n", 0o755)), libc::EROFS);
    assert_eq!(errno(c.symlink(root, b"n", b"file")), libc::EROFS);
    assert_eq!(errno(c.link(file, root, b"n")), libc::EROFS);
    assert_eq!(
        errno(c.mknod(root, b"n", libc::S_IFIFO | 0o600, 0)),
        libc::EROFS
    );
    assert_eq!(errno(c.unlink(root, b"file", 0)), libc::EROFS);
    assert_eq!(errno(c.rename(root, b"file", root, b"n", 0)), libc::EROFS);
    let chmod = SetAttr {
        mode: Some(0o600),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(file, chmod)), libc::EROFS);
    for flags in [libc::O_WRONLY, libc::O_RDWR, libc::O_RDONLY | libc::O_TRUNC] {
        assert_eq!(errno(c.open(file, flags)), libc::EROFS, "{flags:#o}");
    }
    assert_eq!(fs::read(s.root().join("file")).expect("read"), b"data");
    assert_eq!(fs::read_dir(s.root()).expect("list").count(), 4);
}

#[test]
fn create_donates_a_writable_fd_with_the_exact_mode() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    let (fid, attr, fd) = c.create(root, b"new", libc::O_RDWR, 0o604).expect("create");
    assert_eq!(attr.mode, libc::S_IFREG | 0o604);
    let mut f = fs::File::from(fd);
    f.write_all(b"written").expect("write");
    assert_eq!(fs::read(s.root().join("new")).expect("read"), b"written");
    assert_eq!(c.getattr(fid).expect("getattr").size, 7);
    assert_eq!(
        errno(c.create(root, b"new", libc::O_RDWR, 0o644)),
        libc::EEXIST
    );
}

#[test]
fn write_opens_and_o_trunc() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    let (file, _) = c.walk(root, b"file").expect("walk");
    let mut f = fs::File::from(c.open(file, libc::O_RDWR).expect("open rdwr"));
    f.write_all(b"DA").expect("write");
    f.rewind().expect("rewind");
    let mut got = String::new();
    f.read_to_string(&mut got).expect("read");
    assert_eq!(got, "DAta");
    c.open(file, libc::O_RDONLY | libc::O_TRUNC)
        .expect("open trunc");
    assert_eq!(fs::metadata(s.root().join("file")).expect("md").len(), 0);
    let (sub, _) = c.walk(root, b"sub").expect("walk sub");
    assert_eq!(errno(c.open(sub, libc::O_WRONLY)), libc::EISDIR);
    assert_eq!(
        errno(c.open(file, libc::O_RDWR | libc::O_CREAT)),
        libc::EINVAL
    );
}

#[test]
fn names_that_are_not_one_component_are_refused_by_every_change() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    let (file, _) = c.walk(root, b"file").expect("walk");
    for bad in [&b".."[..], b".", b"", b"sub/x", b"../outside/x", b"a\0b"] {
        let want = libc::EINVAL;
        assert_eq!(
            errno(c.create(root, bad, libc::O_RDWR, 0o644)),
            want,
            "{bad:?}"
        );
        assert_eq!(errno(c.mkdir(root, bad, 0o755)), want, "{bad:?}");
        assert_eq!(errno(c.symlink(root, bad, b"x")), want, "{bad:?}");
        assert_eq!(errno(c.link(file, root, bad)), want, "{bad:?}");
        assert_eq!(errno(c.mknod(root, bad, libc::S_IFIFO, 0)), want, "{bad:?}");
        assert_eq!(errno(c.unlink(root, bad, 0)), want, "{bad:?}");
        assert_eq!(errno(c.rename(root, bad, root, b"ok", 0)), want, "{bad:?}");
        assert_eq!(
            errno(c.rename(root, b"file", root, bad, 0)),
            want,
            "{bad:?}"
        );
    }
    assert_eq!(fs::read(s.root().join("file")).expect("read"), b"data");
    s.outside_untouched();
}

#[test]
fn a_symlink_at_the_last_component_is_never_followed() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    // Making a name that is a symlink: EEXIST, nothing made at its target.
    assert_eq!(
        errno(c.create(root, b"leak", libc::O_RDWR, 0o644)),
        libc::EEXIST
    );
    assert_eq!(errno(c.mkdir(root, b"out", 0o755)), libc::EEXIST);
    assert_eq!(
        errno(c.mknod(root, b"out", libc::S_IFIFO | 0o644, 0)),
        libc::EEXIST
    );
    assert_eq!(errno(c.symlink(root, b"out", b"x")), libc::EEXIST);
    // A symlink to a directory is no directory to make things in.
    let (out, _) = c.walk(root, b"out").expect("walk out");
    assert_eq!(
        errno(c.create(out, b"x", libc::O_RDWR, 0o644)),
        libc::ENOTDIR
    );
    assert_eq!(errno(c.mkdir(out, b"x", 0o755)), libc::ENOTDIR);
    assert_eq!(errno(c.unlink(out, b"secret", 0)), libc::ENOTDIR);
    assert_eq!(
        errno(c.rename(out, b"secret", root, b"got", 0)),
        libc::ENOTDIR
    );
    assert_eq!(
        errno(c.rename(root, b"file", out, b"planted", 0)),
        libc::ENOTDIR
    );
    // Attribute changes act on the link itself.
    let (leak, _) = c.walk(root, b"leak").expect("walk leak");
    assert_eq!(errno(c.open(leak, libc::O_WRONLY)), libc::ELOOP);
    let truncate = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(leak, truncate)), libc::EINVAL);
    let chmod = SetAttr {
        mode: Some(0o600),
        ..SetAttr::default()
    };
    // Linux cannot chmod a symlink (EOPNOTSUPP); the target is untouched.
    assert_eq!(errno(c.setattr(leak, chmod)), libc::EOPNOTSUPP);
    let times = SetAttr {
        mtime: Some((12345, 0)),
        ..SetAttr::default()
    };
    let attr = c.setattr(leak, times).expect("utimes of the link");
    assert_eq!(attr.mtime_sec, 12345);
    assert_ne!(
        fs::metadata(s.base.join("outside/secret"))
            .expect("md")
            .mtime(),
        12345
    );
    // A hard link to a symlink links the symlink, never its target.
    c.link(leak, root, b"leak2").expect("link");
    assert!(fs::symlink_metadata(s.root().join("leak2"))
        .expect("md")
        .file_type()
        .is_symlink());
    // Renaming and unlinking a symlink move and remove the link only.
    c.rename(root, b"out", root, b"out2", 0)
        .expect("rename link");
    c.unlink(root, b"out2", 0).expect("unlink link");
    c.unlink(root, b"leak", 0).expect("unlink link");
    assert!(
        !s.root().join("out2").exists() && fs::symlink_metadata(s.root().join("out2")).is_err()
    );
    s.outside_untouched();
}

#[test]
fn mkdir_symlink_fifo_link_unlink_and_rmdir() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    c.mkdir(root, b"d", 0o751).expect("mkdir");
    let md = fs::metadata(s.root().join("d")).expect("md");
    assert!(md.is_dir());
    assert_eq!(md.permissions().mode() & 0o7777, 0o751);
    let (d, _) = c.walk(root, b"d").expect("walk d");
    c.symlink(d, b"l", b"../../anywhere").expect("symlink");
    assert_eq!(
        fs::read_link(s.root().join("d/l")).expect("readlink"),
        PathBuf::from("../../anywhere")
    );
    assert_eq!(errno(c.symlink(d, b"empty", b"")), libc::ENOENT);
    c.mknod(d, b"p", libc::S_IFIFO | 0o600, 0).expect("mkfifo");
    assert!(fs::metadata(s.root().join("d/p"))
        .expect("md")
        .file_type()
        .is_fifo());
    for (mode, rdev) in [
        (libc::S_IFCHR | 0o600, libc::makedev(1, 3)),
        (libc::S_IFBLK | 0o600, libc::makedev(8, 0)),
        (libc::S_IFREG | 0o600, 0),
        (libc::S_IFSOCK | 0o600, 0),
        (libc::S_IFIFO | 0o600, 5),
    ] {
        assert_eq!(
            errno(c.mknod(d, b"dev", mode, rdev)),
            libc::EPERM,
            "{mode:#o}"
        );
    }
    let (file, _) = c.walk(root, b"file").expect("walk file");
    c.link(file, d, b"hard").expect("link");
    assert_eq!(fs::metadata(s.root().join("file")).expect("md").nlink(), 2);
    assert_eq!(errno(c.link(d, root, b"dirlink")), libc::EPERM);
    assert_eq!(
        errno(c.unlink(root, b"d", libc::AT_REMOVEDIR)),
        libc::ENOTEMPTY
    );
    assert_eq!(errno(c.unlink(root, b"d", 0)), libc::EISDIR);
    assert_eq!(errno(c.unlink(d, b"hard", 0x4000)), libc::EINVAL);
    for name in [&b"l"[..], b"p", b"hard"] {
        c.unlink(d, name, 0).expect("unlink");
    }
    c.unlink(root, b"d", libc::AT_REMOVEDIR).expect("rmdir");
    assert!(!s.root().join("d").exists());
}

#[test]
fn rename_with_noreplace_exchange_and_unknown_flags() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    let (sub, _) = c.walk(root, b"sub").expect("walk sub");
    fs::write(s.root().join("sub/other"), b"other").expect("write");
    assert_eq!(
        errno(c.rename(root, b"file", sub, b"other", libc::RENAME_NOREPLACE)),
        libc::EEXIST
    );
    c.rename(root, b"file", sub, b"other", libc::RENAME_EXCHANGE)
        .expect("exchange");
    assert_eq!(fs::read(s.root().join("file")).expect("read"), b"other");
    assert_eq!(fs::read(s.root().join("sub/other")).expect("read"), b"data");
    assert_eq!(
        errno(c.rename(root, b"file", sub, b"x", libc::RENAME_WHITEOUT)),
        libc::EINVAL
    );
    c.rename(sub, b"other", root, b"moved", 0).expect("rename");
    assert_eq!(fs::read(s.root().join("moved")).expect("read"), b"data");
}

#[test]
fn setattr_changes_mode_size_and_times_and_returns_the_new_attributes() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    let (file, _) = c.walk(root, b"file").expect("walk");
    let attr = c
        .setattr(
            file,
            SetAttr {
                mode: Some(0o4600),
                size: Some(2),
                atime: Some((100, 1)),
                mtime: Some((200, 2)),
                ..SetAttr::default()
            },
        )
        .expect("setattr");
    assert_eq!(attr.mode & 0o7777, 0o4600);
    assert_eq!(attr.size, 2);
    assert_eq!((attr.atime_sec, attr.atime_nsec), (100, 1));
    assert_eq!((attr.mtime_sec, attr.mtime_nsec), (200, 2));
    let md = fs::metadata(s.root().join("file")).expect("md");
    assert_eq!((md.len(), md.mtime(), md.atime()), (2, 200, 100));
    // Owner "changes" to the current owner always succeed.
    let same = SetAttr {
        uid: Some(md.uid()),
        gid: Some(md.gid()),
        ..SetAttr::default()
    };
    c.setattr(file, same).expect("chown to self");
    let (sub, _) = c.walk(root, b"sub").expect("walk sub");
    let truncate = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(sub, truncate)), libc::EISDIR);
}

#[test]
fn a_renamed_away_file_is_not_truncated_through_its_old_name() {
    let s = Scratch::new();
    let (c, _raw, root) = start(&s.root(), Access::ReadWrite);
    let (file, _) = c.walk(root, b"file").expect("walk");
    // Another node now has the walked name: the fid's reopen is ESTALE.
    fs::rename(s.root().join("file"), s.root().join("kept")).expect("rename");
    fs::write(s.root().join("file"), b"impostor").expect("write");
    let truncate = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert_eq!(errno(c.setattr(file, truncate)), libc::ESTALE);
    assert_eq!(
        errno(c.open(file, libc::O_WRONLY | libc::O_TRUNC)),
        libc::ESTALE
    );
    assert_eq!(fs::read(s.root().join("file")).expect("read"), b"impostor");
    assert_eq!(fs::read(s.root().join("kept")).expect("read"), b"data");
}

#[test]
fn malformed_change_requests_get_error_replies_and_serving_goes_on() {
    let s = Scratch::new();
    let (c, raw, root) = start(&s.root(), Access::ReadWrite);
    let mut msg = Vec::new();
    let reqs = [
        Request::Mkdir {
            dir: root,
            name: b"m",
            mode: 0o755,
        },
        Request::Rename {
            old_dir: root,
            old_name: b"file",
            new_dir: root,
            new_name: b"r",
            flags: 0,
        },
        Request::Setattr {
            fid: root,
            attr: SetAttr::default(),
        },
    ];
    let mut buf = vec![0u8; MAX_MESSAGE];
    for req in &reqs {
        encode_request(3, req, &mut msg).expect("encode");
        // Every truncation of the payload, with a consistent header.
        for cut in 12..msg.len() {
            let mut short = msg[..cut].to_vec();
            short[8..12].copy_from_slice(&((cut - 12) as u32).to_le_bytes());
            raw.send(&short).expect("send");
            let n = raw.recv(&mut buf).expect("recv");
            let (_, reply) = decode_reply(&buf[..n]).expect("decode");
            assert_eq!(
                reply,
                Reply::Error {
                    errno: libc::EPROTO
                },
                "{req:?} cut at {cut}"
            );
        }
    }
    // A Setattr with a set bit beyond the known ones.
    encode_request(4, &reqs[2], &mut msg).expect("encode");
    msg[16] = 0x80;
    raw.send(&msg).expect("send");
    let n = raw.recv(&mut buf).expect("recv");
    assert_eq!(
        decode_reply(&buf[..n]).expect("decode").1,
        Reply::Error {
            errno: libc::EPROTO
        }
    );
    // Unknown fids.
    assert_eq!(errno(c.mkdir(9999, b"x", 0o755)), libc::EBADF);
    assert_eq!(errno(c.rename(root, b"file", 9999, b"x", 0)), libc::EBADF);
    // Still serving.
    c.mkdir(root, b"still", 0o755).expect("mkdir after garbage");
    assert!(s.root().join("still").is_dir());
    assert!(!s.root().join("m").exists() && !s.root().join("r").exists());
}
