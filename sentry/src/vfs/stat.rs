//! File attributes as the sandbox reports them (stat, statx).

/// Attributes of a file. Times are (seconds, nanoseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    /// Birth time, (0, 0) when unknown.
    pub btime: (i64, i64),
}

impl Stat {
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.file_type() == libc::S_IFLNK
    }

    pub fn is_regular(&self) -> bool {
        self.file_type() == libc::S_IFREG
    }
}

/// STATX_* bits this Stat always fills (STATX_BASIC_STATS).
pub const STATX_BASIC: u32 = libc::STATX_BASIC_STATS;

impl Stat {
    /// From the host's fstat of a donated fd.
    pub fn from_host(st: &libc::stat) -> Stat {
        Stat {
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            nlink: st.st_nlink,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev,
            size: st.st_size,
            blksize: st.st_blksize,
            blocks: st.st_blocks,
            atime: (st.st_atime, st.st_atime_nsec),
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
            btime: (0, 0),
        }
    }

    /// The x86-64 `struct stat` that stat(2) and friends copy out.
    pub fn to_linux(&self) -> libc::stat {
        // SAFETY: libc::stat is plain integers (and padding); all zeroes is
        // a valid value of it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        st.st_dev = self.dev;
        st.st_ino = self.ino;
        st.st_nlink = self.nlink;
        st.st_mode = self.mode;
        st.st_uid = self.uid;
        st.st_gid = self.gid;
        st.st_rdev = self.rdev;
        st.st_size = self.size;
        st.st_blksize = self.blksize;
        st.st_blocks = self.blocks;
        st.st_atime = self.atime.0;
        st.st_atime_nsec = self.atime.1;
        st.st_mtime = self.mtime.0;
        st.st_mtime_nsec = self.mtime.1;
        st.st_ctime = self.ctime.0;
        st.st_ctime_nsec = self.ctime.1;
        st
    }

    /// The `struct statx` for statx(2). Every basic field is filled
    /// whatever was asked (as Linux does); the birth time when known.
    pub fn to_statx(&self) -> libc::statx {
        fn ts(t: (i64, i64)) -> libc::statx_timestamp {
            // SAFETY: statx_timestamp is plain integers; zeroes are valid.
            let mut v: libc::statx_timestamp = unsafe { std::mem::zeroed() };
            v.tv_sec = t.0;
            v.tv_nsec = t.1.clamp(0, 999_999_999) as u32;
            v
        }
        // SAFETY: libc::statx is plain integers (and padding); all zeroes
        // is a valid value of it.
        let mut x: libc::statx = unsafe { std::mem::zeroed() };
        x.stx_mask = STATX_BASIC;
        if self.btime != (0, 0) {
            x.stx_mask |= libc::STATX_BTIME;
        }
        x.stx_blksize = self.blksize as u32;
        x.stx_nlink = self.nlink as u32;
        x.stx_uid = self.uid;
        x.stx_gid = self.gid;
        x.stx_mode = self.mode as u16;
        x.stx_ino = self.ino;
        x.stx_size = self.size as u64;
        x.stx_blocks = self.blocks as u64;
        x.stx_atime = ts(self.atime);
        x.stx_btime = ts(self.btime);
        x.stx_ctime = ts(self.ctime);
        x.stx_mtime = ts(self.mtime);
        x.stx_rdev_major = libc::major(self.rdev);
        x.stx_rdev_minor = libc::minor(self.rdev);
        x.stx_dev_major = libc::major(self.dev);
        x.stx_dev_minor = libc::minor(self.dev);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_stat_layout_is_x86_64s() {
        assert_eq!(std::mem::size_of::<libc::stat>(), 144);
        assert_eq!(std::mem::size_of::<libc::statx>(), 256);
    }

    #[test]
    fn statx_splits_device_numbers() {
        let st = Stat {
            dev: libc::makedev(8, 1),
            rdev: libc::makedev(1, 3),
            mode: libc::S_IFCHR | 0o666,
            ..Stat::default()
        };
        let x = st.to_statx();
        assert_eq!((x.stx_dev_major, x.stx_dev_minor), (8, 1));
        assert_eq!((x.stx_rdev_major, x.stx_rdev_minor), (1, 3));
        assert_eq!(x.stx_mask & libc::STATX_BTIME, 0);
        assert_eq!(u32::from(x.stx_mode), libc::S_IFCHR | 0o666);
    }
}
