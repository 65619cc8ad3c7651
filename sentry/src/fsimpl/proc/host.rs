//! Facts about the host that /proc passes on: the CPU description, read
//! from the host's /proc/cpuinfo once, at sentry start, before the sentry
//! is confined (after that it cannot open host paths at all). It describes
//! the machine, not other sandboxes, so showing it leaks nothing.

use std::sync::OnceLock;

static CPUINFO: OnceLock<Vec<u8>> = OnceLock::new();

/// Reads what /proc needs from the host. Call before confinement; later
/// calls do nothing.
pub fn capture() {
    CPUINFO.get_or_init(|| std::fs::read("/proc/cpuinfo").unwrap_or_default()); // before confinement
}

/// /proc/cpuinfo: the host's, or a minimal one for `ncpus` processors
/// when it could not be read.
pub(super) fn cpuinfo(ncpus: usize) -> Vec<u8> {
    match CPUINFO.get() {
        Some(c) if !c.is_empty() => c.clone(),
        _ => minimal_cpuinfo(ncpus),
    }
}

fn minimal_cpuinfo(ncpus: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..ncpus.max(1) {
        s.push_str(&format!(
            "processor\t: {i}\nvendor_id\t: unknown\nmodel name\t: unknown\n\
             physical id\t: 0\nsiblings\t: {ncpus}\ncore id\t\t: {i}\ncpu cores\t: {ncpus}\n\
             flags\t\t: fpu\n\n"
        ));
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_lists_every_processor() {
        let text = String::from_utf8(minimal_cpuinfo(3)).unwrap();
        assert_eq!(text.matches("processor\t: ").count(), 3);
        assert!(text.contains("processor\t: 2\n"));
    }
}
