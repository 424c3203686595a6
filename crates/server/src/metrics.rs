//! `/metrics`: what the server counts and times, in Prometheus' text format.
//!
//! Every label has a closed set of values (route templates, methods, status codes, refusal
//! reasons, store operations, error kinds, event kinds), so no label grows with traffic: no
//! session id, token, IP address or customer ever becomes a label.
//!
//! | series | type | labels |
//! |---|---|---|
//! | `portal_sessions_http_requests_total` | counter | `route` (the route's template, or `unmatched`), `method`, `status` |
//! | `portal_sessions_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `portal_sessions_sessions_total` | counter | `event`: `created`, `redeemed`, `logged_out`, `revoked` |
//! | `portal_sessions_refusals_total` | counter | `reason`: a [`Refusal`] (`link_used`, `viewer_rejected`, `invalid_request`, ...) |
//! | `portal_sessions_rate_limited_total` | counter | `limit`: `link`, `cookie`, `api_key` |
//! | `portal_sessions_store_operation_duration_seconds` | histogram | `operation`: `insert`, `get`, `list`, `compare_and_swap`, `purge_expired` |
//! | `portal_sessions_store_errors_total` | counter | `operation`, `kind`: `duplicate`, `corrupt`, `unavailable`, `timeout`, `config`, `backend` |
//! | `portal_sessions_webhook_deliveries_total` | counter | `outcome`: `delivered`, `failed` |
//!
//! Sessions are counted from the engine's committed changes (an [`EventListener`]), so a refused
//! or lost-race request is never counted as a change (a change whose request was dropped between
//! its commit and its announcement goes uncounted: the listener is in-process and best effort). Request latencies have buckets from half a
//! millisecond to ten seconds; store latencies from a tenth of a millisecond to five seconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portal_sessions::{EventKind, EventListener, SessionEvent};
use portal_sessions_axum::{LoginOutcome, RecoveryOutcome, Refusal};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use tower::{Layer, Service};

/// Request latency buckets, in seconds.
const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Store latency buckets, in seconds.
const STORE_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A metric that could not be registered: a bug (a name or label set given twice, or invalid).
#[derive(Debug, thiserror::Error)]
#[error("a metric could not be registered")]
pub struct MetricsError(#[source] prometheus::Error);

/// The server's metrics. Cheap to clone (clones share the series).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    sessions: IntCounterVec,
    refusals: IntCounterVec,
    rate_limited: IntCounterVec,
    store_seconds: HistogramVec,
    store_errors: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    recovery_requests: IntCounterVec,
    login_requests: IntCounterVec,
    emails: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let counter = IntCounterVec::new(Opts::new(name, help), labels).map_err(MetricsError)?;
    registry
        .register(Box::new(counter.clone()))
        .map_err(MetricsError)?;
    Ok(counter)
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> Result<HistogramVec, MetricsError> {
    let histogram = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .map_err(MetricsError)?;
    registry
        .register(Box::new(histogram.clone()))
        .map_err(MetricsError)?;
    Ok(histogram)
}

impl Metrics {
    /// Every series, registered, with the closed label sets present at zero where they are known
    /// up front (sessions by event, refusals by reason, rate limits by limit), so that a scrape
    /// shows them before the first one happens.
    ///
    /// # Errors
    ///
    /// [`MetricsError`] only for a bug in this module.
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let metrics = Metrics {
            requests: counter(
                &registry,
                "portal_sessions_http_requests_total",
                "HTTP requests answered, by route template, method and status.",
                &["route", "method", "status"],
            )?,
            request_seconds: histogram(
                &registry,
                "portal_sessions_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template and method.",
                &["route", "method"],
                REQUEST_BUCKETS,
            )?,
            sessions: counter(
                &registry,
                "portal_sessions_sessions_total",
                "Committed session changes, by event.",
                &["event"],
            )?,
            refusals: counter(
                &registry,
                "portal_sessions_refusals_total",
                "Requests refused, by reason.",
                &["reason"],
            )?,
            rate_limited: counter(
                &registry,
                "portal_sessions_rate_limited_total",
                "Requests refused because their client was past a limit, by limit.",
                &["limit"],
            )?,
            store_seconds: histogram(
                &registry,
                "portal_sessions_store_operation_duration_seconds",
                "Time of a session store operation, by operation.",
                &["operation"],
                STORE_BUCKETS,
            )?,
            store_errors: counter(
                &registry,
                "portal_sessions_store_errors_total",
                "Session store operations that failed, by operation and kind of error.",
                &["operation", "kind"],
            )?,
            webhook_deliveries: counter(
                &registry,
                "portal_sessions_webhook_deliveries_total",
                "Webhook deliveries of one event to one endpoint, by outcome.",
                &["outcome"],
            )?,
            recovery_requests: counter(
                &registry,
                "portal_sessions_recovery_requests_total",
                "\"Email me a new link\" requests from used or expired links, by outcome.",
                &["outcome"],
            )?,
            login_requests: counter(
                &registry,
                "portal_sessions_login_requests_total",
                "Posts to organisations' login pages, by outcome (the sending follows the answer \
                 and is counted in portal_sessions_emails_total).",
                &["outcome"],
            )?,
            emails: counter(
                &registry,
                "portal_sessions_emails_total",
                "Emails handed to the mail server, by outcome.",
                &["outcome"],
            )?,
            registry,
        };
        for kind in EventKind::ALL {
            metrics.sessions.with_label_values(&[kind.as_str()]);
        }
        for refusal in Refusal::ALL {
            metrics.refusals.with_label_values(&[refusal.as_str()]);
        }
        for limit in ["link", "cookie", "api_key", "login"] {
            metrics.rate_limited.with_label_values(&[limit]);
        }
        for outcome in ["delivered", "failed"] {
            metrics.webhook_deliveries.with_label_values(&[outcome]);
        }
        for outcome in RecoveryOutcome::LABELS {
            metrics.recovery_requests.with_label_values(&[outcome]);
        }
        for outcome in LoginOutcome::LABELS {
            metrics.login_requests.with_label_values(&[outcome]);
        }
        for outcome in ["sent", "failed"] {
            metrics.emails.with_label_values(&[outcome]);
        }
        Ok(metrics)
    }

    /// The text a scrape gets.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %error, "metrics could not be encoded");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// Counts one store operation that took `seconds`, failed with `error` or not.
    pub(crate) fn store_operation(
        &self,
        operation: &'static str,
        seconds: f64,
        error: Option<&portal_sessions::StoreError>,
    ) {
        self.store_seconds
            .with_label_values(&[operation])
            .observe(seconds);
        if let Some(error) = error {
            let kind = match error {
                portal_sessions::StoreError::Duplicate => "duplicate",
                portal_sessions::StoreError::Corrupt { .. } => "corrupt",
                portal_sessions::StoreError::Unavailable(_) => "unavailable",
                portal_sessions::StoreError::Timeout => "timeout",
                portal_sessions::StoreError::Config { .. } => "config",
                _ => "backend",
            };
            self.store_errors
                .with_label_values(&[operation, kind])
                .inc();
        }
    }

    /// Counts one email handed to the mail server.
    pub fn email(&self, sent: bool) {
        let outcome = if sent { "sent" } else { "failed" };
        self.emails.with_label_values(&[outcome]).inc();
    }

    /// Counts one webhook delivery attempt of one event to one endpoint.
    pub fn webhook_delivery(&self, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.webhook_deliveries.with_label_values(&[outcome]).inc();
    }

    fn request(&self, route: &str, method: &str, status: StatusCode, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, status.as_str()])
            .inc();
        self.request_seconds
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    fn refusal(&self, refusal: Refusal) {
        self.refusals.with_label_values(&[refusal.as_str()]).inc();
        let limit = match refusal {
            Refusal::LinkLimit => Some("link"),
            Refusal::CookieLimit => Some("cookie"),
            Refusal::ApiKeyLimit => Some("api_key"),
            Refusal::LoginLimit => Some("login"),
            _ => None,
        };
        if let Some(limit) = limit {
            self.rate_limited.with_label_values(&[limit]).inc();
        }
    }
}

/// Counts committed changes: the engine's listener.
impl EventListener for Metrics {
    fn on_event(&self, event: &SessionEvent) {
        self.sessions
            .with_label_values(&[event.kind.as_str()])
            .inc();
    }

    /// Counting needs no order, so the engine takes no lock for it.
    fn needs_order(&self) -> bool {
        false
    }
}

/// The method's label: one of the usual methods, else `other` (one label, not one per spelling a
/// client invents).
fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request by route, method and status, and every refusal by reason. Its
/// state is shared (`Arc`), so that a request clones one pointer, not every series.
///
/// Give it to the router with `Router::layer`: the router wraps each of its routes (and its
/// fallback) in it, after routing, so that a matched request carries its route's template
/// ([`MatchedPath`], a shared string: no copy) and an unmatched one none (`unmatched`).
///
/// A hand-written tower layer rather than `axum::middleware::from_fn_with_state`: `from_fn`
/// clones and boxes the inner service again for every request, which cost more than the counting
/// (`hot_paths layers-empty` under callgrind).
#[derive(Debug, Clone)]
pub(crate) struct TrackLayer {
    metrics: Arc<Metrics>,
}

impl TrackLayer {
    /// The layer, counting into `metrics`.
    pub(crate) fn new(metrics: &Metrics) -> TrackLayer {
        TrackLayer {
            metrics: Arc::new(metrics.clone()),
        }
    }
}

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// The service of [`TrackLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Track<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> TrackFuture<S::Future> {
        TrackFuture {
            route: request.extensions().get::<MatchedPath>().cloned(),
            method: method_label(request.method()),
            started: Instant::now(),
            inner: self.inner.call(request),
            metrics: Arc::clone(&self.metrics),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Track`]: counts the request when its response is ready.
    pub(crate) struct TrackFuture<F> {
        #[pin]
        inner: F,
        metrics: Arc<Metrics>,
        route: Option<MatchedPath>,
        method: &'static str,
        started: Instant,
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &output {
            let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            this.metrics
                .response(response, route, this.method, *this.started);
        }
        Poll::Ready(output)
    }
}

impl Metrics {
    /// Counts one answered request: its route, method, status and time, and what it refused or
    /// decided.
    fn response(&self, response: &Response, route: &str, method: &'static str, started: Instant) {
        self.request(
            route,
            method,
            response.status(),
            started.elapsed().as_secs_f64(),
        );
        if let Some(refusal) = response.extensions().get::<Refusal>() {
            self.refusal(*refusal);
        }
        if let Some(outcome) = response.extensions().get::<RecoveryOutcome>() {
            self.recovery_requests
                .with_label_values(&[outcome.as_str()])
                .inc();
        }
        if let Some(outcome) = response.extensions().get::<LoginOutcome>() {
            self.login_requests
                .with_label_values(&[outcome.as_str()])
                .inc();
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(metrics): State<Metrics>) -> Response {
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
