//! The memory manager's side of page-cached shared file mappings
//! (`mm::pagecache`): keeping the SIGBUS pages past the end of the file
//! in step with its size, finding the caches a range maps (msync), and
//! mremap, which maps the file's own pages at the new place.

use std::sync::Arc;

use platform::MemOp;

use super::{
    in_user_range, page_up, platform_err, MapRequest, MemoryManager, MmState, Placement, Source,
    MMAP_MIN, MMAP_TOP,
};
use crate::errno::Errno;
use crate::mm::pagecache::{MapHold, Mapped, PageCache};
use crate::mm::vma::{Backing, Vma};
use platform::TASK_SIZE;

/// The file offset of `v` when it maps `cache`.
fn offset_in(v: &Vma, cache: &PageCache) -> Option<u64> {
    match &v.backing {
        Backing::File {
            cache: Some(h),
            offset,
            ..
        } if std::ptr::eq(Arc::as_ptr(h.cache()), cache) => Some(*offset),
        _ => None,
    }
}

impl MemoryManager {
    /// The page-cached file `cache` is now `size` bytes long: pages of its
    /// shared mappings here wholly past the end fault with SIGBUS, and
    /// those inside it are mapped again, as on Linux.
    pub fn file_resized(&self, cache: &PageCache, size: u64) -> Result<(), Errno> {
        let eof = page_up(size).ok_or(Errno::EFBIG)?;
        let mut st = self.lock();
        self.apply_file_size(&mut st, cache, eof)
    }

    /// `file_resized` with the lock held and the end page-rounded.
    fn apply_file_size(&self, st: &mut MmState, cache: &PageCache, eof: u64) -> Result<(), Errno> {
        let ours = |v: &Vma| offset_in(v, cache);
        let splits: Vec<u64> = st
            .vmas
            .iter()
            .filter_map(|v| {
                let off = ours(v)?;
                (off < eof && eof < off + v.len()).then(|| v.start + (eof - off))
            })
            .collect();
        for at in splits {
            st.vmas.split_at(at);
        }
        let starts: Vec<u64> = st
            .vmas
            .iter()
            .filter(|v| ours(v).is_some())
            .map(|v| v.start)
            .collect();
        let mut ops = Vec::new();
        let mut raised = false;
        for s in starts {
            let Some(v) = st.vmas.within_mut(s, s + 1).next() else {
                continue;
            };
            let beyond = ours(v).is_some_and(|off| off >= eof);
            if beyond == v.beyond_eof {
                continue;
            }
            raised |= !beyond;
            v.beyond_eof = beyond;
            ops.push(MemOp::Protect {
                addr: v.start,
                len: v.len(),
                prot: v.effective_prot(),
            });
        }
        if raised {
            st.upgrades += 1;
        }
        self.space.apply(&ops).map_err(platform_err)
    }

    /// The page caches of the shared file mappings in `[addr, addr+len)`
    /// (msync), each once.
    pub fn page_caches(&self, addr: u64, len: u64) -> Vec<Arc<PageCache>> {
        let end = addr.saturating_add(len);
        let st = self.lock();
        let mut out: Vec<Arc<PageCache>> = Vec::new();
        for v in st.vmas.overlapping(addr, end) {
            if let Backing::File { cache: Some(h), .. } = &v.backing {
                if !out.iter().any(|c| Arc::ptr_eq(c, h.cache())) {
                    out.push(Arc::clone(h.cache()));
                }
            }
        }
        out
    }

    /// Records this address space with the page cache of each of its
    /// shared file mappings (a forked child's, before it runs).
    pub fn attach_page_caches(self: &Arc<Self>) {
        let caches = self.page_caches(0, TASK_SIZE);
        for c in caches {
            c.attach(self);
        }
    }

    /// mremap(2) growing or moving a page-cached shared file mapping
    /// `[old, old_end)` held by `hold`: the whole new length maps the
    /// file's own pages from the same offset, in place when the space
    /// after is free, else (`may_move`) wherever there is room, or at
    /// `fixed`.
    pub(super) fn remap_cached(
        &self,
        st: &mut MmState,
        hold: &Arc<MapHold>,
        (old, old_end): (u64, u64),
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        let cache = hold.cache();
        let first = st.vmas.find(old).cloned().ok_or(Errno::EFAULT)?;
        let file_off = offset_in(&first, cache).ok_or(Errno::EFAULT)?;
        // The old range must be one mapping of the file, in file order.
        let contiguous = st.vmas.is_covered(old, old_end)
            && st
                .vmas
                .overlapping(old, old_end)
                .all(|v| offset_in(v, cache) == Some(file_off + (v.start - first.start)));
        if !contiguous {
            return Err(Errno::EFAULT);
        }
        let start_off = file_off + (old - first.start);
        let new_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
        let dest = match fixed {
            Some(a) => {
                let e = a.checked_add(new_len).ok_or(Errno::EINVAL)?;
                if !a.is_multiple_of(crate::mm::PAGE_SIZE)
                    || !in_user_range(a, e)
                    || (a < old_end && e > old)
                {
                    return Err(Errno::EINVAL);
                }
                a
            }
            None if in_user_range(old, new_end) && st.vmas.is_free(old_end, new_end) => old,
            None if may_move => st
                .vmas
                .find_gap_below(new_len, MMAP_MIN, MMAP_TOP)
                .ok_or(Errno::ENOMEM)?,
            None => return Err(Errno::ENOMEM),
        };
        // The old mapping holds the cache, so it is not retired.
        let Mapped {
            pieces,
            hold: new_hold,
        } = cache
            .map_again(start_off, new_len, hold.writable())?
            .ok_or(Errno::ENOMEM)?;
        let mut backing = first.backing.clone();
        if let Backing::File {
            offset, cache: c, ..
        } = &mut backing
        {
            *offset = start_off;
            *c = Some(new_hold);
        }
        let req = MapRequest {
            placement: Placement::Fixed(dest),
            len: new_len,
            prot: first.prot,
            shared: true,
            source: Source::Pages(pieces.clone()),
            backing: Some(backing),
        };
        if let Err(e) = self.map_pages(st, &req, dest, new_len, &pieces) {
            for (o, l) in pieces {
                self.mf.release(o, l);
            }
            return Err(e);
        }
        if dest != old {
            self.unmap_locked(st, old, old_end)?;
        }
        let eof = page_up(cache.size()).ok_or(Errno::EFBIG)?;
        self.apply_file_size(st, cache, eof)?;
        Ok(dest)
    }
}
