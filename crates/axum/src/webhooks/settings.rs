//! How events are delivered: polling, leases, concurrency, timeouts and retries.

use std::time::Duration;

/// How events are delivered ([`Deliverer::settings`](super::Deliverer::settings)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions_axum::webhooks::DeliverySettings;
///
/// let settings = DeliverySettings {
///     request_timeout: Duration::from_secs(5),
///     ..DeliverySettings::default()
/// };
/// assert_eq!(settings.retry_ceiling(2), Duration::from_secs(20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// How long to wait when no session has an event to deliver.
    pub poll_interval: Duration,
    /// How long a claimed session is this process's before another may take it. Keep it longer
    /// than `request_timeout`, so that a delivery ends while its session is still this process's.
    pub lease: Duration,
    /// How many sessions are delivered at once: the bound of the queue (at least one).
    pub max_in_flight: usize,
    /// How long a receiver has to answer a POST (connecting included).
    pub request_timeout: Duration,
    /// The first retry's ceiling.
    pub retry_base: Duration,
    /// The largest retry ceiling.
    pub retry_max: Duration,
}

impl Default for DeliverySettings {
    /// Poll every second, 60 s leases, 32 sessions at once, 10 s per request, retries from 5 s
    /// up to an hour.
    fn default() -> DeliverySettings {
        DeliverySettings {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            max_in_flight: 32,
            request_timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
        }
    }
}

impl DeliverySettings {
    /// The ceiling of the delay before the retry that follows `attempts` failed attempts:
    /// `retry_base` doubled per attempt, at most `retry_max`.
    pub fn retry_ceiling(&self, attempts: u32) -> Duration {
        self.retry_base
            .saturating_mul(1u32 << attempts.min(31))
            .min(self.retry_max)
    }
}

/// The delay before retrying a session whose delivery failed after `attempts` earlier failures:
/// uniformly drawn below [`DeliverySettings::retry_ceiling`] ("full jitter"). Without randomness
/// from the operating system, the ceiling itself.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::webhooks::{DeliverySettings, backoff};
///
/// let settings = DeliverySettings::default();
/// assert!(backoff(&settings, 3) <= settings.retry_ceiling(3));
/// ```
pub fn backoff(settings: &DeliverySettings, attempts: u32) -> Duration {
    let ceiling = settings.retry_ceiling(attempts);
    match getrandom::u64() {
        Ok(random) => jittered(ceiling, random),
        Err(_) => ceiling,
    }
}

/// `ceiling × random / 2^64`.
fn jittered(ceiling: Duration, random: u64) -> Duration {
    let nanos = (ceiling.as_nanos().saturating_mul(u128::from(random))) >> 64;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_the_maximum_with_full_jitter() {
        let settings = DeliverySettings {
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            ..DeliverySettings::default()
        };
        let ceilings: Vec<u64> = (0..12)
            .map(|attempts| settings.retry_ceiling(attempts).as_secs())
            .collect();
        assert_eq!(
            ceilings,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(settings.retry_ceiling(u32::MAX), Duration::from_secs(3600));
        assert_eq!(jittered(Duration::from_secs(8), 0), Duration::ZERO);
        assert_eq!(
            jittered(Duration::from_secs(8), 1 << 63),
            Duration::from_secs(4)
        );
        assert!(jittered(Duration::from_secs(8), u64::MAX) < Duration::from_secs(8));
        for attempts in 0..40 {
            assert!(backoff(&settings, attempts) <= settings.retry_ceiling(attempts));
        }
    }
}
