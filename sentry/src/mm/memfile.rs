//! The sandbox's one memory file: a memfd holding every page of app memory,
//! mapped once into the sentry so it can read and write app memory directly,
//! and handed out in page-aligned ranges by a first-fit allocator.
//!
//! Memory here is shared with stub processes that write it concurrently, so
//! it is only touched through raw-pointer copies, never as `&[u8]`.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

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
        })
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

    /// Returns `[off, off+len)` to the allocator and releases its pages.
    fn free_range(&self, off: u64, len: u64) {
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
