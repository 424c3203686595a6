//! How the server holds connections: bounded in number, in how long a client may take to send a
//! request head and body, and in how long shutdown may wait for them.
//!
//! `axum::serve` sets no timeouts, so a client that sends half a request head, or promises a body
//! and trickles it, holds its connection (and a file descriptor) forever, and keeps a graceful
//! shutdown waiting. Here hyper's HTTP/1 connection builder reads each request head within
//! [`HttpLimits::header_timeout`] (hyper arms that timer whenever it waits for a head, so it also
//! closes a kept-alive connection that stays idle that long); tower-http's timeouts bound each
//! wait for a piece of a body and the whole request ([`HttpLimits::body_timeout`]); a semaphore
//! caps open connections (past the cap the server stops accepting,
//! and the kernel's backlog holds newcomers); and shutdown asks every connection to finish, then
//! gives up on the ones still open after [`HttpLimits::shutdown_grace`].
//!
//! One client must not take every slot of that semaphore: each client (an IPv4 address or an IPv6
//! /64, as the rate limits count them: [`ClientKey`]) may hold at most
//! [`HttpLimits::max_connections_per_client`] connections. A connection past that is closed as
//! soon as it is accepted, without an answer and without taking a slot, so the accept loop goes
//! straight on to the next one: a client opening thousands of connections costs the others one
//! accept and one close each, never a wait. Reverse proxies (`trusted_proxies`) carry many clients
//! on their connections and are not counted.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use portal_sessions_axum::{ClientKey, TrustedProxies};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};
use tower_http::timeout::RequestBodyTimeout;

/// The server's connection limits (the `[http]` table of the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// The longest a client may take to send a request head, or stay idle between requests.
    pub header_timeout: Duration,
    /// The longest a request may take from its head to its answer, its body included (and the
    /// longest wait for each piece of a body): a body that trickles in is answered 408 past it.
    pub body_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
    /// The most connections one client (an IPv4 address, an IPv6 /64) may have open at once; a
    /// trusted proxy is not limited. To keep one client from taking every connection, keep it
    /// below [`max_connections`](Self::max_connections).
    pub max_connections_per_client: usize,
    /// After SIGTERM, the longest the server waits for open connections before it exits.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    /// Heads in 10 s, bodies in 30 s, 1024 connections, 256 of them per client, 10 s of grace.
    fn default() -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_connections_per_client: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The open connections of each client, bounded by [`HttpLimits::max_connections_per_client`].
struct PerClient {
    max: usize,
    exempt: TrustedProxies,
    open: Arc<Mutex<HashMap<ClientKey, Count>>>,
}

/// One client's open connections, and whether its refusals were logged since it had none.
#[derive(Debug, Default)]
struct Count {
    open: usize,
    warned: bool,
}

/// A counted connection: dropping it (when the connection ends) uncounts it.
struct Admitted {
    key: ClientKey,
    open: Arc<Mutex<HashMap<ClientKey, Count>>>,
}

impl PerClient {
    fn new(max: usize, exempt: TrustedProxies) -> PerClient {
        PerClient {
            max: max.max(1),
            exempt,
            open: Arc::default(),
        }
    }

    /// Counts a new connection from `ip`: `Ok(None)` for a trusted proxy (not counted),
    /// `Ok(Some(_))` while it holds it, `Err` when the client already has its most.
    fn admit(&self, ip: IpAddr) -> Result<Option<Admitted>, ()> {
        if self.exempt.trusts(ip) {
            return Ok(None);
        }
        let key = ClientKey::of(ip);
        let mut open = lock(&self.open);
        let count = open.entry(key).or_default();
        if count.open >= self.max {
            if !count.warned {
                count.warned = true;
                tracing::warn!(client = %key, max = self.max, "a client holds its most connections: closing its new ones unanswered");
            }
            return Err(());
        }
        count.open += 1;
        Ok(Some(Admitted {
            key,
            open: Arc::clone(&self.open),
        }))
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.key) {
            count.open = count.open.saturating_sub(1);
            if count.open == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The counts, even after a panic elsewhere while they were held: they are plain numbers.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What [`serve`] serves: `app` inside the request timeouts. The body timeout bounds each wait
/// for the next piece of a body; the request deadline ([`HttpLimits::body_timeout`] too) bounds
/// the whole (a client trickling one byte just inside each wait is answered 408 at the deadline,
/// and its connection closed, since its body was not read to the end).
///
/// The timeouts wrap the router as a whole, not each of its routes (`Router::layer` wraps every
/// route in a service of its own, which each request clones and calls again); and the router's
/// handlers are made services once (`with_state(())`, as `axum::serve`'s `into_make_service`
/// does), not for every request. Public so that profilers can run what the server serves in
/// process (`benches/examples/hot_paths.rs`).
pub fn request_timeouts(
    app: Router,
    limits: &HttpLimits,
) -> RequestDeadline<RequestBodyTimeout<Router>> {
    RequestDeadline {
        inner: RequestBodyTimeout::new(app.with_state(()), limits.body_timeout),
        timeout: limits.body_timeout,
    }
}

/// Answers `408 Request Timeout` to a request its service has not answered within `timeout` of
/// the call (what `tower_http`'s `TimeoutLayer` does), with the timer armed only once the service
/// has to wait: a request answered on its first poll, as most are, never touches the runtime's
/// timers (`TimeoutLayer` registers and removes a timer for every request).
#[derive(Debug, Clone)]
pub struct RequestDeadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S, B> Service<Request<B>> for RequestDeadline<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> DeadlineFuture<S::Future> {
        DeadlineFuture {
            inner: self.inner.call(request),
            deadline: tokio::time::Instant::now() + self.timeout,
            timer: None,
        }
    }
}

/// The response future of [`RequestDeadline`].
#[derive(Debug)]
pub struct DeadlineFuture<F> {
    inner: F,
    deadline: tokio::time::Instant,
    /// Armed at the first poll that finds the service waiting.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<F, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(output) = Pin::new(&mut this.inner).poll(cx) {
            return Poll::Ready(output);
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                let mut response = Response::default();
                *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
                Poll::Ready(Ok(response))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then for at most the grace period.
/// Connections from `proxies` are not counted per client.
///
/// Every request carries `ConnectInfo<SocketAddr>` of its connection, as
/// `into_make_service_with_connect_info` would give.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    proxies: TrustedProxies,
    shutdown: impl Future<Output = ()>,
) {
    let app = request_timeouts(app, &limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_client = PerClient::new(limits.max_connections_per_client, proxies);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted: wait a
                    // moment rather than spin, and go on.
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Past its most, a client's connection is closed now, unanswered; the slot goes to the
        // next connection.
        let Ok(admitted) = per_client.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let service = app
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
            drop(admitted);
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every connection closed"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace = ?limits.shutdown_grace, "shutdown grace period over: dropping the connections still open");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_bound_everything() {
        let limits = HttpLimits::default();
        assert!(limits.header_timeout > Duration::ZERO && limits.body_timeout > Duration::ZERO);
        assert!(limits.max_connections > 0 && limits.shutdown_grace > Duration::ZERO);
        assert!(limits.max_connections_per_client < limits.max_connections);
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn each_client_holds_at_most_its_share_and_proxies_are_not_counted() {
        let proxy: ipnet::IpNet = "10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"));
        let per_client = PerClient::new(3, TrustedProxies::new([proxy]));
        let held: Vec<Admitted> = (1..=3)
            .map(|n| {
                per_client
                    .admit(ip(&format!("2001:db8:0:7::{n}")))
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| panic!("connection {n} refused"))
            })
            .collect();
        assert!(
            per_client.admit(ip("2001:db8:0:7::99")).is_err(),
            "a fourth connection from the same /64"
        );
        assert!(
            per_client.admit(ip("2001:db8:0:8::1")).is_ok(),
            "another /64"
        );
        assert!(per_client.admit(ip("192.0.2.1")).is_ok(), "another client");
        for _ in 0..10 {
            assert!(matches!(per_client.admit(ip("10.1.2.3")), Ok(None)));
        }
        drop(held);
        assert!(
            per_client.admit(ip("2001:db8:0:7::1")).is_ok(),
            "closed connections are uncounted"
        );
        assert_eq!(lock(&per_client.open).len(), 0, "nobody is left counted");
    }
}
