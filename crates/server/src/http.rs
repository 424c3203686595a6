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

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

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
    /// After SIGTERM, the longest the server waits for open connections before it exits.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    /// Heads in 10 s, bodies in 30 s, 1024 connections, 10 s of grace.
    fn default() -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then for at most the grace period.
///
/// Every request carries `ConnectInfo<SocketAddr>` of its connection, as
/// `into_make_service_with_connect_info` would give.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) {
    // The body timeout bounds each wait for the next piece of a body; the request deadline bounds
    // the whole (a client trickling one byte just inside each wait is answered 408 at the
    // deadline, and its connection closed, since its body was not read to the end).
    let app = app
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.body_timeout,
        ));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
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
    }
}
