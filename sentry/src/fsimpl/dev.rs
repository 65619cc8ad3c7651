//! devfs: the sentry's /dev. The memory devices null, zero, full, random
//! and urandom (character devices with Linux's numbers, mode 0666,
//! random bytes from the host's getrandom), and the links stdin, stdout,
//! stderr -> /proc/self/fd/0..2 and fd -> /proc/self/fd; ptmx (5:2) and
//! tty (5:0), whose opens `devpts` answers.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use super::devnums;
use crate::errno::Errno;
use crate::mm::Segments;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::dirfile::{description_flags, with_setfl};
use crate::vfs::file::FileDescription;
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::raw;
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{Node, StaticDir, Symlink};

const TMPFS_MAGIC: i64 = 0x0102_1994;

const FS: FsInfo = FsInfo {
    magic: TMPFS_MAGIC,
    read_only: false,
};

/// Most bytes one read of a memory device produces (a short read beyond).
const MAX_CHUNK: usize = 1 << 20;

/// Which memory device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
}

impl Device {
    /// Linux's minor number under major 1 (mem).
    fn minor(self) -> u32 {
        match self {
            Device::Null => 3,
            Device::Zero => 5,
            Device::Full => 7,
            Device::Random => 8,
            Device::Urandom => 9,
        }
    }
}

/// The root of a new devfs.
pub fn new() -> Arc<dyn Inode> {
    let dev = devnums::DEV;
    let node = |ino, mode| Node {
        dev,
        ino,
        mode,
        fs: FS,
    };
    let chr = |d: Device, ino| -> Arc<dyn Inode> {
        Arc::new(CharDev {
            node: node(ino, libc::S_IFCHR | 0o666),
            device: d,
        })
    };
    let link = |ino, target: &[u8]| -> Arc<dyn Inode> { Symlink::new(dev, ino, FS, target) };
    StaticDir::new(
        node(1, libc::S_IFDIR | 0o755),
        vec![
            (b"null", chr(Device::Null, 2)),
            (b"zero", chr(Device::Zero, 3)),
            (b"full", chr(Device::Full, 4)),
            (b"random", chr(Device::Random, 5)),
            (b"urandom", chr(Device::Urandom, 6)),
            (b"stdin", link(7, b"/proc/self/fd/0")),
            (b"stdout", link(8, b"/proc/self/fd/1")),
            (b"stderr", link(9, b"/proc/self/fd/2")),
            (b"fd", link(10, b"/proc/self/fd")),
            (b"ptmx", super::devpts::devfs_ptmx(dev, 11, FS)),
            (b"tty", super::devpts::devfs_tty(dev, 12, FS)),
        ],
    )
}

struct CharDev {
    node: Node,
    device: Device,
}

impl Inode for CharDev {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        let mut st = self.node.stat(0);
        st.rdev = libc::makedev(1, self.device.minor());
        Ok(st)
    }

    fn open(
        &self,
        _ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        Ok(Arc::new(DevFile {
            dentry: Arc::clone(dentry),
            device: self.device,
            flags: AtomicI32::new(description_flags(flags)),
        }))
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}

/// An open memory device.
struct DevFile {
    dentry: Arc<Dentry>,
    device: Device,
    flags: AtomicI32,
}

impl DevFile {
    /// The bytes a read of `len` produces now.
    fn produce(&self, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len.min(MAX_CHUNK)];
        if matches!(self.device, Device::Random | Device::Urandom) {
            raw::getrandom(&mut buf)?;
        }
        Ok(buf)
    }
}

impl FileDescription for DevFile {
    fn read(&self, dst: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        if self.device == Device::Null {
            return Ok(0);
        }
        Ok(dst.fill(&self.produce(dst.len())?))
    }

    fn read_at(&self, buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        if self.device == Device::Null {
            return Ok(0);
        }
        let data = self.produce(buf.len())?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn write(&self, src: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        match self.device {
            Device::Full => Err(Errno::ENOSPC),
            _ => Ok(src.len()),
        }
    }

    fn seek(&self, _offset: i64, _whence: i32) -> Result<u64, Errno> {
        // The memory devices ignore seeks and stay at 0, as Linux's do.
        Ok(0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.dentry.stat(&Ctx::kernel())
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        self.flags
            .store(with_setfl(self.flags(), flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::walk;

    #[test]
    fn devices_have_linux_numbers() {
        let root = Dentry::new_root(new());
        let ctx = Ctx::kernel();
        for (name, minor) in [
            ("null", 3),
            ("zero", 5),
            ("full", 7),
            ("random", 8),
            ("urandom", 9),
        ] {
            let d = walk::lookup(&ctx, &root, &root, name.as_bytes(), true).unwrap();
            let st = d.stat(&ctx).unwrap();
            assert_eq!(st.rdev, libc::makedev(1, minor), "{name}");
            assert_eq!(st.mode, libc::S_IFCHR | 0o666, "{name}");
        }
    }

    #[test]
    fn stdio_links_point_into_proc() {
        let root = Dentry::new_root(new());
        let ctx = Ctx::kernel();
        let d = walk::lookup(&ctx, &root, &root, b"stderr", false).unwrap();
        assert_eq!(d.inode().readlink(&ctx).unwrap(), b"/proc/self/fd/2");
    }
}
