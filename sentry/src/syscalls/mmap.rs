//! Memory syscalls: mmap, munmap, mprotect, brk, mremap, madvise.

use platform::Prot;

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::mm::manager::page_up;
use crate::mm::vma::Backing;
use crate::mm::{MapRequest, Placement, Source, PAGE_SIZE};
use crate::vfs::FileDescription;
use std::sync::Arc;

use crate::fsimpl::gofer::{GoferFile, SharedSource};
use crate::mm::pagecache::{self, Mapped};

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_mmap,
        mmap,
        Support::Full,
        &[Hex, Hex, Hex, Hex, Fd, Hex],
        "",
    );
    t.set(libc::SYS_munmap, munmap, Support::Full, &[Hex, Hex], "");
    t.set(
        libc::SYS_mprotect,
        mprotect,
        Support::Full,
        &[Hex, Hex, Hex],
        "",
    );
    t.set(libc::SYS_brk, brk, Support::Full, &[Hex], "");
    t.set(
        libc::SYS_mremap,
        mremap,
        Support::Partial,
        &[Hex, Hex, Hex, Hex, Hex],
        "MREMAP_DONTUNMAP unsupported",
    );
    t.set(
        libc::SYS_madvise,
        madvise,
        Support::Partial,
        &[Hex, Hex, Int],
        "MADV_DONTNEED acts; other advice is accepted and ignored",
    );
    t.set(
        libc::SYS_msync,
        msync,
        Support::Full,
        &[Hex, Hex, Hex],
        "writes back the page caches of shared gofer file mappings in the range",
    );
}

const KNOWN_PROT: u64 = (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64;

fn prot_of(bits: u64) -> Result<Prot, Errno> {
    // PROT_GROWSDOWN/GROWSUP are accepted by mprotect and ignored here.
    let grows = (libc::PROT_GROWSDOWN | libc::PROT_GROWSUP) as u64;
    if bits & !(KNOWN_PROT | grows) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Prot::from_bits(bits as i32))
}

fn mmap(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2], a[3] as i32, a[4] as i32, a[5]);
    let prot = prot_of(prot)?;
    if len == 0 || off % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let fixed_at = if flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) != 0 {
        addr
    } else {
        0
    };
    check_address_space_limit(t, fixed_at, page_up(len).ok_or(Errno::ENOMEM)?)?;
    let shared = match flags & libc::MAP_TYPE {
        libc::MAP_SHARED | libc::MAP_SHARED_VALIDATE => true,
        libc::MAP_PRIVATE => false,
        _ => return Err(Errno::EINVAL),
    };
    let placement = if flags & libc::MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace(addr)
    } else if flags & libc::MAP_FIXED != 0 {
        Placement::Fixed(addr)
    } else {
        Placement::Hint(addr)
    };
    if flags & libc::MAP_ANONYMOUS != 0 {
        return t.mm.map(MapRequest {
            placement,
            len,
            prot,
            shared,
            source: Source::Anon,
            backing: None,
        });
    }
    let file = t.fds.get(fd)?;
    let fl = file.flags();
    let acc = fl & libc::O_ACCMODE;
    if acc == libc::O_WRONLY {
        return Err(Errno::EACCES);
    }
    if shared && prot.write && acc != libc::O_RDWR {
        return Err(Errno::EACCES);
    }
    if prot.exec && file.dentry().is_some_and(|d| d.mount_flags().noexec) {
        return Err(Errno::EPERM);
    }
    let st = file.stat()?;
    if st.is_dir() {
        return Err(Errno::ENODEV);
    }
    let path = file.path();
    let gofer = file.as_any().and_then(|a| a.downcast_ref::<GoferFile>());
    if let Some(g) = gofer {
        if shared {
            // A writable tree's file maps its page cache.
            if let Some(cache) = g.page_cache(t.mm.memfile()) {
                let backing = Backing::File {
                    fd: file.host_fd(),
                    offset: off,
                    path: Arc::from(path.as_str()),
                    dev: st.dev,
                    ino: st.ino,
                    cache: None,
                };
                let req = MapRequest {
                    placement,
                    len,
                    prot,
                    shared,
                    source: Source::Anon,
                    backing: Some(backing),
                };
                return map_page_cache(t, cache?, req, off);
            }
        } else {
            // A private copy starts from what shared mappings wrote.
            g.write_back()?;
        }
    }
    match file.host_fd() {
        Some(hfd) => t.mm.map(MapRequest {
            placement,
            len,
            prot,
            shared,
            source: Source::File {
                fd: Arc::clone(&hfd),
                offset: off,
                path: &path,
                dev: st.dev,
                ino: st.ino,
            },
            backing: None,
        }),
        // Character devices such as /dev/zero map as anonymous memory.
        None if st.file_type() == libc::S_IFCHR => t.mm.map(MapRequest {
            placement,
            len,
            prot,
            shared,
            source: Source::Anon,
            backing: None,
        }),
        // Files kept in the memory file (tmpfs).
        None if st.is_regular() => {
            let backing = Backing::File {
                fd: None,
                offset: off,
                path: Arc::from(path.as_str()),
                dev: st.dev,
                ino: st.ino,
                cache: None,
            };
            let req = MapRequest {
                placement,
                len,
                prot,
                shared,
                source: Source::Anon,
                backing: Some(backing),
            };
            map_paged(t, &*file, req, off, st.size as u64)
        }
        None => Err(Errno::ENODEV),
    }
}

/// Maps the page cache `cache` of a gofer file (with the description's
/// write-back fd) shared: every shared mapping of the file maps the same
/// pages; pages wholly past the end of the file fault with SIGBUS.
fn map_page_cache(
    t: &Task,
    SharedSource { cache, write_fd }: SharedSource,
    mut req: MapRequest<'_>,
    off: u64,
) -> SysResult {
    let len = page_up(req.len).ok_or(Errno::ENOMEM)?;
    off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
    let mut cache = cache;
    // A cache whose last mapping went meanwhile is retired: open anew.
    let Mapped { pieces, hold } = loop {
        if let Some(m) = cache.map(off, len, write_fd.clone())? {
            break m;
        }
        let key = cache.key();
        let fd = req.backing.as_ref().and_then(|b| match b {
            Backing::File { fd, .. } => fd.clone(),
            _ => None,
        });
        let fd = fd.ok_or(Errno::ENODEV)?;
        cache = pagecache::open(t.mm.memfile(), key, &fd)?;
    };
    if let Some(Backing::File { cache: c, .. }) = req.backing.as_mut() {
        *c = Some(hold);
    }
    req.source = Source::Pages(pieces.clone());
    let mapped = t.mm.map(req);
    match mapped {
        Ok(addr) => {
            cache.attach(&t.mm);
            t.mm.file_resized(&cache, cache.size())?;
            Ok(addr)
        }
        Err(e) => {
            for (o, l) in pieces {
                t.mm.memfile().release(o, l);
            }
            Err(e)
        }
    }
}

/// Maps a file whose contents live in the memory file (tmpfs; ENODEV for
/// any other): MAP_SHARED maps the file's own pages, so the mapping, its
/// other mappings and read/write all see one copy (pages past the end of
/// the file are the file's too, zero, not SIGBUS); MAP_PRIVATE maps a copy
/// of the contents made now (zero past the end of the file).
fn map_paged(
    t: &Task,
    file: &dyn FileDescription,
    mut req: MapRequest<'_>,
    off: u64,
    size: u64,
) -> SysResult {
    let len = page_up(req.len).ok_or(Errno::ENOMEM)?;
    off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
    let want = if req.shared { len } else { 0 };
    let pieces = match file.shared_pages(off, want) {
        Some(p) => p?,
        None => return Err(Errno::ENODEV),
    };
    if req.shared {
        req.source = Source::Pages(pieces.clone());
        let mapped = t.mm.map(req);
        if mapped.is_err() {
            for (o, l) in pieces {
                t.mm.memfile().release(o, l);
            }
        }
        return mapped;
    }
    let addr = t.mm.map(req)?;
    let copy = size.saturating_sub(off).min(len);
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < copy {
        let want = (copy - done).min(buf.len() as u64) as usize;
        let n = file.read_at(&mut buf[..want], off + done)?;
        if n == 0 {
            break;
        }
        t.mm.poke(addr + done, &buf[..n])?;
        done += n as u64;
    }
    Ok(addr)
}

fn munmap(t: &mut Task, a: [u64; 6]) -> SysResult {
    t.mm.unmap(a[0], a[1]).map(|_| 0)
}

fn mprotect(t: &mut Task, a: [u64; 6]) -> SysResult {
    let prot = prot_of(a[2])?;
    t.mm.protect(a[0], a[1], prot).map(|_| 0)
}

fn brk(t: &mut Task, a: [u64; 6]) -> SysResult {
    let cur = t.mm.brk(0);
    if let (Some(old_end), Some(new_end)) = (page_up(cur), page_up(a[0])) {
        if new_end > old_end && check_address_space_limit(t, old_end, new_end - old_end).is_err() {
            return Ok(cur);
        }
    }
    Ok(t.mm.brk(a[0]))
}

/// RLIMIT_AS (Linux's may_expand_vm): a mapping of `len` bytes at `addr`
/// (0 for "somewhere free") that would take the address space past the soft
/// limit is ENOMEM. Bytes of existing mappings that a fixed mapping
/// replaces are not counted twice.
fn check_address_space_limit(t: &Task, addr: u64, len: u64) -> Result<(), Errno> {
    let limit = t.rlimits.0[libc::RLIMIT_AS as usize].0;
    if limit == libc::RLIM_INFINITY {
        return Ok(());
    }
    let end = addr.saturating_add(len);
    let (mut total, mut replaced) = (0u64, 0u64);
    for v in t.mm.vmas() {
        total = total.saturating_add(v.end - v.start);
        if addr != 0 && v.start < end && addr < v.end {
            replaced += v.end.min(end) - v.start.max(addr);
        }
    }
    if total.saturating_add(len - replaced) > limit {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

fn mremap(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (old, old_len, new_len, flags, new_addr) = (a[0], a[1], a[2], a[3] as i32, a[4]);
    let known = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & libc::MREMAP_DONTUNMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let may_move = flags & libc::MREMAP_MAYMOVE != 0;
    let fixed = if flags & libc::MREMAP_FIXED != 0 {
        if !may_move {
            return Err(Errno::EINVAL);
        }
        Some(new_addr)
    } else {
        None
    };
    if let (Some(old_len), Some(new_len)) = (page_up(old_len), page_up(new_len)) {
        if new_len > old_len {
            check_address_space_limit(t, 0, new_len - old_len)?;
        }
    }
    t.mm.remap(old, old_len, new_len, may_move, fixed)
}

/// msync(2): shared mappings of tmpfs files are the files' own pages and
/// host files are read-only, so there is nothing to write back; the
/// checks are Linux's (EINVAL, then ENOMEM for an unmapped range).
fn msync(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (addr, len, flags) = (a[0], a[1], a[2] as i32);
    let known = libc::MS_ASYNC | libc::MS_SYNC | libc::MS_INVALIDATE;
    if !addr.is_multiple_of(PAGE_SIZE)
        || flags & !known != 0
        || (flags & libc::MS_ASYNC != 0 && flags & libc::MS_SYNC != 0)
    {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    if !matches!(t.mm.is_mapped(addr, len), Ok(true)) {
        return Err(Errno::ENOMEM);
    }
    // Shared mappings of gofer files reach the host file.
    for cache in t.mm.page_caches(addr, len) {
        cache.write_back()?;
    }
    Ok(0)
}

fn madvise(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (addr, len, advice) = (a[0], a[1], a[2] as i32);
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    match advice {
        libc::MADV_DONTNEED => t.mm.dont_need(addr, len).map(|_| 0),
        libc::MADV_NORMAL
        | libc::MADV_RANDOM
        | libc::MADV_SEQUENTIAL
        | libc::MADV_WILLNEED
        | libc::MADV_FREE
        | libc::MADV_DONTFORK
        | libc::MADV_DOFORK
        | libc::MADV_MERGEABLE
        | libc::MADV_UNMERGEABLE
        | libc::MADV_HUGEPAGE
        | libc::MADV_NOHUGEPAGE
        | libc::MADV_DONTDUMP
        | libc::MADV_DODUMP
        | libc::MADV_COLD
        | libc::MADV_PAGEOUT => {
            if t.mm.is_mapped(addr, len)? {
                Ok(0)
            } else {
                Err(Errno::ENOMEM)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}
