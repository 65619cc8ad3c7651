//! End-to-end tests: a real `serve` on a thread, a real `Client`, real files
//! in a temporary tree, connected by a `SOCK_SEQPACKET` socketpair.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{symlink, MetadataExt};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use gofer::protocol::{decode_reply, encode_request, Reply, Request, MAX_MESSAGE};
use gofer::{Attr, Client, ClientError, ServeError, PROTOCOL_VERSION};

/// A directory under the system temp dir, removed on drop.
struct TempTree {
    path: PathBuf,
}

impl TempTree {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "gofer-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        TempTree { path }
    }

    /// The standard fixture:
    /// ```text
    /// file.txt            "hello gofer\n"
    /// sub/inner.txt       "inner\n"
    /// escape -> ../../etc/passwd
    /// inside -> sub/inner.txt
    /// ```
    fn fixture() -> Self {
        let t = TempTree::new();
        fs::write(t.path.join("file.txt"), b"hello gofer\n").expect("write file");
        fs::create_dir(t.path.join("sub")).expect("mkdir sub");
        fs::write(t.path.join("sub/inner.txt"), b"inner\n").expect("write inner");
        symlink("../../etc/passwd", t.path.join("escape")).expect("symlink escape");
        symlink("sub/inner.txt", t.path.join("inside")).expect("symlink inside");
        t
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A gofer serving `root` on a thread, a client, and a raw handle on the
/// client's socket for sending hand-made messages.
struct Harness {
    client: Client,
    raw: UnixDatagram,
    server: JoinHandle<Result<(), ServeError>>,
}

impl Harness {
    fn start(root: &Path) -> Self {
        let (server_end, client_end) = gofer::socketpair().expect("socketpair");
        let root = gofer::open_root(root).expect("open root");
        let server = thread::spawn(move || gofer::serve(root, server_end));
        // A SOCK_SEQPACKET socket speaks send/recv like a connected datagram socket.
        let raw = UnixDatagram::from(client_end.try_clone().expect("dup"));
        let client = Client::new(client_end).expect("handshake");
        Harness {
            client,
            raw,
            server,
        }
    }

    /// Closes the client side and waits for the server to stop.
    fn shutdown(self) -> Result<(), ServeError> {
        drop(self.client);
        drop(self.raw);
        self.server.join().expect("server thread panicked")
    }

    /// Sends raw bytes as one message and decodes the one reply.
    fn raw_exchange(&self, msg: &[u8]) -> (u32, Reply) {
        self.raw.send(msg).expect("raw send");
        let mut buf = vec![0u8; MAX_MESSAGE];
        let n = self.raw.recv(&mut buf).expect("raw recv");
        decode_reply(&buf[..n]).expect("reply decodes")
    }

    fn walk_path(&self, path: &[&str]) -> Result<(u32, Attr), ClientError> {
        let (mut fid, mut attr) = self.client.attach()?;
        for name in path {
            (fid, attr) = self.client.walk(fid, name.as_bytes())?;
        }
        Ok((fid, attr))
    }
}

fn errno<T: std::fmt::Debug>(result: Result<T, ClientError>) -> i32 {
    match result {
        Err(ClientError::Errno(e)) => e,
        other => panic!("expected an errno reply, got {other:?}"),
    }
}

fn assert_attr_matches(attr: &Attr, path: &Path) {
    let md = fs::symlink_metadata(path).expect("symlink_metadata");
    assert_eq!(attr.dev, md.dev(), "dev of {path:?}");
    assert_eq!(attr.ino, md.ino(), "ino of {path:?}");
    assert_eq!(attr.mode, md.mode(), "mode of {path:?}");
    assert_eq!(attr.nlink, md.nlink(), "nlink of {path:?}");
    assert_eq!(attr.uid, md.uid(), "uid of {path:?}");
    assert_eq!(attr.gid, md.gid(), "gid of {path:?}");
    assert_eq!(attr.rdev, md.rdev(), "rdev of {path:?}");
    assert_eq!(attr.size, md.size() as i64, "size of {path:?}");
    assert_eq!(attr.blksize, md.blksize() as i64, "blksize of {path:?}");
    assert_eq!(attr.blocks, md.blocks() as i64, "blocks of {path:?}");
    assert_eq!(
        (attr.mtime_sec, attr.mtime_nsec),
        (md.mtime(), md.mtime_nsec())
    );
    assert_eq!(
        (attr.ctime_sec, attr.ctime_nsec),
        (md.ctime(), md.ctime_nsec())
    );
}

fn names(entries: &[gofer::Dirent]) -> BTreeSet<Vec<u8>> {
    entries.iter().map(|e| e.name.clone()).collect()
}

#[test]
fn attach_walk_and_getattr_match_symlink_metadata() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (root, root_attr) = h.client.attach().expect("attach");
    assert_attr_matches(&root_attr, &tree.path);
    for name in ["file.txt", "sub", "escape", "inside"] {
        let (fid, attr) = h.client.walk(root, name.as_bytes()).expect("walk");
        assert_attr_matches(&attr, &tree.path.join(name));
        let again = h.client.getattr(fid).expect("getattr");
        assert_attr_matches(&again, &tree.path.join(name));
    }
    let (_, inner) = h
        .walk_path(&["sub", "inner.txt"])
        .expect("walk sub/inner.txt");
    assert_attr_matches(&inner, &tree.path.join("sub/inner.txt"));

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn statfs_gives_the_host_file_systems_counts() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);
    let out = Command::new("stat")
        .args(["-f", "-c", "%S %b %c"])
        .arg(&tree.path)
        .output()
        .expect("run stat -f");

    let (fid, _) = h.walk_path(&["sub"]).expect("walk sub");
    let s = h.client.statfs(fid).expect("statfs");

    let host = String::from_utf8_lossy(&out.stdout);
    assert_eq!(format!("{} {} {}\n", s.bsize, s.blocks, s.files), host);
    assert!(s.bavail <= s.bfree && s.bfree <= s.blocks && s.ffree <= s.files);
    h.shutdown().expect("server exits cleanly");
}

#[test]
fn walked_symlink_is_the_link_itself() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (_, attr) = h.walk_path(&["escape"]).expect("walk escape");
    assert_eq!(attr.mode & libc::S_IFMT, libc::S_IFLNK);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_returns_a_cloexec_fd_with_the_file_contents() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    let fd = h.client.open(fid, libc::O_RDONLY).expect("open");
    let fdinfo =
        fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).expect("read fdinfo");
    let flags = fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| i32::from_str_radix(f.trim(), 8).ok())
        .expect("flags line");
    assert_ne!(flags & libc::O_CLOEXEC, 0, "fd is not close-on-exec");
    assert_eq!(flags & libc::O_NONBLOCK, 0, "O_NONBLOCK leaked into the fd");
    let mut contents = String::new();
    fs::File::from(fd)
        .read_to_string(&mut contents)
        .expect("read");
    assert_eq!(contents, "hello gofer\n");

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_directory_gives_a_readable_directory_fd() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (root, _) = h.client.attach().expect("attach");
    let fd = h
        .client
        .open(root, libc::O_RDONLY | libc::O_DIRECTORY)
        .expect("open root");
    let md = fs::File::from(fd).metadata().expect("fstat");
    assert!(md.is_dir());
    assert_eq!(md.ino(), fs::metadata(&tree.path).expect("stat").ino());

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_file_with_o_directory_is_enotdir() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    assert_eq!(
        errno(h.client.open(fid, libc::O_RDONLY | libc::O_DIRECTORY)),
        libc::ENOTDIR
    );

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_for_write_is_erofs() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    for flags in [
        libc::O_WRONLY,
        libc::O_RDWR,
        libc::O_RDONLY | libc::O_TRUNC,
        libc::O_RDONLY | libc::O_CREAT,
    ] {
        assert_eq!(errno(h.client.open(fid, flags)), libc::EROFS, "{flags:#o}");
    }
    assert_eq!(
        fs::read(tree.path.join("file.txt")).expect("read"),
        b"hello gofer\n"
    );

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_symlink_is_eloop() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    for link in ["escape", "inside"] {
        let (fid, _) = h.walk_path(&[link]).expect("walk");
        assert_eq!(errno(h.client.open(fid, libc::O_RDONLY)), libc::ELOOP);
    }

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_fifo_is_eperm_and_does_not_block() {
    let tree = TempTree::new();
    let status = Command::new("mkfifo")
        .arg(tree.path.join("fifo"))
        .status()
        .expect("run mkfifo");
    assert!(status.success());
    let h = Harness::start(&tree.path);

    let (fid, attr) = h.walk_path(&["fifo"]).expect("walk");
    assert_eq!(attr.mode & libc::S_IFMT, libc::S_IFIFO);
    assert_eq!(errno(h.client.open(fid, libc::O_RDONLY)), libc::EPERM);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_socket_is_enxio() {
    let tree = TempTree::new();
    let _listener = UnixListener::bind(tree.path.join("sock")).expect("bind");
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["sock"]).expect("walk");
    assert_eq!(errno(h.client.open(fid, libc::O_RDONLY)), libc::ENXIO);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn open_after_the_name_is_replaced_is_estale() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    fs::write(tree.path.join("new.txt"), b"other").expect("write");
    fs::rename(tree.path.join("new.txt"), tree.path.join("file.txt")).expect("rename");
    assert_eq!(errno(h.client.open(fid, libc::O_RDONLY)), libc::ESTALE);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn child_outlives_its_clunked_parent() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (sub, _) = h.walk_path(&["sub"]).expect("walk sub");
    let (inner, _) = h.client.walk(sub, b"inner.txt").expect("walk inner");
    h.client.clunk(sub).expect("clunk sub");
    let mut contents = String::new();
    fs::File::from(h.client.open(inner, libc::O_RDONLY).expect("open"))
        .read_to_string(&mut contents)
        .expect("read");
    assert_eq!(contents, "inner\n");

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn readdir_lists_every_name_including_dot_and_dotdot() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (root, _) = h.client.attach().expect("attach");
    let entries = h.client.readdir(root).expect("readdir");
    let expected: BTreeSet<Vec<u8>> = [".", "..", "file.txt", "sub", "escape", "inside"]
        .iter()
        .map(|n| n.as_bytes().to_vec())
        .collect();
    assert_eq!(names(&entries), expected);
    assert_eq!(entries.len(), expected.len());
    let file = entries
        .iter()
        .find(|e| e.name == b"file.txt")
        .expect("file.txt listed");
    assert_eq!(
        file.ino,
        fs::metadata(tree.path.join("file.txt"))
            .expect("stat")
            .ino()
    );
    assert_eq!(file.kind, libc::DT_REG);
    let link = entries
        .iter()
        .find(|e| e.name == b"escape")
        .expect("escape listed");
    assert_eq!(link.kind, libc::DT_LNK);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn readdir_twice_starts_over() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (root, _) = h.client.attach().expect("attach");
    let first = h.client.readdir(root).expect("readdir");
    let second = h.client.readdir(root).expect("readdir again");
    assert_eq!(first, second);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn readdir_pages_through_5000_entries() {
    let tree = TempTree::new();
    let dir = tree.path.join("big");
    fs::create_dir(&dir).expect("mkdir");
    let mut expected: BTreeSet<Vec<u8>> = BTreeSet::new();
    for i in 0..5000 {
        let name = format!("entry-with-a-longish-name-{i:05}");
        fs::write(dir.join(&name), b"").expect("create entry");
        expected.insert(name.into_bytes());
    }
    expected.insert(b".".to_vec());
    expected.insert(b"..".to_vec());
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["big"]).expect("walk");
    let entries = h.client.readdir(fid).expect("readdir");
    assert_eq!(entries.len(), 5002, "an entry is missing or repeated");
    assert_eq!(names(&entries), expected);

    h.shutdown().expect("server exits cleanly");
}

/// Pages can be asked for out of order (two sentry threads reading one
/// directory): any cookie the server handed out resumes at the same place.
#[test]
fn readdir_resumes_from_an_earlier_cookie() {
    let tree = TempTree::new();
    let dir = tree.path.join("big");
    fs::create_dir(&dir).expect("mkdir");
    for i in 0..3000 {
        fs::write(dir.join(format!("entry-with-a-longish-name-{i:05}")), b"").expect("create");
    }
    let h = Harness::start(&tree.path);
    let (fid, _) = h.walk_path(&["big"]).expect("walk");
    let page = |cookie| {
        let mut msg = Vec::new();
        encode_request(9, &Request::Readdir { fid, cookie }, &mut msg).expect("encode");
        match h.raw_exchange(&msg) {
            (
                9,
                Reply::Readdir {
                    cookie,
                    eof,
                    entries,
                },
            ) => (cookie, eof, entries),
            other => panic!("unexpected reply {other:?}"),
        }
    };

    let (c1, eof1, _) = page(0);
    assert!(!eof1, "3000 entries fit one page");
    let (c2, _, second) = page(c1);
    let (_, _, third) = page(c2);
    assert_eq!(page(c1).2, second, "resuming at the first cookie again");
    assert_eq!(page(c2).2, third, "resuming at the second cookie again");

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn readdir_of_a_file_is_enotdir() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    assert_eq!(errno(h.client.readdir(fid)), libc::ENOTDIR);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn readlink_returns_the_raw_targets() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (escape, _) = h.walk_path(&["escape"]).expect("walk escape");
    assert_eq!(
        h.client.readlink(escape).expect("readlink"),
        b"../../etc/passwd"
    );
    let (inside, _) = h.walk_path(&["inside"]).expect("walk inside");
    assert_eq!(
        h.client.readlink(inside).expect("readlink"),
        b"sub/inner.txt"
    );

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn readlink_of_a_regular_file_is_einval() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    assert_eq!(errno(h.client.readlink(fid)), libc::EINVAL);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn walking_through_a_symlink_is_enotdir() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (escape, _) = h.walk_path(&["escape"]).expect("walk escape");
    assert_eq!(errno(h.client.walk(escape, b"passwd")), libc::ENOTDIR);
    let (inside, _) = h.walk_path(&["inside"]).expect("walk inside");
    assert_eq!(errno(h.client.walk(inside, b"inner.txt")), libc::ENOTDIR);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn walking_from_a_file_is_enotdir() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    assert_eq!(errno(h.client.walk(fid, b"x")), libc::ENOTDIR);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn walk_of_a_missing_name_is_enoent() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (root, _) = h.client.attach().expect("attach");
    assert_eq!(errno(h.client.walk(root, b"nope")), libc::ENOENT);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn walk_of_anything_but_one_component_is_einval() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (root, _) = h.client.attach().expect("attach");
    for name in [&b".."[..], b".", b"sub/inner.txt", b"", b"/etc", b"a\0b"] {
        assert_eq!(
            errno(h.client.walk(root, name)),
            libc::EINVAL,
            "{:?}",
            String::from_utf8_lossy(name)
        );
    }
    assert_eq!(errno(h.client.walk(root, &[b'x'; 256])), libc::ENAMETOOLONG);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn unknown_fid_is_ebadf() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let bad = 0xdead_beef;
    assert_eq!(errno(h.client.getattr(bad)), libc::EBADF);
    assert_eq!(errno(h.client.walk(bad, b"file.txt")), libc::EBADF);
    assert_eq!(errno(h.client.open(bad, libc::O_RDONLY)), libc::EBADF);
    assert_eq!(errno(h.client.readdir(bad)), libc::EBADF);
    assert_eq!(errno(h.client.readlink(bad)), libc::EBADF);
    assert_eq!(errno(h.client.clunk(bad)), libc::EBADF);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn clunked_fid_is_ebadf() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (fid, _) = h.walk_path(&["file.txt"]).expect("walk");
    h.client.clunk(fid).expect("clunk");
    assert_eq!(errno(h.client.getattr(fid)), libc::EBADF);
    assert_eq!(errno(h.client.open(fid, libc::O_RDONLY)), libc::EBADF);
    assert_eq!(errno(h.client.clunk(fid)), libc::EBADF);

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn garbage_gets_an_error_reply_and_the_server_keeps_serving() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let garbage: [&[u8]; 4] = [
        b"\xde\xad\xbe\xef garbage that is not a message",
        b"\x47",
        // Valid header, unknown opcode.
        b"\x47\x57\x42\x00\x09\x00\x00\x00\x00\x00\x00\x00",
        // Valid header and opcode (walk), payload length lies.
        b"\x47\x57\x03\x00\x0a\x00\x00\x00\xff\x00\x00\x00\x01",
    ];
    for msg in garbage {
        let (_, reply) = h.raw_exchange(msg);
        assert!(
            matches!(reply, Reply::Error { errno } if errno == libc::EPROTO),
            "{reply:?}"
        );
        let (root, _) = h.client.attach().expect("server still answers");
        h.client.clunk(root).expect("clunk");
    }

    h.shutdown().expect("server exits cleanly");
}

/// Thousands of random requests with random fids, names, flags and
/// cookies, a quarter of them corrupted: each gets exactly one reply, and
/// the server and the tree are sound afterwards.
#[test]
fn random_requests_each_get_one_reply() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);
    for _ in 0..4 {
        h.client.attach().expect("attach");
    }
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };

    let names: [&[u8]; 9] = [
        b"file.txt",
        b"sub",
        b"escape",
        b"inside",
        b"inner.txt",
        b"..",
        b"",
        b"a/b",
        b"nope",
    ];
    let mut msg = Vec::new();
    for i in 0..5000 {
        let fid = (next() % 8) as u32;
        // Never Version, which would undo the handshake.
        let req = match next() % 8 {
            0 => Request::Attach { index: 0 },
            1 | 2 => Request::Walk {
                fid,
                name: names[(next() % names.len() as u64) as usize],
            },
            3 => Request::Getattr { fid },
            4 => Request::Open {
                fid,
                flags: if i % 2 == 0 {
                    next() as i32
                } else {
                    libc::O_RDONLY
                },
            },
            5 => Request::Readdir {
                fid,
                cookie: if i % 2 == 0 { next() } else { 0 },
            },
            6 => Request::Readlink { fid },
            _ => Request::Clunk { fid },
        };
        encode_request(i, &req, &mut msg).expect("encode");
        if i % 4 == 0 {
            // Corrupt one byte anywhere, header included.
            let at = (next() % msg.len() as u64) as usize;
            msg[at] ^= (next() as u8) | 1;
        }
        // Exactly one reply each (an Open's fd is closed by the plain recv).
        let _ = h.raw_exchange(&msg);
    }
    let (root, _) = h.client.attach().expect("server still answers");
    let entries = h.client.readdir(root).expect("readdir");
    assert_eq!(entries.len(), 6);
    assert_eq!(
        fs::read(tree.path.join("file.txt")).expect("read"),
        b"hello gofer\n",
        "the tree is unchanged"
    );

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn an_empty_message_gets_an_error_reply() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let (_, reply) = h.raw_exchange(b"");
    assert!(matches!(reply, Reply::Error { .. }), "{reply:?}");
    h.client.attach().expect("server still answers");

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn an_oversized_message_is_emsgsize_and_the_server_keeps_serving() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);

    let mut msg = Vec::new();
    encode_request(77, &Request::Attach { index: 0 }, &mut msg).expect("encode");
    msg.resize(MAX_MESSAGE + 1, 0);
    let (tag, reply) = h.raw_exchange(&msg);
    assert_eq!(tag, 77);
    assert_eq!(
        reply,
        Reply::Error {
            errno: libc::EMSGSIZE
        }
    );
    h.client.attach().expect("server still answers");

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn requests_before_the_handshake_are_eproto() {
    let tree = TempTree::fixture();
    let (server_end, client_end) = gofer::socketpair().expect("socketpair");
    let root = gofer::open_root(&tree.path).expect("open root");
    let server = thread::spawn(move || gofer::serve(root, server_end));
    let raw = UnixDatagram::from(client_end);
    let exchange = |req: &Request<'_>| {
        let mut msg = Vec::new();
        encode_request(5, req, &mut msg).expect("encode");
        raw.send(&msg).expect("send");
        let mut buf = vec![0u8; MAX_MESSAGE];
        let n = raw.recv(&mut buf).expect("recv");
        decode_reply(&buf[..n]).expect("decode").1
    };

    assert_eq!(
        exchange(&Request::Attach { index: 0 }),
        Reply::Error {
            errno: libc::EPROTO
        }
    );
    assert_eq!(
        exchange(&Request::Version {
            version: PROTOCOL_VERSION
        }),
        Reply::Version {
            version: PROTOCOL_VERSION
        }
    );
    assert!(matches!(
        exchange(&Request::Attach { index: 0 }),
        Reply::Attach { .. }
    ));
    // A later mismatched Version is answered but does not undo the handshake.
    assert_eq!(
        exchange(&Request::Version { version: 99 }),
        Reply::Version {
            version: PROTOCOL_VERSION
        }
    );
    assert!(matches!(
        exchange(&Request::Attach { index: 0 }),
        Reply::Attach { .. }
    ));

    drop(raw);
    server
        .join()
        .expect("server thread panicked")
        .expect("server exits cleanly");
}

#[test]
fn version_mismatch_is_a_clear_client_error() {
    let (fake_server, client_end) = gofer::socketpair().expect("socketpair");
    let fake = thread::spawn(move || {
        let sock = UnixDatagram::from(fake_server);
        let mut buf = vec![0u8; MAX_MESSAGE];
        let n = sock.recv(&mut buf).expect("recv");
        let (tag, req) = gofer::protocol::decode_request(&buf[..n]).expect("decode");
        assert!(matches!(req, Request::Version { .. }));
        let mut out = Vec::new();
        gofer::protocol::encode_reply(
            tag,
            &Reply::Version {
                version: PROTOCOL_VERSION + 1,
            },
            &mut out,
        )
        .expect("encode");
        sock.send(&out).expect("send");
    });

    let err = Client::new(client_end).expect_err("mismatch accepted");
    assert!(
        matches!(&err, ClientError::Protocol(msg) if msg.contains("version")),
        "{err}"
    );
    assert_eq!(err.errno(), libc::EIO);
    fake.join().expect("fake server");
}

#[test]
fn client_reports_eof_when_the_gofer_is_gone() {
    let (server_end, client_end) = gofer::socketpair().expect("socketpair");
    drop(server_end);
    let err = Client::new(client_end).expect_err("handshake with nobody");
    assert!(matches!(err, ClientError::Io(_)), "{err}");
}

#[test]
fn host_procfs_and_sysfs_are_refused() {
    let h = Harness::start(Path::new("/"));

    let (root, _) = h.client.attach().expect("attach");
    if Path::new("/proc/self/stat").exists() {
        assert_eq!(errno(h.client.walk(root, b"proc")), libc::EACCES);
    }
    if Path::new("/sys/kernel").is_dir() {
        assert_eq!(errno(h.client.walk(root, b"sys")), libc::EACCES);
    }

    h.shutdown().expect("server exits cleanly");
}

#[test]
fn one_client_serves_many_threads() {
    let tree = TempTree::fixture();
    let h = Harness::start(&tree.path);
    let client = Arc::new(h.client);

    let workers: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            thread::spawn(move || {
                for _ in 0..50 {
                    let (root, _) = client.attach().expect("attach");
                    let (fid, attr) = client.walk(root, b"file.txt").expect("walk");
                    assert_eq!(attr.size, 12);
                    let fd: OwnedFd = client.open(fid, libc::O_RDONLY).expect("open");
                    drop(fd);
                    client.clunk(fid).expect("clunk");
                    client.clunk(root).expect("clunk");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }

    drop(client);
    drop(h.raw);
    h.server
        .join()
        .expect("server thread panicked")
        .expect("server exits cleanly");
}
