//! Webhooks: every session event, signed, POSTed to each webhook of the session's organisation,
//! at least once and in order per session, surviving restarts.
//!
//! # How
//!
//! Events are not queued by the request that causes them: they are derived from the stored
//! records (see `portal_sessions::feed`), so an event exists exactly when its change was
//! committed, and a server that dies between a change and its delivery delivers it after it
//! restarts (sled, PostgreSQL; the memory store keeps nothing across restarts). The server runs
//! one delivery task ([`start`], from `serve`) that loops:
//!
//! 1. It [claims](portal_sessions::EventFeed::claim) as many sessions with undelivered events as
//!    it has free places (`max_in_flight`, 32 by default: the bounded queue; nothing waits in
//!    memory beyond it), under a claimant name unique to the process and a lease
//!    (`lease_seconds`). On PostgreSQL the lease is what lets several servers share delivery: a
//!    session is one claimant's at a time, and a dead server's sessions come back when its lease
//!    runs out.
//! 2. For each claimed session, concurrently, it takes the session's *next* undelivered event and
//!    POSTs its body ([`portal_sessions_axum::WebhookEvent`]) to every webhook of the session's
//!    organisation at once, signed ([`portal_sessions::webhook::sign`]) with each webhook's
//!    secret. When every webhook answered `2xx`, the event is
//!    [marked delivered](portal_sessions::EventFeed::delivered); on the first failure (another
//!    status, a timeout, a connection error) the session is
//!    [put off](portal_sessions::EventFeed::retry_at) by a backoff ([`backoff`]). Marking releases
//!    the lease, so a claim delivers one event and the session's next event is the next claim's:
//!    an event is never sent before the one that precedes it was accepted, and retries follow the
//!    session from one server to another.
//! 3. A session whose organisation has no webhooks has all its events marked delivered at once.
//! 4. When nothing is claimable it sleeps `poll_interval_seconds`; as soon as a delivery ends it
//!    claims again.
//!
//! # Retries
//!
//! A failed event is retried after `retry_base_seconds` (5), doubling with each failed attempt
//! up to `retry_max_seconds` (an hour), each delay drawn uniformly below that ceiling ("full
//! jitter", so that receivers coming back are not hit by every server at once). The attempts are
//! counted by the store, so the backoff survives restarts and moves between servers. Retrying goes
//! on as long as the session exists: the server purges sessions a day after they expire
//! ([`PURGE_GRACE`](crate::PURGE_GRACE)), so an event is retried for at least 24 hours, and for up
//! to a day past the session's expiry (a day and its lifetime after it was minted).
//!
//! # Delivery is at least once
//!
//! An event accepted by some webhooks and not by another is sent again to all of them; a server
//! that dies after a `2xx` and before marking sends it again. Receivers deduplicate by the event's
//! `id`, which is the same on every delivery. Within one session, events arrive in order: a
//! repeat of an event comes before the first delivery of the next.
//!
//! # The HTTP client
//!
//! [`Poster`]: hyper-util's pooled client over hyper-rustls, on the rustls (ring) and Mozilla roots
//! the server already builds; HTTP/1.1, no redirects followed, no proxy, one timeout for the whole
//! request. It was chosen over reqwest for its compile cost (about 7 s against 35 s added to a clean
//! build; the comparison is in the source of the `client` module).
//!
//! # Logs
//!
//! Every POST is logged through `tracing` with the event id, its type, the session id, the
//! webhook's host, the status or the error, and the attempt number. The secret and the body are
//! never logged (events carry no token anyway).

mod client;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Uri;
use portal_sessions::{
    Claim, Engine, ErrorChain, EventKinds, OrgId, SessionId, SessionStore, Timestamp, Undelivered,
};
use portal_sessions_axum::WebhookEvent;

use crate::metrics::Metrics;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use client::{ClientError, PostError, Poster};

/// One webhook of an organisation (`[[orgs.webhooks]]`): where events are POSTed, and the secret
/// they are signed with. Its `Debug` shows the URL without its query, and never the secret.
#[derive(Clone)]
pub struct Webhook {
    url: Uri,
    host: String,
    secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = match (self.url.scheme_str(), self.url.authority()) {
            (Some(scheme), Some(authority)) => {
                // Userinfo is refused at parse time, so the authority is host and port.
                format!("{scheme}://{authority}{}", self.url.path())
            }
            _ => self.url.path().to_owned(),
        };
        f.debug_struct("Webhook")
            .field("url", &shown)
            .field("secret", &"whsec_***")
            .finish()
    }
}

/// Whether `secret` is a webhook secret worth the name: `whsec_`, then at least 24 printable
/// characters without spaces, at least 10 of them different.
pub fn is_strong_webhook_secret(secret: &str) -> bool {
    let Some(rest) = secret.strip_prefix("whsec_") else {
        return false;
    };
    let distinct: HashSet<u8> = rest.bytes().collect();
    rest.len() >= 24 && rest.bytes().all(|b| b.is_ascii_graphic()) && distinct.len() >= 10
}

impl Webhook {
    /// A webhook to `url`, signed with `secret`.
    ///
    /// # Errors
    ///
    /// The reason, naming neither value: the URL must be an absolute `http` or `https` URL without
    /// credentials or fragment, the secret `whsec_` and at least 24 characters.
    pub fn new(url: &str, secret: &str) -> Result<Webhook, WebhookError> {
        let authority = url.split_once("://").map_or("", |(_, rest)| {
            rest.split(['/', '?', '#']).next().unwrap_or_default()
        });
        if portal_sessions::validate_return_url(url).is_err()
            || url.contains('#')
            || authority.contains('@')
        {
            return Err(WebhookError::Url);
        }
        let url: Uri = url.parse().map_err(|_| WebhookError::Url)?;
        let host = url.host().ok_or(WebhookError::Url)?.to_owned();
        if !is_strong_webhook_secret(secret) {
            return Err(WebhookError::Secret);
        }
        Ok(Webhook {
            url,
            host,
            secret: secret.to_owned(),
        })
    }

    /// Where events are POSTed.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The URL's host: what the logs name.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Why a webhook's configuration is refused. Never contains the URL or the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not one to POST to.
    #[error(
        "must be an absolute http or https URL, without user:password@ or #fragment \
         (the signature authenticates the sender)"
    )]
    Url,
    /// The secret is too weak.
    #[error(
        "must be whsec_ followed by at least 24 printable characters without spaces, at least 10 \
         of them different (generate one, for example with `openssl rand -hex 24`)"
    )]
    Secret,
}

/// How events are delivered (the `[events]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSettings {
    /// How long to wait when no session has an event to deliver.
    pub poll_interval: Duration,
    /// How long a claimed session is this server's before another may take it.
    pub lease: Duration,
    /// How many sessions are delivered at once: the bound of the queue.
    pub max_in_flight: usize,
    /// How long a receiver has to answer a POST (connecting included).
    pub request_timeout: Duration,
    /// The first retry's ceiling.
    pub retry_base: Duration,
    /// The largest retry ceiling.
    pub retry_max: Duration,
}

impl Default for EventSettings {
    /// Poll every second, 60 s leases, 32 sessions at once, 10 s per request, retries from 5 s
    /// up to an hour.
    fn default() -> EventSettings {
        EventSettings {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            max_in_flight: 32,
            request_timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
        }
    }
}

impl EventSettings {
    /// The ceiling of the delay before the retry that follows `attempts` failed attempts:
    /// `retry_base` doubled per attempt, at most `retry_max`.
    pub fn retry_ceiling(&self, attempts: u32) -> Duration {
        self.retry_base
            .saturating_mul(1u32 << attempts.min(31))
            .min(self.retry_max)
    }
}

/// The delay before retrying a session whose delivery failed after `attempts` earlier failures:
/// uniformly drawn below [`EventSettings::retry_ceiling`] ("full jitter"). Without randomness from
/// the operating system, the ceiling itself.
pub fn backoff(settings: &EventSettings, attempts: u32) -> Duration {
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

/// The engine the server runs.
type ServerEngine = Engine<Arc<dyn SessionStore>>;

/// What every delivery shares.
struct Shared {
    engine: Arc<ServerEngine>,
    webhooks: HashMap<OrgId, Vec<Webhook>>,
    settings: EventSettings,
    poster: Poster,
    claimant: String,
    /// The sessions being delivered: a session claimed again while its delivery runs (its lease
    /// ran out) is left to that delivery.
    in_flight: Mutex<HashSet<SessionId>>,
    metrics: Metrics,
}

impl Shared {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<SessionId>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A session's place in [`Shared::in_flight`], given back when dropped (also when its delivery
/// panics or is aborted, so that the session is never skipped for good).
struct InFlight<'a> {
    shared: &'a Shared,
    id: SessionId,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.shared.in_flight().remove(&self.id);
    }
}

/// The running delivery task.
#[derive(Debug)]
pub struct Deliveries {
    task: tokio::task::JoinHandle<()>,
}

impl Deliveries {
    /// Waits for the task to end, after `stop` said so (it gives deliveries in flight the drain
    /// period given to [`start`]).
    pub async fn finished(self) {
        if let Err(error) = self.task.await {
            tracing::error!(error = %error, "the webhook delivery task failed");
        }
    }
}

/// Why deliveries could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store keeps no durable event feed.
    #[error("the session store keeps no event feed, so webhooks cannot be delivered")]
    NoFeed,
    /// The HTTP client could not be built.
    #[error("cannot build the webhook client")]
    Client(#[from] ClientError),
}

/// Starts delivering the events of `engine`'s store to `webhooks` (by organisation) until `stop`
/// turns true (or its sender is dropped); deliveries still running then get `drain` to finish.
///
/// # Errors
///
/// [`StartError`] when the store keeps no feed or the client cannot be built.
pub fn start(
    engine: Arc<ServerEngine>,
    webhooks: HashMap<OrgId, Vec<Webhook>>,
    settings: EventSettings,
    stop: watch::Receiver<bool>,
    drain: Duration,
    metrics: Metrics,
) -> Result<Deliveries, StartError> {
    if engine.store().event_feed().is_none() {
        return Err(StartError::NoFeed);
    }
    let shared = Arc::new(Shared {
        engine,
        webhooks,
        settings,
        poster: Poster::new(settings.request_timeout)?,
        claimant: claimant_name(),
        in_flight: Mutex::new(HashSet::new()),
        metrics,
    });
    tracing::info!(
        claimant = %shared.claimant,
        webhooks = shared.webhooks.values().map(Vec::len).sum::<usize>(),
        "delivering session events"
    );
    Ok(Deliveries {
        task: tokio::spawn(run(shared, stop, drain)),
    })
}

/// A name no other process uses: the process id and 64 random bits.
fn claimant_name() -> String {
    let random = getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_nanos() % u128::from(u64::MAX)).unwrap_or(0)
            })
    });
    format!(
        "portal-sessions-server/{}/{random:016x}",
        std::process::id()
    )
}

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>, drain: Duration) {
    let settings = shared.settings;
    let mut tasks: JoinSet<()> = JoinSet::new();
    loop {
        while let Some(ended) = tasks.try_join_next() {
            report(ended);
        }
        if *stop.borrow() {
            break;
        }
        let free = settings.max_in_flight.saturating_sub(tasks.len());
        let mut full = free == 0;
        if free > 0 {
            let claim = Claim {
                claimant: shared.claimant.clone(),
                now: shared.engine.now(),
                lease: settings.lease,
                limit: free,
            };
            let claimed = match shared.engine.store().event_feed() {
                Some(feed) => feed.claim(&claim).await,
                None => Ok(Vec::new()),
            };
            match claimed {
                Ok(claimed) => {
                    full = claimed.len() >= free;
                    for undelivered in claimed {
                        // A session still being delivered (its lease ran out meanwhile) is left
                        // to that delivery, which releases it.
                        if shared.in_flight().insert(undelivered.record.id) {
                            tasks.spawn(deliver(Arc::clone(&shared), undelivered));
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %ErrorChain(&error), "claiming session events failed");
                }
            }
        }
        // Claim again as soon as a delivery ends (its session's next event may be due), or after
        // the poll interval when there was nothing more to claim.
        full &= !tasks.is_empty();
        tokio::select! {
            ended = tasks.join_next(), if !tasks.is_empty() => {
                if let Some(ended) = ended {
                    report(ended);
                }
            }
            () = tokio::time::sleep(settings.poll_interval), if !full => {}
            () = stopped(&mut stop) => {}
        }
    }
    if !tasks.is_empty() {
        tracing::info!(
            in_flight = tasks.len(),
            "stopping webhook deliveries: waiting for those in flight"
        );
        let drained = tokio::time::timeout(drain, async {
            while let Some(ended) = tasks.join_next().await {
                report(ended);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                in_flight = tasks.len(),
                "webhook deliveries still in flight at the end of the grace period were dropped \
                 (their sessions are claimed again when the lease runs out)"
            );
            tasks.abort_all();
        }
    }
    tracing::info!("webhook deliveries stopped");
}

fn report(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        if error.is_panic() {
            tracing::error!(error = %error, "a webhook delivery panicked");
        }
    }
}

/// What a delivery leaves in the feed.
enum Mark {
    Delivered(EventKinds),
    RetryAt(Timestamp),
}

/// Delivers the next event of one claimed session and marks the outcome.
async fn deliver(shared: Arc<Shared>, undelivered: Undelivered) {
    let id = undelivered.record.id;
    let place = InFlight {
        shared: &shared,
        id,
    };
    let mark = deliver_next(&shared, &undelivered).await;
    // Out of the set before the mark releases the lease: once it is released, a claim may hand the
    // session out again, and it must then be delivered, not skipped as in flight.
    drop(place);
    let Some(feed) = shared.engine.store().event_feed() else {
        return;
    };
    let marked = match mark {
        Mark::Delivered(kinds) => feed.delivered(&shared.claimant, &id, kinds).await,
        Mark::RetryAt(at) => feed.retry_at(&shared.claimant, &id, at).await,
    };
    if let Err(error) = marked {
        // The lease runs out and the session is claimed again: delivered again, or retried sooner.
        tracing::warn!(session = %id, error = %ErrorChain(&error), "recording a webhook delivery failed");
    }
}

async fn deliver_next(shared: &Shared, undelivered: &Undelivered) -> Mark {
    let record = &undelivered.record;
    let Some(event) = undelivered.pending().next() else {
        return Mark::Delivered(EventKinds::EMPTY);
    };
    let webhooks = shared
        .webhooks
        .get(&record.org_id)
        .map_or(&[][..], Vec::as_slice);
    if webhooks.is_empty() {
        tracing::debug!(session = %record.id, "no webhooks for the session's organisation: events marked delivered");
        return Mark::Delivered(record.event_kinds());
    }
    let event_body = WebhookEvent::new(&event);
    let event_id = event_body.id().to_owned();
    let event_type = event_body.event_type();
    let body = Bytes::from(event_body.to_json());
    let attempt = undelivered.attempts.saturating_add(1);
    let unix = shared.engine.now().as_millis().div_euclid(1000);
    let mut posts = JoinSet::new();
    for webhook in webhooks {
        let poster = shared.poster.clone();
        let url = webhook.url().clone();
        let host = webhook.host().to_owned();
        let signature = portal_sessions::webhook::sign(&webhook.secret, unix, &body);
        let body = body.clone();
        posts.spawn(async move { (host, poster.post(&url, &signature, body).await) });
    }
    let mut accepted = true;
    while let Some(posted) = posts.join_next().await {
        match posted {
            Ok((host, Ok(status))) if status.is_success() => {
                shared.metrics.webhook_delivery(true);
                tracing::info!(
                    event = %event_id, event_type, session = %record.id, host, status = status.as_u16(), attempt,
                    "webhook delivered"
                );
            }
            Ok((host, Ok(status))) => {
                shared.metrics.webhook_delivery(false);
                accepted = false;
                tracing::warn!(
                    event = %event_id, event_type, session = %record.id, host, status = status.as_u16(), attempt,
                    "webhook refused the event"
                );
            }
            Ok((host, Err(error))) => {
                shared.metrics.webhook_delivery(false);
                accepted = false;
                tracing::warn!(
                    event = %event_id, event_type, session = %record.id, host, error = %ErrorChain(&error), attempt,
                    "webhook delivery failed"
                );
            }
            Err(error) => {
                accepted = false;
                tracing::error!(event = %event_id, session = %record.id, error = %error, "a webhook POST task failed");
            }
        }
    }
    if accepted {
        return Mark::Delivered(EventKinds::EMPTY.with(event.kind));
    }
    let delay = backoff(&shared.settings, undelivered.attempts);
    tracing::info!(
        event = %event_id, event_type, session = %record.id, attempt, retry_in = ?delay,
        "webhook delivery will be retried"
    );
    Mark::RetryAt(
        shared
            .engine
            .now()
            .checked_add(delay)
            .unwrap_or(Timestamp::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_the_maximum_with_full_jitter() {
        let settings = EventSettings {
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            ..EventSettings::default()
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

    #[test]
    fn webhooks_are_checked_and_debug_hides_the_secret() {
        let secret = "whsec_3a9c1f0e5b7d2a4c6e8f0b1d3f5a";
        let hook = Webhook::new("https://hooks.example.com/in?key=abc", secret)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hook.host(), "hooks.example.com");
        let shown = format!("{hook:?}");
        assert!(shown.contains("https://hooks.example.com/in"), "{shown}");
        assert!(
            !shown.contains(secret) && !shown.contains("key=abc"),
            "{shown}"
        );
        for url in [
            "ftp://x.example/",
            "/relative",
            "https://user:pw@x.example/",
            "https://x.example/#frag",
            "https:///nohost",
        ] {
            assert_eq!(
                Webhook::new(url, secret).err(),
                Some(WebhookError::Url),
                "{url}"
            );
        }
        for weak in [
            "whsec_short",
            "sk_3a9c1f0e5b7d2a4c6e8f0b1d3f5a",
            "whsec_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "whsec_3a9c1f0e5b7d 2a4c6e8f0b1d3f5a",
        ] {
            assert_eq!(
                Webhook::new("https://x.example/", weak).err(),
                Some(WebhookError::Secret)
            );
        }
        assert!(
            Webhook::new("http://127.0.0.1:9/hook", secret).is_ok(),
            "plain http, for receivers on the same host or network"
        );
    }
}
