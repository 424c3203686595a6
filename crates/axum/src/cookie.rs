//! The viewer cookie: its name (by scheme and mount), its attributes, and reading it back.
//!
//! Over https the cookie carries a name prefix that browsers only accept from a secure origin:
//! `__Host-` at the root of a host (`Path=/`), `__Secure-` under a prefix. Over plain http
//! (development) it is `portal_session`.

use axum::http::{HeaderMap, header};
use portal_sessions::ViewerToken;

use crate::mount::Mount;

/// The viewer cookie's name over plain http.
const COOKIE: &str = "portal_session";
/// Its name over https at the root of a host (`Path=/`).
const HOST_COOKIE: &str = "__Host-portal_session";
/// Its name over https under a prefix.
const SECURE_COOKIE: &str = "__Secure-portal_session";

/// What a request's viewer cookie holds.
pub(crate) enum ViewerCookie {
    /// No cookie of ours.
    Missing,
    /// A cookie of ours whose value is not a viewer token.
    Malformed,
    /// A well-formed viewer token (not yet checked against the store).
    Token(ViewerToken),
}

/// How a service names, sets and reads its viewer cookie.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ViewerCookies {
    /// Over https: the prefixed names and `Secure`.
    pub(crate) secure: bool,
}

impl ViewerCookies {
    fn name(self, mount: &Mount) -> &'static str {
        match (self.secure, mount.prefix().is_empty()) {
            (true, true) => HOST_COOKIE,
            (true, false) => SECURE_COOKIE,
            (false, _) => COOKIE,
        }
    }

    /// A `Set-Cookie` value for the viewer token (an empty value and 0 seconds clears it).
    ///
    /// `framed` is for an organisation whose pages may be framed by other sites: the cookie is
    /// then `SameSite=None; Secure; Partitioned`, which a cross-site frame sends and keeps (in its
    /// own partition: the same portal opened at the top level does not see it). Browsers take
    /// `Secure` from an https page, and from `localhost` in development.
    pub(crate) fn set(
        self,
        mount: &Mount,
        value: &str,
        max_age_seconds: u64,
        framed: bool,
    ) -> String {
        let attributes = match (framed, self.secure) {
            (true, _) => "; SameSite=None; Secure; Partitioned",
            (false, true) => "; SameSite=Lax; Secure",
            (false, false) => "; SameSite=Lax",
        };
        // Put together part by part: through `format!`, this line cost a redeem more than its
        // redirect did (callgrind of `hot_paths http-redeem`).
        let mut digits = itoa::Buffer::new();
        let max_age = digits.format(max_age_seconds);
        let parts = [
            self.name(mount),
            "=",
            value,
            "; HttpOnly; Path=",
            mount.cookie_path(),
            "; Max-Age=",
            max_age,
            attributes,
        ];
        let mut cookie = String::with_capacity(parts.iter().map(|part| part.len()).sum());
        for part in parts {
            cookie.push_str(part);
        }
        cookie
    }

    /// The viewer cookie of a request: none, a value that is not a viewer token, or a token. Over
    /// https both prefixed names are read (both are names a browser only accepts from a secure
    /// origin).
    pub(crate) fn read(self, headers: &HeaderMap) -> ViewerCookie {
        let names: &[&str] = if self.secure {
            &[HOST_COOKIE, SECURE_COOKIE]
        } else {
            &[COOKIE]
        };
        let mut found = ViewerCookie::Missing;
        let values = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| names.contains(name));
        for (_, value) in values {
            match value.parse() {
                Ok(token) => return ViewerCookie::Token(token),
                Err(_) => found = ViewerCookie::Malformed,
            }
        }
        found
    }

    /// The viewer token of the request's cookie, if there is a well-formed one.
    pub(crate) fn token(self, headers: &HeaderMap) -> Option<ViewerToken> {
        match self.read(headers) {
            ViewerCookie::Token(token) => Some(token),
            ViewerCookie::Missing | ViewerCookie::Malformed => None,
        }
    }
}
