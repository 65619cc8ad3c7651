//! The systrap platform against the real kernel: a stub starts clean, memory
//! maps into it from the memory file, and app code's syscalls trap to the
//! sentry without reaching the host.

use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use platform::{Prot, Regs, Stop};

fn memfile(size: u64) -> OwnedFd {
    // SAFETY: a valid NUL-terminated name.
    let fd = unsafe { libc::memfd_create(c"test-mem".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: fd is new and ours.
    let f = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain integer args.
    assert_eq!(unsafe { libc::ftruncate(fd, size as i64) }, 0);
    f
}

#[test]
fn syscalls_trap_to_the_sentry_and_never_run_on_the_host() {
    let mem = memfile(1 << 20);
    // Code: getpid; then a write(1, …) that must not print; then exit_group(9).
    let code: &[u8] = &[
        0xb8, 39, 0, 0, 0, // mov eax, 39 (getpid)
        0x0f, 0x05, // syscall
        0x48, 0x89, 0xc3, // mov rbx, rax
        0xb8, 1, 0, 0, 0, // mov eax, 1 (write)
        0x0f, 0x05, // syscall
        0xb8, 231, 0, 0, 0, // mov eax, 231 (exit_group)
        0x0f, 0x05, // syscall
        0xcc, // int3
    ];
    let mut f = std::fs::File::from(mem.try_clone().unwrap());
    f.write_all(code).unwrap();

    let p = platform::create("systrap", mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let mut ctx = p.new_context().unwrap();
    let base = 0x40_0000u64;
    space
        .map(
            base,
            0x1000,
            Prot {
                read: true,
                write: false,
                exec: true,
            },
            0,
        )
        .unwrap();

    let mut regs = Regs::for_entry(base, 0);
    assert_eq!(ctx.switch(&*space, &mut regs).unwrap(), Stop::Syscall);
    assert_eq!(regs.syscall_nr(), 39);
    regs.set_return(4242);
    assert_eq!(ctx.switch(&*space, &mut regs).unwrap(), Stop::Syscall);
    assert_eq!(
        regs.0.rbx, 4242,
        "the emulated getpid result reached the app"
    );
    assert_eq!(regs.syscall_nr(), 1);
    regs.set_return(0);
    assert_eq!(ctx.switch(&*space, &mut regs).unwrap(), Stop::Syscall);
    assert_eq!(regs.syscall_nr(), 231);
    // Resume past exit_group: the stub survives (the syscall was emulated) and hits int3.
    match ctx.switch(&*space, &mut regs).unwrap() {
        Stop::Signal { signo, .. } => assert_eq!(signo, libc::SIGTRAP),
        other => panic!("expected SIGTRAP, got {other:?}"),
    }
}

#[test]
fn a_bad_access_is_a_fault_with_its_address() {
    let mem = memfile(1 << 20);
    // mov al, [0x1234]
    let code: &[u8] = &[0x8a, 0x04, 0x25, 0x34, 0x12, 0, 0];
    let mut f = std::fs::File::from(mem.try_clone().unwrap());
    f.write_all(code).unwrap();
    let p = platform::create("systrap", mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let mut ctx = p.new_context().unwrap();
    space
        .map(
            0x40_0000,
            0x1000,
            Prot {
                read: true,
                write: false,
                exec: true,
            },
            0,
        )
        .unwrap();
    let mut regs = Regs::for_entry(0x40_0000, 0);
    match ctx.switch(&*space, &mut regs).unwrap() {
        Stop::Fault { signo, addr, .. } => {
            assert_eq!(signo, libc::SIGSEGV);
            assert_eq!(addr, 0x1234);
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn a_stub_holds_nothing_but_its_own_page_and_what_was_mapped() {
    let mem = memfile(1 << 20);
    let p = platform::create("systrap", mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let pid = space
        .as_any()
        .downcast_ref::<platform::systrap::SystrapAddressSpace>()
        .unwrap()
        .stub_pid();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let lines: Vec<&str> = maps.lines().filter(|l| !l.contains("[vsyscall]")).collect();
    assert_eq!(lines.len(), 2, "stub maps: {maps}");
    assert!(
        lines[0].starts_with("7ff000000000-7ff000001000 r-xp"),
        "{maps}"
    );
    // The thread contexts and signal stacks, shared with the sentry.
    assert!(
        lines[1].starts_with("7ff000010000-7ff004000000 rw-s"),
        "{maps}"
    );
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .collect();
    assert_eq!(fds.len(), 1, "the stub holds only the memory file");
}

/// Not a test of behaviour: prints the cost of one emulated syscall round
/// trip on this machine (`cargo test --release -- --ignored --nocapture`).
#[test]
#[ignore]
fn round_trip_cost() {
    let mem = memfile(1 << 20);
    // loop: syscall; jmp loop
    let code: &[u8] = &[0x0f, 0x05, 0xeb, 0xfc];
    let mut f = std::fs::File::from(mem.try_clone().unwrap());
    f.write_all(code).unwrap();
    let p = platform::create("systrap", mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let mut ctx = p.new_context().unwrap();
    space
        .map(
            0x40_0000,
            0x1000,
            Prot {
                read: true,
                write: false,
                exec: true,
            },
            0,
        )
        .unwrap();
    let mut regs = Regs::for_entry(0x40_0000, 0);
    let n = 100_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        ctx.switch(&*space, &mut regs).unwrap();
    }
    println!("round trip: {:?}", start.elapsed() / n);
}

/// Not a test of behaviour: prints what starting an address space costs.
#[test]
#[ignore]
fn address_space_start_cost() {
    let mem = memfile(1 << 20);
    let p = platform::create("systrap", mem.as_fd()).unwrap();
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let space = p.new_address_space().unwrap();
        println!("new address space: {:?}", start.elapsed());
        let start = std::time::Instant::now();
        drop(space);
        println!("drop: {:?}", start.elapsed());
    }
}
