//! The syscall log of `ward --debug`: each syscall with its decoded
//! arguments and result, as `runsc --strace` prints it.

use std::fmt::Write;

use super::table::{Arg, Entry};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;

const MAX_SHOWN: usize = 64;

fn quote(bytes: &[u8], full_len: usize) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(MAX_SHOWN) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    if full_len > MAX_SHOWN.min(bytes.len()) {
        s.push_str("...");
    }
    s
}

fn open_flags(v: u64) -> String {
    let v = v as i32;
    let mut parts = vec![match v & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    }
    .to_string()];
    let named = [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_NOCTTY, "O_NOCTTY"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_PATH, "O_PATH"),
    ];
    let mut rest = v & !libc::O_ACCMODE;
    for (bit, name) in named {
        if rest & bit == bit {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#o}"));
    }
    parts.join("|")
}

fn format_arg(t: &Task, kind: Arg, args: &[u64; 6], i: usize, ret: &SysResult) -> String {
    let v = args[i];
    match kind {
        Arg::Int => format!("{}", v as i64),
        Arg::Hex => format!("{v:#x}"),
        Arg::Fd => {
            if v as i32 == libc::AT_FDCWD {
                "AT_FDCWD".into()
            } else {
                format!("{}", v as i32)
            }
        }
        Arg::Path => match t.mm.read_cstring(v, 4096) {
            Ok(p) => quote(&p, p.len()),
            Err(_) => format!("{v:#x}"),
        },
        Arg::Buf(len_idx) => {
            let len = match ret {
                Ok(n) if *n as usize <= args[len_idx] as usize => *n as usize,
                _ => args[len_idx] as usize,
            };
            let shown = len.min(MAX_SHOWN);
            let mut buf = vec![0u8; shown];
            match t.mm.copy_in(v, &mut buf) {
                Ok(()) => quote(&buf, len),
                Err(_) => format!("{v:#x}"),
            }
        }
        Arg::OpenFlags => open_flags(v),
        Arg::Mode => format!("{:#o}", v),
    }
}

pub fn log(t: &Task, nr: u64, entry: Option<&Entry>, args: &[u64; 6], ret: &SysResult) {
    let (name, kinds, known) = match entry {
        Some(e) if !e.name.is_empty() => (e.name, e.args, e.handler.is_some()),
        _ => ("unknown", &[][..], false),
    };
    let mut line = format!("{name}(");
    // Handled syscalls print exactly their arguments; others all six.
    let n = if known { kinds.len() } else { 6 };
    for i in 0..n {
        if i > 0 {
            line.push_str(", ");
        }
        let kind = kinds.get(i).copied().unwrap_or(Arg::Hex);
        line.push_str(&format_arg(t, kind, args, i, ret));
    }
    line.push(')');
    let result = match ret {
        Ok(v) => {
            if *v > 0xffff {
                format!("{v:#x}")
            } else {
                format!("{v}")
            }
        }
        Err(e) => format!("-1 {}", Errno::name(*e)),
    };
    tracing::info!(target: "strace", "[{:>4}] {line} = {result}", t.tid);
    let _ = nr;
}
