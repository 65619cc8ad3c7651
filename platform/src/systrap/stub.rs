//! The systrap stub image: a static x86-64 ELF of one page, executed by
//! every systrap address space. Its code is `stub.s`, assembled into
//! `stub_code.rs` by `scripts/systrap-stub`; it never touches the app's
//! stack:
//!
//! - `entry` blocks every signal, maps the thread slots (fd 4) read-write at
//!   [`CTX_BASE`] and the memory thread's request region read-only at
//!   [`CMD_BASE`], closes fd 4, unmaps everything else but its own page,
//!   installs the signal handler, sets no_new_privs and the process-wide
//!   seccomp filter (`bpf.rs`), clones the memory thread and becomes the
//!   first app thread (`thread_init`, slot 0).
//! - The **memory thread** (`mem_thread`, the last slot) is the only thread
//!   that may map, unmap, protect and clone: it never runs app code, keeps
//!   its state in registers, and takes its requests from the read-only
//!   region, so app code can neither forge a request nor reach its calls
//!   (app threads carry a second filter that traps those calls, wherever
//!   they are made from).
//! - `thread_init` (also where a cloned thread starts, all signals blocked)
//!   puts the alternate signal stack on its slot, installs the app threads'
//!   filter, unblocks signals and traps once (int3): the sentry resumes it
//!   into app code from that first stop.
//! - `handler` runs for every signal on the slot's alternate stack: it saves
//!   siginfo, the registers and the FS/GS bases into the slot, sets the
//!   state to STOPPED, wakes the sentry if it sleeps, and waits for the
//!   answer: resume (registers copied back, rt_sigreturn) or exit.

use crate::STUB_BASE;

use super::stub_code::{ENTRY, HANDLER, RESTORER};
pub use super::stub_code::{FIRST_TRAP_OFFSET, HANDLER_OFFSET, RESTORER_OFFSET};

/// Offset of the code in the image and in the stub page.
pub const CODE_OFFSET: u64 = 0x80;
/// Where the stub starts.
pub const ENTRY_ADDR: u64 = STUB_BASE + CODE_OFFSET;
pub const HANDLER_ADDR: u64 = ENTRY_ADDR + HANDLER_OFFSET;
pub const RESTORER_ADDR: u64 = ENTRY_ADDR + RESTORER_OFFSET;

/// Data in the stub page, read by the kernel (sigaction, masks, filter).
const SIGACTION_OFFSET: usize = 0x800;
/// The sigaction's sa_mask (every signal), also the entry's first mask.
const FULL_MASK_OFFSET: usize = 0x818;
const ZERO_MASK_OFFSET: usize = 0x820;
const SIGLIST_OFFSET: usize = 0x828;
/// `struct sock_fprog` of the process-wide filter, then of the app threads' one.
const FPROG_OFFSET: usize = 0x830;
const FPROG_APP_OFFSET: usize = 0x840;
/// The filters' instructions, the process-wide one first.
const FILTER_OFFSET: usize = 0x850;

/// The memory thread's requests, read-only in the stub: the page after the
/// stub's, up to the first slot.
pub const CMD_BASE: u64 = STUB_BASE + 0x1000;
pub const CMD_LEN: u64 = CTX_BASE - CMD_BASE;
/// In the request region: the batch sequence number (u32), the op count
/// (u64), and the ops, `{nr, args[6], unused}` of 64 bytes each.
pub const CMD_SEQ: usize = 0x00;
pub const CMD_NOPS: usize = 0x08;
pub const CMD_OPS: usize = 0x40;
pub const OP_SIZE: usize = 64;
/// How many ops one batch can carry (`MAX_OPS` in stub.s).
pub const MAX_OPS: usize = (CMD_LEN as usize - CMD_OPS) / OP_SIZE;

/// The thread contexts: slot `k` at `CTX_BASE + k * SLOT_SIZE`.
pub const CTX_BASE: u64 = STUB_BASE + SLOT_SIZE;
/// One stub thread's slot: a control page, then its alternate signal stack.
pub const SLOT_SIZE: u64 = 0x1_0000;
/// How many slots the reserved range holds: app threads' and the memory
/// thread's (the last).
pub const MAX_SLOTS: usize = ((crate::STUB_END - CTX_BASE) / SLOT_SIZE) as usize;
/// The memory thread's slot: `done` (u32) at 0, `mem_sleeping` at 4,
/// `sentry_sleeping` at 8, its tid at 0x10 (written by `entry`), the
/// results of a batch from [`MEM_RESULTS`], one u64 per op.
pub const MEM_SLOT: usize = MAX_SLOTS - 1;
pub const MEM_DONE: usize = 0x00;
pub const MEM_SLEEPING: usize = 0x04;
pub const MEM_SENTRY_SLEEPING: usize = 0x08;
pub const MEM_TID: usize = 0x10;
pub const MEM_RESULTS: usize = 0x200;
/// The slots, in the context file from offset 0 (and mapped at CTX_BASE).
pub const CTX_LEN: u64 = MAX_SLOTS as u64 * SLOT_SIZE;
/// The context file: the slots, then the request region.
pub const FILE_LEN: u64 = CTX_LEN + CMD_LEN;
/// The alternate signal stack: the slot after its control page.
pub const ALTSTACK_OFFSET: u64 = 0x1000;
/// A stub thread's token stack pointer inside its slot (rounds down to it).
pub const TOKEN_SP_OFFSET: u64 = 0x200;

/// The signals the stub catches: the seccomp trap, hardware faults and
/// traps, and the sentry's interrupt.
pub const SIGNALS: [u8; 7] = [
    libc::SIGSYS as u8,
    libc::SIGSEGV as u8,
    libc::SIGBUS as u8,
    libc::SIGFPE as u8,
    libc::SIGILL as u8,
    libc::SIGTRAP as u8,
    super::INTERRUPT_SIGNAL as u8,
];

/// The fd numbers inside a fresh stub: the memory file and the context file.
pub const MEMFILE_FD: i32 = crate::stubproc::MEMFILE_FD;
pub const CTXFILE_FD: i32 = 4;

fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put_u64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// Pads `v` with int3 up to `off`.
fn pad_to(v: &mut Vec<u8>, off: usize) {
    assert!(v.len() <= off, "stub image overlaps at {off:#x}");
    v.resize(off, 0xcc);
}

/// The whole ELF image (one page at most).
pub fn image() -> Vec<u8> {
    const { assert!(SIGACTION_OFFSET + 24 == FULL_MASK_OFFSET) };
    let filter = super::bpf::bytes(&super::bpf::program());
    let app_filter = super::bpf::bytes(&super::bpf::app_program());
    let app_filter_offset = FILTER_OFFSET + filter.len();
    let total = app_filter_offset + app_filter.len();
    assert!(total as u64 <= 0x1000);

    let mut v = crate::stubproc::elf_header(ENTRY_ADDR, total);

    let code = CODE_OFFSET as usize;
    pad_to(&mut v, code);
    v.extend_from_slice(ENTRY);
    pad_to(&mut v, code + HANDLER_OFFSET as usize);
    v.extend_from_slice(HANDLER);
    pad_to(&mut v, code + RESTORER_OFFSET as usize);
    v.extend_from_slice(RESTORER);

    // struct kernel_sigaction for every caught signal: the handler on the
    // alternate stack, with siginfo, returning through our restorer, and
    // every signal blocked while it runs (a fault inside it kills the stub).
    pad_to(&mut v, SIGACTION_OFFSET);
    put_u64(&mut v, HANDLER_ADDR);
    const SA_RESTORER: u64 = 0x0400_0000;
    put_u64(
        &mut v,
        (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64 | SA_RESTORER,
    );
    put_u64(&mut v, RESTORER_ADDR);
    put_u64(&mut v, u64::MAX); // sa_mask: all (also FULL_MASK)
    pad_to(&mut v, ZERO_MASK_OFFSET);
    put_u64(&mut v, 0); // the empty signal set
    pad_to(&mut v, SIGLIST_OFFSET);
    v.extend_from_slice(&SIGNALS);
    v.push(0); // end of the list
               // struct sock_fprog { len, filter }.
    pad_to(&mut v, FPROG_OFFSET);
    put_u16(&mut v, (filter.len() / 8) as u16);
    v.extend_from_slice(&[0; 6]);
    put_u64(&mut v, STUB_BASE + FILTER_OFFSET as u64);
    pad_to(&mut v, FPROG_APP_OFFSET);
    put_u16(&mut v, (app_filter.len() / 8) as u16);
    v.extend_from_slice(&[0; 6]);
    put_u64(&mut v, STUB_BASE + app_filter_offset as u64);
    pad_to(&mut v, FILTER_OFFSET);
    v.extend_from_slice(&filter);
    v.extend_from_slice(&app_filter);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_fits_in_one_page_with_code_where_the_data_expects_it() {
        let img = image();
        assert!(img.len() <= 0x1000);
        assert_eq!(&img[..4], b"\x7fELF");
        let code = CODE_OFFSET as usize;
        assert!(code + ENTRY.len() <= code + HANDLER_OFFSET as usize);
        assert!(HANDLER_OFFSET as usize + HANDLER.len() <= RESTORER_OFFSET as usize);
        assert!(code + RESTORER_OFFSET as usize + RESTORER.len() <= SIGACTION_OFFSET);
        // The first stop is the int3 at the end of thread_init.
        assert_eq!(img[code + FIRST_TRAP_OFFSET as usize], 0xcc);
        // The restorer is `mov eax, 15; syscall`.
        let r = code + RESTORER_OFFSET as usize;
        assert_eq!(&img[r..r + 7], &[0xb8, 15, 0, 0, 0, 0x0f, 0x05]);
    }

    #[test]
    fn slots_are_aligned_and_fit_the_reserved_range() {
        const { assert!(CTX_BASE.is_multiple_of(SLOT_SIZE)) };
        const { assert!(MAX_SLOTS >= 256) };
        const { assert!(CTX_BASE + CTX_LEN == crate::STUB_END) };
        const { assert!(CMD_BASE + CMD_LEN == CTX_BASE) };
        const { assert!(MAX_OPS * 8 + MEM_RESULTS <= ALTSTACK_OFFSET as usize * 16) };
    }

    #[test]
    fn the_code_uses_the_layout_constants() {
        let has = |code: &[u8], v: &[u8]| code.windows(v.len()).any(|w| w == v);
        // movabs of the bases and data addresses; lengths as imm32.
        assert!(has(ENTRY, &CTX_BASE.to_le_bytes()));
        assert!(has(ENTRY, &CMD_BASE.to_le_bytes()));
        assert!(has(ENTRY, &crate::STUB_END.to_le_bytes()));
        assert!(has(ENTRY, &(CTX_LEN as u32).to_le_bytes()));
        assert!(has(ENTRY, &(CMD_LEN as u32).to_le_bytes()));
        assert!(has(ENTRY, &(MAX_OPS as u32).to_le_bytes()));
        assert!(has(
            ENTRY,
            &(crate::TASK_SIZE - crate::STUB_END).to_le_bytes()
        ));
        assert!(has(
            ENTRY,
            &(super::super::bpf::THREAD_CLONE_FLAGS as u32).to_le_bytes()
        ));
        for off in [
            SIGACTION_OFFSET,
            FULL_MASK_OFFSET,
            ZERO_MASK_OFFSET,
            SIGLIST_OFFSET,
            FPROG_OFFSET,
            FPROG_APP_OFFSET,
        ] {
            assert!(
                has(ENTRY, &(STUB_BASE + off as u64).to_le_bytes()),
                "{off:#x}"
            );
        }
        let mem_slot = CTX_BASE + MEM_SLOT as u64 * SLOT_SIZE;
        assert!(has(ENTRY, &mem_slot.to_le_bytes()));
        assert!(has(ENTRY, &(mem_slot + TOKEN_SP_OFFSET).to_le_bytes()));
        assert!(has(ENTRY, &(CTX_BASE + TOKEN_SP_OFFSET).to_le_bytes()));
        // and r12, -SLOT_SIZE (slot base from the stack pointer).
        assert!(has(
            HANDLER,
            &(SLOT_SIZE.wrapping_neg() as u32).to_le_bytes()
        ));
    }

    /// The bytes are the listing's: assembles stub.s when binutils is here.
    #[test]
    fn machine_code_matches_the_listing() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let script = format!("{root}/scripts/systrap-stub");
        let have_as = std::process::Command::new("as")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_as {
            eprintln!("skipped: binutils' `as` is not installed");
            return;
        }
        let out = std::process::Command::new(&script)
            .arg("--check")
            .output()
            .expect("run scripts/systrap-stub");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
