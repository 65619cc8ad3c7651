//! The trees a server serves: its root (source 0) and the sources of the
//! container's bind mounts (1, 2, …), each a directory or a single
//! regular file, opened by the operator's path before the gofer confines
//! itself and then held as an fd, so that confinement (pivot_root into
//! the root) need not leave any of them reachable by path.
//!
//! A source's path comes from the operator (the bundle) and is trusted:
//! it is resolved by the host, symlinks included, once. Nothing below it
//! will be: every later lookup is one name beneath the held fd. A file
//! source is held with its directory and name, so that it can be reopened
//! (checked to be the same inode) exactly as a walked file is; its
//! directory is never handed out as a fid. Anything but a directory or a
//! regular file, and anything on the host's procfs or sysfs, is refused.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use super::{Parent, PROC_SUPER_MAGIC, RESOLVE, SYSFS_MAGIC};
use crate::raw;

/// Why a source could not be opened.
#[derive(Debug, Error)]
pub enum SourceError {
    #[error("open source {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("stat source {path}: {source}")]
    Stat { path: PathBuf, source: io::Error },
    #[error("source {path} is neither a directory nor a regular file (mode {mode:#o})")]
    Type { path: PathBuf, mode: u32 },
    #[error("source {path} is on the host's procfs or sysfs, which the gofer never serves")]
    HostPseudoFs { path: PathBuf },
    #[error("source {path} has no parent directory and name")]
    NoName { path: PathBuf },
    #[error("source {path} changed while it was being opened")]
    Changed { path: PathBuf },
}

/// One served tree, opened and held; see [`open_source`].
#[derive(Debug)]
pub struct Source {
    /// `O_PATH` fd of the directory or file itself.
    pub(super) fd: OwnedFd,
    /// A file source's directory (`O_PATH | O_DIRECTORY`) and name.
    pub(super) parent: Option<(OwnedFd, CString)>,
    /// Every change beneath it is `EROFS`, whatever the server's access.
    pub(super) read_only: bool,
}

impl Source {
    /// The root, given as the `O_PATH | O_DIRECTORY` fd [`super::open_root`]
    /// returns; read-only when `read_only`.
    pub fn root(fd: OwnedFd, read_only: bool) -> Source {
        Source {
            fd,
            parent: None,
            read_only,
        }
    }

    /// Whether the source is a directory (else a regular file).
    pub fn is_dir(&self) -> bool {
        self.parent.is_none()
    }
}

/// A source as the server keeps it.
pub(super) struct Held {
    pub(super) fd: Arc<OwnedFd>,
    pub(super) parent: Option<Parent>,
    pub(super) read_only: bool,
}

impl From<Source> for Held {
    fn from(s: Source) -> Held {
        Held {
            fd: Arc::new(s.fd),
            parent: s.parent.map(|(fd, name)| Parent {
                fd: Arc::new(fd),
                name,
            }),
            read_only: s.read_only,
        }
    }
}

fn open_path(path: &Path, flags: i32) -> Result<OwnedFd, SourceError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|source| SourceError::Open {
            path: path.to_owned(),
            source,
        })
}

/// Opens `path` (a directory or a regular file, symlinks followed: the
/// operator's path is trusted) as a source to serve, read-only when
/// `read_only`. Call before the gofer confines itself.
pub fn open_source(path: &Path, read_only: bool) -> Result<Source, SourceError> {
    let stat_err = |source| SourceError::Stat {
        path: path.to_owned(),
        source,
    };
    let fd = open_path(path, libc::O_PATH | libc::O_CLOEXEC)?;
    match raw::fs_magic(fd.as_fd()).map_err(stat_err)? {
        PROC_SUPER_MAGIC | SYSFS_MAGIC => {
            return Err(SourceError::HostPseudoFs {
                path: path.to_owned(),
            })
        }
        _ => {}
    }
    let attr = raw::stat_fd(fd.as_fd()).map_err(stat_err)?;
    match attr.mode & libc::S_IFMT {
        libc::S_IFDIR => Ok(Source {
            fd,
            parent: None,
            read_only,
        }),
        libc::S_IFREG => {
            // The file's own directory and name, where it is reopened from.
            let real = std::fs::canonicalize(path).map_err(|source| SourceError::Open {
                path: path.to_owned(),
                source,
            })?;
            let (Some(dir), Some(name)) = (real.parent(), real.file_name()) else {
                return Err(SourceError::NoName {
                    path: path.to_owned(),
                });
            };
            let name = CString::new(name.as_bytes()).map_err(|_| SourceError::NoName {
                path: path.to_owned(),
            })?;
            let dir_fd = open_path(dir, libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)?;
            let node = raw::openat2(
                dir_fd.as_fd(),
                &name,
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                RESOLVE,
            )
            .map_err(|source| SourceError::Open {
                path: path.to_owned(),
                source,
            })?;
            let again = raw::stat_fd(node.as_fd()).map_err(stat_err)?;
            if (again.dev, again.ino) != (attr.dev, attr.ino) {
                return Err(SourceError::Changed {
                    path: path.to_owned(),
                });
            }
            Ok(Source {
                fd: node,
                parent: Some((dir_fd, name)),
                read_only,
            })
        }
        _ => Err(SourceError::Type {
            path: path.to_owned(),
            mode: attr.mode,
        }),
    }
}
