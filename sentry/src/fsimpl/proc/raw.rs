//! The unsafe edge of procfs: the host calls behind /proc's numbers.
//! mincore(2) on the sentry's own mapping of the memory file (how much of a
//! VMA is resident) and sysinfo(2) (the host's memory totals). Neither
//! reads or writes app memory.

use std::sync::Arc;

use super::format::MemInfo;
use crate::mm::{MemoryFile, PAGE_SIZE};

/// Pages asked about per mincore call (bounds the vector it fills).
const CHUNK_PAGES: u64 = 16 * 1024;

/// Bytes of the memory file's `[off, off + len)` that are in memory.
pub(super) fn resident_bytes(mf: &Arc<MemoryFile>, off: u64, len: u64) -> u64 {
    if !off.is_multiple_of(PAGE_SIZE) {
        return 0;
    }
    let pages = len.div_ceil(PAGE_SIZE);
    let mut vec = vec![0u8; CHUNK_PAGES.min(pages) as usize];
    let mut resident = 0;
    let mut done = 0;
    while done < pages {
        let n = CHUNK_PAGES.min(pages - done);
        let bytes = n * PAGE_SIZE;
        let Ok(blen) = usize::try_from(bytes) else {
            return resident;
        };
        let addr = mf.ptr(off + done * PAGE_SIZE, blen);
        // mincore only reports residency into `vec` (room for `n` entries);
        // nothing is read or written through `addr`.
        // SAFETY: `addr..addr+blen` lies in the sentry's memory-file mapping
        // (MemoryFile::ptr checks the range) and is page aligned.
        let r = unsafe { libc::mincore(addr.cast(), blen, vec.as_mut_ptr()) };
        if r != 0 {
            return resident;
        }
        resident += vec[..n as usize].iter().filter(|&&b| b & 1 != 0).count() as u64 * PAGE_SIZE;
        done += n;
    }
    resident
}

/// The host's memory totals (sysinfo(2)), in bytes.
pub(super) fn host_meminfo() -> MemInfo {
    // SAFETY: an all-zero struct sysinfo is a valid value of plain integers.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a valid, writable struct sysinfo.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return MemInfo::default();
    }
    let unit = u64::from(si.mem_unit.max(1));
    MemInfo {
        total: si.totalram * unit,
        free: si.freeram * unit,
        buffers: si.bufferram * unit,
        shared: si.sharedram * unit,
        swap_total: si.totalswap * unit,
        swap_free: si.freeswap * unit,
    }
}
