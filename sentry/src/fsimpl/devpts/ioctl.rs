//! The terminal ioctls of a pty's two ends. As on Linux, the termios,
//! window-size and job-control requests act on the replica's settings
//! whichever end they come through; the checks that ask "is this the
//! caller's controlling terminal" apply to requests made on the replica
//! (TIOCGPGRP, TIOCGSID) or always (TIOCSPGRP), as tty_jobctrl.c's do.

use std::sync::Arc;

use super::jobctl;
use super::pair::Tty;
use super::termios::{Termios, Winsize, TERMIOS2_LEN, TERMIOS_LEN};
use crate::errno::{Errno, SysResult};
use crate::kernel::creds::CAP_SYS_ADMIN;
use crate::kernel::Task;

// Requests libc does not name.
const TIOCGPTPEER: u64 = 0x5441;
const TCGETS2: u64 = 0x802c_542a;
const TCSETS2: u64 = 0x402c_542b;
const TCSETSW2: u64 = 0x402c_542c;
const TCSETSF2: u64 = 0x402c_542d;
const TIOCGEXCL: u64 = 0x8004_5440;
const TIOCGPTLCK: u64 = 0x8004_5439;
const TIOCGDEV: u64 = 0x8004_5432;

/// N_TTY, the one line discipline.
const N_TTY: i32 = 0;

/// Handles `cmd` on `tty` through its master (`master`) or replica end.
pub fn ioctl(tty: &Arc<Tty>, master: bool, t: &mut Task, cmd: u64, arg: u64) -> SysResult {
    match cmd {
        c if c == libc::TCGETS => {
            let b = tty.lock().ld.termios.to_bytes();
            t.mm.copy_out(arg, &b)?;
            Ok(0)
        }
        TCGETS2 => {
            let b = tty.lock().ld.termios.to_bytes2();
            t.mm.copy_out(arg, &b)?;
            Ok(0)
        }
        c if c == libc::TCSETS || c == libc::TCSETSW || c == libc::TCSETSF => {
            set_termios(tty, t, arg, TERMIOS_LEN, c == libc::TCSETSF)
        }
        TCSETS2 | TCSETSW2 | TCSETSF2 => set_termios(tty, t, arg, TERMIOS2_LEN, cmd == TCSETSF2),
        c if c == libc::TIOCGWINSZ => {
            let b = tty.lock().winsize.to_bytes();
            t.mm.copy_out(arg, &b)?;
            Ok(0)
        }
        c if c == libc::TIOCSWINSZ => {
            let mut b = [0u8; 8];
            t.mm.copy_in(arg, &mut b)?;
            let ws = Winsize::from_bytes(&b);
            let pgrp = {
                let mut st = tty.lock();
                if st.winsize == ws {
                    return Ok(0);
                }
                st.winsize = ws;
                st.pgrp
            };
            if let Some(pg) = pgrp {
                jobctl::signal_pgrp(pg, libc::SIGWINCH);
            }
            Ok(0)
        }
        c if c == libc::TIOCGPTN && master => {
            t.write_struct(arg, &tty.index)?;
            Ok(0)
        }
        c if c == libc::TIOCSPTLCK && master => {
            let v: i32 = t.read_struct(arg)?;
            tty.lock().locked = v != 0;
            Ok(0)
        }
        TIOCGPTLCK if master => {
            let v = i32::from(tty.lock().locked);
            t.write_struct(arg, &v)?;
            Ok(0)
        }
        TIOCGPTPEER if master => super::open_peer(tty, t, arg as i32),
        c if c == libc::TIOCSCTTY => set_ctty(tty, t, arg),
        c if c == libc::TIOCNOTTY => {
            let (_, sid) = jobctl::ids(t);
            if master || tty.session_pgrp().0 != Some(sid) {
                return Err(Errno::ENOTTY);
            }
            if jobctl::is_session_leader(t) {
                let pgrp = {
                    let mut st = tty.lock();
                    st.session = None;
                    st.pgrp.take()
                };
                if let Some(pg) = pgrp {
                    jobctl::signal_pgrp(pg, libc::SIGHUP);
                    jobctl::signal_pgrp(pg, libc::SIGCONT);
                }
            }
            Ok(0)
        }
        c if c == libc::TIOCGPGRP => {
            let (_, sid) = jobctl::ids(t);
            let (session, pgrp) = tty.session_pgrp();
            if !master && session != Some(sid) {
                return Err(Errno::ENOTTY);
            }
            t.write_struct(arg, &pgrp.unwrap_or(0))?;
            Ok(0)
        }
        c if c == libc::TIOCSPGRP => set_pgrp(tty, t, arg),
        c if c == libc::TIOCGSID => {
            let (_, sid) = jobctl::ids(t);
            let session = tty.session_pgrp().0;
            if !master && session != Some(sid) {
                return Err(Errno::ENOTTY);
            }
            let s = session.ok_or(Errno::ENOTTY)?;
            t.write_struct(arg, &s)?;
            Ok(0)
        }
        c if c == libc::FIONREAD => {
            let st = tty.lock();
            let n = if master {
                st.ld.output_len()
            } else {
                st.ld.input_ready()
            };
            drop(st);
            t.write_struct(arg, &(n.min(i32::MAX as usize) as i32))?;
            Ok(0)
        }
        c if c == libc::TIOCOUTQ => {
            // A pty's driver keeps no output of its own (Linux's
            // pty_chars_in_buffer is 0).
            t.write_struct(arg, &0i32)?;
            Ok(0)
        }
        c if c == libc::TCFLSH => {
            let which = arg as i32;
            if !matches!(which, libc::TCIFLUSH | libc::TCOFLUSH | libc::TCIOFLUSH) {
                return Err(Errno::EINVAL);
            }
            jobctl::check_change(t, tty)?;
            let mut st = tty.lock();
            // The master's input is the replica's output, and the other
            // way round.
            let (inq, outq) = (which != libc::TCOFLUSH, which != libc::TCIFLUSH);
            if (inq && !master) || (outq && master) {
                st.ld.flush_input();
            }
            if (outq && !master) || (inq && master) {
                st.ld.flush_output();
            }
            drop(st);
            tty.notify();
            Ok(0)
        }
        c if c == libc::TCXONC => {
            if arg > 3 {
                return Err(Errno::EINVAL);
            }
            jobctl::check_change(t, tty)?;
            Ok(0)
        }
        c if c == libc::TCSBRK || c == libc::TCSBRKP => {
            // tcdrain and breaks: output reaches the master at once.
            jobctl::check_change(t, tty)?;
            Ok(0)
        }
        c if c == libc::TIOCEXCL => {
            tty.lock().excl = true;
            Ok(0)
        }
        c if c == libc::TIOCNXCL => {
            tty.lock().excl = false;
            Ok(0)
        }
        TIOCGEXCL => {
            let v = i32::from(tty.lock().excl);
            t.write_struct(arg, &v)?;
            Ok(0)
        }
        TIOCGDEV => {
            // The replica's number, as new_encode_dev packs it.
            let nr = super::encode_dev(tty.index);
            t.write_struct(arg, &nr)?;
            Ok(0)
        }
        c if c == libc::TIOCGETD => {
            t.write_struct(arg, &N_TTY)?;
            Ok(0)
        }
        c if c == libc::TIOCSETD => {
            let d: i32 = t.read_struct(arg)?;
            if d == N_TTY {
                Ok(0)
            } else {
                Err(Errno::EINVAL)
            }
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// TCSETS and friends: `len` bytes of termios or termios2 at `arg`;
/// `flush` (TCSETSF) discards pending input first.
fn set_termios(tty: &Arc<Tty>, t: &Task, arg: u64, len: usize, flush: bool) -> SysResult {
    jobctl::check_change(t, tty)?;
    let mut b = vec![0u8; len];
    t.mm.copy_in(arg, &mut b)?;
    let new = Termios::from_bytes(&b);
    {
        let mut st = tty.lock();
        if flush {
            st.ld.flush_input();
        }
        st.ld.set_termios(new);
    }
    tty.notify();
    Ok(0)
}

/// TIOCSCTTY: a session leader without a controlling terminal takes this
/// one, unless another session has it (taken anyway with `arg` 1 and
/// CAP_SYS_ADMIN).
fn set_ctty(tty: &Arc<Tty>, t: &Task, arg: u64) -> SysResult {
    let (pgid, sid) = jobctl::ids(t);
    let (session, _) = tty.session_pgrp();
    if session == Some(sid) {
        return Ok(0);
    }
    if !jobctl::is_session_leader(t) || jobctl::ctty_of(sid).is_some() {
        return Err(Errno::EPERM);
    }
    if session.is_some() {
        let caps = t.creds.effective;
        if arg != 1 || caps & (1 << CAP_SYS_ADMIN) == 0 {
            return Err(Errno::EPERM);
        }
    }
    let mut st = tty.lock();
    st.session = Some(sid);
    st.pgrp = Some(pgid);
    Ok(0)
}

/// TIOCSPGRP: makes a group of the caller's session the foreground one.
fn set_pgrp(tty: &Arc<Tty>, t: &Task, arg: u64) -> SysResult {
    match jobctl::check_change(t, tty) {
        Err(e) if e == Errno::EIO => return Err(Errno::ENOTTY),
        r => r?,
    }
    let (_, sid) = jobctl::ids(t);
    if tty.session_pgrp().0 != Some(sid) {
        return Err(Errno::ENOTTY);
    }
    let pgrp: i32 = t.read_struct(arg)?;
    if pgrp < 0 {
        return Err(Errno::EINVAL);
    }
    match jobctl::pgrp_in_session(pgrp, sid) {
        None => return Err(Errno::ESRCH),
        Some(false) => return Err(Errno::EPERM),
        Some(true) => {}
    }
    tty.lock().pgrp = Some(pgrp);
    Ok(0)
}
