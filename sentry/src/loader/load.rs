//! Mapping an ELF image into a memory manager: its PT_LOAD segments as
//! private file mappings with zeroed bss, and, for a dynamic executable,
//! its interpreter beside it.

use std::sync::Arc;

use platform::Prot;

use super::elf::{
    self, ElfInfo, ProgramHeader, ET_DYN, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR,
};
use crate::errno::Errno;
use crate::mm::manager::{page_down, page_up};
use crate::mm::{MapRequest, MemoryManager, Placement, Source};
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

/// Where a position-independent executable goes (Linux's ELF_ET_DYN_BASE
/// without randomization).
const PIE_BASE: u64 = 0x5555_5555_4000;

/// One loaded image.
#[derive(Clone, Debug)]
pub struct Image {
    pub entry: u64,
    /// Load bias added to every vaddr (0 for ET_EXEC).
    pub bias: u64,
    pub phdr_addr: u64,
    pub phnum: u16,
    /// End of the highest segment (where brk starts for the main program).
    pub end: u64,
    /// PT_INTERP's path, if any.
    pub interp: Option<Vec<u8>>,
}

fn read_exact_at(f: &dyn FileDescription, buf: &mut [u8], off: u64) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        let n = f.read_at(&mut buf[done..], off + done as u64)?;
        if n == 0 {
            return Err(Errno::ENOEXEC);
        }
        done += n;
    }
    Ok(())
}

/// Reads from `off` until `buf` is full or the file ends; returns the count.
fn read_some_at(f: &dyn FileDescription, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
    let mut done = 0;
    while done < buf.len() {
        let n = f.read_at(&mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Reads the ELF header and program headers of `f`.
pub fn read_info(f: &dyn FileDescription) -> Result<ElfInfo, Errno> {
    let mut head = [0u8; 64];
    read_exact_at(f, &mut head, 0)?;
    let mut info = elf::parse_header(&head)?;
    let mut ph = vec![0u8; info.phnum as usize * elf::PHENT_SIZE];
    read_exact_at(f, &mut ph, info.phoff)?;
    elf::parse_phdrs(&mut info, &ph)?;
    Ok(info)
}

fn prot_of(flags: u32) -> Prot {
    Prot {
        read: flags & PF_R != 0,
        write: flags & PF_W != 0,
        exec: flags & PF_X != 0,
    }
}

/// Maps the image of `f` into `mm`. `main` chooses the PIE base; an
/// interpreter goes wherever the mmap allocator puts it.
pub fn load_image(
    mm: &MemoryManager,
    f: &dyn FileDescription,
    stat: &Stat,
    path: &str,
    main: bool,
) -> Result<Image, Errno> {
    let info = read_info(f)?;
    let loads: Vec<&ProgramHeader> = info.phdrs.iter().filter(|p| p.kind == PT_LOAD).collect();
    let lo = loads
        .iter()
        .map(|p| page_down(p.vaddr))
        .min()
        .ok_or(Errno::ENOEXEC)?;
    let hi = loads
        .iter()
        .map(|p| page_up(p.vaddr + p.memsz))
        .max()
        .flatten()
        .ok_or(Errno::ENOEXEC)?;
    if hi <= lo {
        return Err(Errno::ENOEXEC);
    }
    // A file in sandbox memory (tmpfs, the overlay's upper layer) has no
    // host fd: its segments are copied into anonymous memory instead.
    let host_fd = f.host_fd();

    // Reserve the whole span first so the segments land together.
    let bias = if info.kind == ET_DYN {
        let placement = if main {
            Placement::Hint(PIE_BASE)
        } else {
            Placement::Hint(0)
        };
        let at = mm.map(MapRequest {
            placement,
            len: hi - lo,
            prot: Prot {
                read: false,
                write: false,
                exec: false,
            },
            shared: false,
            source: Source::Anon,
            backing: None,
        })?;
        at - lo
    } else {
        0
    };

    for p in &loads {
        let start = page_down(p.vaddr) + bias;
        let file_start = page_down(p.offset);
        let file_end = page_up(p.vaddr + p.filesz).ok_or(Errno::ENOEXEC)? + bias;
        let mem_end = page_up(p.vaddr + p.memsz).ok_or(Errno::ENOEXEC)? + bias;
        let prot = prot_of(p.flags);
        if file_end > start {
            let source = match &host_fd {
                Some(fd) => Source::File {
                    fd: Arc::clone(fd),
                    offset: file_start,
                    path,
                    dev: stat.dev,
                    ino: stat.ino,
                },
                None => Source::Anon,
            };
            mm.map(MapRequest {
                placement: Placement::Fixed(start),
                len: file_end - start,
                prot,
                shared: false,
                source,
                backing: None,
            })?;
            if host_fd.is_none() {
                let mut data = vec![0u8; (file_end - start) as usize];
                let n = read_some_at(f, &mut data, file_start)?;
                mm.poke(start, &data[..n])?;
            }
        }
        if p.memsz > p.filesz {
            // Zero from the end of the file data to the end of its page, as
            // Linux does: ld.so's early allocator uses that page tail.
            let bss = p.vaddr + p.filesz + bias;
            if file_end > bss {
                mm.poke(bss, &vec![0u8; (file_end - bss) as usize])?;
            }
            if mem_end > file_end {
                mm.map(MapRequest {
                    placement: Placement::Fixed(file_end.max(start)),
                    len: mem_end - file_end.max(start),
                    prot,
                    shared: false,
                    source: Source::Anon,
                    backing: None,
                })?;
            }
        }
    }

    let phdr_addr = match info.phdrs.iter().find(|p| p.kind == PT_PHDR) {
        Some(p) => p.vaddr + bias,
        None => {
            // The headers are in the segment that maps file offset phoff.
            let seg = loads
                .iter()
                .find(|p| p.offset <= info.phoff && info.phoff < p.offset + p.filesz)
                .ok_or(Errno::ENOEXEC)?;
            seg.vaddr + (info.phoff - seg.offset) + bias
        }
    };

    let interp = match info.phdrs.iter().find(|p| p.kind == PT_INTERP) {
        Some(p) if p.filesz > 1 && p.filesz <= libc::PATH_MAX as u64 => {
            let mut b = vec![0u8; p.filesz as usize];
            read_exact_at(f, &mut b, p.offset)?;
            while b.last() == Some(&0) {
                b.pop();
            }
            Some(b)
        }
        Some(_) => return Err(Errno::ENOEXEC),
        None => None,
    };

    tracing::debug!(
        path,
        bias = format_args!("{bias:#x}"),
        entry = format_args!("{:#x}", info.entry + bias),
        "loaded image"
    );
    Ok(Image {
        entry: info.entry + bias,
        bias,
        phdr_addr,
        phnum: info.phnum,
        end: hi + bias,
        interp,
    })
}
