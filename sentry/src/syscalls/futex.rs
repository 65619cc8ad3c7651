//! futex(2) for a sandbox of single-threaded processes: waits check the
//! value and time out, wakes find no waiters. The process model replaces
//! this with real wait queues shared between tasks.

use std::time::Duration;

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_futex,
        futex,
        Support::Partial,
        &[Hex, Hex, Int, Hex, Hex, Int],
        "WAIT/WAKE/WAIT_BITSET/WAKE_BITSET within one thread; no other task can wake a waiter yet",
    );
}

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
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

fn futex(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (uaddr, op, val, timeout, val3) = (a[0], a[1], a[2] as u32, a[3], a[5] as u32);
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && val3 == 0 {
                return Err(Errno::EINVAL);
            }
            if op & FUTEX_CLOCK_REALTIME != 0 {
                return Err(Errno::ENOSYS);
            }
            Ok(0)
        }
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cmd == FUTEX_WAIT_BITSET && val3 == 0 {
                return Err(Errno::EINVAL);
            }
            if cmd == FUTEX_WAIT && op & FUTEX_CLOCK_REALTIME != 0 {
                return Err(Errno::ENOSYS);
            }
            let cur: u32 = t.read_struct(uaddr)?;
            if cur != val {
                return Err(Errno::EAGAIN);
            }
            // Nothing else can wake a single-threaded process: sleep out the
            // timeout, or for good.
            let wait = if timeout != 0 {
                let ts: Timespec = t.read_struct(timeout)?;
                if ts.sec < 0 || !(0..1_000_000_000).contains(&ts.nsec) {
                    return Err(Errno::EINVAL);
                }
                Some(if cmd == FUTEX_WAIT {
                    Duration::new(ts.sec as u64, ts.nsec as u32)
                } else {
                    absolute_remaining(ts, op & FUTEX_CLOCK_REALTIME != 0)
                })
            } else {
                None
            };
            match wait {
                Some(d) => {
                    std::thread::sleep(d);
                    Err(Errno::ETIMEDOUT)
                }
                None => loop {
                    std::thread::sleep(Duration::from_secs(3600));
                },
            }
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn absolute_remaining(ts: Timespec, realtime: bool) -> Duration {
    let clock = if realtime {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec.
    unsafe { libc::clock_gettime(clock, &mut now) };
    let target = ts.sec as i128 * 1_000_000_000 + ts.nsec as i128;
    let cur = now.tv_sec as i128 * 1_000_000_000 + now.tv_nsec as i128;
    Duration::from_nanos((target - cur).clamp(0, u64::MAX as i128) as u64)
}
