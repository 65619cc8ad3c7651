//! Shared mappings of host files that the sandbox may write (the
//! read-write gofer's): a page cache in the memory file, one per host file
//! (device, inode), alive while any MAP_SHARED mapping of the file is.
//!
//! The stubs never map host files (DESIGN's memory model), so a shared
//! mapping maps the cache's pages instead: every mapping of the file, in
//! every process, maps the same memory-file pages, and read(2), write(2),
//! truncate and fallocate of the file go through the cache while it lives
//! (`find`), so they and the mappings see one copy. write(2) writes
//! through: the host file and the cache both get the data. Writes through
//! a mapping reach only the cache; they are written back (`write_back`) by
//! msync, fsync, each munmap of a mapping (the last reference to its
//! `MapHold` going) and when the last mapping goes, after which the cache
//! is dropped and the file is the host's alone again.
//!
//! The cache holds the file in chunks of `CHUNK` bytes, filled from the
//! host on first mapping. A chunk ever mapped writable is dirty for the
//! cache's life (the sentry cannot see stores into the stub's mapping), so
//! write-back writes it whole, clipped to the file's size. The cache's
//! size is the file's size: the sandbox changes it only through the cache
//! while the cache lives. Changing it tells every address space mapping
//! the file (`MemoryManager::file_resized`), so that pages wholly past the
//! end fault with SIGBUS and come back when the file grows, as on Linux;
//! shrinking keeps the chunks (the mappings keep their pages). Bytes past
//! the end are never written back, and are zeroed whenever the size
//! changes (a mapping may store into the rest of the last page), so the
//! file never grows with anything but zeroes.
//!
//! Never does: map a host file into a stub, or follow the host file's
//! changes made outside the sandbox while the cache lives (as a 9p mount
//! with a page cache).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::manager::MemoryManager;
use super::memfile::{MemoryFile, PAGE_SIZE};
use super::segments::Segments;
use crate::errno::Errno;
use crate::vfs::raw;

/// Bytes per chunk of a cached file.
pub const CHUNK: u64 = 64 * 1024;

/// A host file's identity: device and inode number.
pub type FileKey = (u64, u64);

/// The live caches, by file. One sandbox is one sentry process, so this is
/// the sandbox's table.
static CACHES: Mutex<BTreeMap<FileKey, Arc<PageCache>>> = Mutex::new(BTreeMap::new());
/// How many caches live: read and write skip the table while none does.
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether any cache lives.
pub fn any_live() -> bool {
    LIVE.load(Ordering::Acquire) != 0
}

/// The cache of file `key`, if one lives.
pub fn find(key: FileKey) -> Option<Arc<PageCache>> {
    if !any_live() {
        return None;
    }
    lock(&CACHES).get(&key).cloned()
}

/// The cache of file `key`, made (sized from `fd`, an open fd of the file)
/// if none lives.
pub fn open(
    mf: &Arc<MemoryFile>,
    key: FileKey,
    fd: &Arc<OwnedFd>,
) -> Result<Arc<PageCache>, Errno> {
    let mut caches = lock(&CACHES);
    if let Some(c) = caches.get(&key) {
        return Ok(Arc::clone(c));
    }
    let size = u64::try_from(raw::fstat(fd.as_fd())?.st_size).unwrap_or(0);
    let cache = Arc::new(PageCache {
        key,
        mf: Arc::clone(mf),
        inner: Mutex::new(Inner {
            fill_fd: Arc::clone(fd),
            write_fd: None,
            chunks: BTreeMap::new(),
            size,
            maps: 0,
            retired: false,
            mms: Vec::new(),
        }),
    });
    caches.insert(key, Arc::clone(&cache));
    LIVE.fetch_add(1, Ordering::Release);
    tracing::debug!(dev = key.0, ino = key.1, size, "page cache made");
    Ok(cache)
}

pub struct PageCache {
    key: FileKey,
    mf: Arc<MemoryFile>,
    inner: Mutex<Inner>,
}

struct Inner {
    /// An fd of the file to fill chunks from.
    fill_fd: Arc<OwnedFd>,
    /// A read-write fd of the file, for write-back: the one of the first
    /// writable mapping.
    write_fd: Option<Arc<OwnedFd>>,
    /// Chunk index → the chunk.
    chunks: BTreeMap<u64, Chunk>,
    size: u64,
    /// Live `MapHold`s.
    maps: usize,
    /// The last mapping went: the cache is out of the table and empty.
    retired: bool,
    /// Address spaces that may map the file.
    mms: Vec<Weak<MemoryManager>>,
}

#[derive(Clone, Copy, Debug)]
struct Chunk {
    /// Memory-file offset of its first byte.
    mem: u64,
    /// Mapped writable at some time: written back whole.
    dirty: bool,
}

/// What `PageCache::map` gives a new mapping.
pub struct Mapped {
    /// The memory-file pieces (offset, length) holding the range, in
    /// order, each with a reference taken for the caller.
    pub pieces: Vec<(u64, u64)>,
    /// The mapping's hold on the cache, for its VMAs.
    pub hold: Arc<MapHold>,
}

/// One mapping's hold on a cache (every VMA of one mmap, in every process
/// that forked it, shares it): when the last goes, dirty chunks are
/// written back and the cache may go.
pub struct MapHold {
    cache: Arc<PageCache>,
    /// The mapping came from a description open for reading and writing.
    writable: bool,
}

impl MapHold {
    pub fn cache(&self) -> &Arc<PageCache> {
        &self.cache
    }

    /// Whether the mapping may be made writable (mprotect).
    pub fn writable(&self) -> bool {
        self.writable
    }
}

impl std::fmt::Debug for MapHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapHold")
            .field("file", &self.cache.key)
            .field("writable", &self.writable)
            .finish()
    }
}

impl Drop for MapHold {
    fn drop(&mut self) {
        self.cache.unmapped();
    }
}

/// Bytes `[off, off+len)` of a file, split at chunk boundaries: (chunk
/// index, offset in the chunk, length, bytes into the range).
fn chunk_spans(off: u64, len: u64) -> impl Iterator<Item = (u64, u64, u64, u64)> {
    let end = off.saturating_add(len);
    let mut at = off;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let (idx, within) = (at / CHUNK, at % CHUNK);
        let n = (CHUNK - within).min(end - at);
        let span = (idx, within, n, at - off);
        at += n;
        Some(span)
    })
}

impl PageCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// The file this caches.
    pub fn key(&self) -> FileKey {
        self.key
    }

    /// The file's size as the sandbox sees it.
    pub fn size(&self) -> u64 {
        self.lock().size
    }

    /// Maps `[off, off+len)` of the file (page-aligned): the memory-file
    /// pieces holding it (chunks filled from the host where missing,
    /// adjacent pieces merged), each with a reference taken for the caller,
    /// and the mapping's hold. `write_fd` is the description's read-write
    /// fd for a mapping that may be written (its chunks become dirty).
    /// None when the cache was retired meanwhile: `open` a new one.
    pub fn map(
        self: &Arc<Self>,
        off: u64,
        len: u64,
        write_fd: Option<Arc<OwnedFd>>,
    ) -> Result<Option<Mapped>, Errno> {
        let mut inner = self.lock();
        let writable = write_fd.is_some();
        if let Some(fd) = write_fd {
            inner.write_fd.get_or_insert(fd);
        }
        self.map_locked(&mut inner, off, len, writable)
    }

    /// `map` again for a mapping that moves or grows (mremap), writable
    /// as it was.
    pub fn map_again(
        self: &Arc<Self>,
        off: u64,
        len: u64,
        writable: bool,
    ) -> Result<Option<Mapped>, Errno> {
        let mut inner = self.lock();
        self.map_locked(&mut inner, off, len, writable)
    }

    fn map_locked(
        self: &Arc<Self>,
        inner: &mut Inner,
        off: u64,
        len: u64,
        writable: bool,
    ) -> Result<Option<Mapped>, Errno> {
        debug_assert!(off.is_multiple_of(PAGE_SIZE) && len.is_multiple_of(PAGE_SIZE));
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        if inner.retired {
            return Ok(None);
        }
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        for (idx, within, n, _) in chunk_spans(off, len) {
            let mem = self.chunk(inner, idx)?.mem + within;
            match pieces.last_mut() {
                Some((m, l)) if *m + *l == mem => *l += n,
                _ => pieces.push((mem, n)),
            }
        }
        if writable {
            let last = (off + len - 1) / CHUNK;
            for c in inner.chunks.range_mut(off / CHUNK..=last) {
                c.1.dirty = true;
            }
        }
        for &(m, l) in &pieces {
            self.mf.share(m, l);
        }
        inner.maps += 1;
        let hold = Arc::new(MapHold {
            cache: Arc::clone(self),
            writable,
        });
        Ok(Some(Mapped { pieces, hold }))
    }

    /// Chunk `idx`, allocated and filled from the host if missing.
    fn chunk(&self, inner: &mut Inner, idx: u64) -> Result<Chunk, Errno> {
        if let Some(c) = inner.chunks.get(&idx) {
            return Ok(*c);
        }
        let mem = self.mf.allocate(CHUNK)?;
        let start = idx * CHUNK;
        if start < inner.size {
            let n = (inner.size - start).min(CHUNK);
            if let Err(e) = self.mf.fill_from_fd(inner.fill_fd.as_fd(), start, mem, n) {
                self.mf.release(mem, CHUNK);
                return Err(e);
            }
        }
        let c = Chunk { mem, dirty: false };
        inner.chunks.insert(idx, c);
        Ok(c)
    }

    /// Records that `mm` may map the file (for `file_resized`).
    pub fn attach(&self, mm: &Arc<MemoryManager>) {
        let mut inner = self.lock();
        inner.mms.retain(|w| w.strong_count() > 0);
        if !inner
            .mms
            .iter()
            .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(mm)))
        {
            inner.mms.push(Arc::downgrade(mm));
        }
    }

    /// read(2) at `off` into `dst`, from the cache where it holds the
    /// bytes and from `fd` (the host file) elsewhere; short at the end.
    pub fn read(&self, fd: &OwnedFd, dst: &Segments, off: u64) -> Result<usize, Errno> {
        let inner = self.lock();
        let want = (dst.len() as u64).min(inner.size.saturating_sub(off));
        for (idx, within, n, at) in chunk_spans(off, want) {
            let part = dst.slice(at as usize, n as usize);
            match inner.chunks.get(&idx) {
                Some(c) => copy_to_segments(&self.mf, c.mem + within, &part),
                None => {
                    let got = raw::read_segments(fd.as_fd(), &part, Some(off + at))?;
                    if (got as u64) < n {
                        return Ok((at + got as u64) as usize);
                    }
                }
            }
        }
        Ok(want as usize)
    }

    /// write(2) of `src` at `at` (None: at the end, O_APPEND): `host`
    /// writes to the host file at the offset it is given and returns the
    /// bytes written; the cache then takes the same bytes. Returns them
    /// and the offset written at.
    pub fn write(
        &self,
        src: &Segments,
        at: Option<u64>,
        host: impl FnOnce(u64) -> Result<usize, Errno>,
    ) -> Result<(usize, u64), Errno> {
        let mut inner = self.lock();
        let at = at.unwrap_or(inner.size);
        let n = host(at)?;
        if at + n as u64 > inner.size {
            // What a mapping stored past the old end never reached the
            // host: the file grows with zeroes there.
            self.zero_from(&inner, inner.size);
        }
        for (idx, within, len, done) in chunk_spans(at, n as u64) {
            if let Some(c) = inner.chunks.get(&idx) {
                copy_from_segments(
                    &self.mf,
                    &src.slice(done as usize, len as usize),
                    c.mem + within,
                );
            }
        }
        let end = at + n as u64;
        let grew = end > inner.size;
        if grew {
            inner.size = end;
        }
        drop(inner);
        if grew {
            self.resized();
        }
        Ok((n, at))
    }

    /// ftruncate to `size`: `host` truncates the host file; the cache
    /// zeroes what lies past a smaller size.
    pub fn truncate(
        &self,
        size: u64,
        host: impl FnOnce() -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        let mut inner = self.lock();
        host()?;
        let changed = size != inner.size;
        if changed {
            // Shrinking drops the bytes past the new end; growing reads
            // zeroes past the old one (whatever a mapping stored there).
            self.zero_from(&inner, size.min(inner.size));
        }
        inner.size = size;
        drop(inner);
        if changed {
            self.resized();
        }
        Ok(())
    }

    /// A change made to the host file in place (fallocate): dirty chunks
    /// go to the host first, `host` makes the change, and every chunk is
    /// read afresh, with the size the host file has now.
    pub fn refresh(&self, host: impl FnOnce() -> Result<(), Errno>) -> Result<(), Errno> {
        let mut inner = self.lock();
        self.write_back_locked(&inner)?;
        host()?;
        let size = u64::try_from(raw::fstat(inner.fill_fd.as_fd())?.st_size).unwrap_or(0);
        for (&idx, c) in &inner.chunks {
            self.mf.punch(c.mem, CHUNK);
            let start = idx * CHUNK;
            if start < size {
                let n = (size - start).min(CHUNK);
                self.mf
                    .fill_from_fd(inner.fill_fd.as_fd(), start, c.mem, n)?;
            }
        }
        let changed = size != inner.size;
        inner.size = size;
        drop(inner);
        if changed {
            self.resized();
        }
        Ok(())
    }

    /// Writes the dirty chunks back to the host file (msync, fsync, munmap).
    pub fn write_back(&self) -> Result<(), Errno> {
        let inner = self.lock();
        self.write_back_locked(&inner)
    }

    fn write_back_locked(&self, inner: &Inner) -> Result<(), Errno> {
        let Some(fd) = inner.write_fd.as_ref() else {
            return Ok(());
        };
        for (&idx, c) in inner.chunks.iter().filter(|(_, c)| c.dirty) {
            let start = idx * CHUNK;
            if start >= inner.size {
                break;
            }
            let n = (inner.size - start).min(CHUNK) as usize;
            let src = Segments::new(Arc::clone(&self.mf), vec![(c.mem, n)]);
            let done = raw::write_segments(fd.as_fd(), &src, Some(start))?;
            if done < n {
                return Err(Errno::EIO);
            }
        }
        Ok(())
    }

    /// Zeroes the cached bytes from `size` on: the rest of its page
    /// written over, whole pages dropped.
    fn zero_from(&self, inner: &Inner, size: u64) {
        static ZEROES: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];
        for (&idx, c) in inner.chunks.range(size / CHUNK..) {
            let start = idx * CHUNK;
            let from = size.saturating_sub(start);
            let page = from.next_multiple_of(PAGE_SIZE).min(CHUNK);
            if page > from {
                self.mf
                    .write(c.mem + from, &ZEROES[..(page - from) as usize]);
            }
            if page < CHUNK {
                self.mf.punch(c.mem + page, CHUNK - page);
            }
        }
    }

    /// Tells every address space mapping the file its new size.
    fn resized(self: &PageCache) {
        let (mms, size) = {
            let inner = self.lock();
            let mms: Vec<Arc<MemoryManager>> = inner.mms.iter().filter_map(Weak::upgrade).collect();
            (mms, inner.size)
        };
        for mm in mms {
            if let Err(e) = mm.file_resized(self, size) {
                tracing::warn!("page cache: resizing a mapping: {e:?}");
            }
        }
    }

    /// A mapping's hold went: its writes go to the host, and with the last
    /// one the cache is dropped.
    fn unmapped(&self) {
        if let Err(e) = self.write_back() {
            tracing::warn!(
                dev = self.key.0,
                ino = self.key.1,
                "page cache write-back: {e:?}"
            );
        }
        let mut caches = lock(&CACHES);
        let mut inner = self.lock();
        inner.maps = inner.maps.saturating_sub(1);
        if inner.maps > 0 {
            return;
        }
        inner.retired = true;
        for c in std::mem::take(&mut inner.chunks).into_values() {
            self.mf.release(c.mem, CHUNK);
        }
        inner.write_fd = None;
        inner.mms.clear();
        if caches
            .get(&self.key)
            .is_some_and(|c| std::ptr::eq(Arc::as_ptr(c), self))
        {
            caches.remove(&self.key);
            LIVE.fetch_sub(1, Ordering::Release);
        }
        tracing::debug!(dev = self.key.0, ino = self.key.1, "page cache dropped");
    }
}

/// Copies `dst.len()` bytes of the memory file from `mem` into `dst`.
fn copy_to_segments(mf: &MemoryFile, mem: u64, dst: &Segments) {
    let mut done = 0;
    for &(off, len) in dst.pieces() {
        mf.copy_within(mem + done, off, len as u64);
        done += len as u64;
    }
}

/// Copies all of `src` into the memory file at `mem`.
fn copy_from_segments(mf: &MemoryFile, src: &Segments, mem: u64) {
    let mut done = 0;
    for &(off, len) in src.pieces() {
        mf.copy_within(off, mem + done, len as u64);
        done += len as u64;
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn chunk_spans_split_at_chunk_boundaries() {
        let spans: Vec<_> = chunk_spans(CHUNK - 10, CHUNK + 20).collect();
        assert_eq!(
            spans,
            vec![
                (0, CHUNK - 10, 10, 0),
                (1, 0, CHUNK, 10),
                (2, 0, 10, CHUNK + 10)
            ]
        );
        assert_eq!(chunk_spans(5, 0).count(), 0);
    }

    /// A host file holding `data`, opened read-write, and its key. Test
    /// code only: it runs in the test process, before confinement of any
    /// kind, never in a sentry.
    fn host_file(tag: &str, data: &[u8]) -> (std::path::PathBuf, Arc<OwnedFd>, FileKey) {
        let path =
            std::env::temp_dir().join(format!("ward-pagecache-{tag}-{}", std::process::id()));
        fs::write(&path, data).unwrap();
        let f = fs::OpenOptions::new() // test code: runs before confinement, never in a sentry
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let md = f.metadata().unwrap();
        (path, Arc::new(OwnedFd::from(f)), (md.dev(), md.ino()))
    }

    #[test]
    fn a_mapping_sees_the_file_and_its_stores_reach_it_when_it_goes() {
        let mf = Arc::new(MemoryFile::new().unwrap());
        let (path, fd, key) = host_file("map", b"hello from the host");
        let cache = open(&mf, key, &fd).unwrap();
        let Mapped { pieces, hold } = cache
            .map(0, PAGE_SIZE, Some(Arc::clone(&fd)))
            .unwrap()
            .unwrap();
        let mut buf = [0u8; 5];
        mf.read(pieces[0].0, &mut buf);
        assert_eq!(&buf, b"hello");

        mf.write(pieces[0].0, b"HELLO");
        mf.release(pieces[0].0, pieces[0].1);
        drop(hold);

        assert_eq!(fs::read(&path).unwrap(), b"HELLO from the host");
        assert!(
            find(key).is_none(),
            "the last mapping took the cache with it"
        );
        fs::remove_file(path).unwrap();
    }

    #[test]
    fn read_and_write_go_through_a_live_cache_and_truncate_zeroes_the_tail() {
        let mf = Arc::new(MemoryFile::new().unwrap());
        let (path, fd, key) = host_file("rw", &[b'a'; 100]);
        let cache = open(&mf, key, &fd).unwrap();
        let Mapped { pieces, hold } = cache
            .map(0, PAGE_SIZE, Some(Arc::clone(&fd)))
            .unwrap()
            .unwrap();
        let buf = mf.allocate(PAGE_SIZE).unwrap();
        mf.write(pieces[0].0 + 10, b"mapped");
        let dst = Segments::new(Arc::clone(&mf), vec![(buf, 20)]);
        assert_eq!(cache.read(&fd, &dst, 5).unwrap(), 20);
        assert_eq!(&dst.to_vec()[5..11], b"mapped");

        mf.write(buf, b"written");
        let src = Segments::new(Arc::clone(&mf), vec![(buf, 7)]);
        let (n, at) = cache
            .write(&src, None, |at| {
                raw::write_segments(fd.as_fd(), &src, Some(at))
            })
            .unwrap();
        assert_eq!((n, at), (7, 100));
        assert_eq!(cache.size(), 107);
        let mut seen = [0u8; 7];
        mf.read(pieces[0].0 + 100, &mut seen);
        assert_eq!(&seen, b"written");

        cache
            .truncate(50, || raw::ftruncate(fd.as_fd(), 50))
            .unwrap();
        mf.read(pieces[0].0 + 100, &mut seen);
        assert_eq!(seen, [0; 7]);
        mf.release(pieces[0].0, pieces[0].1);
        drop(hold);

        let host = fs::read(&path).unwrap();
        assert_eq!(host.len(), 50);
        assert_eq!(&host[10..16], b"mapped");
        mf.release(buf, PAGE_SIZE);
        fs::remove_file(path).unwrap();
    }
}
