//! The x86-64 `siginfo_t` (uapi asm-generic/siginfo.h): 128 bytes holding
//! `si_signo`, `si_errno`, `si_code`, four bytes of padding (the union holds
//! pointers, so it is 8-aligned), then the union `_sifields`, which this
//! module keeps as raw bytes and fills per layout (kill, rt, timer, sigchld,
//! sigfault).
//!
//! Like Linux's `struct kernel_siginfo`, only the first 32 bytes of the union
//! carry information; the rest always reaches the app as zeros. Nothing here
//! trusts app-supplied bytes beyond reading them back.

/// `si_code` values (asm-generic/siginfo.h).
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_MESGQ: i32 = -3;
pub const SI_ASYNCIO: i32 = -4;
pub const SI_SIGIO: i32 = -5;
pub const SI_TKILL: i32 = -6;

/// SIGSEGV `si_code` values.
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const SEGV_PKUERR: i32 = 4;

/// SIGBUS `si_code` values.
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const BUS_OBJERR: i32 = 3;

/// SIGTRAP `si_code` values.
pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
pub const TRAP_HWBKPT: i32 = 4;

/// SIGCHLD `si_code` values.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// Size of `siginfo_t` (SI_MAX_SIZE).
pub const SIGINFO_SIZE: usize = 128;
/// Offset of the union `_sifields` in `siginfo_t`.
const FIELDS_OFFSET: usize = 16;
/// Bytes of the union Linux stores (`struct kernel_siginfo` is 48 bytes).
const KERNEL_FIELDS: usize = 32;

// Offsets inside `_sifields`, per layout.
/// `_kill._pid`, `_rt._pid`, `_sigchld._pid`.
const F_PID: usize = 0;
/// `_kill._uid`, `_rt._uid`, `_sigchld._uid`.
const F_UID: usize = 4;
/// `_timer._tid`.
const F_TIMER_ID: usize = 0;
/// `_timer._overrun`.
const F_OVERRUN: usize = 4;
/// `_rt._sigval`, `_timer._sigval`.
const F_VALUE: usize = 8;
/// `_sigchld._status`.
const F_STATUS: usize = 8;
/// `_sigchld._utime` (a `long`, after four bytes of padding).
const F_UTIME: usize = 16;
/// `_sigchld._stime`.
const F_STIME: usize = 24;
/// `_sigfault._addr`.
const F_ADDR: usize = 0;

/// One `siginfo_t`: the three leading ints and the union as raw bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    /// The union `_sifields` (bytes 16..128 of `siginfo_t`).
    pub fields: [u8; 112],
}

impl SigInfo {
    fn new(signo: i32, code: i32) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code,
            fields: [0; 112],
        }
    }

    fn put_i32(&mut self, off: usize, v: i32) {
        self.fields[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn put_u64(&mut self, off: usize, v: u64) {
        self.fields[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    fn get_i32(&self, off: usize) -> i32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.fields[off..off + 4]);
        i32::from_le_bytes(b)
    }

    fn get_u64(&self, off: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.fields[off..off + 8]);
        u64::from_le_bytes(b)
    }

    /// A signal sent by kill(2) (`SI_USER`), tkill/tgkill (`SI_TKILL`) or
    /// any other sender named by pid and uid (`_kill` layout).
    pub fn kill(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut s = SigInfo::new(signo, code);
        s.put_i32(F_PID, pid);
        s.put_i32(F_UID, uid as i32);
        s
    }

    /// A signal queued with a value: sigqueue(3) (`SI_QUEUE`), mq_notify
    /// (`SI_MESGQ`) and the like (`_rt` layout).
    pub fn queue(signo: i32, code: i32, pid: i32, uid: u32, value: u64) -> SigInfo {
        let mut s = SigInfo::kill(signo, code, pid, uid);
        s.put_u64(F_VALUE, value);
        s
    }

    /// A hardware fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP): `si_addr`
    /// is the faulting address or instruction (`_sigfault` layout).
    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        let mut s = SigInfo::new(signo, code);
        s.put_u64(F_ADDR, addr);
        s
    }

    /// SIGCHLD for a child that changed state (`CLD_*` code); `status` is
    /// the exit code or the signal, times are in clock ticks.
    pub fn child(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> SigInfo {
        let mut s = SigInfo::kill(libc::SIGCHLD, code, pid, uid);
        s.put_i32(F_STATUS, status);
        s.put_u64(F_UTIME, utime as u64);
        s.put_u64(F_STIME, stime as u64);
        s
    }

    /// A POSIX timer expiry (`SI_TIMER`, `_timer` layout).
    pub fn timer(signo: i32, timer_id: i32, overrun: i32, value: u64) -> SigInfo {
        let mut s = SigInfo::new(signo, SI_TIMER);
        s.put_i32(F_TIMER_ID, timer_id);
        s.put_i32(F_OVERRUN, overrun);
        s.put_u64(F_VALUE, value);
        s
    }

    /// A signal the kernel sends on its own behalf (`SI_KERNEL`, no sender).
    pub fn kernel(signo: i32) -> SigInfo {
        SigInfo::new(signo, SI_KERNEL)
    }

    /// The 128 bytes of `siginfo_t` as the app sees them.
    pub fn to_bytes(&self) -> [u8; SIGINFO_SIZE] {
        let mut b = [0u8; SIGINFO_SIZE];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[4..8].copy_from_slice(&self.errno.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        b[FIELDS_OFFSET..].copy_from_slice(&self.fields);
        b
    }

    /// From 128 bytes of `siginfo_t` (rt_sigqueueinfo(2) and friends). Like
    /// Linux, only the part of the union a `kernel_siginfo` holds is kept;
    /// the rest reads back as zeros. Callers that must refuse non-zero
    /// trailing bytes (E2BIG for unknown layouts) check the raw bytes first.
    pub fn from_bytes(b: &[u8; SIGINFO_SIZE]) -> SigInfo {
        let int = |off: usize| {
            let mut v = [0u8; 4];
            v.copy_from_slice(&b[off..off + 4]);
            i32::from_le_bytes(v)
        };
        let mut s = SigInfo::new(int(0), int(8));
        s.errno = int(4);
        s.fields[..KERNEL_FIELDS].copy_from_slice(&b[FIELDS_OFFSET..FIELDS_OFFSET + KERNEL_FIELDS]);
        s
    }

    /// `si_pid` (kill, rt and sigchld layouts).
    pub fn pid(&self) -> i32 {
        self.get_i32(F_PID)
    }

    /// `si_uid` (kill, rt and sigchld layouts).
    pub fn uid(&self) -> u32 {
        self.get_i32(F_UID) as u32
    }

    /// `si_value` as a pointer-sized integer (rt and timer layouts).
    pub fn value(&self) -> u64 {
        self.get_u64(F_VALUE)
    }

    /// `si_addr` (sigfault layout).
    pub fn addr(&self) -> u64 {
        self.get_u64(F_ADDR)
    }

    /// `si_status` (sigchld layout).
    pub fn status(&self) -> i32 {
        self.get_i32(F_STATUS)
    }

    /// `si_utime` (sigchld layout).
    pub fn utime(&self) -> i64 {
        self.get_u64(F_UTIME) as i64
    }

    /// `si_stime` (sigchld layout).
    pub fn stime(&self) -> i64 {
        self.get_u64(F_STIME) as i64
    }

    /// `si_timerid` (timer layout).
    pub fn timer_id(&self) -> i32 {
        self.get_i32(F_TIMER_ID)
    }

    /// `si_overrun` (timer layout).
    pub fn overrun(&self) -> i32 {
        self.get_i32(F_OVERRUN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// `siginfo_t` transcribed from asm-generic/siginfo.h, one struct per
    /// union member used here, each starting at the union's offset.
    #[repr(C)]
    struct Head {
        si_signo: i32,
        si_errno: i32,
        si_code: i32,
        fields: Fields,
    }
    #[repr(C)]
    union Fields {
        kill: Kill,
        timer: Timer,
        rt: Rt,
        sigchld: Sigchld,
        sigfault: Sigfault,
        pad: [u32; 28],
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Kill {
        pid: i32,
        uid: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Timer {
        tid: i32,
        overrun: i32,
        sigval: u64,
        sys_private: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Rt {
        pid: i32,
        uid: u32,
        sigval: u64,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Sigchld {
        pid: i32,
        uid: u32,
        status: i32,
        utime: i64,
        stime: i64,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Sigfault {
        addr: u64,
    }

    /// The bytes as glibc's `siginfo_t`, whose accessors know the layouts.
    fn as_libc(s: &SigInfo) -> libc::siginfo_t {
        let b = s.to_bytes();
        // SAFETY: siginfo_t is 128 bytes of plain integers (checked by the
        // size assertion in `layout_matches_the_uapi_header`); any bytes are
        // a valid value and read_unaligned needs no alignment.
        unsafe { std::ptr::read_unaligned(b.as_ptr() as *const libc::siginfo_t) }
    }

    #[test]
    fn layout_matches_the_uapi_header() {
        assert_eq!(size_of::<Head>(), SIGINFO_SIZE);
        assert_eq!(size_of::<libc::siginfo_t>(), SIGINFO_SIZE);
        assert_eq!(offset_of!(Head, fields), FIELDS_OFFSET);
        let f = FIELDS_OFFSET;
        assert_eq!(f + offset_of!(Kill, pid), FIELDS_OFFSET + F_PID);
        assert_eq!(f + offset_of!(Kill, uid), FIELDS_OFFSET + F_UID);
        assert_eq!(offset_of!(Timer, tid), F_TIMER_ID);
        assert_eq!(offset_of!(Timer, overrun), F_OVERRUN);
        assert_eq!(offset_of!(Timer, sigval), F_VALUE);
        assert_eq!(offset_of!(Rt, sigval), F_VALUE);
        assert_eq!(offset_of!(Sigchld, status), F_STATUS);
        assert_eq!(offset_of!(Sigchld, utime), F_UTIME);
        assert_eq!(offset_of!(Sigchld, stime), F_STIME);
        assert_eq!(offset_of!(Sigfault, addr), F_ADDR);
        // kernel_siginfo: the preamble and the largest member (_sigchld).
        assert_eq!(FIELDS_OFFSET + size_of::<Sigchld>(), 48);
        assert_eq!(FIELDS_OFFSET + KERNEL_FIELDS, 48);
        assert_eq!(offset_of!(Head, si_signo), 0);
        assert_eq!(offset_of!(Head, si_errno), 4);
        assert_eq!(offset_of!(Head, si_code), 8);
        for off in [
            offset_of!(Fields, kill),
            offset_of!(Fields, timer),
            offset_of!(Fields, rt),
            offset_of!(Fields, sigchld),
            offset_of!(Fields, sigfault),
        ] {
            assert_eq!(off, 0);
        }
        assert_eq!(size_of::<Fields>(), SIGINFO_SIZE - FIELDS_OFFSET);
    }

    #[test]
    fn kill_reads_back_through_libc() {
        let s = SigInfo::kill(libc::SIGTERM, SI_TKILL, 42, 1000);
        let l = as_libc(&s);
        assert_eq!(
            (l.si_signo, l.si_errno, l.si_code),
            (libc::SIGTERM, 0, SI_TKILL)
        );
        // SAFETY: the kill layout holds si_pid and si_uid.
        unsafe {
            assert_eq!(l.si_pid(), 42);
            assert_eq!(l.si_uid(), 1000);
        }
        assert_eq!((s.pid(), s.uid()), (42, 1000));
    }

    #[test]
    fn queue_carries_the_value() {
        let s = SigInfo::queue(libc::SIGRTMIN(), SI_QUEUE, 7, 0, 0xdead_beef_cafe);
        let l = as_libc(&s);
        // SAFETY: the rt layout holds si_pid and si_value.
        unsafe {
            assert_eq!(l.si_pid(), 7);
            assert_eq!(l.si_value().sival_ptr as u64, 0xdead_beef_cafe);
        }
        assert_eq!(s.value(), 0xdead_beef_cafe);
        assert_eq!(s.code, SI_QUEUE);
    }

    #[test]
    fn fault_carries_the_address() {
        let s = SigInfo::fault(libc::SIGSEGV, SEGV_MAPERR, 0x1234_5678_9abc);
        let l = as_libc(&s);
        // SAFETY: the sigfault layout holds si_addr.
        assert_eq!(unsafe { l.si_addr() } as u64, 0x1234_5678_9abc);
        assert_eq!(s.addr(), 0x1234_5678_9abc);
    }

    #[test]
    fn child_carries_status_and_times() {
        let s = SigInfo::child(CLD_EXITED, 99, 5, 3, 11, 22);
        let l = as_libc(&s);
        assert_eq!(l.si_signo, libc::SIGCHLD);
        // SAFETY: the sigchld layout holds all of these.
        unsafe {
            assert_eq!(l.si_pid(), 99);
            assert_eq!(l.si_uid(), 5);
            assert_eq!(l.si_status(), 3);
            assert_eq!(l.si_utime(), 11);
            assert_eq!(l.si_stime(), 22);
        }
        assert_eq!((s.status(), s.utime(), s.stime()), (3, 11, 22));
    }

    #[test]
    fn timer_carries_id_overrun_and_value() {
        let s = SigInfo::timer(libc::SIGALRM, 3, 2, 77);
        assert_eq!(s.code, SI_TIMER);
        assert_eq!((s.timer_id(), s.overrun(), s.value()), (3, 2, 77));
        let l = as_libc(&s);
        // SAFETY: si_value sits at the same offset in the timer layout.
        assert_eq!(unsafe { l.si_value() }.sival_ptr as u64, 77);
    }

    #[test]
    fn kernel_has_no_sender() {
        let s = SigInfo::kernel(libc::SIGKILL);
        assert_eq!(s.code, SI_KERNEL);
        assert_eq!(s.pid(), 0);
        assert!(s.to_bytes()[12..].iter().all(|&b| b == 0));
    }

    #[test]
    fn bytes_round_trip() {
        let s = SigInfo::child(CLD_KILLED, 1, 2, 9, -1, i64::MAX);
        assert_eq!(SigInfo::from_bytes(&s.to_bytes()), s);
    }

    #[test]
    fn from_bytes_drops_what_kernel_siginfo_cannot_hold() {
        let mut b = [0xffu8; SIGINFO_SIZE];
        b[0..4].copy_from_slice(&10i32.to_le_bytes());
        let s = SigInfo::from_bytes(&b);
        assert_eq!(s.signo, 10);
        assert!(s.fields[..KERNEL_FIELDS].iter().all(|&x| x == 0xff));
        assert!(s.fields[KERNEL_FIELDS..].iter().all(|&x| x == 0));
        assert!(s.to_bytes()[12..16].iter().all(|&x| x == 0));
    }
}
