//! The app's general-purpose registers (x86-64), as ptrace sees them.

/// General-purpose registers, including the FS and GS bases.
#[derive(Clone, Copy)]
pub struct Regs(pub libc::user_regs_struct);

impl Default for Regs {
    fn default() -> Self {
        // SAFETY: user_regs_struct is plain integers; all-zero is a valid value.
        Regs(unsafe { std::mem::zeroed() })
    }
}

impl std::fmt::Debug for Regs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0;
        write!(
            f,
            "rip={:#x} rsp={:#x} rax={:#x} orig_rax={:#x} rdi={:#x} rsi={:#x} rdx={:#x} fs_base={:#x}",
            r.rip, r.rsp, r.rax, r.orig_rax, r.rdi, r.rsi, r.rdx, r.fs_base
        )
    }
}

impl Regs {
    /// The syscall number of a `Stop::Syscall`.
    pub fn syscall_nr(&self) -> u64 {
        self.0.orig_rax
    }

    /// The six syscall arguments, in the x86-64 syscall order.
    pub fn syscall_args(&self) -> [u64; 6] {
        let r = &self.0;
        [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
    }

    /// Sets the syscall's return value.
    pub fn set_return(&mut self, v: u64) {
        self.0.rax = v;
    }

    pub fn ip(&self) -> u64 {
        self.0.rip
    }

    pub fn sp(&self) -> u64 {
        self.0.rsp
    }

    /// Fresh registers for a new program: entry point and stack, flags with
    /// only the interrupt flag (as the kernel sets them), user segments.
    pub fn for_entry(ip: u64, sp: u64) -> Regs {
        let mut r = Regs::default();
        r.0.rip = ip;
        r.0.rsp = sp;
        r.0.eflags = 0x202;
        r.0.cs = 0x33;
        r.0.ss = 0x2b;
        r.0.orig_rax = u64::MAX;
        r
    }
}
