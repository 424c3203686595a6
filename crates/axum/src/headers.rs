//! The headers the router puts on its answers: `/v1`'s, every page's, and HSTS when the host asks.
//!
//! The router sets them with [`dress`]: a plain function of the response under
//! `tower`'s `MapResponseLayer`, which neither clones the inner service nor boxes its future for
//! each request (as `axum::middleware::from_fn` and `map_response` do: measured, that was a
//! tenth of an empty handler's instructions).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower::util::MapResponseLayer;

use crate::framing::{Framing, HEIGHT_SCRIPT_SOURCE};

/// A function that puts headers on a response.
pub(crate) type Dress = fn(Response) -> Response;

/// The layer that puts `headers`' headers on every response of the service it wraps.
pub(crate) fn dress(headers: Dress) -> MapResponseLayer<Dress> {
    MapResponseLayer::new(headers)
}

/// `Strict-Transport-Security` for a year, this host only (see
/// [`PortalService::strict_transport_security`](crate::PortalService::strict_transport_security)).
pub(crate) fn strict_transport_security(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    response
}

/// [`api_headers`], then [`strict_transport_security`]: the API's headers when the host asks for
/// HSTS, as one function, so that the router wraps its routes in one layer rather than two.
pub(crate) fn api_headers_and_hsts(response: Response) -> Response {
    strict_transport_security(api_headers(response))
}

/// [`dress_page`], then [`strict_transport_security`]: a page's headers when the host asks for
/// HSTS, as one function (see [`api_headers_and_hsts`]).
pub(crate) fn dress_page_and_hsts(response: Response) -> Response {
    strict_transport_security(dress_page(response))
}

/// `Cache-Control: no-store` on every `/v1` response: the create response carries the link token,
/// and no answer about sessions should sit in a cache. `X-Content-Type-Options: nosniff` too: an
/// answer is JSON, never to be run or rendered as something a browser guessed.
pub(crate) fn api_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.reserve(2);
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
/// `X-Frame-Options: DENY`, and the only script it runs is [`Framing::height_script`]. A page
/// that sets a policy of its own keeps it, and gets a second one,
/// `frame-ancestors <those origins>`, which the browser enforces beside it (so allow the height
/// script in yours). A layer outside this one must not replace the policy.
pub async fn page_headers(request: Request, next: Next) -> Response {
    dress_page(next.run(request).await)
}

/// What [`page_headers`] does to a response.
pub(crate) fn dress_page(mut response: Response) -> Response {
    // Read, not taken: a response that passes this layer twice (a host page's refusal, which the
    // extractor already dressed) is dressed the same way again.
    let framing = response.extensions().get::<Framing>().cloned();
    set_page_headers(response.headers_mut(), framing.as_ref());
    response
}

/// How many headers [`set_page_headers`] adds, at most: the three every page gets, an
/// `X-Frame-Options` and a policy.
pub(crate) const PAGE_HEADERS: usize = 5;

/// The page headers, framed as `framing` allows (by no page when `None`).
pub(crate) fn set_page_headers(headers: &mut HeaderMap, framing: Option<&Framing>) {
    let framing = framing.filter(|framing| framing.is_framable());
    // Named by the `http` crate's constants (a name given as text is parsed on every insert) and
    // room made once: measured, these inserts were a tenth of a redeem's instructions.
    headers.reserve(PAGE_HEADERS);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let Some(framing) = framing else {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        // The portal's own pages set a policy with their nonce; a page without one (a host's)
        // gets one that runs no script at all and allows inline styles only.
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
                     script-src 'none'; form-action 'self'; frame-ancestors 'none'; \
                     base-uri 'none'",
                ),
            );
        }
        return;
    };
    let ancestors = framing.directive();
    let policy = if headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        // A policy the page set itself. The portal's own name exactly these ancestors; any other
        // (a host page's, which may name none, or any) gets a second policy that does: a browser
        // enforces every policy it is sent, so the page is framed by these origins at most.
        let named = format!("frame-ancestors {ancestors}");
        let named_within = format!("{named};");
        let names_them = headers
            .get_all(header::CONTENT_SECURITY_POLICY)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.contains(&named_within) || value.ends_with(&named));
        if names_them {
            return;
        }
        named
    } else {
        // A host page's: the height script is the only script it runs.
        format!(
            "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
             script-src {}; form-action 'self'; frame-ancestors {ancestors}; base-uri 'none'",
            *HEIGHT_SCRIPT_SOURCE,
        )
    };
    match HeaderValue::from_str(&policy) {
        Ok(policy) => {
            headers.append(header::CONTENT_SECURITY_POLICY, policy);
        }
        // Cannot happen: origins are checked to be URL characters. Never framed if it does.
        Err(_) => {
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.append(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::frame_ancestor::FrameAncestor;

    fn framing() -> Framing {
        Framing::new([FrameAncestor::new("https://app.example.com").unwrap()])
    }

    fn policies(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(header::CONTENT_SECURITY_POLICY)
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect()
    }

    #[test]
    fn a_page_without_framing_is_framed_by_none() {
        for framing in [None, Some(Framing::none())] {
            let mut headers = HeaderMap::new();
            set_page_headers(&mut headers, framing.as_ref());
            assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
            let policies = policies(&headers);
            assert_eq!(policies.len(), 1);
            assert!(policies[0].contains("script-src 'none'"));
            assert!(policies[0].contains("frame-ancestors 'none'"));
        }
    }

    #[test]
    fn a_framed_host_page_names_its_ancestors_and_runs_the_height_script_alone() {
        let mut headers = HeaderMap::new();
        set_page_headers(&mut headers, Some(&framing()));
        assert!(!headers.contains_key(header::X_FRAME_OPTIONS));
        let policies = policies(&headers);
        assert_eq!(policies.len(), 1);
        assert!(
            policies[0].contains(&format!("script-src {};", *HEIGHT_SCRIPT_SOURCE))
                && policies[0].contains("frame-ancestors https://app.example.com;"),
            "{}",
            policies[0]
        );
        // A second pass (the extractor's refusal, then the layer) changes nothing.
        let before = headers.clone();
        set_page_headers(&mut headers, Some(&framing()));
        assert_eq!(headers, before);
    }

    #[test]
    fn a_framed_page_with_a_policy_of_its_own_is_still_framed_by_its_ancestors_only() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'self'; frame-ancestors *"),
        );
        set_page_headers(&mut headers, Some(&framing()));
        assert!(!headers.contains_key(header::X_FRAME_OPTIONS));
        assert_eq!(
            policies(&headers),
            [
                "script-src 'self'; frame-ancestors *",
                "frame-ancestors https://app.example.com"
            ]
        );
        let before = headers.clone();
        set_page_headers(&mut headers, Some(&framing()));
        assert_eq!(headers, before, "named once, however many passes");

        // The portal's own page names them already: nothing is added.
        let mut headers = HeaderMap::new();
        let own = "default-src 'none'; frame-ancestors https://app.example.com; base-uri 'none'";
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(own),
        );
        set_page_headers(&mut headers, Some(&framing()));
        assert_eq!(policies(&headers), [own]);
    }
}
