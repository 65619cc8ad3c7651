//! The VFS over a real read-write gofer: `gofer::serve_as(ReadWrite)` on a
//! thread over a temporary tree mounted as "/" with no overlay; every
//! change must land in the host tree, and the sentry must see it.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crate::errno::Errno;
use crate::mm::{MemoryFile, Segments, PAGE_SIZE};
use crate::vfs::file::FileDescription;
use crate::vfs::inode::SetAttr;
use crate::vfs::{open, walk, Ctx, Dentry, Vfs};

struct Tree {
    path: PathBuf,
    mf: Arc<MemoryFile>,
    vfs: Vfs,
}

impl Tree {
    /// ```text
    /// etc/passwd          "root:x:0:0\n"
    /// out -> /tmp         (a symlink a change must never follow)
    /// ```
    fn new() -> Tree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "sentry-rw-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(path.join("etc")).expect("mkdir");
        fs::write(path.join("etc/passwd"), b"root:x:0:0\n").expect("write");
        std::os::unix::fs::symlink("/tmp", path.join("out")).expect("symlink");
        let (server, client) = gofer::socketpair().expect("socketpair");
        let root = gofer::open_root(&path).expect("open root");
        thread::spawn(move || gofer::serve_as(root, server, gofer::Access::ReadWrite));
        let mf = Arc::new(MemoryFile::new().expect("memfile"));
        let client = gofer::Client::new(client).expect("handshake");
        let vfs = Vfs::new_writable(client, Arc::clone(&mf)).expect("vfs");
        Tree { path, mf, vfs }
    }

    fn root(&self) -> Arc<Dentry> {
        Arc::clone(self.vfs.root())
    }

    fn lookup(&self, path: &str) -> Result<Arc<Dentry>, Errno> {
        let root = self.root();
        walk::lookup(&Ctx::kernel(), &root, &root, path.as_bytes(), false)
    }

    fn open(&self, path: &str, flags: i32) -> Result<Arc<dyn FileDescription>, Errno> {
        let root = self.root();
        open::open_mode(&Ctx::kernel(), &root, &root, path.as_bytes(), flags, 0o640)
    }

    fn write(&self, file: &dyn FileDescription, data: &[u8], at: Option<u64>) -> usize {
        let len = (data.len() as u64)
            .next_multiple_of(PAGE_SIZE)
            .max(PAGE_SIZE);
        let off = self.mf.allocate(len).expect("allocate");
        self.mf.write(off, data);
        let segs = Segments::new(Arc::clone(&self.mf), vec![(off, data.len())]);
        file.write(&segs, at).expect("write")
    }

    fn host(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[test]
fn the_root_is_writable_and_names_are_not_cached() {
    let tree = Tree::new();
    assert!(!tree.root().read_only());
    assert!(!tree.root().inode().cache_children());
}

#[test]
fn a_created_file_is_written_through_to_the_host() {
    let tree = Tree::new();
    let f = tree
        .open("/etc/new", libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)
        .expect("create");
    assert_eq!(tree.write(&*f, b"hello", None), 5);
    assert_eq!(tree.write(&*f, b"!", None), 1);
    assert_eq!(fs::read(tree.host("etc/new")).expect("read"), b"hello!");
    let md = fs::metadata(tree.host("etc/new")).expect("stat");
    assert_eq!(
        md.mode() & 0o7777,
        0o640,
        "the sentry's mode, no host umask"
    );
    let st = tree
        .lookup("/etc/new")
        .expect("lookup")
        .stat(&Ctx::kernel());
    assert_eq!(st.expect("stat").size, 6);
    assert_eq!(
        tree.open("/etc/new", libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL)
            .err(),
        Some(Errno::EEXIST)
    );
}

#[test]
fn append_writes_at_the_end_and_trunc_empties() {
    let tree = Tree::new();
    let f = tree
        .open("/etc/passwd", libc::O_WRONLY | libc::O_APPEND)
        .expect("open");
    tree.write(&*f, b"a\n", None);
    tree.write(&*f, b"b\n", Some(0));
    assert_eq!(
        fs::read(tree.host("etc/passwd")).expect("read"),
        b"root:x:0:0\na\nb\n"
    );
    tree.open("/etc/passwd", libc::O_WRONLY | libc::O_TRUNC)
        .expect("truncate");
    assert_eq!(fs::read(tree.host("etc/passwd")).expect("read").len(), 0);
    let st = tree
        .lookup("/etc/passwd")
        .expect("lookup")
        .stat(&Ctx::kernel());
    assert_eq!(st.expect("stat").size, 0);
}

#[test]
fn a_file_open_read_only_is_not_written() {
    let tree = Tree::new();
    let f = tree.open("/etc/passwd", libc::O_RDONLY).expect("open");
    let len = PAGE_SIZE;
    let off = tree.mf.allocate(len).expect("allocate");
    let segs = Segments::new(Arc::clone(&tree.mf), vec![(off, 1)]);
    assert_eq!(f.write(&segs, None).err(), Some(Errno::EBADF));
}

#[test]
fn directory_changes_reach_the_host() {
    let tree = Tree::new();
    let ctx = Ctx::kernel();
    let root = tree.root();
    let dir = root.inode();
    dir.mkdir(&ctx, b"d", 0o700).expect("mkdir");
    assert!(tree.host("d").is_dir());
    let d = tree.lookup("/d").expect("lookup d");
    d.inode()
        .symlink(&ctx, b"l", b"../etc/passwd")
        .expect("symlink");
    assert_eq!(
        fs::read_link(tree.host("d/l")).expect("readlink"),
        PathBuf::from("../etc/passwd")
    );
    let passwd = tree.lookup("/etc/passwd").expect("lookup passwd");
    d.inode().link(&ctx, b"hard", passwd.inode()).expect("link");
    assert_eq!(
        fs::metadata(tree.host("etc/passwd")).expect("md").nlink(),
        2
    );
    d.inode()
        .mknod(&ctx, b"fifo", libc::S_IFIFO | 0o600, 0)
        .expect("mkfifo");
    assert_eq!(
        d.inode()
            .mknod(&ctx, b"null", libc::S_IFCHR | 0o600, libc::makedev(1, 3)),
        Err(Errno::EPERM)
    );
    let etc = tree.lookup("/etc").expect("lookup etc");
    etc.inode()
        .rename(&ctx, b"passwd", d.inode(), b"moved", 0)
        .expect("rename");
    assert!(tree.host("d/moved").is_file());
    assert_eq!(tree.lookup("/etc/passwd").err(), Some(Errno::ENOENT));
    d.inode().unlink(&ctx, b"hard").expect("unlink");
    d.inode().unlink(&ctx, b"fifo").expect("unlink fifo");
    assert_eq!(dir.rmdir(&ctx, b"d"), Err(Errno::ENOTEMPTY));
    d.inode().unlink(&ctx, b"l").expect("unlink link");
    d.inode().unlink(&ctx, b"moved").expect("unlink moved");
    dir.rmdir(&ctx, b"d").expect("rmdir");
    assert!(!tree.host("d").exists());
}

#[test]
fn setattr_changes_the_host_node_and_the_cached_attributes() {
    let tree = Tree::new();
    let ctx = Ctx::kernel();
    let passwd = tree.lookup("/etc/passwd").expect("lookup");
    passwd
        .inode()
        .setattr(
            &ctx,
            &SetAttr {
                mode: Some(0o600),
                size: Some(4),
                mtime: Some((1_000_000, 5)),
                ..SetAttr::default()
            },
        )
        .expect("setattr");
    let md = fs::metadata(tree.host("etc/passwd")).expect("md");
    assert_eq!(md.permissions().mode() & 0o7777, 0o600);
    assert_eq!(md.len(), 4);
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_000_000, 5));
    let st = passwd.stat(&ctx).expect("stat");
    assert_eq!(
        (st.mode & 0o7777, st.size, st.mtime),
        (0o600, 4, (1_000_000, 5))
    );
}

#[test]
fn changes_through_a_symlink_name_never_reach_its_target() {
    let tree = Tree::new();
    let ctx = Ctx::kernel();
    let root = tree.root();
    // "out" is a symlink to /tmp: making a name over it is EEXIST, and
    // unlinking it removes the link only.
    assert_eq!(root.inode().mkdir(&ctx, b"out", 0o755), Err(Errno::EEXIST));
    assert_eq!(
        root.inode()
            .create(&ctx, b"out", libc::S_IFREG | 0o644)
            .err(),
        Some(Errno::EEXIST)
    );
    let out = tree.lookup("/out").expect("lookup");
    assert_eq!(
        out.inode().create(&ctx, b"x", libc::S_IFREG | 0o644).err(),
        Some(Errno::ENOTDIR)
    );
    root.inode().unlink(&ctx, b"out").expect("unlink");
    assert!(fs::symlink_metadata(tree.host("out")).is_err());
    assert!(std::path::Path::new("/tmp").is_dir());
}

#[test]
fn appends_from_two_descriptions_interleave_and_setfl_turns_append_off() {
    let tree = Tree::new();
    let flags = libc::O_WRONLY | libc::O_APPEND;
    let one = tree.open("/etc/passwd", flags).expect("open one");
    let two = tree.open("/etc/passwd", flags).expect("open two");
    tree.write(&*one, b"1", None);
    tree.write(&*two, b"2", None);
    tree.write(&*one, b"3", Some(0));
    assert_eq!(
        fs::read(tree.host("etc/passwd")).expect("read"),
        b"root:x:0:0\n123"
    );
    // Without O_APPEND the description writes at its own position, which
    // its last write(2) left at the end of what it appended (a pwrite's
    // append moves no position).
    one.set_flags(0);
    assert_eq!(one.seek(0, libc::SEEK_CUR).expect("tell"), 12);
    one.seek(0, libc::SEEK_SET).expect("rewind");
    tree.write(&*one, b"R", None);
    assert_eq!(
        fs::read(tree.host("etc/passwd")).expect("read"),
        b"Root:x:0:0\n123"
    );
}
