//! A request log that never writes a link token: [`RequestLogLayer`].

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::OriginalUri;
use axum::http::{Method, Request, Response, Uri};
use tower::{Layer, Service};

/// The longest request path a log line shows, in bytes (then `…<cut>`).
pub const LOGGED_PATH_BYTES: usize = 256;

/// The path as it may be logged. Link tokens are secrets: the segment after an `r` segment (a
/// link's, under any mount: `/billing/r/{token}`) and every segment that holds `mgl_` (a token
/// wherever it is, in any case, percent-encoded or not) become `<link>`. A path longer than
/// [`LOGGED_PATH_BYTES`] is cut there (at a character boundary) and ends in `…<cut>`, so a client
/// cannot make log lines as long as it likes.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::loggable_path;
///
/// assert_eq!(loggable_path("/r/mgl_abc"), "/r/<link>");
/// assert_eq!(loggable_path("/billing/r/mgl_abc/x"), "/billing/r/<link>/x");
/// assert_eq!(loggable_path("/a/MGL%5Fabc"), "/a/<link>");
/// assert_eq!(loggable_path("/v1/portal-sessions"), "/v1/portal-sessions");
/// assert!(loggable_path(&"/x".repeat(5_000)).ends_with("…<cut>"));
/// ```
pub fn loggable_path(path: &str) -> String {
    shown_path(path).into_owned()
}

/// [`loggable_path`], borrowed from `path` when no segment of it is replaced and it is not cut:
/// what a request's log line writes without a copy of its path.
fn shown_path(path: &str) -> Cow<'_, str> {
    if path.len() <= LOGGED_PATH_BYTES && !redacts(path) {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(redacted(path))
    }
}

/// The segments of `path`, each with whether it is replaced by `<link>`: the segment after an `r`
/// segment, and any segment that [holds a link token](holds_link_token). The one statement of
/// the rule, for [`redacts`] and [`redacted`].
fn segments(path: &str) -> impl Iterator<Item = (&str, bool)> {
    path.split('/').scan(false, |after_r, segment| {
        let replaced = *after_r || holds_link_token(segment);
        *after_r = segment == "r";
        Some((segment, replaced))
    })
}

/// Whether [`redacted`] replaces a segment of `path`.
fn redacts(path: &str) -> bool {
    segments(path).any(|(_, replaced)| replaced)
}

/// `path` with its link tokens replaced and cut to [`LOGGED_PATH_BYTES`]: see [`loggable_path`].
fn redacted(path: &str) -> String {
    let mut shown = String::with_capacity(path.len().min(LOGGED_PATH_BYTES + 16));
    for (n, (segment, replaced)) in segments(path).enumerate() {
        if n > 0 {
            shown.push('/');
        }
        shown.push_str(if replaced { "<link>" } else { segment });
        if shown.len() > LOGGED_PATH_BYTES {
            let mut end = LOGGED_PATH_BYTES;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push_str("…<cut>");
            break;
        }
    }
    shown
}

/// Whether a path segment holds a link token's prefix, `mgl_` (or `mgl%5F`), in any case.
fn holds_link_token(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes
        .windows(4)
        .any(|window| window.eq_ignore_ascii_case(b"mgl_"))
        || bytes
            .windows(6)
            .any(|window| window.eq_ignore_ascii_case(b"mgl%5f"))
}

/// A tower layer that logs every request through `tracing`, at `INFO`, as the message `request`
/// with the fields `method`, `path` ([`loggable_path`]: link tokens redacted, cut to
/// [`LOGGED_PATH_BYTES`]), `status` and `micros` (the time to the response head). The query
/// string, headers and cookies are never logged.
///
/// Links are bearer secrets in the path (`/billing/r/mgl_...`): a host that logs request paths
/// itself (`tower_http::trace::TraceLayer`'s default spans, an access log of its own) writes
/// every link it serves into its logs, where anyone who reads them can open the portal. Log with
/// this layer instead, or feed your own log the path through [`loggable_path`].
///
/// Put it outermost, around the router the portal is nested in, so that the path is the whole
/// one; inside a nest it logs the path the request came with ([`OriginalUri`]) where axum set it.
///
/// # Examples
///
/// ```
/// use axum::Router;
/// use axum::routing::get;
/// use portal_sessions_axum::RequestLogLayer;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "my app" }))
///     // .nest("/billing", portal.router())
///     .layer(RequestLogLayer::new());
/// ```
///
/// A request to `/billing/r/mgl_...` then logs
/// `INFO request method=POST path="/billing/r/<link>" status=303 micros=812`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLogLayer {
    _private: (),
}

impl RequestLogLayer {
    /// The layer.
    pub fn new() -> RequestLogLayer {
        RequestLogLayer::default()
    }
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog { inner }
    }
}

/// The service of [`RequestLogLayer`], around `S`.
#[derive(Debug, Clone)]
pub struct RequestLog<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for RequestLog<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = RequestLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> RequestLogFuture<S::Future> {
        // The URI, not its loggable path: a clone shares the request's bytes, and the path is
        // copied only when something in it must be redacted or cut, once the response is ready.
        let uri = match request.extensions().get::<OriginalUri>() {
            Some(OriginalUri(uri)) => uri.clone(),
            None => request.uri().clone(),
        };
        RequestLogFuture {
            method: request.method().clone(),
            uri,
            started: Instant::now(),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestLog`]: logs when the response head is ready.
    pub struct RequestLogFuture<F> {
        #[pin]
        inner: F,
        method: Method,
        uri: Uri,
        started: Instant,
    }
}

impl<F> std::fmt::Debug for RequestLogFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLogFuture")
            .field("method", &self.method)
            .field("path", &shown_path(self.uri.path()))
            .finish_non_exhaustive()
    }
}

impl<F, R, E> Future for RequestLogFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &output {
            // The message as a string field, first as the macro would put it: a subscriber
            // writes it as it writes `"request"` given as the format string, without `core::fmt`.
            tracing::info!(
                message = "request",
                method = %this.method,
                path = &*shown_path(this.uri.path()),
                status = response.status().as_u16(),
                micros = u64::try_from(this.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            );
        }
        Poll::Ready(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_wherever_they_are_and_long_paths_are_cut() {
        assert_eq!(loggable_path("/billing/r/x"), "/billing/r/<link>");
        assert_eq!(loggable_path("/r/"), "/r/<link>");
        assert_eq!(loggable_path("/a/xMgL_y/b"), "/a/<link>/b");
        assert_eq!(loggable_path("/portal/logout"), "/portal/logout");
        let long = format!("/{}", "é".repeat(400));
        let shown = loggable_path(&long);
        assert!(shown.ends_with("…<cut>"), "{shown}");
        assert!(shown.len() <= LOGGED_PATH_BYTES + "…<cut>".len());
    }

    #[test]
    fn a_path_is_borrowed_when_no_segment_in_it_is_replaced_and_it_is_not_cut() {
        let at_limit = format!("/{}", "a".repeat(LOGGED_PATH_BYTES - 1));
        let over_limit = format!("/{}", "a".repeat(LOGGED_PATH_BYTES));
        let paths = [
            "",
            "/",
            "/r",
            "/r/",
            "r/x",
            "/a/r",
            "/a/r/b/c",
            "/rr/x",
            "/x/MGL%5fy",
            "/x/mgl",
            "/v1/portal-sessions",
            at_limit.as_str(),
            over_limit.as_str(),
        ];
        for path in paths {
            let shown = shown_path(path);
            assert_eq!(shown, redacted(path), "{path}");
            // Borrowed unless a segment is replaced or the path cut (`/r/<link>` is replaced by
            // the same text: a copy, equal).
            let borrowed = matches!(shown, Cow::Borrowed(_));
            let unchanged = path.len() <= LOGGED_PATH_BYTES && !redacts(path);
            assert_eq!(borrowed, unchanged, "{path}");
            if redacted(path) != path {
                assert!(!borrowed, "{path}");
            }
        }
        assert!(matches!(shown_path("/r/<link>"), Cow::Owned(_)));
        assert_eq!(shown_path("/r/<link>"), "/r/<link>");
        assert!(matches!(shown_path(&at_limit), Cow::Borrowed(_)));
        assert!(matches!(shown_path(&over_limit), Cow::Owned(_)));
    }
}
