//! Packing directory entries into the records getdents64(2) and the old
//! getdents(2) return (pure).

use super::file::DirEntry;

/// Which record layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name, NUL.
    Dirent64,
    /// struct linux_dirent: u64 ino, i64 off, u16 reclen, name, NUL, pad, u8 type.
    Dirent,
}

/// Size of one record for `name`, 8-byte aligned.
pub fn reclen(layout: Layout, name_len: usize) -> usize {
    let raw = match layout {
        Layout::Dirent64 => 19 + name_len + 1,
        Layout::Dirent => 18 + name_len + 2,
    };
    (raw + 7) & !7
}

/// Fills a buffer of at most `cap` bytes with records.
pub struct Packer {
    layout: Layout,
    cap: usize,
    pub buf: Vec<u8>,
}

impl Packer {
    pub fn new(layout: Layout, cap: usize) -> Packer {
        Packer {
            layout,
            cap,
            buf: Vec::new(),
        }
    }

    /// Appends the record for `e` with `d_off` = `off`; false (and nothing
    /// written) when it does not fit.
    pub fn push(&mut self, e: &DirEntry, off: u64) -> bool {
        let len = reclen(self.layout, e.name.len());
        if self.buf.len() + len > self.cap || len > u16::MAX as usize {
            return false;
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(&e.ino.to_ne_bytes());
        self.buf.extend_from_slice(&off.to_ne_bytes());
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        if self.layout == Layout::Dirent64 {
            self.buf.push(e.kind);
        }
        self.buf.extend_from_slice(&e.name);
        self.buf.resize(start + len, 0);
        if self.layout == Layout::Dirent {
            self.buf[start + len - 1] = e.kind;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> DirEntry {
        DirEntry {
            ino: 42,
            kind: libc::DT_REG,
            name: name.as_bytes().to_vec(),
        }
    }

    #[test]
    fn dirent64_record_layout() {
        let mut p = Packer::new(Layout::Dirent64, 4096);
        assert!(p.push(&entry("hello"), 7));
        assert_eq!(p.buf.len(), 32);
        assert_eq!(&p.buf[0..8], &42u64.to_ne_bytes());
        assert_eq!(&p.buf[8..16], &7u64.to_ne_bytes());
        assert_eq!(&p.buf[16..18], &32u16.to_ne_bytes());
        assert_eq!(p.buf[18], libc::DT_REG);
        assert_eq!(&p.buf[19..25], b"hello\0");
    }

    #[test]
    fn old_dirent_puts_the_type_last() {
        let mut p = Packer::new(Layout::Dirent, 4096);
        assert!(p.push(&entry("a"), 1));
        assert_eq!(p.buf.len(), 24);
        assert_eq!(&p.buf[18..20], b"a\0");
        assert_eq!(p.buf[23], libc::DT_REG);
    }

    #[test]
    fn stops_when_full() {
        let mut p = Packer::new(Layout::Dirent64, 40);
        assert!(p.push(&entry("a"), 1));
        assert!(!p.push(&entry("b"), 2));
        assert_eq!(p.buf.len(), 24);
    }

    #[test]
    fn record_lengths_are_aligned() {
        assert_eq!(reclen(Layout::Dirent64, 1), 24);
        assert_eq!(reclen(Layout::Dirent64, 4), 24);
        assert_eq!(reclen(Layout::Dirent64, 5), 32);
        assert_eq!(reclen(Layout::Dirent, 4), 24);
        assert_eq!(reclen(Layout::Dirent, 5), 32);
    }
}
