//! Capabilities are per thread on Linux and no thread can change another's:
//! a helper thread started before the sentry confines itself (the stub
//! factory, the vDSO clock, the signal thread) drops every capability it
//! inherited as its first act, so that once the main thread drops its own
//! after the pivot no thread of the sentry holds any, even in its permitted
//! set. Threads started later inherit nothing; they must not call this:
//! capset is not on the sentry's allowlist.

/// Empties the calling thread's effective, permitted and inheritable sets.
pub fn drop_all() -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    // _LINUX_CAPABILITY_VERSION_3: two 32-bit halves.
    let mut hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [Data::default(); 2];
    // SAFETY: capset reads a valid header and two data structs, as version 3
    // requires; pid 0 is the calling thread.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Starts `f` on a new thread built by `builder` that has first dropped
/// every capability; returns once it has, so a seccomp filter installed
/// afterwards (which admits no capset) never meets its capset.
pub fn spawn<F>(builder: std::thread::Builder, f: F) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
    let handle = builder.spawn(move || {
        let _ = drop_all();
        let _ = tx.send(());
        f()
    })?;
    let _ = rx.recv();
    Ok(handle)
}
