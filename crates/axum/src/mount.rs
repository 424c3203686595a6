//! Where the router is mounted: the path prefix a host's `Router::nest` put in front of it.
//!
//! Nothing is configured: axum keeps the request's path as the client sent it in [`OriginalUri`]
//! and hands a nested router the rest, so the prefix is the original path minus what the router
//! sees. Links, redirects, form actions and the cookie's `Path` are built from it, so the same
//! router works at `/`, under `/billing`, or under two prefixes at once.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;

/// The prefix the router is mounted under, `""` at the root, else `/billing`-like: starts with `/`,
/// no trailing `/`, and only characters that are safe unquoted in a URL path, a `Location` header
/// and a cookie's `Path` attribute (others are percent-encoded, so a prefix taken from a path
/// parameter cannot inject a cookie attribute).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mount(String);

impl Mount {
    /// The mount of a request whose router saw `parts.uri`.
    pub(crate) fn of(parts: &Parts) -> Mount {
        let seen = parts.uri.path();
        let prefix = parts
            .extensions
            .get::<OriginalUri>()
            .and_then(|OriginalUri(original)| original.path().strip_suffix(seen))
            .unwrap_or_default();
        Mount::new(prefix)
    }

    /// A mount from a prefix, made safe as [`Mount`] says.
    pub(crate) fn new(prefix: &str) -> Mount {
        let mut safe = String::with_capacity(prefix.len());
        for byte in prefix.trim_end_matches('/').bytes() {
            if byte.is_ascii_alphanumeric()
                || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~' | b'%')
            {
                safe.push(char::from(byte));
            } else {
                safe.push_str(&format!("%{byte:02X}"));
            }
        }
        if !safe.is_empty() && !safe.starts_with('/') {
            safe.insert(0, '/');
        }
        Mount(safe)
    }

    /// The prefix itself: `""` or `/billing`.
    pub(crate) fn prefix(&self) -> &str {
        &self.0
    }

    /// The path of `route` (which starts with `/`) under this mount: `/billing/portal`.
    pub(crate) fn path(&self, route: &str) -> String {
        let mut path = String::with_capacity(self.0.len() + route.len());
        path.push_str(&self.0);
        path.push_str(route);
        path
    }

    /// The cookie `Path` that covers the whole mount: `/` at the root.
    pub(crate) fn cookie_path(&self) -> &str {
        if self.0.is_empty() { "/" } else { &self.0 }
    }
}

impl<T: Send + Sync> FromRequestParts<T> for Mount {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &T) -> Result<Mount, Infallible> {
        Ok(Mount::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Request, Uri};

    use super::*;

    fn parts(original: &str, seen: &str) -> Parts {
        let (mut parts, ()) = Request::builder()
            .uri(seen)
            .body(())
            .unwrap_or_else(|e| panic!("{e}"))
            .into_parts();
        let original: Uri = original.parse().unwrap_or_else(|e| panic!("{e}"));
        parts.extensions.insert(OriginalUri(original));
        parts
    }

    #[test]
    fn the_prefix_is_what_nesting_stripped() {
        assert_eq!(Mount::of(&parts("/portal", "/portal")).prefix(), "");
        assert_eq!(
            Mount::of(&parts("/billing/portal?x=1", "/portal")).prefix(),
            "/billing"
        );
        assert_eq!(
            Mount::of(&parts("/a/b/r/mgl_x", "/r/mgl_x")).path("/portal"),
            "/a/b/portal"
        );
        assert_eq!(Mount::of(&parts("/portal", "/portal")).cookie_path(), "/");
        assert_eq!(Mount::new("/billing/").cookie_path(), "/billing");
    }

    #[test]
    fn a_prefix_cannot_inject_a_cookie_attribute() {
        let mount = Mount::new("/t;Domain=evil.test, x\"y");
        assert_eq!(mount.prefix(), "/t%3BDomain%3Devil.test%2C%20x%22y");
    }
}
