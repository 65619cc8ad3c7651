//! The sandbox's one memory file: a memfd holding every page of app memory,
//! mapped once into the sentry so it can read and write app memory directly,
//! and handed out in page-aligned ranges by a first-fit allocator (freed
//! chunk-sized ranges stay resident a while for reuse: `warm.rs`).
//!
//! Memory here is shared with stub processes that write it concurrently, so
//! it is only touched through raw-pointer copies, never as `&[u8]`.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::warm::{self, Put, WarmPool};
use crate::errno::Errno;

/// Size of the memory file's address range (sparse: only touched pages use memory).
pub const MEMFILE_SIZE: u64 = 1 << 38;
pub const PAGE_SIZE: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum MemFileError {
    #[error("creating the memory file: {0}")]
    Create(std::io::Error),
    #[error("sizing the memory file: {0}")]
    Size(std::io::Error),
    #[error("mapping the memory file into the sentry: {0}")]
    Map(std::io::Error),
}

pub struct MemoryFile {
    fd: OwnedFd,
    base: *mut u8,
    /// Free ranges: start → length.
    free: Mutex<BTreeMap<u64, u64>>,
    /// Ranges referenced more than once (after fork): start → (end, count
    /// beyond the first). A range not listed has exactly one reference.
    refs: Mutex<BTreeMap<u64, (u64, u32)>>,
    /// Host files mapped by programs, read once and shared copy-on-write.
    pub files: super::filecache::FileCache,
    warm: WarmPool,
    /// Itself, for the warm pool's trimmer (set by `enable_reuse`).
    me: OnceLock<Weak<MemoryFile>>,
}

// SAFETY: `base` points to a shared mapping that lives as long as the
// MemoryFile; all access goes through bounds-checked raw copies.
unsafe impl Send for MemoryFile {}
// SAFETY: as above; the allocator state is behind a Mutex.
unsafe impl Sync for MemoryFile {}

impl MemoryFile {
    pub fn new() -> Result<MemoryFile, MemFileError> {
        // SAFETY: a valid NUL-terminated name.
        let fd = unsafe { libc::memfd_create(c"ward-memory".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(MemFileError::Create(std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain integer arguments on an fd we own.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), MEMFILE_SIZE as i64) } != 0 {
            return Err(MemFileError::Size(std::io::Error::last_os_error()));
        }
        // SAFETY: a fresh shared mapping of our own memfd; nothing else is at
        // the address the kernel picks.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                MEMFILE_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(MemFileError::Map(std::io::Error::last_os_error()));
        }
        let mut free = BTreeMap::new();
        free.insert(0, MEMFILE_SIZE);
        Ok(MemoryFile {
            fd,
            base: base as *mut u8,
            free: Mutex::new(free),
            refs: Mutex::new(BTreeMap::new()),
            files: Default::default(),
            warm: WarmPool::default(),
            me: OnceLock::new(),
        })
    }

    /// Lets freed ranges stay resident for reuse (`warm.rs`). Called once
    /// the sentry is confined: the pool's trimmer thread, started on first
    /// use, must inherit no capability.
    pub fn enable_reuse(self: &Arc<Self>) {
        if self.me.set(Arc::downgrade(self)).is_ok() {
            self.warm.enable();
        }
    }

    /// Bytes of freed memory kept resident for reuse.
    pub fn warm_bytes(&self) -> u64 {
        self.warm.held()
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn free_map(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, u64>> {
        match self.free.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Allocates `len` bytes (a multiple of the page size), zero-filled.
    pub fn allocate(&self, len: u64) -> Result<u64, Errno> {
        debug_assert!(len.is_multiple_of(PAGE_SIZE) && len > 0);
        if let Some(off) = self.warm.take(len) {
            Self::check(off, len as usize);
            // SAFETY: in range (checked above); a pooled range has no
            // references, so nothing else reads or maps it.
            unsafe { std::ptr::write_bytes(self.base.add(off as usize), 0, len as usize) };
            return Ok(off);
        }
        let mut free = self.free_map();
        let found = free.iter().find(|(_, &l)| l >= len).map(|(&s, &l)| (s, l));
        let Some((start, flen)) = found else {
            return Err(Errno::ENOMEM);
        };
        free.remove(&start);
        if flen > len {
            free.insert(start + len, flen - len);
        }
        Ok(start)
    }

    fn refs_map(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (u64, u32)>> {
        match self.refs.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Adds a reference to every page of `[off, off+len)` (a fork sharing it).
    pub fn share(&self, off: u64, len: u64) {
        let end = off + len;
        let mut refs = self.refs_map();
        split_refs(&mut refs, off);
        split_refs(&mut refs, end);
        let mut at = off;
        let inside: Vec<(u64, u64, u32)> = refs
            .range(off..end)
            .map(|(&s, &(e, c))| (s, e, c))
            .collect();
        for (s, e, c) in inside {
            if s > at {
                refs.insert(at, (s, 1));
            }
            refs.insert(s, (e, c + 1));
            at = e;
        }
        if at < end {
            refs.insert(at, (end, 1));
        }
    }

    /// Whether any page of `[off, off+len)` has more than one reference.
    pub fn is_shared(&self, off: u64, len: u64) -> bool {
        let end = off + len;
        let refs = self.refs_map();
        if let Some((_, &(e, _))) = refs.range(..=off).next_back() {
            if e > off {
                return true;
            }
        }
        refs.range(off..end).next().is_some()
    }

    /// Drops one reference to every page of `[off, off+len)`; pages left
    /// with none go back to the allocator.
    pub fn release(&self, off: u64, len: u64) {
        if len == 0 {
            return;
        }
        let end = off + len;
        let mut to_free = Vec::new();
        {
            let mut refs = self.refs_map();
            split_refs(&mut refs, off);
            split_refs(&mut refs, end);
            let mut at = off;
            let inside: Vec<(u64, u64, u32)> = refs
                .range(off..end)
                .map(|(&s, &(e, c))| (s, e, c))
                .collect();
            for (s, e, c) in inside {
                if s > at {
                    to_free.push((at, s - at));
                }
                if c <= 1 {
                    refs.remove(&s);
                } else {
                    refs.insert(s, (e, c - 1));
                }
                at = e;
            }
            if at < end {
                to_free.push((at, end - at));
            }
        }
        for (o, l) in to_free {
            self.free_range(o, l);
        }
    }

    /// Returns `[off, off+len)` to the warm pool, or to the allocator with
    /// its pages released.
    fn free_range(&self, off: u64, len: u64) {
        match self.warm.put(off, len) {
            Put::Kept => {}
            Put::Rest { off, len } => self.free_cold(off, len),
            Put::KeptStartTrimmer { rest } => {
                self.start_trimmer();
                if let Some((off, len)) = rest {
                    self.free_cold(off, len);
                }
            }
        }
    }

    /// Starts the thread that empties an idle warm pool; if it cannot
    /// start, the pool is emptied now and stays off.
    fn start_trimmer(&self) {
        let me = self.me.get().cloned();
        let spawned = me.ok_or(()).and_then(|me| {
            std::thread::Builder::new()
                .name("ward-memtrim".into())
                .spawn(move || trim_loop(me))
                .map_err(|e| tracing::warn!("starting the memory trimmer: {e}"))
        });
        if spawned.is_err() {
            for off in self.warm.disable() {
                self.free_cold(off, warm::UNIT);
            }
        }
    }

    /// Returns `[off, off+len)` to the allocator and releases its pages.
    fn free_cold(&self, off: u64, len: u64) {
        if len == 0 {
            return;
        }
        self.punch(off, len);
        let mut free = self.free_map();
        let mut start = off;
        let mut l = len;
        if let Some((&ps, &pl)) = free.range(..off).next_back() {
            if ps + pl == off {
                free.remove(&ps);
                start = ps;
                l += pl;
            }
        }
        if let Some(&nl) = free.get(&(off + len)) {
            free.remove(&(off + len));
            l += nl;
        }
        free.insert(start, l);
    }

    /// Zeroes `[off, off+len)` by dropping its pages.
    pub fn punch(&self, off: u64, len: u64) {
        // SAFETY: plain integer arguments on our own memfd.
        unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as i64,
                len as i64,
            );
        }
    }

    fn check(off: u64, len: usize) {
        assert!(
            off.checked_add(len as u64)
                .is_some_and(|e| e <= MEMFILE_SIZE),
            "memory file access out of range"
        );
    }

    /// Copies out of the memory file.
    pub fn read(&self, off: u64, buf: &mut [u8]) {
        Self::check(off, buf.len());
        // SAFETY: `off..off+len` is inside the mapping (checked above) and
        // `buf` is a distinct, writable sentry buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(off as usize), buf.as_mut_ptr(), buf.len())
        }
    }

    /// Copies into the memory file.
    pub fn write(&self, off: u64, buf: &[u8]) {
        Self::check(off, buf.len());
        // SAFETY: as in `read`, with the roles swapped.
        unsafe {
            std::ptr::copy_nonoverlapping(buf.as_ptr(), self.base.add(off as usize), buf.len())
        }
    }

    /// Copies `len` bytes within the memory file.
    pub fn copy_within(&self, from: u64, to: u64, len: u64) {
        Self::check(from, len as usize);
        Self::check(to, len as usize);
        // SAFETY: both ranges are inside the mapping (checked above); `copy`
        // allows overlap.
        unsafe {
            std::ptr::copy(
                self.base.add(from as usize),
                self.base.add(to as usize),
                len as usize,
            )
        }
    }

    /// Reads `len` bytes of host file `fd` at `file_off` straight into the
    /// memory file at `off`; returns how many bytes were read (short at EOF).
    pub fn fill_from_fd(
        &self,
        fd: BorrowedFd<'_>,
        file_off: u64,
        off: u64,
        len: u64,
    ) -> Result<u64, Errno> {
        Self::check(off, len as usize);
        let mut done = 0u64;
        while done < len {
            // SAFETY: the destination range is inside the mapping (checked above).
            let n = unsafe {
                libc::pread(
                    fd.as_raw_fd(),
                    self.base.add((off + done) as usize) as *mut libc::c_void,
                    (len - done) as usize,
                    (file_off + done) as i64,
                )
            };
            if n < 0 {
                let e = Errno::last();
                if e == Errno::EINTR {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                break;
            }
            done += n as u64;
        }
        Ok(done)
    }

    /// A raw pointer to `off`, for handing a range straight to a host
    /// read(2)/write(2). The caller must keep to `[off, off+len)`.
    pub fn ptr(&self, off: u64, len: usize) -> *mut u8 {
        Self::check(off, len);
        // SAFETY: in range (checked above).
        unsafe { self.base.add(off as usize) }
    }
}

/// The warm pool's trimmer: gives back the pool's ranges once it has
/// served nothing for `warm::IDLE`; ends when the pool is empty or the
/// memory file is gone.
fn trim_loop(mf: Weak<MemoryFile>) {
    loop {
        let wait = {
            let Some(mf) = mf.upgrade() else {
                return;
            };
            let Some((gone, wait)) = mf.warm.trim(std::time::Instant::now()) else {
                return;
            };
            for off in gone {
                mf.free_cold(off, warm::UNIT);
            }
            wait
        };
        std::thread::sleep(wait);
    }
}

/// Splits the reference interval containing `at` so one starts there.
fn split_refs(refs: &mut BTreeMap<u64, (u64, u32)>, at: u64) {
    let hit = refs
        .range(..at)
        .next_back()
        .filter(|(_, &(e, _))| e > at)
        .map(|(&s, &(e, c))| (s, e, c));
    if let Some((s, e, c)) = hit {
        refs.insert(s, (at, c));
        refs.insert(at, (e, c));
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in `new`; no references into it remain.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, MEMFILE_SIZE as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_reuse_a_freed_chunk_comes_back_zeroed_and_an_idle_pool_empties() {
        let mf = Arc::new(MemoryFile::new().expect("memory file"));
        let a = mf.allocate(warm::UNIT).expect("allocate");
        mf.release(a, warm::UNIT);
        assert_eq!(mf.warm_bytes(), 0, "off until enabled");

        mf.enable_reuse();
        let a = mf.allocate(warm::UNIT).expect("allocate");
        mf.write(a + 4000, &[7u8; 200]);
        mf.release(a, warm::UNIT);
        assert_eq!(mf.warm_bytes(), warm::UNIT);
        let b = mf.allocate(warm::UNIT).expect("allocate");
        assert_eq!(a, b, "the pooled chunk is reused");
        let mut buf = [1u8; 200];
        mf.read(b + 4000, &mut buf);
        assert_eq!(buf, [0u8; 200], "and zeroed");

        mf.release(b, warm::UNIT);
        let c = mf.allocate(2 * warm::UNIT).expect("allocate");
        assert_eq!(c, b + warm::UNIT, "larger sizes come from the allocator");
        mf.release(c, 2 * warm::UNIT);
        assert_eq!(mf.warm_bytes(), 3 * warm::UNIT);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while mf.warm_bytes() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(mf.warm_bytes(), 0, "the trimmer empties an idle pool");
        // Given back to the allocator: the range is free again, as one.
        assert_eq!(mf.allocate(3 * warm::UNIT).expect("allocate"), b);
    }

    #[test]
    fn freed_ranges_merge_and_are_reused() {
        let m = MemoryFile::new().unwrap();
        let a = m.allocate(PAGE_SIZE).unwrap();
        let b = m.allocate(2 * PAGE_SIZE).unwrap();
        assert_eq!(b, a + PAGE_SIZE);
        m.release(a, PAGE_SIZE);
        m.release(b, 2 * PAGE_SIZE);
        assert_eq!(m.allocate(3 * PAGE_SIZE).unwrap(), a);
    }

    #[test]
    fn shared_pages_survive_one_release_and_go_with_the_last() {
        let m = MemoryFile::new().unwrap();
        let a = m.allocate(4 * PAGE_SIZE).unwrap();
        m.write(a + PAGE_SIZE, b"kept");
        m.share(a + PAGE_SIZE, 2 * PAGE_SIZE);
        assert!(m.is_shared(a, 2 * PAGE_SIZE));
        assert!(!m.is_shared(a, PAGE_SIZE));
        m.release(a, 4 * PAGE_SIZE);
        let mut buf = [0u8; 4];
        m.read(a + PAGE_SIZE, &mut buf);
        assert_eq!(&buf, b"kept");
        assert!(!m.is_shared(a, 4 * PAGE_SIZE));
        // The unshared pages were freed and are handed out again.
        assert_eq!(m.allocate(PAGE_SIZE).unwrap(), a);
        m.release(a + PAGE_SIZE, 2 * PAGE_SIZE);
        m.read(a + PAGE_SIZE, &mut buf);
        assert_eq!(buf, [0; 4]);
    }

    #[test]
    fn released_memory_reads_back_zero() {
        let m = MemoryFile::new().unwrap();
        let a = m.allocate(PAGE_SIZE).unwrap();
        m.write(a, b"hello");
        m.release(a, PAGE_SIZE);
        let a2 = m.allocate(PAGE_SIZE).unwrap();
        let mut buf = [1u8; 5];
        m.read(a2, &mut buf);
        assert_eq!(buf, [0; 5]);
    }
}
