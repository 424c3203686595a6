//! Where the [`Engine`](crate::Engine) gets `now`.
//!
//! The state machine never reads a clock: the engine reads one [`Clock`] once per operation and
//! passes the instant in. Tests use a [`ManualClock`] to decide expiry to the millisecond.
//!
//! One clock per store decides: a store that several processes share can name its own
//! ([`SessionStore::clock`](crate::SessionStore::clock): PostgreSQL's is the database's), and the
//! engine then reads that one, so instances whose clocks disagree still agree on what has expired.
//! Otherwise the engine reads the [`SystemClock`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use crate::timestamp::Timestamp;

/// A source of the current time, in whole milliseconds.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock, truncated to whole milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        closed_when_out_of_range(SystemTime::now())
    }
}

/// `time` as a timestamp, or the last representable instant when it is outside 0000..=9999.
///
/// A clock that cannot say what time it is fails closed: at the end of time every session has
/// expired and none can be minted (its expiry would be past year 9999), rather than none ever
/// expiring, which is what the epoch would mean.
fn closed_when_out_of_range(time: SystemTime) -> Timestamp {
    Timestamp::from_system_time(time).unwrap_or(Timestamp::MAX)
}

/// Another clock moved by a fixed offset: `inner.now() + offset` (or minus, for a negative
/// offset), failing closed past the representable range.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions::{Clock, ManualClock, OffsetClock, Timestamp};
///
/// let base = ManualClock::new(Timestamp::UNIX_EPOCH);
/// let ahead = OffsetClock::new(base, 600_000);
/// assert_eq!(ahead.now().as_millis(), 600_000);
/// ```
#[derive(Debug, Clone)]
pub struct OffsetClock<C> {
    inner: C,
    offset_millis: i64,
}

impl<C: Clock> OffsetClock<C> {
    /// `inner`, moved by `offset_millis`.
    pub fn new(inner: C, offset_millis: i64) -> OffsetClock<C> {
        OffsetClock {
            inner,
            offset_millis,
        }
    }
}

impl<C: Clock> Clock for OffsetClock<C> {
    fn now(&self) -> Timestamp {
        self.inner
            .now()
            .as_millis()
            .checked_add(self.offset_millis)
            .and_then(Timestamp::from_millis)
            .unwrap_or(Timestamp::MAX)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// A clock that moves only when told to. Clones share the same time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
/// let shared = clock.clone();
/// clock.advance(Duration::from_millis(1_500));
/// assert_eq!(shared.now().as_millis(), 1_500);
/// ```
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(start.as_millis())))
    }

    /// Sets the time.
    pub fn set(&self, to: Timestamp) {
        self.0.store(to.as_millis(), Ordering::SeqCst);
    }

    /// Moves the time forward by `by` (whole milliseconds), saturating at the end of year 9999.
    pub fn advance(&self, by: Duration) {
        let next = self.now().checked_add(by).unwrap_or(Timestamp::MAX);
        self.set(next);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        // Only `new` and `set` store, and both store a valid timestamp.
        Timestamp::from_millis(self.0.load(Ordering::SeqCst)).unwrap_or(Timestamp::MAX)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManualClock({})", self.now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn a_clock_out_of_range_fails_closed() {
        let far_future = UNIX_EPOCH + Duration::from_secs(400_000 * 365 * 86_400);
        let far_past = UNIX_EPOCH - Duration::from_secs(100_000 * 365 * 86_400);
        assert_eq!(closed_when_out_of_range(far_future), Timestamp::MAX);
        assert_eq!(closed_when_out_of_range(far_past), Timestamp::MAX);
        let now = SystemTime::now();
        assert_eq!(
            closed_when_out_of_range(now),
            Timestamp::from_system_time(now).unwrap_or(Timestamp::UNIX_EPOCH)
        );
        let base = ManualClock::new(Timestamp::MAX);
        assert_eq!(OffsetClock::new(base, 1).now(), Timestamp::MAX);
    }
}
