//! The clock page's contents and their upkeep: the TSC-to-nanoseconds line
//! the vDSO evaluates, calibrated against the host's CLOCK_MONOTONIC and
//! steered back onto it every refresh, so the vDSO's clock never goes
//! backwards and stays within a few hundred nanoseconds of what a trapped
//! clock_gettime (the host clock) returns.
//!
//! The line is `mono = mono_base + ((tsc - tsc_base) * mult) >> shift`. A
//! refresh starts the new line where the old one is at that moment (so the
//! clock is continuous) and gives it the host's rate over the last period
//! plus whatever corrects the error seen, spread over the next period. Only
//! a clock that fell far behind steps (forward); one ahead slews back.
//!
//! `steer` and `Params` are pure and unit-tested; the host reads (TSC,
//! clock_gettime, /proc/cpuinfo) are the few functions below them.

use super::page;

/// Fixed-point shift of `mult` (ns per tick × 2^SHIFT).
pub const SHIFT: u32 = 32;
/// How far behind the host the line may fall before it steps forward
/// instead of slewing.
const STEP_NS: i64 = 1_000_000;
/// The largest correction of one period, as a fraction of the rate (1/8):
/// the clock never runs backwards however large the error.
const MAX_SLEW_SHIFT: u32 = 3;
/// An offset between clocks that moved less than this is sampling noise,
/// not a clock being set.
const OFFSET_JITTER_NS: i64 = 2_000;

/// Clock ids whose offsets from CLOCK_MONOTONIC the page carries.
pub const REALTIME: usize = libc::CLOCK_REALTIME as usize;
pub const MONOTONIC: usize = libc::CLOCK_MONOTONIC as usize;
pub const BOOTTIME: usize = libc::CLOCK_BOOTTIME as usize;
pub const TAI: usize = libc::CLOCK_TAI as usize;
/// Entries in the page's offset table (clock ids 0..=11).
pub const NOFFSETS: usize = 12;

/// What the page says, in the sentry's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// The TSC fast path is on.
    pub enabled: bool,
    /// getcpu may read the CPU from TSC_AUX.
    pub getcpu: bool,
    pub tsc_base: u64,
    pub mult: u64,
    pub shift: u32,
    /// CLOCK_MONOTONIC in ns at `tsc_base`.
    pub mono_base: u64,
    /// clock_getres of the fast clocks, in ns.
    pub res: u64,
    /// Each clock minus CLOCK_MONOTONIC, by clock id (two's complement).
    pub offsets: [u64; NOFFSETS],
}

impl Params {
    /// A page that sends every call to the syscall.
    pub fn off(res: u64) -> Params {
        Params {
            enabled: false,
            getcpu: false,
            tsc_base: 0,
            mult: 0,
            shift: SHIFT,
            mono_base: 0,
            res,
            offsets: [0; NOFFSETS],
        }
    }

    /// CLOCK_MONOTONIC at `tsc`, exactly as the vDSO computes it.
    pub fn eval(&self, tsc: u64) -> u64 {
        let ticks = tsc.saturating_sub(self.tsc_base) as u128;
        self.mono_base
            .wrapping_add(((ticks * self.mult as u128) >> self.shift) as u64)
    }

    /// The words of the page from SEQ on, at their offsets (SEQ itself is
    /// the writer's).
    pub fn words(&self) -> Vec<(u64, u64)> {
        let mut w = vec![
            (page::MODE, self.enabled as u64),
            (page::GETCPU, self.getcpu as u64),
            (page::TSC_BASE, self.tsc_base),
            (page::MULT, self.mult),
            (page::SHIFT, self.shift as u64),
            (page::MONO_BASE, self.mono_base),
            (page::RES, self.res),
        ];
        for (i, &o) in self.offsets.iter().enumerate() {
            w.push((page::OFFSETS + 8 * i as u64, o));
        }
        w
    }
}

/// One simultaneous reading of the TSC and the host's CLOCK_MONOTONIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub tsc: u64,
    pub mono: u64,
}

/// `mult` for a host that advanced `ns` nanoseconds in `ticks` TSC ticks.
pub fn rate(ns: u64, ticks: u64) -> Option<u64> {
    if ticks == 0 {
        return None;
    }
    let m = ((ns as u128) << SHIFT) / ticks as u128;
    u64::try_from(m).ok().filter(|&m| m > 0)
}

/// The first line: through `now` at the host's rate between `first` and
/// `now`.
pub fn calibrate(first: Sample, now: Sample, res: u64) -> Option<Params> {
    let mult = rate(
        now.mono.checked_sub(first.mono)?,
        now.tsc.checked_sub(first.tsc)?,
    )?;
    Some(Params {
        enabled: true,
        tsc_base: now.tsc,
        mult,
        mono_base: now.mono,
        ..Params::off(res)
    })
}

/// The next line after `cur`, given the sample `now`, the previous sample
/// `prev` (the last refresh) and the ticks until the next refresh. The new
/// line starts where `cur` is at `now.tsc` (never below it), runs at the
/// host's latest rate, and is tilted to cancel the error against the host
/// by the next refresh.
pub fn steer(cur: &Params, prev: Sample, now: Sample, period: u64) -> Params {
    let ours = cur.eval(now.tsc);
    let host_rate = match (
        now.mono.checked_sub(prev.mono),
        now.tsc.checked_sub(prev.tsc),
    ) {
        (Some(ns), Some(ticks)) => rate(ns, ticks).unwrap_or(cur.mult),
        _ => cur.mult,
    };
    let err = ours as i64 - now.mono as i64;
    if err < -STEP_NS {
        // Far behind (the TSC ran slow for a while): jump to the host.
        return Params {
            tsc_base: now.tsc,
            mono_base: now.mono,
            mult: host_rate,
            ..*cur
        };
    }
    // Cancel `err` over `period` ticks: mult -= err * 2^shift / period,
    // bounded so the clock keeps moving forward at a sane rate.
    let period = period.max(1) as i128;
    let adj = ((err as i128) << SHIFT) / period;
    let bound = (host_rate >> MAX_SLEW_SHIFT) as i128;
    let mult = (host_rate as i128 - adj.clamp(-bound, bound)).max(1) as u64;
    Params {
        tsc_base: now.tsc,
        mono_base: ours,
        mult,
        ..*cur
    }
}

/// `cur` unless `new` differs by more than sampling noise.
pub fn settle_offset(cur: u64, new: u64) -> u64 {
    if (new.wrapping_sub(cur) as i64).abs() <= OFFSET_JITTER_NS {
        cur
    } else {
        new
    }
}

// ---------------------------------------------------------------------------
// The host: TSC, clocks and CPU flags.

/// What the host CPU offers for the fast path.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostTsc {
    /// constant_tsc and nonstop_tsc: the TSC ticks at one rate in every
    /// power state, so a line fitted to it holds.
    pub invariant: bool,
    pub rdtscp: bool,
}

/// The flags line of /proc/cpuinfo, read before the sentry is confined.
pub fn host_tsc_from_cpuinfo(cpuinfo: &str) -> HostTsc {
    let Some(flags) = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, f)| f.split_whitespace().collect::<Vec<_>>())
    else {
        return HostTsc::default();
    };
    let has = |f: &str| flags.contains(&f);
    HostTsc {
        invariant: has("tsc") && has("constant_tsc") && has("nonstop_tsc"),
        rdtscp: has("rdtscp"),
    }
}

/// An ordered TSC read (after every earlier instruction), and TSC_AUX
/// when RDTSCP exists.
pub fn read_tsc(rdtscp: bool) -> (u64, Option<u32>) {
    use std::arch::x86_64::{__rdtscp, _mm_lfence, _rdtsc};
    if rdtscp {
        let mut aux = 0u32;
        // SAFETY: the caller checked the CPU has RDTSCP; it only reads the
        // TSC and TSC_AUX into `aux`, a valid u32.
        let t = unsafe { __rdtscp(&mut aux) };
        (t, Some(aux))
    } else {
        // SAFETY: LFENCE (SSE2) and RDTSC are baseline on x86-64 and only
        // read the time-stamp counter.
        let t = unsafe {
            _mm_lfence();
            _rdtsc()
        };
        (t, None)
    }
}

/// The host clock `id` in nanoseconds.
pub fn host_ns(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The host's resolution of CLOCK_MONOTONIC in nanoseconds.
pub fn host_res() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64).max(1)
}

/// The tightest of a few (TSC, CLOCK_MONOTONIC, TSC) readings: the TSC at
/// the middle of the narrowest window.
pub fn sample(rdtscp: bool) -> Sample {
    let mut best: Option<(u64, Sample)> = None;
    for _ in 0..5 {
        let (t1, _) = read_tsc(rdtscp);
        let mono = host_ns(libc::CLOCK_MONOTONIC);
        let (t2, _) = read_tsc(rdtscp);
        let width = t2.wrapping_sub(t1);
        if t2 < t1 {
            continue;
        }
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((
                width,
                Sample {
                    tsc: t1 + width / 2,
                    mono,
                },
            ));
        }
    }
    best.map_or(
        Sample {
            tsc: read_tsc(rdtscp).0,
            mono: host_ns(libc::CLOCK_MONOTONIC),
        },
        |(_, s)| s,
    )
}

/// Host clock `id` minus CLOCK_MONOTONIC, from the tightest of a few
/// bracketing readings.
pub fn host_offset(id: libc::clockid_t) -> u64 {
    let mut best: Option<(u64, u64)> = None;
    for _ in 0..3 {
        let m1 = host_ns(libc::CLOCK_MONOTONIC);
        let c = host_ns(id);
        let m2 = host_ns(libc::CLOCK_MONOTONIC);
        let width = m2.saturating_sub(m1);
        let off = c.wrapping_sub(m1 + width / 2);
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, off));
        }
    }
    best.map_or(0, |(_, o)| o)
}

/// Whether TSC_AUX holds the CPU number (as Linux keeps it), checked
/// against sched_getcpu a few times.
pub fn tsc_aux_is_cpu() -> bool {
    let mut agreed = 0;
    for _ in 0..8 {
        // SAFETY: sched_getcpu takes no arguments.
        let before = unsafe { libc::sched_getcpu() };
        let (_, aux) = read_tsc(true);
        // SAFETY: as above.
        let after = unsafe { libc::sched_getcpu() };
        if before < 0 || before != after {
            continue; // moved (or unknown): no verdict
        }
        match aux {
            Some(a) if (a & 0xfff) as i32 == before => agreed += 1,
            _ => return false,
        }
    }
    agreed > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host whose clock runs at exactly `ns_per_tick` from (0, 0).
    fn at(tsc: u64, ns_per_tick: f64) -> Sample {
        Sample {
            tsc,
            mono: (tsc as f64 * ns_per_tick) as u64,
        }
    }

    fn line(tsc_base: u64, mono_base: u64, mult: u64) -> Params {
        Params {
            enabled: true,
            tsc_base,
            mult,
            mono_base,
            ..Params::off(1)
        }
    }

    #[test]
    fn eval_scales_ticks_by_mult_and_shift() {
        let p = line(1000, 5_000, 3 << (SHIFT - 1)); // 1.5 ns per tick
        assert_eq!(p.eval(1000), 5_000);
        assert_eq!(p.eval(3000), 8_000);
        // A TSC below the base reads as the base, never as a wrap.
        assert_eq!(p.eval(10), 5_000);
    }

    #[test]
    fn eval_does_not_overflow_over_hours_of_ticks() {
        let p = line(0, 0, 1 << SHIFT); // 1 ns per tick
        let ticks = 10 * 3600 * 1_000_000_000u64;
        assert_eq!(p.eval(ticks), ticks);
    }

    #[test]
    fn calibration_recovers_the_host_rate() {
        let p = calibrate(at(1_000, 0.4), at(10_001_000, 0.4), 1).unwrap();
        assert!(p.enabled);
        let want = (0.4 * (1u64 << SHIFT) as f64) as u64;
        assert!(p.mult.abs_diff(want) <= 1, "{} vs {}", p.mult, want);
        assert_eq!(p.eval(10_001_000), at(10_001_000, 0.4).mono);
    }

    #[test]
    fn calibration_without_progress_is_refused() {
        assert!(calibrate(at(5, 1.0), at(5, 1.0), 1).is_none());
        assert!(calibrate(at(10, 1.0), at(5, 1.0), 1).is_none());
    }

    #[test]
    fn steering_is_continuous_and_lands_on_the_host() {
        // Our line runs 100 ppm fast against a host at 0.5 ns per tick.
        let host = 0.5;
        let mult = (0.5 * 1.0001 * (1u64 << SHIFT) as f64) as u64;
        let cur = line(0, 0, mult);
        let period = 100_000_000; // 50 ms of ticks
        let prev = at(0, host);
        let now = at(period, host);
        let next = steer(&cur, prev, now, period);
        // Continuous where it takes over, and ahead of the host there.
        assert_eq!(next.eval(now.tsc), cur.eval(now.tsc));
        assert!(next.eval(now.tsc) > now.mono);
        // By the next refresh it is back on the host (to a nanosecond).
        let later = at(2 * period, host);
        assert!(next.eval(later.tsc).abs_diff(later.mono) <= 1);
    }

    #[test]
    fn steering_never_runs_the_clock_backwards() {
        // Far ahead of the host (10 ms): the slew is bounded, mult stays
        // positive and the clock keeps moving forward.
        let cur = line(0, 10_000_000, 1 << SHIFT);
        let next = steer(&cur, at(0, 1.0), at(1_000, 1.0), 1_000);
        assert!(next.mult > 0);
        assert!(next.eval(1_000) >= cur.eval(1_000));
        assert!(next.eval(2_000) > next.eval(1_000));
        let slowest = (1u64 << SHIFT) - ((1u64 << SHIFT) >> MAX_SLEW_SHIFT);
        assert_eq!(next.mult, slowest);
    }

    #[test]
    fn a_line_far_behind_steps_forward_to_the_host() {
        let cur = line(0, 0, 1 << SHIFT);
        let now = Sample {
            tsc: 1_000,
            mono: 1_000 + 5 * STEP_NS as u64,
        };
        let next = steer(&cur, Sample { tsc: 0, mono: 0 }, now, 1_000);
        assert_eq!(next.eval(now.tsc), now.mono);
    }

    #[test]
    fn offsets_ignore_noise_and_follow_real_changes() {
        assert_eq!(settle_offset(1_000_000, 1_000_500), 1_000_000);
        assert_eq!(settle_offset(1_000_000, 999_000), 1_000_000);
        assert_eq!(settle_offset(1_000_000, 5_000_000), 5_000_000);
        // Negative offsets (two's complement) compare the same way.
        let neg = (-5_000i64) as u64;
        assert_eq!(settle_offset(neg, (-5_100i64) as u64), neg);
    }

    #[test]
    fn cpuinfo_flags_decide_the_fast_path() {
        let good = "processor\t: 0\nflags\t\t: fpu tsc rdtscp constant_tsc nonstop_tsc\n";
        let h = host_tsc_from_cpuinfo(good);
        assert!(h.invariant && h.rdtscp);
        let drifting = "flags\t\t: fpu tsc rdtscp constant_tsc\n";
        assert!(!host_tsc_from_cpuinfo(drifting).invariant);
        assert!(!host_tsc_from_cpuinfo("").invariant);
    }
}
