//! [`FrameAncestor`]: an origin whose pages may show an organisation's portal in a frame.

use serde::Deserialize;

/// An origin (`scheme://host[:port]`, nothing after it) allowed to frame an organisation's link
/// and portal pages: `https`, or `http` on a loopback host (`localhost`, `127.0.0.1`, `[::1]`)
/// for development. No path, no wildcard: a page the host does not own can never frame the
/// portal.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::FrameAncestor;
///
/// let app = FrameAncestor::new("https://app.example.com")?;
/// assert_eq!(app.as_str(), "https://app.example.com");
/// assert!(FrameAncestor::new("https://*.example.com").is_err());
/// assert!(FrameAncestor::new("https://app.example.com/billing").is_err());
/// assert!(FrameAncestor::new("http://app.example.com").is_err());
/// assert!(FrameAncestor::new("http://localhost:3000").is_ok());
/// # Ok::<(), portal_sessions_axum::InvalidFrameAncestor>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct FrameAncestor(String);

/// Why a text is not a [`FrameAncestor`]. It never repeats the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be an origin like https://app.example.com (https, or http on localhost, 127.0.0.1 or \
     [::1]; a host and an optional port, no path, no wildcard)"
)]
pub struct InvalidFrameAncestor;

impl FrameAncestor {
    /// Checks `origin` and keeps it in lower case.
    ///
    /// # Errors
    ///
    /// [`InvalidFrameAncestor`] for anything but `https://host[:port]`, or `http://` to a
    /// loopback host.
    pub fn new(origin: &str) -> Result<FrameAncestor, InvalidFrameAncestor> {
        let origin = origin.to_ascii_lowercase();
        let (https, authority) = if let Some(rest) = origin.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = origin.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(InvalidFrameAncestor);
        };
        let (host, port) = split_port(authority).ok_or(InvalidFrameAncestor)?;
        if port.is_some_and(|port| port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
            || port.is_some_and(|port| port.parse::<u16>().is_err())
        {
            return Err(InvalidFrameAncestor);
        }
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        let host_ok = loopback
            || (!host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && !host.starts_with(['.', '-'])
                && !host.ends_with(['.', '-']));
        if !host_ok || !(https || loopback) {
            return Err(InvalidFrameAncestor);
        }
        Ok(FrameAncestor(origin))
    }

    /// The origin, as a `frame-ancestors` source and a `postMessage` target.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `host[:port]`, the host keeping the brackets of an IPv6 address.
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => Some((host, None)),
            _ => rest.strip_prefix(':').map(|port| (host, Some(port))),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => Some((host, Some(port))),
            None => Some((authority, None)),
        }
    }
}

impl TryFrom<String> for FrameAncestor {
    type Error = InvalidFrameAncestor;

    fn try_from(origin: String) -> Result<FrameAncestor, InvalidFrameAncestor> {
        FrameAncestor::new(&origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_exactly() {
        for good in [
            "https://app.example.com",
            "https://APP.example.com:8443",
            "http://localhost:3000",
            "http://127.0.0.1:41234",
            "http://[::1]:8080",
            "https://[::1]",
        ] {
            assert!(FrameAncestor::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "app.example.com",
            "https://",
            "https://app.example.com/",
            "https://app.example.com/billing",
            "https://*.example.com",
            "*",
            "'self'",
            "http://app.example.com",
            "https://app.example.com:",
            "https://app.example.com:99999",
            "https://user@app.example.com",
            "https://app.example.com?x",
            "https://app example.com",
            "https://app.example.com; script-src *",
            "data:",
        ] {
            assert_eq!(
                FrameAncestor::new(bad),
                Err(InvalidFrameAncestor),
                "{bad:?}"
            );
        }
    }
}
