//! The memory manager of one address space: mmap, munmap, mprotect, brk,
//! mremap and madvise over the VMA set, with every change mirrored into the
//! platform's address space; and checked copies between the sentry and app
//! memory through the sentry's own mapping of the memory file.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use platform::{AddressSpace, MemOp, Prot, STUB_BASE, STUB_END, TASK_SIZE};

use super::memfile::{MemoryFile, PAGE_SIZE};
use super::vma::{Backing, Vma, VmaSet};
use crate::errno::Errno;

mod cached;

/// Top of the app's main stack.
pub const STACK_TOP: u64 = 0x7ffe_0000_0000;
/// Size of the app's main stack mapping (RLIMIT_STACK's default).
pub const STACK_SIZE: u64 = 8 << 20;
/// Where top-down mmap placement starts (below the stub page).
pub const MMAP_TOP: u64 = STUB_BASE;
/// Lowest address an mmap may use (vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x10000;

pub fn page_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE_SIZE - 1).map(|v| v & !(PAGE_SIZE - 1))
}

pub fn page_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

/// Where a new mapping's contents come from.
pub enum Source<'a> {
    Anon,
    /// A file: its host fd (read now for private mappings), the offset, and
    /// identity for /proc/PID/maps.
    File {
        fd: Arc<OwnedFd>,
        offset: u64,
        path: &'a str,
        dev: u64,
        ino: u64,
    },
    /// Memory-file pieces that already hold the contents (offset, length;
    /// page-aligned, in order, summing to the page-rounded length), mapped
    /// as they are: a MAP_SHARED mapping of a tmpfs file. The caller holds
    /// one reference on each piece; the VMAs take it over on success (and
    /// drop it when unmapped); on failure it stays the caller's.
    Pages(Vec<(u64, u64)>),
}

/// Where to put a new mapping.
#[derive(Clone, Copy, Debug)]
pub enum Placement {
    /// Exactly here, replacing what is there (MAP_FIXED).
    Fixed(u64),
    /// Exactly here, but fail with EEXIST if anything is there.
    FixedNoReplace(u64),
    /// Here if free, anywhere otherwise.
    Hint(u64),
}

pub struct MapRequest<'a> {
    pub placement: Placement,
    pub len: u64,
    pub prot: Prot,
    pub shared: bool,
    pub source: Source<'a>,
    pub backing: Option<Backing>,
}

/// The first page of `[addr, end)` that maps past the end of the file
/// (mapped from `offset`), if any.
fn file_end_addr(fd: &OwnedFd, offset: u64, addr: u64, end: u64) -> Option<u64> {
    // SAFETY: stat is plain data; fstat fills it for an fd we hold.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid and writable; the fd is open for our lifetime.
    if unsafe { libc::fstat(std::os::fd::AsRawFd::as_raw_fd(fd), &mut st) } != 0 {
        return None;
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let size_pages = page_up(st.st_size.max(0) as u64)?;
    let eof = addr.checked_add(size_pages.saturating_sub(offset))?;
    (eof < end).then_some(eof)
}

/// A forked address space, before the child maps it.
pub struct MmImage {
    vmas: Vec<Vma>,
    brk_start: u64,
    brk: u64,
}

struct MmState {
    vmas: VmaSet,
    brk_start: u64,
    brk: u64,
    /// Counts the times host page protections were raised (copy-on-write
    /// broken, mprotect): a fault taken before the latest raise may be
    /// stale (see `handle_fault`).
    upgrades: u64,
}

pub struct MemoryManager {
    mf: Arc<MemoryFile>,
    space: Arc<dyn AddressSpace>,
    state: Mutex<MmState>,
}

fn platform_err(e: platform::PlatformError) -> Errno {
    tracing::error!("platform: {e}");
    Errno::ENOMEM
}

fn in_user_range(start: u64, end: u64) -> bool {
    end <= TASK_SIZE && !(start < STUB_END && end > STUB_BASE)
}

impl MemoryManager {
    pub fn new(mf: Arc<MemoryFile>, space: Arc<dyn AddressSpace>) -> MemoryManager {
        MemoryManager {
            mf,
            space,
            state: Mutex::new(MmState {
                vmas: VmaSet::default(),
                brk_start: 0,
                brk: 0,
                upgrades: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, MmState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn space(&self) -> &Arc<dyn AddressSpace> {
        &self.space
    }

    pub fn memfile(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    /// Maps a new region; returns its address.
    pub fn map(&self, req: MapRequest<'_>) -> Result<u64, Errno> {
        let len = page_up(req.len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut st = self.lock();
        let addr = match req.placement {
            Placement::Fixed(a) | Placement::FixedNoReplace(a) => {
                if a % PAGE_SIZE != 0 {
                    return Err(Errno::EINVAL);
                }
                let end = a.checked_add(len).ok_or(Errno::ENOMEM)?;
                if !in_user_range(a, end) || a < MMAP_MIN {
                    return Err(Errno::ENOMEM);
                }
                if matches!(req.placement, Placement::FixedNoReplace(_)) && !st.vmas.is_free(a, end)
                {
                    return Err(Errno::EEXIST);
                }
                a
            }
            Placement::Hint(h) => {
                let h = page_down(h);
                match h.checked_add(len) {
                    Some(end)
                        if h >= MMAP_MIN && in_user_range(h, end) && st.vmas.is_free(h, end) =>
                    {
                        h
                    }
                    _ => st
                        .vmas
                        .find_gap_below(len, MMAP_MIN, MMAP_TOP)
                        .ok_or(Errno::ENOMEM)?,
                }
            }
        };
        let end = addr + len;
        if let Source::Pages(pieces) = &req.source {
            return self.map_pages(&mut st, &req, addr, len, pieces);
        }
        if let Source::File { fd, offset, .. } = &req.source {
            if let Some(c) = self.mf.files.get(&self.mf, fd.as_fd())? {
                return self.map_cached(&mut st, &req, addr, len, c, *offset);
            }
        }
        let mem_off = self.mf.allocate(len)?;
        let backing = match &req.source {
            Source::Anon | Source::Pages(_) => req.backing.clone().unwrap_or(Backing::Anon),
            Source::File {
                fd,
                offset,
                path,
                dev,
                ino,
            } => {
                if let Err(e) = self.mf.fill_from_fd(fd.as_fd(), *offset, mem_off, len) {
                    self.mf.release(mem_off, len);
                    return Err(e);
                }
                Backing::File {
                    fd: Some(fd.clone()),
                    offset: *offset,
                    path: Arc::from(*path),
                    dev: *dev,
                    ino: *ino,
                    cache: None,
                }
            }
        };
        // Replace whatever was there (MAP_FIXED semantics).
        for old in st.vmas.remove(addr, end) {
            self.mf.release(old.mem_off, old.len());
        }
        if let Err(e) = self.space.map(addr, len, req.prot, mem_off) {
            self.mf.release(mem_off, len);
            return Err(platform_err(e));
        }
        let eof = match &req.source {
            Source::File { fd, offset, .. } => file_end_addr(fd, *offset, addr, end),
            _ => None,
        };
        st.vmas.insert(Vma {
            start: addr,
            end,
            prot: req.prot,
            shared: req.shared,
            mem_off,
            backing,
            cow: false,
            beyond_eof: false,
        });
        // Pages wholly past the end of the file fault with SIGBUS, as on Linux.
        if let Some(e) = eof {
            st.vmas.split_at(e);
            if let Some(v) = st.vmas.within_mut(e, e + 1).next() {
                v.beyond_eof = true;
            }
            let none = Prot {
                read: false,
                write: false,
                exec: false,
            };
            self.space.protect(e, end - e, none).map_err(platform_err)?;
        }
        Ok(addr)
    }

    /// Maps `pieces` (`Source::Pages`) at `addr` as consecutive VMAs, one
    /// per piece, each keeping its memory-file offset.
    fn map_pages(
        &self,
        st: &mut MmState,
        req: &MapRequest<'_>,
        addr: u64,
        len: u64,
        pieces: &[(u64, u64)],
    ) -> Result<u64, Errno> {
        let aligned = pieces
            .iter()
            .all(|&(o, l)| l > 0 && o.is_multiple_of(PAGE_SIZE) && l.is_multiple_of(PAGE_SIZE));
        if !aligned || pieces.iter().map(|p| p.1).sum::<u64>() != len {
            return Err(Errno::EINVAL);
        }
        let backing = req.backing.clone().unwrap_or(Backing::Anon);
        for old in st.vmas.remove(addr, addr + len) {
            self.mf.release(old.mem_off, old.len());
        }
        // Private pages are copy-on-write (the vDSO image): never mapped
        // writable, copied on the first write.
        let cow = !req.shared;
        let prot = Prot {
            write: req.prot.write && !cow,
            ..req.prot
        };
        let mut at = addr;
        for &(mem_off, l) in pieces {
            if let Err(e) = self.space.map(at, l, prot, mem_off) {
                // Undo: the references stay the caller's.
                st.vmas.remove(addr, at);
                let _ = self.space.unmap(addr, at - addr);
                return Err(platform_err(e));
            }
            let mut b = backing.clone();
            if let Backing::File { offset, .. } = &mut b {
                *offset += at - addr;
            }
            st.vmas.insert(Vma {
                start: at,
                end: at + l,
                prot: req.prot,
                shared: req.shared,
                mem_off,
                backing: b,
                cow,
                beyond_eof: false,
            });
            at += l;
        }
        Ok(addr)
    }

    /// Maps a file through the file cache: the pages inside the file share
    /// the cached copy (copy-on-write), pages wholly past its end are
    /// private zero pages that fault with SIGBUS.
    fn map_cached(
        &self,
        st: &mut MmState,
        req: &MapRequest<'_>,
        addr: u64,
        len: u64,
        c: super::filecache::Cached,
        offset: u64,
    ) -> Result<u64, Errno> {
        let Source::File {
            fd, path, dev, ino, ..
        } = &req.source
        else {
            return Err(Errno::EINVAL);
        };
        let end = addr + len;
        let file_pages = page_up(c.size).ok_or(Errno::EINVAL)?;
        let inside = file_pages.saturating_sub(offset).min(len);
        let tail = len - inside;
        let tail_off = if tail > 0 {
            Some(self.mf.allocate(tail)?)
        } else {
            None
        };
        for old in st.vmas.remove(addr, end) {
            self.mf.release(old.mem_off, old.len());
        }
        let backing = Backing::File {
            fd: Some(fd.clone()),
            offset,
            path: Arc::from(*path),
            dev: *dev,
            ino: *ino,
            cache: None,
        };
        if inside > 0 {
            let mem_off = c.off + offset;
            self.mf.share(mem_off, inside);
            let v = Vma {
                start: addr,
                end: addr + inside,
                prot: req.prot,
                shared: false,
                mem_off,
                backing: backing.clone(),
                cow: true,
                beyond_eof: false,
            };
            if let Err(e) = self.space.map(addr, inside, v.effective_prot(), mem_off) {
                self.mf.release(mem_off, inside);
                if let Some(t) = tail_off {
                    self.mf.release(t, tail);
                }
                return Err(platform_err(e));
            }
            st.vmas.insert(v);
        }
        if let Some(t) = tail_off {
            let start = addr + inside;
            let mut b = backing;
            if let Backing::File { offset: o, .. } = &mut b {
                *o += inside;
            }
            let v = Vma {
                start,
                end,
                prot: req.prot,
                shared: false,
                mem_off: t,
                backing: b,
                cow: false,
                beyond_eof: true,
            };
            if let Err(e) = self.space.map(start, tail, v.effective_prot(), t) {
                self.mf.release(t, tail);
                return Err(platform_err(e));
            }
            st.vmas.insert(v);
        }
        Ok(addr)
    }

    /// Whether `addr` lies in pages of a file mapping past the file's end.
    pub fn beyond_eof(&self, addr: u64) -> bool {
        self.lock().vmas.find(addr).is_some_and(|v| v.beyond_eof)
    }

    /// munmap(2).
    pub fn unmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end > TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        let mut st = self.lock();
        self.unmap_locked(&mut st, addr, end)
    }

    fn unmap_locked(&self, st: &mut MmState, addr: u64, end: u64) -> Result<(), Errno> {
        let removed = st.vmas.remove(addr, end);
        if removed.is_empty() {
            return Ok(());
        }
        let lo = removed.first().map_or(addr, |v| v.start);
        let hi = removed.last().map_or(end, |v| v.end);
        self.space.unmap(lo, hi - lo).map_err(platform_err)?;
        for v in removed {
            self.mf.release(v.mem_off, v.len());
        }
        Ok(())
    }

    /// mprotect(2).
    pub fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let mut st = self.lock();
        if !st.vmas.is_covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        // The vDSO's clock page stays read-only, as Linux's [vvar] does.
        let vvar = |v: &Vma| matches!(v.backing, Backing::Vvar);
        if (prot.write || prot.exec) && st.vmas.overlapping(addr, end).any(vvar) {
            return Err(Errno::EACCES);
        }
        // A shared mapping of a file opened read-only stays unwritable.
        let read_only_file =
            |v: &Vma| matches!(&v.backing, Backing::File { cache: Some(h), .. } if !h.writable());
        if prot.write && st.vmas.overlapping(addr, end).any(read_only_file) {
            return Err(Errno::EACCES);
        }
        st.vmas.split_at(addr);
        st.vmas.split_at(end);
        let mut any_cow = false;
        for v in st.vmas.within_mut(addr, end) {
            v.prot = prot;
            any_cow |= v.cow || v.beyond_eof;
        }
        st.upgrades += 1;
        if !any_cow {
            return self.space.protect(addr, len, prot).map_err(platform_err);
        }
        let ops: Vec<MemOp> = st
            .vmas
            .overlapping(addr, end)
            .map(|v| MemOp::Protect {
                addr: v.start,
                len: v.len(),
                prot: v.effective_prot(),
            })
            .collect();
        self.space.apply(&ops).map_err(platform_err)
    }

    /// Sets the initial program break (just past the loaded executable).
    pub fn set_brk_start(&self, at: u64) {
        let mut st = self.lock();
        st.brk_start = at;
        st.brk = at;
    }

    /// brk(2): returns the new (or, on failure, the unchanged) break.
    pub fn brk(&self, want: u64) -> u64 {
        let mut st = self.lock();
        let cur = st.brk;
        if want < st.brk_start {
            return cur;
        }
        let (Some(old_end), Some(new_end)) = (page_up(cur), page_up(want)) else {
            return cur;
        };
        if new_end > old_end {
            if !in_user_range(old_end, new_end) || !st.vmas.is_free(old_end, new_end) {
                return cur;
            }
            let Ok(mem_off) = self.mf.allocate(new_end - old_end) else {
                return cur;
            };
            let prot = Prot {
                read: true,
                write: true,
                exec: false,
            };
            if self
                .space
                .map(old_end, new_end - old_end, prot, mem_off)
                .is_err()
            {
                self.mf.release(mem_off, new_end - old_end);
                return cur;
            }
            st.vmas.insert(Vma {
                start: old_end,
                end: new_end,
                prot,
                shared: false,
                mem_off,
                backing: Backing::Heap,
                cow: false,
                beyond_eof: false,
            });
        } else if new_end < old_end && self.unmap_locked(&mut st, new_end, old_end).is_err() {
            return cur;
        }
        st.brk = want;
        want
    }

    /// mremap(2) without MREMAP_DONTUNMAP.
    pub fn remap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        if !old.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut st = self.lock();
        let vma = st.vmas.find(old).cloned().ok_or(Errno::EFAULT)?;
        let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
        let growing = fixed.is_some() || new_len > old_len;
        if let (true, Backing::File { cache: Some(h), .. }) = (growing, &vma.backing) {
            let hold = Arc::clone(h);
            return self.remap_cached(&mut st, &hold, (old, old_end), new_len, may_move, fixed);
        }
        // The old range must lie in one of Linux's VMAs. An anonymous
        // mapping grown in place is one VMA there but several pieces here
        // (each its own memory-file range), so it may cross such seams.
        let pieces: Vec<Vma> = if old_end > vma.end {
            let alike = |v: &Vma| {
                matches!(v.backing, Backing::Anon) && v.prot == vma.prot && v.shared == vma.shared
            };
            let pieces: Vec<Vma> = st.vmas.overlapping(old, old_end).cloned().collect();
            if !alike(&vma) || !st.vmas.is_covered(old, old_end) || !pieces.iter().all(alike) {
                return Err(Errno::EFAULT);
            }
            pieces
        } else {
            vec![vma.clone()]
        };
        let last_end = pieces.last().map_or(vma.end, |p| p.end);
        if fixed.is_none() {
            if new_len <= old_len {
                self.unmap_locked(&mut st, old + new_len, old_end)?;
                return Ok(old);
            }
            // Grow in place when the VMA ends here and the space after is free.
            let new_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
            if old_end == last_end
                && in_user_range(old, new_end)
                && st.vmas.is_free(old_end, new_end)
            {
                let extra = new_end - old_end;
                let mem_off = self.mf.allocate(extra)?;
                if let Err(e) = self.space.map(old_end, extra, vma.prot, mem_off) {
                    self.mf.release(mem_off, extra);
                    return Err(platform_err(e));
                }
                let last = pieces.last().unwrap_or(&vma);
                let mut tail = last.clone();
                tail.cow = false;
                tail.start = old_end;
                tail.end = new_end;
                tail.mem_off = mem_off;
                if let Backing::File { offset, .. } = &mut tail.backing {
                    *offset += old_end - last.start;
                }
                st.vmas.insert(tail);
                return Ok(old);
            }
            if !may_move {
                return Err(Errno::ENOMEM);
            }
        }
        // Move: a new range, the old contents copied over, the old range gone.
        let dest = match fixed {
            Some(a) => {
                if a % PAGE_SIZE != 0 {
                    return Err(Errno::EINVAL);
                }
                let e = a.checked_add(new_len).ok_or(Errno::EINVAL)?;
                if !in_user_range(a, e) || (a < old_end && e > old) {
                    return Err(Errno::EINVAL);
                }
                let _ = self.unmap_locked(&mut st, a, e);
                a
            }
            None => st
                .vmas
                .find_gap_below(new_len, MMAP_MIN, MMAP_TOP)
                .ok_or(Errno::ENOMEM)?,
        };
        let mem_off = self.mf.allocate(new_len)?;
        let keep_end = old + old_len.min(new_len);
        for p in &pieces {
            let (from, to) = (p.start.max(old), p.end.min(keep_end));
            if from < to {
                let src_off = p.mem_off + (from - p.start);
                self.mf
                    .copy_within(src_off, mem_off + (from - old), to - from);
            }
        }
        let grow_prot = vma.prot;
        if let Err(e) = self.space.map(dest, new_len, grow_prot, mem_off) {
            self.mf.release(mem_off, new_len);
            return Err(platform_err(e));
        }
        self.unmap_locked(&mut st, old, old_end)?;
        let mut moved = vma.clone();
        if let Backing::File { offset, .. } = &mut moved.backing {
            *offset += old - vma.start;
        }
        moved.start = dest;
        moved.end = dest + new_len;
        moved.mem_off = mem_off;
        moved.cow = false;
        st.vmas.insert(moved);
        Ok(dest)
    }

    /// madvise(MADV_DONTNEED): private anonymous pages read back as zero,
    /// private file pages as the file's contents again.
    pub fn dont_need(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        let mut st = self.lock();
        if !st.vmas.is_covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        // Pages shared with another process get a private copy first, so
        // dropping them does not touch the other's memory.
        let cow: Vec<(u64, u64)> = st
            .vmas
            .overlapping(addr, end)
            .filter(|v| !v.shared && self.mf.is_shared(v.mem_off, v.len()))
            .map(|v| (v.start.max(addr), v.end.min(end)))
            .collect();
        for (s, e) in cow {
            self.break_cow(&mut st, s, e)?;
        }
        for v in st.vmas.overlapping(addr, end) {
            if v.shared {
                continue;
            }
            let s = v.start.max(addr);
            let e = v.end.min(end);
            let off = v.mem_off + (s - v.start);
            self.mf.punch(off, e - s);
            if let Backing::File {
                fd: Some(fd),
                offset,
                ..
            } = &v.backing
            {
                self.mf
                    .fill_from_fd(fd.as_fd(), offset + (s - v.start), off, e - s)?;
            }
        }
        Ok(())
    }

    /// Whether every page of `[addr, addr+len)` is mapped.
    pub fn is_mapped(&self, addr: u64, len: u64) -> Result<bool, Errno> {
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        Ok(self.lock().vmas.is_covered(addr, end))
    }

    /// Checks that `[addr, addr+len)` is mapped with the access wanted and
    /// returns the memory-file pieces that back it, in order.
    pub fn translate(
        &self,
        addr: u64,
        len: usize,
        write: bool,
    ) -> Result<Vec<(u64, usize)>, Errno> {
        let mut out = Vec::new();
        if len == 0 {
            return Ok(out);
        }
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut st = self.lock();
        if write {
            let cow: Vec<(u64, u64)> = st
                .vmas
                .overlapping(addr, end)
                .filter(|v| v.cow && v.prot.write)
                .map(|v| {
                    (
                        page_down(v.start.max(addr)),
                        v.end.min(page_up(end).unwrap_or(v.end)),
                    )
                })
                .collect();
            for (s, e) in cow {
                self.break_cow(&mut st, s, e)?;
            }
        }
        let mut at = addr;
        while at < end {
            let v = st.vmas.find(at).ok_or(Errno::EFAULT)?;
            let ok = !v.beyond_eof && if write { v.prot.write } else { v.prot.read };
            if !ok {
                return Err(Errno::EFAULT);
            }
            let n = v.end.min(end) - at;
            let off = v.mem_off + (at - v.start);
            match out.last_mut() {
                Some((o, l)) if *o + *l as u64 == off => *l += n as usize,
                _ => out.push((off, n as usize)),
            }
            at += n;
        }
        Ok(out)
    }

    /// Copies app memory at `addr` into `buf`.
    pub fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0;
        for (off, n) in self.translate(addr, buf.len(), false)? {
            self.mf.read(off, &mut buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Copies `buf` into app memory at `addr`.
    pub fn copy_out(&self, addr: u64, buf: &[u8]) -> Result<(), Errno> {
        let mut done = 0;
        for (off, n) in self.translate(addr, buf.len(), true)? {
            self.mf.write(off, &buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Writes `buf` into app memory regardless of protection (the loader
    /// filling read-only pages, the kernel building a stack).
    pub fn poke(&self, addr: u64, buf: &[u8]) -> Result<(), Errno> {
        let end = addr.checked_add(buf.len() as u64).ok_or(Errno::EFAULT)?;
        let mut st = self.lock();
        let cow: Vec<(u64, u64)> = st
            .vmas
            .overlapping(addr, end)
            .filter(|v| v.cow)
            .map(|v| {
                (
                    page_down(v.start.max(addr)),
                    v.end.min(page_up(end).unwrap_or(v.end)),
                )
            })
            .collect();
        for (s, e) in cow {
            self.break_cow(&mut st, s, e)?;
        }
        let mut at = addr;
        while at < end {
            let v = st.vmas.find(at).ok_or(Errno::EFAULT)?;
            let n = v.end.min(end) - at;
            let done = (at - addr) as usize;
            self.mf
                .write(v.mem_off + (at - v.start), &buf[done..done + n as usize]);
            at += n;
        }
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    /// ENAMETOOLONG when no NUL comes within `max`.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut at = addr;
        loop {
            // Read up to the end of the current page.
            let chunk = (PAGE_SIZE - (at % PAGE_SIZE)) as usize;
            let mut buf = vec![0u8; chunk];
            self.copy_in(at, &mut buf)?;
            if let Some(p) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..p]);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            at += chunk as u64;
        }
    }

    /// Gives `[start, end)` (page-aligned, mapped) private pages: pages
    /// still shared with another process are copied, the rest just become
    /// writable again.
    fn break_cow(&self, st: &mut MmState, start: u64, end: u64) -> Result<(), Errno> {
        st.upgrades += 1;
        st.vmas.split_at(start);
        st.vmas.split_at(end);
        let pieces: Vec<u64> = st.vmas.overlapping(start, end).map(|v| v.start).collect();
        for s in pieces {
            let Some(v) = st.vmas.within_mut(s, s + 1).next() else {
                continue;
            };
            let len = v.len();
            if self.mf.is_shared(v.mem_off, len) {
                let new = self.mf.allocate(len)?;
                self.mf.copy_within(v.mem_off, new, len);
                let prot = Vma {
                    cow: false,
                    ..v.clone()
                }
                .effective_prot();
                if let Err(e) = self.space.map(v.start, len, prot, new) {
                    self.mf.release(new, len);
                    return Err(platform_err(e));
                }
                self.mf.release(v.mem_off, len);
                v.mem_off = new;
            } else if v.cow {
                let prot = Vma {
                    cow: false,
                    ..v.clone()
                }
                .effective_prot();
                self.space
                    .protect(v.start, len, prot)
                    .map_err(platform_err)?;
            }
            v.cow = false;
        }
        Ok(())
    }

    /// Where the protection raises stand: taken by a task before it runs
    /// app code, and handed to `handle_fault` for a fault taken there.
    pub fn fault_epoch(&self) -> u64 {
        self.lock().upgrades
    }

    /// A fault at `addr`, taken in app code entered at `epoch`
    /// (`fault_epoch`): handled when it hit a copy-on-write page (copied,
    /// in a 64 KiB chunk around it), or when another thread raised
    /// protections since (the fault may predate the raise, as when two
    /// threads write one copy-on-write page and the other broke it first:
    /// the access runs again, and a real fault comes back with no raise in
    /// between); Err when it is a real fault.
    pub fn handle_fault(&self, addr: u64, epoch: u64) -> Result<(), Errno> {
        const CHUNK: u64 = 16 * PAGE_SIZE;
        let mut st = self.lock();
        let stale = st.upgrades != epoch;
        let (vs, ve) = match st.vmas.find(addr) {
            Some(v) if v.cow && v.prot.write => (v.start, v.end),
            Some(v) if stale && v.effective_prot().bits() != 0 => return Ok(()),
            _ => return Err(Errno::EFAULT),
        };
        let s = (addr & !(CHUNK - 1)).max(vs);
        let e = ((addr & !(CHUNK - 1)) + CHUNK).min(ve);
        self.break_cow(&mut st, s, e)
    }

    /// Forks this address space: every page is shared with the child and
    /// private writable pages become copy-on-write on both sides. Returns
    /// the child's VMAs and break, to be mapped by `from_image` on the
    /// child's own thread.
    pub fn fork_image(&self) -> Result<MmImage, Errno> {
        let mut st = self.lock();
        let mut protect = Vec::new();
        let starts: Vec<u64> = st.vmas.iter().map(|v| v.start).collect();
        for s in starts {
            let Some(v) = st.vmas.within_mut(s, s + 1).next() else {
                continue;
            };
            self.mf.share(v.mem_off, v.len());
            if !v.shared && v.prot.write && !v.cow {
                v.cow = true;
                protect.push((v.start, v.len(), v.effective_prot()));
            }
        }
        let ops: Vec<MemOp> = protect
            .into_iter()
            .map(|(addr, len, prot)| MemOp::Protect { addr, len, prot })
            .collect();
        self.space.apply(&ops).map_err(platform_err)?;
        Ok(MmImage {
            vmas: st.vmas.iter().cloned().collect(),
            brk_start: st.brk_start,
            brk: st.brk,
        })
    }

    /// A child's memory manager over `space`, mapping every VMA of `image`.
    pub fn from_image(
        mf: Arc<MemoryFile>,
        space: Arc<dyn AddressSpace>,
        image: MmImage,
    ) -> Result<MemoryManager, Errno> {
        let mut vmas = VmaSet::default();
        let ops: Vec<MemOp> = image
            .vmas
            .iter()
            .map(|v| MemOp::Map {
                addr: v.start,
                len: v.len(),
                prot: v.effective_prot(),
                offset: v.mem_off,
            })
            .collect();
        space.apply(&ops).map_err(platform_err)?;
        for v in image.vmas {
            vmas.insert(v);
        }
        Ok(MemoryManager {
            mf,
            space,
            state: Mutex::new(MmState {
                vmas,
                brk_start: image.brk_start,
                brk: image.brk,
                upgrades: 0,
            }),
        })
    }

    /// A copy of the VMA list (for /proc/PID/maps and diagnostics).
    pub fn vmas(&self) -> Vec<Vma> {
        self.lock().vmas.iter().cloned().collect()
    }
}

impl Drop for MemoryManager {
    fn drop(&mut self) {
        let st = match self.state.get_mut() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        for v in st.vmas.iter() {
            self.mf.release(v.mem_off, v.len());
        }
    }
}
