//! tmpfs through the VFS: the walk, open with O_CREAT, the directory
//! operations and open files, as the kernel (root).

use std::sync::Arc;

use super::new;
use crate::errno::Errno;
use crate::mm::{MemoryFile, Segments, PAGE_SIZE};
use crate::vfs::file::FileDescription;
use crate::vfs::inode::SetAttr;
use crate::vfs::{open, walk, Ctx, Dentry};

struct Fs {
    mf: Arc<MemoryFile>,
    root: Arc<Dentry>,
}

fn fs() -> Fs {
    let mf = Arc::new(MemoryFile::new().unwrap());
    let root = Dentry::new_root(new(Arc::clone(&mf), 99, 0o1777));
    Fs { mf, root }
}

impl Fs {
    fn lookup(&self, path: &str) -> Result<Arc<Dentry>, Errno> {
        walk::lookup(
            &Ctx::kernel(),
            &self.root,
            &self.root,
            path.as_bytes(),
            false,
        )
    }

    fn open(&self, path: &str, flags: i32) -> Result<Arc<dyn FileDescription>, Errno> {
        let ctx = Ctx::kernel();
        open::open_mode(&ctx, &self.root, &self.root, path.as_bytes(), flags, 0o644)
    }

    /// `data` in a fresh piece of the memory file, as app memory would be.
    fn segments(&self, data: &[u8]) -> Segments {
        let len = (data.len() as u64)
            .next_multiple_of(PAGE_SIZE)
            .max(PAGE_SIZE);
        let off = self.mf.allocate(len).unwrap();
        self.mf.write(off, data);
        Segments::new(Arc::clone(&self.mf), vec![(off, data.len())])
    }

    fn write(&self, file: &dyn FileDescription, data: &[u8], at: Option<u64>) {
        assert_eq!(file.write(&self.segments(data), at).unwrap(), data.len());
    }

    fn mkdir(&self, dir: &str, name: &str) {
        let d = self.lookup(dir).unwrap();
        d.inode()
            .mkdir(&Ctx::kernel(), name.as_bytes(), 0o755)
            .unwrap();
    }

    fn names(&self, dir: &str) -> Vec<String> {
        let d = self.lookup(dir).unwrap();
        d.inode()
            .readdir(&Ctx::kernel())
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect()
    }

    fn nlink(&self, path: &str) -> u64 {
        self.lookup(path)
            .unwrap()
            .stat(&Ctx::kernel())
            .unwrap()
            .nlink
    }
}

fn read_all(file: &dyn FileDescription) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let n = file.read_at(&mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

const CREAT: i32 = libc::O_RDWR | libc::O_CREAT;

#[test]
fn created_files_are_found_and_read_back() {
    let fs = fs();
    let f = fs.open("a", CREAT | libc::O_EXCL).unwrap();
    fs.write(&*f, b"hello", None);
    assert_eq!(
        fs.open("a", CREAT | libc::O_EXCL).err(),
        Some(Errno::EEXIST)
    );
    let again = fs.open("a", libc::O_RDONLY).unwrap();
    assert_eq!(read_all(&*again), b"hello");
    let st = again.stat().unwrap();
    assert_eq!((st.mode, st.size, st.dev), (libc::S_IFREG | 0o644, 5, 99));
}

#[test]
fn reads_land_in_app_memory_and_advance_the_position() {
    let fs = fs();
    let f = fs.open("a", CREAT).unwrap();
    fs.write(&*f, b"0123456789", Some(0));
    let dst = fs.segments(&[0u8; 4]);
    assert_eq!(f.read(&dst, None).unwrap(), 4);
    assert_eq!(f.read(&dst, None).unwrap(), 4);
    assert_eq!(dst.to_vec(), b"4567");
    assert_eq!(f.read(&dst, None).unwrap(), 2);
    assert_eq!(f.read(&dst, None).unwrap(), 0);
}

#[test]
fn o_append_writes_at_the_end_even_with_an_offset() {
    let fs = fs();
    let f = fs.open("a", CREAT | libc::O_APPEND).unwrap();
    fs.write(&*f, b"ab", None);
    fs.write(&*f, b"cd", Some(0));
    assert_eq!(read_all(&*f), b"abcd");
}

#[test]
fn o_trunc_empties_an_existing_file() {
    let fs = fs();
    let f = fs.open("a", CREAT).unwrap();
    fs.write(&*f, b"data", None);
    let t = fs.open("a", libc::O_RDWR | libc::O_TRUNC).unwrap();
    assert_eq!(t.stat().unwrap().size, 0);
}

#[test]
fn listings_are_sorted_after_dot_and_dotdot() {
    let fs = fs();
    for name in ["c", "a", "b"] {
        fs.open(name, CREAT).unwrap();
    }
    fs.mkdir("/", "d");
    assert_eq!(fs.names("/"), [".", "..", "a", "b", "c", "d"]);
}

#[test]
fn directories_count_their_subdirectories_as_links() {
    let fs = fs();
    fs.mkdir("/", "d");
    fs.mkdir("d", "e");
    assert_eq!((fs.nlink("/"), fs.nlink("d"), fs.nlink("d/e")), (3, 3, 2));
    let d = fs.lookup("d").unwrap();
    assert_eq!(d.inode().rmdir(&Ctx::kernel(), b"e"), Ok(()));
    assert_eq!(fs.nlink("d"), 2);
}

#[test]
fn rmdir_refuses_non_empty_directories_and_kills_empty_ones() {
    let fs = fs();
    fs.mkdir("/", "d");
    fs.open("d/f", CREAT).unwrap();
    let ctx = Ctx::kernel();
    let root = fs.lookup("/").unwrap();
    assert_eq!(root.inode().rmdir(&ctx, b"d"), Err(Errno::ENOTEMPTY));
    let d = fs.lookup("d").unwrap();
    d.inode().unlink(&ctx, b"f").unwrap();
    root.inode().rmdir(&ctx, b"d").unwrap();
    // Held by a task's cwd, say: nothing more can be made in it.
    assert_eq!(d.inode().mkdir(&ctx, b"x", 0o755), Err(Errno::ENOENT));
    assert_eq!(fs.lookup("d").err(), Some(Errno::ENOENT));
}

#[test]
fn unlinked_files_live_on_through_open_files() {
    let fs = fs();
    let f = fs.open("a", CREAT).unwrap();
    fs.write(&*f, b"kept", None);
    let root = fs.lookup("/").unwrap();
    root.inode().unlink(&Ctx::kernel(), b"a").unwrap();
    assert_eq!(fs.lookup("a").err(), Some(Errno::ENOENT));
    assert_eq!(read_all(&*f), b"kept");
    assert_eq!(f.stat().unwrap().nlink, 0);
}

#[test]
fn hard_links_share_one_inode() {
    let fs = fs();
    let f = fs.open("a", CREAT).unwrap();
    let ctx = Ctx::kernel();
    let root = fs.lookup("/").unwrap();
    let a = fs.lookup("a").unwrap();
    root.inode().link(&ctx, b"b", a.inode()).unwrap();
    fs.write(&*f, b"same", None);
    assert_eq!(read_all(&*fs.open("b", libc::O_RDONLY).unwrap()), b"same");
    assert_eq!(fs.nlink("a"), 2);
    assert_eq!(root.inode().link(&ctx, b"b", a.inode()), Err(Errno::EEXIST));
    let d = fs.lookup("/").unwrap();
    assert_eq!(root.inode().link(&ctx, b"c", d.inode()), Err(Errno::EPERM));
}

#[test]
fn rename_moves_directories_and_fixes_link_counts() {
    let fs = fs();
    fs.mkdir("/", "a");
    fs.mkdir("/", "b");
    fs.mkdir("a", "x");
    let ctx = Ctx::kernel();
    let a = fs.lookup("a").unwrap();
    let b = fs.lookup("b").unwrap();
    a.inode().rename(&ctx, b"x", b.inode(), b"y", 0).unwrap();
    assert_eq!((fs.nlink("a"), fs.nlink("b")), (2, 3));
    assert!(fs.lookup("b/y").is_ok());
    // ".." of the moved directory is its new parent.
    let y = fs.lookup("b/y").unwrap();
    let dotdot = y.inode().readdir(&ctx).unwrap()[1].ino;
    assert_eq!(dotdot, b.stat(&ctx).unwrap().ino);
}

#[test]
fn rename_refuses_loops_and_non_empty_targets() {
    let fs = fs();
    fs.mkdir("/", "a");
    fs.mkdir("a", "sub");
    fs.mkdir("/", "full");
    fs.open("full/f", CREAT).unwrap();
    fs.open("file", CREAT).unwrap();
    let ctx = Ctx::kernel();
    let root = fs.lookup("/").unwrap();
    let sub = fs.lookup("a/sub").unwrap();
    assert_eq!(
        root.inode().rename(&ctx, b"a", sub.inode(), b"in", 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        root.inode().rename(&ctx, b"a", root.inode(), b"full", 0),
        Err(Errno::ENOTEMPTY)
    );
    assert_eq!(
        root.inode().rename(&ctx, b"file", root.inode(), b"a", 0),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        root.inode().rename(&ctx, b"a", root.inode(), b"file", 0),
        Err(Errno::ENOTDIR)
    );
    let noreplace = libc::RENAME_NOREPLACE;
    assert_eq!(
        root.inode()
            .rename(&ctx, b"file", root.inode(), b"a", noreplace),
        Err(Errno::EEXIST)
    );
}

#[test]
fn rename_exchange_swaps_two_names() {
    let fs = fs();
    let a = fs.open("a", CREAT).unwrap();
    fs.write(&*a, b"A", None);
    let b = fs.open("b", CREAT).unwrap();
    fs.write(&*b, b"B", None);
    let root = fs.lookup("/").unwrap();
    let ex = libc::RENAME_EXCHANGE;
    root.inode()
        .rename(&Ctx::kernel(), b"a", root.inode(), b"b", ex)
        .unwrap();
    assert_eq!(read_all(&*fs.open("a", libc::O_RDONLY).unwrap()), b"B");
    assert_eq!(read_all(&*fs.open("b", libc::O_RDONLY).unwrap()), b"A");
}

#[test]
fn symlinks_are_followed_by_the_walk() {
    let fs = fs();
    fs.mkdir("/", "d");
    fs.open("d/f", CREAT).unwrap();
    let root = fs.lookup("/").unwrap();
    root.inode().symlink(&Ctx::kernel(), b"l", b"d/f").unwrap();
    let l = fs.lookup("l").unwrap();
    assert!(l.stat(&Ctx::kernel()).unwrap().is_symlink());
    let f = walk::lookup(&Ctx::kernel(), &fs.root, &fs.root, b"l", true).unwrap();
    assert_eq!(f.path(), b"/d/f");
}

#[test]
fn setattr_changes_mode_owner_size_and_times() {
    let fs = fs();
    let f = fs.open("a", CREAT).unwrap();
    fs.write(&*f, b"0123456789", None);
    let a = fs.lookup("a").unwrap();
    let attr = SetAttr {
        mode: Some(0o4700),
        uid: Some(5),
        gid: Some(6),
        size: Some(3),
        atime: Some((100, 1)),
        mtime: Some((200, 2)),
    };
    a.inode().setattr(&Ctx::kernel(), &attr).unwrap();
    let st = f.stat().unwrap();
    assert_eq!(
        (st.mode, st.uid, st.gid, st.size, st.atime, st.mtime),
        (libc::S_IFREG | 0o4700, 5, 6, 3, (100, 1), (200, 2))
    );
    assert_eq!(read_all(&*f), b"012");
}

#[test]
fn shared_pages_are_the_files_data() {
    let fs = fs();
    let f = fs.open("a", CREAT).unwrap();
    fs.write(&*f, b"file", None);
    let pages = f.shared_pages(0, PAGE_SIZE).unwrap().unwrap();
    assert_eq!(pages.len(), 1);
    fs.mf.write(pages[0].0, b"FI");
    assert_eq!(read_all(&*f), b"FIle");
    fs.write(&*f, b"!", Some(3));
    let mut buf = [0u8; 4];
    fs.mf.read(pages[0].0, &mut buf);
    assert_eq!(&buf, b"FIl!");
    fs.mf.release(pages[0].0, pages[0].1);
}

#[test]
fn statfs_counts_inodes_and_blocks() {
    let fs = fs();
    let root = fs.lookup("/").unwrap();
    let before = root.inode().usage().unwrap();
    let f = fs.open("a", CREAT).unwrap();
    fs.write(&*f, b"x", None);
    let after = root.inode().usage().unwrap();
    assert_eq!(after.ffree + 1, before.ffree);
    assert!(after.bfree < before.bfree);
    assert!(after.blocks > 0);
}

#[test]
fn tmpfile_has_no_name_until_linked_once() {
    let fs = fs();
    let file = fs.open("/", libc::O_TMPFILE | libc::O_RDWR).unwrap();
    let d = file.dentry().unwrap();
    let ctx = Ctx::kernel();
    assert_eq!(d.stat(&ctx).unwrap().nlink, 0);
    assert_eq!(fs.names("/"), vec![".", ".."]);
    fs.write(&*file, b"data", None);
    fs.root.inode().link(&ctx, b"named", d.inode()).unwrap();
    assert_eq!(fs.nlink("/named"), 1);
    fs.root.inode().unlink(&ctx, b"named").unwrap();
    let again = fs.root.inode().link(&ctx, b"again", d.inode());
    assert_eq!(again.err(), Some(Errno::ENOENT));
}

#[test]
fn tmpfile_with_o_excl_is_never_linkable() {
    let fs = fs();
    let file = fs
        .open("/", libc::O_TMPFILE | libc::O_EXCL | libc::O_RDWR)
        .unwrap();
    let d = file.dentry().unwrap();
    let r = fs.root.inode().link(&Ctx::kernel(), b"named", d.inode());
    assert_eq!(r.err(), Some(Errno::ENOENT));
}

#[test]
fn tmpfile_needs_write_access_and_a_directory() {
    let fs = fs();
    assert_eq!(
        fs.open("/", libc::O_TMPFILE | libc::O_RDONLY).err(),
        Some(Errno::EINVAL)
    );
    fs.open("/f", libc::O_CREAT | libc::O_RDWR).unwrap();
    assert_eq!(
        fs.open("/f", libc::O_TMPFILE | libc::O_RDWR).err(),
        Some(Errno::ENOTDIR)
    );
}
