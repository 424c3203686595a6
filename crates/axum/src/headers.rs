//! The headers the router puts on its answers: `/v1`'s, every page's, and HSTS when the host asks.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// `Strict-Transport-Security` for a year, this host only (see
/// [`PortalService::strict_transport_security`](crate::PortalService::strict_transport_security)).
pub(crate) async fn strict_transport_security(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    response
}

/// `Cache-Control: no-store` on every `/v1` response: the create response carries the link token,
/// and no answer about sessions should sit in a cache. `X-Content-Type-Options: nosniff` too: an
/// answer is JSON, never to be run or rendered as something a browser guessed.
pub(crate) async fn api_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The headers every link and portal page carries (no caching, no referrer, no framing, a strict
/// Content-Security-Policy), as middleware: layer it over your own portal pages with
/// `axum::middleware::from_fn(page_headers)`. The portal's pages allow only their own inline code,
/// by nonce; a page that sets no policy of its own gets one that runs no script and allows inline
/// styles.
pub async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let framable = response.extensions().get::<Framable>().is_some();
    set_page_headers(response.headers_mut(), framable);
    response
}

/// On a page's response: the page may be framed by the origins its Content-Security-Policy's
/// `frame-ancestors` names, so it gets no `X-Frame-Options: DENY` (which would forbid every
/// frame, whatever the policy says, in browsers that read it first).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framable;

pub(crate) fn set_page_headers(headers: &mut HeaderMap, framable: bool) {
    // Named by the `http` crate's constants (a name given as text is parsed on every insert) and
    // room made once: measured, these inserts were a tenth of a redeem's instructions.
    headers.reserve(5);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !framable {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    // The portal's own pages set a policy with their nonce; a page without one (a host's) gets
    // one that runs no script at all and allows inline styles only.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
                 script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
}
