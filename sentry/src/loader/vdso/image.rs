//! The vDSO image: a small x86-64 ELF shared object built byte by byte at
//! start-up, with hand-assembled functions that read the clock page.
//!
//! The image is laid out as the kernel's own vDSO is: one read+execute
//! PT_LOAD covering everything from the ELF header on (vaddr 0 = the image's
//! first byte), a PT_DYNAMIC with SysV hash, dynamic symbols, strings and
//! symbol versions (every export is `NAME@@LINUX_2.6`, which glibc, musl and
//! Go look up), a PT_NOTE naming the kernel version, and section headers so
//! debuggers can name frames in it. The clock page sits one page below the
//! image; the code reaches it RIP-relative.
//!
//! Every function falls back to the real `syscall` instruction (which the
//! sentry traps as usual) for anything the fast path does not cover: clocks
//! other than REALTIME, MONOTONIC, BOOTTIME and TAI, and a clock page that
//! says the fast path is off. Pure: builds bytes, maps nothing.

use std::collections::HashMap;

use super::page;

/// The functions the image exports, each as `__vdso_NAME` (global) and
/// `NAME` (weak), as Linux's x86-64 vDSO does.
pub const FUNCTIONS: [&str; 5] = [
    "clock_gettime",
    "gettimeofday",
    "time",
    "getcpu",
    "clock_getres",
];

/// The symbol version every export carries.
pub const VERSION: &str = "LINUX_2.6";
/// DT_SONAME, and the name of the base version.
pub const SONAME: &str = "linux-vdso.so.1";

/// What the code may use, decided by the host CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpu {
    /// RDTSCP exists: used for an ordered TSC read and for getcpu's
    /// TSC_AUX; without it the code reads `lfence; rdtsc`.
    pub rdtscp: bool,
}

/// A built image.
pub struct Image {
    /// The ELF file, padded to whole pages.
    pub bytes: Vec<u8>,
}

// ---------------------------------------------------------------------------
// A tiny assembler: raw bytes, labels, rel8/rel32 branches and a
// RIP-relative reference to the clock page.

enum Fixup {
    Rel8(&'static str),
    Rel32(&'static str),
    /// disp32 of a RIP-relative operand addressing the clock page.
    ClockPage,
}

struct Asm {
    /// Image offset of the first code byte.
    base: u64,
    code: Vec<u8>,
    labels: HashMap<&'static str, usize>,
    fixups: Vec<(usize, Fixup)>,
}

impl Asm {
    fn new(base: u64) -> Asm {
        Asm {
            base,
            code: Vec::new(),
            labels: HashMap::new(),
            fixups: Vec::new(),
        }
    }

    fn b(&mut self, bytes: &[u8]) {
        self.code.extend_from_slice(bytes);
    }

    fn label(&mut self, name: &'static str) {
        let prev = self.labels.insert(name, self.code.len());
        assert!(prev.is_none(), "label {name} defined twice");
    }

    /// A short conditional or unconditional jump: `op` is its one opcode
    /// byte (0x7x for jcc, 0xeb for jmp).
    fn j8(&mut self, op: u8, to: &'static str) {
        self.b(&[op, 0]);
        self.fixups.push((self.code.len() - 1, Fixup::Rel8(to)));
    }

    /// `call rel32`.
    fn call(&mut self, to: &'static str) {
        self.b(&[0xe8, 0, 0, 0, 0]);
        self.fixups.push((self.code.len() - 4, Fixup::Rel32(to)));
    }

    /// `lea r11, [rip + clock page]`.
    fn lea_r11_clock_page(&mut self) {
        self.b(&[0x4c, 0x8d, 0x1d, 0, 0, 0, 0]);
        self.fixups.push((self.code.len() - 4, Fixup::ClockPage));
    }

    /// An ordered TSC read into edx:eax (ecx clobbered).
    fn read_tsc(&mut self, cpu: Cpu) {
        if cpu.rdtscp {
            self.b(&[0x0f, 0x01, 0xf9]); // rdtscp
        } else {
            self.b(&[0x0f, 0xae, 0xe8]); // lfence
            self.b(&[0x0f, 0x31]); // rdtsc
        }
    }

    /// `mov eax, nr; syscall; ret`: the slow path, trapped by the sentry.
    fn syscall_ret(&mut self, nr: i64) {
        self.b(&[0xb8]);
        self.b(&(nr as u32).to_le_bytes()); // mov eax, nr
        self.b(&[0x0f, 0x05]); // syscall
        self.b(&[0xc3]); // ret
    }

    fn finish(mut self) -> (Vec<u8>, HashMap<&'static str, usize>) {
        for (at, f) in std::mem::take(&mut self.fixups) {
            match f {
                Fixup::Rel8(to) => {
                    let rel = self.labels[to] as i64 - (at as i64 + 1);
                    let rel = i8::try_from(rel).expect("short jump out of range");
                    self.code[at] = rel as u8;
                }
                Fixup::Rel32(to) => {
                    let rel = self.labels[to] as i64 - (at as i64 + 4);
                    self.code[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
                }
                Fixup::ClockPage => {
                    let next = self.base as i64 + at as i64 + 4;
                    let rel = -(page::LEN as i64) - next;
                    self.code[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
                }
            }
        }
        (self.code, self.labels)
    }
}

/// The clock ids with a fast path, as a bit mask: REALTIME (0), MONOTONIC
/// (1), BOOTTIME (7) and TAI (11).
pub const FAST_CLOCKS: u32 = 1 << 0 | 1 << 1 | 1 << 7 | 1 << 11;
/// The highest clock id in `FAST_CLOCKS`.
const MAX_FAST_CLOCK: u8 = 11;

/// `cmp edi, 11; ja fallback; mov eax, FAST_CLOCKS; bt eax, edi; jnc fallback`.
fn check_fast_clock(a: &mut Asm, fallback: &'static str) {
    a.b(&[0x83, 0xff, MAX_FAST_CLOCK]); // cmp edi, 11
    a.j8(0x77, fallback); // ja (unsigned: negative ids too)
    a.b(&[0xb8]);
    a.b(&FAST_CLOCKS.to_le_bytes()); // mov eax, FAST_CLOCKS
    a.b(&[0x0f, 0xa3, 0xf8]); // bt eax, edi
    a.j8(0x73, fallback); // jnc
}

/// `xor edx, edx; mov ecx, 1e9; div rcx`: rax = seconds, rdx = nanoseconds.
fn split_seconds(a: &mut Asm) {
    a.b(&[0x31, 0xd2]); // xor edx, edx
    a.b(&[0xb9]);
    a.b(&1_000_000_000u32.to_le_bytes()); // mov ecx, 1000000000
    a.b(&[0x48, 0xf7, 0xf1]); // div rcx
}

/// Assembles the functions; `base` is the image offset the code starts at.
/// Returns the code and the offset (from `base`) and length of each
/// exported function.
fn assemble(base: u64, cpu: Cpu) -> (Vec<u8>, Vec<(&'static str, usize, usize)>) {
    let mut a = Asm::new(base);
    let d8 = |field: u64| -> u8 { u8::try_from(field).expect("clock page field past disp8") };

    // clock_ns: the nanoseconds of clock r8 (an index into page::OFFSETS)
    // in rax, CF clear; CF set when the fast path is off. Clobbers rcx,
    // rdx, r9, r10, r11; leaves rdi and rsi alone for the callers'
    // fallbacks.
    a.label("clock_ns");
    a.lea_r11_clock_page();
    a.label("clock_ns.retry");
    a.b(&[0x4d, 0x8b, 0x4b, d8(page::SEQ)]); // mov r9, [r11+SEQ]
    a.b(&[0x41, 0xf6, 0xc1, 0x01]); // test r9b, 1
    a.j8(0x75, "clock_ns.busy"); // jnz: a write is under way
    a.b(&[0x49, 0x83, 0x7b, d8(page::MODE), 0x00]); // cmp qword [r11+MODE], 0
    a.j8(0x74, "clock_ns.off"); // je
    a.b(&[0x4f, 0x8b, 0x54, 0xc3, d8(page::OFFSETS)]); // mov r10, [r11+r8*8+OFFSETS]
    a.read_tsc(cpu);
    a.b(&[0x48, 0xc1, 0xe2, 0x20]); // shl rdx, 32
    a.b(&[0x48, 0x09, 0xd0]); // or rax, rdx
    a.b(&[0x49, 0x2b, 0x43, d8(page::TSC_BASE)]); // sub rax, [r11+TSC_BASE]
    a.j8(0x73, "clock_ns.ahead"); // jae
    a.b(&[0x31, 0xc0]); // xor eax, eax: a TSC behind the base counts as the base
    a.label("clock_ns.ahead");
    a.b(&[0x49, 0xf7, 0x63, d8(page::MULT)]); // mul qword [r11+MULT]: rdx:rax = ticks * mult
    a.b(&[0x41, 0x8b, 0x4b, d8(page::SHIFT)]); // mov ecx, [r11+SHIFT]
    a.b(&[0x48, 0x0f, 0xad, 0xd0]); // shrd rax, rdx, cl
    a.b(&[0x49, 0x03, 0x43, d8(page::MONO_BASE)]); // add rax, [r11+MONO_BASE]
    a.b(&[0x4c, 0x01, 0xd0]); // add rax, r10
    a.b(&[0x4d, 0x3b, 0x4b, d8(page::SEQ)]); // cmp r9, [r11+SEQ]
    a.j8(0x75, "clock_ns.retry"); // jne: the page changed under us
    a.b(&[0xf8]); // clc
    a.b(&[0xc3]); // ret
    a.label("clock_ns.busy");
    a.b(&[0xf3, 0x90]); // pause
    a.j8(0xeb, "clock_ns.retry"); // jmp
    a.label("clock_ns.off");
    a.b(&[0xf9]); // stc
    a.b(&[0xc3]); // ret

    // int clock_gettime(clockid_t edi, struct timespec *rsi)
    a.label("clock_gettime");
    check_fast_clock(&mut a, "clock_gettime.slow");
    a.b(&[0x41, 0x89, 0xf8]); // mov r8d, edi
    a.call("clock_ns");
    a.j8(0x72, "clock_gettime.slow"); // jc
    split_seconds(&mut a);
    a.b(&[0x48, 0x89, 0x06]); // mov [rsi], rax
    a.b(&[0x48, 0x89, 0x56, 0x08]); // mov [rsi+8], rdx
    a.b(&[0x31, 0xc0]); // xor eax, eax
    a.b(&[0xc3]); // ret
    a.label("clock_gettime.slow");
    a.syscall_ret(libc::SYS_clock_gettime);
    a.label("clock_gettime.end");

    // int gettimeofday(struct timeval *rdi, struct timezone *rsi)
    a.label("gettimeofday");
    a.b(&[0x48, 0x85, 0xff]); // test rdi, rdi
    a.j8(0x74, "gettimeofday.tz"); // jz
    a.b(&[0x45, 0x31, 0xc0]); // xor r8d, r8d: CLOCK_REALTIME
    a.call("clock_ns");
    a.j8(0x72, "gettimeofday.slow"); // jc
    split_seconds(&mut a);
    a.b(&[0x48, 0x89, 0x07]); // mov [rdi], rax
    a.b(&[0x48, 0x89, 0xd0]); // mov rax, rdx
    a.b(&[0x31, 0xd2]); // xor edx, edx
    a.b(&[0xb9]);
    a.b(&1000u32.to_le_bytes()); // mov ecx, 1000
    a.b(&[0x48, 0xf7, 0xf1]); // div rcx: microseconds
    a.b(&[0x48, 0x89, 0x47, 0x08]); // mov [rdi+8], rax
    a.label("gettimeofday.tz");
    a.b(&[0x48, 0x85, 0xf6]); // test rsi, rsi
    a.j8(0x74, "gettimeofday.done"); // jz
    a.b(&[0x48, 0xc7, 0x06, 0, 0, 0, 0]); // mov qword [rsi], 0: the sandbox's zone is UTC
    a.label("gettimeofday.done");
    a.b(&[0x31, 0xc0]); // xor eax, eax
    a.b(&[0xc3]); // ret
    a.label("gettimeofday.slow");
    a.syscall_ret(libc::SYS_gettimeofday);
    a.label("gettimeofday.end");

    // time_t time(time_t *rdi)
    a.label("time");
    a.b(&[0x45, 0x31, 0xc0]); // xor r8d, r8d: CLOCK_REALTIME
    a.call("clock_ns");
    a.j8(0x72, "time.slow"); // jc
    split_seconds(&mut a);
    a.b(&[0x48, 0x85, 0xff]); // test rdi, rdi
    a.j8(0x74, "time.done"); // jz
    a.b(&[0x48, 0x89, 0x07]); // mov [rdi], rax
    a.label("time.done");
    a.b(&[0xc3]); // ret
    a.label("time.slow");
    a.syscall_ret(libc::SYS_time);
    a.label("time.end");

    // int getcpu(unsigned *rdi, unsigned *rsi, void *rdx)
    a.label("getcpu");
    a.lea_r11_clock_page();
    a.b(&[0x49, 0x83, 0x7b, d8(page::GETCPU), 0x00]); // cmp qword [r11+GETCPU], 0
    a.j8(0x74, "getcpu.slow"); // je
    a.b(&[0x0f, 0x01, 0xf9]); // rdtscp: ecx = TSC_AUX = node << 12 | cpu
    a.b(&[0x48, 0x85, 0xff]); // test rdi, rdi
    a.j8(0x74, "getcpu.node"); // jz
    a.b(&[0x89, 0xc8]); // mov eax, ecx
    a.b(&[0x25, 0xff, 0x0f, 0x00, 0x00]); // and eax, 0xfff
    a.b(&[0x89, 0x07]); // mov [rdi], eax
    a.label("getcpu.node");
    a.b(&[0x48, 0x85, 0xf6]); // test rsi, rsi
    a.j8(0x74, "getcpu.done"); // jz
    a.b(&[0xc1, 0xe9, 0x0c]); // shr ecx, 12
    a.b(&[0x89, 0x0e]); // mov [rsi], ecx
    a.label("getcpu.done");
    a.b(&[0x31, 0xc0]); // xor eax, eax
    a.b(&[0xc3]); // ret
    a.label("getcpu.slow");
    a.syscall_ret(libc::SYS_getcpu);
    a.label("getcpu.end");

    // int clock_getres(clockid_t edi, struct timespec *rsi)
    a.label("clock_getres");
    check_fast_clock(&mut a, "clock_getres.slow");
    a.lea_r11_clock_page();
    a.b(&[0x49, 0x83, 0x7b, d8(page::MODE), 0x00]); // cmp qword [r11+MODE], 0
    a.j8(0x74, "clock_getres.slow"); // je
    a.b(&[0x48, 0x85, 0xf6]); // test rsi, rsi
    a.j8(0x74, "clock_getres.done"); // jz
    a.b(&[0x49, 0x8b, 0x43, d8(page::RES)]); // mov rax, [r11+RES]
    a.b(&[0x48, 0xc7, 0x06, 0, 0, 0, 0]); // mov qword [rsi], 0
    a.b(&[0x48, 0x89, 0x46, 0x08]); // mov [rsi+8], rax
    a.label("clock_getres.done");
    a.b(&[0x31, 0xc0]); // xor eax, eax
    a.b(&[0xc3]); // ret
    a.label("clock_getres.slow");
    a.syscall_ret(libc::SYS_clock_getres);
    a.label("clock_getres.end");

    let (code, labels) = a.finish();
    let funcs = [
        ("clock_gettime", "clock_gettime.end"),
        ("gettimeofday", "gettimeofday.end"),
        ("time", "time.end"),
        ("getcpu", "getcpu.end"),
        ("clock_getres", "clock_getres.end"),
    ]
    .iter()
    .map(|&(f, end)| (f, labels[f], labels[end] - labels[f]))
    .collect();
    (code, funcs)
}

// ---------------------------------------------------------------------------
// ELF constants and a little-endian writer.

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
const SYM_SIZE: usize = 24;
const DYN_SIZE: usize = 16;
const VERDEF_SIZE: usize = 20;
const VERDAUX_SIZE: usize = 8;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_NOTE: u32 = 4;
const PF_X: u32 = 1;
const PF_R: u32 = 4;

const DT_NULL: u64 = 0;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_SYMENT: u64 = 11;
const DT_SONAME: u64 = 14;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEF: u64 = 0x6fff_fffc;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;

const SHT_PROGBITS: u32 = 1;
const SHT_STRTAB: u32 = 3;
const SHT_HASH: u32 = 5;
const SHT_DYNAMIC: u32 = 6;
const SHT_NOTE: u32 = 7;
const SHT_DYNSYM: u32 = 11;
const SHT_GNU_VERDEF: u32 = 0x6fff_fffd;
const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;

const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const STT_FUNC: u8 = 2;
const VER_FLG_BASE: u16 = 1;
/// Version index of LINUX_2.6 (1 is the base version).
const VERSION_NDX: u16 = 2;

/// The SysV ELF hash of a symbol or version name.
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(c as u32);
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// A growing little-endian byte buffer.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn align(&mut self, to: usize) {
        while !self.0.len().is_multiple_of(to) {
            self.0.push(0);
        }
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A string table under construction.
#[derive(Default)]
struct Strtab {
    bytes: Vec<u8>,
}

impl Strtab {
    fn new() -> Strtab {
        Strtab { bytes: vec![0] }
    }
    fn add(&mut self, s: &str) -> u32 {
        let at = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        at
    }
}

/// LINUX_VERSION_CODE of a release string such as "6.12.0".
fn version_code(release: &str) -> u32 {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0).min(255);
    major << 16 | minor << 8 | patch
}

struct Section {
    name: u32,
    kind: u32,
    flags: u64,
    off: usize,
    size: usize,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

/// Builds the image for `cpu`; `release` is the kernel release the sandbox
/// reports (for the version note).
pub fn build(cpu: Cpu, release: &str) -> Image {
    // Dynamic symbols: the null symbol, then __vdso_NAME and NAME for each
    // function.
    let mut dynstr = Strtab::new();
    let mut names: Vec<(String, u32, u8, &str)> = Vec::new();
    for f in FUNCTIONS {
        let long = format!("__vdso_{f}");
        let off = dynstr.add(&long);
        names.push((long, off, STB_GLOBAL, f));
        names.push((f.to_string(), dynstr.add(f), STB_WEAK, f));
    }
    let soname = dynstr.add(SONAME);
    let version = dynstr.add(VERSION);
    let nsyms = names.len() + 1;

    // Layout: headers, then each table, then the code, then section headers.
    const NPHDRS: usize = 3;
    let hash_off = EHDR_SIZE + NPHDRS * PHDR_SIZE;
    let nbucket = nsyms;
    let hash_size = (2 + nbucket + nsyms) * 4;
    let dynsym_off = (hash_off + hash_size).next_multiple_of(8);
    let dynstr_off = dynsym_off + nsyms * SYM_SIZE;
    let versym_off = (dynstr_off + dynstr.bytes.len()).next_multiple_of(2);
    let verdef_off = (versym_off + nsyms * 2).next_multiple_of(8);
    let verdef_size = 2 * (VERDEF_SIZE + VERDAUX_SIZE);
    let note_off = (verdef_off + verdef_size).next_multiple_of(4);
    let note_size = 12 + 8 + 4; // header, "Linux\0" padded, version
    let dynamic_off = (note_off + note_size).next_multiple_of(8);
    let ndyn = 10;
    let text_off = (dynamic_off + ndyn * DYN_SIZE).next_multiple_of(16);
    let (code, funcs) = assemble(text_off as u64, cpu);

    let mut o = Out::default();
    let shstrtab_off = text_off + code.len();
    let mut shstr = Strtab::new();
    let sec_names = [
        ".hash",
        ".dynsym",
        ".dynstr",
        ".gnu.version",
        ".gnu.version_d",
        ".note",
        ".dynamic",
        ".text",
        ".shstrtab",
    ]
    .map(|n| shstr.add(n));
    let shoff = (shstrtab_off + shstr.bytes.len()).next_multiple_of(8);
    let nsections = 10;
    let total = shoff + nsections * SHDR_SIZE;
    let image_len = total.next_multiple_of(super::page::LEN as usize);

    // ELF header.
    o.bytes(b"\x7fELF");
    o.u8(2); // ELFCLASS64
    o.u8(1); // ELFDATA2LSB
    o.u8(1); // EV_CURRENT
    o.u8(0); // ELFOSABI_SYSV
    o.bytes(&[0; 8]);
    o.u16(3); // ET_DYN
    o.u16(62); // EM_X86_64
    o.u32(1); // EV_CURRENT
    o.u64(text_off as u64); // e_entry
    o.u64(EHDR_SIZE as u64); // e_phoff
    o.u64(shoff as u64); // e_shoff
    o.u32(0); // e_flags
    o.u16(EHDR_SIZE as u16);
    o.u16(PHDR_SIZE as u16);
    o.u16(NPHDRS as u16);
    o.u16(SHDR_SIZE as u16);
    o.u16(nsections as u16);
    o.u16(nsections as u16 - 1); // e_shstrndx: the last section

    // Program headers.
    let phdr = |o: &mut Out, kind: u32, flags: u32, off: usize, size: usize, align: u64| {
        o.u32(kind);
        o.u32(flags);
        o.u64(off as u64); // p_offset
        o.u64(off as u64); // p_vaddr
        o.u64(off as u64); // p_paddr
        o.u64(size as u64); // p_filesz
        o.u64(size as u64); // p_memsz
        o.u64(align);
    };
    phdr(&mut o, PT_LOAD, PF_R | PF_X, 0, total, super::page::LEN);
    phdr(&mut o, PT_DYNAMIC, PF_R, dynamic_off, ndyn * DYN_SIZE, 8);
    phdr(&mut o, PT_NOTE, PF_R, note_off, note_size, 4);
    debug_assert_eq!(o.len(), hash_off);

    // .hash: nbucket, nchain, buckets, chains.
    let mut buckets = vec![0u32; nbucket];
    let mut chains = vec![0u32; nsyms];
    for (i, (name, ..)) in names.iter().enumerate() {
        let idx = i as u32 + 1;
        let b = elf_hash(name.as_bytes()) as usize % nbucket;
        chains[idx as usize] = buckets[b];
        buckets[b] = idx;
    }
    o.u32(nbucket as u32);
    o.u32(nsyms as u32);
    buckets.iter().for_each(|&b| o.u32(b));
    chains.iter().for_each(|&c| o.u32(c));
    o.align(8);
    debug_assert_eq!(o.len(), dynsym_off);

    // .dynsym.
    let text_index = 8u16;
    o.bytes(&[0; SYM_SIZE]);
    for (_, name_off, bind, func) in &names {
        let &(_, at, size) = funcs.iter().find(|f| f.0 == *func).expect("assembled");
        let value = (text_off + at) as u64;
        o.u32(*name_off);
        o.u8(bind << 4 | STT_FUNC);
        o.u8(0); // STV_DEFAULT
        o.u16(text_index);
        o.u64(value);
        o.u64(size as u64);
    }
    debug_assert_eq!(o.len(), dynstr_off);
    o.bytes(&dynstr.bytes);
    o.align(2);

    // .gnu.version: the null symbol is local (0); every export LINUX_2.6.
    debug_assert_eq!(o.len(), versym_off);
    o.u16(0);
    for _ in &names {
        o.u16(VERSION_NDX);
    }
    o.align(8);

    // .gnu.version_d: the base version (the soname), then LINUX_2.6.
    debug_assert_eq!(o.len(), verdef_off);
    let verdef = |o: &mut Out, flags: u16, ndx: u16, name: &str, name_off: u32, last: bool| {
        o.u16(1); // vd_version
        o.u16(flags);
        o.u16(ndx);
        o.u16(1); // vd_cnt
        o.u32(elf_hash(name.as_bytes()));
        o.u32(VERDEF_SIZE as u32); // vd_aux
        o.u32(if last {
            0
        } else {
            (VERDEF_SIZE + VERDAUX_SIZE) as u32
        }); // vd_next
        o.u32(name_off); // vda_name
        o.u32(0); // vda_next
    };
    verdef(&mut o, VER_FLG_BASE, 1, SONAME, soname, false);
    verdef(&mut o, 0, VERSION_NDX, VERSION, version, true);
    o.align(4);

    // .note: "Linux", type 0, LINUX_VERSION_CODE (as the kernel's vDSO has).
    debug_assert_eq!(o.len(), note_off);
    o.u32(6); // namesz
    o.u32(4); // descsz
    o.u32(0); // type
    o.bytes(b"Linux\0\0\0");
    o.u32(version_code(release));
    o.align(8);

    // .dynamic: addresses are image offsets (the loader adds the base).
    debug_assert_eq!(o.len(), dynamic_off);
    let dynamic = [
        (DT_SONAME, soname as u64),
        (DT_HASH, hash_off as u64),
        (DT_STRTAB, dynstr_off as u64),
        (DT_SYMTAB, dynsym_off as u64),
        (DT_STRSZ, dynstr.bytes.len() as u64),
        (DT_SYMENT, SYM_SIZE as u64),
        (DT_VERSYM, versym_off as u64),
        (DT_VERDEF, verdef_off as u64),
        (DT_VERDEFNUM, 2),
        (DT_NULL, 0),
    ];
    debug_assert_eq!(dynamic.len(), ndyn);
    for (tag, val) in dynamic {
        o.u64(tag);
        o.u64(val);
    }
    o.align(16);

    debug_assert_eq!(o.len(), text_off);
    o.bytes(&code);
    debug_assert_eq!(o.len(), shstrtab_off);
    o.bytes(&shstr.bytes);
    o.align(8);

    // Section headers.
    debug_assert_eq!(o.len(), shoff);
    let s = |name, kind, flags, off, size, link, info, align, entsize| Section {
        name,
        kind,
        flags,
        off,
        size,
        link,
        info,
        align,
        entsize,
    };
    let [n_hash, n_dynsym, n_dynstr, n_versym, n_verdef, n_note, n_dynamic, n_text, n_shstrtab] =
        sec_names;
    let sections = [
        s(0, 0, 0, 0, 0, 0, 0, 0, 0),
        s(n_hash, SHT_HASH, SHF_ALLOC, hash_off, hash_size, 2, 0, 8, 4),
        s(
            n_dynsym,
            SHT_DYNSYM,
            SHF_ALLOC,
            dynsym_off,
            nsyms * SYM_SIZE,
            3,
            1,
            8,
            SYM_SIZE as u64,
        ),
        s(
            n_dynstr,
            SHT_STRTAB,
            SHF_ALLOC,
            dynstr_off,
            dynstr.bytes.len(),
            0,
            0,
            1,
            0,
        ),
        s(
            n_versym,
            SHT_GNU_VERSYM,
            SHF_ALLOC,
            versym_off,
            nsyms * 2,
            2,
            0,
            2,
            2,
        ),
        s(
            n_verdef,
            SHT_GNU_VERDEF,
            SHF_ALLOC,
            verdef_off,
            verdef_size,
            3,
            2,
            8,
            0,
        ),
        s(n_note, SHT_NOTE, SHF_ALLOC, note_off, note_size, 0, 0, 4, 0),
        s(
            n_dynamic,
            SHT_DYNAMIC,
            SHF_ALLOC,
            dynamic_off,
            ndyn * DYN_SIZE,
            3,
            0,
            8,
            DYN_SIZE as u64,
        ),
        s(
            n_text,
            SHT_PROGBITS,
            SHF_ALLOC | SHF_EXECINSTR,
            text_off,
            code.len(),
            0,
            0,
            16,
            0,
        ),
        s(
            n_shstrtab,
            SHT_STRTAB,
            0,
            shstrtab_off,
            shstr.bytes.len(),
            0,
            0,
            1,
            0,
        ),
    ];
    debug_assert_eq!(sections.len(), nsections);
    debug_assert_eq!(text_index as usize, 8);
    for sec in &sections {
        o.u32(sec.name);
        o.u32(sec.kind);
        o.u64(sec.flags);
        let addr = if sec.flags & SHF_ALLOC != 0 {
            sec.off
        } else {
            0
        };
        o.u64(addr as u64);
        o.u64(sec.off as u64);
        o.u64(sec.size as u64);
        o.u32(sec.link);
        o.u32(sec.info);
        o.u64(sec.align);
        o.u64(sec.entsize);
    }
    debug_assert_eq!(o.len(), total);
    let mut bytes = o.0;
    bytes.resize(image_len, 0);
    Image { bytes }
}
