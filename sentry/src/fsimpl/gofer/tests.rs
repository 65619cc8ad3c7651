//! The VFS over a real gofer: `gofer::serve` on a thread over a temporary
//! tree, a real client, and the sentry's walk, open and listing on top.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crate::errno::Errno;
use crate::vfs::file::DirEntry;
use crate::vfs::{open, walk, Ctx, Vfs};

struct Tree {
    path: PathBuf,
}

impl Tree {
    /// ```text
    /// etc/passwd          "root:x:0:0\n"
    /// bin/sh              (0755)
    /// usr -> .            (a loop through "..")
    /// sh -> /bin/sh
    /// rel -> etc/passwd
    /// up -> ../../..
    /// ```
    fn new() -> Tree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "sentry-vfs-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(path.join("etc")).unwrap();
        fs::create_dir_all(path.join("bin")).unwrap();
        fs::write(path.join("etc/passwd"), b"root:x:0:0\n").unwrap();
        fs::write(path.join("bin/sh"), b"\x7fELF").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path.join("bin/sh"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink(".", path.join("usr")).unwrap();
        symlink("/bin/sh", path.join("sh")).unwrap();
        symlink("etc/passwd", path.join("rel")).unwrap();
        symlink("../../..", path.join("up")).unwrap();
        Tree { path }
    }

    fn vfs(&self) -> Vfs {
        let (server, client) = gofer::socketpair().unwrap();
        let root = gofer::open_root(&self.path).unwrap();
        thread::spawn(move || gofer::serve(root, server));
        let memfile = Arc::new(crate::mm::MemoryFile::new().unwrap());
        Vfs::new(gofer::Client::new(client).unwrap(), memfile).unwrap()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn names(entries: &[DirEntry]) -> Vec<String> {
    let mut v: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn reads_a_file_through_the_walk() {
    let tree = Tree::new();
    let vfs = tree.vfs();
    let ctx = Ctx::kernel();
    let root = Arc::clone(vfs.root());
    let f = open::open(&ctx, &root, &root, b"/usr/usr/./etc/../rel", libc::O_RDONLY).unwrap();
    let mut buf = [0u8; 64];
    let n = f.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"root:x:0:0\n");
    assert_eq!(f.path(), "/etc/passwd");
    assert!(f.host_fd().is_some());
    assert_eq!(f.stat().unwrap().size, 11);
}

#[test]
fn symlinks_resolve_inside_the_sandbox_root() {
    let tree = Tree::new();
    let vfs = tree.vfs();
    let ctx = Ctx::kernel();
    let root = Arc::clone(vfs.root());
    let d = walk::lookup(&ctx, &root, &root, b"/up/etc/passwd", true).unwrap();
    assert_eq!(d.path(), b"/etc/passwd");
    let d = walk::lookup(&ctx, &root, &root, b"sh", true).unwrap();
    assert_eq!(d.path(), b"/bin/sh");
}

#[test]
fn writes_land_in_the_overlay_never_in_the_tree() {
    let tree = Tree::new();
    let vfs = tree.vfs();
    let ctx = Ctx::kernel();
    let root = Arc::clone(vfs.root());
    let err = |path: &[u8], flags| open::open(&ctx, &root, &root, path, flags).err();
    assert_eq!(err(b"/etc/passwd", libc::O_WRONLY | libc::O_TRUNC), None);
    assert_eq!(err(b"/etc/new", libc::O_RDWR | libc::O_CREAT), None);
    assert_eq!(
        fs::read(tree.path.join("etc/passwd")).unwrap(),
        b"root:x:0:0\n"
    );
    assert!(!tree.path.join("etc/new").exists());
}

#[test]
fn type_errors() {
    let tree = Tree::new();
    let vfs = tree.vfs();
    let ctx = Ctx::kernel();
    let root = Arc::clone(vfs.root());
    let err = |path: &[u8], flags| open::open(&ctx, &root, &root, path, flags).err();
    assert_eq!(
        err(
            b"/etc/passwd",
            libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL
        ),
        Some(Errno::EEXIST)
    );
    assert_eq!(err(b"/etc/passwd", libc::O_RDONLY | libc::O_CREAT), None);
    assert_eq!(err(b"/etc", libc::O_WRONLY), Some(Errno::EISDIR));
    assert_eq!(
        err(b"/etc/", libc::O_RDONLY | libc::O_CREAT),
        Some(Errno::EISDIR)
    );
    assert_eq!(err(b"/etc/passwd", libc::O_DIRECTORY), Some(Errno::ENOTDIR));
    assert_eq!(err(b"/rel", libc::O_NOFOLLOW), Some(Errno::ELOOP));
    assert_eq!(
        err(b"/nope/x", libc::O_RDONLY | libc::O_CREAT),
        Some(Errno::ENOENT)
    );
    assert_eq!(err(b"/dev/null", libc::O_WRONLY), None);
}

#[test]
fn exec_needs_a_regular_file_with_an_execute_bit() {
    let tree = Tree::new();
    let vfs = tree.vfs();
    let fs = vfs.new_fs_context(b"/etc").unwrap();
    let (file, st, path) = vfs.open_exec(&fs, b"../sh").unwrap();
    assert_eq!(path, "/bin/sh");
    assert!(st.is_regular());
    let mut magic = [0u8; 4];
    assert_eq!(file.read_at(&mut magic, 0).unwrap(), 4);
    assert_eq!(&magic, b"\x7fELF");
    assert_eq!(vfs.open_exec(&fs, b"passwd").err(), Some(Errno::EACCES));
    assert_eq!(vfs.open_exec(&fs, b"/bin").err(), Some(Errno::EACCES));
    assert_eq!(vfs.open_exec(&fs, b"/none").err(), Some(Errno::ENOENT));
    assert!(vfs.new_fs_context(b"/etc/passwd").is_err());
}

#[test]
fn root_listing_shows_the_sentry_mounts() {
    let tree = Tree::new();
    let vfs = tree.vfs();
    let ctx = Ctx::kernel();
    let root = Arc::clone(vfs.root());
    let dir = open::open(&ctx, &root, &root, b"/", libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
    let mut got = Vec::new();
    dir.getdents(&ctx, &mut |e, _| {
        got.push(e.clone());
        true
    })
    .unwrap();
    assert_eq!(
        names(&got),
        [".", "..", "bin", "dev", "etc", "proc", "rel", "sh", "sys", "up", "usr"]
    );
    // Rewinding lists again; a second pass without rewinding is empty.
    let mut again = 0;
    dir.getdents(&ctx, &mut |_, _| {
        again += 1;
        true
    })
    .unwrap();
    assert_eq!(again, 0);
    dir.seek(0, libc::SEEK_SET).unwrap();
    dir.getdents(&ctx, &mut |_, _| {
        again += 1;
        true
    })
    .unwrap();
    assert_eq!(again, got.len());
}

#[test]
fn dotdot_leaves_a_mount_for_its_parent() {
    let tree = Tree::new();
    let vfs = tree.vfs();
    let ctx = Ctx::kernel();
    let root = Arc::clone(vfs.root());
    let d = walk::lookup(&ctx, &root, &root, b"/dev/../etc", true).unwrap();
    assert_eq!(d.path(), b"/etc");
    let null = walk::lookup(&ctx, &root, &root, b"/dev/null", true).unwrap();
    assert_eq!(null.stat(&ctx).unwrap().rdev, libc::makedev(1, 3));
    assert_eq!(
        walk::lookup(&ctx, &root, &root, b"/proc/self", true).err(),
        Some(Errno::ENOENT)
    );
    let rel = walk::lookup(&ctx, &root, &root, b"/proc/sys/kernel/osrelease", true).unwrap();
    let f = open::open(&ctx, &root, &rel, b".", libc::O_RDONLY);
    assert_eq!(f.err(), Some(Errno::ENOTDIR));
}
