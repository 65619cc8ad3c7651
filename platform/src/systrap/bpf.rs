//! The stub's seccomp filters, hand-assembled classic BPF (seccompiler cannot
//! match the instruction pointer).
//!
//! The process-wide filter ([`program`]) sees every system call of the stub.
//! One made from the stub's own page is one of the stub's: a short list is
//! allowed, anything else from there traps. Every other call is
//! app code's and gets SECCOMP_RET_TRAP: a SIGSYS that the stub's handler
//! hands to the sentry. The call never runs on the host (DESIGN.md
//! invariant 1).
//!
//! App code can jump into the stub's page, so the threads that run app code
//! carry a second filter ([`app_program`]) that traps, from anywhere, the
//! stub calls only the memory thread needs (map, unmap, protect, clone) and
//! those that would change the thread's own trap set-up. Seccomp obeys the
//! strictest of a thread's filters, so what such a jump reaches is at most
//! futex, exit and rt_sigreturn: nothing beyond the app's own thread.

use crate::STUB_BASE;

/// One classic BPF instruction, as `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// BPF_LD | BPF_W | BPF_ABS: A = seccomp_data[k..k+4].
pub const LD_ABS: u16 = 0x20;
/// BPF_JMP | BPF_JEQ | BPF_K.
pub const JEQ: u16 = 0x15;
/// BPF_JMP | BPF_JGE | BPF_K.
pub const JGE: u16 = 0x35;
/// BPF_RET | BPF_K.
pub const RET: u16 = 0x06;

/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
const IP_LO: u32 = 8;
const IP_HI: u32 = 12;
const ARG0_LO: u32 = 16;
const ARG0_HI: u32 = 20;

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// Flags of the stub's thread clones, the only clone it may make.
pub const THREAD_CLONE_FLAGS: u64 = crate::STUB_THREAD_CLONE_FLAGS;

/// What the stub's page may call once the filter is on, and why.
pub const STUB_SYSCALLS: &[(i64, &str)] = &[
    (libc::SYS_rt_sigreturn, "the handler's return into app code"),
    (libc::SYS_futex, "the hand-off with the sentry"),
    (libc::SYS_mmap, "map requests (memory file, fd 3)"),
    (libc::SYS_munmap, "unmap requests"),
    (libc::SYS_mprotect, "protect requests"),
    (libc::SYS_exit, "release_thread ends one stub thread"),
    (libc::SYS_exit_group, "the stub's own fatal error path"),
    (libc::SYS_sigaltstack, "a new stub thread's signal stack"),
    (
        libc::SYS_rt_sigprocmask,
        "a new stub thread unblocks the signals the handler had blocked",
    ),
    (
        libc::SYS_seccomp,
        "a new app thread installs the app threads' filter",
    ),
];

/// What the app threads' filter traps wherever it is called from: the
/// stub calls that only the memory thread or a thread's set-up make.
pub const APP_TRAPPED: &[i64] = &[
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mprotect,
    libc::SYS_clone,
    libc::SYS_seccomp,
    libc::SYS_sigaltstack,
    libc::SYS_rt_sigprocmask,
];

/// Where a jump goes: the next instruction or a verdict at the end.
#[derive(Clone, Copy)]
enum To {
    Next,
    Allow,
    Trap,
}

struct Asm {
    /// Instructions with their symbolic jump targets.
    insns: Vec<(u16, To, To, u32)>,
}

impl Asm {
    fn ld(&mut self, off: u32) {
        self.insns.push((LD_ABS, To::Next, To::Next, off));
    }
    fn jeq(&mut self, k: u32, jt: To, jf: To) {
        self.insns.push((JEQ, jt, jf, k));
    }
    fn jge(&mut self, k: u32, jt: To, jf: To) {
        self.insns.push((JGE, jt, jf, k));
    }

    /// Resolves targets: the program ends with ret ALLOW, ret TRAP.
    fn finish(self) -> Vec<Insn> {
        let n = self.insns.len();
        let target = |i: usize, t: To| -> u8 {
            let abs = match t {
                To::Next => i + 1,
                To::Allow => n,
                To::Trap => n + 1,
            };
            u8::try_from(abs - i - 1).expect("a BPF jump fits in a byte")
        };
        let mut out: Vec<Insn> = self
            .insns
            .iter()
            .enumerate()
            .map(|(i, &(code, jt, jf, k))| Insn {
                code,
                jt: if code == LD_ABS { 0 } else { target(i, jt) },
                jf: if code == LD_ABS { 0 } else { target(i, jf) },
                k,
            })
            .collect();
        for k in [RET_ALLOW, RET_TRAP] {
            out.push(Insn {
                code: RET,
                jt: 0,
                jf: 0,
                k,
            });
        }
        out
    }
}

/// The filter: `code_start..code_end` is the stub's page (one 4 GiB-aligned
/// high word, as STUB_BASE has).
pub fn program() -> Vec<Insn> {
    let page_hi = (STUB_BASE >> 32) as u32;
    let page_lo = STUB_BASE as u32;
    assert_eq!(page_lo, 0, "the stub page starts a 4 GiB block");
    let mut a = Asm { insns: Vec::new() };
    // Only x86-64 calls are ever allowed; i386 ones (int 0x80, a 32-bit code
    // segment) trap to the sentry like any app call.
    a.ld(ARCH);
    a.jeq(AUDIT_ARCH_X86_64, To::Next, To::Trap);
    // The instruction pointer (after the syscall instruction) must lie in
    // [STUB_BASE, STUB_BASE + 0x1000), else this is app code's call.
    a.ld(IP_HI);
    a.jeq(page_hi, To::Next, To::Trap);
    a.ld(IP_LO);
    a.jge(0x1000, To::Trap, To::Next);
    // A stub call: one of the list, or a thread clone with exactly our flags.
    a.ld(NR);
    for &(nr, _why) in STUB_SYSCALLS {
        a.jeq(nr as u32, To::Allow, To::Next);
    }
    // Anything else from the stub's page traps like an app call: either app
    // code jumped there (and the sentry answers the call as the app's), or
    // the stub itself went wrong inside its handler, where SIGSYS is
    // blocked and the kernel kills the stub for it.
    a.jeq(libc::SYS_clone as u32, To::Next, To::Trap);
    a.ld(ARG0_LO);
    a.jeq(THREAD_CLONE_FLAGS as u32, To::Next, To::Trap);
    a.ld(ARG0_HI);
    a.jeq((THREAD_CLONE_FLAGS >> 32) as u32, To::Allow, To::Trap);
    a.finish()
}

/// The app threads' filter: the calls of [`APP_TRAPPED`] trap (to the
/// sentry, as app calls), whatever the instruction pointer; everything else
/// is left to the process-wide filter.
pub fn app_program() -> Vec<Insn> {
    let mut a = Asm { insns: Vec::new() };
    a.ld(NR);
    for &nr in APP_TRAPPED {
        a.jeq(nr as u32, To::Trap, To::Next);
    }
    // Anything else: allowed here, judged by the process-wide filter.
    a.jge(0, To::Allow, To::Allow);
    a.finish()
}

/// A program as bytes, `struct sock_filter` after `struct sock_filter`.
pub fn bytes(prog: &[Insn]) -> Vec<u8> {
    let mut v = Vec::new();
    for &i in prog {
        v.extend_from_slice(&i.code.to_le_bytes());
        v.push(i.jt);
        v.push(i.jf);
        v.extend_from_slice(&i.k.to_le_bytes());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic BPF interpreter for the four instructions the filter uses.
    fn run(prog: &[Insn], nr: u32, arch: u32, ip: u64, arg0: u64) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        data[8..16].copy_from_slice(&ip.to_le_bytes());
        data[16..24].copy_from_slice(&arg0.to_le_bytes());
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_ABS => {
                    let k = i.k as usize;
                    a = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                }
                JEQ => pc += if a == i.k { i.jt } else { i.jf } as usize,
                JGE => pc += if a >= i.k { i.jt } else { i.jf } as usize,
                RET => return i.k,
                other => panic!("unexpected BPF code {other:#x}"),
            }
        }
    }

    const IN_STUB: u64 = STUB_BASE + 0x200;
    const X86_64: u32 = AUDIT_ARCH_X86_64;

    #[test]
    fn app_calls_trap_whatever_they_are() {
        let p = program();
        for nr in [0, 1, 39, 59, 9, 15, 202, 56, 231, 0x4000_0000 | 59] {
            for ip in [
                0x40_0000,
                STUB_BASE - 2,
                STUB_BASE + 0x1000,
                STUB_BASE + 0x1_0000,
                0xffff_ffff_ff60_0000,
                IN_STUB + (1 << 32),
            ] {
                assert_eq!(run(&p, nr, X86_64, ip, 0), RET_TRAP, "nr {nr} ip {ip:#x}");
            }
        }
    }

    #[test]
    fn the_stub_page_may_make_only_its_own_calls() {
        let p = program();
        for &(nr, _) in STUB_SYSCALLS {
            assert_eq!(run(&p, nr as u32, X86_64, IN_STUB, 0), RET_ALLOW);
            assert_eq!(run(&p, nr as u32, X86_64, STUB_BASE + 0xfff, 0), RET_ALLOW);
        }
        for nr in [
            libc::SYS_execve,
            libc::SYS_openat,
            libc::SYS_kill,
            libc::SYS_ptrace,
            libc::SYS_getpid,
            libc::SYS_mremap,
            libc::SYS_execveat,
            0x4000_0000 | libc::SYS_mmap,
        ] {
            assert_eq!(run(&p, nr as u32, X86_64, IN_STUB, 0), RET_TRAP, "nr {nr}");
        }
    }

    #[test]
    fn clone_from_the_stub_only_as_a_thread() {
        let p = program();
        let clone = libc::SYS_clone as u32;
        assert_eq!(
            run(&p, clone, X86_64, IN_STUB, THREAD_CLONE_FLAGS),
            RET_ALLOW
        );
        for flags in [
            0,
            libc::SIGCHLD as u64,
            THREAD_CLONE_FLAGS & !(libc::CLONE_VM as u64),
            THREAD_CLONE_FLAGS | (1 << 32),
            THREAD_CLONE_FLAGS | libc::CLONE_NEWUSER as u64,
        ] {
            assert_eq!(run(&p, clone, X86_64, IN_STUB, flags), RET_TRAP);
        }
        assert_eq!(
            run(&p, libc::SYS_clone3 as u32, X86_64, IN_STUB, 0),
            RET_TRAP
        );
    }

    #[test]
    fn other_architectures_never_pass() {
        let p = program();
        const AUDIT_ARCH_I386: u32 = 0x4000_0003;
        for ip in [IN_STUB, 0x40_0000] {
            assert_eq!(run(&p, 15, AUDIT_ARCH_I386, ip, 0), RET_TRAP);
            assert_eq!(run(&p, 11, AUDIT_ARCH_I386, ip, 0), RET_TRAP);
        }
    }

    #[test]
    fn shape() {
        let p = program();
        assert!(p.len() < 32, "{} instructions", p.len());
        assert_eq!(
            p[0],
            Insn {
                code: LD_ABS,
                jt: 0,
                jf: 0,
                k: ARCH
            }
        );
        let n = p.len();
        assert_eq!(p[n - 2].k, RET_ALLOW);
        assert_eq!(p[n - 1].k, RET_TRAP);
        // Every jump lands inside the program.
        for (i, insn) in p.iter().enumerate() {
            if insn.code == JEQ || insn.code == JGE {
                assert!(i + 1 + (insn.jt as usize) < n);
                assert!(i + 1 + (insn.jf as usize) < n);
            }
        }
        assert_eq!(bytes(&p).len(), p.len() * 8);
    }

    /// The verdict for a thread that runs app code: the strictest of both.
    fn app_thread(nr: u32, ip: u64, arg0: u64) -> u32 {
        let a = run(&program(), nr, X86_64, ip, arg0);
        let b = run(&app_program(), nr, X86_64, ip, arg0);
        // Precedence: TRAP > ALLOW.
        let rank = |v| u32::from(v == RET_TRAP);
        if rank(a) >= rank(b) {
            a
        } else {
            b
        }
    }

    #[test]
    fn app_threads_reach_no_memory_call_through_the_stub_page() {
        for nr in APP_TRAPPED {
            let nr = *nr as u32;
            assert_eq!(
                app_thread(nr, IN_STUB, THREAD_CLONE_FLAGS),
                RET_TRAP,
                "{nr}"
            );
            assert_eq!(app_thread(nr, 0x40_0000, 0), RET_TRAP, "{nr}");
        }
        // What is left from the stub page: the hand-off and the thread's end.
        for nr in [
            libc::SYS_futex,
            libc::SYS_rt_sigreturn,
            libc::SYS_exit,
            libc::SYS_exit_group,
        ] {
            assert_eq!(app_thread(nr as u32, IN_STUB, 0), RET_ALLOW);
        }
        assert_eq!(app_thread(libc::SYS_openat as u32, IN_STUB, 0), RET_TRAP);
        // The memory thread, without the second filter, keeps its calls.
        assert_eq!(
            run(&program(), libc::SYS_mmap as u32, X86_64, IN_STUB, 0),
            RET_ALLOW
        );
    }
}
