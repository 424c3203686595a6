//! What POSTs a delivery: the [`WebhookClient`] trait.

use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};

/// One POST the deliverer asks for: `body` (the event's JSON) with `headers` (`Content-Type`,
/// `User-Agent` and the `Portal-Signature`) to `url`, answered within `timeout`.
///
/// Its `Debug` shows the URL's host only (a path or a query may hold a receiver's key), the header
/// names and the body's length.
#[non_exhaustive]
pub struct WebhookRequest {
    /// Where to POST.
    pub url: Uri,
    /// The headers to send, as they are.
    pub headers: HeaderMap,
    /// The body to send, as it is (the signature covers its bytes).
    pub body: Bytes,
    /// How long the whole request may take, connecting included, up to the status line.
    pub timeout: Duration,
}

impl WebhookRequest {
    /// A POST of `body` to `url` without headers, to be answered within `timeout` (to test a
    /// client; the deliverer makes its own).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum::http::{HeaderValue, header};
    /// use portal_sessions_axum::webhooks::WebhookRequest;
    ///
    /// let url = "https://hooks.example.com/portal".parse()?;
    /// let mut request = WebhookRequest::new(url, "{}".into(), Duration::from_secs(5));
    /// request.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    /// # Ok::<(), axum::http::uri::InvalidUri>(())
    /// ```
    pub fn new(url: Uri, body: Bytes, timeout: Duration) -> WebhookRequest {
        WebhookRequest {
            url,
            headers: HeaderMap::new(),
            body,
            timeout,
        }
    }
}

impl std::fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("host", &self.url.host())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a POST got no status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostError {
    /// The receiver did not answer (connect, send and the status line) in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The request failed: refused, reset, DNS, TLS, or it could not be built. The source must
    /// not name the URL's query or a header's value.
    #[error("the request failed")]
    Request(#[source] portal_sessions::BoxError),
}

/// The HTTP client the deliverer POSTs with: "POST these bytes with these headers to this URL,
/// within this timeout, and tell me the status or the error". [`HyperClient`][hyper-client] (feature
/// `webhook-client`) is one; implement it over the client your service already has.
///
/// Follow no redirect (a `3xx` is then a failed delivery, retried: a receiver that moved must be
/// reconfigured, and following it would send signed events wherever a compromised receiver
/// points), and give up at `timeout` (the deliverer also stops waiting a second after it).
///
/// # Examples
///
/// Over reqwest (built with `redirect::Policy::none()`):
///
/// ```ignore
/// use axum::http::StatusCode;
/// use portal_sessions_axum::async_trait;
/// use portal_sessions_axum::webhooks::{PostError, WebhookClient, WebhookRequest};
///
/// struct Reqwest(reqwest::Client);
///
/// #[async_trait]
/// impl WebhookClient for Reqwest {
///     async fn post(&self, request: WebhookRequest) -> Result<StatusCode, PostError> {
///         let sent = self.0.post(request.url.to_string())
///             .headers(request.headers)
///             .body(request.body)
///             .timeout(request.timeout)
///             .send()
///             .await;
///         match sent {
///             Ok(response) => Ok(response.status()),
///             Err(error) if error.is_timeout() => Err(PostError::Timeout(request.timeout)),
///             Err(error) => Err(PostError::Request(Box::new(error.without_url()))),
///         }
///     }
/// }
/// ```
#[cfg_attr(
    feature = "webhook-client",
    doc = "\n[hyper-client]: super::HyperClient\n"
)]
#[cfg_attr(
    not(feature = "webhook-client"),
    doc = "\n[hyper-client]: WebhookClient\n"
)]
#[async_trait]
pub trait WebhookClient: Send + Sync + 'static {
    /// POSTs the request and answers the status the receiver gave, whatever it is.
    ///
    /// # Errors
    ///
    /// [`PostError`] when no status came back in time.
    async fn post(&self, request: WebhookRequest) -> Result<StatusCode, PostError>;
}

/// A shared client is one.
#[async_trait]
impl<C: WebhookClient + ?Sized> WebhookClient for std::sync::Arc<C> {
    async fn post(&self, request: WebhookRequest) -> Result<StatusCode, PostError> {
        (**self).post(request).await
    }
}
