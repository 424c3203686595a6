//! Per-client limits on failed attempts: links, viewer cookies and API keys.
//!
//! Link and viewer tokens carry 256 secret bits and API keys are compared by digest, so guessing is
//! hopeless; what a flood of guesses can do is load the store and the logs. Each client may fail a
//! bounded number of times per window; past that, its *failing* requests are answered `429 Too Many
//! Requests` with `Retry-After` instead of their usual refusal. A request that carries a valid link,
//! cookie or key is never refused, whatever else came from the same address: the limit is decided
//! only once the request is known to fail, in one step that counts and checks together (so a burst
//! cannot slip between a check and a count).
//!
//! Clients are told apart by their address ([`ClientKey`]): an IPv4 address, or the /64 network of
//! an IPv6 address (one subscriber usually holds a whole /64). Behind a reverse proxy the address
//! is the one the proxy saw (see [`PortalService::trusted_proxies`](crate::PortalService::trusted_proxies)).
//!
//! Memory is bounded by [`AttemptLimit::max_clients`]: when full, clients whose windows have ended
//! are forgotten first, then the client whose window is oldest, so new clients are always counted.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

/// How many failed attempts of one kind a client may make per window.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions_axum::AttemptLimit;
///
/// let strict = AttemptLimit { max_failures: 5, window: Duration::from_secs(300), max_clients: 10_000 };
/// assert_eq!(AttemptLimit::default().max_failures, 20);
/// # let _ = strict;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    /// Failed attempts allowed per window; the next failure is answered 429.
    pub max_failures: u32,
    /// The window, counted from a client's first failure in it.
    pub window: Duration,
    /// The most clients tracked at once: the memory bound (about 64 bytes each).
    pub max_clients: usize,
}

impl Default for AttemptLimit {
    /// 20 failures a minute, 100 000 clients tracked.
    fn default() -> AttemptLimit {
        AttemptLimit {
            max_failures: 20,
            window: Duration::from_secs(60),
            max_clients: 100_000,
        }
    }
}

/// A client as the limits count it: an IPv4 address, or the /64 of an IPv6 one (an IPv4-mapped
/// IPv6 address counts as its IPv4 address). One subscriber usually holds a whole IPv6 /64, so
/// counting its addresses one by one would give it 2^64 allowances.
///
/// Public so that a host counting something else per client (the server counts open connections)
/// tells clients apart exactly as the limits do.
///
/// # Examples
///
/// ```
/// use std::net::IpAddr;
/// use portal_sessions_axum::ClientKey;
///
/// let ip = |text: &str| text.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
/// assert_eq!(ClientKey::of(ip("2001:db8:0:7::1")), ClientKey::of(ip("2001:db8:0:7::2")));
/// assert_ne!(ClientKey::of(ip("2001:db8:0:7::1")), ClientKey::of(ip("2001:db8:0:8::1")));
/// assert_eq!(ClientKey::of(ip("::ffff:192.0.2.9")), ClientKey::of(ip("192.0.2.9")));
/// assert_eq!(ClientKey::of(ip("2001:db8:0:7::1")).to_string(), "2001:db8:0:7::/64");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The client `ip` belongs to.
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(network.into()))
                }
            },
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// A failure past the limit: answer 429 with this `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OverLimit {
    /// Whole seconds until the client's window ends (at least 1).
    pub(crate) retry_after: Duration,
    /// Whether this is the client's first failure past the limit in its window (logged once).
    pub(crate) first: bool,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The state of one limit.
pub(crate) struct Limiter {
    limit: AttemptLimit,
    shards: Box<[Mutex<HashMap<ClientKey, Window>>]>,
    hasher: RandomState,
}

impl Limiter {
    pub(crate) fn new(limit: AttemptLimit) -> Limiter {
        Limiter {
            limit,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, client: &ClientKey) -> &Mutex<HashMap<ClientKey, Window>> {
        // Truncation is the point: any bits of the hash pick a shard.
        #[allow(clippy::cast_possible_truncation)]
        let slot = self.hasher.hash_one(client) as usize % SHARDS;
        &self.shards[slot]
    }

    /// Counts one failed attempt by `client` at `now`.
    ///
    /// # Errors
    ///
    /// [`OverLimit`] when this failure is past the client's allowance for its window.
    pub(crate) fn fail(&self, client: ClientKey, now: Instant) -> Result<(), OverLimit> {
        let mut shard = match self.shard(&client).lock() {
            Ok(shard) => shard,
            // A panic elsewhere while holding the lock: the counts are still plain numbers.
            Err(poisoned) => poisoned.into_inner(),
        };
        let window = self.limit.window;
        let per_shard = self.limit.max_clients.div_ceil(SHARDS).max(1);
        if !shard.contains_key(&client) && shard.len() >= per_shard {
            shard.retain(|_, w| now.saturating_duration_since(w.started) < window);
            if shard.len() >= per_shard {
                let oldest = shard
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(key, _)| *key);
                if let Some(oldest) = oldest {
                    shard.remove(&oldest);
                }
            }
        }
        let entry = shard.entry(client).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.saturating_duration_since(entry.started) >= window {
            *entry = Window {
                started: now,
                failures: 0,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures <= self.limit.max_failures {
            return Ok(());
        }
        let left = window.saturating_sub(now.saturating_duration_since(entry.started));
        // Round up: a client told "retry after 0 s" would retry at once.
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Err(OverLimit {
            retry_after: Duration::from_secs(seconds.max(1)),
            first: entry.failures == self.limit.max_failures.saturating_add(1),
        })
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum()
    }
}

/// The failed-attempt limits, and who is a trusted proxy.
#[derive(Debug, Clone)]
pub(crate) struct LimitSettings {
    pub(crate) links: Option<AttemptLimit>,
    pub(crate) cookies: Option<AttemptLimit>,
    pub(crate) api_keys: Option<AttemptLimit>,
    /// Every post to a login page counts, found or not: the answer never says which.
    pub(crate) login_posts: Option<AttemptLimit>,
    pub(crate) proxies: Vec<ipnet::IpNet>,
}

impl Default for LimitSettings {
    fn default() -> LimitSettings {
        LimitSettings {
            links: Some(AttemptLimit::default()),
            cookies: Some(AttemptLimit::default()),
            api_keys: Some(AttemptLimit::default()),
            login_posts: Some(AttemptLimit {
                max_failures: 10,
                ..AttemptLimit::default()
            }),
            proxies: Vec::new(),
        }
    }
}

/// The limiters every handler of one service shares.
pub(crate) struct Limits {
    pub(crate) settings: LimitSettings,
    pub(crate) links: Option<Limiter>,
    pub(crate) cookies: Option<Limiter>,
    pub(crate) api_keys: Option<Limiter>,
    pub(crate) login_posts: Option<Limiter>,
    pub(crate) proxies: crate::client::TrustedProxies,
}

impl Limits {
    pub(crate) fn new(settings: LimitSettings) -> Limits {
        Limits {
            links: settings.links.map(Limiter::new),
            cookies: settings.cookies.map(Limiter::new),
            api_keys: settings.api_keys.map(Limiter::new),
            login_posts: settings.login_posts.map(Limiter::new),
            proxies: crate::client::TrustedProxies::new(settings.proxies.iter().copied()),
            settings,
        }
    }

    /// Counts a failure of `client` against `limiter`: `Some` when it is past the limit. Logs the
    /// first failure past the limit of a window as a warning, the rest at debug level.
    pub(crate) fn fail(
        limiter: Option<&Limiter>,
        what: &'static str,
        client: Option<std::net::IpAddr>,
    ) -> Option<OverLimit> {
        let (limiter, client) = (limiter?, client?);
        let key = ClientKey::of(client);
        let over = limiter.fail(key, std::time::Instant::now()).err()?;
        if over.first {
            tracing::warn!(client = %key, what, "too many failed attempts: answering 429 until the window ends");
        } else {
            tracing::debug!(client = %key, what, "failed attempt past the limit");
        }
        Some(over)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::from([192, 0, 2, last]))
    }

    fn limiter(max_failures: u32, max_clients: usize) -> Limiter {
        Limiter::new(AttemptLimit {
            max_failures,
            window: Duration::from_secs(60),
            max_clients,
        })
    }

    #[test]
    fn failures_past_the_allowance_are_over_the_limit_for_the_window() {
        let limiter = limiter(3, 1_000);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.fail(v4(1), t0), Ok(()));
        }
        assert_eq!(
            limiter.fail(v4(1), t0 + Duration::from_millis(500)),
            Err(OverLimit {
                retry_after: Duration::from_secs(60),
                first: true
            })
        );
        assert_eq!(
            limiter.fail(v4(1), t0 + Duration::from_secs(59)),
            Err(OverLimit {
                retry_after: Duration::from_secs(1),
                first: false
            })
        );
        assert_eq!(
            limiter.fail(v4(2), t0),
            Ok(()),
            "another client is not limited"
        );
        assert_eq!(
            limiter.fail(v4(1), t0 + Duration::from_secs(60)),
            Ok(()),
            "a fresh window"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let limiter = limiter(2, 1_000);
        let t0 = Instant::now();
        let results: Vec<_> = (1..=200u16)
            .map(|host| {
                let ip = IpAddr::from([0x2001, 0xdb8, 0, 7, 0, 0, 0, host]);
                limiter.fail(ClientKey::of(ip), t0)
            })
            .collect();
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 198);
        let other_64 = IpAddr::from([0x2001, 0xdb8, 0, 8, 0, 0, 0, 1]);
        assert_eq!(limiter.fail(ClientKey::of(other_64), t0), Ok(()));
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ClientKey::of(mapped), v4(9));
    }

    #[test]
    fn memory_is_bounded_and_new_clients_are_still_counted() {
        let limiter = limiter(1, 32);
        let t0 = Instant::now();
        for n in 0..=255 {
            let _ = limiter.fail(v4(n), t0);
        }
        assert!(
            limiter.tracked() <= 32,
            "{} clients tracked",
            limiter.tracked()
        );
        // Full of live windows: a new client evicts the oldest and is counted all the same.
        let newcomer = ClientKey::of(IpAddr::from([198, 51, 100, 1]));
        assert_eq!(limiter.fail(newcomer, t0), Ok(()));
        assert!(limiter.fail(newcomer, t0).is_err());
        assert!(limiter.tracked() <= 32);
    }
}
