//! The sandbox's own vDSO: an ELF image built at start-up (`image`) whose
//! clock_gettime, gettimeofday, time, clock_getres and getcpu answer from a
//! clock page the sentry keeps (`clock`), so those calls never trap.
//!
//! Every address space gets two mappings of the same two memory-file
//! ranges, placed like any other mmap and named in /proc/PID/maps:
//! `[vvar]`, the clock page, shared and read-only (mprotect cannot make it
//! writable or executable), and right above it `[vdso]`, the image,
//! read+execute and copy-on-write. AT_SYSINFO_EHDR points at the image.
//! Fork shares both; exec maps them afresh.
//!
//! The clock page is written only here, by one writer under a seqlock: a
//! refresh thread re-fits the TSC line every 50 ms. Nothing the app writes
//! reaches the sentry through it: the sentry never reads the page back.
//! When the host TSC is not invariant the fast path stays off and every
//! call takes the trapped syscall, so correctness never rests on it.

mod clock;
mod image;

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use platform::Prot;

use crate::errno::Errno;
use crate::mm::vma::Backing;
use crate::mm::{MapRequest, MemoryFile, MemoryManager, Placement, Source};

use clock::Params;

/// The clock page's layout: little-endian u64 words at these offsets. The
/// vDSO code addresses them with 8-bit displacements, so all lie below 128.
pub mod page {
    /// Bytes of the clock page.
    pub const LEN: u64 = 4096;
    /// Seqlock counter: odd while the writer is mid-update.
    pub const SEQ: u64 = 0;
    /// 1 when the TSC fast path is on; 0 sends every clock call to the syscall.
    pub const MODE: u64 = 8;
    /// 1 when getcpu may read the CPU from TSC_AUX.
    pub const GETCPU: u64 = 16;
    pub const TSC_BASE: u64 = 24;
    pub const MULT: u64 = 32;
    pub const SHIFT: u64 = 40;
    /// CLOCK_MONOTONIC in ns at TSC_BASE.
    pub const MONO_BASE: u64 = 48;
    /// clock_getres of the fast clocks, in ns.
    pub const RES: u64 = 56;
    /// Twelve words, by clock id: that clock minus CLOCK_MONOTONIC, in ns.
    pub const OFFSETS: u64 = 64;
}

/// How often the refresh thread re-fits the line.
const PERIOD: Duration = Duration::from_millis(50);
/// How soon it re-fits after finding the line off the host clock by more
/// than `FAST_ERR_NS` (the host's rate changing fast, as under an NTP slew).
const FAST_PERIOD: Duration = Duration::from_millis(5);
const FAST_ERR_NS: u64 = 1_000;
/// The first calibration window.
const CALIBRATION: Duration = Duration::from_millis(10);

/// The clock page as the sentry writes it: atomic word stores under the
/// seqlock, never a plain copy (stubs read it concurrently).
struct ClockPage {
    mf: Arc<MemoryFile>,
    off: u64,
}

impl ClockPage {
    fn word(&self, field: u64) -> &AtomicU64 {
        debug_assert!(field.is_multiple_of(8) && field + 8 <= page::LEN);
        let p = self.mf.ptr(self.off + field, 8) as *mut u64;
        // The page is ours for the sandbox's life (never released); the sentry
        // touches it only through these atomics, stubs only read it.
        // SAFETY: `p` is inside the sentry's memory-file mapping (alive as long
        // as `self.mf`) and 8-byte aligned (page offset + multiple of 8).
        unsafe { AtomicU64::from_ptr(p) }
    }

    /// Publishes `p` as one seqlock update.
    fn publish(&self, p: &Params) {
        let seq = self.word(page::SEQ);
        let s = seq.load(Ordering::Relaxed) & !1;
        seq.store(s + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (field, v) in p.words() {
            self.word(field).store(v, Ordering::Relaxed);
        }
        seq.store(s + 2, Ordering::Release);
    }
}

/// The writer's state: the page and the line it last published.
struct Writer {
    page: ClockPage,
    cur: Params,
    /// The sample the current line was fitted at.
    last: clock::Sample,
}

/// The vDSO of one memory file: where its clock page and image live.
pub struct Vdso {
    mf: Arc<MemoryFile>,
    page_off: u64,
    text_off: u64,
    text_len: u64,
    host: clock::HostTsc,
    getcpu: bool,
    writer: Mutex<Writer>,
}

/// The sandbox's vDSO, once `init` has run.
static VDSO: OnceLock<Vdso> = OnceLock::new();
/// A task set a (virtual) CPU affinity: getcpu must ask the sentry, which
/// answers from it, rather than report the host CPU.
static GETCPU_OFF: AtomicBool = AtomicBool::new(false);

impl Vdso {
    /// Allocates the clock page and the image in `mf` and publishes a page
    /// with the fast path off. Reads nothing from the host but `cpuinfo`
    /// (the text of /proc/cpuinfo) and its clocks.
    fn new(mf: &Arc<MemoryFile>, cpuinfo: &str) -> Result<Vdso, Errno> {
        let host = clock::host_tsc_from_cpuinfo(cpuinfo);
        let img = image::build(
            image::Cpu {
                rdtscp: host.rdtscp,
            },
            crate::kernel::kernel::UNAME_RELEASE,
        );
        let page_off = mf.allocate(page::LEN)?;
        let text_len = img.bytes.len() as u64;
        let text_off = match mf.allocate(text_len) {
            Ok(o) => o,
            Err(e) => {
                mf.release(page_off, page::LEN);
                return Err(e);
            }
        };
        mf.write(text_off, &img.bytes);
        let getcpu = host.rdtscp && clock::tsc_aux_is_cpu();
        let cur = Params {
            getcpu,
            ..Params::off(clock::host_res())
        };
        let page = ClockPage {
            mf: mf.clone(),
            off: page_off,
        };
        page.publish(&cur);
        Ok(Vdso {
            mf: mf.clone(),
            page_off,
            text_off,
            text_len,
            host,
            getcpu,
            writer: Mutex::new(Writer {
                page,
                cur,
                last: clock::sample(host.rdtscp),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        match self.writer.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Re-fits the line to the host clock and republishes the page: the
    /// first call calibrates and turns the fast path on. Returns when to
    /// refresh next: sooner when the line had drifted off the host.
    fn refresh(&self) -> Duration {
        let mut w = self.lock();
        let now = clock::sample(self.host.rdtscp);
        let (next, period) = if w.cur.enabled {
            let err = w.cur.eval(now.tsc) as i64 - now.mono as i64;
            let period = if err.unsigned_abs() > FAST_ERR_NS {
                FAST_PERIOD
            } else {
                PERIOD
            };
            // The correction is spread over the ticks until the next refresh.
            let ticks = ((period.as_nanos() << clock::SHIFT) / w.cur.mult.max(1) as u128) as u64;
            let next = clock::steer(&w.cur, w.last, now, ticks);
            tracing::trace!(err_ns = err, mult = next.mult, "vdso clock refreshed");
            (Some(next), period)
        } else {
            (clock::calibrate(w.last, now, w.cur.res), PERIOD)
        };
        let Some(mut next) = next else {
            w.last = now;
            return PERIOD;
        };
        for id in [clock::REALTIME, clock::BOOTTIME, clock::TAI] {
            let host = clock::host_offset(id as libc::clockid_t);
            next.offsets[id] = if w.cur.enabled {
                clock::settle_offset(w.cur.offsets[id], host)
            } else {
                host
            };
        }
        next.offsets[clock::MONOTONIC] = 0;
        next.getcpu = self.getcpu && !GETCPU_OFF.load(Ordering::Relaxed);
        w.page.publish(&next);
        w.cur = next;
        w.last = now;
        period
    }

    /// Maps `len` bytes of the memory file at `off` at `at` in `mm`, with a
    /// reference of their own (a private mapping is copy-on-write).
    #[allow(clippy::too_many_arguments)]
    fn map_pages(
        &self,
        mm: &MemoryManager,
        at: u64,
        off: u64,
        len: u64,
        prot: Prot,
        shared: bool,
        backing: Backing,
    ) -> Result<(), Errno> {
        self.mf.share(off, len);
        let mapped = mm.map(MapRequest {
            placement: Placement::Fixed(at),
            len,
            prot,
            shared,
            source: Source::Pages(vec![(off, len)]),
            backing: Some(backing),
        });
        if mapped.is_err() {
            self.mf.release(off, len);
        }
        mapped.map(|_| ())
    }

    /// Maps the clock page and the image into `mm`; returns the image's
    /// address (AT_SYSINFO_EHDR).
    fn map_into(&self, mm: &MemoryManager) -> Result<u64, Errno> {
        let none = Prot {
            read: false,
            write: false,
            exec: false,
        };
        // Reserve both pages together where the next mmap would go.
        let at = mm.map(MapRequest {
            placement: Placement::Hint(0),
            len: page::LEN + self.text_len,
            prot: none,
            shared: false,
            source: Source::Anon,
            backing: None,
        })?;
        let ro = Prot { read: true, ..none };
        self.map_pages(mm, at, self.page_off, page::LEN, ro, true, Backing::Vvar)?;
        let text = at + page::LEN;
        let rx = Prot {
            read: true,
            exec: true,
            ..none
        };
        self.map_pages(
            mm,
            text,
            self.text_off,
            self.text_len,
            rx,
            false,
            Backing::Vdso,
        )?;
        Ok(text)
    }
}

/// Builds the vDSO for the sandbox's memory file and starts the thread
/// that keeps its clock page. Call once at boot, before confinement: it
/// reads /proc/cpuinfo. Without it programs get no vDSO (and trap).
pub fn init(mf: &Arc<MemoryFile>) {
    if VDSO.get().is_some() {
        return;
    }
    // Read once at boot, before confinement.
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(); // before confinement
    let v = match Vdso::new(mf, &cpuinfo) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("vdso: {}: programs will trap every clock call", e.message());
            return;
        }
    };
    let host = v.host;
    tracing::debug!(
        invariant_tsc = host.invariant,
        rdtscp = host.rdtscp,
        getcpu = v.getcpu,
        "vdso ready"
    );
    if VDSO.set(v).is_err() || !host.invariant {
        return;
    }
    // Started before the pivot: it needs no capability.
    let spawned = platform::thread_caps::spawn(
        std::thread::Builder::new().name("ward-clock".into()),
        || {
            let Some(v) = VDSO.get() else { return };
            std::thread::sleep(CALIBRATION);
            loop {
                let next = v.refresh();
                std::thread::sleep(next);
            }
        },
    );
    if let Err(e) = spawned {
        tracing::warn!("vdso: starting the clock thread: {e}: the fast path stays off");
    }
}

/// Maps the vDSO into `mm` (a fresh address space being loaded); returns
/// AT_SYSINFO_EHDR, or None when the sandbox has no vDSO for this memory
/// file.
pub fn map(mm: &MemoryManager) -> Result<Option<u64>, Errno> {
    match VDSO.get() {
        Some(v) if Arc::ptr_eq(&v.mf, mm.memfile()) => v.map_into(mm).map(Some),
        _ => Ok(None),
    }
}

/// A task set its CPU affinity, which the sentry keeps virtually: from now
/// on getcpu goes to the sentry, which answers from that affinity.
pub fn virtual_affinity_set() {
    if GETCPU_OFF.swap(true, Ordering::Relaxed) {
        return;
    }
    if let Some(v) = VDSO.get() {
        let mut w = v.lock();
        if w.cur.getcpu {
            w.cur.getcpu = false;
            let cur = w.cur;
            w.page.publish(&cur);
        }
    }
}

#[cfg(test)]
mod tests {

    use super::image::{elf_hash, FUNCTIONS, SONAME, VERSION};
    use super::*;
    use crate::loader::elf;

    // ---- a small reader of the image, doing what glibc and musl do ----

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }
    fn cstr(b: &[u8], o: usize) -> &str {
        let end = b[o..].iter().position(|&c| c == 0).unwrap() + o;
        std::str::from_utf8(&b[o..end]).unwrap()
    }

    struct Dso<'a> {
        b: &'a [u8],
        strtab: usize,
        symtab: usize,
        hash: usize,
        versym: usize,
        verdef: usize,
        soname: Option<usize>,
    }

    struct Sym {
        value: u64,
        size: u64,
        bind: u8,
        kind: u8,
        shndx: u16,
    }

    impl<'a> Dso<'a> {
        /// Finds the dynamic section through the program headers, as
        /// ld.so's setup_vdso does (load bias = image - first PT_LOAD vaddr).
        fn parse(b: &'a [u8]) -> Dso<'a> {
            let mut info = elf::parse_header(&b[..64]).unwrap();
            let phoff = info.phoff as usize;
            elf::parse_phdrs(&mut info, &b[phoff..]).unwrap();
            assert_eq!(info.kind, elf::ET_DYN);
            let load = info.phdrs.iter().find(|p| p.kind == elf::PT_LOAD).unwrap();
            let bias = load.offset as i64 - load.vaddr as i64;
            let dynamic = info.phdrs.iter().find(|p| p.kind == 2).unwrap();
            let mut d = Dso {
                b,
                strtab: 0,
                symtab: 0,
                hash: 0,
                versym: 0,
                verdef: 0,
                soname: None,
            };
            let mut at = (dynamic.vaddr as i64 + bias) as usize;
            let mut soname = None;
            loop {
                let (tag, val) = (u64_at(b, at), u64_at(b, at + 8));
                let addr = (val as i64 + bias) as usize;
                match tag {
                    0 => break,
                    4 => d.hash = addr,
                    5 => d.strtab = addr,
                    6 => d.symtab = addr,
                    11 => assert_eq!(val, 24),
                    14 => soname = Some(val as usize),
                    0x6fff_fff0 => d.versym = addr,
                    0x6fff_fffc => d.verdef = addr,
                    _ => {}
                }
                at += 16;
            }
            assert!(d.strtab != 0 && d.symtab != 0 && d.hash != 0);
            assert!(d.versym != 0 && d.verdef != 0);
            d.soname = soname;
            d
        }

        /// The version index named `name` in the version definitions.
        fn version_index(&self, name: &str) -> Option<u16> {
            let mut at = self.verdef;
            loop {
                let flags = u16_at(self.b, at + 2);
                let ndx = u16_at(self.b, at + 4);
                let hash = u32_at(self.b, at + 8);
                let aux = at + u32_at(self.b, at + 12) as usize;
                let vname = cstr(self.b, self.strtab + u32_at(self.b, aux) as usize);
                if flags & 1 == 0 && hash == elf_hash(name.as_bytes()) && vname == name {
                    return Some(ndx & 0x7fff);
                }
                let next = u32_at(self.b, at + 16);
                if next == 0 {
                    return None;
                }
                at += next as usize;
            }
        }

        /// Looks `name@version` up through the SysV hash table.
        fn lookup(&self, name: &str, version: &str) -> Option<Sym> {
            let ver = self.version_index(version)?;
            let nbucket = u32_at(self.b, self.hash) as usize;
            let bucket = self.hash + 8;
            let chain = bucket + 4 * nbucket;
            let mut i = u32_at(
                self.b,
                bucket + 4 * (elf_hash(name.as_bytes()) as usize % nbucket),
            );
            while i != 0 {
                let s = self.symtab + 24 * i as usize;
                let sname = cstr(self.b, self.strtab + u32_at(self.b, s) as usize);
                let sver = u16_at(self.b, self.versym + 2 * i as usize) & 0x7fff;
                if sname == name && sver == ver {
                    return Some(Sym {
                        value: u64_at(self.b, s + 8),
                        size: u64_at(self.b, s + 16),
                        bind: self.b[s + 4] >> 4,
                        kind: self.b[s + 4] & 0xf,
                        shndx: u16_at(self.b, s + 6),
                    });
                }
                i = u32_at(self.b, chain + 4 * i as usize);
            }
            None
        }
    }

    /// Whether this CPU has RDTSCP (tests only run code it can execute).
    fn host_rdtscp() -> bool {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(); // test only, before confinement
        clock::host_tsc_from_cpuinfo(&cpuinfo).rdtscp
    }

    fn built(rdtscp: bool) -> image::Image {
        image::build(image::Cpu { rdtscp }, "6.12.0")
    }

    #[test]
    fn the_version_hash_is_the_one_libcs_look_for() {
        assert_eq!(elf_hash(b"LINUX_2.6"), 0x03ae_75f6);
        assert_eq!(elf_hash(b"__vdso_clock_gettime"), 0x0d35_ec75);
    }

    #[test]
    fn the_image_has_one_sane_read_exec_load_segment() {
        for rdtscp in [true, false] {
            let img = built(rdtscp);
            let mut info = elf::parse_header(&img.bytes[..64]).unwrap();
            let phoff = info.phoff as usize;
            elf::parse_phdrs(&mut info, &img.bytes[phoff..]).unwrap();
            let loads: Vec<_> = info
                .phdrs
                .iter()
                .filter(|p| p.kind == elf::PT_LOAD)
                .collect();
            assert_eq!(loads.len(), 1);
            let l = loads[0];
            assert_eq!((l.offset, l.vaddr), (0, 0));
            assert_eq!(l.filesz, l.memsz);
            assert!(l.filesz <= img.bytes.len() as u64);
            assert_eq!(l.flags, elf::PF_R | elf::PF_X);
            assert!((img.bytes.len() as u64).is_multiple_of(page::LEN));
            for p in &info.phdrs {
                assert!(
                    p.offset + p.filesz <= l.filesz,
                    "segment {p:?} outside the load"
                );
            }
        }
    }

    #[test]
    fn every_export_is_found_by_name_and_version() {
        let img = built(true);
        let dso = Dso::parse(&img.bytes);
        assert_eq!(
            dso.soname.map(|o| cstr(&img.bytes, dso.strtab + o)),
            Some(SONAME)
        );
        for f in FUNCTIONS {
            let long = dso.lookup(&format!("__vdso_{f}"), VERSION).unwrap();
            let short = dso.lookup(f, VERSION).unwrap();
            assert_eq!(long.value, short.value, "{f}");
            assert_eq!((long.bind, short.bind), (1, 2), "{f}: global and weak");
            assert_eq!(
                (long.kind, long.shndx != 0),
                (2, true),
                "{f}: a defined function"
            );
            assert!(long.size > 0);
            assert!(long.value + long.size <= img.bytes.len() as u64);
        }
        assert!(dso.lookup("__vdso_clock_gettime", "LINUX_2.5").is_none());
        assert!(dso.lookup("__vdso_nothing", VERSION).is_none());
    }

    // ---- running the code against a clock page we fill ----

    /// The image and a clock page below it, mapped into this process.
    struct Loaded {
        base: *mut u8,
        len: usize,
        image: Vec<u8>,
    }

    impl Loaded {
        fn new(rdtscp: bool) -> Loaded {
            let img = built(rdtscp);
            let len = page::LEN as usize + img.bytes.len();
            // SAFETY: a fresh private anonymous mapping; nothing else uses it.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(base, libc::MAP_FAILED);
            let base = base as *mut u8;
            // SAFETY: the image fits after the clock page in the mapping.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    img.bytes.as_ptr(),
                    base.add(page::LEN as usize),
                    img.bytes.len(),
                );
            }
            // SAFETY: the range is the image part of our own mapping.
            let r = unsafe {
                libc::mprotect(
                    base.add(page::LEN as usize) as *mut libc::c_void,
                    img.bytes.len(),
                    libc::PROT_READ | libc::PROT_EXEC,
                )
            };
            assert_eq!(r, 0);
            Loaded {
                base,
                len,
                image: img.bytes,
            }
        }

        fn set(&self, p: &Params) {
            for (field, v) in p.words() {
                // SAFETY: every field lies in the clock page, the first page
                // of the mapping, writable and 8-byte aligned.
                unsafe { (self.base.add(field as usize) as *mut u64).write_volatile(v) };
            }
        }

        fn addr(&self, name: &str) -> usize {
            let sym = Dso::parse(&self.image).lookup(name, VERSION).unwrap();
            self.base as usize + page::LEN as usize + sym.value as usize
        }

        fn clock_gettime(&self, id: i32) -> (i64, libc::timespec) {
            let mut ts = libc::timespec {
                tv_sec: -1,
                tv_nsec: -1,
            };
            // SAFETY: the symbol is a function with this C signature in
            // executable memory we own.
            let f: extern "C" fn(i32, *mut libc::timespec) -> i64 =
                unsafe { std::mem::transmute(self.addr("__vdso_clock_gettime")) };
            (f(id, &mut ts), ts)
        }

        fn clock_getres(&self, id: i32) -> (i64, libc::timespec) {
            let mut ts = libc::timespec {
                tv_sec: -1,
                tv_nsec: -1,
            };
            // SAFETY: as in clock_gettime.
            let f: extern "C" fn(i32, *mut libc::timespec) -> i64 =
                unsafe { std::mem::transmute(self.addr("clock_getres")) };
            (f(id, &mut ts), ts)
        }

        fn gettimeofday(&self) -> (i64, libc::timeval, u64) {
            let mut tv = libc::timeval {
                tv_sec: -1,
                tv_usec: -1,
            };
            let mut tz = u64::MAX;
            // SAFETY: as in clock_gettime.
            let f: extern "C" fn(*mut libc::timeval, *mut u64) -> i64 =
                unsafe { std::mem::transmute(self.addr("__vdso_gettimeofday")) };
            (f(&mut tv, &mut tz), tv, tz)
        }

        fn time(&self) -> (i64, i64) {
            let mut t = -1i64;
            // SAFETY: as in clock_gettime.
            let f: extern "C" fn(*mut i64) -> i64 =
                unsafe { std::mem::transmute(self.addr("__vdso_time")) };
            (f(&mut t), t)
        }

        fn getcpu(&self) -> (i64, u32, u32) {
            let (mut cpu, mut node) = (u32::MAX, u32::MAX);
            // SAFETY: as in clock_gettime.
            let f: extern "C" fn(*mut u32, *mut u32, *mut u8) -> i64 =
                unsafe { std::mem::transmute(self.addr("__vdso_getcpu")) };
            (f(&mut cpu, &mut node, std::ptr::null_mut()), cpu, node)
        }
    }

    impl Drop for Loaded {
        fn drop(&mut self) {
            // SAFETY: unmapping the mapping made in `new`.
            unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
        }
    }

    fn ns(ts: &libc::timespec) -> u64 {
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    /// A fixed clock: mult 0, so every read gives the base exactly.
    fn frozen() -> Params {
        let mut p = Params {
            enabled: true,
            mult: 0,
            mono_base: 5_123_456_789,
            res: 7,
            ..Params::off(1)
        };
        p.offsets[clock::REALTIME] = 1_700_000_000_000_000_000;
        p.offsets[clock::BOOTTIME] = 2_000_000_000;
        p.offsets[clock::TAI] = 1_700_000_037_000_000_000;
        p
    }

    #[test]
    fn the_fast_path_reads_the_clock_page() {
        for rdtscp in [host_rdtscp(), false] {
            let l = Loaded::new(rdtscp);
            l.set(&frozen());
            let (r, ts) = l.clock_gettime(libc::CLOCK_MONOTONIC);
            assert_eq!((r, ts.tv_sec, ts.tv_nsec), (0, 5, 123_456_789));
            let (_, ts) = l.clock_gettime(libc::CLOCK_REALTIME);
            assert_eq!((ts.tv_sec, ts.tv_nsec), (1_700_000_005, 123_456_789));
            let (_, ts) = l.clock_gettime(libc::CLOCK_BOOTTIME);
            assert_eq!((ts.tv_sec, ts.tv_nsec), (7, 123_456_789));
            let (_, ts) = l.clock_gettime(libc::CLOCK_TAI);
            assert_eq!((ts.tv_sec, ts.tv_nsec), (1_700_000_042, 123_456_789));
            let (r, tv, tz) = l.gettimeofday();
            assert_eq!(
                (r, tv.tv_sec, tv.tv_usec, tz),
                (0, 1_700_000_005, 123_456, 0)
            );
            assert_eq!(l.time(), (1_700_000_005, 1_700_000_005));
            let (r, res) = l.clock_getres(libc::CLOCK_MONOTONIC);
            assert_eq!((r, res.tv_sec, res.tv_nsec), (0, 0, 7));
        }
    }

    #[test]
    fn the_tsc_line_is_evaluated_as_the_sentry_evaluates_it() {
        let rdtscp = host_rdtscp();
        let l = Loaded::new(rdtscp);
        // One nanosecond per tick from TSC 0: the clock reads the TSC.
        let p = Params {
            enabled: true,
            mult: 1 << clock::SHIFT,
            mono_base: 1_000,
            ..Params::off(1)
        };
        l.set(&p);
        let (before, _) = clock::read_tsc(rdtscp);
        let (r, ts) = l.clock_gettime(libc::CLOCK_MONOTONIC);
        let (after, _) = clock::read_tsc(rdtscp);
        assert_eq!(r, 0);
        assert!(p.eval(before) <= ns(&ts) && ns(&ts) <= p.eval(after));
        // A base in the future reads as the base.
        l.set(&Params {
            tsc_base: u64::MAX,
            ..p
        });
        assert_eq!(ns(&l.clock_gettime(libc::CLOCK_MONOTONIC).1), 1_000);
    }

    #[test]
    fn other_clocks_and_a_disabled_page_take_the_syscall() {
        let l = Loaded::new(host_rdtscp());
        l.set(&frozen());
        // CPU-time clocks are not on the page: the real syscall answers.
        let (r, ts) = l.clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID);
        assert_eq!(r, 0);
        assert!(ns(&ts) > 0 && ts.tv_sec < 1_000_000);
        assert_eq!(l.clock_gettime(1000).0, -(libc::EINVAL as i64));
        assert_eq!(l.clock_gettime(-1).0, -(libc::EINVAL as i64));
        // With the fast path off, MONOTONIC is the host's, not the page's.
        l.set(&Params::off(1));
        let before = clock::host_ns(libc::CLOCK_MONOTONIC);
        let (r, ts) = l.clock_gettime(libc::CLOCK_MONOTONIC);
        let after = clock::host_ns(libc::CLOCK_MONOTONIC);
        assert_eq!(r, 0);
        assert!(before <= ns(&ts) && ns(&ts) <= after);
        let (r, tv, _) = l.gettimeofday();
        assert!(r == 0 && tv.tv_sec > 1_500_000_000);
        assert!(l.time().0 > 1_500_000_000);
        let (r, res) = l.clock_getres(libc::CLOCK_MONOTONIC);
        assert!(r == 0 && ns(&res) > 0);
    }

    #[test]
    fn getcpu_reads_tsc_aux_or_asks_the_kernel() {
        let l = Loaded::new(host_rdtscp());
        l.set(&Params::off(1));
        let (r, cpu, node) = l.getcpu();
        assert_eq!(r, 0);
        assert!(cpu < 4096 && node < 1024);
        if host_rdtscp() {
            l.set(&Params {
                getcpu: true,
                ..Params::off(1)
            });
            let (r, cpu, _) = l.getcpu();
            assert_eq!(r, 0);
            assert!(cpu < 4096);
        }
    }

    // ---- mapping into an address space ----

    use crate::mm::fake_space::NoSpace;

    fn vdso() -> Vdso {
        let mf = Arc::new(MemoryFile::new().unwrap());
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(); // test only, before confinement
        Vdso::new(&mf, &cpuinfo).unwrap()
    }

    #[test]
    fn the_clock_page_and_image_map_as_vvar_and_vdso() {
        let v = vdso();
        let mm = MemoryManager::new(v.mf.clone(), Arc::new(NoSpace));
        let ehdr = v.map_into(&mm).unwrap();
        let vmas = mm.vmas();
        let vvar = vmas
            .iter()
            .find(|m| matches!(m.backing, Backing::Vvar))
            .unwrap();
        let text = vmas
            .iter()
            .find(|m| matches!(m.backing, Backing::Vdso))
            .unwrap();
        assert_eq!((vvar.end, text.start), (ehdr, ehdr));
        assert!(vvar.shared && vvar.prot.read && !vvar.prot.write && !vvar.prot.exec);
        assert_eq!(vvar.mem_off, v.page_off);
        assert!(!text.shared && text.prot.exec && !text.prot.write && text.cow);
        assert_eq!(text.mem_off, v.text_off);
        let mut magic = [0u8; 4];
        mm.copy_in(ehdr, &mut magic).unwrap();
        assert_eq!(&magic, b"\x7fELF");
    }

    #[test]
    fn the_clock_page_cannot_be_made_writable_or_executable() {
        let v = vdso();
        let mm = MemoryManager::new(v.mf.clone(), Arc::new(NoSpace));
        let ehdr = v.map_into(&mm).unwrap();
        let vvar = ehdr - page::LEN;
        let rw = Prot {
            read: true,
            write: true,
            exec: false,
        };
        assert_eq!(mm.protect(vvar, page::LEN, rw), Err(Errno::EACCES));
        let rx = Prot {
            read: true,
            write: false,
            exec: true,
        };
        assert_eq!(mm.protect(vvar, page::LEN, rx), Err(Errno::EACCES));
    }

    #[test]
    fn a_write_to_the_image_copies_it_for_that_process_only() {
        let v = vdso();
        let a = MemoryManager::new(v.mf.clone(), Arc::new(NoSpace));
        let b = MemoryManager::new(v.mf.clone(), Arc::new(NoSpace));
        let ea = v.map_into(&a).unwrap();
        let eb = v.map_into(&b).unwrap();
        let rwx = Prot {
            read: true,
            write: true,
            exec: true,
        };
        a.protect(ea, v.text_len, rwx).unwrap();
        a.copy_out(ea, b"XXXX").unwrap();
        let mut got = [0u8; 4];
        b.copy_in(eb, &mut got).unwrap();
        assert_eq!(&got, b"\x7fELF");
        let mut ours = [0u8; 4];
        v.mf.read(v.text_off, &mut ours);
        assert_eq!(&ours, b"\x7fELF");
    }

    #[test]
    fn address_spaces_going_away_leave_the_shared_pages_alone() {
        let v = vdso();
        for _ in 0..3 {
            let mm = MemoryManager::new(v.mf.clone(), Arc::new(NoSpace));
            v.map_into(&mm).unwrap();
            let child = MemoryManager::from_image(
                v.mf.clone(),
                Arc::new(NoSpace),
                mm.fork_image().unwrap(),
            )
            .unwrap();
            assert!(v.mf.is_shared(v.page_off, page::LEN));
            drop(child);
            drop(mm);
        }
        // Only the vDSO's own reference is left, and the pages are intact.
        assert!(!v.mf.is_shared(v.page_off, page::LEN));
        assert!(!v.mf.is_shared(v.text_off, v.text_len));
        let mut magic = [0u8; 4];
        v.mf.read(v.text_off, &mut magic);
        assert_eq!(&magic, b"\x7fELF");
    }

    #[test]
    fn refresh_turns_the_fast_path_on_and_publishes_evenly() {
        let v = vdso();
        let page = |field: u64| {
            let mut b = [0u8; 8];
            v.mf.read(v.page_off + field, &mut b);
            u64::from_le_bytes(b)
        };
        assert_eq!(page(page::MODE), 0);
        let seq = page(page::SEQ);
        // Calibrating needs the TSC to have moved since `new`.
        let start = clock::read_tsc(v.host.rdtscp).0;
        while clock::read_tsc(v.host.rdtscp).0 == start {}
        v.refresh();
        assert_eq!(page(page::MODE), 1);
        assert!(page(page::MULT) > 0);
        assert_eq!(page(page::SEQ) % 2, 0);
        assert!(page(page::SEQ) > seq);
        assert_eq!(page(page::OFFSETS + 8 * clock::MONOTONIC as u64), 0);
    }
}
