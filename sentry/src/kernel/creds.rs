//! Credentials: user and group ids, supplementary groups and the five
//! capability sets, with Linux's transition rules as pure functions (the
//! set*id family, setfsuid, capset, the ambient and bounding sets, and what
//! execve grants). The syscall handlers in `syscalls/identity.rs` only copy
//! arguments in and out; every rule lives here and is unit-tested.
//!
//! Never grants more than the sandbox's bounding set: a task's bounding set
//! only shrinks, and execve builds the permitted set from it.

use crate::errno::Errno;

/// The highest capability number Linux defines (CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: u32 = 40;
/// Every capability: the default bounding set of a sandbox.
pub const CAP_FULL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_MAC_OVERRIDE: u32 = 32;
pub const CAP_WAKE_ALARM: u32 = 35;

/// The capabilities that follow the file-system uid (Linux's CAP_FS_MASK).
pub const CAP_FS_MASK: u64 = bit(CAP_CHOWN)
    | bit(CAP_DAC_OVERRIDE)
    | bit(CAP_DAC_READ_SEARCH)
    | bit(CAP_FOWNER)
    | bit(CAP_FSETID)
    | bit(CAP_LINUX_IMMUTABLE)
    | bit(CAP_MKNOD)
    | bit(CAP_MAC_OVERRIDE);

/// Linux's NGROUPS_MAX.
pub const NGROUPS_MAX: usize = 65536;

/// The "unchanged" id of the set*id calls.
pub const UNCHANGED: u32 = u32::MAX;

pub const fn bit(cap: u32) -> u64 {
    1 << cap
}

/// Whether `cap` names a capability (Linux's cap_valid).
pub fn cap_valid(cap: u64) -> bool {
    cap <= CAP_LAST_CAP as u64
}

/// Whether an id maps into the sandbox's user namespace: every id but -1.
fn mapped(id: u32) -> Result<u32, Errno> {
    if id == UNCHANGED {
        Err(Errno::EINVAL)
    } else {
        Ok(id)
    }
}

/// A task's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    /// Supplementary groups, sorted as setgroups leaves them.
    pub groups: Vec<u32>,
    /// Capability sets, bit N for capability N.
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
    /// PR_SET_KEEPCAPS: keep permitted across a uid change away from 0
    /// (cleared at execve).
    pub keep_caps: bool,
    /// PR_SET_NO_NEW_PRIVS: inherited, never cleared.
    pub no_new_privs: bool,
}

impl Default for Creds {
    /// Root with the full set.
    fn default() -> Self {
        Creds::new(0, 0, CAP_FULL)
    }
}

impl Creds {
    /// A sandbox's first task: all ids `uid`/`gid`; root holds every
    /// capability of `bounding`, anyone else none.
    pub fn new(uid: u32, gid: u32, bounding: u64) -> Creds {
        let caps = if uid == 0 { bounding } else { 0 };
        Creds {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups: Vec::new(),
            effective: caps,
            permitted: caps,
            inheritable: 0,
            bounding,
            ambient: 0,
            keep_caps: false,
            no_new_privs: false,
        }
    }

    /// Whether the effective set holds `cap` (Linux's capable()).
    pub fn has_cap(&self, cap: u32) -> bool {
        self.effective & bit(cap) != 0
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }

    /// Linux's cap_emulate_setxuid: what a change of real/effective/saved
    /// uid from `old` does to the capability sets.
    fn fix_caps_after_setuid(&mut self, old: &Creds) {
        let any_root = |c: &Creds| c.uid == 0 || c.euid == 0 || c.suid == 0;
        if any_root(old) && !any_root(self) {
            if !self.keep_caps {
                self.permitted = 0;
                self.effective = 0;
            }
            self.ambient = 0;
        }
        if old.euid == 0 && self.euid != 0 {
            self.effective = 0;
        }
        if old.euid != 0 && self.euid == 0 {
            self.effective = self.permitted;
        }
    }

    fn commit_uids(&mut self, old: &Creds) {
        self.fsuid = self.euid;
        self.fix_caps_after_setuid(old);
    }

    pub fn setuid(&mut self, uid: u32) -> Result<(), Errno> {
        let uid = mapped(uid)?;
        let old = self.clone();
        if old.has_cap(CAP_SETUID) {
            self.uid = uid;
            self.suid = uid;
        } else if uid != old.uid && uid != old.suid {
            return Err(Errno::EPERM);
        }
        self.euid = uid;
        self.commit_uids(&old);
        Ok(())
    }

    pub fn setreuid(&mut self, ruid: u32, euid: u32) -> Result<(), Errno> {
        let old = self.clone();
        let capable = old.has_cap(CAP_SETUID);
        let mut new = old.clone();
        if ruid != UNCHANGED {
            if ruid != old.uid && ruid != old.euid && !capable {
                return Err(Errno::EPERM);
            }
            new.uid = ruid;
        }
        if euid != UNCHANGED {
            if euid != old.uid && euid != old.euid && euid != old.suid && !capable {
                return Err(Errno::EPERM);
            }
            new.euid = euid;
        }
        if ruid != UNCHANGED || (euid != UNCHANGED && euid != old.uid) {
            new.suid = new.euid;
        }
        new.commit_uids(&old);
        *self = new;
        Ok(())
    }

    pub fn setresuid(&mut self, ruid: u32, euid: u32, suid: u32) -> Result<(), Errno> {
        let old = self.clone();
        let is_new = |id: u32| id != UNCHANGED && id != old.uid && id != old.euid && id != old.suid;
        if (is_new(ruid) || is_new(euid) || is_new(suid)) && !old.has_cap(CAP_SETUID) {
            return Err(Errno::EPERM);
        }
        if ruid != UNCHANGED {
            self.uid = ruid;
        }
        if euid != UNCHANGED {
            self.euid = euid;
        }
        if suid != UNCHANGED {
            self.suid = suid;
        }
        self.commit_uids(&old);
        Ok(())
    }

    pub fn setgid(&mut self, gid: u32) -> Result<(), Errno> {
        let gid = mapped(gid)?;
        if self.has_cap(CAP_SETGID) {
            self.gid = gid;
            self.sgid = gid;
        } else if gid != self.gid && gid != self.sgid {
            return Err(Errno::EPERM);
        }
        self.egid = gid;
        self.fsgid = gid;
        Ok(())
    }

    pub fn setregid(&mut self, rgid: u32, egid: u32) -> Result<(), Errno> {
        let old = self.clone();
        let capable = old.has_cap(CAP_SETGID);
        let mut new = old.clone();
        if rgid != UNCHANGED {
            if rgid != old.gid && rgid != old.egid && !capable {
                return Err(Errno::EPERM);
            }
            new.gid = rgid;
        }
        if egid != UNCHANGED {
            if egid != old.gid && egid != old.egid && egid != old.sgid && !capable {
                return Err(Errno::EPERM);
            }
            new.egid = egid;
        }
        if rgid != UNCHANGED || (egid != UNCHANGED && egid != old.gid) {
            new.sgid = new.egid;
        }
        new.fsgid = new.egid;
        *self = new;
        Ok(())
    }

    pub fn setresgid(&mut self, rgid: u32, egid: u32, sgid: u32) -> Result<(), Errno> {
        let is_new =
            |id: u32| id != UNCHANGED && id != self.gid && id != self.egid && id != self.sgid;
        if (is_new(rgid) || is_new(egid) || is_new(sgid)) && !self.has_cap(CAP_SETGID) {
            return Err(Errno::EPERM);
        }
        if rgid != UNCHANGED {
            self.gid = rgid;
        }
        if egid != UNCHANGED {
            self.egid = egid;
        }
        if sgid != UNCHANGED {
            self.sgid = sgid;
        }
        self.fsgid = self.egid;
        Ok(())
    }

    /// setfsuid: returns the previous fsuid whether or not it changed.
    pub fn setfsuid(&mut self, uid: u32) -> u32 {
        let old = self.fsuid;
        if uid == UNCHANGED {
            return old;
        }
        let allowed =
            [self.uid, self.euid, self.suid, self.fsuid].contains(&uid) || self.has_cap(CAP_SETUID);
        if allowed && uid != old {
            self.fsuid = uid;
            if old == 0 && uid != 0 {
                self.effective &= !CAP_FS_MASK;
            } else if old != 0 && uid == 0 {
                self.effective |= self.permitted & CAP_FS_MASK;
            }
        }
        old
    }

    /// setfsgid: returns the previous fsgid whether or not it changed.
    pub fn setfsgid(&mut self, gid: u32) -> u32 {
        let old = self.fsgid;
        if gid == UNCHANGED {
            return old;
        }
        if [self.gid, self.egid, self.sgid, self.fsgid].contains(&gid) || self.has_cap(CAP_SETGID) {
            self.fsgid = gid;
        }
        old
    }

    pub fn setgroups(&mut self, mut groups: Vec<u32>) -> Result<(), Errno> {
        if !self.has_cap(CAP_SETGID) {
            return Err(Errno::EPERM);
        }
        if groups.len() > NGROUPS_MAX {
            return Err(Errno::EINVAL);
        }
        if groups.contains(&UNCHANGED) {
            return Err(Errno::EINVAL);
        }
        groups.sort_unstable();
        self.groups = groups;
        Ok(())
    }

    /// capset on oneself: (effective, permitted, inheritable).
    pub fn capset(
        &mut self,
        effective: u64,
        permitted: u64,
        inheritable: u64,
    ) -> Result<(), Errno> {
        let subset = |a: u64, b: u64| a & !b == 0;
        if !self.has_cap(CAP_SETPCAP) && !subset(inheritable, self.inheritable | self.permitted) {
            return Err(Errno::EPERM);
        }
        if !subset(inheritable, self.inheritable | self.bounding)
            || !subset(permitted, self.permitted)
            || !subset(effective, permitted)
        {
            return Err(Errno::EPERM);
        }
        self.effective = effective;
        self.permitted = permitted;
        self.inheritable = inheritable;
        self.ambient &= permitted & inheritable;
        Ok(())
    }

    /// PR_CAPBSET_DROP.
    pub fn drop_bounding(&mut self, cap: u64) -> Result<(), Errno> {
        if !self.has_cap(CAP_SETPCAP) {
            return Err(Errno::EPERM);
        }
        if !cap_valid(cap) {
            return Err(Errno::EINVAL);
        }
        self.bounding &= !(1 << cap);
        Ok(())
    }

    /// PR_CAP_AMBIENT_RAISE: the capability must be permitted and inheritable.
    pub fn raise_ambient(&mut self, cap: u64) -> Result<(), Errno> {
        if !cap_valid(cap) {
            return Err(Errno::EINVAL);
        }
        let b = 1u64 << cap;
        if self.permitted & b == 0 || self.inheritable & b == 0 {
            return Err(Errno::EPERM);
        }
        self.ambient |= b;
        Ok(())
    }

    /// The credentials after execve of a file whose owner and mode are
    /// `file_uid`, `file_gid`, `mode` (Linux's bprm_fill_uid and
    /// cap_bprm_creds_from_file, with no file capabilities).
    pub fn after_exec(&self, file_uid: u32, file_gid: u32, mode: u32) -> Creds {
        let old = self;
        let mut new = self.clone();
        if !old.no_new_privs {
            if mode & libc::S_ISUID != 0 {
                new.euid = file_uid;
            }
            if mode & (libc::S_ISGID | libc::S_IXGRP) == libc::S_ISGID | libc::S_IXGRP {
                new.egid = file_gid;
            }
        }
        new.permitted = 0;
        let mut effective = false;
        if new.euid == 0 || new.uid == 0 {
            new.permitted = old.bounding | old.inheritable;
        }
        if new.euid == 0 {
            effective = true;
        }
        let is_setid = new.euid != old.uid || new.egid != old.gid;
        let gained = new.permitted & !old.permitted != 0;
        if (is_setid || gained) && old.no_new_privs {
            new.euid = new.uid;
            new.egid = new.gid;
            new.permitted &= old.permitted;
        }
        new.suid = new.euid;
        new.fsuid = new.euid;
        new.sgid = new.egid;
        new.fsgid = new.egid;
        if is_setid {
            new.ambient = 0;
        }
        new.permitted |= new.ambient;
        new.effective = if effective {
            new.permitted
        } else {
            new.ambient
        };
        new.keep_caps = false;
        new
    }

    /// Whether a new image runs with more than its invoker's identity
    /// (auxv AT_SECURE): set-ID, or a non-root real uid with capabilities.
    pub fn secure_exec(&self) -> bool {
        self.euid != self.uid
            || self.egid != self.gid
            || (self.uid != 0 && self.permitted & !self.ambient != 0)
    }

    /// Whether a change from `old` to `self` makes the process undumpable
    /// (Linux's commit_creds).
    pub fn loses_dumpable(&self, old: &Creds) -> bool {
        self.euid != old.euid
            || self.egid != old.egid
            || self.fsuid != old.fsuid
            || self.fsgid != old.fsgid
            || self.permitted & !old.permitted != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Creds {
        Creds::default()
    }

    fn user(uid: u32) -> Creds {
        Creds::new(uid, uid, CAP_FULL)
    }

    #[test]
    fn root_setuid_sets_all_three_and_drops_caps() {
        let mut c = root();
        c.setuid(1000).unwrap();
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 1000, 1000, 1000));
        assert_eq!((c.effective, c.permitted), (0, 0));
        assert_eq!(c.setuid(0), Err(Errno::EPERM));
    }

    #[test]
    fn setuid_minus_one_is_einval() {
        assert_eq!(root().setuid(u32::MAX), Err(Errno::EINVAL));
        assert_eq!(root().setgid(u32::MAX), Err(Errno::EINVAL));
    }

    #[test]
    fn keep_caps_keeps_permitted_but_not_effective() {
        let mut c = root();
        c.keep_caps = true;
        c.setuid(1000).unwrap();
        assert_eq!(c.permitted, CAP_FULL);
        assert_eq!(c.effective, 0);
    }

    #[test]
    fn seteuid_round_trip_restores_effective_from_permitted() {
        let mut c = root();
        c.setreuid(UNCHANGED, 1000).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (0, 1000, 1000));
        assert_eq!(c.effective, 0);
        assert_eq!(c.permitted, CAP_FULL);
        c.setreuid(UNCHANGED, 0).unwrap();
        assert_eq!(c.euid, 0);
        assert_eq!(c.effective, CAP_FULL);
    }

    #[test]
    fn setresuid_keeping_a_root_saved_id_allows_return() {
        let mut c = root();
        c.setresuid(1000, 1000, 0).unwrap();
        assert_eq!(c.effective, 0);
        assert_eq!(c.permitted, CAP_FULL);
        c.setresuid(0, 0, 0).unwrap();
        assert_eq!(c.effective, CAP_FULL);
    }

    #[test]
    fn unprivileged_setresuid_only_permutes_its_ids() {
        let mut c = user(5);
        c.setresuid(6, 6, 6).unwrap_err();
        let mut c = root();
        c.setresuid(5, 6, 7).unwrap();
        assert_eq!(c.effective, 0);
        c.setresuid(7, 5, 6).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (7, 5, 6));
        assert_eq!(c.setresuid(8, UNCHANGED, UNCHANGED), Err(Errno::EPERM));
    }

    #[test]
    fn unprivileged_setreuid_swaps_real_and_effective() {
        let mut c = root();
        c.setresuid(5, 6, 6).unwrap();
        c.setreuid(6, 5).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (6, 5, 5));
        assert_eq!(c.setreuid(7, UNCHANGED), Err(Errno::EPERM));
    }

    #[test]
    fn unprivileged_setgid_needs_real_or_saved() {
        let mut c = user(5);
        assert_eq!(c.setgid(6), Err(Errno::EPERM));
        c.setgid(5).unwrap();
        let mut c = root();
        c.setresgid(5, 6, 7).unwrap();
        c.setuid(1).unwrap();
        c.setgid(7).unwrap();
        assert_eq!((c.gid, c.egid, c.sgid, c.fsgid), (5, 7, 7, 7));
        assert_eq!(c.setregid(UNCHANGED, 9), Err(Errno::EPERM));
    }

    #[test]
    fn setgroups_needs_cap_setgid_and_sorts() {
        let mut c = root();
        c.setgroups(vec![30, 10, 20]).unwrap();
        assert_eq!(c.groups, [10, 20, 30]);
        assert_eq!(c.setgroups(vec![0; NGROUPS_MAX + 1]), Err(Errno::EINVAL));
        assert_eq!(user(5).setgroups(vec![]), Err(Errno::EPERM));
    }

    #[test]
    fn setfsuid_returns_the_old_value_and_moves_fs_caps() {
        let mut c = root();
        assert_eq!(c.setfsuid(1000), 0);
        assert_eq!(c.fsuid, 1000);
        assert!(!c.has_cap(CAP_DAC_OVERRIDE));
        assert!(c.has_cap(CAP_KILL));
        assert_eq!(c.setfsuid(0), 1000);
        assert!(c.has_cap(CAP_DAC_OVERRIDE));
        let mut u = user(5);
        assert_eq!(u.setfsuid(0), 5);
        assert_eq!(u.fsuid, 5);
    }

    #[test]
    fn capset_cannot_add_to_permitted() {
        let mut c = root();
        c.capset(0, bit(CAP_KILL), 0).unwrap();
        assert_eq!(c.effective, 0);
        assert_eq!(c.capset(bit(CAP_KILL), bit(CAP_KILL), 0), Ok(()));
        assert_eq!(
            c.capset(0, bit(CAP_KILL) | bit(CAP_CHOWN), 0),
            Err(Errno::EPERM)
        );
        assert_eq!(
            c.capset(bit(CAP_CHOWN), bit(CAP_KILL), 0),
            Err(Errno::EPERM)
        );
    }

    #[test]
    fn bounding_drop_needs_setpcap_and_limits_root_exec() {
        let mut c = root();
        c.drop_bounding(CAP_SYS_NICE as u64).unwrap();
        assert_eq!(c.drop_bounding(41), Err(Errno::EINVAL));
        let after = c.after_exec(0, 0, 0o755);
        assert_eq!(after.permitted, CAP_FULL & !bit(CAP_SYS_NICE));
        assert_eq!(after.effective, after.permitted);
        assert_eq!(user(5).drop_bounding(0), Err(Errno::EPERM));
    }

    #[test]
    fn exec_as_non_root_keeps_only_ambient() {
        let mut c = root();
        c.capset(CAP_FULL, CAP_FULL, bit(CAP_KILL)).unwrap();
        c.raise_ambient(CAP_KILL as u64).unwrap();
        c.keep_caps = true;
        c.setresuid(5, 5, 5).unwrap();
        assert_eq!(c.ambient, 0, "leaving root clears ambient");
        let mut c = user(5);
        c.permitted = bit(CAP_KILL);
        c.inheritable = bit(CAP_KILL);
        c.raise_ambient(CAP_KILL as u64).unwrap();
        let after = c.after_exec(5, 5, 0o755);
        assert_eq!(after.permitted, bit(CAP_KILL));
        assert_eq!(after.effective, bit(CAP_KILL));
        assert_eq!(user(5).after_exec(5, 5, 0o755).effective, 0);
    }

    #[test]
    fn setuid_root_file_makes_root_unless_no_new_privs() {
        let c = user(5);
        let after = c.after_exec(0, 0, 0o4755);
        assert_eq!((after.uid, after.euid, after.suid), (5, 0, 0));
        assert_eq!(after.effective, CAP_FULL);
        let mut n = user(5);
        n.no_new_privs = true;
        let after = n.after_exec(0, 0, 0o4755);
        assert_eq!((after.euid, after.effective), (5, 0));
        assert!(after.no_new_privs);
    }

    #[test]
    fn exec_never_grants_beyond_the_sandbox_bounding_set() {
        let limited = bit(CAP_CHOWN) | bit(CAP_KILL);
        let c = Creds::new(5, 5, limited);
        let after = c.after_exec(0, 0, 0o4755);
        assert_eq!(after.permitted, limited);
        let r = Creds::new(0, 0, limited);
        assert_eq!(r.effective, limited);
        assert_eq!(r.after_exec(0, 0, 0o755).permitted, limited);
    }

    #[test]
    fn exec_clears_keep_caps() {
        let mut c = root();
        c.keep_caps = true;
        assert!(!c.after_exec(0, 0, 0o755).keep_caps);
    }
}
