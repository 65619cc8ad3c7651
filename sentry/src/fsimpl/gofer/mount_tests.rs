//! A container's tree over a real gofer serving a root and bind-mount
//! sources (`gofer::serve_sources` on a thread over temporary trees):
//! `container_root`, `gofer_mount_inode` and `mount_at` building the tree
//! the way a bundle's `mounts` ask, then the sentry's walk, open, read and
//! write through the mounts.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crate::errno::Errno;
use crate::mm::{MemoryFile, Segments, PAGE_SIZE};
use crate::vfs::file::FileDescription;
use crate::vfs::inode::Inode;
use crate::vfs::mount::{MountFlags, MountState};
use crate::vfs::{
    container_root, gofer_mount_inode, mount_at, open, walk, Ctx, Dentry, Vfs, VfsError,
};

/// Source indices, as the gofer serves them.
const DATA: u32 = 1;
const HOSTS: u32 = 2;
const RO: u32 = 3;

/// ```text
/// <base>/root/etc/passwd      "root:x:0:0\n"
/// <base>/root/abs  -> /elsewhere          (absolute: resolved in the tree)
/// <base>/root/rel  -> ../../../elsewhere  (climbs past the tree's root)
/// <base>/data/inner           "inner"     (source 1, read-write)
/// <base>/hosts                "127.0.0.1 localhost\n" (source 2, a file)
/// <base>/ro/kept              "kept"      (source 3, read-only)
/// ```
struct Scratch {
    base: PathBuf,
    mf: Arc<MemoryFile>,
}

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir().join(format!(
            "sentry-mount-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(base.join("root/etc")).expect("mkdir root");
        fs::create_dir_all(base.join("data")).expect("mkdir data");
        fs::create_dir_all(base.join("ro")).expect("mkdir ro");
        fs::write(base.join("root/etc/passwd"), b"root:x:0:0\n").expect("write");
        fs::write(base.join("data/inner"), b"inner").expect("write");
        fs::write(base.join("hosts"), b"127.0.0.1 localhost\n").expect("write");
        fs::write(base.join("ro/kept"), b"kept").expect("write");
        symlink("/elsewhere", base.join("root/abs")).expect("symlink");
        symlink("../../../elsewhere", base.join("root/rel")).expect("symlink");
        let mf = Arc::new(MemoryFile::new().expect("memfile"));
        Scratch { base, mf }
    }

    fn host(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
    }

    /// A read-write gofer serving the root and the three sources (the
    /// root itself read-only when `root_ro`).
    fn client(&self, root_ro: bool) -> Arc<gofer::Client> {
        let root = gofer::open_root(&self.host("root")).expect("open root");
        let sources = vec![
            gofer::Source::root(root, root_ro),
            gofer::open_source(&self.host("data"), false).expect("data"),
            gofer::open_source(&self.host("hosts"), false).expect("hosts"),
            gofer::open_source(&self.host("ro"), true).expect("ro"),
        ];
        let (server, client) = gofer::socketpair().expect("socketpair");
        thread::spawn(move || gofer::serve_sources(sources, server, gofer::Access::ReadWrite));
        Arc::new(gofer::Client::new(client).expect("handshake"))
    }

    /// The container's tree over a read-write (or read-only) root.
    fn tree(&self, read_only: bool) -> (Arc<gofer::Client>, Arc<Dentry>) {
        let client = self.client(read_only);
        let root =
            container_root(Arc::clone(&client), read_only, Arc::clone(&self.mf)).expect("root");
        (client, root)
    }

    fn write(&self, file: &dyn FileDescription, data: &[u8]) -> usize {
        let len = (data.len() as u64)
            .next_multiple_of(PAGE_SIZE)
            .max(PAGE_SIZE);
        let off = self.mf.allocate(len).expect("allocate");
        self.mf.write(off, data);
        let segs = Segments::new(Arc::clone(&self.mf), vec![(off, data.len())]);
        file.write(&segs, None).expect("write")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn bind(ms: u64) -> MountState {
    MountState {
        flags: MountFlags::from_ms(ms),
        made: None,
    }
}

fn source(client: &Arc<gofer::Client>, index: u32) -> Arc<dyn Inode> {
    gofer_mount_inode(client, index, index == RO).expect("mount inode")
}

fn open_in(root: &Arc<Dentry>, path: &str, flags: i32) -> Result<Arc<dyn FileDescription>, Errno> {
    open::open_mode(&Ctx::kernel(), root, root, path.as_bytes(), flags, 0o644)
}

fn read(root: &Arc<Dentry>, path: &str) -> Vec<u8> {
    let f = open_in(root, path, libc::O_RDONLY).expect("open");
    let mut buf = vec![0u8; 256];
    let n = f.read_at(&mut buf, 0).expect("read");
    buf.truncate(n);
    buf
}

#[test]
fn a_dir_and_a_file_mount_at_nested_missing_paths_are_read_and_written() {
    let s = Scratch::new();
    let (client, root) = s.tree(false);
    let dir = mount_at(&root, b"/srv/app/data", source(&client, DATA), bind(0)).expect("dir");
    assert_eq!(dir.path(), b"/srv/app/data");
    mount_at(&root, b"/etc/net/hosts", source(&client, HOSTS), bind(0)).expect("file");
    // The mount points were made in the root, as runc's mkdir -p would.
    assert!(s.host("root/srv/app/data").is_dir());
    assert!(s.host("root/etc/net/hosts").is_file());
    assert_eq!(read(&root, "/srv/app/data/inner"), b"inner");
    assert_eq!(read(&root, "/etc/net/hosts"), b"127.0.0.1 localhost\n");
    let new = open_in(&root, "/srv/app/data/new", libc::O_WRONLY | libc::O_CREAT)
        .expect("create in the mount");
    assert_eq!(s.write(&*new, b"made"), 4);
    assert_eq!(fs::read(s.host("data/new")).expect("host"), b"made");
    let hosts = open_in(&root, "/etc/net/hosts", libc::O_WRONLY | libc::O_APPEND)
        .expect("open the file mount for writing");
    s.write(&*hosts, b"10.0.0.1 db\n");
    assert_eq!(
        fs::read(s.host("hosts")).expect("host"),
        b"127.0.0.1 localhost\n10.0.0.1 db\n"
    );
    // The source is shown at the mount point, not copied into it.
    assert!(!s.host("root/srv/app/data/inner").exists());
}

#[test]
fn a_read_only_mount_is_erofs() {
    let s = Scratch::new();
    let (client, root) = s.tree(false);
    mount_at(
        &root,
        b"/mnt/ro",
        source(&client, DATA),
        bind(libc::MS_RDONLY),
    )
    .expect("ro bind");
    mount_at(&root, b"/mnt/src-ro", source(&client, RO), bind(0)).expect("ro source");
    for path in ["/mnt/ro/inner", "/mnt/src-ro/kept"] {
        assert_eq!(
            open_in(&root, path, libc::O_WRONLY).err(),
            Some(Errno::EROFS),
            "{path}"
        );
    }
    assert_eq!(
        open_in(&root, "/mnt/ro/new", libc::O_WRONLY | libc::O_CREAT).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(read(&root, "/mnt/src-ro/kept"), b"kept");
    assert!(!s.host("data/new").exists());
}

#[test]
fn a_destination_through_symlinks_pointing_outside_stays_inside_the_tree() {
    let s = Scratch::new();
    let (client, root) = s.tree(false);
    let a = mount_at(&root, b"/abs/a", source(&client, DATA), bind(0)).expect("absolute");
    let b = mount_at(&root, b"/rel/b", source(&client, DATA), bind(0)).expect("relative");
    assert_eq!(a.path(), b"/elsewhere/a");
    assert_eq!(b.path(), b"/elsewhere/b");
    assert!(s.host("root/elsewhere/a").is_dir());
    assert!(s.host("root/elsewhere/b").is_dir());
    assert!(
        !s.host("elsewhere").exists(),
        "nothing made outside the root"
    );
    assert_eq!(read(&root, "/abs/b/inner"), b"inner");
}

#[test]
fn a_file_over_a_dir_and_a_dir_over_a_file_are_refused() {
    let s = Scratch::new();
    let (client, root) = s.tree(false);
    assert_eq!(
        mount_at(&root, b"/etc", source(&client, HOSTS), bind(0)).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        mount_at(&root, b"/etc/passwd", source(&client, DATA), bind(0)).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        mount_at(&root, b"/etc/passwd/x", source(&client, DATA), bind(0)).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        mount_at(&root, b"etc/rel", source(&client, DATA), bind(0)).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        mount_at(&root, b"/", source(&client, DATA), bind(0)).err(),
        Some(Errno::EBUSY)
    );
    assert_eq!(read(&root, "/etc/passwd"), b"root:x:0:0\n");
}

#[test]
fn a_file_mount_over_a_file_shows_the_source() {
    let s = Scratch::new();
    let (client, root) = s.tree(false);
    mount_at(&root, b"/etc/passwd", source(&client, HOSTS), bind(0)).expect("file over file");
    assert_eq!(read(&root, "/etc/passwd"), b"127.0.0.1 localhost\n");
    assert_eq!(
        fs::read(s.host("root/etc/passwd")).expect("host"),
        b"root:x:0:0\n"
    );
}

#[test]
fn a_read_only_root_takes_mounts_at_missing_paths_without_changing() {
    let s = Scratch::new();
    let (client, root) = s.tree(true);
    assert!(root.read_only());
    mount_at(&root, b"/srv/app/data", source(&client, DATA), bind(0)).expect("dir");
    mount_at(&root, b"/etc/hostname", source(&client, HOSTS), bind(0)).expect("file");
    assert!(
        !s.host("root/srv").exists(),
        "nothing made in a read-only root"
    );
    assert!(!s.host("root/etc/hostname").exists());
    assert_eq!(read(&root, "/srv/app/data/inner"), b"inner");
    assert_eq!(read(&root, "/etc/hostname"), b"127.0.0.1 localhost\n");
    // The mount is writable even though the root is not.
    open_in(&root, "/srv/app/data/new", libc::O_WRONLY | libc::O_CREAT).expect("create");
    assert!(s.host("data/new").exists());
    assert_eq!(
        open_in(&root, "/srv/new", libc::O_WRONLY | libc::O_CREAT).err(),
        Some(Errno::EROFS),
        "the placeholder directory is read-only"
    );
    assert_eq!(
        open_in(&root, "/etc/new", libc::O_WRONLY | libc::O_CREAT).err(),
        Some(Errno::EROFS)
    );
    // The special file systems are there as with a writable root.
    let ctx = Ctx::kernel();
    walk::lookup(&ctx, &root, &root, b"/proc/cpuinfo", false).expect("/proc");
    walk::lookup(&ctx, &root, &root, b"/dev/null", false).expect("/dev");
}

#[test]
fn the_overlay_root_makes_mount_points_in_memory() {
    let s = Scratch::new();
    let lower = s.client(false);
    let (server, client) = gofer::socketpair().expect("socketpair");
    let root = gofer::open_root(&s.host("root")).expect("open root");
    thread::spawn(move || gofer::serve(root, server));
    let vfs = Vfs::new(
        gofer::Client::new(client).expect("handshake"),
        Arc::clone(&s.mf),
    )
    .expect("vfs");
    let root = Arc::clone(vfs.root());
    mount_at(&root, b"/srv/data", source(&lower, DATA), bind(0)).expect("dir");
    assert_eq!(read(&root, "/srv/data/inner"), b"inner");
    assert!(
        !s.host("root/srv").exists(),
        "made in the overlay's upper layer"
    );
}

#[test]
fn a_mount_over_a_mount_covers_it() {
    let s = Scratch::new();
    let (client, root) = s.tree(false);
    mount_at(&root, b"/m", source(&client, DATA), bind(0)).expect("first");
    let top = mount_at(&root, b"/m", source(&client, RO), bind(0)).expect("second");
    assert_eq!(read(&root, "/m/kept"), b"kept");
    let covered = top.mount_state().made.and_then(|m| m.covered.clone());
    assert!(covered.is_some(), "the first mount is kept below");
}

#[test]
fn a_file_root_is_refused_but_a_file_mount_is_not() {
    let s = Scratch::new();
    let client = s.client(false);
    assert!(gofer_mount_inode(&client, HOSTS, false).is_ok());
    assert!(matches!(
        gofer_mount_inode(&client, 9, false),
        Err(VfsError::AttachMount { index: 9, .. })
    ));
    // A gofer whose root is a file: the sandbox root must be a directory.
    let file = gofer::open_source(&s.host("hosts"), true).expect("file");
    let (server, sock) = gofer::socketpair().expect("socketpair");
    let served =
        thread::spawn(move || gofer::serve_sources(vec![file], server, gofer::Access::ReadOnly));
    assert!(
        served.join().expect("thread").is_err(),
        "the gofer refuses a file root"
    );
    drop(sock);
}

#[test]
fn noexec_nosuid_and_nodev_hold_inside_the_mount() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    fs::write(s.host("data/tool"), b"\x7fELF").expect("write");
    fs::set_permissions(s.host("data/tool"), fs::Permissions::from_mode(0o755)).expect("chmod");
    let (client, root) = s.tree(false);
    let ms = libc::MS_NOEXEC | libc::MS_NOSUID | libc::MS_NODEV;
    mount_at(&root, b"/opt/tools", source(&client, DATA), bind(ms)).expect("mount");
    let ctx = Ctx::kernel();
    assert_eq!(
        open::open_exec(&ctx, &root, &root, b"/opt/tools/tool").err(),
        Some(Errno::EACCES)
    );
    let d = walk::lookup(&ctx, &root, &root, b"/opt/tools/tool", false).expect("lookup");
    let flags = d.mount_flags();
    assert!(flags.noexec && flags.nosuid && flags.nodev && !flags.read_only);
}
