//! The VMA set: which app address ranges are mapped, with what protection,
//! backed by which range of the memory file. Pure bookkeeping: no host calls.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use platform::Prot;

use super::pagecache::MapHold;

/// What a VMA's contents came from (for /proc/PID/maps and refills).
#[derive(Clone, Debug)]
pub enum Backing {
    Anon,
    Stack,
    Heap,
    /// The vDSO's clock page, shared by every process of the sandbox.
    Vvar,
    /// The vDSO image.
    Vdso,
    /// A private or shared file mapping: the file's host fd (to refill
    /// pages dropped by MADV_DONTNEED), its offset at `Vma::start`, and its
    /// sandbox path; for a shared mapping of a page-cached file, the
    /// mapping's hold on the cache.
    File {
        fd: Option<Arc<OwnedFd>>,
        offset: u64,
        path: Arc<str>,
        dev: u64,
        ino: u64,
        cache: Option<Arc<MapHold>>,
    },
}

#[derive(Clone, Debug)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
    pub shared: bool,
    /// Memory-file offset backing `start`.
    pub mem_off: u64,
    pub backing: Backing,
    /// Copy-on-write: the pages may be shared with another process, so the
    /// stub maps them read-only and a write fault copies them first.
    pub cow: bool,
    /// Pages of a file mapping wholly past the file's end: mapped with no
    /// access, and an access is SIGBUS.
    pub beyond_eof: bool,
}

impl Vma {
    /// The protection the stub actually maps: no write while copy-on-write.
    pub fn effective_prot(&self) -> Prot {
        if self.beyond_eof {
            return Prot {
                read: false,
                write: false,
                exec: false,
            };
        }
        Prot {
            write: self.prot.write && !self.cow,
            ..self.prot
        }
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The part of this VMA from `at` on; `self` keeps the part before.
    fn split_off(&mut self, at: u64) -> Vma {
        debug_assert!(at > self.start && at < self.end);
        let delta = at - self.start;
        let mut tail = self.clone();
        tail.start = at;
        tail.mem_off += delta;
        if let Backing::File { offset, .. } = &mut tail.backing {
            *offset += delta;
        }
        self.end = at;
        tail
    }
}

#[derive(Default, Debug)]
pub struct VmaSet {
    map: BTreeMap<u64, Vma>,
}

impl VmaSet {
    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.map
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
    }

    /// Splits the VMA containing `addr` so that a VMA starts at `addr`.
    pub fn split_at(&mut self, addr: u64) {
        let key = match self.map.range(..addr).next_back() {
            Some((&k, v)) if v.end > addr => k,
            _ => return,
        };
        if let Some(v) = self.map.get_mut(&key) {
            let tail = v.split_off(addr);
            self.map.insert(addr, tail);
        }
    }

    /// Removes everything in `[start, end)`, splitting at the edges; returns
    /// the removed pieces.
    pub fn remove(&mut self, start: u64, end: u64) -> Vec<Vma> {
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(&k, _)| k).collect();
        keys.into_iter()
            .filter_map(|k| self.map.remove(&k))
            .collect()
    }

    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(self.is_free(vma.start, vma.end));
        self.map.insert(vma.start, vma);
    }

    /// Whether nothing is mapped in `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        if self.find(start).is_some() {
            return false;
        }
        self.map.range(start..end).next().is_none()
    }

    /// Whether all of `[start, end)` is mapped (no holes).
    pub fn is_covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some(v) => at = v.end,
                None => return false,
            }
        }
        true
    }

    /// The VMAs overlapping `[start, end)`, in order.
    pub fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> {
        let first = self
            .map
            .range(..=start)
            .next_back()
            .filter(|(_, v)| v.end > start)
            .map(|(&k, _)| k)
            .unwrap_or(start);
        self.map.range(first..end).map(|(_, v)| v)
    }

    /// Mutable access to the VMAs that lie wholly within `[start, end)`
    /// (split first with `split_at`).
    pub fn within_mut(&mut self, start: u64, end: u64) -> impl Iterator<Item = &mut Vma> {
        self.map.range_mut(start..end).map(|(_, v)| v)
    }

    /// The highest gap of `len` bytes ending at or below `top` and starting
    /// at or above `bottom`.
    pub fn find_gap_below(&self, len: u64, bottom: u64, top: u64) -> Option<u64> {
        let mut hi = top;
        for (_, v) in self.map.range(..top).rev() {
            if v.end <= hi && hi - v.end >= len {
                break;
            }
            hi = hi.min(v.start);
            if hi < bottom + len {
                return None;
            }
        }
        let start = hi.checked_sub(len)?;
        (start >= bottom).then_some(start)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(start: u64, end: u64) -> Vma {
        Vma {
            start,
            end,
            prot: Prot {
                read: true,
                write: true,
                exec: false,
            },
            shared: false,
            mem_off: start * 10,
            backing: Backing::Anon,
            cow: false,
            beyond_eof: false,
        }
    }

    #[test]
    fn remove_splits_at_both_edges() {
        let mut s = VmaSet::default();
        s.insert(anon(0x1000, 0x5000));
        let removed = s.remove(0x2000, 0x3000);
        assert_eq!(removed.len(), 1);
        assert_eq!((removed[0].start, removed[0].end), (0x2000, 0x3000));
        assert_eq!(removed[0].mem_off, 0x1000 * 10 + 0x1000);
        assert_eq!(s.find(0x1fff).map(|v| v.end), Some(0x2000));
        assert!(s.find(0x2000).is_none());
        let tail = s.find(0x3000).unwrap();
        assert_eq!((tail.start, tail.mem_off), (0x3000, 0x1000 * 10 + 0x2000));
    }

    #[test]
    fn gaps_are_found_top_down() {
        let mut s = VmaSet::default();
        s.insert(anon(0x8000, 0x9000));
        assert_eq!(s.find_gap_below(0x1000, 0, 0x9000), Some(0x7000));
        assert_eq!(s.find_gap_below(0x1000, 0, 0xa000), Some(0x9000));
        s.insert(anon(0x9000, 0xa000));
        assert_eq!(s.find_gap_below(0x2000, 0, 0xa000), Some(0x6000));
        assert_eq!(s.find_gap_below(0x9000, 0, 0xa000), None);
    }

    #[test]
    fn coverage_sees_holes() {
        let mut s = VmaSet::default();
        s.insert(anon(0x1000, 0x2000));
        s.insert(anon(0x3000, 0x4000));
        assert!(s.is_covered(0x1000, 0x2000));
        assert!(!s.is_covered(0x1000, 0x4000));
        assert!(!s.is_free(0x1800, 0x3800));
        assert!(s.is_free(0x2000, 0x3000));
    }
}
