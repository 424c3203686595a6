//! Where the [`Engine`](crate::Engine) gets `now`.
//!
//! The state machine never reads a clock: the engine reads one [`Clock`] once per operation and
//! passes the instant in. Tests use a [`ManualClock`] to decide expiry to the millisecond.

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
        // The system clock is inside 0000..=9999 on any machine this runs on; should it not be, the
        // epoch is a safe floor (every session then reads as created long ago, not as never expiring).
        Timestamp::from_system_time(SystemTime::now()).unwrap_or(Timestamp::UNIX_EPOCH)
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
        let next = self.now().checked_add(by).unwrap_or_else(|| {
            Timestamp::from_millis(253_402_300_799_999).unwrap_or(Timestamp::UNIX_EPOCH)
        });
        self.set(next);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst)).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManualClock({})", self.now())
    }
}
