//! Permission checks against mode bits and capabilities, as Linux's
//! generic_permission, inode_owner_or_capable and may_delete do.

use super::ctx::Cred;
use super::stat::Stat;
use crate::errno::Errno;
use crate::kernel::creds::{CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER};

pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

/// Whether `cred` may access the file `st` as `want` (MAY_* bits). The
/// mode bits first; then CAP_DAC_READ_SEARCH reads any file and reads or
/// searches any directory, and CAP_DAC_OVERRIDE reads and writes anything
/// and searches any directory, but executes only a file with at least one
/// execute bit.
pub fn check(st: &Stat, cred: &Cred<'_>, want: u32) -> Result<(), Errno> {
    let want = want & (MAY_READ | MAY_WRITE | MAY_EXEC);
    let class = if st.uid == cred.uid {
        (st.mode >> 6) & 7
    } else if cred.in_group(st.gid) {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    };
    if class & want == want {
        return Ok(());
    }
    let granted = if st.is_dir() {
        (want & MAY_WRITE == 0 && cred.has_cap(CAP_DAC_READ_SEARCH))
            || cred.has_cap(CAP_DAC_OVERRIDE)
    } else {
        (want == MAY_READ && cred.has_cap(CAP_DAC_READ_SEARCH))
            || ((want & MAY_EXEC == 0 || st.mode & 0o111 != 0) && cred.has_cap(CAP_DAC_OVERRIDE))
    };
    if granted {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// Whether `cred` owns `st` or holds CAP_FOWNER (Linux's
/// inode_owner_or_capable): who may chmod, set explicit times, and the like.
pub fn owner_or_root(st: &Stat, cred: &Cred<'_>) -> bool {
    cred.uid == st.uid || cred.has_cap(CAP_FOWNER)
}

/// Linux's may_delete for the entry `victim` of directory `dir`: write and
/// search permission on `dir` (EACCES), and in a sticky directory only
/// the owner of the entry or of the directory (or CAP_FOWNER) may remove
/// or rename it (EPERM).
pub fn may_delete(dir: &Stat, victim: &Stat, cred: &Cred<'_>) -> Result<(), Errno> {
    check(dir, cred, MAY_WRITE | MAY_EXEC)?;
    if dir.mode & libc::S_ISVTX != 0
        && cred.uid != victim.uid
        && cred.uid != dir.uid
        && !cred.has_cap(CAP_FOWNER)
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(mode: u32, uid: u32, gid: u32) -> Stat {
        Stat {
            mode: libc::S_IFREG | mode,
            uid,
            gid,
            ..Stat::default()
        }
    }

    fn user(uid: u32, gid: u32) -> Cred<'static> {
        Cred {
            uid,
            gid,
            groups: &[],
            caps: 0,
        }
    }

    #[test]
    fn root_reads_and_writes_anything() {
        let st = file(0o000, 5, 5);
        assert_eq!(check(&st, &Cred::ROOT, MAY_READ | MAY_WRITE), Ok(()));
    }

    #[test]
    fn root_needs_an_execute_bit_on_files() {
        assert_eq!(
            check(&file(0o644, 0, 0), &Cred::ROOT, MAY_EXEC),
            Err(Errno::EACCES)
        );
        assert_eq!(check(&file(0o001, 5, 5), &Cred::ROOT, MAY_EXEC), Ok(()));
    }

    #[test]
    fn root_searches_any_directory() {
        let dir = Stat {
            mode: libc::S_IFDIR,
            ..Stat::default()
        };
        assert_eq!(check(&dir, &Cred::ROOT, MAY_EXEC), Ok(()));
    }

    #[test]
    fn owner_bits_apply_to_the_owner_even_when_others_may() {
        let st = file(0o077, 7, 7);
        assert_eq!(check(&st, &user(7, 7), MAY_READ), Err(Errno::EACCES));
    }

    #[test]
    fn group_and_other_bits() {
        let st = file(0o640, 1, 2);
        assert_eq!(check(&st, &user(9, 2), MAY_READ), Ok(()));
        assert_eq!(check(&st, &user(9, 2), MAY_WRITE), Err(Errno::EACCES));
        assert_eq!(check(&st, &user(9, 9), MAY_READ), Err(Errno::EACCES));
        let groups = [2];
        let member = Cred {
            uid: 9,
            gid: 9,
            groups: &groups,
            caps: 0,
        };
        assert_eq!(check(&st, &member, MAY_READ), Ok(()));
    }

    #[test]
    fn dac_read_search_reads_files_and_searches_directories_only() {
        let rs = Cred {
            caps: 1 << CAP_DAC_READ_SEARCH,
            ..user(9, 9)
        };
        let st = file(0o000, 0, 0);
        assert_eq!(check(&st, &rs, MAY_READ), Ok(()));
        assert_eq!(check(&st, &rs, MAY_WRITE), Err(Errno::EACCES));
        let dir = Stat {
            mode: libc::S_IFDIR,
            ..Stat::default()
        };
        assert_eq!(check(&dir, &rs, MAY_READ | MAY_EXEC), Ok(()));
        assert_eq!(check(&dir, &rs, MAY_WRITE | MAY_EXEC), Err(Errno::EACCES));
    }

    #[test]
    fn uid_zero_without_capabilities_is_an_ordinary_user() {
        let bare_root = user(0, 0);
        assert_eq!(
            check(&file(0o600, 5, 5), &bare_root, MAY_READ),
            Err(Errno::EACCES)
        );
        assert!(!owner_or_root(&file(0o600, 5, 5), &bare_root));
    }

    #[test]
    fn sticky_directories_keep_others_entries() {
        let dir = Stat {
            mode: libc::S_IFDIR | 0o1777,
            ..Stat::default()
        };
        let theirs = file(0o666, 8, 8);
        let mine = file(0o600, 7, 7);
        assert_eq!(may_delete(&dir, &theirs, &user(7, 7)), Err(Errno::EPERM));
        assert_eq!(may_delete(&dir, &mine, &user(7, 7)), Ok(()));
        assert_eq!(may_delete(&dir, &theirs, &Cred::ROOT), Ok(()));
        let plain = Stat {
            mode: libc::S_IFDIR | 0o777,
            ..Stat::default()
        };
        assert_eq!(may_delete(&plain, &theirs, &user(7, 7)), Ok(()));
        let closed = Stat {
            mode: libc::S_IFDIR | 0o755,
            ..Stat::default()
        };
        assert_eq!(may_delete(&closed, &mine, &user(7, 7)), Err(Errno::EACCES));
    }
}
