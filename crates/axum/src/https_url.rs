//! [`HttpsUrl`]: a link the portal may send a customer to outside itself (an invoice's payment
//! page, its PDF), checked once when it is made.

use serde::Deserialize;

/// An absolute `https` URL of at most 2048 printable ASCII characters: what an invoice's Pay and
/// PDF links may be. Made only through [`HttpsUrl::new`] (or deserialized through it), so a
/// `javascript:` or plain `http:` link can never reach a page.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::HttpsUrl;
///
/// let pay = HttpsUrl::new("https://pay.example.com/inv/42")?;
/// assert_eq!(pay.as_str(), "https://pay.example.com/inv/42");
/// assert!(HttpsUrl::new("http://pay.example.com/inv/42").is_err());
/// assert!(HttpsUrl::new("javascript:alert(1)").is_err());
/// # Ok::<(), portal_sessions_axum::NotHttps>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct HttpsUrl(String);

/// Why a text is not an [`HttpsUrl`]. It never repeats the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an absolute https URL of at most 2048 printable characters")]
pub struct NotHttps;

impl HttpsUrl {
    /// Checks `url`.
    ///
    /// # Errors
    ///
    /// [`NotHttps`] for anything but an absolute `https` URL with a host, of at most 2048
    /// printable ASCII characters.
    pub fn new(url: impl Into<String>) -> Result<HttpsUrl, NotHttps> {
        let url = url.into();
        let https = url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        if https && portal_sessions::validate_return_url(&url).is_ok() {
            Ok(HttpsUrl(url))
        } else {
            Err(NotHttps)
        }
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HttpsUrl {
    type Error = NotHttps;

    fn try_from(url: String) -> Result<HttpsUrl, NotHttps> {
        HttpsUrl::new(url)
    }
}

impl std::fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_with_a_host_passes() {
        for good in ["https://pay.example.com/x?y=1", "HTTPS://PAY.EXAMPLE.COM/"] {
            assert!(HttpsUrl::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "https://",
            "http://pay.example.com/",
            "javascript:alert(1)",
            "//pay.example.com/",
            "https://pay.example.com/ space",
            "https://pay.example.com/\u{7}",
        ] {
            assert_eq!(HttpsUrl::new(bad), Err(NotHttps), "{bad:?}");
        }
        let long = format!("https://pay.example.com/{}", "a".repeat(2048));
        assert_eq!(HttpsUrl::new(long), Err(NotHttps));
    }
}
