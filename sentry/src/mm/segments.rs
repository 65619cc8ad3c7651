//! A checked range of app memory, resolved to the memory-file pieces behind
//! it, so file I/O can go straight between a host fd and app memory with
//! readv/writev (no bounce buffer), or be copied by synthetic files.

use std::sync::Arc;

use super::memfile::MemoryFile;

pub struct Segments {
    mf: Arc<MemoryFile>,
    segs: Vec<(u64, usize)>,
}

impl Segments {
    pub fn new(mf: Arc<MemoryFile>, segs: Vec<(u64, usize)>) -> Segments {
        Segments { mf, segs }
    }

    /// The memory file the pieces are in.
    pub fn memfile(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    /// The memory-file pieces (offset, length), in order.
    pub fn pieces(&self) -> &[(u64, usize)] {
        &self.segs
    }

    /// Total length in bytes.
    pub fn len(&self) -> usize {
        self.segs.iter().map(|s| s.1).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Host iovecs pointing into the sentry's mapping of the memory file,
    /// for readv/writev/preadv/pwritev on a host fd. Valid while `self` lives.
    pub fn iovecs(&self) -> Vec<libc::iovec> {
        self.segs
            .iter()
            .map(|&(off, len)| libc::iovec {
                iov_base: self.mf.ptr(off, len) as *mut libc::c_void,
                iov_len: len,
            })
            .collect()
    }

    /// Copies `data` into the start of the range; returns bytes copied.
    pub fn fill(&self, data: &[u8]) -> usize {
        let mut done = 0;
        for &(off, len) in &self.segs {
            if done == data.len() {
                break;
            }
            let n = len.min(data.len() - done);
            self.mf.write(off, &data[done..done + n]);
            done += n;
        }
        done
    }

    /// Copies `data` into the range starting `at` bytes in; returns bytes
    /// copied (fewer when the range ends first).
    pub fn fill_at(&self, at: usize, data: &[u8]) -> usize {
        let mut skip = at;
        let mut done = 0;
        for &(off, len) in &self.segs {
            if done == data.len() {
                break;
            }
            if skip >= len {
                skip -= len;
                continue;
            }
            let n = (len - skip).min(data.len() - done);
            self.mf.write(off + skip as u64, &data[done..done + n]);
            done += n;
            skip = 0;
        }
        done
    }

    /// Copies bytes of the range starting `at` bytes in into `buf`; returns
    /// bytes copied (fewer when the range ends first).
    pub fn read_at(&self, at: usize, buf: &mut [u8]) -> usize {
        let mut skip = at;
        let mut done = 0;
        for &(off, len) in &self.segs {
            if done == buf.len() {
                break;
            }
            if skip >= len {
                skip -= len;
                continue;
            }
            let n = (len - skip).min(buf.len() - done);
            self.mf.read(off + skip as u64, &mut buf[done..done + n]);
            done += n;
            skip = 0;
        }
        done
    }

    /// The part of the range `at` bytes in, `len` bytes long (shorter when
    /// the range ends first).
    pub fn slice(&self, at: usize, len: usize) -> Segments {
        let mut out = Vec::new();
        let mut skip = at;
        let mut left = len;
        for &(off, l) in &self.segs {
            if left == 0 {
                break;
            }
            if skip >= l {
                skip -= l;
                continue;
            }
            let n = (l - skip).min(left);
            out.push((off + skip as u64, n));
            left -= n;
            skip = 0;
        }
        Segments::new(Arc::clone(&self.mf), out)
    }

    /// Copies the whole range out into a sentry buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.len()];
        let mut done = 0;
        for &(off, len) in &self.segs {
            self.mf.read(off, &mut out[done..done + len]);
            done += len;
        }
        out
    }
}
