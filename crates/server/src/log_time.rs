//! The time at the head of each log line, formatted as `tracing_subscriber`'s `SystemTime` does
//! (RFC 3339 in UTC with microseconds: `2026-12-03T16:37:42.123456Z`), but with the date and the
//! time to the second formatted once a second rather than once a line: under load, many lines
//! share a second, and formatting the whole timestamp was a fair part of each line's cost
//! (`hot_paths layers-empty` under callgrind).

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// The [`FormatTime`] of the server's log lines: see the module's documentation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LineTime;

/// The last second a thread formatted: its Unix time and its text, `YYYY-MM-DDTHH:MM:SS`.
struct Second {
    unix: u64,
    text: String,
}

thread_local! {
    /// Each thread's own last second: no lock between the threads that log.
    static LAST_SECOND: RefCell<Option<Second>> = const { RefCell::new(None) };
}

/// The last year whose timestamps this formats itself; later ones (and times before 1970) are
/// left to `tracing_subscriber`, whose format differs there.
const LAST_YEAR: u64 = 9999;

impl FormatTime for LineTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) else {
            return tracing_subscriber::fmt::time::SystemTime.format_time(w);
        };
        let unix = since_epoch.as_secs();
        let written = LAST_SECOND.with(|last| {
            let mut last = last.try_borrow_mut().ok()?;
            if last.as_ref().is_none_or(|second| second.unix != unix) {
                *last = Some(Second {
                    unix,
                    text: date_and_time(unix)?,
                });
            }
            let second = last.as_ref()?;
            Some(w.write_str(&second.text))
        });
        match written {
            Some(Ok(())) => write_fraction(w, since_epoch.subsec_micros()),
            Some(Err(error)) => Err(error),
            None => tracing_subscriber::fmt::time::SystemTime.format_time(w),
        }
    }
}

/// `.ffffffZ`: the microseconds, six digits.
fn write_fraction(w: &mut Writer<'_>, micros: u32) -> fmt::Result {
    let mut text = *b".000000Z";
    let mut left = micros;
    for digit in text[1..7].iter_mut().rev() {
        // `left % 10` is a single digit.
        *digit = b'0' + u8::try_from(left % 10).unwrap_or(0);
        left /= 10;
    }
    // Only ASCII digits and punctuation were written.
    w.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time, in UTC; `None` past [`LAST_YEAR`].
fn date_and_time(unix: u64) -> Option<String> {
    let days = unix / 86_400;
    let of_day = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    if year > LAST_YEAR {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    ))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shifted to 0000-03-01, so that the leap day ends each 400-year era's year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_those_of_rfc_3339_in_utc() {
        assert_eq!(date_and_time(0).as_deref(), Some("1970-01-01T00:00:00"));
        assert_eq!(
            date_and_time(951_782_400).as_deref(),
            Some("2000-02-29T00:00:00")
        );
        assert_eq!(
            date_and_time(951_868_799).as_deref(),
            Some("2000-02-29T23:59:59")
        );
        assert_eq!(
            date_and_time(1_800_000_000).as_deref(),
            Some("2027-01-15T08:00:00")
        );
        assert_eq!(
            date_and_time(4_107_542_399).as_deref(),
            Some("2100-02-28T23:59:59")
        );
        assert_eq!(date_and_time(253_402_300_800), None, "year 10000");
    }

    #[test]
    fn a_line_time_reads_as_tracing_subscribers_does() {
        // Thrice, until both fall in the same second; the later rounds read the cached second.
        let matched = (0..3).any(|_| {
            let mut ours = String::new();
            let mut theirs = String::new();
            let formatted = LineTime
                .format_time(&mut Writer::new(&mut ours))
                .and_then(|()| {
                    tracing_subscriber::fmt::time::SystemTime
                        .format_time(&mut Writer::new(&mut theirs))
                });
            assert!(formatted.is_ok());
            assert_eq!(ours.len(), theirs.len(), "{ours} {theirs}");
            assert!(ours.ends_with('Z') && ours.as_bytes()[19] == b'.', "{ours}");
            ours[..20] == theirs[..20]
        });
        assert!(matched, "the same date and time to the second");
    }
}
