//! One webhook: where an organisation's events are POSTed, and the secret they are signed with.

use std::collections::HashSet;

use axum::http::Uri;

/// One webhook of an organisation: where events are POSTed, and the secret they are signed with.
/// Its `Debug` shows the URL without its query, and never the secret.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::webhooks::{Webhook, WebhookError};
///
/// let hook = Webhook::new("https://hooks.example.com/portal", "whsec_3a9c1f0e5b7d2a4c6e8f0b1d")?;
/// assert_eq!(hook.host(), "hooks.example.com");
/// assert_eq!(
///     Webhook::new("https://hooks.example.com/portal", "whsec_short").err(),
///     Some(WebhookError::Secret)
/// );
/// # Ok::<(), WebhookError>(())
/// ```
#[derive(Clone)]
pub struct Webhook {
    url: Uri,
    host: String,
    pub(super) secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = match (self.url.scheme_str(), self.url.authority()) {
            (Some(scheme), Some(authority)) => {
                // Userinfo is refused at parse time, so the authority is host and port.
                format!("{scheme}://{authority}{}", self.url.path())
            }
            _ => self.url.path().to_owned(),
        };
        f.debug_struct("Webhook")
            .field("url", &shown)
            .field("secret", &"whsec_***")
            .finish()
    }
}

/// Whether `secret` is a webhook secret worth the name: `whsec_`, then at least 24 printable
/// characters without spaces, at least 10 of them different.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::webhooks::is_strong_webhook_secret;
///
/// assert!(is_strong_webhook_secret("whsec_3a9c1f0e5b7d2a4c6e8f0b1d"));
/// assert!(!is_strong_webhook_secret("whsec_aaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
/// ```
pub fn is_strong_webhook_secret(secret: &str) -> bool {
    let Some(rest) = secret.strip_prefix("whsec_") else {
        return false;
    };
    let distinct: HashSet<u8> = rest.bytes().collect();
    rest.len() >= 24 && rest.bytes().all(|b| b.is_ascii_graphic()) && distinct.len() >= 10
}

impl Webhook {
    /// A webhook to `url`, signed with `secret`. Plain `http` is taken, for receivers on the same
    /// host or network.
    ///
    /// # Errors
    ///
    /// The reason, naming neither value: the URL must be an absolute `http` or `https` URL without
    /// credentials or fragment ([`WebhookError::Url`]), the secret `whsec_` and at least 24
    /// characters ([`WebhookError::Secret`], [`is_strong_webhook_secret`]).
    pub fn new(url: &str, secret: &str) -> Result<Webhook, WebhookError> {
        let authority = url.split_once("://").map_or("", |(_, rest)| {
            rest.split(['/', '?', '#']).next().unwrap_or_default()
        });
        if portal_sessions::validate_return_url(url).is_err()
            || url.contains('#')
            || authority.contains('@')
        {
            return Err(WebhookError::Url);
        }
        let url: Uri = url.parse().map_err(|_| WebhookError::Url)?;
        let host = url.host().ok_or(WebhookError::Url)?.to_owned();
        if !is_strong_webhook_secret(secret) {
            return Err(WebhookError::Secret);
        }
        Ok(Webhook {
            url,
            host,
            secret: secret.to_owned(),
        })
    }

    /// Where events are POSTed.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The URL's host: what the logs name.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Why a webhook is refused. Never contains the URL or the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not one to POST to.
    #[error(
        "must be an absolute http or https URL, without user:password@ or #fragment \
         (the signature authenticates the sender)"
    )]
    Url,
    /// The secret is too weak.
    #[error(
        "must be whsec_ followed by at least 24 printable characters without spaces, at least 10 \
         of them different (generate one, for example with `openssl rand -hex 24`)"
    )]
    Secret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_checked_and_debug_hides_the_secret() {
        let secret = "whsec_3a9c1f0e5b7d2a4c6e8f0b1d3f5a";
        let hook = Webhook::new("https://hooks.example.com/in?key=abc", secret)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hook.host(), "hooks.example.com");
        let shown = format!("{hook:?}");
        assert!(shown.contains("https://hooks.example.com/in"), "{shown}");
        assert!(
            !shown.contains(secret) && !shown.contains("key=abc"),
            "{shown}"
        );
        for url in [
            "ftp://x.example/",
            "/relative",
            "https://user:pw@x.example/",
            "https://x.example/#frag",
            "https:///nohost",
        ] {
            assert_eq!(
                Webhook::new(url, secret).err(),
                Some(WebhookError::Url),
                "{url}"
            );
        }
        for weak in [
            "whsec_short",
            "sk_3a9c1f0e5b7d2a4c6e8f0b1d3f5a",
            "whsec_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "whsec_3a9c1f0e5b7d 2a4c6e8f0b1d3f5a",
        ] {
            assert_eq!(
                Webhook::new("https://x.example/", weak).err(),
                Some(WebhookError::Secret)
            );
        }
        assert!(
            Webhook::new("http://127.0.0.1:9/hook", secret).is_ok(),
            "plain http, for receivers on the same host or network"
        );
    }
}
