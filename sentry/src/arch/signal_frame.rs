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
