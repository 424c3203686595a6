//! The HTTP client that POSTs webhook deliveries.
//!
//! It is hyper-util's pooled client (`hyper_util::client::legacy::Client`, the one reqwest is
//! built on) over hyper-rustls, with rustls on the ring provider and the Mozilla roots of
//! `webpki-roots`, all of which the server already builds for its own HTTP and for PostgreSQL's
//! TLS. reqwest 0.12 (`default-features = false`, `rustls-tls-webpki-roots`) reuses the same ring
//! and roots but also brings `url` with IDNA and ICU4X's normalizer (some twenty crates) and
//! rebuilds tokio and syn with more features: measured on this two-core machine, it adds about
//! 35 s to a clean debug build of the server, where hyper-util's client adds about 7 s (three small
//! crates, hyper-rustls, want and try-lock, and hyper's client half). reqwest 0.13's rustls
//! features bring aws-lc-rs, or rustls-platform-verifier even without a provider. What reqwest
//! would add here, a whole-request timeout and no redirects, is a `tokio::time::timeout` and
//! hyper's default.
//!
//! Redirects are not followed: a `3xx` is not a `2xx`, so it is a failed delivery, retried (a
//! receiver that moved must be reconfigured; following it would send signed events wherever a
//! compromised receiver points). No proxy is used.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// How much of a receiver's answer is read (and thrown away) so that its connection can be
/// reused.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why a POST got no status.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The receiver did not answer (connect, send and the status line) in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed: refused, reset, DNS, TLS.
    #[error("the request failed")]
    Request(#[source] hyper_util::client::legacy::Error),
    /// The request could not be built (a header value the client refuses).
    #[error("the request could not be built")]
    Build(#[source] axum::http::Error),
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot configure TLS for webhooks")]
pub struct ClientError(#[source] rustls::Error);

/// A pooled HTTP/1.1 client, plain or TLS, with a whole-request timeout.
#[derive(Clone)]
pub struct Poster {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poster")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Poster {
    /// A client whose requests each get `timeout` to be answered.
    ///
    /// # Errors
    ///
    /// When rustls refuses its own safe defaults (it does not).
    pub fn new(timeout: Duration) -> Result<Poster, ClientError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(ClientError)?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Poster { client, timeout })
    }

    /// POSTs `body` as JSON to `url` with the `Portal-Signature` header, and answers the status.
    ///
    /// # Errors
    ///
    /// [`PostError`] when no status came back in time.
    pub async fn post(
        &self,
        url: &Uri,
        signature: &str,
        body: Bytes,
    ) -> Result<StatusCode, PostError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                concat!("portal-sessions-server/", env!("CARGO_PKG_VERSION")),
            )
            .header(portal_sessions::webhook::SIGNATURE_HEADER, signature)
            .body(Full::new(body))
            .map_err(PostError::Build)?;
        let started = tokio::time::Instant::now();
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| PostError::Timeout(self.timeout))?
            .map_err(PostError::Request)?;
        let status = response.status();
        // Read what is left of the answer within the same deadline, so that the connection can go
        // back to the pool; whatever happens to it, the status is the answer.
        let left = self.timeout.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(
            left,
            Limited::new(response.into_body(), MAX_ANSWER_BYTES).collect(),
        )
        .await;
        Ok(status)
    }
}
