//! Signals around a sandbox. `ward` forwards the SIGINT, SIGTERM, SIGHUP
//! and SIGQUIT sent to it to the sentry (those a terminal sends reach the
//! sentry directly, as it shares ward's process group); the sentry passes
//! them, and SIGUSR1/SIGUSR2/SIGWINCH, to the sandbox's init; the gofer
//! ignores terminal signals and lives as long as its socket.

use std::io;

/// The signals ward forwards.
pub const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];
/// The signals the sentry passes into the sandbox.
pub const INTO_SANDBOX: [i32; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

fn set_of(sigs: &[i32]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in sigs {
        // SAFETY: `set` is valid and `s` a valid signal number.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

/// Blocks `sigs` in the calling thread (and so in threads it starts later).
pub fn block(sigs: &[i32]) -> io::Result<()> {
    let set = set_of(sigs);
    // SAFETY: `set` is a valid sigset_t; the old mask is not wanted.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Ignores `sigs` in this process.
pub fn ignore(sigs: &[i32]) {
    for &s in sigs {
        // SAFETY: setting SIG_IGN for a catchable signal is always sound.
        unsafe {
            libc::signal(s, libc::SIG_IGN);
        }
    }
}

/// Starts a thread that takes `sigs` (blocked beforehand with `block`) and
/// calls `on(sig, from_kernel)` for each; `from_kernel` is true for signals
/// the kernel generated (a terminal's ^C), false for kill(2) and friends.
pub fn watch(sigs: &'static [i32], on: impl Fn(i32, bool) + Send + 'static) -> io::Result<()> {
    // Forwarding signals needs no capability; in the sentry this thread
    // starts before the pivot and would keep what it got.
    sentry::spawn_without_caps(
        std::thread::Builder::new().name("signals".into()),
        move || {
            let set = set_of(sigs);
            loop {
                // SAFETY: siginfo_t is plain data.
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                // SAFETY: `set` and `info` are valid for the call.
                let sig = unsafe { libc::sigwaitinfo(&set, &mut info) };
                if sig < 0 {
                    continue;
                }
                on(sig, info.si_code == libc::SI_KERNEL);
            }
        },
    )?;
    Ok(())
}
