//! The ready HTTP client of the `webhook-client` feature: [`HyperClient`].
//!
//! It is hyper-util's pooled client (`hyper_util::client::legacy::Client`, the one reqwest is
//! built on) over hyper-rustls, with rustls on the ring provider and the Mozilla roots of
//! `webpki-roots`, which a service that talks to PostgreSQL over TLS already builds. reqwest 0.12
//! (`default-features = false`, `rustls-tls-webpki-roots`) reuses the same ring and roots but also
//! brings `url` with IDNA and ICU4X's normalizer (some twenty crates) and rebuilds tokio and syn
//! with more features: measured on a two-core machine, it adds about 35 s to a clean debug build of
//! the portal-sessions server, where hyper-util's client adds about 7 s (three small crates,
//! hyper-rustls, want and try-lock, and hyper's client half). reqwest 0.13's rustls features bring
//! aws-lc-rs, or rustls-platform-verifier even without a provider. What reqwest would add here, a
//! whole-request timeout and no redirects, is a `tokio::time::timeout` and hyper's default.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{PostError, WebhookClient, WebhookRequest};

/// How much of a receiver's answer is read (and thrown away) so that its connection can be
/// reused.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot configure TLS for webhooks")]
pub struct ClientError(#[source] rustls::Error);

/// A pooled HTTP/1.1 client, plain or TLS (rustls on ring, the Mozilla roots), with a
/// whole-request timeout: the [`WebhookClient`] of the `webhook-client` feature.
///
/// Redirects are not followed: a `3xx` is not a `2xx`, so it is a failed delivery, retried. No
/// proxy is used. Connections idle for 30 s are closed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions_axum::webhooks::HyperClient;
///
/// let client = HyperClient::new(Duration::from_secs(10))?;
/// # Ok::<(), portal_sessions_axum::webhooks::ClientError>(())
/// ```
#[derive(Clone)]
pub struct HyperClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperClient").finish_non_exhaustive()
    }
}

impl HyperClient {
    /// A client whose connections each get `connect_timeout` to be set up, even those a request
    /// that gave up started (pass the deliverer's
    /// [`request_timeout`](super::DeliverySettings::request_timeout)).
    ///
    /// # Errors
    ///
    /// [`ClientError`] when rustls refuses its own safe defaults (it does not).
    pub fn new(connect_timeout: Duration) -> Result<HyperClient, ClientError> {
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
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(HyperClient { client })
    }
}

#[async_trait]
impl WebhookClient for HyperClient {
    async fn post(&self, request: WebhookRequest) -> Result<StatusCode, PostError> {
        let WebhookRequest {
            url,
            headers,
            body,
            timeout,
        } = request;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = url;
        *request.headers_mut() = headers;
        let started = tokio::time::Instant::now();
        let response = tokio::time::timeout(timeout, self.client.request(request))
            .await
            .map_err(|_| PostError::Timeout(timeout))?
            .map_err(|error| PostError::Request(Box::new(error)))?;
        let status = response.status();
        // Read what is left of the answer within the same deadline, so that the connection can go
        // back to the pool; whatever happens to it, the status is the answer.
        let left = timeout.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(
            left,
            Limited::new(response.into_body(), MAX_ANSWER_BYTES).collect(),
        )
        .await;
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use portal_sessions::ErrorChain;

    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_an_error_that_prints_its_cause_once() {
        let client = HyperClient::new(Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
        let posted = client
            .post(WebhookRequest::new(
                "http://127.0.0.1:1/hook?key=k3y"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
                Bytes::from_static(b"{}"),
                Duration::from_secs(5),
            ))
            .await;
        let Err(error) = posted else {
            panic!("port 1 answered");
        };
        assert!(matches!(error, PostError::Request(_)), "{error:?}");
        assert!(error.source().is_some());
        let line = ErrorChain(&error).to_string();
        assert_eq!(
            line.matches("onnection refused").count(),
            1,
            "the refusal is printed once: {line}"
        );
        assert!(!line.contains("k3y"), "{line}");
    }
}
