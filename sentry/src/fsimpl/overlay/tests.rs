//! The overlay over a real gofer serving a temporary tree (the lower
//! layer) and a fresh tmpfs (the upper), driven through its inodes; the
//! host tree must never change.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crate::errno::Errno;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::inode::{Inode, SetAttr};

struct Tree {
    path: PathBuf,
}

impl Tree {
    /// ```text
    /// etc/passwd      "root:x:0:0\n" (0640)
    /// etc/hosts       "localhost\n"
    /// bin/            (empty)
    /// link -> etc/passwd
    /// ```
    fn new() -> Tree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "sentry-overlay-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(path.join("etc")).unwrap();
        fs::create_dir_all(path.join("bin")).unwrap();
        fs::write(path.join("etc/passwd"), b"root:x:0:0\n").unwrap();
        fs::set_permissions(path.join("etc/passwd"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::write(path.join("etc/hosts"), b"localhost\n").unwrap();
        symlink("etc/passwd", path.join("link")).unwrap();
        Tree { path }
    }

    /// The overlay's root over this tree.
    fn overlay(&self) -> Arc<dyn Inode> {
        let (server, client) = gofer::socketpair().unwrap();
        let root = gofer::open_root(&self.path).unwrap();
        thread::spawn(move || gofer::serve(root, server));
        let client = Arc::new(gofer::Client::new(client).unwrap());
        let (fid, attr) = client.attach().unwrap();
        let lower = crate::fsimpl::gofer::GoferInode::new(client, fid, attr);
        let mf = Arc::new(crate::mm::MemoryFile::new().unwrap());
        let upper = crate::fsimpl::tmpfs::new(mf, 99, 0o755);
        super::new(lower, upper)
    }

    /// The host tree's names under `dir`, sorted.
    fn host_names(&self, dir: &str) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.path.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
    let mut v: Vec<String> = dir
        .readdir(&Ctx::kernel())
        .unwrap()
        .iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    v.sort();
    v
}

/// A node and the directories above it: as in the VFS, where a dentry
/// holds its parent's, a node's parents are held by whoever holds it.
struct Walked(Vec<Arc<dyn Inode>>);

impl std::ops::Deref for Walked {
    type Target = Arc<dyn Inode>;
    fn deref(&self) -> &Arc<dyn Inode> {
        self.0.last().unwrap()
    }
}

fn walk(root: &Arc<dyn Inode>, path: &str) -> Result<Walked, Errno> {
    let ctx = Ctx::kernel();
    let mut chain = vec![Arc::clone(root)];
    for c in path.split('/').filter(|c| !c.is_empty()) {
        let next = chain.last().unwrap().lookup(&ctx, c.as_bytes())?;
        chain.push(next);
    }
    Ok(Walked(chain))
}

fn read(node: &Arc<dyn Inode>) -> Vec<u8> {
    let d = Dentry::new_anon(b"test", Arc::clone(node));
    let f = node.open(&Ctx::kernel(), &d, libc::O_RDONLY).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = f.read_at(&mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn lower_files_show_through_before_any_change() {
    let tree = Tree::new();
    let root = tree.overlay();

    let passwd = walk(&root, "etc/passwd").unwrap();

    assert_eq!(read(&passwd), b"root:x:0:0\n");
    assert_eq!(names(&root), ["bin", "etc", "link"]);
    let host = fs::metadata(tree.path.join("etc/passwd")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(passwd.stat(&Ctx::kernel()).unwrap().ino, host.ino());
}

#[test]
fn a_created_file_is_listed_beside_lower_entries_and_never_reaches_the_host() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let etc = walk(&root, "etc").unwrap();

    etc.create(&ctx, b"new", libc::S_IFREG | 0o644).unwrap();

    assert_eq!(names(&etc), ["hosts", "new", "passwd"]);
    assert_eq!(tree.host_names("etc"), ["hosts", "passwd"]);
    assert_eq!(
        etc.create(&ctx, b"hosts", libc::S_IFREG | 0o644).err(),
        Some(Errno::EEXIST)
    );
}

#[test]
fn unlinking_a_lower_file_leaves_a_whiteout() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let etc = walk(&root, "etc").unwrap();

    etc.unlink(&ctx, b"hosts").unwrap();

    assert_eq!(etc.lookup(&ctx, b"hosts").err(), Some(Errno::ENOENT));
    assert_eq!(names(&etc), ["passwd"]);
    assert!(tree.path.join("etc/hosts").exists());
}

#[test]
fn a_whiteout_survives_the_nodes_being_dropped_and_looked_up_again() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    walk(&root, "etc").unwrap().unlink(&ctx, b"hosts").unwrap();

    let again = walk(&root, "etc/hosts");

    assert_eq!(again.err(), Some(Errno::ENOENT));
}

#[test]
fn writing_a_lower_file_copies_it_up_with_its_data_and_attributes() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let passwd = walk(&root, "etc/passwd").unwrap();
    let before = passwd.stat(&ctx).unwrap();

    let d = Dentry::new_anon(b"test", Arc::clone(&passwd));
    passwd.open(&ctx, &d, libc::O_RDWR).unwrap();

    let after = passwd.stat(&ctx).unwrap();
    assert_eq!(read(&passwd), b"root:x:0:0\n");
    assert_eq!(after.mode, before.mode);
    assert_eq!(after.mtime, before.mtime);
    assert_eq!(after.dev, 99, "stat reports the upper file after copy-up");
    assert_eq!(
        fs::read(tree.path.join("etc/passwd")).unwrap(),
        b"root:x:0:0\n"
    );
}

#[test]
fn chmod_of_a_lower_file_changes_only_the_upper_copy() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let hosts = walk(&root, "etc/hosts").unwrap();

    let attr = SetAttr {
        mode: Some(0o600),
        ..SetAttr::default()
    };
    hosts.setattr(&ctx, &attr).unwrap();

    assert_eq!(hosts.stat(&ctx).unwrap().mode & 0o7777, 0o600);
    assert_eq!(
        walk(&root, "etc/hosts").unwrap().stat(&ctx).unwrap().mode & 0o7777,
        0o600
    );
    let host = fs::metadata(tree.path.join("etc/hosts")).unwrap();
    assert_ne!(host.permissions().mode() & 0o7777, 0o600);
}

#[test]
fn a_directory_keeps_its_inode_number_across_copy_up() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let bin = walk(&root, "bin").unwrap();
    let before = bin.stat(&ctx).unwrap();

    bin.create(&ctx, b"tool", libc::S_IFREG | 0o755).unwrap();

    let after = bin.stat(&ctx).unwrap();
    assert_eq!((after.dev, after.ino), (before.dev, before.ino));
    assert_eq!(names(&bin), ["tool"]);
}

#[test]
fn a_directory_removed_and_made_again_is_opaque() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let etc = walk(&root, "etc").unwrap();
    etc.unlink(&ctx, b"hosts").unwrap();
    etc.unlink(&ctx, b"passwd").unwrap();

    root.rmdir(&ctx, b"etc").unwrap();
    root.mkdir(&ctx, b"etc", 0o755).unwrap();

    let etc = walk(&root, "etc").unwrap();
    assert_eq!(names(&etc), Vec::<String>::new());
    assert_eq!(etc.lookup(&ctx, b"passwd").err(), Some(Errno::ENOENT));
    assert_eq!(tree.host_names("etc"), ["hosts", "passwd"]);
}

#[test]
fn rmdir_of_a_merged_directory_with_lower_entries_is_enotempty() {
    let tree = Tree::new();
    let root = tree.overlay();

    let err = root.rmdir(&Ctx::kernel(), b"etc");

    assert_eq!(err, Err(Errno::ENOTEMPTY));
}

#[test]
fn renaming_a_lower_file_hides_the_old_name_and_keeps_the_data() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let etc = walk(&root, "etc").unwrap();
    let bin = walk(&root, "bin").unwrap();

    etc.rename(&ctx, b"hosts", &bin, b"hosts2", 0).unwrap();

    assert_eq!(names(&etc), ["passwd"]);
    assert_eq!(names(&bin), ["hosts2"]);
    assert_eq!(read(&walk(&root, "bin/hosts2").unwrap()), b"localhost\n");
    assert_eq!(tree.host_names("bin"), Vec::<String>::new());
}

#[test]
fn renaming_a_directory_with_a_lower_part_is_exdev() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let root2 = Arc::clone(&root);

    let err = root.rename(&ctx, b"etc", &root2, b"etc2", 0);

    assert_eq!(err, Err(Errno::EXDEV));
}

#[test]
fn a_lower_symlink_is_recreated_on_copy_up() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let link = walk(&root, "link").unwrap();

    link.setattr(
        &ctx,
        &SetAttr {
            uid: Some(0),
            ..SetAttr::default()
        },
    )
    .unwrap();

    assert_eq!(link.readlink(&ctx).unwrap(), b"etc/passwd");
    assert_eq!(link.stat(&ctx).unwrap().dev, 99);
}

#[test]
fn a_hard_link_to_a_lower_file_shares_the_upper_copy() {
    let tree = Tree::new();
    let root = tree.overlay();
    let ctx = Ctx::kernel();
    let hosts = walk(&root, "etc/hosts").unwrap();
    let bin = walk(&root, "bin").unwrap();

    bin.link(&ctx, b"h", &hosts).unwrap();

    let h = walk(&root, "bin/h").unwrap();
    let (a, b) = (hosts.stat(&ctx).unwrap(), h.stat(&ctx).unwrap());
    assert_eq!((a.dev, a.ino), (b.dev, b.ino));
    assert_eq!(b.nlink, 2);
    assert!(!tree.path.join("bin/h").exists());
}
