//! Whole-millisecond UTC instants.
//!
//! Every timestamp in a session record is made by a [`Clock`](crate::Clock) and truncated to whole
//! milliseconds at that moment, so that every backend (a sled byte string, a PostgreSQL `timestamptz`
//! with microsecond precision, JSON with three fractional digits) round-trips it exactly. Comparing two
//! timestamps is comparing two integers: expiry is decided to the millisecond.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant in UTC, as whole milliseconds since 1970-01-01T00:00:00.000Z.
///
/// The representable range is the years 0000 through 9999, which is what RFC 3339 can write; the
/// constructors refuse anything outside it, so formatting never fails.
///
/// # Examples
///
/// ```
/// use portal_sessions::Timestamp;
///
/// let t = Timestamp::from_millis(1_778_693_400_000).unwrap();
/// assert_eq!(t.to_string(), "2026-05-13T17:30:00.000Z");
/// assert_eq!(Timestamp::parse_rfc3339("2026-05-13T17:30:00.000Z"), Some(t));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// -62_167_219_200_000 ms is 0000-01-01T00:00:00.000Z.
const MIN_MILLIS: i64 = -62_167_219_200_000;
/// 253_402_300_799_999 ms is 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00.000Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);
    /// The last representable instant, 9999-12-31T23:59:59.999Z: where a clock that cannot tell
    /// the time stops (every session has expired by then).
    pub const MAX: Timestamp = Timestamp(MAX_MILLIS);

    /// A timestamp from milliseconds since the Unix epoch, or `None` outside the years 0000..=9999.
    pub fn from_millis(millis: i64) -> Option<Timestamp> {
        (MIN_MILLIS..=MAX_MILLIS)
            .contains(&millis)
            .then_some(Timestamp(millis))
    }

    /// Milliseconds since the Unix epoch (negative before it).
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// The timestamp of a [`SystemTime`], truncated to whole milliseconds (towards the past).
    ///
    /// Returns `None` outside the years 0000..=9999.
    pub fn from_system_time(time: SystemTime) -> Option<Timestamp> {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_millis()).ok()?,
            Err(before) => {
                let before = before.duration();
                // Truncate towards the past: 1.5 ms before the epoch is -2 ms.
                let whole = i64::try_from(before.as_millis()).ok()?;
                let partial = before.as_nanos() % 1_000_000 != 0;
                -whole - i64::from(partial)
            }
        };
        Timestamp::from_millis(millis)
    }

    /// This timestamp as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_millis(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }

    /// This timestamp plus `duration` (truncated to whole milliseconds), or `None` past year 9999.
    pub fn checked_add(self, duration: Duration) -> Option<Timestamp> {
        let millis = i64::try_from(duration.as_millis()).ok()?;
        Timestamp::from_millis(self.0.checked_add(millis)?)
    }

    /// This timestamp minus `duration` (truncated to whole milliseconds), or `None` before year 0000.
    pub fn checked_sub(self, duration: Duration) -> Option<Timestamp> {
        let millis = i64::try_from(duration.as_millis()).ok()?;
        Timestamp::from_millis(self.0.checked_sub(millis)?)
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is not earlier.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    /// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of any length, and
    /// `Z` or a `+HH:MM` / `-HH:MM` offset (`T`/`t` and `Z`/`z` in either case, as RFC 3339 allows).
    ///
    /// The result is the instant in UTC, truncated to whole milliseconds towards the past, so
    /// `…:00.9999Z` is `…:00.999Z`. Leap seconds (`:60`) and dates outside the years 0000..=9999 (after
    /// the offset is applied) are refused. What [`Display`](fmt::Display) writes is always the one
    /// strict form, `YYYY-MM-DDTHH:MM:SS.mmmZ`: lenient in, strict out.
    ///
    /// # Examples
    ///
    /// ```
    /// use portal_sessions::Timestamp;
    ///
    /// let noon = Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap();
    /// assert_eq!(noon.to_string(), "2026-11-25T12:00:00.000Z");
    /// assert_eq!(Timestamp::parse_rfc3339("2026-11-25T13:00:00.0004+01:00"), Some(noon));
    /// assert_eq!(Timestamp::parse_rfc3339("2026-11-25 12:00:00Z"), None);
    /// ```
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            b.get(range)?.iter().try_fold(0i64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        // The fraction: at least one digit after a '.', any number of them; milliseconds are the
        // first three (padded with zeros), the rest is truncated.
        let mut at = 19;
        let mut milli = 0;
        if b[at] == b'.' {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                if at - start < 3 {
                    milli = milli * 10 + i64::from(b[at] - b'0');
                }
                at += 1;
            }
            let read = at - start;
            if read == 0 {
                return None;
            }
            for _ in read..3 {
                milli *= 10;
            }
        }
        let offset_minutes = match &b[at..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let (hours, minutes) = (digits(at + 1..at + 3)?, digits(at + 4..at + 6)?);
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let magnitude = hours * 60 + minutes;
                if *sign == b'+' { magnitude } else { -magnitude }
            }
            _ => return None,
        };
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
        Timestamp::from_millis(seconds * 1_000 + milli)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = InvalidTimestamp;

    /// [`Timestamp::parse_rfc3339`], as a `FromStr`.
    fn from_str(text: &str) -> Result<Timestamp, InvalidTimestamp> {
        Timestamp::parse_rfc3339(text).ok_or(InvalidTimestamp)
    }
}

/// The text is not an RFC 3339 date-time in the years 0000..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 date-time (like 2026-05-13T17:30:00.000Z) in the years 0000 to 9999")]
pub struct InvalidTimestamp;

impl Timestamp {
    /// The length of an instant's RFC 3339 text: `2026-05-13T17:30:00.000Z`.
    pub const RFC3339_LEN: usize = 24;

    /// Writes the instant's RFC 3339 text, what `Display` writes, into `buf` and returns it: for
    /// a writer that wants the text without an allocation or `core::fmt` (the API's create
    /// answer).
    ///
    /// # Examples
    ///
    /// ```
    /// use portal_sessions::Timestamp;
    ///
    /// let at = Timestamp::from_millis(1_778_693_400_000).unwrap();
    /// let mut buf = [0; Timestamp::RFC3339_LEN];
    /// assert_eq!(at.encode_rfc3339(&mut buf), "2026-05-13T17:30:00.000Z");
    /// ```
    pub fn encode_rfc3339(self, buf: &mut [u8; Timestamp::RFC3339_LEN]) -> &str {
        *buf = self.rfc3339();
        // Only ASCII digits and separators were written.
        std::str::from_utf8(buf).unwrap_or_default()
    }

    /// The RFC 3339 text of [`Display`](fmt::Display), in a fixed buffer: 24 ASCII bytes, since
    /// every timestamp's year is 0000 to 9999. Written digit by digit rather than through
    /// `core::fmt`, which cost more than the rest of an API answer's formatting together
    /// (callgrind of `hot_paths http-create`).
    fn rfc3339(self) -> [u8; Timestamp::RFC3339_LEN] {
        let millis = self.0.rem_euclid(1_000);
        let seconds = self.0.div_euclid(1_000);
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // Every field is non-negative (a timestamp's year is 0000 to 9999): written as `u32`,
        // whose division by ten is a multiplication and a shift, with no sign to correct.
        let field = |value: i64| u32::try_from(value).unwrap_or(0);
        let of_day = field(of_day);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, value: u32, digits: usize| {
            let mut value = value;
            for place in out[at..at + digits].iter_mut().rev() {
                // `value % 10` is a digit, so this is one ASCII byte.
                *place = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, field(year), 4);
        put(5, field(month), 2);
        put(8, field(day), 2);
        put(11, of_day / 3_600, 2);
        put(14, of_day % 3_600 / 60, 2);
        put(17, of_day % 60, 2);
        put(20, field(millis), 3);
        out
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with exactly three fractional digits: `2026-05-13T17:30:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode_rfc3339(&mut [0; Timestamp::RFC3339_LEN]))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis).unwrap_or_else(|| panic!("{millis} out of range"))
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(ts(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            ts(1_778_693_400_000).to_string(),
            "2026-05-13T17:30:00.000Z"
        );
        assert_eq!(ts(951_782_400_123).to_string(), "2000-02-29T00:00:00.123Z");
        assert_eq!(ts(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(ts(MIN_MILLIS).to_string(), "0000-01-01T00:00:00.000Z");
        assert_eq!(ts(MAX_MILLIS).to_string(), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn range_is_enforced() {
        assert_eq!(Timestamp::from_millis(MIN_MILLIS - 1), None);
        assert_eq!(Timestamp::from_millis(MAX_MILLIS + 1), None);
        assert_eq!(ts(MAX_MILLIS).checked_add(Duration::from_millis(1)), None);
        assert_eq!(ts(MIN_MILLIS).checked_sub(Duration::from_millis(1)), None);
    }

    #[test]
    fn parse_round_trips_over_the_whole_range() {
        // A stride that is prime, so it visits every millisecond residue, leap days and centuries.
        let mut millis = MIN_MILLIS;
        while millis <= MAX_MILLIS {
            let t = ts(millis);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t), "{t}");
            millis += 86_400_000 * 37 + 3_600_007;
        }
    }

    #[test]
    fn parse_refuses_near_misses() {
        for bad in [
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-04-31T00:00:00.000Z",
            "2026-05-13T24:00:00.000Z",
            "2026-05-13T17:60:00.000Z",
            "2026-05-13T17:30:60Z",
            "2026-05-13 17:30:00.000Z",
            "2026-05-13T17:30:00.00aZ",
            "2026-05-13T17:30:00.Z",
            "2026-05-13T17:30:00",
            "2026-05-13T17:30:00.000",
            "2026-05-13T17:30:00+0100",
            "2026-05-13T17:30:00+24:00",
            "2026-05-13T17:30:00+01:60",
            "2026-05-13T17:30:00Zjunk",
            "+026-05-13T17:30:00.000Z",
            "0000-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
            "",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
        assert!(Timestamp::parse_rfc3339("2024-02-29T00:00:00.000Z").is_some());
    }

    #[test]
    fn parse_takes_any_fraction_and_any_offset() {
        let t = ts(1_778_693_400_000);
        for same in [
            "2026-05-13T17:30:00Z",
            "2026-05-13t17:30:00z",
            "2026-05-13T17:30:00.0Z",
            "2026-05-13T17:30:00.000000000Z",
            "2026-05-13T17:30:00.0009Z",
            "2026-05-13T19:30:00+02:00",
            "2026-05-13T12:00:00-05:30",
            "2026-05-14T03:29:00.000+09:59",
            "2026-05-13T17:30:00+00:00",
            "2026-05-13T17:30:00-00:00",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(same), Some(t), "{same}");
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2026-05-13T17:30:00.1Z"),
            Some(ts(1_778_693_400_100))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-05-13T17:30:00.12Z"),
            Some(ts(1_778_693_400_120))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59.9999Z"),
            Some(ts(-1)),
            "truncated towards the past"
        );
        assert_eq!("2026-05-13T17:30:00Z".parse::<Timestamp>(), Ok(t));
        assert_eq!("nope".parse::<Timestamp>(), Err(InvalidTimestamp));
    }

    #[test]
    fn system_time_truncates_towards_the_past() {
        let after = UNIX_EPOCH + Duration::from_micros(1_500);
        assert_eq!(Timestamp::from_system_time(after), Some(ts(1)));
        let before = UNIX_EPOCH - Duration::from_micros(1_500);
        assert_eq!(Timestamp::from_system_time(before), Some(ts(-2)));
        assert_eq!(
            ts(-2).to_system_time(),
            UNIX_EPOCH - Duration::from_millis(2)
        );
        assert_eq!(
            ts(1).to_system_time(),
            UNIX_EPOCH + Duration::from_millis(1)
        );
    }
}
