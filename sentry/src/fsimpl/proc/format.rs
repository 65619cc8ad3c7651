//! The text of procfs files, as Linux lays it out (fs/proc/array.c,
//! task_mmu.c, meminfo.c…). Pure: every function takes plain facts and
//! returns bytes, so the layouts are unit-tested without a sandbox.

use std::fmt::Write as _;

use platform::Prot;

use crate::kernel::task::Creds;
use crate::mm::vma::{Backing, Vma};

/// Clock ticks per second (sysconf(_SC_CLK_TCK)), the unit of /proc times.
pub const CLK_TCK: u64 = 100;
const PAGE: u64 = 4096;
/// PF_RANDOMIZE: what /proc/PID/stat's flags shows for an ordinary process.
const PF_RANDOMIZE: u64 = 0x0040_0000;

/// A task's scheduling state, as the state letter of /proc/PID/stat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Sleeping,
    Stopped,
    Zombie,
}

impl RunState {
    pub fn letter(self) -> char {
        match self {
            RunState::Running => 'R',
            RunState::Sleeping => 'S',
            RunState::Stopped => 'T',
            RunState::Zombie => 'Z',
        }
    }

    fn long(self) -> &'static str {
        match self {
            RunState::Running => "R (running)",
            RunState::Sleeping => "S (sleeping)",
            RunState::Stopped => "T (stopped)",
            RunState::Zombie => "Z (zombie)",
        }
    }
}

/// Signal sets of a task (bit n-1 for signal n).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigs {
    /// Queued for the thread itself.
    pub pending: u64,
    /// Queued for the whole process.
    pub shared: u64,
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

/// Memory use of an address space, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemUsage {
    pub size: u64,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub rss_shmem: u64,
    pub data: u64,
    pub stack: u64,
    pub exe: u64,
    pub lib: u64,
}

impl MemUsage {
    pub fn rss(&self) -> u64 {
        self.rss_anon + self.rss_file + self.rss_shmem
    }

    /// Page-table pages a real kernel would use for this much address
    /// space: one 4 KiB table per 2 MiB mapped, at least one.
    fn pte(&self) -> u64 {
        (self.size >> 21).max(1) * PAGE
    }
}

/// Tallies VMAs as Linux's task_mem() does; `resident(vma)` is how many of
/// the VMA's bytes are in memory; `exe` is the executable's path.
pub fn mem_usage(vmas: &[Vma], exe: &str, resident: impl Fn(&Vma) -> u64) -> MemUsage {
    let mut m = MemUsage::default();
    for v in vmas {
        let len = v.len();
        m.size += len;
        let res = resident(v).min(len);
        let stack = matches!(v.backing, Backing::Stack);
        match (&v.backing, v.shared) {
            (Backing::File { .. }, _) => m.rss_file += res,
            (_, true) => m.rss_shmem += res,
            _ => m.rss_anon += res,
        }
        if stack {
            m.stack += len;
        } else if v.prot.write && !v.shared {
            m.data += len;
        } else if v.prot.exec && !v.prot.write {
            match &v.backing {
                Backing::File { path, .. } if &**path == exe => m.exe += len,
                _ => m.lib += len,
            }
        }
    }
    m
}

/// What /proc/PID/stat and /proc/PID/status show of one task.
pub struct TaskInfo<'a> {
    /// The tid (the tgid for a whole-process view of the leader).
    pub pid: i32,
    pub tgid: i32,
    pub comm: &'a [u8],
    pub state: RunState,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub threads: usize,
    pub nice: i32,
    /// Clock ticks from sandbox boot to the process's start.
    pub start_ticks: u64,
    /// None for a zombie (no address space).
    pub mem: Option<MemUsage>,
    pub sigs: Sigs,
    pub exit_signal: i32,
    /// The wait status of a zombie, else 0.
    pub exit_code: i32,
    pub creds: &'a Creds,
    /// None when the task has no file-system context (a zombie).
    pub umask: Option<u32>,
    /// Slots in the fd table.
    pub fd_size: u64,
    pub ncpus: usize,
    pub sigpending_limit: u64,
}

/// /proc/PID/stat: one line of 52 fields.
pub fn stat(t: &TaskInfo<'_>) -> Vec<u8> {
    let mut out = format!("{} (", t.pid).into_bytes();
    out.extend_from_slice(t.comm);
    let mem = t.mem.unwrap_or_default();
    let low = |s: u64| s & 0x7fff_ffff;
    // tty_nr and tpgid: the session's controlling terminal, if a pty.
    let (tty_nr, tpgid) = crate::fsimpl::devpts::ctty_numbers(t.sid);
    let mut s = String::new();
    let _ = write!(
        s,
        ") {} {} {} {} {} {} {} 0 0 0 0 0 0 0 0 {} {} {} 0 {} {} {} {}",
        t.state.letter(),
        t.ppid,
        t.pgid,
        t.sid,
        tty_nr,
        tpgid,
        PF_RANDOMIZE,
        20 + t.nice,
        t.nice,
        t.threads,
        t.start_ticks,
        mem.size,
        mem.rss() / PAGE,
        u64::MAX,
    );
    // startcode endcode startstack kstkesp kstkeip: hidden (as for a
    // reader without ptrace access).
    s.push_str(" 0 0 0 0 0");
    let _ = write!(
        s,
        " {} {} {} {}",
        low(t.sigs.pending),
        low(t.sigs.blocked),
        low(t.sigs.ignored),
        low(t.sigs.caught)
    );
    // wchan nswap cnswap exit_signal processor rt_priority policy
    // delayacct_blkio_ticks guest_time cguest_time
    let _ = write!(s, " 0 0 0 {} 0 0 0 0 0 0", t.exit_signal);
    // start_data end_data start_brk arg_start arg_end env_start env_end
    s.push_str(" 0 0 0 0 0 0 0");
    let _ = writeln!(s, " {}", t.exit_code);
    out.extend_from_slice(s.as_bytes());
    out
}

/// /proc/PID/statm: sizes in pages.
pub fn statm(mem: Option<MemUsage>) -> Vec<u8> {
    let m = mem.unwrap_or_default();
    format!(
        "{} {} {} {} 0 {} 0\n",
        m.size / PAGE,
        m.rss() / PAGE,
        (m.rss_file + m.rss_shmem) / PAGE,
        m.exe / PAGE,
        (m.data + m.stack) / PAGE
    )
    .into_bytes()
}

/// `bits` as Linux prints a bitmap of `nbits` bits: hex words of 32 bits,
/// most significant first, separated by commas.
fn bitmap_hex(nbits: usize, set: impl Fn(usize) -> bool) -> String {
    let words = nbits.div_ceil(32).max(1);
    let mut out = String::new();
    for w in (0..words).rev() {
        let mut v: u32 = 0;
        for b in 0..32 {
            let i = w * 32 + b;
            if i < nbits && set(i) {
                v |= 1 << b;
            }
        }
        if w == words - 1 {
            let bits_here = nbits - w * 32;
            let digits = bits_here.div_ceil(4).max(1);
            let _ = write!(out, "{v:0digits$x}");
        } else {
            let _ = write!(out, ",{v:08x}");
        }
    }
    out
}

/// CPUs 0..n as a list: "0", "0-3".
fn cpu_list(n: usize) -> String {
    match n {
        0 | 1 => "0".to_string(),
        n => format!("0-{}", n - 1),
    }
}

/// comm as /proc/PID/status shows it: '\n' and '\\' escaped.
fn escaped_name(comm: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(comm.len());
    for &c in comm {
        match c {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            c => out.push(c),
        }
    }
    out
}

fn kb_line(s: &mut String, name: &str, bytes: u64) {
    let _ = writeln!(s, "{name}:\t{:>8} kB", bytes >> 10);
}

/// /proc/PID/status.
pub fn status(t: &TaskInfo<'_>) -> Vec<u8> {
    let mut out = b"Name:\t".to_vec();
    out.extend_from_slice(&escaped_name(t.comm));
    out.push(b'\n');
    let mut s = String::new();
    if let Some(u) = t.umask {
        let _ = writeln!(s, "Umask:\t{u:04o}");
    }
    let c = t.creds;
    let _ = writeln!(s, "State:\t{}", t.state.long());
    let _ = writeln!(s, "Tgid:\t{}", t.tgid);
    let _ = writeln!(s, "Ngid:\t0");
    let _ = writeln!(s, "Pid:\t{}", t.pid);
    let _ = writeln!(s, "PPid:\t{}", t.ppid);
    let _ = writeln!(s, "TracerPid:\t0");
    let _ = writeln!(s, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
    let _ = writeln!(s, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
    let _ = writeln!(s, "FDSize:\t{}", t.fd_size);
    s.push_str("Groups:\t");
    for (i, g) in c.groups.iter().enumerate() {
        let _ = write!(s, "{}{g}", if i == 0 { "" } else { " " });
    }
    s.push_str(" \n");
    let _ = writeln!(s, "NStgid:\t{}", t.tgid);
    let _ = writeln!(s, "NSpid:\t{}", t.pid);
    let _ = writeln!(s, "NSpgid:\t{}", t.pgid);
    let _ = writeln!(s, "NSsid:\t{}", t.sid);
    let _ = writeln!(s, "Kthread:\t0");
    if let Some(m) = &t.mem {
        kb_line(&mut s, "VmPeak", m.size);
        kb_line(&mut s, "VmSize", m.size);
        kb_line(&mut s, "VmLck", 0);
        kb_line(&mut s, "VmPin", 0);
        kb_line(&mut s, "VmHWM", m.rss());
        kb_line(&mut s, "VmRSS", m.rss());
        kb_line(&mut s, "RssAnon", m.rss_anon);
        kb_line(&mut s, "RssFile", m.rss_file);
        kb_line(&mut s, "RssShmem", m.rss_shmem);
        kb_line(&mut s, "VmData", m.data);
        kb_line(&mut s, "VmStk", m.stack);
        kb_line(&mut s, "VmExe", m.exe);
        kb_line(&mut s, "VmLib", m.lib);
        kb_line(&mut s, "VmPTE", m.pte());
        kb_line(&mut s, "VmSwap", 0);
        kb_line(&mut s, "HugetlbPages", 0);
    }
    let _ = writeln!(s, "CoreDumping:\t0");
    let _ = writeln!(s, "THP_enabled:\t1");
    let _ = writeln!(s, "untag_mask:\t0xffffffffffffffff");
    let _ = writeln!(s, "Threads:\t{}", t.threads);
    let queued = (t.sigs.pending | t.sigs.shared).count_ones();
    let _ = writeln!(s, "SigQ:\t{queued}/{}", t.sigpending_limit);
    let _ = writeln!(s, "SigPnd:\t{:016x}", t.sigs.pending);
    let _ = writeln!(s, "ShdPnd:\t{:016x}", t.sigs.shared);
    let _ = writeln!(s, "SigBlk:\t{:016x}", t.sigs.blocked);
    let _ = writeln!(s, "SigIgn:\t{:016x}", t.sigs.ignored);
    let _ = writeln!(s, "SigCgt:\t{:016x}", t.sigs.caught);
    let _ = writeln!(s, "CapInh:\t{:016x}", c.inheritable);
    let _ = writeln!(s, "CapPrm:\t{:016x}", c.permitted);
    let _ = writeln!(s, "CapEff:\t{:016x}", c.effective);
    let _ = writeln!(s, "CapBnd:\t{:016x}", c.bounding);
    let _ = writeln!(s, "CapAmb:\t{:016x}", c.ambient);
    let _ = writeln!(s, "NoNewPrivs:\t{}", c.no_new_privs as u8);
    let _ = writeln!(s, "Seccomp:\t0");
    let _ = writeln!(s, "Seccomp_filters:\t0");
    let _ = writeln!(s, "Speculation_Store_Bypass:\tthread vulnerable");
    let _ = writeln!(s, "SpeculationIndirectBranch:\tconditional enabled");
    let _ = writeln!(s, "Cpus_allowed:\t{}", bitmap_hex(t.ncpus, |_| true));
    let _ = writeln!(s, "Cpus_allowed_list:\t{}", cpu_list(t.ncpus));
    let _ = writeln!(s, "Mems_allowed:\t{}", bitmap_hex(64, |i| i == 0));
    let _ = writeln!(s, "Mems_allowed_list:\t0");
    let _ = writeln!(s, "voluntary_ctxt_switches:\t0");
    let _ = writeln!(s, "nonvoluntary_ctxt_switches:\t0");
    out.extend_from_slice(s.as_bytes());
    out
}

/// Linux's dev_t split: (major, minor).
pub fn dev_split(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

/// One line of /proc/PID/maps.
pub fn maps_line(v: &Vma) -> Vec<u8> {
    let Prot { read, write, exec } = v.prot;
    let flag = |on: bool, c: char| if on { c } else { '-' };
    let (offset, (major, minor), ino, name): (u64, (u64, u64), u64, &str) = match &v.backing {
        Backing::File {
            offset,
            path,
            dev,
            ino,
            ..
        } => (*offset, dev_split(*dev), *ino, path),
        Backing::Heap => (0, (0, 0), 0, "[heap]"),
        Backing::Stack => (0, (0, 0), 0, "[stack]"),
        Backing::Vvar => (0, (0, 0), 0, "[vvar]"),
        Backing::Vdso => (0, (0, 0), 0, "[vdso]"),
        Backing::Anon if v.shared => (0, (0, 1), 0, "/dev/zero (deleted)"),
        Backing::Anon => (0, (0, 0), 0, ""),
    };
    let mut s = format!(
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        v.start,
        v.end,
        flag(read, 'r'),
        flag(write, 'w'),
        flag(exec, 'x'),
        // [vvar] is shared underneath but private to Linux's eyes.
        if v.shared && !matches!(v.backing, Backing::Vvar) {
            's'
        } else {
            'p'
        },
        offset,
        major,
        minor,
        ino
    );
    if !name.is_empty() {
        // Linux pads the header to 72 columns, then one space, then the name.
        while s.len() < 72 {
            s.push(' ');
        }
        s.push(' ');
        s.push_str(name);
    }
    s.push('\n');
    s.into_bytes()
}

/// /proc/PID/maps.
pub fn maps(vmas: &[Vma]) -> Vec<u8> {
    vmas.iter().flat_map(maps_line).collect()
}

/// Facts /proc/meminfo shows, in bytes (from the host's sysinfo(2)).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub buffers: u64,
    pub shared: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// /proc/meminfo.
pub fn meminfo(m: &MemInfo) -> Vec<u8> {
    let mut s = String::new();
    let mut kb = |name: &str, bytes: u64| {
        let _ = writeln!(s, "{:<16}{:>8} kB", format!("{name}:"), bytes >> 10);
    };
    let used = m.total.saturating_sub(m.free);
    kb("MemTotal", m.total);
    kb("MemFree", m.free);
    kb("MemAvailable", m.free + m.buffers);
    kb("Buffers", m.buffers);
    kb("Cached", 0);
    kb("SwapCached", 0);
    kb("Active", used);
    kb("Inactive", 0);
    kb("Active(anon)", used);
    kb("Inactive(anon)", 0);
    kb("Active(file)", 0);
    kb("Inactive(file)", 0);
    kb("Unevictable", 0);
    kb("Mlocked", 0);
    kb("SwapTotal", m.swap_total);
    kb("SwapFree", m.swap_free);
    kb("Zswap", 0);
    kb("Zswapped", 0);
    kb("Dirty", 0);
    kb("Writeback", 0);
    kb("AnonPages", used);
    kb("Mapped", 0);
    kb("Shmem", m.shared);
    kb("KReclaimable", 0);
    kb("Slab", 0);
    kb("SReclaimable", 0);
    kb("SUnreclaim", 0);
    kb("KernelStack", 0);
    kb("PageTables", 0);
    kb("SecPageTables", 0);
    kb("NFS_Unstable", 0);
    kb("Bounce", 0);
    kb("WritebackTmp", 0);
    kb("CommitLimit", m.total / 2 + m.swap_total);
    kb("Committed_AS", used);
    kb("VmallocTotal", 34_359_738_367 << 10);
    kb("VmallocUsed", 0);
    kb("VmallocChunk", 0);
    kb("Percpu", 0);
    kb("HardwareCorrupted", 0);
    kb("AnonHugePages", 0);
    kb("ShmemHugePages", 0);
    kb("ShmemPmdMapped", 0);
    kb("FileHugePages", 0);
    kb("FilePmdMapped", 0);
    for name in [
        "HugePages_Total",
        "HugePages_Free",
        "HugePages_Rsvd",
        "HugePages_Surp",
    ] {
        let _ = writeln!(s, "{:<16}{:>8}", format!("{name}:"), 0);
    }
    let _ = writeln!(s, "{:<16}{:>8} kB", "Hugepagesize:", 2048);
    let _ = writeln!(s, "{:<16}{:>8} kB", "Hugetlb:", 0);
    s.into_bytes()
}

/// Seconds with two decimals, as /proc/uptime and loadavg print them.
fn centis(ms: u64) -> String {
    format!("{}.{:02}", ms / 1000, (ms % 1000) / 10)
}

/// /proc/uptime: uptime and idle time (per CPU summed), in seconds.
pub fn uptime(uptime_ms: u64, ncpus: usize) -> Vec<u8> {
    // A system that is up shows a positive uptime, even in its first 10 ms
    // (programs divide by it).
    let uptime_ms = uptime_ms.max(10);
    let idle = uptime_ms.saturating_mul(ncpus.max(1) as u64);
    format!("{} {}\n", centis(uptime_ms), centis(idle)).into_bytes()
}

/// /proc/loadavg: no load history, the runnable and total task counts,
/// and the last pid handed out.
pub fn loadavg(running: usize, total: usize, last_pid: i32) -> Vec<u8> {
    format!("0.00 0.00 0.00 {running}/{total} {last_pid}\n").into_bytes()
}

/// /proc/stat: per-CPU times (all idle since boot), boot time, counts.
pub fn kernel_stat(
    uptime_ms: u64,
    ncpus: usize,
    btime: u64,
    processes: u64,
    running: usize,
    blocked: usize,
) -> Vec<u8> {
    let ncpus = ncpus.max(1);
    let idle = uptime_ms * CLK_TCK / 1000;
    let mut s = format!("cpu  0 0 0 {} 0 0 0 0 0 0\n", idle * ncpus as u64);
    for i in 0..ncpus {
        let _ = writeln!(s, "cpu{i} 0 0 0 {idle} 0 0 0 0 0 0");
    }
    let _ = writeln!(s, "intr 0");
    let _ = writeln!(s, "ctxt 0");
    let _ = writeln!(s, "btime {btime}");
    let _ = writeln!(s, "processes {processes}");
    let _ = writeln!(s, "procs_running {running}");
    let _ = writeln!(s, "procs_blocked {blocked}");
    let _ = writeln!(s, "softirq 0 0 0 0 0 0 0 0 0 0 0");
    s.into_bytes()
}

/// /proc/version.
pub fn version(release: &str, version: &str) -> Vec<u8> {
    format!("Linux version {release} (ward@ward) (gcc (GCC) 12.2.0, GNU ld (GNU Binutils) 2.40) {version}\n")
        .into_bytes()
}

/// /proc/filesystems: the file systems the sandbox has.
pub fn filesystems() -> Vec<u8> {
    [
        "nodev\tsysfs",
        "nodev\ttmpfs",
        "nodev\tproc",
        "nodev\tdevtmpfs",
        "nodev\tpipefs",
        "nodev\tanon_inodefs",
        "nodev\tdevpts",
        "nodev\toverlay",
        "nodev\t9p",
    ]
    .iter()
    .flat_map(|l| l.bytes().chain([b'\n']))
    .collect()
}

/// One mount, as /proc/PID/mounts and mountinfo show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountLine {
    pub id: u32,
    pub parent: u32,
    pub dev: u64,
    /// Where it is, from the reader's root.
    pub point: Vec<u8>,
    /// Where its root is in its file system ("/" but for bind mounts).
    pub root: Vec<u8>,
    pub fstype: String,
    pub source: Vec<u8>,
    pub read_only: bool,
    /// Per-mount options after ro/rw (nosuid, relatime…).
    pub mount_opts: String,
    /// File-system options after ro/rw (mode=755…).
    pub super_opts: String,
}

/// A path with ' ', '\t', '\n' and '\\' as octal escapes (mangle()).
fn mangle(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    for &c in p {
        match c {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
            c => out.push(c),
        }
    }
    out
}

fn opts(ro: bool, more: &str) -> String {
    let base = if ro { "ro" } else { "rw" };
    if more.is_empty() {
        base.to_string()
    } else {
        format!("{base},{more}")
    }
}

/// /proc/PID/mounts.
pub fn mounts(lines: &[MountLine]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in lines {
        out.extend_from_slice(&mangle(&m.source));
        out.push(b' ');
        out.extend_from_slice(&mangle(&m.point));
        let mut all = opts(m.read_only, &m.mount_opts);
        if !m.super_opts.is_empty() {
            all.push(',');
            all.push_str(&m.super_opts);
        }
        out.extend_from_slice(format!(" {} {all} 0 0\n", m.fstype).as_bytes());
    }
    out
}

/// /proc/PID/mountinfo.
pub fn mountinfo(lines: &[MountLine]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in lines {
        let (major, minor) = dev_split(m.dev);
        out.extend_from_slice(format!("{} {} {major}:{minor} ", m.id, m.parent).as_bytes());
        out.extend_from_slice(&mangle(&m.root));
        out.push(b' ');
        out.extend_from_slice(&mangle(&m.point));
        out.extend_from_slice(
            format!(" {} - {} ", opts(m.read_only, &m.mount_opts), m.fstype).as_bytes(),
        );
        out.extend_from_slice(&mangle(&m.source));
        out.extend_from_slice(format!(" {}\n", opts(m.read_only, &m.super_opts)).as_bytes());
    }
    out
}

/// /proc/PID/fdinfo/N.
pub fn fdinfo(pos: u64, flags: i32, cloexec: bool, mnt_id: u32, ino: u64) -> Vec<u8> {
    let flags = flags | if cloexec { libc::O_CLOEXEC } else { 0 };
    format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n").into_bytes()
}

/// FDSize: the fd table's capacity, a power of two of at least 64 that
/// holds the highest fd.
pub fn fd_size(highest: Option<i32>) -> u64 {
    let need = highest.map_or(0, |fd| fd.max(0) as u64 + 1);
    need.next_power_of_two().max(64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn vma(start: u64, end: u64, prot: (bool, bool, bool), shared: bool, backing: Backing) -> Vma {
        Vma {
            start,
            end,
            prot: Prot {
                read: prot.0,
                write: prot.1,
                exec: prot.2,
            },
            shared,
            mem_off: 0,
            backing,
            cow: false,
            beyond_eof: false,
        }
    }

    fn file(path: &str, offset: u64) -> Backing {
        Backing::File {
            fd: None,
            offset,
            path: Arc::from(path),
            dev: 0xfe00,
            ino: 247_030,
            cache: None,
        }
    }

    fn creds(uid: u32) -> Creds {
        Creds {
            groups: vec![4, 24],
            ..Creds::new(uid, uid, crate::kernel::creds::CAP_FULL)
        }
    }

    fn info<'a>(c: &'a Creds, mem: Option<MemUsage>) -> TaskInfo<'a> {
        TaskInfo {
            pid: 7,
            tgid: 7,
            comm: b"my prog",
            state: RunState::Sleeping,
            ppid: 1,
            pgid: 7,
            sid: 1,
            threads: 2,
            nice: 0,
            start_ticks: 1234,
            mem,
            sigs: Sigs {
                pending: 1 << 9,
                shared: 0,
                blocked: 1 << 1,
                ignored: 1 << 12,
                caught: 1 << 16,
            },
            exit_signal: 17,
            exit_code: 0,
            creds: c,
            umask: Some(0o022),
            fd_size: 64,
            ncpus: 2,
            sigpending_limit: 63_000,
        }
    }

    #[test]
    fn stat_line_has_52_fields_after_the_comm() {
        let c = creds(0);
        let mem = MemUsage {
            size: 3 << 20,
            rss_anon: 8192,
            ..Default::default()
        };
        let line = stat(&info(&c, Some(mem)));
        let text = String::from_utf8(line).unwrap();
        assert!(text.starts_with("7 (my prog) S 1 7 1 0 -1 4194304 "));
        assert!(text.ends_with(" 0\n"));
        let after = &text[text.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        assert_eq!(fields.len() + 2, 52);
        // starttime (22), vsize (23), rss (24), counted from 1.
        assert_eq!(fields[22 - 3], "1234");
        assert_eq!(fields[23 - 3], (3u64 << 20).to_string());
        assert_eq!(fields[24 - 3], "2");
        // signal, blocked, sigignore, sigcatch (31..34), exit_signal (38).
        assert_eq!(fields[31 - 3], "512");
        assert_eq!(fields[32 - 3], "2");
        assert_eq!(fields[33 - 3], "4096");
        assert_eq!(fields[34 - 3], "65536");
        assert_eq!(fields[38 - 3], "17");
        // priority 20 + nice, num_threads.
        assert_eq!(fields[18 - 3], "20");
        assert_eq!(fields[20 - 3], "2");
    }

    #[test]
    fn status_lists_ids_signals_and_memory_in_linux_order() {
        let c = creds(1000);
        let mem = MemUsage {
            size: 3060 << 10,
            rss_anon: 116 << 10,
            rss_file: 1516 << 10,
            data: 360 << 10,
            stack: 132 << 10,
            exe: 20 << 10,
            lib: 1528 << 10,
            ..Default::default()
        };
        let text = String::from_utf8(status(&info(&c, Some(mem)))).unwrap();
        let want_in_order = [
            "Name:\tmy prog\n",
            "Umask:\t0022\n",
            "State:\tS (sleeping)\n",
            "Tgid:\t7\n",
            "Pid:\t7\n",
            "PPid:\t1\n",
            "TracerPid:\t0\n",
            "Uid:\t1000\t1000\t1000\t1000\n",
            "Gid:\t1000\t1000\t1000\t1000\n",
            "FDSize:\t64\n",
            "Groups:\t4 24 \n",
            "VmPeak:\t    3060 kB\n",
            "VmRSS:\t    1632 kB\n",
            "RssAnon:\t     116 kB\n",
            "VmExe:\t      20 kB\n",
            "Threads:\t2\n",
            "SigQ:\t1/63000\n",
            "SigPnd:\t0000000000000200\n",
            "SigBlk:\t0000000000000002\n",
            "SigIgn:\t0000000000001000\n",
            "SigCgt:\t0000000000010000\n",
            "CapEff:\t0000000000000000\n",
            "CapBnd:\t000001ffffffffff\n",
            "NoNewPrivs:\t0\n",
            "Seccomp:\t0\n",
            "Cpus_allowed:\t3\n",
            "Cpus_allowed_list:\t0-1\n",
        ];
        let mut at = 0;
        for w in want_in_order {
            let found = text[at..].find(w);
            assert!(found.is_some(), "missing or out of order: {w:?} in\n{text}");
            at += found.unwrap_or(0) + w.len();
        }
    }

    #[test]
    fn status_of_a_zombie_has_no_memory_or_umask() {
        let c = creds(0);
        let mut t = info(&c, None);
        t.state = RunState::Zombie;
        t.umask = None;
        let text = String::from_utf8(status(&t)).unwrap();
        assert!(text.contains("State:\tZ (zombie)\n"));
        assert!(!text.contains("VmSize"));
        assert!(!text.contains("Umask"));
        assert!(text.contains("CapEff:\t000001ffffffffff\n"));
    }

    #[test]
    fn status_escapes_newlines_in_the_name() {
        let c = creds(0);
        let mut t = info(&c, None);
        t.comm = b"a\nb\\c";
        let text = status(&t);
        assert!(text.starts_with(b"Name:\ta\\nb\\\\c\n"));
    }

    #[test]
    fn cpu_masks_print_as_linux_bitmaps() {
        assert_eq!(bitmap_hex(2, |_| true), "3");
        assert_eq!(bitmap_hex(8, |_| true), "ff");
        assert_eq!(bitmap_hex(48, |_| true), "ffff,ffffffff");
        assert_eq!(bitmap_hex(64, |i| i == 0), "00000000,00000001");
        assert_eq!(cpu_list(1), "0");
        assert_eq!(cpu_list(4), "0-3");
    }

    #[test]
    fn maps_lines_pad_names_to_column_73() {
        let v = vma(
            0x55c3_1b05_7000,
            0x55c3_1b05_9000,
            (true, false, false),
            false,
            file("/usr/bin/cat", 0),
        );
        assert_eq!(
            String::from_utf8(maps_line(&v)).unwrap(),
            "55c31b057000-55c31b059000 r--p 00000000 fe:00 247030                     /usr/bin/cat\n"
        );
        let anon = vma(
            0x7f3f_a4de_1000,
            0x7f3f_a4e0_3000,
            (true, true, false),
            false,
            Backing::Anon,
        );
        assert_eq!(
            String::from_utf8(maps_line(&anon)).unwrap(),
            "7f3fa4de1000-7f3fa4e03000 rw-p 00000000 00:00 0 \n"
        );
        let heap = vma(0x1000, 0x2000, (true, true, false), false, Backing::Heap);
        let line = String::from_utf8(maps_line(&heap)).unwrap();
        assert!(line.starts_with("00001000-00002000 rw-p 00000000 00:00 0 "));
        assert!(line.ends_with(" [heap]\n"));
        assert_eq!(line.find("[heap]"), Some(73));
    }

    #[test]
    fn memory_is_tallied_by_kind() {
        let vmas = [
            vma(
                0x1000,
                0x3000,
                (true, false, true),
                false,
                file("/bin/x", 0),
            ),
            vma(
                0x3000,
                0x4000,
                (true, true, false),
                false,
                file("/bin/x", 0x2000),
            ),
            vma(
                0x10000,
                0x14000,
                (true, false, true),
                false,
                file("/lib/libc.so", 0),
            ),
            vma(0x20000, 0x22000, (true, true, false), false, Backing::Heap),
            vma(0x30000, 0x31000, (true, true, false), true, Backing::Anon),
            vma(
                0x7000_0000,
                0x7002_0000,
                (true, true, false),
                false,
                Backing::Stack,
            ),
        ];
        let m = mem_usage(&vmas, "/bin/x", |v| v.len() / 2);
        assert_eq!(m.size, 0x2000 + 0x1000 + 0x4000 + 0x2000 + 0x1000 + 0x20000);
        assert_eq!(m.exe, 0x2000);
        assert_eq!(m.lib, 0x4000);
        assert_eq!(m.stack, 0x20000);
        assert_eq!(m.data, 0x1000 + 0x2000);
        assert_eq!(m.rss_file, 0x1000 + 0x800 + 0x2000);
        assert_eq!(m.rss_shmem, 0x800);
        assert_eq!(m.rss_anon, 0x1000 + 0x10000);
    }

    #[test]
    fn statm_counts_pages() {
        let m = MemUsage {
            size: 10 * PAGE,
            rss_anon: 2 * PAGE,
            rss_file: 3 * PAGE,
            exe: PAGE,
            data: 4 * PAGE,
            stack: PAGE,
            ..Default::default()
        };
        assert_eq!(statm(Some(m)), b"10 5 3 1 0 5 0\n");
        assert_eq!(statm(None), b"0 0 0 0 0 0 0\n");
    }

    #[test]
    fn meminfo_aligns_values_in_kilobytes() {
        let text = String::from_utf8(meminfo(&MemInfo {
            total: 4_014_936 << 10,
            free: 1 << 20,
            ..Default::default()
        }))
        .unwrap();
        assert!(text.starts_with("MemTotal:        4014936 kB\nMemFree:            1024 kB\n"));
        assert!(text.contains("MemAvailable:       1024 kB\n"));
        assert!(text.contains("SwapTotal:             0 kB\n"));
        assert!(text.contains("HugePages_Total:       0\n"));
        assert!(text.contains("Hugepagesize:       2048 kB\n"));
    }

    #[test]
    fn uptime_and_loadavg_use_two_decimals() {
        assert_eq!(uptime(3_270_105, 2), b"3270.10 6540.21\n");
        assert_eq!(uptime(5, 1), b"0.01 0.01\n");
        assert_eq!(loadavg(1, 3, 42), b"0.00 0.00 0.00 1/3 42\n");
    }

    #[test]
    fn kernel_stat_has_cpu_lines_and_btime() {
        let text = String::from_utf8(kernel_stat(2000, 2, 1_700_000_000, 5, 1, 0)).unwrap();
        assert!(text.starts_with("cpu  0 0 0 400 0 0 0 0 0 0\ncpu0 0 0 0 200 "));
        assert!(text.contains("cpu1 0 0 0 200 0 0 0 0 0 0\n"));
        assert!(text.contains("\nbtime 1700000000\n"));
        assert!(text.contains("\nprocs_running 1\n"));
    }

    #[test]
    fn mounts_and_mountinfo_lines() {
        let lines = [
            MountLine {
                id: 1,
                parent: 1,
                dev: 0xfe00,
                point: b"/".to_vec(),
                root: b"/".to_vec(),
                fstype: "9p".into(),
                source: b"none".to_vec(),
                read_only: true,
                mount_opts: "relatime".into(),
                super_opts: String::new(),
            },
            MountLine {
                id: 2,
                parent: 1,
                dev: 22,
                point: b"/my dir".to_vec(),
                root: b"/".to_vec(),
                fstype: "proc".into(),
                source: b"proc".to_vec(),
                read_only: false,
                mount_opts: "nosuid,nodev,noexec,relatime".into(),
                super_opts: String::new(),
            },
        ];
        assert_eq!(
            String::from_utf8(mounts(&lines)).unwrap(),
            "none / 9p ro,relatime 0 0\nproc /my\\040dir proc rw,nosuid,nodev,noexec,relatime 0 0\n"
        );
        assert_eq!(
            String::from_utf8(mountinfo(&lines)).unwrap(),
            "1 1 254:0 / / ro,relatime - 9p none ro\n\
             2 1 0:22 / /my\\040dir rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
        );
    }

    #[test]
    fn fdinfo_shows_octal_flags_with_cloexec() {
        assert_eq!(
            fdinfo(5, libc::O_RDWR, true, 3, 99),
            b"pos:\t5\nflags:\t02000002\nmnt_id:\t3\nino:\t99\n"
        );
        assert_eq!(
            fdinfo(0, libc::O_RDONLY, false, 1, 1),
            b"pos:\t0\nflags:\t00\nmnt_id:\t1\nino:\t1\n"
        );
    }

    #[test]
    fn fd_size_is_a_power_of_two_of_at_least_64() {
        assert_eq!(fd_size(None), 64);
        assert_eq!(fd_size(Some(2)), 64);
        assert_eq!(fd_size(Some(64)), 128);
        assert_eq!(fd_size(Some(300)), 512);
    }

    #[test]
    fn version_names_the_release() {
        let v = String::from_utf8(version("6.12.0", "#1 SMP")).unwrap();
        assert!(v.starts_with("Linux version 6.12.0 ("));
        assert!(v.ends_with(" #1 SMP\n"));
    }
}
