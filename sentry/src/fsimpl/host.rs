//! Host files: fds the caller donated to the sandbox (its stdin, stdout
//! and stderr). Reads and writes go straight to the host fd, between it and
//! app memory; fstat, lseek and F_GETFL's initial flags are the host's; of
//! the terminal ioctls only TCGETS and TIOCGWINSZ pass through (ENOTTY when
//! the fd is not a terminal). Nothing here may change the host fd's state
//! that the caller shares (F_SETFL is kept in the sentry).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::mm::Segments;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::dirfile::{description_flags, with_setfl};
use crate::vfs::file::FileDescription;
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::raw;
use crate::vfs::stat::Stat;

const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
const PIPEFS_MAGIC: i64 = 0x5049_5045;
const SOCKFS_MAGIC: i64 = 0x534f_434b;
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Size of the kernel's `struct termios` (what TCGETS copies out).
const KERNEL_TERMIOS_LEN: usize = 36;

/// An open donated host fd.
pub struct HostFile {
    fd: Arc<OwnedFd>,
    flags: AtomicI32,
    dentry: Arc<Dentry>,
}

impl HostFile {
    /// Wraps the donated `fd`; `path` is what /proc/PID/fd shows for it.
    // Returns the trait object the fd table takes, as boot expects.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(fd: OwnedFd, path: &str) -> Arc<dyn FileDescription> {
        let fd = Arc::new(fd);
        let flags = raw::get_status_flags(fd.as_fd()).unwrap_or(libc::O_RDWR) & !libc::O_CLOEXEC;
        let inode = Arc::new(HostInode {
            fd: Arc::clone(&fd),
        });
        let dentry = Dentry::new_anon(path.as_bytes(), inode);
        Arc::new(HostFile {
            fd,
            flags: AtomicI32::new(flags),
            dentry,
        })
    }
}

impl FileDescription for HostFile {
    fn read(&self, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        raw::read_segments(self.fd.as_fd(), dst, offset)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        raw::pread(self.fd.as_fd(), buf, offset)
    }

    fn write(&self, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        raw::write_segments(self.fd.as_fd(), src, offset)
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        raw::lseek(self.fd.as_fd(), offset, whence)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::from_host(&raw::fstat(self.fd.as_fd())?))
    }

    fn ioctl(&self, task: &mut Task, cmd: u64, arg: u64) -> SysResult {
        match cmd {
            c if c == libc::TCGETS => {
                let t = raw::tcgets(self.fd.as_fd())?;
                task.mm.copy_out(arg, &termios_bytes(&t))?;
                Ok(0)
            }
            c if c == libc::TIOCGWINSZ => {
                let w = raw::tiocgwinsz(self.fd.as_fd())?;
                let mut b = Vec::with_capacity(8);
                for v in [w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel] {
                    b.extend_from_slice(&v.to_ne_bytes());
                }
                task.mm.copy_out(arg, &b)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        self.flags
            .store(with_setfl(self.flags(), flags), Ordering::Relaxed);
    }

    fn host_fd(&self) -> Option<Arc<OwnedFd>> {
        Some(Arc::clone(&self.fd))
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }
}

/// The kernel's `struct termios`: four u32 flag words, c_line, c_cc[19].
fn termios_bytes(t: &libc::termios) -> Vec<u8> {
    let mut b = Vec::with_capacity(KERNEL_TERMIOS_LEN);
    for v in [t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag] {
        b.extend_from_slice(&v.to_ne_bytes());
    }
    b.push(t.c_line);
    b.extend(t.c_cc.iter().take(19));
    b.resize(KERNEL_TERMIOS_LEN, 0);
    b
}

/// The node behind a donated fd, reached again through /proc/PID/fd/N:
/// opening it opens the same host fd anew with the opener's flags.
struct HostInode {
    fd: Arc<OwnedFd>,
}

impl Inode for HostInode {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(Stat::from_host(&raw::fstat(self.fd.as_fd())?))
    }

    fn open(
        &self,
        _ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        Ok(Arc::new(HostFile {
            fd: Arc::clone(&self.fd),
            flags: AtomicI32::new(description_flags(flags)),
            dentry: Arc::clone(dentry),
        }))
    }

    fn fs_info(&self) -> FsInfo {
        let magic = match raw::fstat(self.fd.as_fd()).map(|s| s.st_mode & libc::S_IFMT) {
            Ok(libc::S_IFCHR) => DEVPTS_SUPER_MAGIC,
            Ok(libc::S_IFIFO) => PIPEFS_MAGIC,
            Ok(libc::S_IFSOCK) => SOCKFS_MAGIC,
            _ => TMPFS_MAGIC,
        };
        FsInfo {
            magic,
            read_only: false,
        }
    }
}
