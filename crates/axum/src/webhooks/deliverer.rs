//! The claim → send → mark → backoff loop: [`Deliverer`].

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use portal_sessions::{
    Claim, Engine, ErrorChain, EventKinds, SessionId, SessionStore, Timestamp, Undelivered,
};
use tokio::sync::watch;
use tokio::task::{JoinError, JoinSet};

use super::{
    Delivery, DeliverySettings, Outcome, PostError, WebhookClient, WebhookEndpoints,
    WebhookRequest, backoff,
};
use crate::WebhookEvent;

/// How long past a request's timeout the deliverer waits for a client that does not keep it.
const CLIENT_GRACE: Duration = Duration::from_secs(1);

/// What the deliverer calls with every POST's outcome.
type Observer = Arc<dyn Fn(&Delivery<'_>) + Send + Sync>;

/// Delivers every session event of an engine's store to its organisation's webhooks: the loop of
/// the [module documentation](super), as a task of its own ([`spawn`](Self::spawn)).
///
/// # Examples
///
/// Counting deliveries, stopped on a signal of the host's:
///
/// ```no_run
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
///
/// use portal_sessions::{Engine, StaticDirectory};
/// use portal_sessions_axum::webhooks::{Deliverer, DeliverySettings, HyperClient, StaticEndpoints};
/// use portal_sessions_memory::MemoryStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Arc::new(Engine::new(
///     MemoryStore::new().with_event_feed(),
///     StaticDirectory::default(),
/// ));
/// let settings = DeliverySettings { max_in_flight: 8, ..DeliverySettings::default() };
/// let failed = Arc::new(AtomicU64::new(0));
/// let counter = failed.clone();
/// let deliveries = Deliverer::new(engine, StaticEndpoints::default(), HyperClient::new(settings.request_timeout)?)?
///     .settings(settings)
///     .on_delivery(move |delivery| {
///         if !delivery.accepted() {
///             counter.fetch_add(1, Ordering::Relaxed);
///         }
///     })
///     .shutdown_grace(Duration::from_secs(5))
///     .stop_when(async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .spawn();
/// deliveries.finished().await;
/// # Ok(())
/// # }
/// ```
pub struct Deliverer<S> {
    engine: Arc<Engine<S>>,
    endpoints: Arc<dyn WebhookEndpoints>,
    client: Arc<dyn WebhookClient>,
    settings: DeliverySettings,
    claimant: String,
    user_agent: HeaderValue,
    observer: Option<Observer>,
    shutdown_grace: Duration,
    stop_when: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<S> std::fmt::Debug for Deliverer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("settings", &self.settings)
            .field("claimant", &self.claimant)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish_non_exhaustive()
    }
}

/// Why a deliverer cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The store keeps no durable event feed
    /// ([`SessionStore::event_feed`] is `None`).
    #[error("the session store keeps no event feed, so webhooks cannot be delivered")]
    NoFeed,
}

impl<S: SessionStore> Deliverer<S> {
    /// A deliverer of `engine`'s events to the webhooks `endpoints` names, POSTed by `client`,
    /// with [`DeliverySettings::default`], a claimant name unique to the process
    /// (`portal-sessions/{pid}/{64 random bits}`), the `User-Agent`
    /// `portal-sessions-axum/{version}`, and a shutdown grace of 10 s.
    ///
    /// # Errors
    ///
    /// [`StartError::NoFeed`] when the engine's store keeps no event feed (a `MemoryStore`
    /// without `with_event_feed()`).
    pub fn new(
        engine: Arc<Engine<S>>,
        endpoints: impl WebhookEndpoints,
        client: impl WebhookClient,
    ) -> Result<Deliverer<S>, StartError> {
        if engine.store().event_feed().is_none() {
            return Err(StartError::NoFeed);
        }
        Ok(Deliverer {
            engine,
            endpoints: Arc::new(endpoints),
            client: Arc::new(client),
            settings: DeliverySettings::default(),
            claimant: claimant_name(),
            user_agent: HeaderValue::from_static(concat!(
                "portal-sessions-axum/",
                env!("CARGO_PKG_VERSION")
            )),
            observer: None,
            shutdown_grace: Duration::from_secs(10),
            stop_when: None,
        })
    }

    /// Polling, leases, concurrency, timeouts and retries.
    pub fn settings(mut self, settings: DeliverySettings) -> Deliverer<S> {
        self.settings = settings;
        self
    }

    /// The name this process claims sessions under: it must be unique to the process among all
    /// that share the store (the default is).
    pub fn claimant(mut self, name: impl Into<String>) -> Deliverer<S> {
        self.claimant = name.into();
        self
    }

    /// The `User-Agent` of every POST.
    pub fn user_agent(mut self, user_agent: HeaderValue) -> Deliverer<S> {
        self.user_agent = user_agent;
        self
    }

    /// Called with every POST's outcome, from the delivering task: keep it quick (count it, do not
    /// wait on anything). Replaces an earlier one.
    pub fn on_delivery(
        mut self,
        observer: impl Fn(&Delivery<'_>) + Send + Sync + 'static,
    ) -> Deliverer<S> {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// How long deliveries in flight get to finish once the deliverer is stopped; those still
    /// running then are dropped (their sessions are claimed again when the lease runs out).
    pub fn shutdown_grace(mut self, grace: Duration) -> Deliverer<S> {
        self.shutdown_grace = grace;
        self
    }

    /// Stops the deliverer when `signal` resolves (as [`Deliveries::stop`] does): the host's
    /// shutdown signal, so that deliveries drain beside its HTTP requests.
    pub fn stop_when(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Deliverer<S> {
        self.stop_when = Some(Box::pin(signal));
        self
    }

    /// Starts delivering, on a task of its own. Dropping the returned handle leaves the task
    /// running.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (as `tokio::spawn` does).
    pub fn spawn(self) -> Deliveries {
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        if let Some(signal) = self.stop_when {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                tokio::select! {
                    () = signal => {
                        stop.send_replace(true);
                    }
                    // The deliverer ended: nothing left to stop.
                    () = stop.closed() => {}
                }
            });
        }
        let shared = Arc::new(Shared {
            engine: self.engine,
            endpoints: self.endpoints,
            client: self.client,
            settings: self.settings,
            claimant: self.claimant,
            user_agent: self.user_agent,
            observer: self.observer,
            in_flight: Mutex::new(HashSet::new()),
        });
        tracing::info!(claimant = %shared.claimant, "delivering session events");
        Deliveries {
            stop,
            task: tokio::spawn(run(shared, stopped, self.shutdown_grace)),
        }
    }
}

/// The running deliverer ([`Deliverer::spawn`]).
#[derive(Debug)]
pub struct Deliveries {
    stop: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Deliveries {
    /// Stops claiming; deliveries in flight get the shutdown grace to finish. Returns at once:
    /// [`finished`](Self::finished) waits for the end.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Waits for the deliverer to end, once [`stop`](Self::stop) or the
    /// [`stop_when`](Deliverer::stop_when) signal stopped it.
    pub async fn finished(self) {
        if let Err(error) = self.task.await {
            tracing::error!(error = %error, "the webhook delivery task failed");
        }
    }

    /// [`stop`](Self::stop), then [`finished`](Self::finished).
    pub async fn shutdown(self) {
        self.stop();
        self.finished().await;
    }
}

/// What every delivery shares.
struct Shared<S> {
    engine: Arc<Engine<S>>,
    endpoints: Arc<dyn WebhookEndpoints>,
    client: Arc<dyn WebhookClient>,
    settings: DeliverySettings,
    claimant: String,
    user_agent: HeaderValue,
    observer: Option<Observer>,
    /// The sessions being delivered: a session claimed again while its delivery runs (its lease
    /// ran out) is left to that delivery.
    in_flight: Mutex<HashSet<SessionId>>,
}

impl<S> Shared<S> {
    fn in_flight(&self) -> MutexGuard<'_, HashSet<SessionId>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn observe(&self, delivery: &Delivery<'_>) {
        if let Some(observer) = &self.observer {
            observer(delivery);
        }
    }
}

/// A session's place in [`Shared::in_flight`], given back when dropped (also when its delivery
/// panics or is aborted, so that the session is never skipped for good).
struct InFlight<'a, S> {
    shared: &'a Shared<S>,
    id: SessionId,
}

impl<S> Drop for InFlight<'_, S> {
    fn drop(&mut self) {
        self.shared.in_flight().remove(&self.id);
    }
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
    format!("portal-sessions/{}/{random:016x}", std::process::id())
}

/// Resolves once `stop` is true; never when its sender is gone (the handle was dropped: the
/// deliverer runs on).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn run<S: SessionStore>(
    shared: Arc<Shared<S>>,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
) {
    let settings = shared.settings;
    let max_in_flight = settings.max_in_flight.max(1);
    let mut tasks: JoinSet<()> = JoinSet::new();
    loop {
        while let Some(ended) = tasks.try_join_next() {
            report(ended);
        }
        if *stop.borrow() {
            break;
        }
        let free = max_in_flight.saturating_sub(tasks.len());
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

fn report(ended: Result<(), JoinError>) {
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
async fn deliver<S: SessionStore>(shared: Arc<Shared<S>>, undelivered: Undelivered) {
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

async fn deliver_next<S: SessionStore>(shared: &Shared<S>, undelivered: &Undelivered) -> Mark {
    let record = &undelivered.record;
    let Some(event) = undelivered.pending().next() else {
        return Mark::Delivered(EventKinds::EMPTY);
    };
    let attempt = undelivered.attempts.saturating_add(1);
    let webhooks = match shared.endpoints.webhooks(record.org_id).await {
        Ok(webhooks) => webhooks,
        Err(error) => {
            let delay = backoff(&shared.settings, undelivered.attempts);
            tracing::warn!(
                session = %record.id, error = %ErrorChain(&error), attempt, retry_in = ?delay,
                "the webhooks of the session's organisation could not be loaded; will retry"
            );
            return retry_after(shared, delay);
        }
    };
    if webhooks.is_empty() {
        tracing::debug!(session = %record.id, "no webhooks for the session's organisation: events marked delivered");
        return Mark::Delivered(record.event_kinds());
    }
    let event_body = WebhookEvent::new(&event);
    let event_id = event_body.id().to_owned();
    let event_type = event_body.event_type();
    let body = Bytes::from(event_body.to_json());
    let unix = shared.engine.now().as_millis().div_euclid(1000);
    let timeout = shared.settings.request_timeout;
    let mut posts = JoinSet::new();
    for webhook in webhooks {
        let client = Arc::clone(&shared.client);
        let host = webhook.host().to_owned();
        let signature = portal_sessions::webhook::sign(&webhook.secret, unix, &body);
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::USER_AGENT, shared.user_agent.clone());
        let request = HeaderValue::try_from(signature)
            .map(|signature| {
                headers.insert(portal_sessions::webhook::SIGNATURE_HEADER, signature);
                WebhookRequest {
                    url: webhook.url().clone(),
                    headers,
                    body: body.clone(),
                    timeout,
                }
            })
            .map_err(|error| PostError::Request(Box::new(error)));
        posts.spawn(async move {
            let posted = match request {
                Ok(request) => {
                    match tokio::time::timeout(
                        timeout.saturating_add(CLIENT_GRACE),
                        client.post(request),
                    )
                    .await
                    {
                        Ok(posted) => posted,
                        Err(_) => Err(PostError::Timeout(timeout)),
                    }
                }
                Err(error) => Err(error),
            };
            (host, posted)
        });
    }
    let mut accepted = true;
    while let Some(posted) = posts.join_next().await {
        let (host, posted) = match posted {
            Ok(posted) => posted,
            Err(error) => {
                accepted = false;
                tracing::error!(event = %event_id, session = %record.id, error = %error, "a webhook POST task failed");
                continue;
            }
        };
        let outcome = match &posted {
            Ok(status) if status.is_success() => {
                tracing::info!(
                    event = %event_id, event_type, session = %record.id, host, status = status.as_u16(), attempt,
                    "webhook delivered"
                );
                Outcome::Accepted(*status)
            }
            Ok(status) => {
                accepted = false;
                tracing::warn!(
                    event = %event_id, event_type, session = %record.id, host, status = status.as_u16(), attempt,
                    "webhook refused the event"
                );
                Outcome::Refused(*status)
            }
            Err(error) => {
                accepted = false;
                tracing::warn!(
                    event = %event_id, event_type, session = %record.id, host, error = %ErrorChain(error), attempt,
                    "webhook delivery failed"
                );
                Outcome::Failed(error)
            }
        };
        shared.observe(&Delivery {
            event_id: &event_id,
            event_type,
            session: record.id,
            org: record.org_id,
            host: &host,
            attempt,
            outcome,
        });
    }
    if accepted {
        return Mark::Delivered(EventKinds::EMPTY.with(event.kind));
    }
    let delay = backoff(&shared.settings, undelivered.attempts);
    tracing::info!(
        event = %event_id, event_type, session = %record.id, attempt, retry_in = ?delay,
        "webhook delivery will be retried"
    );
    retry_after(shared, delay)
}

fn retry_after<S: SessionStore>(shared: &Shared<S>, delay: Duration) -> Mark {
    Mark::RetryAt(
        shared
            .engine
            .now()
            .checked_add(delay)
            .unwrap_or(Timestamp::MAX),
    )
}
