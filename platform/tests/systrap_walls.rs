//! Attacks on the systrap stub from app code, against the real kernel. App
//! code shares the stub's address space and can jump anywhere in the stub's
//! page, whose syscall instructions the process-wide filter lets through:
//! none of those jumps may map, unmap or protect memory, clone a thread, or
//! change the thread's own trap set-up. Each must come back to the sentry as
//! an ordinary trapped syscall, with nothing changed in the stub.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use platform::{Regs, Stop, STUB_BASE};

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

/// Every address in the stub's page where a `syscall` instruction can be
/// decoded (inside code, data or the middle of another instruction).
fn syscall_sites() -> Vec<u64> {
    let page = platform::systrap::stub_page();
    page.windows(2)
        .enumerate()
        .filter(|(_, w)| w == &[0x0f, 0x05])
        .map(|(i, _)| STUB_BASE + i as u64)
        .collect()
}

#[test]
fn jumps_into_the_stub_page_reach_no_memory_or_thread_call() {
    let mem = memfile(1 << 20);
    let p = platform::create("systrap", mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let mut ctx = p.new_context().unwrap();
    let pid = space
        .as_any()
        .downcast_ref::<platform::systrap::SystrapAddressSpace>()
        .unwrap()
        .stub_pid();
    let maps_before = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let threads_before = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count();

    let sites = syscall_sites();
    assert!(
        sites.len() >= 10,
        "found only {} syscall sites",
        sites.len()
    );
    let target = 0x50_0000u64;
    let calls: [(i64, [u64; 6]); 7] = [
        // The memory file, shared, at an address of the attacker's choosing.
        (
            libc::SYS_mmap,
            [
                target,
                0x1000,
                3,
                (libc::MAP_SHARED | libc::MAP_FIXED) as u64,
                platform::systrap::STUB_MEMFILE_FD as u64,
                0,
            ],
        ),
        // The request region and the slots.
        (libc::SYS_munmap, [STUB_BASE + 0x1000, 0x1000, 0, 0, 0, 0]),
        (libc::SYS_mprotect, [STUB_BASE + 0x1000, 0x1000, 3, 0, 0, 0]),
        (
            libc::SYS_clone,
            [
                (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64,
                0,
                0,
                0,
                0,
                0,
            ],
        ),
        (libc::SYS_rt_sigprocmask, [2, 0, 0, 8, 0, 0]),
        (libc::SYS_sigaltstack, [0, 0, 0, 0, 0, 0]),
        (libc::SYS_seccomp, [1, 0, 0, 0, 0, 0]),
    ];
    for &site in &sites {
        for (nr, args) in calls {
            let mut regs = Regs::for_entry(site, 0);
            let r = &mut regs.0;
            r.rax = nr as u64;
            (r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9) =
                (args[0], args[1], args[2], args[3], args[4], args[5]);
            match ctx.switch(&*space, &mut regs) {
                Ok(Stop::Syscall) => {
                    assert_eq!(regs.0.orig_rax, nr as u64, "site {site:#x}");
                    assert_eq!(regs.0.rip, site + 2, "site {site:#x}");
                }
                other => panic!("nr {nr} at {site:#x}: {other:?}"),
            }
        }
    }
    let maps_after = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    assert_eq!(maps_before, maps_after, "the stub's mappings changed");
    let threads_after = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count();
    assert_eq!(threads_before, threads_after, "the stub gained threads");
}

#[test]
fn a_forged_copy_of_the_stub_code_traps_like_any_app_code() {
    let mem = memfile(1 << 20);
    // The stub's page copied into app memory: its syscalls come from
    // outside the real page, so every one of them traps.
    let page = platform::systrap::stub_page();
    let base = 0x40_0000u64;
    {
        use std::io::Write;
        let mut f = std::fs::File::from(mem.try_clone().unwrap());
        f.write_all(&page).unwrap();
    }
    let p = platform::create("systrap", mem.as_fd()).unwrap();
    let space = p.new_address_space().unwrap();
    let mut ctx = p.new_context().unwrap();
    space
        .map(
            base,
            0x1000,
            platform::Prot {
                read: true,
                write: false,
                exec: true,
            },
            0,
        )
        .unwrap();
    for site in syscall_sites() {
        let copy = site - STUB_BASE + base;
        let mut regs = Regs::for_entry(copy, 0);
        regs.0.rax = libc::SYS_openat as u64;
        match ctx.switch(&*space, &mut regs) {
            Ok(Stop::Syscall) => assert_eq!(regs.0.orig_rax, libc::SYS_openat as u64),
            other => panic!("copy of {site:#x}: {other:?}"),
        }
    }
}

#[test]
fn an_i386_call_comes_back_as_foreign() {
    let mem = memfile(1 << 20);
    // int 0x80 with eax = 20 (i386 getpid; writev on x86-64).
    let code: &[u8] = &[0xb8, 20, 0, 0, 0, 0xcd, 0x80];
    {
        use std::io::Write;
        let mut f = std::fs::File::from(mem.try_clone().unwrap());
        f.write_all(code).unwrap();
    }
    let p = platform::create("systrap", mem.as_fd()).unwrap();
    assert!(p.tells_foreign_syscalls());
    let space = p.new_address_space().unwrap();
    let mut ctx = p.new_context().unwrap();
    let prot = platform::Prot {
        read: true,
        write: false,
        exec: true,
    };
    space.map(0x40_0000, 0x1000, prot, 0).unwrap();
    let mut regs = Regs::for_entry(0x40_0000, 0);
    match ctx.switch(&*space, &mut regs) {
        Ok(Stop::ForeignSyscall) => assert_eq!(regs.0.orig_rax, 20),
        other => panic!("int 0x80: {other:?}"),
    }
}
