//! Any bytes an executable can hold: the header parses or is refused without
//! a panic, and so do the program headers after it. Every PT_LOAD segment the
//! parser accepts has filesz <= memsz and a vaddr + memsz that does not
//! overflow, since the loader maps and zero-fills on the strength of both.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentry::loader::elf::{parse_header, parse_phdrs, PT_LOAD};

fuzz_target!(|data: &[u8]| {
    let Ok(mut info) = parse_header(data) else {
        return;
    };
    // The program headers are read from the bytes after the 64-byte header
    // (whatever phoff says), so the fuzzer controls both independently.
    let rest = &data[64..];
    if parse_phdrs(&mut info, rest).is_err() {
        return;
    }
    assert_eq!(info.phdrs.len(), info.phnum as usize);
    assert!(info.phdrs.iter().any(|p| p.kind == PT_LOAD));
    for ph in info.phdrs.iter().filter(|p| p.kind == PT_LOAD) {
        assert!(ph.filesz <= ph.memsz, "accepted filesz > memsz: {ph:?}");
        assert!(
            ph.vaddr.checked_add(ph.memsz).is_some(),
            "accepted vaddr + memsz overflow: {ph:?}"
        );
    }
});
