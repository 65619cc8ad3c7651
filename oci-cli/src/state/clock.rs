//! Timestamps as the state JSON writes them: RFC 3339, UTC, nanoseconds
//! (`2026-11-23T17:46:06.297314136Z`, as runc's `created`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as RFC 3339 UTC with nanoseconds.
pub fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since.as_secs(), since.subsec_nanos())
}

/// `secs` seconds and `nanos` nanoseconds after the Unix epoch, as RFC 3339 UTC.
pub fn rfc3339(secs: u64, nanos: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01, counting in
/// 400-year eras of 146 097 days that start on March 1st (so the leap day
/// ends each year of the era's calendar).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn a_leap_day() {
        // 2024-02-29T12:34:56Z
        assert_eq!(rfc3339(1_709_210_096, 7), "2024-02-29T12:34:56.000000007Z");
    }

    #[test]
    fn the_turn_of_a_century_leap_year() {
        // 2000-12-31T23:59:59Z, and the second after.
        assert_eq!(rfc3339(978_307_199, 0), "2000-12-31T23:59:59.000000000Z");
        assert_eq!(rfc3339(978_307_200, 0), "2001-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn now_has_the_shape_runc_writes() {
        let now = now_rfc3339();
        assert_eq!(now.len(), "2026-11-23T17:46:06.297314136Z".len(), "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }
}
