//! The stub image: a tiny static x86-64 ELF executable, assembled here, that
//! every ptrace address space runs. At start it waits in pause() until its
//! tracer seizes it (and unmaps everything but the stub page by injected
//! munmaps); from then on it executes only code the tracer points it at:
//! the injection site (`syscall; int3`), the clone site, or app code under
//! PTRACE_SYSEMU.

use crate::STUB_BASE;

/// Offset of the code from the start of the image (and of the stub page).
const CODE_OFFSET: u64 = 0x80;
/// Offset of the injection site from the start of the stub page.
const SITE_OFFSET: u64 = 0xc0;

/// Where the stub starts executing.
pub const ENTRY: u64 = STUB_BASE + CODE_OFFSET;
/// Address of `syscall; int3`, where the tracer runs the syscalls it injects.
pub const SYSCALL_SITE: u64 = STUB_BASE + SITE_OFFSET;
/// Offset of the clone site.
const CLONE_OFFSET: u64 = 0xd0;
/// Address of the clone site: a clone injected here leaves the new thread
/// waiting in pause() and traps the parent.
pub const CLONE_SITE: u64 = STUB_BASE + CLONE_OFFSET;
/// The fd number the memory file has inside every stub.
pub const MEMFILE_FD: i32 = crate::stubproc::MEMFILE_FD;

/// The machine code at the entry point: wait in pause() for a tracer to
/// seize the stub. Nothing here may use the stack.
fn code() -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(&[0xb8, 34, 0, 0, 0]); // mov eax, SYS_pause
    c.extend_from_slice(&[0x0f, 0x05]); // syscall
    c.extend_from_slice(&[0xeb, 0xf7]); // jmp back to the mov
    c
}

/// `syscall; int3` for injected calls, then the clone site: the parent
/// traps after the syscall, the new thread (rax == 0) waits in pause() to be
/// seized by its own tracer.
fn sites() -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(&[0x0f, 0x05, 0xcc]); // SYSCALL_SITE: syscall; int3
    c.extend_from_slice(&[0xeb, 0xfe]); // jmp . (never reached)
    c.resize((CLONE_OFFSET - SITE_OFFSET) as usize, 0xcc);
    c.extend_from_slice(&[0x0f, 0x05]); // CLONE_SITE: syscall
    c.extend_from_slice(&[0x48, 0x85, 0xc0]); // test rax, rax
    c.extend_from_slice(&[0x74, 0x01]); // jz child
    c.push(0xcc); // int3 (parent)
    c.extend_from_slice(&[0xb8, 34, 0, 0, 0]); // child: mov eax, SYS_pause
    c.extend_from_slice(&[0x0f, 0x05]); // syscall
    c.extend_from_slice(&[0xeb, 0xf7]); // jmp child
    c
}

/// The whole ELF image.
pub fn image() -> Vec<u8> {
    let code = code();
    let site = sites();
    let total = SITE_OFFSET as usize + site.len();
    assert!(CODE_OFFSET as usize + code.len() <= SITE_OFFSET as usize);

    let mut v = crate::stubproc::elf_header(ENTRY, total);
    v.resize(CODE_OFFSET as usize, 0);
    v.extend_from_slice(&code);
    v.resize(SITE_OFFSET as usize, 0xcc);
    v.extend_from_slice(&site);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_fits_in_the_stub_page() {
        let img = image();
        assert!(img.len() as u64 <= crate::STUB_END - STUB_BASE);
        assert_eq!(&img[..4], b"\x7fELF");
        assert_eq!(
            &img[SITE_OFFSET as usize..SITE_OFFSET as usize + 3],
            &[0x0f, 0x05, 0xcc]
        );
    }
}
