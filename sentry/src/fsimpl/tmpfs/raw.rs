//! The unsafe edge of tmpfs: the host's memory size, which sets how much a
//! tmpfs may hold (half of it by default, as Linux's tmpfs). Reads nothing
//! of app memory.

/// The host's total RAM in bytes (sysinfo(2)); None if it fails.
pub(super) fn host_total_ram() -> Option<u64> {
    // SAFETY: an all-zero struct sysinfo is a valid value of plain integers.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a valid, writable struct sysinfo.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return None;
    }
    si.totalram.checked_mul(u64::from(si.mem_unit.max(1)))
}
