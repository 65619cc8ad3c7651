//! The initial stack of a new program, laid out as Linux lays it out: from
//! the top, the executable's name, the environment and argument strings,
//! the platform string and AT_RANDOM bytes, then (16-byte aligned) argc,
//! argv pointers, envp pointers and the auxiliary vector.

use crate::errno::Errno;
use crate::mm::MemoryManager;

pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_EXECFN: u64 = 31;
pub const AT_SYSINFO_EHDR: u64 = 33;

/// Builds the stack below `top`; returns the initial stack pointer.
/// `auxv` is everything but AT_RANDOM, AT_EXECFN, AT_PLATFORM and AT_NULL,
/// which are added here.
pub fn build(
    mm: &MemoryManager,
    top: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
    auxv: &[(u64, u64)],
) -> Result<u64, Errno> {
    let mut sp = top - 8; // a zero word at the very top, as Linux leaves
    let push_str = |s: &[u8], sp: &mut u64| -> Result<u64, Errno> {
        let len = s.len() as u64 + 1;
        *sp = sp.checked_sub(len).ok_or(Errno::E2BIG)?;
        let mut b = s.to_vec();
        b.push(0);
        mm.poke(*sp, &b)?;
        Ok(*sp)
    };
    let execfn_addr = push_str(execfn, &mut sp)?;
    let mut env_ptrs = Vec::with_capacity(envp.len());
    for e in envp.iter().rev() {
        env_ptrs.push(push_str(e, &mut sp)?);
    }
    env_ptrs.reverse();
    let mut arg_ptrs = Vec::with_capacity(argv.len());
    for a in argv.iter().rev() {
        arg_ptrs.push(push_str(a, &mut sp)?);
    }
    arg_ptrs.reverse();
    sp &= !15;
    let platform = push_str(b"x86_64", &mut sp)?;
    sp &= !15;
    sp -= 16;
    let random = sp;
    let mut rnd = [0u8; 16];
    // SAFETY: `rnd` is a valid, writable 16-byte buffer.
    unsafe { libc::getrandom(rnd.as_mut_ptr() as *mut libc::c_void, 16, 0) };
    mm.poke(random, &rnd)?;

    let mut aux: Vec<(u64, u64)> = auxv.to_vec();
    aux.push((AT_RANDOM, random));
    aux.push((AT_EXECFN, execfn_addr));
    aux.push((AT_PLATFORM, platform));
    aux.push((AT_NULL, 0));

    let words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + aux.len() * 2;
    sp -= words as u64 * 8;
    sp &= !15;
    let mut w: Vec<u64> = Vec::with_capacity(words);
    w.push(argv.len() as u64);
    w.extend(&arg_ptrs);
    w.push(0);
    w.extend(&env_ptrs);
    w.push(0);
    for (k, v) in aux {
        w.push(k);
        w.push(v);
    }
    let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
    mm.poke(sp, &bytes)?;
    Ok(sp)
}
