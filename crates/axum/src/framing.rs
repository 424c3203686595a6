//! [`Framing`]: which pages of other sites may show a page in a frame, and the script that tells
//! those pages how tall the frame must be.
//!
//! An organisation that lists [`Branding::frame_ancestors`](crate::Branding::frame_ancestors) has
//! its link and portal pages framed by those origins; the host's own portal pages follow when the
//! host passes the session's framing on ([`Viewer::framing`](crate::Viewer::framing)).

use std::convert::Infallible;
use std::sync::{Arc, LazyLock};

use axum::response::{IntoResponseParts, ResponseParts};
use base64::Engine as _;
use maud::{Markup, PreEscaped, html};
use sha2::Digest as _;

use crate::frame_ancestor::FrameAncestor;

/// Who may frame a page: an organisation's [`frame_ancestors`](crate::Branding::frame_ancestors),
/// or nobody. Returned with a host page's response, it tells [`page_headers`](crate::page_headers)
/// to send `Content-Security-Policy: frame-ancestors <those origins>` and no
/// `X-Frame-Options: DENY`, as the portal's own pages of that organisation do. A response without
/// one is never framed.
///
/// Get it from [`Viewer::framing`](crate::Viewer::framing); put
/// [`height_script`](Self::height_script) at the end of the page's `<body>` so that the page
/// framing it can size the frame (the default policy [`page_headers`](crate::page_headers) gives a
/// framed host page allows that script, by its hash, and no other).
///
/// # Examples
///
/// ```
/// use axum::response::{Html, IntoResponse};
/// use portal_sessions_axum::Viewer;
///
/// // Layered with `axum::middleware::from_fn(page_headers)`, under the portal's mount.
/// async fn usage_page(viewer: Viewer) -> impl IntoResponse {
///     let framing = viewer.framing().await;
///     let page = format!(
///         "<!doctype html><title>Usage</title><body><h1>Usage of {}</h1>{}</body>",
///         "…", // the host's own content, escaped by the host's templates
///         framing.height_script(),
///     );
///     (framing, Html(page))
/// }
/// # let _ = usage_page;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Framing {
    ancestors: Arc<[FrameAncestor]>,
}

impl Framing {
    /// Framed by `ancestors`' pages only; by none when it is empty.
    pub(crate) fn new(ancestors: impl IntoIterator<Item = FrameAncestor>) -> Framing {
        Framing {
            ancestors: ancestors.into_iter().collect(),
        }
    }

    /// Framed by no page: `X-Frame-Options: DENY` and `frame-ancestors 'none'` (the same as
    /// [`Framing::default`]).
    pub fn none() -> Framing {
        Framing::default()
    }

    /// Whether some origin may frame the page.
    pub fn is_framable(&self) -> bool {
        !self.ancestors.is_empty()
    }

    /// The origins that may frame the page.
    pub fn ancestors(&self) -> &[FrameAncestor] {
        &self.ancestors
    }

    /// The value of a `frame-ancestors` directive: the origins, or `'none'`.
    pub(crate) fn directive(&self) -> String {
        if self.ancestors.is_empty() {
            return "'none'".to_owned();
        }
        let origins: Vec<&str> = self.ancestors.iter().map(FrameAncestor::as_str).collect();
        origins.join(" ")
    }

    /// The `<script>` element that tells the framing page this page's height, now and whenever it
    /// changes, as `{"type": "portal-sessions:height", "height": <px>}` posted to each allowed
    /// origin (the browser drops a message whose target is not the parent's origin). Empty when
    /// no page may frame this one. Its text is constant (the origins are in its data attribute),
    /// so a Content-Security-Policy allows it by hash: the default policy of
    /// [`page_headers`](crate::page_headers) does.
    ///
    /// Write it into the page as it is: unescaped (in a template that escapes, as raw HTML:
    /// maud's `PreEscaped`, askama's `|safe`) and byte for byte, since a minifier that rewrites
    /// inline scripts changes the hash and the browser then refuses to run it.
    pub fn height_script(&self) -> String {
        self.height_script_markup(None).into_string()
    }

    /// [`height_script`](Self::height_script), allowed by `nonce` where the page has one.
    pub(crate) fn height_script_markup(&self, nonce: Option<&str>) -> Markup {
        if self.ancestors.is_empty() {
            return html! {};
        }
        let origins: Vec<&str> = self.ancestors.iter().map(FrameAncestor::as_str).collect();
        // Origins are checked to be made of URL characters, so this cannot fail; an empty list
        // would only mean no height is told.
        let targets = serde_json::to_string(&origins).unwrap_or_else(|_| "[]".to_owned());
        html! {
            script nonce=[nonce] data-portal-frame-ancestors=(targets) {
                (PreEscaped(TELL_THE_FRAME_ITS_HEIGHT))
            }
        }
    }
}

/// On a response, for [`page_headers`](crate::page_headers) to read.
impl IntoResponseParts for Framing {
    type Error = Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Infallible> {
        parts.extensions_mut().insert(self);
        Ok(parts)
    }
}

/// The script [`Framing::height_script`] writes. The origins come from its own element's data
/// attribute. The height is the root element's, the content's own: a frame's `scrollHeight` is
/// never less than the frame, so a shorter page loaded into a tall frame would never shrink it.
const TELL_THE_FRAME_ITS_HEIGHT: &str = "(function(){if(window.parent===window)return;\
var s=document.currentScript;\
var o=JSON.parse(s&&s.dataset.portalFrameAncestors||'[]');\
function tell(){var h=Math.ceil(document.documentElement.getBoundingClientRect().height);\
o.forEach(function(t){window.parent.postMessage({type:'portal-sessions:height',height:h},t);});}\
tell();if(window.ResizeObserver){new ResizeObserver(tell).observe(document.body);}})();";

/// `'sha256-…'`: the Content-Security-Policy source that allows [`TELL_THE_FRAME_ITS_HEIGHT`] and
/// no other script.
pub(crate) static HEIGHT_SCRIPT_SOURCE: LazyLock<String> = LazyLock::new(|| {
    let digest = sha2::Sha256::digest(TELL_THE_FRAME_ITS_HEIGHT.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
});

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn framing() -> Framing {
        Framing::new([
            FrameAncestor::new("https://app.example.com").unwrap(),
            FrameAncestor::new("http://localhost:3000").unwrap(),
        ])
    }

    #[test]
    fn the_directive_lists_the_origins_or_none() {
        assert_eq!(
            framing().directive(),
            "https://app.example.com http://localhost:3000"
        );
        assert_eq!(Framing::none().directive(), "'none'");
    }

    #[test]
    fn the_script_carries_its_targets_and_nothing_when_unframed() {
        let script = framing().height_script();
        assert!(
            script.starts_with(
                "<script data-portal-frame-ancestors=\"[&quot;https://app.example.com&quot;,\
                 &quot;http://localhost:3000&quot;]\">"
            ),
            "{script}"
        );
        assert!(script.contains(TELL_THE_FRAME_ITS_HEIGHT));
        assert_eq!(Framing::none().height_script(), "");
    }

    #[test]
    fn the_policy_source_is_the_hash_of_the_text_the_browser_runs() {
        // A browser hashes the element's text exactly as written between its tags.
        let script = framing().height_script();
        let text = &script[script.find('>').unwrap() + 1..script.rfind("</script>").unwrap()];
        let digest = sha2::Sha256::digest(text.as_bytes());
        let expected = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        assert_eq!(*HEIGHT_SCRIPT_SOURCE, expected);
        // Pinned (computed apart, with Python's hashlib): a change to the script is deliberate,
        // and host pages that copied the hash into a policy of their own must follow it.
        assert_eq!(
            *HEIGHT_SCRIPT_SOURCE,
            "'sha256-Q+q0b5zhRRYI7lNDJ2SRJPvby1njPplf5XfRZpUW260='"
        );
    }
}
