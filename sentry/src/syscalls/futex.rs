//! futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET,
//! WAKE_BITSET, private and shared, relative and absolute timeouts.

use std::time::{Duration, Instant};

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::futex;
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_futex,
        sys_futex,
        Support::Partial,
        &[Hex, Hex, Int, Hex, Hex, Int],
        "no PI futexes (LOCK_PI, TRYLOCK_PI, WAIT_REQUEUE_PI)",
    );
}

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

fn now_ns(realtime: bool) -> i128 {
    let clock = if realtime {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

fn deadline(t: &Task, addr: u64, absolute: bool, realtime: bool) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: Timespec = t.read_struct(addr)?;
    if ts.sec < 0 || !(0..1_000_000_000).contains(&ts.nsec) {
        return Err(Errno::EINVAL);
    }
    let ns = ts.sec as i128 * 1_000_000_000 + ts.nsec as i128;
    let rel = if absolute { ns - now_ns(realtime) } else { ns };
    let d = Duration::from_nanos(rel.clamp(0, u64::MAX as i128) as u64);
    Ok(Some(Instant::now() + d))
}

fn sys_futex(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (uaddr, op, val, timeout, uaddr2, val3) =
        (a[0], a[1], a[2] as u32, a[3], a[4], a[5] as u32);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT => {
            let d = deadline(t, timeout, false, realtime)?;
            futex::wait(t, uaddr, val, u32::MAX, private, d)
        }
        FUTEX_WAIT_BITSET => {
            let d = deadline(t, timeout, true, realtime)?;
            futex::wait(t, uaddr, val, val3, private, d)
        }
        FUTEX_WAKE => futex::wake(t, uaddr, val, u32::MAX, private),
        FUTEX_WAKE_BITSET => futex::wake(t, uaddr, val, val3, private),
        FUTEX_REQUEUE => futex::requeue(t, uaddr, val, timeout as u32, uaddr2, None, private),
        FUTEX_CMP_REQUEUE => {
            futex::requeue(t, uaddr, val, timeout as u32, uaddr2, Some(val3), private)
        }
        FUTEX_WAKE_OP => futex::wake_op(t, uaddr, val, uaddr2, timeout as u32, val3, private),
        _ => Err(Errno::ENOSYS),
    }
}
