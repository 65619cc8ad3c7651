//! Every platform against the real kernel: a stub starts clean, memory maps
//! into it from the memory file, and app code's syscalls stop in the sentry
//! without reaching the host. Each behaviour is one function taking the
//! platform's name; `for_each_platform!` makes a test of it per platform.

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

fn syscalls_stop_in_the_sentry_and_never_run_on_the_host(name: &str) {
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

    let p = platform::create(name, mem.as_fd()).unwrap();
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

fn a_bad_access_is_a_fault_with_its_address(name: &str) {
    let mem = memfile(1 << 20);
    // mov al, [0x1234]
    let code: &[u8] = &[0x8a, 0x04, 0x25, 0x34, 0x12, 0, 0];
    let mut f = std::fs::File::from(mem.try_clone().unwrap());
    f.write_all(code).unwrap();
    let p = platform::create(name, mem.as_fd()).unwrap();
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

fn a_stub_holds_nothing_but_its_own_pages_and_what_was_mapped(name: &str) {
    let mem = memfile(1 << 20);
    let p = platform::create(name, mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let any = space.as_any();
    let pid = match any.downcast_ref::<platform::ptrace::PtraceAddressSpace>() {
        Some(s) => s.stub_pid(),
        None => any
            .downcast_ref::<platform::systrap::SystrapAddressSpace>()
            .unwrap()
            .stub_pid(),
    };
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let lines: Vec<&str> = maps.lines().filter(|l| !l.contains("[vsyscall]")).collect();
    assert!(
        lines[0].starts_with("7ff000000000-7ff000001000 r-xp"),
        "{maps}"
    );
    if name == "systrap" {
        // The memory thread's requests, read-only; the thread contexts and
        // signal stacks; both shared with the sentry.
        assert_eq!(lines.len(), 3, "stub maps: {maps}");
        assert!(
            lines[1].starts_with("7ff000001000-7ff000010000 r--s"),
            "{maps}"
        );
        assert!(
            lines[2].starts_with("7ff000010000-7ff004000000 rw-s"),
            "{maps}"
        );
    } else {
        assert_eq!(lines.len(), 1, "stub maps: {maps}");
    }
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .collect();
    assert_eq!(fds.len(), 1, "the stub holds only the memory file");
}

/// Threads start while another thread keeps the address space's memory
/// operations busy: every new thread must come up (a clone's child once
/// read its op back from a request region the next batch had reused, and
/// took itself for the memory thread).
fn threads_start_while_memory_operations_run(name: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    let mem = memfile(1 << 20);
    let p = platform::create(name, mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // A bound thread that maps and unmaps without pause.
    let busy = {
        let ticket = space.new_thread().unwrap();
        let (space, stop) = (space.clone(), stop.clone());
        std::thread::spawn(move || {
            space.bind_thread(ticket).unwrap();
            let prot = Prot {
                read: true,
                write: true,
                exec: false,
            };
            while !stop.load(Ordering::Relaxed) {
                space.map(0x40_0000, 0x1000, prot, 0).unwrap();
                space.unmap(0x40_0000, 0x1000).unwrap();
            }
            space.release_thread();
        })
    };
    for i in 0..200 {
        let ticket = space.new_thread().unwrap();
        let (tx, rx) = mpsc::channel();
        let s = space.clone();
        std::thread::spawn(move || {
            let r = s.bind_thread(ticket);
            if r.is_ok() {
                s.release_thread();
            }
            let _ = tx.send(r.map_err(|e| e.to_string()));
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(r) => r.unwrap_or_else(|e| panic!("thread {i}: {e}")),
            Err(_) => panic!("thread {i} never came up"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
}

/// Not a test of behaviour: prints the cost of one emulated syscall round
/// trip on this machine (`cargo test --release -- --ignored --nocapture`).
fn round_trip_cost(name: &str) {
    let mem = memfile(1 << 20);
    // loop: syscall; jmp loop
    let code: &[u8] = &[0x0f, 0x05, 0xeb, 0xfc];
    let mut f = std::fs::File::from(mem.try_clone().unwrap());
    f.write_all(code).unwrap();
    let p = platform::create(name, mem.as_fd()).unwrap();
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
    println!("{name} round trip: {:?}", start.elapsed() / n);
}

/// Not a test of behaviour: prints what starting an address space costs.
fn address_space_start_cost(name: &str) {
    let mem = memfile(1 << 20);
    let p = platform::create(name, mem.as_fd()).unwrap();
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let space = p.new_address_space().unwrap();
        println!("{name} new address space: {:?}", start.elapsed());
        let start = std::time::Instant::now();
        drop(space);
        println!("drop: {:?}", start.elapsed());
    }
}

/// A test per platform for each behaviour above.
macro_rules! for_each_platform {
    ($($(#[$attr:meta])* $f:ident),* $(,)?) => {
        mod ptrace {
            $( #[test] $(#[$attr])* fn $f() { super::$f("ptrace") } )*
        }
        mod systrap {
            $( #[test] $(#[$attr])* fn $f() { super::$f("systrap") } )*
        }
    };
}

for_each_platform!(
    syscalls_stop_in_the_sentry_and_never_run_on_the_host,
    a_bad_access_is_a_fault_with_its_address,
    a_stub_holds_nothing_but_its_own_pages_and_what_was_mapped,
    threads_start_while_memory_operations_run,
    // Not tests of behaviour: costs on this machine
    // (`cargo test --release -p platform -- --ignored --nocapture`).
    #[ignore]
    round_trip_cost,
    #[ignore]
    address_space_start_cost,
);
