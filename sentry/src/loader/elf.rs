//! ELF64 parsing for the loader: the header and program headers of an
//! x86-64 executable or shared object. Pure: parses bytes, maps nothing.
//! Every field from the file is bounds-checked; a bad file is ENOEXEC.

use crate::errno::Errno;

pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;
pub const PHENT_SIZE: usize = 56;
/// Linux refuses program header tables larger than this.
const MAX_PHDRS_BYTES: usize = 65536;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramHeader {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

#[derive(Clone, Debug)]
pub struct ElfInfo {
    pub kind: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    pub phdrs: Vec<ProgramHeader>,
}

fn u16_at(b: &[u8], o: usize) -> Result<u16, Errno> {
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(Errno::ENOEXEC)
}

fn u32_at(b: &[u8], o: usize) -> Result<u32, Errno> {
    let s = b.get(o..o + 4).ok_or(Errno::ENOEXEC)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], o: usize) -> Result<u64, Errno> {
    let s = b.get(o..o + 8).ok_or(Errno::ENOEXEC)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

/// Whether `b` starts like an ELF file at all.
pub fn is_elf(b: &[u8]) -> bool {
    b.len() >= 4 && &b[..4] == b"\x7fELF"
}

/// Parses the ELF header from its first 64 bytes.
pub fn parse_header(b: &[u8]) -> Result<ElfInfo, Errno> {
    if b.len() < 64 || !is_elf(b) {
        return Err(Errno::ENOEXEC);
    }
    // 64-bit, little-endian, version 1, x86-64.
    if b[4] != 2 || b[5] != 1 || b[6] != 1 || u16_at(b, 18)? != 0x3e {
        return Err(Errno::ENOEXEC);
    }
    let kind = u16_at(b, 16)?;
    if kind != ET_EXEC && kind != ET_DYN {
        return Err(Errno::ENOEXEC);
    }
    if u16_at(b, 54)? as usize != PHENT_SIZE {
        return Err(Errno::ENOEXEC);
    }
    let phnum = u16_at(b, 56)?;
    if phnum == 0 || phnum as usize * PHENT_SIZE > MAX_PHDRS_BYTES {
        return Err(Errno::ENOEXEC);
    }
    Ok(ElfInfo {
        kind,
        entry: u64_at(b, 24)?,
        phoff: u64_at(b, 32)?,
        phnum,
        phdrs: Vec::new(),
    })
}

/// Parses `phnum` program headers from `b` (the bytes at `phoff`).
pub fn parse_phdrs(info: &mut ElfInfo, b: &[u8]) -> Result<(), Errno> {
    let n = info.phnum as usize;
    if b.len() < n * PHENT_SIZE {
        return Err(Errno::ENOEXEC);
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let o = i * PHENT_SIZE;
        let ph = ProgramHeader {
            kind: u32_at(b, o)?,
            flags: u32_at(b, o + 4)?,
            offset: u64_at(b, o + 8)?,
            vaddr: u64_at(b, o + 16)?,
            filesz: u64_at(b, o + 32)?,
            memsz: u64_at(b, o + 40)?,
        };
        if ph.kind == PT_LOAD {
            let bad = ph.filesz > ph.memsz
                || ph.vaddr.checked_add(ph.memsz).is_none()
                || ph.offset.checked_add(ph.filesz).is_none()
                || (ph.vaddr % 4096) != (ph.offset % 4096);
            if bad {
                return Err(Errno::ENOEXEC);
            }
        }
        out.push(ph);
    }
    if !out.iter().any(|p| p.kind == PT_LOAD) {
        return Err(Errno::ENOEXEC);
    }
    info.phdrs = out;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: u16, phnum: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&kind.to_le_bytes());
        b[18..20].copy_from_slice(&0x3eu16.to_le_bytes());
        b[24..32].copy_from_slice(&0x401000u64.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        b
    }

    #[test]
    fn a_good_header_parses() {
        let info = parse_header(&header(ET_EXEC, 1)).unwrap();
        assert_eq!(info.entry, 0x401000);
        assert_eq!(info.phnum, 1);
    }

    #[test]
    fn wrong_machine_type_or_truncation_is_enoexec() {
        let mut h = header(ET_EXEC, 1);
        h[18] = 3;
        assert_eq!(parse_header(&h).unwrap_err(), Errno::ENOEXEC);
        assert_eq!(parse_header(&header(1, 1)).unwrap_err(), Errno::ENOEXEC);
        assert_eq!(
            parse_header(&header(ET_EXEC, 0)).unwrap_err(),
            Errno::ENOEXEC
        );
        let h = header(ET_EXEC, 1);
        for n in 0..64 {
            assert!(parse_header(&h[..n]).is_err());
        }
    }

    #[test]
    fn a_segment_with_filesz_over_memsz_is_refused() {
        let mut info = parse_header(&header(ET_EXEC, 1)).unwrap();
        let mut ph = vec![0u8; 56];
        ph[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        ph[32..40].copy_from_slice(&10u64.to_le_bytes());
        ph[40..48].copy_from_slice(&5u64.to_le_bytes());
        assert_eq!(parse_phdrs(&mut info, &ph).unwrap_err(), Errno::ENOEXEC);
    }
}
