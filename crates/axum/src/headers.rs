//! The headers the router puts on its answers: `/v1`'s, every page's, and HSTS when the host asks.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::framing::{Framing, HEIGHT_SCRIPT_SOURCE};

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
///
/// A page is framed by no other page's, unless its response carries the session's
/// [`Framing`] ([`Viewer::framing`](crate::Viewer::framing)): then, for an organisation that
/// lists frame ancestors, the policy names them as its `frame-ancestors`, there is no
/// `X-Frame-Options: DENY`, and the only script it runs is
/// [`Framing::height_script`].
pub async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    // Read, not taken: a response that passes this layer twice (a host page's refusal, which the
    // extractor already dressed) is dressed the same way again.
    let framing = response.extensions().get::<Framing>().cloned();
    set_page_headers(response.headers_mut(), framing.as_ref());
    response
}

/// The page headers, framed as `framing` allows (by no page when `None`).
pub(crate) fn set_page_headers(headers: &mut HeaderMap, framing: Option<&Framing>) {
    let framing = framing.filter(|framing| framing.is_framable());
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
    if framing.is_none() {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    // The portal's own pages set a policy with their nonce; a page without one (a host's) gets
    // one that runs no script at all (a framed one: the height script alone) and allows inline
    // styles only.
    if headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        return;
    }
    let policy = match framing {
        None => HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
             script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        Some(framing) => {
            let policy = format!(
                "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
                 script-src {}; form-action 'self'; frame-ancestors {}; base-uri 'none'",
                *HEIGHT_SCRIPT_SOURCE,
                framing.directive()
            );
            match HeaderValue::from_str(&policy) {
                Ok(policy) => policy,
                // Cannot happen: origins are checked to be URL characters. Never framed if it does.
                Err(_) => {
                    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
                    HeaderValue::from_static(
                        "default-src 'none'; script-src 'none'; frame-ancestors 'none'",
                    )
                }
            }
        }
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
}
