//! The x86-64 signal frame, built in app memory the way Linux's
//! arch/x86/kernel/signal.c and signal_64.c build it: below the interrupted
//! stack pointer (less the 128-byte red zone) or at the top of the alternate
//! stack, first the XSAVE area of the FP/vector state (64-byte aligned, with
//! the `_fpx_sw_bytes` and FP_XSTATE_MAGIC2 that mark it extended), then
//! `struct rt_sigframe`: the return address (`sa_restorer`), a `ucontext`
//! holding the interrupted registers, mask and alternate stack, and the
//! `siginfo`. rt_sigreturn(2) reads the same frame back.
//!
//! Everything read back is app-controlled. It is checked the way Linux checks
//! it: only the user-changeable flags come from the frame, segments stay
//! 64-bit user ones, SIGKILL and SIGSTOP cannot be blocked, and an XSAVE
//! image the CPU would refuse is a bad frame. A bad frame is EFAULT (the
//! caller then forces SIGSEGV), never a panic, and the FP bytes handed back
//! are always ones PTRACE_SETREGSET accepts.

use std::sync::OnceLock;

use platform::{Regs, TASK_SIZE};

use super::siginfo::{
    SigInfo, BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, SEGV_PKUERR, SIGINFO_SIZE, SI_KERNEL,
    TRAP_HWBKPT, TRAP_TRACE,
};
use crate::errno::Errno;
use crate::kernel::signal::{SigAction, UNBLOCKABLE};
use crate::mm::MemoryManager;

/// `sa_flags` bits the frame depends on (asm-generic/signal-defs.h, asm/signal.h).
pub const SA_SIGINFO: u64 = 0x0000_0004;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;

/// `ss_flags` of stack_t (linux/signal.h).
pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
/// Disarm the alternate stack while a handler runs on it (bit 31).
pub const SS_AUTODISARM: i32 = i32::MIN;
/// The smallest alternate stack sigaltstack(2) accepts on x86.
pub const MINSIGSTKSZ: u64 = 2048;

/// `uc_flags` bits (asm/ucontext.h).
pub const UC_FP_XSTATE: u64 = 0x1;
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// Markers of an extended (XSAVE) FP area in a frame (asm/sigcontext.h).
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;

/// The 64-bit user code and data segment selectors (`__USER_CS`, `__USER_DS`).
pub const USER_CS: u64 = 0x33;
pub const USER_DS: u64 = 0x2b;

const EFLAGS_CF: u64 = 1 << 0;
const EFLAGS_PF: u64 = 1 << 2;
const EFLAGS_AF: u64 = 1 << 4;
const EFLAGS_ZF: u64 = 1 << 6;
const EFLAGS_SF: u64 = 1 << 7;
const EFLAGS_TF: u64 = 1 << 8;
const EFLAGS_DF: u64 = 1 << 10;
const EFLAGS_OF: u64 = 1 << 11;
const EFLAGS_RF: u64 = 1 << 16;
const EFLAGS_AC: u64 = 1 << 18;

/// The only eflags bits rt_sigreturn takes from a frame (Linux's
/// FIX_EFLAGS); IF, IOPL, NT, VM, VIF, VIP and ID keep their current value.
pub const FIX_EFLAGS: u64 = EFLAGS_AC
    | EFLAGS_OF
    | EFLAGS_DF
    | EFLAGS_TF
    | EFLAGS_SF
    | EFLAGS_ZF
    | EFLAGS_AF
    | EFLAGS_PF
    | EFLAGS_CF
    | EFLAGS_RF;

/// The x86-64 ABI's red zone below the stack pointer, which a frame skips.
const RED_ZONE: u64 = 128;

// struct sigcontext (asm/sigcontext.h), byte offsets.
const SC_R8: usize = 0;
const SC_R9: usize = 8;
const SC_R10: usize = 16;
const SC_R11: usize = 24;
const SC_R12: usize = 32;
const SC_R13: usize = 40;
const SC_R14: usize = 48;
const SC_R15: usize = 56;
const SC_RDI: usize = 64;
const SC_RSI: usize = 72;
const SC_RBP: usize = 80;
const SC_RBX: usize = 88;
const SC_RDX: usize = 96;
const SC_RAX: usize = 104;
const SC_RCX: usize = 112;
const SC_RSP: usize = 120;
const SC_RIP: usize = 128;
const SC_EFLAGS: usize = 136;
const SC_CS: usize = 144;
const SC_GS: usize = 146;
const SC_FS: usize = 148;
const SC_SS: usize = 150;
const SC_ERR: usize = 152;
const SC_TRAPNO: usize = 160;
const SC_OLDMASK: usize = 168;
const SC_CR2: usize = 176;
const SC_FPSTATE: usize = 184;
const SC_RESERVED1: usize = 192;
const SIGCONTEXT_SIZE: usize = 256;

// struct ucontext (asm-generic/ucontext.h) with the kernel's 8-byte sigset_t.
const UC_FLAGS: usize = 0;
const UC_LINK: usize = 8;
const UC_STACK: usize = 16;
const UC_MCONTEXT: usize = 40;
const UC_SIGMASK: usize = UC_MCONTEXT + SIGCONTEXT_SIZE;
const UCONTEXT_SIZE: usize = UC_SIGMASK + 8;

// stack_t, relative to its start.
const SS_SP: usize = 0;
const SS_FLAGS: usize = 8;
const SS_SIZE: usize = 16;

// struct rt_sigframe (asm/sigframe.h): pretcode, uc, info.
const FRAME_PRETCODE: usize = 0;
const FRAME_UC: usize = 8;
const FRAME_INFO: usize = FRAME_UC + UCONTEXT_SIZE;
const FRAME_SIZE: usize = FRAME_INFO + SIGINFO_SIZE;

// The XSAVE area (standard format) and the legacy FXSAVE region at its start.
const FXSAVE_SIZE: usize = 512;
const FX_FCW: usize = 0;
const FX_MXCSR: usize = 24;
const FX_MXCSR_MASK: usize = 28;
const FX_XMM: usize = 160;
const FX_XMM_END: usize = 416;
/// Bytes 464..512, left to software: `_fpx_sw_bytes` in a signal frame, the
/// XCR0 word followed by zeros in the NT_X86_XSTATE regset.
const FX_SW: usize = 464;
const SW_MAGIC1: usize = FX_SW;
const SW_EXTENDED_SIZE: usize = FX_SW + 4;
const SW_XFEATURES: usize = FX_SW + 8;
const SW_XSTATE_SIZE: usize = FX_SW + 16;
const XSAVE_HEADER: usize = FXSAVE_SIZE;
/// The header's reserved part (xcomp_bv and reserved words): must be zero.
const XSAVE_HEADER_RESERVED: usize = XSAVE_HEADER + 8;
const XSAVE_MIN: usize = XSAVE_HEADER + 64;

const XFEATURE_FP: u64 = 1 << 0;
const XFEATURE_SSE: u64 = 1 << 1;
const XFEATURE_YMM: u64 = 1 << 2;
const XFEATURE_FPSSE: u64 = XFEATURE_FP | XFEATURE_SSE;
/// AMX tile data: enabled on demand (XFD), so not part of a default frame.
const XFEATURE_XTILE_DATA: u64 = 1 << 18;

const FCW_DEFAULT: u16 = 0x037f;
const MXCSR_DEFAULT: u32 = 0x1f80;
/// MXCSR bits the CPU accepts (the reserved upper half faults).
const MXCSR_VALID: u32 = 0xffff;

// Exception vectors and page-fault error bits for the sigcontext.
const TRAP_DB: u64 = 1;
const TRAP_BP: u64 = 3;
const TRAP_UD: u64 = 6;
const TRAP_GP: u64 = 13;
const TRAP_PF: u64 = 14;
const PF_PROT: u64 = 1 << 0;
const PF_USER: u64 = 1 << 2;
const PF_PK: u64 = 1 << 5;

/// A thread's alternate signal stack (`stack_t`), as sigaltstack(2) stored it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    pub flags: i32,
}

impl AltStack {
    /// No alternate stack (a new thread's state).
    pub const DISABLED: AltStack = AltStack {
        sp: 0,
        size: 0,
        flags: SS_DISABLE,
    };

    /// Whether there is an alternate stack to switch to.
    pub fn enabled(&self) -> bool {
        self.size != 0 && self.flags & SS_DISABLE == 0
    }

    /// Whether `sp` lies on the stack, whatever SS_AUTODISARM says.
    fn contains(&self, sp: u64) -> bool {
        self.enabled() && sp > self.sp && sp - self.sp <= self.size
    }

    /// Whether `sp` is on the alternate stack, as Linux's on_sig_stack():
    /// never, with SS_AUTODISARM (the stack is disarmed while in use, so a
    /// nested signal may start it afresh).
    pub fn on_stack(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.contains(sp)
    }

    /// What sigaltstack(2) reports as the old stack when the app is at `sp`:
    /// SS_DISABLE, SS_ONSTACK or 0, plus SS_AUTODISARM if set.
    pub fn report(&self, sp: u64) -> AltStack {
        if !self.enabled() {
            return AltStack {
                flags: SS_DISABLE | (self.flags & SS_AUTODISARM),
                ..AltStack::DISABLED
            };
        }
        let mode = if self.on_stack(sp) { SS_ONSTACK } else { 0 };
        AltStack {
            flags: mode | (self.flags & SS_AUTODISARM),
            ..*self
        }
    }

    /// sigaltstack(2) setting `new` while the app is at `sp`: EPERM while on
    /// the current stack, EINVAL for an unknown mode, ENOMEM below
    /// MINSIGSTKSZ. rt_sigreturn applies a frame's `uc_stack` the same way
    /// and ignores the error.
    pub fn change(&self, new: &AltStack, sp: u64) -> Result<AltStack, Errno> {
        if self.on_stack(sp) {
            return Err(Errno::EPERM);
        }
        let mode = new.flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        if new == self {
            return Ok(*self);
        }
        if mode == SS_DISABLE {
            return Ok(AltStack {
                sp: 0,
                size: 0,
                flags: new.flags,
            });
        }
        if new.size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        Ok(*new)
    }

    /// The `uc_stack` Linux writes: the stored values, disabled spelled out.
    fn stored(&self) -> AltStack {
        let mut s = *self;
        if !s.enabled() {
            s.flags |= SS_DISABLE;
        }
        s
    }
}

/// What rt_sigreturn hands back besides the registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The signal mask to install (SIGKILL and SIGSTOP removed).
    pub mask: u64,
    /// The XSAVE bytes to restore with PTRACE_SETREGSET, as long as the
    /// platform's; None when the frame has no FP state (Linux then resets
    /// the FP state: see `init_fpstate`).
    pub fpstate: Option<Vec<u8>>,
    /// The frame's `uc_stack`: apply it with `AltStack::change` at the
    /// restored stack pointer and ignore any error, as Linux does.
    pub stack: AltStack,
}

/// Builds the rt_sigframe for a handler and points `regs` at it.
///
/// The frame goes on the alternate stack when `act` has SA_ONSTACK, the
/// stack is enabled and not already in use, else below the red zone of the
/// current stack. On return `rsp` is the frame (16-byte aligned minus 8, as
/// after a call), `rip` the handler, `rdi` the signal, `rsi` the siginfo,
/// `rdx` the ucontext, `rax` 0, and DF, TF and RF are clear. The siginfo is
/// written only with SA_SIGINFO, as Linux does.
///
/// `fpstate` is the NT_X86_XSTATE regset of the interrupted thread; the
/// handler then runs with `init_fpstate` of it. The caller also disarms an
/// SS_AUTODISARM alternate stack once this succeeds. EFAULT when
/// SA_RESTORER is missing (x86-64 has no other way back), when the frame
/// would overflow the alternate stack, or when it cannot be written: the
/// caller then forces SIGSEGV. `regs` is changed only on success.
pub fn setup_frame(
    mm: &MemoryManager,
    regs: &mut Regs,
    fpstate: &[u8],
    info: &SigInfo,
    act: &SigAction,
    saved_mask: u64,
    alt: &AltStack,
) -> Result<(), Errno> {
    if act.flags & SA_RESTORER == 0 {
        return Err(Errno::EFAULT);
    }
    let r = regs.0;
    let nested = alt.on_stack(r.rsp);
    let mut entering = false;
    let mut sp = r.rsp.wrapping_sub(RED_ZONE);
    if act.flags & SA_ONSTACK != 0 && alt.enabled() && !alt.on_stack(sp) {
        sp = alt.sp.wrapping_add(alt.size);
        entering = true;
    }
    let fp = fp_image(fpstate);
    let fp_addr = match &fp {
        Some(img) => {
            sp = sp.wrapping_sub(img.bytes.len() as u64) & !63;
            sp
        }
        None => 0,
    };
    let frame = (sp.wrapping_sub(FRAME_SIZE as u64) & !15).wrapping_sub(8);
    if (nested || entering) && !alt.contains(frame) {
        return Err(Errno::EFAULT);
    }

    if let Some(img) = &fp {
        mm.copy_out(fp_addr, &img.bytes)?;
    }

    let mut head = [0u8; FRAME_INFO];
    put_u64(&mut head, FRAME_PRETCODE, act.restorer);
    let uc = &mut head[FRAME_UC..];
    let mut uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    if fp.as_ref().is_some_and(|img| img.extended) {
        uc_flags |= UC_FP_XSTATE;
    }
    put_u64(uc, UC_FLAGS, uc_flags);
    put_u64(uc, UC_LINK, 0);
    let st = alt.stored();
    put_u64(uc, UC_STACK + SS_SP, st.sp);
    put_u32(uc, UC_STACK + SS_FLAGS, st.flags as u32);
    put_u64(uc, UC_STACK + SS_SIZE, st.size);
    let sc = &mut uc[UC_MCONTEXT..UC_MCONTEXT + SIGCONTEXT_SIZE];
    for (off, v) in [
        (SC_R8, r.r8),
        (SC_R9, r.r9),
        (SC_R10, r.r10),
        (SC_R11, r.r11),
        (SC_R12, r.r12),
        (SC_R13, r.r13),
        (SC_R14, r.r14),
        (SC_R15, r.r15),
        (SC_RDI, r.rdi),
        (SC_RSI, r.rsi),
        (SC_RBP, r.rbp),
        (SC_RBX, r.rbx),
        (SC_RDX, r.rdx),
        (SC_RAX, r.rax),
        (SC_RCX, r.rcx),
        (SC_RSP, r.rsp),
        (SC_RIP, r.rip),
        (SC_EFLAGS, r.eflags),
    ] {
        put_u64(sc, off, v);
    }
    // Linux saves cs and ss and writes zero for the fs and gs selectors.
    put_u16(sc, SC_CS, r.cs as u16);
    put_u16(sc, SC_GS, 0);
    put_u16(sc, SC_FS, 0);
    put_u16(sc, SC_SS, r.ss as u16);
    let trap = Trap::of(info);
    put_u64(sc, SC_ERR, trap.err);
    put_u64(sc, SC_TRAPNO, trap.trapno);
    put_u64(sc, SC_OLDMASK, saved_mask);
    put_u64(sc, SC_CR2, trap.cr2);
    put_u64(sc, SC_FPSTATE, fp_addr);
    sc[SC_RESERVED1..].fill(0);
    put_u64(uc, UC_SIGMASK, saved_mask);
    mm.copy_out(frame, &head)?;
    let info_addr = frame.wrapping_add(FRAME_INFO as u64);
    if act.flags & SA_SIGINFO != 0 {
        mm.copy_out(info_addr, &info.to_bytes())?;
    }

    let r = &mut regs.0;
    r.rdi = info.signo as u64;
    r.rsi = info_addr;
    r.rdx = frame.wrapping_add(FRAME_UC as u64);
    r.rax = 0;
    r.rip = act.handler;
    r.rsp = frame;
    r.eflags &= !(EFLAGS_DF | EFLAGS_RF | EFLAGS_TF);
    r.cs = USER_CS;
    r.ss = USER_DS;
    Ok(())
}

/// rt_sigreturn(2): reads the frame at `rsp - 8` (the handler's `ret` popped
/// the return address) and restores the general registers from it. rax is
/// the restored one, and is also the syscall's result; `orig_rax` becomes -1
/// so that no syscall restart applies. Only FIX_EFLAGS come from the frame,
/// cs and ss are the 64-bit user selectors (32-bit code segments are not
/// supported), and the fs/gs bases are kept.
///
/// `fp_len` is the length of the platform's XSAVE regset: the returned bytes
/// have that length. EFAULT for a frame that cannot be read or whose FP state
/// the CPU would refuse; `regs` is changed only on success.
pub fn restore_frame(
    mm: &MemoryManager,
    regs: &mut Regs,
    fp_len: usize,
) -> Result<Restored, Errno> {
    let frame = regs.0.rsp.wrapping_sub(8);
    match frame.checked_add(FRAME_SIZE as u64) {
        Some(end) if end <= TASK_SIZE => {}
        _ => return Err(Errno::EFAULT),
    }
    let mut uc = [0u8; UCONTEXT_SIZE];
    mm.copy_in(frame.wrapping_add(FRAME_UC as u64), &mut uc)?;
    let mask = get_u64(&uc, UC_SIGMASK) & !UNBLOCKABLE;
    let sc = &uc[UC_MCONTEXT..UC_MCONTEXT + SIGCONTEXT_SIZE];

    let mut r = regs.0;
    r.r8 = get_u64(sc, SC_R8);
    r.r9 = get_u64(sc, SC_R9);
    r.r10 = get_u64(sc, SC_R10);
    r.r11 = get_u64(sc, SC_R11);
    r.r12 = get_u64(sc, SC_R12);
    r.r13 = get_u64(sc, SC_R13);
    r.r14 = get_u64(sc, SC_R14);
    r.r15 = get_u64(sc, SC_R15);
    r.rdi = get_u64(sc, SC_RDI);
    r.rsi = get_u64(sc, SC_RSI);
    r.rbp = get_u64(sc, SC_RBP);
    r.rbx = get_u64(sc, SC_RBX);
    r.rdx = get_u64(sc, SC_RDX);
    r.rax = get_u64(sc, SC_RAX);
    r.rcx = get_u64(sc, SC_RCX);
    r.rsp = get_u64(sc, SC_RSP);
    r.rip = get_u64(sc, SC_RIP);
    r.eflags = (r.eflags & !FIX_EFLAGS) | (get_u64(sc, SC_EFLAGS) & FIX_EFLAGS);
    r.orig_rax = u64::MAX;
    r.cs = USER_CS;
    r.ss = USER_DS;

    let fp_ptr = get_u64(sc, SC_FPSTATE);
    let fpstate = if fp_ptr == 0 || fp_len < FXSAVE_SIZE {
        None
    } else {
        Some(read_fpstate(mm, fp_ptr, fp_len)?)
    };
    let stack = AltStack {
        sp: get_u64(&uc, UC_STACK + SS_SP),
        flags: get_u32(&uc, UC_STACK + SS_FLAGS) as i32,
        size: get_u64(&uc, UC_STACK + SS_SIZE),
    };
    regs.0 = r;
    Ok(Restored {
        mask,
        fpstate,
        stack,
    })
}

/// The FP state a handler starts with (Linux resets it on delivery), shaped
/// like the NT_X86_XSTATE regset `current`: x87 control word 0x37f, MXCSR
/// 0x1f80, every register zero, every other component in its initial state.
pub fn init_fpstate(current: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; current.len()];
    if current.len() >= FXSAVE_SIZE {
        put_u16(&mut out, FX_FCW, FCW_DEFAULT);
        put_u32(&mut out, FX_MXCSR, MXCSR_DEFAULT);
        out[FX_MXCSR_MASK..FX_MXCSR_MASK + 4]
            .copy_from_slice(&current[FX_MXCSR_MASK..FX_MXCSR_MASK + 4]);
        out[FX_SW..FXSAVE_SIZE].copy_from_slice(&current[FX_SW..FXSAVE_SIZE]);
    }
    if current.len() >= XSAVE_MIN {
        put_u64(&mut out, XSAVE_HEADER, XFEATURE_FPSSE);
    }
    out
}

/// The XSAVE layout of this machine, as the kernel uses it for signal frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Xsave {
    /// XCR0: the state components the OS enabled.
    xcr0: u64,
    /// The components a signal frame holds (`user_xfeatures`).
    user: u64,
    /// The size of the standard-format area holding them (`user_size`).
    user_size: usize,
}

fn xsave() -> Xsave {
    static LAYOUT: OnceLock<Xsave> = OnceLock::new();
    *LAYOUT.get_or_init(probe_xsave)
}

fn probe_xsave() -> Xsave {
    if !std::arch::is_x86_feature_detected!("xsave") {
        return Xsave {
            xcr0: XFEATURE_FPSSE,
            user: XFEATURE_FPSSE,
            user_size: XSAVE_MIN,
        };
    }
    // SAFETY: std reports xsave only when CPUID also says the OS enabled it
    // (OSXSAVE), which is all XGETBV needs.
    let xcr0 = unsafe { read_xcr0() };
    let user = xcr0 & !XFEATURE_XTILE_DATA;
    let mut size = XSAVE_MIN;
    for i in 2..63 {
        if user & (1u64 << i) != 0 {
            // CPUID leaf 0xd, sub-leaf i: eax = size, ebx = offset (standard format).
            let c = std::arch::x86_64::__cpuid_count(0xd, i);
            size = size.max(c.ebx as usize + c.eax as usize);
        }
    }
    Xsave {
        xcr0,
        user,
        user_size: size,
    }
}

#[target_feature(enable = "xsave")]
fn read_xcr0() -> u64 {
    // SAFETY: XCR0 always exists once XSAVE is enabled (see the caller).
    unsafe { std::arch::x86_64::_xgetbv(0) }
}

/// The FP area of a frame, ready to write.
struct FpImage {
    bytes: Vec<u8>,
    /// An XSAVE area with `_fpx_sw_bytes` and MAGIC2 (else legacy FXSAVE only).
    extended: bool,
}

/// The frame's FP area from the platform's regset: the user part of the
/// XSAVE area with its header's xfeatures (FP and SSE always set, as Linux
/// does for legacy sigreturn), `_fpx_sw_bytes` in bytes 464..512 and MAGIC2
/// after it. A regset shorter than an XSAVE area gives a legacy FXSAVE
/// image; shorter than that, none.
fn fp_image(regset: &[u8]) -> Option<FpImage> {
    if regset.len() < FXSAVE_SIZE {
        return None;
    }
    if regset.len() < XSAVE_MIN {
        let mut bytes = regset[..FXSAVE_SIZE].to_vec();
        bytes[FX_SW..].fill(0);
        return Some(FpImage {
            bytes,
            extended: false,
        });
    }
    let x = xsave();
    let size = x.user_size.min(regset.len());
    let mut bytes = Vec::with_capacity(size + 4);
    bytes.extend_from_slice(&regset[..size]);
    bytes.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    let bv = (get_u64(&bytes, XSAVE_HEADER) & x.user) | XFEATURE_FPSSE;
    put_u64(&mut bytes, XSAVE_HEADER, bv);
    bytes[XSAVE_HEADER_RESERVED..XSAVE_MIN].fill(0);
    bytes[FX_SW..FXSAVE_SIZE].fill(0);
    put_u32(&mut bytes, SW_MAGIC1, FP_XSTATE_MAGIC1);
    put_u32(&mut bytes, SW_EXTENDED_SIZE, (size + 4) as u32);
    put_u64(&mut bytes, SW_XFEATURES, x.user);
    put_u32(&mut bytes, SW_XSTATE_SIZE, size as u32);
    Some(FpImage {
        bytes,
        extended: true,
    })
}

/// Reads the FP area at `buf` as Linux's sigreturn does and turns it into a
/// regset of `fp_len` bytes. An area whose software bytes or MAGIC2 are not
/// right counts as legacy FXSAVE only (the other components are reset); an
/// area XRSTOR or FXRSTOR would fault on (misaligned, reserved header or
/// MXCSR bits, components the CPU has not enabled) is EFAULT.
fn read_fpstate(mm: &MemoryManager, buf: u64, fp_len: usize) -> Result<Vec<u8>, Errno> {
    let x = xsave();
    let mut legacy = [0u8; FXSAVE_SIZE];
    mm.copy_in(buf, &mut legacy)?;
    let limit = x.user_size.min(fp_len);
    let xstate_size = get_u32(&legacy, SW_XSTATE_SIZE) as usize;
    let extended = fp_len >= XSAVE_MIN
        && get_u32(&legacy, SW_MAGIC1) == FP_XSTATE_MAGIC1
        && xstate_size >= XSAVE_MIN
        && xstate_size <= limit
        && xstate_size <= get_u32(&legacy, SW_EXTENDED_SIZE) as usize
        && {
            let at = buf.checked_add(xstate_size as u64).ok_or(Errno::EFAULT)?;
            let mut magic2 = [0u8; 4];
            mm.copy_in(at, &mut magic2)?;
            u32::from_le_bytes(magic2) == FP_XSTATE_MAGIC2
        };

    let mut out = vec![0u8; fp_len];
    if !extended {
        // FXRSTOR: 16-byte aligned, valid MXCSR; the rest starts afresh.
        if !buf.is_multiple_of(16) || get_u32(&legacy, FX_MXCSR) & !MXCSR_VALID != 0 {
            return Err(Errno::EFAULT);
        }
        out[..FXSAVE_SIZE].copy_from_slice(&legacy);
        out[FX_SW..FXSAVE_SIZE].fill(0);
        if fp_len >= XSAVE_MIN {
            put_u64(&mut out, FX_SW, x.xcr0);
            put_u64(&mut out, XSAVE_HEADER, XFEATURE_FPSSE);
        }
        return Ok(out);
    }

    // XRSTOR of the components both the frame and the kernel ask for; the
    // others are reset (left out of the header's xfeatures).
    if !buf.is_multiple_of(64) {
        return Err(Errno::EFAULT);
    }
    mm.copy_in(buf, &mut out[..xstate_size])?;
    if out[XSAVE_HEADER_RESERVED..XSAVE_MIN]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(Errno::EFAULT);
    }
    let bv = get_u64(&out, XSAVE_HEADER);
    if bv & !x.xcr0 != 0 {
        return Err(Errno::EFAULT);
    }
    let restore = get_u64(&legacy, SW_XFEATURES) & x.user;
    if restore & (XFEATURE_SSE | XFEATURE_YMM) != 0 {
        if get_u32(&out, FX_MXCSR) & !MXCSR_VALID != 0 {
            return Err(Errno::EFAULT);
        }
    } else {
        put_u32(&mut out, FX_MXCSR, MXCSR_DEFAULT);
    }
    let mut new_bv = bv & restore;
    if new_bv & XFEATURE_SSE == 0 {
        // XMM registers in their initial state, but keep SSE in the header
        // so that PTRACE_SETREGSET still loads MXCSR.
        out[FX_XMM..FX_XMM_END].fill(0);
        new_bv |= XFEATURE_SSE;
    }
    put_u64(&mut out, XSAVE_HEADER, new_bv);
    out[FX_SW..FXSAVE_SIZE].fill(0);
    put_u64(&mut out, FX_SW, x.xcr0);
    Ok(out)
}

/// The sigcontext's `trapno`, `err` and `cr2` for a signal. Linux fills
/// them from the last hardware exception; here they are derived from the
/// siginfo of a fault (the platform does not report the page-fault error
/// code, so its write and instruction-fetch bits are never set).
struct Trap {
    trapno: u64,
    err: u64,
    cr2: u64,
}

impl Trap {
    fn of(info: &SigInfo) -> Trap {
        let none = Trap {
            trapno: 0,
            err: 0,
            cr2: 0,
        };
        if info.code <= 0 {
            return none;
        }
        let page_fault = |err| Trap {
            trapno: TRAP_PF,
            err,
            cr2: info.addr(),
        };
        match (info.signo, info.code) {
            (libc::SIGSEGV, SEGV_MAPERR) => page_fault(PF_USER),
            (libc::SIGSEGV, SEGV_ACCERR) => page_fault(PF_USER | PF_PROT),
            (libc::SIGSEGV, SEGV_PKUERR) => page_fault(PF_USER | PF_PROT | PF_PK),
            (libc::SIGSEGV, SI_KERNEL) => Trap {
                trapno: TRAP_GP,
                ..none
            },
            (libc::SIGBUS, BUS_ADRERR) => page_fault(PF_USER),
            (libc::SIGILL, _) => Trap {
                trapno: TRAP_UD,
                ..none
            },
            (libc::SIGTRAP, TRAP_TRACE | TRAP_HWBKPT) => Trap {
                trapno: TRAP_DB,
                ..none
            },
            (libc::SIGTRAP, _) => Trap {
                trapno: TRAP_BP,
                ..none
            },
            _ => none,
        }
    }
}

fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(v)
}

fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};
    use std::sync::Arc;

    use platform::Prot;

    use crate::arch::siginfo::{SI_TKILL, SI_USER};
    use crate::mm::{MapRequest, MemoryFile, Placement, Source, PAGE_SIZE};

    /// An address space that maps nothing: the sentry's own view of memory
    /// (the memory file and the VMA set) is all these tests need.
    use crate::mm::fake_space::NoSpace;

    const STACK: u64 = 0x10_0000_0000;
    const STACK_LEN: u64 = 0x10000;
    const ALT: u64 = 0x20_0000_0000;
    const ALT_LEN: u64 = 0x8000;
    const HANDLER: u64 = 0x40_1000;
    const RESTORER: u64 = 0x40_2000;
    const MASK: u64 = 0x0000_8000_0000_4a02;

    fn new_mm() -> MemoryManager {
        let mf = MemoryFile::new().expect("memory file");
        MemoryManager::new(Arc::new(mf), Arc::new(NoSpace))
    }

    fn map(mm: &MemoryManager, addr: u64, len: u64, write: bool) {
        mm.map(MapRequest {
            placement: Placement::Fixed(addr),
            len,
            prot: Prot {
                read: true,
                write,
                exec: false,
            },
            shared: false,
            source: Source::Anon,
            backing: None,
        })
        .expect("map");
    }

    /// A memory manager with the main stack and the alternate stack mapped.
    fn stacks() -> MemoryManager {
        let mm = new_mm();
        map(&mm, STACK, STACK_LEN, true);
        map(&mm, ALT, ALT_LEN, true);
        mm
    }

    fn read(mm: &MemoryManager, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        mm.copy_in(addr, &mut b).expect("read app memory");
        b
    }

    fn write(mm: &MemoryManager, addr: u64, b: &[u8]) {
        mm.copy_out(addr, b).expect("write app memory");
    }

    fn act(flags: u64) -> SigAction {
        SigAction {
            handler: HANDLER,
            flags: flags | SA_RESTORER,
            restorer: RESTORER,
            mask: 0,
        }
    }

    /// Registers with a distinct value everywhere, every FIX_EFLAGS bit set.
    fn sample_regs(sp: u64) -> Regs {
        let mut r = Regs::for_entry(0x40_0abc, sp);
        let g = &mut r.0;
        (g.r8, g.r9, g.r10, g.r11) = (0x0808, 0x0909, 0x1010, 0x1111);
        (g.r12, g.r13, g.r14, g.r15) = (0x1212, 0x1313, 0x1414, 0x1515);
        (g.rdi, g.rsi, g.rbp, g.rbx) = (0xd1d1, 0x5151, 0xb0b0, 0xbbbb);
        (g.rdx, g.rax, g.rcx) = (0xdddd, u64::MAX - 3, 0xcccc);
        g.eflags |= FIX_EFLAGS;
        g.orig_rax = 7;
        g.fs_base = 0x7000_0000;
        g.gs_base = 0x7100_0000;
        r
    }

    /// Every field of the registers, in a comparable form.
    fn all(r: &Regs) -> [u64; 27] {
        let g = &r.0;
        [
            g.r15, g.r14, g.r13, g.r12, g.rbp, g.rbx, g.r11, g.r10, g.r9, g.r8, g.rax, g.rcx,
            g.rdx, g.rsi, g.rdi, g.orig_rax, g.rip, g.cs, g.eflags, g.rsp, g.ss, g.fs_base,
            g.gs_base, g.ds, g.es, g.fs, g.gs,
        ]
    }

    /// An NT_X86_XSTATE regset of this machine's size, as the kernel fills
    /// one: every register byte distinct, a valid MXCSR, XCR0 in the
    /// software bytes, every frame component live in the header.
    fn sample_fpstate() -> Vec<u8> {
        let x = xsave();
        let mut b: Vec<u8> = (0..x.user_size).map(|i| (i * 7 + 3) as u8).collect();
        put_u32(&mut b, FX_MXCSR, 0x9fa0);
        put_u32(&mut b, FX_MXCSR_MASK, 0xffff);
        b[FX_XMM_END..FXSAVE_SIZE].fill(0);
        put_u64(&mut b, FX_SW, x.xcr0);
        b[XSAVE_HEADER..XSAVE_MIN].fill(0);
        put_u64(&mut b, XSAVE_HEADER, x.user);
        b
    }

    /// setup_frame of SIGUSR1 with `sample_fpstate` and a handler with `flags`.
    fn setup(
        mm: &MemoryManager,
        regs: &mut Regs,
        flags: u64,
        mask: u64,
        alt: &AltStack,
    ) -> Result<(), Errno> {
        setup_frame(mm, regs, &sample_fpstate(), &usr1(), &act(flags), mask, alt)
    }

    /// Delivers `info` on the main stack with `sample_regs`; returns the
    /// registers the handler starts with.
    fn deliver(mm: &MemoryManager, sp: u64, info: &SigInfo) -> Regs {
        let mut regs = sample_regs(sp);
        setup_frame(
            mm,
            &mut regs,
            &sample_fpstate(),
            info,
            &act(SA_SIGINFO),
            MASK,
            &AltStack::DISABLED,
        )
        .expect("setup_frame");
        regs
    }

    /// The handler returns: its `ret` pops the return address into the restorer.
    fn handler_returns(regs: &mut Regs) {
        regs.0.rsp += 8;
        regs.0.rip = RESTORER + 7;
        regs.0.rax = libc::SYS_rt_sigreturn as u64;
        regs.0.rdi = 0;
        regs.0.r11 = 0x246;
    }

    fn sc_addr(frame: u64) -> u64 {
        frame + (FRAME_UC + UC_MCONTEXT) as u64
    }

    fn usr1() -> SigInfo {
        SigInfo::kill(libc::SIGUSR1, SI_USER, 5, 6)
    }

    /// Kernel structures transcribed from the uapi headers.
    #[repr(C)]
    struct KSigcontext {
        r8: u64,
        r9: u64,
        r10: u64,
        r11: u64,
        r12: u64,
        r13: u64,
        r14: u64,
        r15: u64,
        rdi: u64,
        rsi: u64,
        rbp: u64,
        rbx: u64,
        rdx: u64,
        rax: u64,
        rcx: u64,
        rsp: u64,
        rip: u64,
        eflags: u64,
        cs: u16,
        gs: u16,
        fs: u16,
        ss: u16,
        err: u64,
        trapno: u64,
        oldmask: u64,
        cr2: u64,
        fpstate: u64,
        reserved1: [u64; 8],
    }
    #[repr(C)]
    struct KStack {
        ss_sp: u64,
        ss_flags: i32,
        ss_size: u64,
    }
    #[repr(C)]
    struct KUcontext {
        uc_flags: u64,
        uc_link: u64,
        uc_stack: KStack,
        uc_mcontext: KSigcontext,
        uc_sigmask: u64,
    }
    #[repr(C)]
    struct KRtSigframe {
        pretcode: u64,
        uc: KUcontext,
        info: [u64; 16],
    }
    #[repr(C)]
    struct KFpxSwBytes {
        magic1: u32,
        extended_size: u32,
        xfeatures: u64,
        xstate_size: u32,
        padding: [u32; 7],
    }
    #[repr(C)]
    struct KFpstate64 {
        cwd: u16,
        swd: u16,
        twd: u16,
        fop: u16,
        rip: u64,
        rdp: u64,
        mxcsr: u32,
        mxcsr_mask: u32,
        st_space: [u32; 32],
        xmm_space: [u32; 64],
        reserved2: [u32; 12],
        sw_reserved: KFpxSwBytes,
    }

    #[test]
    fn layout_matches_the_uapi_headers() {
        let sc = [
            (offset_of!(KSigcontext, r8), SC_R8),
            (offset_of!(KSigcontext, r9), SC_R9),
            (offset_of!(KSigcontext, r10), SC_R10),
            (offset_of!(KSigcontext, r11), SC_R11),
            (offset_of!(KSigcontext, r12), SC_R12),
            (offset_of!(KSigcontext, r13), SC_R13),
            (offset_of!(KSigcontext, r14), SC_R14),
            (offset_of!(KSigcontext, r15), SC_R15),
            (offset_of!(KSigcontext, rdi), SC_RDI),
            (offset_of!(KSigcontext, rsi), SC_RSI),
            (offset_of!(KSigcontext, rbp), SC_RBP),
            (offset_of!(KSigcontext, rbx), SC_RBX),
            (offset_of!(KSigcontext, rdx), SC_RDX),
            (offset_of!(KSigcontext, rax), SC_RAX),
            (offset_of!(KSigcontext, rcx), SC_RCX),
            (offset_of!(KSigcontext, rsp), SC_RSP),
            (offset_of!(KSigcontext, rip), SC_RIP),
            (offset_of!(KSigcontext, eflags), SC_EFLAGS),
            (offset_of!(KSigcontext, cs), SC_CS),
            (offset_of!(KSigcontext, gs), SC_GS),
            (offset_of!(KSigcontext, fs), SC_FS),
            (offset_of!(KSigcontext, ss), SC_SS),
            (offset_of!(KSigcontext, err), SC_ERR),
            (offset_of!(KSigcontext, trapno), SC_TRAPNO),
            (offset_of!(KSigcontext, oldmask), SC_OLDMASK),
            (offset_of!(KSigcontext, cr2), SC_CR2),
            (offset_of!(KSigcontext, fpstate), SC_FPSTATE),
            (offset_of!(KSigcontext, reserved1), SC_RESERVED1),
            (size_of::<KSigcontext>(), SIGCONTEXT_SIZE),
            (offset_of!(KUcontext, uc_flags), UC_FLAGS),
            (offset_of!(KUcontext, uc_link), UC_LINK),
            (offset_of!(KUcontext, uc_stack), UC_STACK),
            (offset_of!(KUcontext, uc_mcontext), UC_MCONTEXT),
            (offset_of!(KUcontext, uc_sigmask), UC_SIGMASK),
            (size_of::<KUcontext>(), UCONTEXT_SIZE),
            (offset_of!(KStack, ss_sp), SS_SP),
            (offset_of!(KStack, ss_flags), SS_FLAGS),
            (offset_of!(KStack, ss_size), SS_SIZE),
            (offset_of!(KRtSigframe, pretcode), FRAME_PRETCODE),
            (offset_of!(KRtSigframe, uc), FRAME_UC),
            (offset_of!(KRtSigframe, info), FRAME_INFO),
            (size_of::<KRtSigframe>(), FRAME_SIZE),
            (offset_of!(KFpstate64, cwd), FX_FCW),
            (offset_of!(KFpstate64, mxcsr), FX_MXCSR),
            (offset_of!(KFpstate64, mxcsr_mask), FX_MXCSR_MASK),
            (offset_of!(KFpstate64, xmm_space), FX_XMM),
            (offset_of!(KFpstate64, reserved2), FX_XMM_END),
            (offset_of!(KFpstate64, sw_reserved), FX_SW),
            (size_of::<KFpstate64>(), FXSAVE_SIZE),
            (FX_SW + offset_of!(KFpxSwBytes, magic1), SW_MAGIC1),
            (
                FX_SW + offset_of!(KFpxSwBytes, extended_size),
                SW_EXTENDED_SIZE,
            ),
            (FX_SW + offset_of!(KFpxSwBytes, xfeatures), SW_XFEATURES),
            (FX_SW + offset_of!(KFpxSwBytes, xstate_size), SW_XSTATE_SIZE),
        ];
        for (i, (header, ours)) in sc.iter().enumerate() {
            assert_eq!(header, ours, "entry {i}");
        }
        let _ = (
            offset_of!(KFpstate64, swd),
            offset_of!(KFpstate64, twd),
            offset_of!(KFpstate64, fop),
            offset_of!(KFpstate64, rip),
            offset_of!(KFpstate64, rdp),
            offset_of!(KFpstate64, st_space),
            offset_of!(KFpxSwBytes, padding),
        );
        // glibc agrees on everything up to uc_mcontext (its sigset is longer).
        assert_eq!(offset_of!(libc::ucontext_t, uc_stack), UC_STACK);
        assert_eq!(offset_of!(libc::ucontext_t, uc_mcontext), UC_MCONTEXT);
        assert_eq!(size_of::<libc::stack_t>(), 24);
        assert_eq!(size_of::<libc::mcontext_t>(), SIGCONTEXT_SIZE);
        assert_eq!(offset_of!(libc::mcontext_t, fpregs), SC_FPSTATE);
        for (reg, off) in [
            (libc::REG_R8, SC_R8),
            (libc::REG_R15, SC_R15),
            (libc::REG_RDI, SC_RDI),
            (libc::REG_RSI, SC_RSI),
            (libc::REG_RBP, SC_RBP),
            (libc::REG_RBX, SC_RBX),
            (libc::REG_RDX, SC_RDX),
            (libc::REG_RAX, SC_RAX),
            (libc::REG_RCX, SC_RCX),
            (libc::REG_RSP, SC_RSP),
            (libc::REG_RIP, SC_RIP),
            (libc::REG_EFL, SC_EFLAGS),
            (libc::REG_CSGSFS, SC_CS),
            (libc::REG_ERR, SC_ERR),
            (libc::REG_TRAPNO, SC_TRAPNO),
            (libc::REG_OLDMASK, SC_OLDMASK),
            (libc::REG_CR2, SC_CR2),
        ] {
            assert_eq!(reg as usize * 8, off);
        }
    }

    #[test]
    fn setup_points_the_handler_at_the_frame() {
        let mm = stacks();
        let sp = STACK + 0x8000 - 0x13;
        let before = sample_regs(sp);
        let regs = deliver(&mm, sp, &usr1());
        let frame = regs.0.rsp;

        assert_eq!(frame % 16, 8, "aligned as just after a call");
        assert!(frame + (FRAME_SIZE as u64) < sp - RED_ZONE);
        assert_eq!(regs.0.rip, HANDLER);
        assert_eq!(regs.0.rdi, libc::SIGUSR1 as u64);
        assert_eq!(regs.0.rsi, frame + FRAME_INFO as u64);
        assert_eq!(regs.0.rdx, frame + FRAME_UC as u64);
        assert_eq!(regs.0.rax, 0);
        assert_eq!(regs.0.eflags & (EFLAGS_DF | EFLAGS_TF | EFLAGS_RF), 0);
        assert_eq!(
            regs.0.eflags | EFLAGS_DF | EFLAGS_TF | EFLAGS_RF,
            before.0.eflags
        );
        assert_eq!((regs.0.cs, regs.0.ss), (USER_CS, USER_DS));

        let f = read(&mm, frame, FRAME_SIZE);
        assert_eq!(get_u64(&f, FRAME_PRETCODE), RESTORER);
        assert_eq!(&f[FRAME_INFO..], &usr1().to_bytes()[..]);
        let uc = &f[FRAME_UC..FRAME_INFO];
        assert_eq!(
            get_u64(uc, UC_FLAGS),
            UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
        );
        assert_eq!(get_u64(uc, UC_LINK), 0);
        assert_eq!(get_u32(uc, UC_STACK + SS_FLAGS) as i32, SS_DISABLE);
        assert_eq!(get_u64(uc, UC_SIGMASK), MASK);
        let sc = &uc[UC_MCONTEXT..UC_SIGMASK];
        assert_eq!(get_u64(sc, SC_OLDMASK), MASK);
        assert_eq!(get_u64(sc, SC_RIP), before.0.rip);
        assert_eq!(get_u64(sc, SC_RSP), sp);
        assert_eq!(get_u64(sc, SC_EFLAGS), before.0.eflags);
        assert_eq!(get_u64(sc, SC_RAX), before.0.rax);
        assert_eq!(get_u32(sc, SC_CS) & 0xffff, USER_CS as u32);
        assert_eq!(get_u32(sc, SC_FS), (USER_DS as u32) << 16);

        let x = xsave();
        let fp = get_u64(sc, SC_FPSTATE);
        assert_eq!(fp % 64, 0);
        assert!(fp >= frame + FRAME_SIZE as u64);
        assert!(fp + x.user_size as u64 + 4 <= sp - RED_ZONE);
        let area = read(&mm, fp, x.user_size + 4);
        assert_eq!(get_u32(&area, SW_MAGIC1), FP_XSTATE_MAGIC1);
        assert_eq!(get_u32(&area, SW_EXTENDED_SIZE) as usize, x.user_size + 4);
        assert_eq!(get_u64(&area, SW_XFEATURES), x.user);
        assert_eq!(get_u32(&area, SW_XSTATE_SIZE) as usize, x.user_size);
        assert_eq!(get_u32(&area, x.user_size), FP_XSTATE_MAGIC2);
        let regset = sample_fpstate();
        assert_eq!(&area[..FX_SW], &regset[..FX_SW]);
        assert_eq!(&area[FXSAVE_SIZE..x.user_size], &regset[FXSAVE_SIZE..]);
    }

    #[test]
    fn setup_then_restore_round_trips_registers_mask_and_fp_state() {
        let mm = stacks();
        let before = sample_regs(STACK + 0x8000 - 0x13);
        let mut regs = deliver(&mm, before.0.rsp, &usr1());
        handler_returns(&mut regs);

        let got = restore_frame(&mm, &mut regs, sample_fpstate().len()).expect("restore");

        let mut want = all(&before);
        want[15] = u64::MAX; // orig_rax: no syscall restart after sigreturn
        assert_eq!(all(&regs), want);
        assert_eq!(got.mask, MASK);
        assert_eq!(got.fpstate, Some(sample_fpstate()));
        assert_eq!(got.stack, AltStack::DISABLED);
    }

    #[test]
    fn restore_never_unblocks_sigkill_or_sigstop() {
        let mm = stacks();
        let mut regs = sample_regs(STACK + 0x8000);
        setup(&mm, &mut regs, 0, u64::MAX, &AltStack::DISABLED).expect("setup");
        handler_returns(&mut regs);

        let got = restore_frame(&mm, &mut regs, sample_fpstate().len()).expect("restore");

        assert_eq!(got.mask, !UNBLOCKABLE);
    }

    #[test]
    fn sa_onstack_runs_the_handler_on_the_alternate_stack() {
        let mm = stacks();
        let alt = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: 0,
        };
        let mut regs = sample_regs(STACK + 0x8000);

        setup(&mm, &mut regs, SA_ONSTACK, MASK, &alt).expect("setup");

        let frame = regs.0.rsp;
        assert!(frame > ALT && frame < ALT + ALT_LEN, "frame at {frame:#x}");
        let fp = get_u64(&read(&mm, sc_addr(frame), SIGCONTEXT_SIZE), SC_FPSTATE);
        assert!(fp + xsave().user_size as u64 + 4 <= ALT + ALT_LEN);
        let uc = read(&mm, frame + FRAME_UC as u64, UCONTEXT_SIZE);
        assert_eq!(get_u64(&uc, UC_STACK + SS_SP), ALT);
        assert_eq!(get_u64(&uc, UC_STACK + SS_SIZE), ALT_LEN);
        assert_eq!(get_u32(&uc, UC_STACK + SS_FLAGS), 0);
    }

    #[test]
    fn without_sa_onstack_the_frame_stays_on_the_current_stack() {
        let mm = stacks();
        let alt = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: 0,
        };
        let sp = STACK + 0x8000;
        let mut regs = sample_regs(sp);

        setup(&mm, &mut regs, 0, 0, &alt).expect("setup");

        assert!(regs.0.rsp > STACK && regs.0.rsp < sp - RED_ZONE);
    }

    #[test]
    fn a_nested_signal_on_the_alternate_stack_goes_below_the_current_frame() {
        let mm = stacks();
        let alt = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: 0,
        };
        let sp = ALT + 0x6000;
        let mut regs = sample_regs(sp);

        setup(&mm, &mut regs, SA_ONSTACK, 0, &alt).expect("setup");

        assert!(regs.0.rsp > ALT && regs.0.rsp < sp - RED_ZONE);
    }

    #[test]
    fn an_autodisarm_alternate_stack_starts_afresh() {
        let mm = stacks();
        let alt = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: SS_AUTODISARM,
        };
        let sp = ALT + 0x6000;
        let mut regs = sample_regs(sp);

        setup(&mm, &mut regs, SA_ONSTACK, 0, &alt).expect("setup");

        assert!(regs.0.rsp > sp && regs.0.rsp < ALT + ALT_LEN);
        let uc = read(&mm, regs.0.rsp + FRAME_UC as u64, UCONTEXT_SIZE);
        assert_eq!(get_u32(&uc, UC_STACK + SS_FLAGS) as i32, SS_AUTODISARM);
    }

    #[test]
    fn overflowing_the_alternate_stack_is_efault() {
        let mm = stacks();
        let alt = AltStack {
            sp: ALT + ALT_LEN - 0x200,
            size: 0x200,
            flags: 0,
        };
        let mut regs = sample_regs(STACK + 0x8000);
        let before = all(&regs);

        let r = setup(&mm, &mut regs, SA_ONSTACK, 0, &alt);

        assert_eq!(r, Err(Errno::EFAULT));
        assert_eq!(all(&regs), before);
    }

    #[test]
    fn an_unwritable_stack_is_efault() {
        let mm = new_mm();
        map(&mm, STACK, STACK_LEN, false);
        let mut regs = sample_regs(STACK + 0x8000);
        let before = all(&regs);

        let r = setup(&mm, &mut regs, SA_SIGINFO, 0, &AltStack::DISABLED);

        assert_eq!(r, Err(Errno::EFAULT));
        assert_eq!(all(&regs), before);
    }

    #[test]
    fn an_unmapped_stack_is_efault() {
        let mm = new_mm();
        for sp in [0, 8, 0x30_0000_0000, u64::MAX, TASK_SIZE + 0x1000] {
            let mut regs = sample_regs(sp);
            let r = setup(&mm, &mut regs, SA_SIGINFO, 0, &AltStack::DISABLED);
            assert_eq!(r, Err(Errno::EFAULT), "sp {sp:#x}");
        }
    }

    #[test]
    fn a_handler_without_sa_restorer_is_efault() {
        let mm = stacks();
        let mut regs = sample_regs(STACK + 0x8000);
        let mut a = act(0);
        a.flags &= !SA_RESTORER;

        let r = setup_frame(
            &mm,
            &mut regs,
            &sample_fpstate(),
            &usr1(),
            &a,
            0,
            &AltStack::DISABLED,
        );

        assert_eq!(r, Err(Errno::EFAULT));
    }

    #[test]
    fn without_sa_siginfo_the_siginfo_is_not_written() {
        let mm = stacks();
        write(&mm, STACK, &vec![0xaa; STACK_LEN as usize]);
        let mut regs = sample_regs(STACK + 0x8000);

        setup(&mm, &mut regs, 0, 0, &AltStack::DISABLED).expect("setup");

        let info = read(&mm, regs.0.rsi, SIGINFO_SIZE);
        assert!(info.iter().all(|&b| b == 0xaa));
    }

    #[test]
    fn a_page_fault_fills_trapno_err_and_cr2() {
        let mm = stacks();
        let info = SigInfo::fault(libc::SIGSEGV, SEGV_ACCERR, 0xdead_0000);
        let regs = deliver(&mm, STACK + 0x8000, &info);

        let sc = read(&mm, sc_addr(regs.0.rsp), SIGCONTEXT_SIZE);

        assert_eq!(get_u64(&sc, SC_TRAPNO), TRAP_PF);
        assert_eq!(get_u64(&sc, SC_ERR), PF_USER | PF_PROT);
        assert_eq!(get_u64(&sc, SC_CR2), 0xdead_0000);
    }

    #[test]
    fn a_corrupted_frame_cannot_leave_user_mode_or_raise_iopl() {
        let mm = stacks();
        let mut regs = deliver(&mm, STACK + 0x8000, &usr1());
        let sc = sc_addr(regs.0.rsp);
        write(&mm, sc + SC_EFLAGS as u64, &u64::MAX.to_le_bytes());
        write(&mm, sc + SC_CS as u64, &0x10u16.to_le_bytes());
        write(&mm, sc + SC_SS as u64, &0x18u16.to_le_bytes());
        handler_returns(&mut regs);
        regs.0.eflags = 0x202;

        restore_frame(&mm, &mut regs, sample_fpstate().len()).expect("restore");

        assert_eq!((regs.0.cs, regs.0.ss), (USER_CS, USER_DS));
        assert_eq!(regs.0.eflags, 0x202 | FIX_EFLAGS);
        assert_eq!(regs.0.eflags & 0x3000, 0, "IOPL stays 0");
    }

    #[test]
    fn a_frame_outside_the_address_space_is_efault() {
        let mm = stacks();
        for sp in [0, 4, u64::MAX, u64::MAX - 300, TASK_SIZE, 0x30_0000_0000] {
            let mut regs = sample_regs(sp);
            let before = all(&regs);
            assert_eq!(
                restore_frame(&mm, &mut regs, 1024),
                Err(Errno::EFAULT),
                "sp {sp:#x}"
            );
            assert_eq!(all(&regs), before);
        }
    }

    #[test]
    fn a_frame_without_fp_state_restores_none() {
        let mm = stacks();
        let mut regs = deliver(&mm, STACK + 0x8000, &usr1());
        write(
            &mm,
            sc_addr(regs.0.rsp) + SC_FPSTATE as u64,
            &0u64.to_le_bytes(),
        );
        handler_returns(&mut regs);

        let got = restore_frame(&mm, &mut regs, sample_fpstate().len()).expect("restore");

        assert_eq!(got.fpstate, None);
    }

    /// The delivered frame's FP area address.
    fn fp_area(mm: &MemoryManager, regs: &Regs) -> u64 {
        get_u64(&read(mm, sc_addr(regs.0.rsp), SIGCONTEXT_SIZE), SC_FPSTATE)
    }

    #[test]
    fn an_fp_area_without_magic2_restores_only_the_legacy_state() {
        let mm = stacks();
        let mut regs = deliver(&mm, STACK + 0x8000, &usr1());
        let fp = fp_area(&mm, &regs);
        write(&mm, fp + xsave().user_size as u64, &0u32.to_le_bytes());
        handler_returns(&mut regs);

        let got = restore_frame(&mm, &mut regs, sample_fpstate().len()).expect("restore");

        let got = got.fpstate.expect("fp state");
        let regset = sample_fpstate();
        assert_eq!(&got[..FXSAVE_SIZE], &regset[..FXSAVE_SIZE]);
        assert_eq!(get_u64(&got, XSAVE_HEADER), XFEATURE_FPSSE);
        assert!(got[XSAVE_HEADER + 8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn components_the_frame_leaves_out_are_reset() {
        let mm = stacks();
        let mut regs = deliver(&mm, STACK + 0x8000, &usr1());
        let fp = fp_area(&mm, &regs);
        write(&mm, fp + SW_XFEATURES as u64, &XFEATURE_FP.to_le_bytes());
        handler_returns(&mut regs);

        let got = restore_frame(&mm, &mut regs, sample_fpstate().len()).expect("restore");

        let got = got.fpstate.expect("fp state");
        assert_eq!(get_u64(&got, XSAVE_HEADER), XFEATURE_FPSSE);
        assert_eq!(get_u32(&got, FX_MXCSR), MXCSR_DEFAULT);
        assert!(got[FX_XMM..FX_XMM_END].iter().all(|&b| b == 0));
    }

    #[test]
    fn reserved_mxcsr_bits_are_efault() {
        let mm = stacks();
        let mut regs = deliver(&mm, STACK + 0x8000, &usr1());
        let fp = fp_area(&mm, &regs);
        write(&mm, fp + FX_MXCSR as u64, &0x1_1f80u32.to_le_bytes());
        handler_returns(&mut regs);

        let r = restore_frame(&mm, &mut regs, sample_fpstate().len());

        assert_eq!(r, Err(Errno::EFAULT));
    }

    #[test]
    fn a_bad_xsave_header_is_efault() {
        for (off, value) in [
            (XSAVE_HEADER_RESERVED, 1u64),
            (XSAVE_HEADER + 40, 1),
            (XSAVE_HEADER, 1 << 62),
        ] {
            let mm = stacks();
            let mut regs = deliver(&mm, STACK + 0x8000, &usr1());
            let fp = fp_area(&mm, &regs);
            write(&mm, fp + off as u64, &value.to_le_bytes());
            handler_returns(&mut regs);

            let r = restore_frame(&mm, &mut regs, sample_fpstate().len());

            assert_eq!(r, Err(Errno::EFAULT), "header byte {off}");
        }
    }

    #[test]
    fn a_misaligned_fp_area_is_efault() {
        let mm = stacks();
        let mut regs = deliver(&mm, STACK + 0x8000, &usr1());
        let fp = fp_area(&mm, &regs);
        write(
            &mm,
            sc_addr(regs.0.rsp) + SC_FPSTATE as u64,
            &(fp + 8).to_le_bytes(),
        );
        handler_returns(&mut regs);

        let r = restore_frame(&mm, &mut regs, sample_fpstate().len());

        assert_eq!(r, Err(Errno::EFAULT));
    }

    #[test]
    fn restore_survives_garbage_frames() {
        let mm = stacks();
        let fp_len = sample_fpstate().len();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            let junk: Vec<u8> = (0..STACK_LEN).map(|_| next() as u8).collect();
            write(&mm, STACK, &junk);
            let frame = STACK + next() % STACK_LEN;
            if round % 2 == 0 {
                // Point fpstate somewhere plausible, with the magic words set.
                let fp = (STACK + next() % STACK_LEN) & !63;
                let _ = mm.copy_out(sc_addr(frame) + SC_FPSTATE as u64, &fp.to_le_bytes());
                let _ = mm.copy_out(fp + SW_MAGIC1 as u64, &FP_XSTATE_MAGIC1.to_le_bytes());
                let size = (XSAVE_MIN + (next() as usize) % fp_len) as u32;
                let _ = mm.copy_out(fp + SW_XSTATE_SIZE as u64, &size.to_le_bytes());
                let _ = mm.copy_out(fp + size as u64, &FP_XSTATE_MAGIC2.to_le_bytes());
            }
            let mut regs = sample_regs(frame + 8);
            regs.0.eflags = 0x202;
            if let Ok(got) = restore_frame(&mm, &mut regs, fp_len) {
                assert_eq!((regs.0.cs, regs.0.ss), (USER_CS, USER_DS));
                assert_eq!(regs.0.eflags & !FIX_EFLAGS, 0x202);
                assert_eq!(got.mask & UNBLOCKABLE, 0);
                if let Some(fp) = got.fpstate {
                    assert_eq!(fp.len(), fp_len);
                    assert_eq!(get_u32(&fp, FX_MXCSR) & !MXCSR_VALID, 0);
                    assert!(fp[XSAVE_HEADER_RESERVED..XSAVE_MIN].iter().all(|&b| b == 0));
                    assert_eq!(get_u64(&fp, XSAVE_HEADER) & !xsave().xcr0, 0);
                }
            }
        }
    }

    #[test]
    fn init_fpstate_is_the_reset_state() {
        let regset = sample_fpstate();

        let init = init_fpstate(&regset);

        assert_eq!(init.len(), regset.len());
        assert_eq!(get_u32(&init, FX_FCW) & 0xffff, FCW_DEFAULT as u32);
        assert_eq!(get_u32(&init, FX_MXCSR), MXCSR_DEFAULT);
        assert_eq!(get_u64(&init, FX_SW), xsave().xcr0);
        assert_eq!(get_u64(&init, XSAVE_HEADER), XFEATURE_FPSSE);
        assert!(init[FX_MXCSR_MASK + 4..FX_SW].iter().all(|&b| b == 0));
        assert!(init[XSAVE_HEADER + 8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn on_stack_is_linuxs_on_sig_stack() {
        let alt = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: 0,
        };
        assert!(!alt.on_stack(ALT));
        assert!(alt.on_stack(ALT + 1));
        assert!(alt.on_stack(ALT + ALT_LEN));
        assert!(!alt.on_stack(ALT + ALT_LEN + 1));
        let disarm = AltStack {
            flags: SS_AUTODISARM,
            ..alt
        };
        assert!(!disarm.on_stack(ALT + 1));
        assert!(!AltStack::DISABLED.on_stack(1));
        assert!(!AltStack::default().on_stack(0));
    }

    #[test]
    fn report_is_what_sigaltstack_returns() {
        let alt = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: 0,
        };
        assert_eq!(alt.report(ALT + 8).flags, SS_ONSTACK);
        assert_eq!(alt.report(STACK).flags, 0);
        assert_eq!(AltStack::default().report(STACK), AltStack::DISABLED);
        let disarm = AltStack {
            flags: SS_AUTODISARM,
            ..alt
        };
        assert_eq!(disarm.report(ALT + 8).flags, SS_AUTODISARM);
    }

    #[test]
    fn change_follows_sigaltstack_rules() {
        let alt = AltStack {
            sp: ALT,
            size: ALT_LEN,
            flags: 0,
        };
        let other = AltStack {
            sp: STACK,
            size: STACK_LEN,
            flags: 0,
        };
        assert_eq!(alt.change(&other, ALT + 8), Err(Errno::EPERM));
        assert_eq!(alt.change(&other, STACK), Ok(other));
        let bad_mode = AltStack { flags: 4, ..other };
        assert_eq!(alt.change(&bad_mode, STACK), Err(Errno::EINVAL));
        let small = AltStack {
            size: MINSIGSTKSZ - 1,
            ..other
        };
        assert_eq!(alt.change(&small, STACK), Err(Errno::ENOMEM));
        let off = AltStack {
            sp: 5,
            size: 5,
            flags: SS_DISABLE,
        };
        assert_eq!(alt.change(&off, STACK), Ok(AltStack::DISABLED));
    }

    /// What the host kernel's own signal delivery leaves for a handler.
    mod host {
        use super::*;
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

        pub const WORDS: usize = 8192;
        pub static WORD: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
        pub static FRAME: AtomicU64 = AtomicU64::new(0);
        pub static LEN: AtomicU64 = AtomicU64::new(0);
        pub static INFO: AtomicU64 = AtomicU64::new(0);

        /// Copies the kernel's frame, from the return address to the end of
        /// MAGIC2, for the test to compare.
        pub extern "C" fn handler(
            _: libc::c_int,
            info: *mut libc::siginfo_t,
            uc: *mut libc::c_void,
        ) {
            let uc = uc as u64;
            let frame = uc - FRAME_UC as u64;
            // SAFETY: the kernel passes a valid ucontext; fpstate is a field of it.
            let fp = unsafe { ((uc + (UC_MCONTEXT + SC_FPSTATE) as u64) as *const u64).read() };
            if fp == 0 {
                return;
            }
            // SAFETY: fp points at the kernel-written FP area, at least 512 bytes.
            let (magic1, size) = unsafe {
                (
                    ((fp + SW_MAGIC1 as u64) as *const u32).read(),
                    ((fp + SW_XSTATE_SIZE as u64) as *const u32).read(),
                )
            };
            if magic1 != FP_XSTATE_MAGIC1 {
                return;
            }
            let end = fp + size as u64 + 4;
            let words = (end - frame).div_ceil(8) as usize;
            if words > WORDS {
                return;
            }
            for (i, w) in WORD.iter().enumerate().take(words) {
                // [frame, end) is the kernel's frame and FP area on this
                // thread's stack, followed by the red zone.
                // SAFETY: so the rounded-up last word is readable too, and
                // frame is 8-aligned.
                let word = unsafe { ((frame + 8 * i as u64) as *const u64).read() };
                w.store(word, Relaxed);
            }
            INFO.store(info as u64, Relaxed);
            LEN.store(end - frame, Relaxed);
            FRAME.store(frame, Relaxed);
        }

        pub fn captured() -> (u64, Vec<u8>) {
            let len = LEN.load(Relaxed) as usize;
            let mut b: Vec<u8> = WORD[..len.div_ceil(8)]
                .iter()
                .flat_map(|w| w.load(Relaxed).to_le_bytes())
                .collect();
            b.truncate(len);
            (FRAME.load(Relaxed), b)
        }
    }

    #[test]
    fn frames_match_the_ones_the_host_kernel_builds() {
        // Arrange: let the host kernel deliver SIGUSR2 to this thread.
        // SAFETY: all-zero is a valid sigaction (no flags, empty mask).
        let mut act_new: libc::sigaction = unsafe { std::mem::zeroed() };
        act_new.sa_sigaction = host::handler as *const () as usize;
        act_new.sa_flags = libc::SA_SIGINFO;
        // SAFETY: as above.
        let mut act_old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers; no other test in this crate uses SIGUSR2.
        let installed = unsafe { libc::sigaction(libc::SIGUSR2, &act_new, &mut act_old) };
        assert_eq!(installed, 0);
        // SAFETY: raise() runs the handler on this thread before returning.
        let raised = unsafe { libc::raise(libc::SIGUSR2) };
        assert_eq!(raised, 0);
        // SAFETY: restores the previous disposition from a valid struct.
        unsafe { libc::sigaction(libc::SIGUSR2, &act_old, std::ptr::null_mut()) };
        let (frame, k) = host::captured();
        assert_ne!(frame, 0, "the kernel gave the handler an XSAVE frame");
        assert_eq!(
            host::INFO.load(std::sync::atomic::Ordering::Relaxed),
            frame + FRAME_INFO as u64
        );

        let uc = &k[FRAME_UC..FRAME_INFO];
        let sc = &uc[UC_MCONTEXT..UC_SIGMASK];
        let fp = get_u64(sc, SC_FPSTATE);
        let fp_off = (fp - frame) as usize;
        let size = get_u32(&k, fp_off + SW_XSTATE_SIZE) as usize;
        let x = xsave();
        // SAFETY: getpid and getuid cannot fail.
        let (pid, uid) = unsafe { (libc::getpid(), libc::getuid()) };
        let info = SigInfo::kill(libc::SIGUSR2, SI_TKILL, pid, uid);

        // Our view of this machine's XSAVE frames and of siginfo is the kernel's.
        assert_eq!(get_u64(&k, fp_off + SW_XFEATURES), x.user);
        assert_eq!(size, x.user_size);
        assert_eq!(get_u32(&k, fp_off + SW_EXTENDED_SIZE) as usize, size + 4);
        assert_eq!(
            get_u64(uc, UC_FLAGS),
            UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
        );
        assert_eq!(&k[FRAME_INFO..FRAME_SIZE], &info.to_bytes()[..]);

        // Act 1: build our frame for the same interrupted state.
        let mut interrupted = Regs::for_entry(get_u64(sc, SC_RIP), get_u64(sc, SC_RSP));
        {
            let g = &mut interrupted.0;
            (g.r8, g.r9, g.r10, g.r11) = (
                get_u64(sc, SC_R8),
                get_u64(sc, SC_R9),
                get_u64(sc, SC_R10),
                get_u64(sc, SC_R11),
            );
            (g.r12, g.r13, g.r14, g.r15) = (
                get_u64(sc, SC_R12),
                get_u64(sc, SC_R13),
                get_u64(sc, SC_R14),
                get_u64(sc, SC_R15),
            );
            (g.rdi, g.rsi, g.rbp, g.rbx) = (
                get_u64(sc, SC_RDI),
                get_u64(sc, SC_RSI),
                get_u64(sc, SC_RBP),
                get_u64(sc, SC_RBX),
            );
            (g.rdx, g.rax, g.rcx) = (
                get_u64(sc, SC_RDX),
                get_u64(sc, SC_RAX),
                get_u64(sc, SC_RCX),
            );
            g.eflags = get_u64(sc, SC_EFLAGS);
        }
        let sp = interrupted.0.rsp;
        let lo = frame & !(PAGE_SIZE - 1);
        let hi = (sp + PAGE_SIZE) & !(PAGE_SIZE - 1);
        let mut regset = k[fp_off..fp_off + size].to_vec();
        regset[FX_SW..FXSAVE_SIZE].fill(0);
        put_u64(&mut regset, FX_SW, x.xcr0);
        let act = SigAction {
            handler: host::handler as *const () as u64,
            flags: SA_SIGINFO | SA_RESTORER,
            restorer: get_u64(&k, FRAME_PRETCODE),
            mask: 0,
        };
        let alt = AltStack {
            sp: get_u64(uc, UC_STACK + SS_SP),
            size: get_u64(uc, UC_STACK + SS_SIZE),
            flags: get_u32(uc, UC_STACK + SS_FLAGS) as i32,
        };
        let saved_mask = get_u64(uc, UC_SIGMASK);
        let mm = new_mm();
        map(&mm, lo, hi - lo, true);
        let mut regs = interrupted;
        setup_frame(&mm, &mut regs, &regset, &info, &act, saved_mask, &alt).expect("setup");

        // Assert 1: same place, same bytes, except what Linux leaves as
        // stack garbage (the padding after uc_stack.ss_flags, reserved1, the
        // gap above the frame) or fills from the thread's last exception
        // (err, trapno, cr2).
        assert_eq!(regs.0.rsp, frame);
        let ours = read(&mm, frame, k.len());
        let sc0 = FRAME_UC + UC_MCONTEXT;
        let ss_pad = FRAME_UC + UC_STACK + SS_FLAGS + 4;
        let skipped = |i: usize| {
            (ss_pad..ss_pad + 4).contains(&i)
                || (sc0 + SC_ERR..sc0 + SC_OLDMASK).contains(&i)
                || (sc0 + SC_CR2..sc0 + SC_FPSTATE).contains(&i)
                || (sc0 + SC_RESERVED1..sc0 + SIGCONTEXT_SIZE).contains(&i)
                || (FRAME_SIZE..fp_off).contains(&i)
        };
        for i in (0..k.len()).filter(|&i| !skipped(i)) {
            assert_eq!(ours[i], k[i], "frame byte {i:#x}");
        }

        // Act 2: rt_sigreturn through the kernel's own frame.
        let mm = new_mm();
        map(&mm, lo, hi - lo, true);
        write(&mm, frame, &k);
        let mut regs = Regs::for_entry(0, frame + 8);
        let got = restore_frame(&mm, &mut regs, size).expect("restore");

        // Assert 2: the interrupted state comes back.
        let mut want = interrupted;
        want.0.orig_rax = u64::MAX;
        want.0.eflags = (0x202 & !FIX_EFLAGS) | (interrupted.0.eflags & FIX_EFLAGS);
        assert_eq!(all(&regs), all(&want));
        assert_eq!(got.mask, saved_mask & !UNBLOCKABLE);
        assert_eq!(got.stack, alt);
        let fpstate = got.fpstate.expect("fp state");
        assert_eq!(fpstate.len(), size);
        assert_eq!(&fpstate[..FX_SW], &k[fp_off..fp_off + FX_SW]);
        assert_eq!(
            &fpstate[FXSAVE_SIZE..],
            &k[fp_off + FXSAVE_SIZE..fp_off + size]
        );
    }
}
