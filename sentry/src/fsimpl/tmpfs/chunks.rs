//! A regular file's contents: fixed-size chunks of the memory file,
//! allocated on first write (holes read as zero), and the file's size.
//!
//! The chunk store holds one reference on each chunk. A MAP_SHARED mapping
//! takes its own references on the pages it maps (`pages`), so the app's
//! mapping and read(2)/write(2) touch the same memory, and pages stay
//! alive for a mapping after the file is truncated or deleted.
//!
//! Bytes past the size inside an allocated chunk are zero except where a
//! shared mapping wrote past the end of the file (Linux would SIGBUS); so
//! every growth of the file zeroes the range it uncovers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::errno::Errno;
use crate::mm::{MemoryFile, PAGE_SIZE};

/// Bytes per chunk.
pub const CHUNK: u64 = 64 * 1024;

/// Largest file size (Linux's MAX_LFS_FILESIZE on 64-bit).
pub const MAX_SIZE: u64 = i64::MAX as u64;

/// How many bytes of chunks one file system may hold, and how many it does.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes; false (nothing taken) past the limit.
    fn take(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(n).filter(|&v| v <= self.limit)
            })
            .is_ok()
    }

    fn give(&self, n: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(n))
            });
    }
}

pub struct ChunkStore {
    mf: Arc<MemoryFile>,
    budget: Arc<Budget>,
    /// Chunk index → the chunk.
    chunks: BTreeMap<u64, Chunk>,
    size: u64,
}

#[derive(Clone, Copy, Debug)]
struct Chunk {
    /// Memory-file offset of its first byte.
    mem: u64,
    /// Bytes from its start ever written, allocated or mapped, in whole
    /// pages: what st_blocks counts (as Linux counts a file's pages).
    used: u64,
}

/// One stretch of a file range within one chunk: `at` bytes into the
/// range, `len` bytes long, at memory-file offset `mem` (None: a hole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub at: u64,
    pub mem: Option<u64>,
    pub len: u64,
}

impl ChunkStore {
    pub fn new(mf: Arc<MemoryFile>, budget: Arc<Budget>) -> ChunkStore {
        ChunkStore {
            mf,
            budget,
            chunks: BTreeMap::new(),
            size: 0,
        }
    }

    pub fn memfile(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of the file's pages in use (st_blocks * 512).
    pub fn allocated(&self) -> u64 {
        self.chunks.values().map(|c| c.used).sum()
    }

    /// The stretches of `[off, off+len)`, split at chunk boundaries,
    /// allocating nothing.
    pub fn spans(&self, off: u64, len: u64) -> Vec<Span> {
        let mut out = Vec::new();
        let end = off.saturating_add(len);
        let mut at = off;
        while at < end {
            let idx = at / CHUNK;
            let within = at % CHUNK;
            let n = (CHUNK - within).min(end - at);
            out.push(Span {
                at: at - off,
                mem: self.chunks.get(&idx).map(|c| c.mem + within),
                len: n,
            });
            at += n;
        }
        out
    }

    /// The chunk `idx`, allocated (zero-filled) if missing.
    fn chunk(&mut self, idx: u64) -> Result<&mut Chunk, Errno> {
        if self.chunks.contains_key(&idx) {
            return self.chunks.get_mut(&idx).ok_or(Errno::ENOSPC);
        }
        if !self.budget.take(CHUNK) {
            return Err(Errno::ENOSPC);
        }
        let m = match self.mf.allocate(CHUNK) {
            Ok(m) => m,
            Err(_) => {
                self.budget.give(CHUNK);
                return Err(Errno::ENOSPC);
            }
        };
        Ok(self.chunks.entry(idx).or_insert(Chunk { mem: m, used: 0 }))
    }

    /// Allocates every chunk `[off, off+len)` touches and counts its pages
    /// in use.
    fn ensure(&mut self, off: u64, len: u64) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let end = off + len;
        for idx in off / CHUNK..=(end - 1) / CHUNK {
            let cs = idx * CHUNK;
            let upto = (end.min(cs + CHUNK) - cs).next_multiple_of(PAGE_SIZE);
            let c = self.chunk(idx)?;
            c.used = c.used.max(upto);
        }
        Ok(())
    }

    /// The stretches of `[off, off+len)` clipped to the size, for a read.
    pub fn read_spans(&self, off: u64, len: u64) -> Vec<Span> {
        if off >= self.size {
            return Vec::new();
        }
        self.spans(off, len.min(self.size - off))
    }

    /// Prepares a write of `len` bytes at `off`: allocates the chunks,
    /// zeroes the gap between the old end and `off`, and grows the size.
    /// Returns the stretches to copy the data into (all allocated).
    /// EFBIG past the largest size, ENOSPC when memory runs out (then
    /// nothing changed but allocation).
    pub fn write_spans(&mut self, off: u64, len: u64) -> Result<Vec<Span>, Errno> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > MAX_SIZE {
            return Err(Errno::EFBIG);
        }
        self.ensure(off, len)?;
        if end > self.size {
            if off > self.size {
                self.zero(self.size, off - self.size);
            }
            self.size = end;
        }
        Ok(self.spans(off, len))
    }

    /// Copies `data` in at `off` (growing the file).
    pub fn write(&mut self, off: u64, data: &[u8]) -> Result<(), Errno> {
        for s in self.write_spans(off, data.len() as u64)? {
            if let Some(m) = s.mem {
                self.mf
                    .write(m, &data[s.at as usize..(s.at + s.len) as usize]);
            }
        }
        Ok(())
    }

    /// Copies out from `off` into `buf`; returns bytes read (short at the end).
    pub fn read(&self, off: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        for s in self.read_spans(off, buf.len() as u64) {
            let dst = &mut buf[s.at as usize..(s.at + s.len) as usize];
            match s.mem {
                Some(m) => self.mf.read(m, dst),
                None => dst.fill(0),
            }
            done = (s.at + s.len) as usize;
        }
        done
    }

    /// Zeroes the allocated parts of `[off, off+len)`: whole pages are
    /// dropped (reading back zero), partial pages written over.
    fn zero(&self, off: u64, len: u64) {
        static ZEROES: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];
        let end = off.saturating_add(len);
        let first = off / CHUNK;
        let last = end.div_ceil(CHUNK);
        for (&idx, c) in self.chunks.range(first..last) {
            let (m, cs) = (c.mem, idx * CHUNK);
            let a = off.max(cs) - cs;
            let b = end.min(cs + CHUNK) - cs;
            let pa = a.next_multiple_of(PAGE_SIZE).min(b);
            let pb = (b / PAGE_SIZE * PAGE_SIZE).max(pa);
            if pa > a {
                self.mf.write(m + a, &ZEROES[..(pa - a) as usize]);
            }
            if pb > pa {
                self.mf.punch(m + pa, pb - pa);
            }
            if b > pb {
                self.mf.write(m + pb, &ZEROES[..(b - pb) as usize]);
            }
        }
    }

    /// Gives chunk `m` back to the memory file (mappings keep their pages).
    fn drop_chunk(&self, m: u64) {
        self.mf.release(m, CHUNK);
        self.budget.give(CHUNK);
    }

    /// Releases every chunk wholly at or past `from` (a multiple of CHUNK).
    fn release_from(&mut self, from: u64) {
        let gone: Vec<(u64, u64)> = self
            .chunks
            .range(from / CHUNK..)
            .map(|(&i, c)| (i, c.mem))
            .collect();
        let mut mems = Vec::with_capacity(gone.len());
        for (i, m) in gone {
            self.chunks.remove(&i);
            mems.push(m);
        }
        self.drop_chunks(mems);
    }

    /// Gives chunks back to the memory file. Chunks written in order
    /// mostly lie side by side there: they go back as whole runs, one
    /// release (and one hole punched) per run rather than per chunk.
    fn drop_chunks(&self, mut mems: Vec<u64>) {
        mems.sort_unstable();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for m in mems {
            match runs.last_mut() {
                Some((start, len)) if *start + *len == m => *len += CHUNK,
                _ => runs.push((m, CHUNK)),
            }
        }
        for (start, len) in runs {
            self.mf.release(start, len);
            self.budget.give(len);
        }
    }

    /// truncate: shrinking drops the chunks past the new end and zeroes the
    /// rest of the last one; growing reads back zeroes. EFBIG past the
    /// largest size.
    pub fn truncate(&mut self, size: u64) -> Result<(), Errno> {
        if size > MAX_SIZE {
            return Err(Errno::EFBIG);
        }
        if size < self.size {
            let keep = size.next_multiple_of(CHUNK);
            self.release_from(keep);
            self.zero(size, keep - size);
            if let Some(c) = self.chunks.get_mut(&(size / CHUNK)) {
                c.used = c.used.min((size % CHUNK).next_multiple_of(PAGE_SIZE));
            }
        } else if size > self.size {
            self.zero(self.size, size - self.size);
        }
        self.size = size;
        Ok(())
    }

    /// fallocate mode 0 (or FALLOC_FL_KEEP_SIZE): allocates `[off,
    /// off+len)`, growing the file to its end unless `keep_size`.
    pub fn allocate(&mut self, off: u64, len: u64, keep_size: bool) -> Result<(), Errno> {
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > MAX_SIZE {
            return Err(Errno::EFBIG);
        }
        self.ensure(off, len)?;
        if !keep_size && end > self.size {
            self.zero(self.size, end - self.size);
            self.size = end;
        }
        Ok(())
    }

    /// FALLOC_FL_PUNCH_HOLE: `[off, off+len)` reads back zero; whole
    /// chunks inside it are released. The size never changes.
    pub fn punch_hole(&mut self, off: u64, len: u64) {
        let end = off.saturating_add(len);
        let first = off.div_ceil(CHUNK);
        let last = end / CHUNK;
        let whole: Vec<(u64, u64)> = if first < last {
            self.chunks
                .range(first..last)
                .map(|(&i, c)| (i, c.mem))
                .collect()
        } else {
            Vec::new()
        };
        for (i, m) in whole {
            self.chunks.remove(&i);
            self.drop_chunk(m);
        }
        self.zero(off, len);
    }

    /// The memory-file pieces behind `[off, off+len)` (page-aligned) for a
    /// shared mapping, allocated where missing, each with a reference
    /// taken for the caller; adjacent pieces are merged.
    pub fn pages(&mut self, off: u64, len: u64) -> Result<Vec<(u64, u64)>, Errno> {
        if !off.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        off.checked_add(len)
            .filter(|&e| e <= MAX_SIZE)
            .ok_or(Errno::EOVERFLOW)?;
        self.ensure(off, len).map_err(|_| Errno::ENOMEM)?;
        let mut out: Vec<(u64, u64)> = Vec::new();
        for s in self.spans(off, len) {
            let Some(m) = s.mem else {
                return Err(Errno::ENOMEM);
            };
            match out.last_mut() {
                Some((o, l)) if *o + *l == m => *l += s.len,
                _ => out.push((m, s.len)),
            }
        }
        for &(o, l) in &out {
            self.mf.share(o, l);
        }
        Ok(out)
    }

    /// SEEK_DATA from `off`: the next allocated byte below the size; ENXIO
    /// at or past the end.
    pub fn seek_data(&self, off: u64) -> Result<u64, Errno> {
        if off >= self.size {
            return Err(Errno::ENXIO);
        }
        match self.chunks.range(off / CHUNK..).next() {
            Some((&i, _)) if i * CHUNK < self.size => Ok(off.max(i * CHUNK)),
            _ => Err(Errno::ENXIO),
        }
    }

    /// SEEK_HOLE from `off`: the next byte in no chunk, or the size; ENXIO
    /// at or past the end.
    pub fn seek_hole(&self, off: u64) -> Result<u64, Errno> {
        if off >= self.size {
            return Err(Errno::ENXIO);
        }
        let mut idx = off / CHUNK;
        while self.chunks.contains_key(&idx) {
            idx += 1;
        }
        Ok(off.max(idx * CHUNK).min(self.size))
    }
}

impl Drop for ChunkStore {
    fn drop(&mut self) {
        let mems = std::mem::take(&mut self.chunks)
            .into_values()
            .map(|c| c.mem)
            .collect();
        self.drop_chunks(mems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> ChunkStore {
        let budget = Arc::new(Budget::new(u64::MAX));
        ChunkStore::new(Arc::new(MemoryFile::new().unwrap()), budget)
    }

    fn read_all(s: &ChunkStore) -> Vec<u8> {
        let mut buf = vec![0xaa; s.size() as usize];
        let n = s.read(0, &mut buf);
        buf.truncate(n);
        buf
    }

    #[test]
    fn writes_read_back_across_chunk_boundaries() {
        let mut s = store();
        let data: Vec<u8> = (0..3 * CHUNK as usize).map(|i| i as u8).collect();
        s.write(CHUNK / 2, &data).unwrap();
        let mut buf = vec![0; data.len()];
        assert_eq!(s.read(CHUNK / 2, &mut buf), data.len());
        assert_eq!(buf, data);
        assert_eq!(s.size(), CHUNK / 2 + data.len() as u64);
    }

    #[test]
    fn holes_read_as_zero_and_allocate_nothing() {
        let mut s = store();
        s.write(5 * CHUNK, b"end").unwrap();
        assert_eq!(s.allocated(), PAGE_SIZE);
        let mut buf = [0xffu8; 16];
        assert_eq!(s.read(CHUNK, &mut buf), 16);
        assert_eq!(buf, [0; 16]);
        assert_eq!(s.spans(0, CHUNK)[0].mem, None);
    }

    #[test]
    fn reads_stop_at_the_size() {
        let mut s = store();
        s.write(0, b"hello").unwrap();
        let mut buf = [0u8; 10];
        assert_eq!(s.read(3, &mut buf), 2);
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(s.read(5, &mut buf), 0);
        assert_eq!(s.read(100, &mut buf), 0);
    }

    #[test]
    fn shrink_then_grow_reads_zeroes() {
        let mut s = store();
        s.write(0, &[7u8; 3 * CHUNK as usize]).unwrap();
        s.truncate(10).unwrap();
        assert_eq!(s.allocated(), PAGE_SIZE);
        s.truncate(2 * CHUNK).unwrap();
        let all = read_all(&s);
        assert_eq!(&all[..10], &[7u8; 10]);
        assert!(all[10..].iter().all(|&b| b == 0));
    }

    #[test]
    fn writing_past_the_end_zeroes_the_gap() {
        let mut s = store();
        s.write(0, &[1u8; 100]).unwrap();
        // Bytes past the end in the chunk (a shared mapping's writes) do not
        // survive growth.
        let m = s.spans(0, 1)[0].mem.unwrap();
        s.memfile().write(m + 200, &[9u8; 10]);
        s.write(300, b"x").unwrap();
        let all = read_all(&s);
        assert_eq!(all.len(), 301);
        assert!(all[100..300].iter().all(|&b| b == 0));
        assert_eq!(all[300], b'x');
    }

    #[test]
    fn pages_are_the_files_own_memory() {
        let mut s = store();
        s.write(0, b"shared").unwrap();
        let pages = s.pages(0, 2 * PAGE_SIZE).unwrap();
        assert_eq!(pages.iter().map(|p| p.1).sum::<u64>(), 2 * PAGE_SIZE);
        s.memfile().write(pages[0].0, b"SH");
        let mut buf = [0u8; 6];
        s.read(0, &mut buf);
        assert_eq!(&buf, b"SHared");
        // The mapping's reference keeps the pages after the file lets go.
        let mf = Arc::clone(s.memfile());
        drop(s);
        let mut buf = [0u8; 2];
        mf.read(pages[0].0, &mut buf);
        assert_eq!(&buf, b"SH");
        for (o, l) in pages {
            mf.release(o, l);
        }
    }

    #[test]
    fn pages_past_the_end_are_allocated_but_do_not_grow_the_file() {
        let mut s = store();
        let pages = s.pages(CHUNK, PAGE_SIZE).unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(s.size(), 0);
        assert_eq!(s.allocated(), PAGE_SIZE);
        assert_eq!(s.pages(1, PAGE_SIZE), Err(Errno::EINVAL));
    }

    #[test]
    fn fallocate_grows_unless_keep_size() {
        let mut s = store();
        s.allocate(0, 100, true).unwrap();
        assert_eq!((s.size(), s.allocated()), (0, PAGE_SIZE));
        s.allocate(CHUNK, 10, false).unwrap();
        assert_eq!((s.size(), s.allocated()), (CHUNK + 10, 2 * PAGE_SIZE));
    }

    #[test]
    fn punched_holes_read_zero_and_free_whole_chunks() {
        let mut s = store();
        s.write(0, &[5u8; 3 * CHUNK as usize]).unwrap();
        s.punch_hole(10, 2 * CHUNK);
        assert_eq!(s.allocated(), 2 * CHUNK);
        let all = read_all(&s);
        assert_eq!(all.len(), 3 * CHUNK as usize);
        assert!(all[..10].iter().all(|&b| b == 5));
        assert!(all[10..2 * CHUNK as usize + 10].iter().all(|&b| b == 0));
        assert!(all[2 * CHUNK as usize + 10..].iter().all(|&b| b == 5));
    }

    #[test]
    fn seek_data_and_hole_follow_chunks() {
        let mut s = store();
        s.write(2 * CHUNK, b"data").unwrap();
        s.truncate(4 * CHUNK).unwrap();
        assert_eq!(s.seek_data(0), Ok(2 * CHUNK));
        assert_eq!(s.seek_hole(0), Ok(0));
        assert_eq!(s.seek_hole(2 * CHUNK + 1), Ok(3 * CHUNK));
        assert_eq!(s.seek_data(3 * CHUNK), Err(Errno::ENXIO));
        assert_eq!(s.seek_hole(4 * CHUNK), Err(Errno::ENXIO));
    }

    #[test]
    fn the_budget_bounds_allocation_and_is_given_back() {
        let mf = Arc::new(MemoryFile::new().unwrap());
        let budget = Arc::new(Budget::new(2 * CHUNK));
        let mut a = ChunkStore::new(Arc::clone(&mf), Arc::clone(&budget));
        a.write(0, &[1u8; 2 * CHUNK as usize]).unwrap();
        let mut b = ChunkStore::new(Arc::clone(&mf), Arc::clone(&budget));
        assert_eq!(b.write(0, b"x"), Err(Errno::ENOSPC));
        assert_eq!(budget.used(), 2 * CHUNK);
        a.truncate(1).unwrap();
        b.write(0, b"x").unwrap();
        drop(a);
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn sizes_past_the_limit_are_efbig() {
        let mut s = store();
        assert_eq!(s.truncate(MAX_SIZE + 1), Err(Errno::EFBIG));
        assert_eq!(s.write(MAX_SIZE, b"x"), Err(Errno::EFBIG));
        assert_eq!(s.write(u64::MAX, b"x"), Err(Errno::EFBIG));
    }
}
