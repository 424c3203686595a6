//! Per-client limits on failed link attempts.
//!
//! Link tokens carry 256 secret bits, so guessing one is hopeless; what a flood of guesses can do is
//! load the store. Each client IP may fail to open a link (a malformed or unknown token) a bounded
//! number of times per window; past that, its requests to `/r/...` are answered `429 Too Many
//! Requests` with `Retry-After`, before the store is touched. Other clients are not slowed: state is
//! per IP, in sharded maps, and checking it is one hash lookup.
//!
//! Clients are told apart by the connection's peer address (`ConnectInfo<SocketAddr>`). Behind a
//! reverse proxy every client shares the proxy's address; requests without connection info are not
//! limited. A client that is limited is limited for good links too, until its window ends.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

/// How many failed link attempts a client may make per window.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions_axum::LinkAttemptLimit;
///
/// let strict = LinkAttemptLimit { max_failures: 5, window: Duration::from_secs(300), max_clients: 10_000 };
/// assert_eq!(LinkAttemptLimit::default().max_failures, 20);
/// # let _ = strict;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkAttemptLimit {
    /// Failed attempts allowed per window; the next is refused.
    pub max_failures: u32,
    /// The window, counted from a client's first failure in it.
    pub window: Duration,
    /// The most clients tracked at once: the memory bound (about 64 bytes each). When full, clients
    /// whose windows have ended are forgotten; if none has, new clients are not tracked until some are.
    pub max_clients: usize,
}

impl Default for LinkAttemptLimit {
    /// 20 failures a minute, 100 000 clients tracked.
    fn default() -> LinkAttemptLimit {
        LinkAttemptLimit {
            max_failures: 20,
            window: Duration::from_secs(60),
            max_clients: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The limiter's state.
pub(crate) struct Limiter {
    limit: LinkAttemptLimit,
    shards: Box<[Mutex<HashMap<IpAddr, Window>>]>,
    hasher: RandomState,
}

impl Limiter {
    pub(crate) fn new(limit: LinkAttemptLimit) -> Limiter {
        Limiter {
            limit,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, Window>> {
        // Truncation is the point: any bits of the hash pick a shard.
        #[allow(clippy::cast_possible_truncation)]
        let slot = self.hasher.hash_one(ip) as usize % SHARDS;
        &self.shards[slot]
    }

    /// `Err(retry_after)` when `ip` has used up its failures in the current window.
    pub(crate) fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(shard) = self.shard(&ip).lock() else {
            return Ok(());
        };
        match shard.get(&ip) {
            Some(window) if now.duration_since(window.started) < self.limit.window => {
                if window.failures >= self.limit.max_failures {
                    let left = self.limit.window - now.duration_since(window.started);
                    // Round up: a client told "retry after 0 s" would retry at once.
                    Err(Duration::from_secs(
                        left.as_secs() + u64::from(left.subsec_nanos() > 0),
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed attempt by `ip`.
    pub(crate) fn record_failure(&self, ip: IpAddr, now: Instant) {
        let Ok(mut shard) = self.shard(&ip).lock() else {
            return;
        };
        let per_shard = self.limit.max_clients.div_ceil(SHARDS);
        if !shard.contains_key(&ip) && shard.len() >= per_shard {
            let window = self.limit.window;
            shard.retain(|_, w| now.duration_since(w.started) < window);
            if shard.len() >= per_shard {
                return;
            }
        }
        let window = shard.entry(ip).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(window.started) >= self.limit.window {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_client_is_limited_after_its_failures_and_only_for_its_window() {
        let limit = LinkAttemptLimit {
            max_failures: 3,
            window: Duration::from_secs(60),
            max_clients: 1_000,
        };
        let limiter = Limiter::new(limit);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip(1), t0), Ok(()));
            limiter.record_failure(ip(1), t0);
        }
        assert_eq!(
            limiter.check(ip(1), t0 + Duration::from_millis(500)),
            Err(Duration::from_secs(60))
        );
        assert_eq!(
            limiter.check(ip(1), t0 + Duration::from_secs(59)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(
            limiter.check(ip(2), t0),
            Ok(()),
            "another client is not limited"
        );
        assert_eq!(
            limiter.check(ip(1), t0 + Duration::from_secs(60)),
            Ok(()),
            "the window ended"
        );
        limiter.record_failure(ip(1), t0 + Duration::from_secs(60));
        assert_eq!(
            limiter.check(ip(1), t0 + Duration::from_secs(61)),
            Ok(()),
            "a fresh window"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let limit = LinkAttemptLimit {
            max_failures: 1,
            window: Duration::from_secs(60),
            max_clients: 32,
        };
        let limiter = Limiter::new(limit);
        let t0 = Instant::now();
        for n in 0..=255 {
            limiter.record_failure(ip(n), t0);
        }
        let tracked: usize = limiter
            .shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(tracked <= 32, "{tracked} clients tracked");
        // Once their windows end, room is made for new clients.
        let later = t0 + Duration::from_secs(61);
        limiter.record_failure(IpAddr::from([198, 51, 100, 1]), later);
        assert_eq!(
            limiter.check(IpAddr::from([198, 51, 100, 1]), later),
            Err(Duration::from_secs(60))
        );
    }
}
