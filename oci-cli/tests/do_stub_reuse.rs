//! Systrap reuses the stub process of an address space that is gone for a
//! later fork or exec (`platform/src/systrap/pool.rs`). Nothing of the
//! earlier process may survive into the later one: a C program plants a
//! page at a fixed address and odd FP control state and exits; the next
//! program, started right after on a reused stub, must fault at that
//! address and start with fresh FP state. Run natively first (the probe
//! must pass there too), then under `ward do` with `--debug`, whose log
//! must show that stubs were in fact reused.

mod common;

use std::sync::OnceLock;

use common::{compile_c, describe, native, run, ward, CProgram};

fn program() -> &'static CProgram {
    static PROG: OnceLock<CProgram> = OnceLock::new();
    PROG.get_or_init(|| compile_c("stub_reuse", include_str!("c/stub_reuse.c")))
}

/// Plants and probes in turn, `rounds` times; stops at the first probe
/// that finds something.
fn script(rounds: u32) -> String {
    let p = program().path().display().to_string();
    format!(
        "i=0; while [ $i -lt {rounds} ]; do {p} plant || exit 2; {p} probe || exit 1; \
         i=$((i+1)); done; echo clean"
    )
}

#[test]
fn a_reused_stub_carries_nothing_of_its_last_process() {
    let out = run(&mut native(["sh", "-c", &script(3)]));
    assert!(out.status.success(), "natively: {}", describe(&out));

    let out = run(&mut ward([
        "--debug",
        "do",
        "--platform",
        "systrap",
        "sh",
        "-c",
        &script(40),
    ]));
    assert!(out.status.success(), "under ward: {}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "clean\n");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("systrap stub reused"),
        "no stub was reused in 80 processes:\n{log}"
    );
}
