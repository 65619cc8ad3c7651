//! Open file descriptions: what an fd refers to. Each file system supplies
//! its own; the syscall layer sees only this trait.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::stat::Stat;
use crate::errno::{Errno, SysResult};
use crate::kernel::task::Task;
use crate::mm::Segments;

/// One directory entry as getdents64 reports it.
#[derive(Clone, Debug)]
pub struct DirEntry {
    pub ino: u64,
    /// DT_* type.
    pub kind: u8,
    pub name: Vec<u8>,
}

pub trait FileDescription: Send + Sync {
    /// read(2) (offset None: at and advancing the file position) or pread(2).
    fn read(&self, _dst: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// read(2) by task `t`: files that can block (pipes, sockets, eventfd)
    /// override this and sleep with `t.block`; others just read.
    fn read_task(&self, _t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        self.read(dst, offset)
    }

    /// write(2) by task `t`, as `read_task`.
    fn write_task(&self, _t: &Task, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        self.write(src, offset)
    }

    /// The poll events (POLLIN, POLLOUT, POLLHUP, POLLERR…) ready now,
    /// among `mask`. Regular files are always ready.
    fn readiness(&self, mask: u32) -> u32 {
        mask & (libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM) as u32
    }

    /// The queue notified when readiness changes; None for files that are
    /// always ready.
    fn wait_queue(&self) -> Option<&crate::kernel::waiter::WaitQueue> {
        None
    }

    /// Reads into a sentry buffer at `offset` (the ELF loader, /proc readers).
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// write(2) or pwrite(2).
    fn write(&self, _src: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// lseek(2).
    fn seek(&self, _offset: i64, _whence: i32) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    /// fstat(2).
    fn stat(&self) -> Result<Stat, Errno>;

    /// The entries of a directory from position `pos` on: calls `emit(entry,
    /// next_pos)` until it returns false; returns the new position.
    fn readdir(
        &self,
        _pos: u64,
        _emit: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<u64, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// ioctl(2); ENOTTY unless the file knows `cmd`.
    fn ioctl(&self, _task: &mut Task, _cmd: u64, _arg: u64) -> SysResult {
        Err(Errno::ENOTTY)
    }

    /// The O_* access and status flags (O_RDONLY/O_WRONLY/O_RDWR, O_APPEND,
    /// O_NONBLOCK, …) as F_GETFL reports them.
    fn flags(&self) -> i32;

    /// F_SETFL: only O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME change.
    fn set_flags(&self, _flags: i32) {}

    /// The host fd holding this file's contents, for mmap.
    fn host_fd(&self) -> Option<Arc<OwnedFd>> {
        None
    }

    /// For files whose contents live in the memory file (tmpfs): the
    /// memory-file pieces (offset, length; page-aligned, in file order)
    /// holding `[offset, offset+len)` of the file, allocated where missing
    /// (zero-filled, also past the end of the file), each with a reference
    /// taken for the caller (`MemoryFile::share`), which the caller drops
    /// with `MemoryFile::release`. `offset` and `len` are page-aligned.
    /// None for files kept anywhere else.
    fn shared_pages(&self, _offset: u64, _len: u64) -> Option<Result<Vec<(u64, u64)>, Errno>> {
        None
    }

    /// ftruncate(2) to `len` (the file is open for writing).
    fn truncate(&self, _len: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// fsync(2)/fdatasync(2): the file's data (and, unless `data_only`,
    /// its metadata) on stable storage; nothing to do for files that live
    /// in sandbox memory.
    fn sync(&self, _data_only: bool) -> Result<(), Errno> {
        Ok(())
    }

    /// fallocate(2) with `mode` (FALLOC_FL_* bits) over `[offset, offset+len)`.
    fn allocate(&self, _mode: i32, _offset: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// The sandbox path this file was opened by (for /proc and logs).
    fn path(&self) -> String;

    /// getdents(2): the entries from the file's own position on; calls
    /// `emit(entry, d_off)` until it returns false, advancing the position
    /// past each entry `emit` accepted. `ctx` is the calling task, for file
    /// systems whose listing depends on it (procfs).
    fn getdents(
        &self,
        _ctx: &Ctx<'_>,
        _emit: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    /// The concrete file, for the syscalls that act on one kind only
    /// (epoll_ctl on an epoll, timerfd_settime, F_SETPIPE_SZ on a pipe);
    /// None for files no such syscall needs to find.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    /// The dentry this file was opened at: the start of a dirfd-relative
    /// walk, fchdir's target, what /proc/PID/fd/N leads to. None for files
    /// with no place in the tree.
    fn dentry(&self) -> Option<Arc<Dentry>> {
        None
    }
}
