//! The systrap stub image: a static x86-64 ELF of one page, executed by
//! every systrap address space. Its code is assembled from `stub.s` (kept
//! beside this file; the bytes below are that listing, instruction by
//! instruction) and never touches the app's stack:
//!
//! - `entry` maps the thread contexts (fd 4) at [`CTX_BASE`], closes fd 4,
//!   unmaps everything else but its own page, installs the signal handler,
//!   sets no_new_privs and the seccomp filter (`bpf.rs`), then becomes the
//!   first stub thread (`thread_init`, slot 0).
//! - `thread_init` (also where a cloned stub thread starts) unblocks
//!   signals, puts the alternate signal stack on its slot, and traps once
//!   (int3): the sentry resumes it into app code from that first stop.
//! - `handler` runs for every signal on the slot's alternate stack: it saves
//!   siginfo, the registers and the FS/GS bases into the slot, sets the
//!   state to STOPPED, wakes the sentry if it sleeps, and waits for the
//!   answer: resume (registers copied back, rt_sigreturn), a batch of
//!   syscalls (map, unmap, protect, clone), or exit.

use crate::STUB_BASE;

/// Offset of the code in the image and in the stub page.
pub const CODE_OFFSET: u64 = 0x80;
/// Where the stub starts.
pub const ENTRY_ADDR: u64 = STUB_BASE + CODE_OFFSET;
/// Offset of `handler` from the start of the code.
const HANDLER_OFFSET: u64 = 0x180;
/// Offset of `restorer` from the start of the code.
const RESTORER_OFFSET: u64 = 0x380;
pub const HANDLER_ADDR: u64 = ENTRY_ADDR + HANDLER_OFFSET;
pub const RESTORER_ADDR: u64 = ENTRY_ADDR + RESTORER_OFFSET;
/// Offset of the initial `int3` inside `entry` (the first stop's ip is one past it).
pub const FIRST_TRAP_OFFSET: u64 = 0x14c;

/// Data in the stub page, read by the kernel (sigaction, masks, filter).
const SIGACTION_OFFSET: usize = 0x800;
const ZERO_MASK_OFFSET: usize = 0x820;
const SIGLIST_OFFSET: usize = 0x828;
const FPROG_OFFSET: usize = 0x830;
const FILTER_OFFSET: usize = 0x840;

/// The thread contexts: slot `k` at `CTX_BASE + k * SLOT_SIZE`.
pub const CTX_BASE: u64 = STUB_BASE + SLOT_SIZE;
/// One stub thread's slot: a control page, then its alternate signal stack.
pub const SLOT_SIZE: u64 = 0x1_0000;
/// How many stub threads one address space can have.
pub const MAX_SLOTS: usize = ((crate::STUB_END - CTX_BASE) / SLOT_SIZE) as usize;
/// Length of the context file (and of its mappings).
pub const CTX_LEN: u64 = MAX_SLOTS as u64 * SLOT_SIZE;
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

pub(super) const ENTRY: &[u8] = &[
    // entry:
    0x48, 0xbf, 0x00, 0x00, 0x01, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 000: movabs rdi,0x7ff000010000 ; mmap(CTX_BASE,
    0xbe, 0x00, 0x00, 0xff, 0x03, // 00a: mov esi,0x3ff0000 ; CTX_LEN,
    0xba, 0x03, 0x00, 0x00, 0x00, // 00f: mov edx,0x3 ; PROT_READ | PROT_WRITE,
    0x41, 0xba, 0x11, 0x00, 0x00, 0x00, // 014: mov r10d,0x11 ; MAP_SHARED | MAP_FIXED,
    0x41, 0xb8, 0x04, 0x00, 0x00, 0x00, // 01a: mov r8d,0x4 ; fd 4 (the context file),
    0x45, 0x31, 0xc9, // 020: xor r9d,r9d ; offset 0)
    0xb8, 0x09, 0x00, 0x00, 0x00, // 023: mov eax,0x9 ; SYS_mmap
    0x0f, 0x05, // 028: syscall
    0x48, 0xbf, 0x00, 0x00, 0x01, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 02a: movabs rdi,0x7ff000010000
    0x48, 0x39, 0xf8, // 034: cmp rax,rdi ; mapped where asked?
    0x0f, 0x85, 0x10, 0x01, 0x00, 0x00, // 037: jne die
    0xbf, 0x04, 0x00, 0x00, 0x00, // 03d: mov edi,0x4 ; close(4): only the memory file stays
    0xb8, 0x03, 0x00, 0x00, 0x00, // 042: mov eax,0x3 ; SYS_close
    0x0f, 0x05, // 047: syscall
    0x31, 0xff, // 049: xor edi,edi ; munmap(0,
    0x48, 0xbe, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 04b: movabs rsi,0x7ff000000000 ; STUB_BASE): all below the stub page
    0xb8, 0x0b, 0x00, 0x00, 0x00, // 055: mov eax,0xb ; SYS_munmap
    0x0f, 0x05, // 05a: syscall
    0x48, 0xbf, 0x00, 0x10, 0x00, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 05c: movabs rdi,0x7ff000001000 ; munmap(STUB_BASE + 0x1000,
    0xbe, 0x00, 0xf0, 0x00, 0x00, // 066: mov esi,0xf000 ; up to CTX_BASE)
    0xb8, 0x0b, 0x00, 0x00, 0x00, // 06b: mov eax,0xb ; SYS_munmap
    0x0f, 0x05, // 070: syscall
    0x48, 0xbf, 0x00, 0x00, 0x00, 0x04, 0xf0, 0x7f, 0x00,
    0x00, // 072: movabs rdi,0x7ff004000000 ; munmap(STUB_END,
    0x48, 0xbe, 0x00, 0xf0, 0xff, 0xfb, 0x0f, 0x00, 0x00,
    0x00, // 07c: movabs rsi,0xffbfff000 ; to TASK_SIZE): stack, vDSO, vvar
    0xb8, 0x0b, 0x00, 0x00, 0x00, // 086: mov eax,0xb ; SYS_munmap
    0x0f, 0x05, // 08b: syscall
    0x49, 0xbd, 0x28, 0x08, 0x00, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 08d: movabs r13,0x7ff000000828 ; r13 = zero-terminated list of signals
    // next_signal:
    0x41, 0x0f, 0xb6, 0x7d, 0x00, // 097: movzx edi,BYTE PTR [r13] ; edi = next signal
    0x85, 0xff, // 09c: test edi,edi
    0x74, 0x27, // 09e: je signals_done ; end of the list
    0x48, 0xbe, 0x00, 0x08, 0x00, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 0a0: movabs rsi,0x7ff000000800 ; rt_sigaction(sig, &SIGACTION,
    0x31, 0xd2, // 0aa: xor edx,edx ; NULL,
    0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // 0ac: mov r10d,0x8 ; sizeof(sigset))
    0xb8, 0x0d, 0x00, 0x00, 0x00, // 0b2: mov eax,0xd ; SYS_rt_sigaction
    0x0f, 0x05, // 0b7: syscall
    0x48, 0x85, 0xc0, // 0b9: test rax,rax
    0x0f, 0x85, 0x8b, 0x00, 0x00, 0x00, // 0bc: jne die ; failed
    0x49, 0xff, 0xc5, // 0c2: inc r13
    0xeb, 0xd0, // 0c5: jmp next_signal
    // signals_done:
    0xbf, 0x26, 0x00, 0x00, 0x00, // 0c7: mov edi,0x26 ; prctl(PR_SET_NO_NEW_PRIVS,
    0xbe, 0x01, 0x00, 0x00, 0x00, // 0cc: mov esi,0x1 ; 1,
    0x31, 0xd2, // 0d1: xor edx,edx ; 0,
    0x45, 0x31, 0xd2, // 0d3: xor r10d,r10d ; 0,
    0x45, 0x31, 0xc0, // 0d6: xor r8d,r8d ; 0)
    0xb8, 0x9d, 0x00, 0x00, 0x00, // 0d9: mov eax,0x9d ; SYS_prctl
    0x0f, 0x05, // 0de: syscall
    0x48, 0x85, 0xc0, // 0e0: test rax,rax
    0x75, 0x68, // 0e3: jne die ; failed
    0xbf, 0x01, 0x00, 0x00, 0x00, // 0e5: mov edi,0x1 ; seccomp(SECCOMP_SET_MODE_FILTER,
    0x31, 0xf6, // 0ea: xor esi,esi ; 0,
    0x48, 0xba, 0x30, 0x08, 0x00, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 0ec: movabs rdx,0x7ff000000830 ; &FPROG)
    0xb8, 0x3d, 0x01, 0x00, 0x00, // 0f6: mov eax,0x13d ; SYS_seccomp
    0x0f, 0x05, // 0fb: syscall
    0x48, 0x85, 0xc0, // 0fd: test rax,rax
    0x75, 0x4b, // 100: jne die ; failed
    0x48, 0xbc, 0x00, 0x02, 0x01, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 102: movabs rsp,0x7ff000010200 ; token stack pointer inside slot 0 (never used as a stack)
    // thread_init:
    0x49, 0x89, 0xe4, // 10c: mov r12,rsp ; r12 = this thread's slot:
    0x49, 0x81, 0xe4, 0x00, 0x00, 0xff,
    0xff, // 10f: and r12,0xffffffffffff0000 ; rsp rounded down to 64 KiB
    0xbf, 0x02, 0x00, 0x00, 0x00, // 116: mov edi,0x2 ; rt_sigprocmask(SIG_SETMASK,
    0x48, 0xbe, 0x20, 0x08, 0x00, 0x00, 0xf0, 0x7f, 0x00,
    0x00, // 11b: movabs rsi,0x7ff000000820 ; &ZERO_MASK (a clone child inherits the handler's full mask),
    0x31, 0xd2, // 125: xor edx,edx ; NULL,
    0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // 127: mov r10d,0x8 ; sizeof(sigset))
    0xb8, 0x0e, 0x00, 0x00, 0x00, // 12d: mov eax,0xe ; SYS_rt_sigprocmask
    0x0f, 0x05, // 132: syscall
    0x48, 0x85, 0xc0, // 134: test rax,rax
    0x75, 0x14, // 137: jne die ; failed
    0x49, 0x8d, 0x7c, 0x24,
    0x30, // 139: lea rdi,[r12+0x30] ; sigaltstack(&slot.altstack (written by the sentry),
    0x31, 0xf6, // 13e: xor esi,esi ; NULL)
    0xb8, 0x83, 0x00, 0x00, 0x00, // 140: mov eax,0x83 ; SYS_sigaltstack
    0x0f, 0x05, // 145: syscall
    0x48, 0x85, 0xc0, // 147: test rax,rax
    0x75, 0x01, // 14a: jne die ; failed
    0xcc, // 14c: int3 ; first stop: SIGTRAP into the handler; the sentry resumes into app code
    // die:
    0xbf, 0x01, 0x00, 0x00, 0x00, // 14d: mov edi,0x1 ; exit_group(1)
    0xb8, 0xe7, 0x00, 0x00, 0x00, // 152: mov eax,0xe7 ; SYS_exit_group
    0x0f, 0x05, // 157: syscall
    0xeb, 0xf2, // 159: jmp die
];
pub(super) const HANDLER: &[u8] = &[
    // handler:
    0x49, 0x89, 0xe4, // 180: mov r12,rsp ; r12 = slot base: we run on the slot's
    0x49, 0x81, 0xe4, 0x00, 0x00, 0xff,
    0xff, // 183: and r12,0xffffffffffff0000 ; alternate stack
    0x48, 0x89, 0xd3, // 18a: mov rbx,rdx ; rbx = ucontext (rsi = siginfo)
    0x49, 0x8d, 0x7c, 0x24,
    0x60, // 18d: lea rdi,[r12+0x60] ; siginfo's first 32 bytes (signo, code, addr)
    0xb9, 0x04, 0x00, 0x00, 0x00, // 192: mov ecx,0x4 ; 4 quadwords
    0xf3, 0x48, 0xa5, // 197: rep movsq ; to slot.siginfo
    0x48, 0x8d, 0x73,
    0x28, // 19a: lea rsi,[rbx+0x28] ; uc_mcontext (gregs, fpstate pointer, reserved)
    0x49, 0x8d, 0xbc, 0x24, 0x80, 0x00, 0x00,
    0x00, // 19e: lea rdi,[r12+0x80] ; to slot.mcontext
    0xb9, 0x20, 0x00, 0x00, 0x00, // 1a6: mov ecx,0x20 ; 256 bytes
    0xf3, 0x48, 0xa5, // 1ab: rep movsq
    0xf3, 0x48, 0x0f, 0xae, 0xc0, // 1ae: rdfsbase rax ; the app's FS base
    0x49, 0x89, 0x44, 0x24, 0x20, // 1b3: mov QWORD PTR [r12+0x20],rax ; to slot.fs_base
    0xf3, 0x48, 0x0f, 0xae, 0xc8, // 1b8: rdgsbase rax ; the app's GS base
    0x49, 0x89, 0x44, 0x24, 0x28, // 1bd: mov QWORD PTR [r12+0x28],rax ; to slot.gs_base
    // post:
    0xb8, 0x02, 0x00, 0x00,
    0x00, // 1c2: mov eax,0x2 ; state = STOPPED, with xchg: a full barrier
    0x41, 0x87, 0x04, 0x24, // 1c7: xchg DWORD PTR [r12],eax ; before reading sentry_sleeping
    0x41, 0x83, 0x7c, 0x24, 0x08,
    0x00, // 1cb: cmp DWORD PTR [r12+0x8],0x0 ; the sentry asleep?
    0x74, 0x14, // 1d1: je wait ; no: it sees the state by itself
    0x4c, 0x89, 0xe7, // 1d3: mov rdi,r12 ; futex(&state,
    0xbe, 0x01, 0x00, 0x00, 0x00, // 1d6: mov esi,0x1 ; FUTEX_WAKE,
    0xba, 0x01, 0x00, 0x00, 0x00, // 1db: mov edx,0x1 ; 1)
    0xb8, 0xca, 0x00, 0x00, 0x00, // 1e0: mov eax,0xca ; SYS_futex
    0x0f, 0x05, // 1e5: syscall
    // wait:
    0x49, 0x8b, 0x4c, 0x24,
    0x18, // 1e7: mov rcx,QWORD PTR [r12+0x18] ; rcx = the spin budget the sentry set
    // spin:
    0x41, 0x83, 0x3c, 0x24, 0x01, // 1ec: cmp DWORD PTR [r12],0x1 ; state == RUNNING?
    0x74, 0x3c, // 1f1: je run ; yes: the sentry answered
    0x48, 0x85, 0xc9, // 1f3: test rcx,rcx
    0x74, 0x07, // 1f6: je sleep ; budget spent
    0x48, 0xff, 0xc9, // 1f8: dec rcx
    0xf3, 0x90, // 1fb: pause
    0xeb, 0xed, // 1fd: jmp spin
    // sleep:
    0xb8, 0x01, 0x00, 0x00, 0x00, // 1ff: mov eax,0x1 ; stub_sleeping = 1, with xchg: a full
    0x41, 0x87, 0x44, 0x24,
    0x04, // 204: xchg DWORD PTR [r12+0x4],eax ; barrier before re-reading state
    0x41, 0x83, 0x3c, 0x24, 0x01, // 209: cmp DWORD PTR [r12],0x1 ; state == RUNNING?
    0x74, 0x16, // 20e: je awake
    0x4c, 0x89, 0xe7, // 210: mov rdi,r12 ; futex(&state,
    0x31, 0xf6, // 213: xor esi,esi ; FUTEX_WAIT,
    0xba, 0x02, 0x00, 0x00, 0x00, // 215: mov edx,0x2 ; while STOPPED,
    0x45, 0x31, 0xd2, // 21a: xor r10d,r10d ; no timeout)
    0xb8, 0xca, 0x00, 0x00, 0x00, // 21d: mov eax,0xca ; SYS_futex
    0x0f, 0x05, // 222: syscall
    0xeb, 0xd9, // 224: jmp sleep ; woken or spurious: check again
    // awake:
    0x41, 0xc7, 0x44, 0x24, 0x04, 0x00, 0x00, 0x00,
    0x00, // 226: mov DWORD PTR [r12+0x4],0x0 ; stub_sleeping = 0
    // run:
    0x41, 0x8b, 0x44, 0x24, 0x0c, // 22f: mov eax,DWORD PTR [r12+0xc] ; eax = slot.cmd
    0x85, 0xc0, // 234: test eax,eax
    0x0f, 0x84, 0x94, 0x00, 0x00, 0x00, // 236: je resume ; CMD_RESUME
    0x83, 0xf8, 0x01, // 23c: cmp eax,0x1
    0x74, 0x30, // 23f: je ops ; CMD_OPS
    0xb8, 0x02, 0x00, 0x00,
    0x00, // 241: mov eax,0x2 ; CMD_EXIT: acknowledge (state = STOPPED),
    0x41, 0x87, 0x04, 0x24, // 246: xchg DWORD PTR [r12],eax
    0x41, 0x83, 0x7c, 0x24, 0x08,
    0x00, // 24a: cmp DWORD PTR [r12+0x8],0x0 ; waking the sentry if asleep,
    0x74, 0x14, // 250: je exit_thread
    0x4c, 0x89, 0xe7, // 252: mov rdi,r12 ; futex(&state,
    0xbe, 0x01, 0x00, 0x00, 0x00, // 255: mov esi,0x1 ; FUTEX_WAKE,
    0xba, 0x01, 0x00, 0x00, 0x00, // 25a: mov edx,0x1 ; 1)
    0xb8, 0xca, 0x00, 0x00, 0x00, // 25f: mov eax,0xca ; SYS_futex
    0x0f, 0x05, // 264: syscall
    // exit_thread:
    0x31, 0xff, // 266: xor edi,edi ; exit(0): registers only from here, the
    0xb8, 0x3c, 0x00, 0x00, 0x00, // 268: mov eax,0x3c ; slot may already be reused; SYS_exit
    0x0f, 0x05, // 26d: syscall
    0xeb, 0xf5, // 26f: jmp exit_thread
    // ops:
    0x4d, 0x8d, 0xac, 0x24, 0x00, 0x02, 0x00,
    0x00, // 271: lea r13,[r12+0x200] ; r13 = first op {nr, a0..a5, ret}, 64 bytes each
    0x4d, 0x8b, 0x74, 0x24, 0x10, // 279: mov r14,QWORD PTR [r12+0x10] ; r14 = slot.nops,
    0x49, 0x83, 0xfe, 0x38, // 27e: cmp r14,0x38 ; at most the 56 that fit in the page
    0x76, 0x06, // 282: jbe next_op
    0x41, 0xbe, 0x38, 0x00, 0x00, 0x00, // 284: mov r14d,0x38
    // next_op:
    0x4d, 0x85, 0xf6, // 28a: test r14,r14
    0x0f, 0x84, 0x2f, 0xff, 0xff, 0xff, // 28d: je post ; all done: report back
    0x4d, 0x8b, 0x7d,
    0x00, // 293: mov r15,QWORD PTR [r13] ; r15 = op.nr, kept across the syscall
    0x4c, 0x89, 0xf8, // 297: mov rax,r15
    0x49, 0x8b, 0x7d, 0x08, // 29a: mov rdi,QWORD PTR [r13+0x8] ; op.args[0..6]
    0x49, 0x8b, 0x75, 0x10, // 29e: mov rsi,QWORD PTR [r13+0x10]
    0x49, 0x8b, 0x55, 0x18, // 2a2: mov rdx,QWORD PTR [r13+0x18]
    0x4d, 0x8b, 0x55, 0x20, // 2a6: mov r10,QWORD PTR [r13+0x20]
    0x4d, 0x8b, 0x45, 0x28, // 2aa: mov r8,QWORD PTR [r13+0x28]
    0x4d, 0x8b, 0x4d, 0x30, // 2ae: mov r9,QWORD PTR [r13+0x30]
    0x0f, 0x05, // 2b2: syscall
    0x49, 0x83, 0xff, 0x38, // 2b4: cmp r15,0x38 ; a clone (SYS_clone)
    0x75, 0x09, // 2b8: jne op_done
    0x48, 0x85, 0xc0, // 2ba: test rax,rax ; that returned 0: we are the new thread,
    0x0f, 0x84, 0x49, 0xfe, 0xff,
    0xff, // 2bd: je thread_init ; on its slot's token stack pointer
    // op_done:
    0x49, 0x89, 0x45, 0x38, // 2c3: mov QWORD PTR [r13+0x38],rax ; op.ret = rax
    0x49, 0x83, 0xc5, 0x40, // 2c7: add r13,0x40 ; next op
    0x49, 0xff, 0xce, // 2cb: dec r14
    0xeb, 0xba, // 2ce: jmp next_op
    // resume:
    0x49, 0x8d, 0xb4, 0x24, 0x80, 0x00, 0x00,
    0x00, // 2d0: lea rsi,[r12+0x80] ; slot.mcontext gregs r8..eflags
    0x48, 0x8d, 0x7b,
    0x28, // 2d8: lea rdi,[rbx+0x28] ; to uc_mcontext (not cs/ss, err, trapno, mask, cr2)
    0xb9, 0x12, 0x00, 0x00, 0x00, // 2dc: mov ecx,0x12 ; 18 quadwords
    0xf3, 0x48, 0xa5, // 2e1: rep movsq
    0x49, 0x8b, 0x44, 0x24, 0x20, // 2e4: mov rax,QWORD PTR [r12+0x20] ; the app's FS base
    0xf3, 0x48, 0x0f, 0xae, 0xd0, // 2e9: wrfsbase rax
    0x49, 0x8b, 0x44, 0x24, 0x28, // 2ee: mov rax,QWORD PTR [r12+0x28] ; the app's GS base
    0xf3, 0x48, 0x0f, 0xae, 0xd8, // 2f3: wrgsbase rax
    0x48, 0xc7, 0x83, 0x28, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // 2f8: mov QWORD PTR [rbx+0x128],0x0 ; uc_sigmask = 0: nothing blocked in app code
    0xc3, // 303: ret ; to the restorer, the frame's return address
];
pub(super) const RESTORER: &[u8] = &[
    // restorer:
    0xb8, 0x0f, 0x00, 0x00,
    0x00, // 380: mov eax,0xf ; SYS_rt_sigreturn (from the stub page: allowed)
    0x0f, 0x05, // 385: syscall
    0xe9, 0xc1, 0xfd, 0xff, 0xff, // 387: jmp die ; never: rt_sigreturn does not return
];

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
    let filter = super::bpf::bytes();
    let total = FILTER_OFFSET + filter.len();
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
    put_u64(&mut v, u64::MAX); // sa_mask: all
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
    pad_to(&mut v, FILTER_OFFSET);
    v.extend_from_slice(&filter);
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
    }

    #[test]
    fn the_code_uses_the_layout_constants() {
        let has = |code: &[u8], v: &[u8]| code.windows(v.len()).any(|w| w == v);
        // movabs of CTX_BASE, STUB_END, the data addresses; CTX_LEN as imm32.
        assert!(has(ENTRY, &CTX_BASE.to_le_bytes()));
        assert!(has(ENTRY, &crate::STUB_END.to_le_bytes()));
        assert!(has(ENTRY, &(CTX_LEN as u32).to_le_bytes()));
        assert!(has(
            ENTRY,
            &(crate::TASK_SIZE - crate::STUB_END).to_le_bytes()
        ));
        for off in [
            SIGACTION_OFFSET,
            ZERO_MASK_OFFSET,
            SIGLIST_OFFSET,
            FPROG_OFFSET,
        ] {
            assert!(
                has(ENTRY, &(STUB_BASE + off as u64).to_le_bytes()),
                "{off:#x}"
            );
        }
        assert!(has(ENTRY, &(CTX_BASE + TOKEN_SP_OFFSET).to_le_bytes()));
        // and r12, -SLOT_SIZE (slot base from the stack pointer).
        assert!(has(
            HANDLER,
            &(SLOT_SIZE.wrapping_neg() as u32).to_le_bytes()
        ));
    }
}
