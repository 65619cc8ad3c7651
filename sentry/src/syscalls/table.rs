//! The table itself and the dispatcher.

use std::sync::OnceLock;

use super::names::{MAX_NR, NAMES};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;

pub type Handler = fn(&mut Task, [u64; 6]) -> SysResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Full,
    Partial,
    Unsupported,
}

impl Support {
    pub fn as_str(self) -> &'static str {
        match self {
            Support::Full => "full",
            Support::Partial => "partial",
            Support::Unsupported => "unsupported",
        }
    }
}

/// How the syscall log prints an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Signed decimal.
    Int,
    /// Hexadecimal.
    Hex,
    /// A file descriptor (AT_FDCWD shown by name).
    Fd,
    /// A NUL-terminated path in app memory.
    Path,
    /// A buffer whose length is argument N (printed after the call, for reads).
    Buf(usize),
    /// Open flags (O_*).
    OpenFlags,
    /// Octal mode.
    Mode,
}

#[derive(Clone, Copy)]
pub struct Entry {
    pub nr: u64,
    pub name: &'static str,
    pub handler: Option<Handler>,
    pub support: Support,
    pub note: &'static str,
    pub args: &'static [Arg],
}

/// Filled by each area's `register`.
pub struct Table(Vec<Entry>);

impl Table {
    /// Registers `handler` for `nr`.
    pub fn set(
        &mut self,
        nr: i64,
        handler: Handler,
        support: Support,
        args: &'static [Arg],
        note: &'static str,
    ) {
        if let Some(e) = self.0.get_mut(nr as usize) {
            e.handler = Some(handler);
            e.support = support;
            e.args = args;
            e.note = note;
        }
    }

    /// Records a known-unsupported syscall with a note (ENOSYS, not logged as unknown).
    pub fn unsupported(&mut self, nr: i64, note: &'static str) {
        if let Some(e) = self.0.get_mut(nr as usize) {
            e.note = note;
        }
    }
}

fn build() -> Vec<Entry> {
    let mut t = Table(
        (0..=MAX_NR)
            .map(|nr| Entry {
                nr: nr as u64,
                name: NAMES[nr],
                handler: None,
                support: Support::Unsupported,
                note: "",
                args: &[],
            })
            .collect(),
    );
    super::fs::register(&mut t);
    super::futex::register(&mut t);
    super::identity::register(&mut t);
    super::inotify::register(&mut t);
    super::memfd::register(&mut t);
    super::mmap::register(&mut t);
    super::mount::register(&mut t);
    super::pipe::register(&mut t);
    super::poll::register(&mut t);
    super::process::register(&mut t);
    super::signal::register(&mut t);
    super::signalfd::register(&mut t);
    super::socket::register(&mut t);
    super::sys::register(&mut t);
    super::task::register(&mut t);
    super::time::register(&mut t);
    super::timer::register(&mut t);
    super::unshare::register(&mut t);
    t.0
}

/// The whole table, indexed by syscall number.
pub fn table() -> &'static [Entry] {
    static TABLE: OnceLock<Vec<Entry>> = OnceLock::new();
    TABLE.get_or_init(build)
}

/// Runs syscall `nr` for `t`.
pub fn dispatch(t: &mut Task, nr: u64, args: [u64; 6]) -> SysResult {
    let entry = table().get(nr as usize);
    let ret = match entry.and_then(|e| e.handler) {
        Some(h) => h(t, args),
        None => {
            let name = entry.map_or("unknown", |e| e.name);
            t.kernel.log_unsupported(nr, name);
            Err(Errno::ENOSYS)
        }
    };
    if t.kernel.strace {
        super::strace::log(t, nr, entry, &args, &ret);
    }
    ret
}
