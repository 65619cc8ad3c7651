//! System-wide queries: uname, sysinfo, getrandom, CPU affinity, yielding.

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::kernel::{UNAME_RELEASE, UNAME_VERSION};
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_uname, uname, Support::Full, &[Hex], "");
    t.set(libc::SYS_sysinfo, sysinfo, Support::Full, &[Hex], "");
    t.set(
        libc::SYS_getrandom,
        getrandom,
        Support::Full,
        &[Hex, Int, Hex],
        "",
    );
    t.set(
        libc::SYS_sched_getaffinity,
        sched_getaffinity,
        Support::Full,
        &[Int, Int, Hex],
        "",
    );
    t.set(libc::SYS_sched_yield, sched_yield, Support::Full, &[], "");
    t.set(
        libc::SYS_getcpu,
        getcpu,
        Support::Full,
        &[Hex, Hex, Hex],
        "",
    );
}

fn field(src: &[u8]) -> [u8; 65] {
    let mut f = [0u8; 65];
    let n = src.len().min(64);
    f[..n].copy_from_slice(&src[..n]);
    f
}

fn uname(t: &mut Task, a: [u64; 6]) -> SysResult {
    let host = match t.kernel.hostname.lock() {
        Ok(h) => h.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let domain = match t.kernel.domainname.lock() {
        Ok(h) => h.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let mut buf = Vec::with_capacity(65 * 6);
    for f in [
        b"Linux".as_slice(),
        &host,
        UNAME_RELEASE.as_bytes(),
        UNAME_VERSION.as_bytes(),
        b"x86_64",
        &domain,
    ] {
        buf.extend_from_slice(&field(f));
    }
    t.mm.copy_out(a[0], &buf).map(|_| 0)
}

fn sysinfo(t: &mut Task, a: [u64; 6]) -> SysResult {
    // SAFETY: plain data; zero is valid.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a valid, writable struct sysinfo.
    unsafe { libc::sysinfo(&mut si) };
    si.uptime = t.kernel.boot.elapsed().as_secs() as i64;
    si.procs = 1;
    t.write_struct(a[0], &si).map(|_| 0)
}

const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;

fn getrandom(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (buf, len, flags) = (a[0], a[1] as usize, a[2]);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(i32::MAX as usize >> 6);
    let segs = t.mm.translate(buf, len, true)?;
    let mut done = 0usize;
    for (off, n) in segs {
        let p = t.mm.memfile().ptr(off, n);
        let mut got = 0usize;
        while got < n {
            // SAFETY: `p..p+n` lies in the memory file mapping (translated above).
            let r = unsafe { libc::getrandom(p.add(got) as *mut libc::c_void, n - got, 0) };
            if r < 0 {
                let e = Errno::last();
                if e == Errno::EINTR {
                    continue;
                }
                return if done > 0 { Ok(done as u64) } else { Err(e) };
            }
            got += r as usize;
            done += r as usize;
        }
    }
    Ok(done as u64)
}

fn sched_getaffinity(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pid, len, mask) = (a[0] as i32, a[1] as usize, a[2]);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid != t.tid {
        return Err(Errno::ESRCH);
    }
    let ncpus = t.kernel.ncpus;
    let size = ncpus.div_ceil(64) * 8;
    if len * 8 < ncpus || len % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; size];
    match &t.affinity {
        Some(mask) => {
            for (i, b) in mask.iter().take(size).enumerate() {
                bytes[i] = *b;
            }
        }
        None => {
            for c in 0..ncpus {
                bytes[c / 8] |= 1 << (c % 8);
            }
        }
    }
    t.mm.copy_out(mask, &bytes)?;
    Ok(size as u64)
}

fn sched_yield(_t: &mut Task, _a: [u64; 6]) -> SysResult {
    std::thread::yield_now();
    Ok(0)
}

fn getcpu(t: &mut Task, a: [u64; 6]) -> SysResult {
    // The first CPU of the task's affinity, else where its stub runs.
    let first = t
        .affinity
        .as_ref()
        .and_then(|m| (0..m.len() * 8).find(|&c| m[c / 8] & (1 << (c % 8)) != 0));
    let cpu = match first {
        Some(c) => c as u32,
        // SAFETY: sched_getcpu takes no arguments.
        None => unsafe { libc::sched_getcpu() }.max(0) as u32,
    };
    if a[0] != 0 {
        t.write_struct(a[0], &cpu)?;
    }
    if a[1] != 0 {
        t.write_struct(a[1], &0u32)?;
    }
    Ok(0)
}
