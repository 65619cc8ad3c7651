//! Loading a program into a fresh address space: the ELF image, its
//! interpreter, the stack with argv, envp and auxv, and the initial break.

pub mod elf;
pub mod load;
pub mod stack;
pub mod vdso;

use platform::Prot;

use crate::errno::Errno;
use crate::kernel::task::Creds;
use crate::kernel::Kernel;
use crate::mm::manager::{page_up, STACK_SIZE, STACK_TOP};
use crate::mm::vma::Backing;
use crate::mm::{MapRequest, MemoryManager, Placement, Source};
use crate::vfs::FsContext;

/// Where the new program starts.
pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    /// Absolute sandbox path of the executable.
    pub path: String,
}

fn hwcap(kind: libc::c_ulong) -> u64 {
    // SAFETY: getauxval takes an integer and returns an integer.
    unsafe { libc::getauxval(kind) }
}

/// Loads an already opened executable (`abs` its sandbox path, `execfn` the
/// name it was executed by) into `mm`.
#[allow(clippy::too_many_arguments)]
pub fn load_file(
    kernel: &Kernel,
    fs: &FsContext,
    mm: &MemoryManager,
    file: &dyn crate::vfs::file::FileDescription,
    stat: &crate::vfs::stat::Stat,
    abs: String,
    execfn: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    creds: &Creds,
) -> Result<Loaded, Errno> {
    let path = execfn;
    let main = load::load_image(mm, file, stat, &abs, true)?;
    let mut entry = main.entry;
    let mut base = 0;
    if let Some(interp) = &main.interp {
        let (ifile, istat, ipath) = kernel.vfs.open_exec(fs, interp).map_err(|e| {
            if e == Errno::EACCES {
                e
            } else {
                Errno::ENOENT
            }
        })?;
        let li = load::load_image(mm, &*ifile, &istat, &ipath, false)?;
        if li.interp.is_some() {
            return Err(Errno::ELIBBAD);
        }
        entry = li.entry;
        base = li.bias;
    }
    mm.set_brk_start(page_up(main.end).ok_or(Errno::ENOEXEC)?);

    mm.map(MapRequest {
        placement: Placement::Fixed(STACK_TOP - STACK_SIZE),
        len: STACK_SIZE,
        prot: Prot {
            read: true,
            write: true,
            exec: false,
        },
        shared: false,
        source: Source::Anon,
        backing: Some(Backing::Stack),
    })?;
    let sysinfo_ehdr = vdso::map(mm)?;
    use stack::*;
    let auxv = [
        (AT_SYSINFO_EHDR, sysinfo_ehdr.unwrap_or(0)),
        (AT_HWCAP, hwcap(libc::AT_HWCAP)),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, main.phdr_addr),
        (AT_PHENT, elf::PHENT_SIZE as u64),
        (AT_PHNUM, main.phnum as u64),
        (AT_BASE, base),
        (AT_FLAGS, 0),
        (AT_ENTRY, main.entry),
        (AT_UID, creds.uid as u64),
        (AT_EUID, creds.euid as u64),
        (AT_GID, creds.gid as u64),
        (AT_EGID, creds.egid as u64),
        (AT_SECURE, creds.secure_exec() as u64),
        (AT_HWCAP2, hwcap(libc::AT_HWCAP2)),
    ];
    // Without a vDSO there is no AT_SYSINFO_EHDR at all, as on Linux.
    let auxv: Vec<(u64, u64)> = auxv
        .into_iter()
        .filter(|&(k, _)| k != AT_SYSINFO_EHDR || sysinfo_ehdr.is_some())
        .collect();
    let sp = stack::build(mm, STACK_TOP, argv, envp, path, &auxv)?;
    Ok(Loaded {
        entry,
        sp,
        path: abs,
    })
}
