//! What callers ask of the [`Engine`](crate::Engine), and how requests are validated.
//!
//! Validation happens before anything is stored, so a refused request changes nothing.

use std::net::Ipv6Addr;
use std::time::Duration;

use crate::feature::Features;
use crate::id::{CustomerId, SessionId};
use crate::locale::Locale;
use crate::record::{
    CustomerSnapshot, DeepLink, MAX_EMAIL_BYTES, MAX_EXTERNAL_ID_CHARS, MAX_NAME_BYTES,
    MAX_RETURN_URL_CHARS,
};

/// How many sessions a list returns when the caller does not say.
pub const DEFAULT_LIST_LIMIT: usize = 10;
/// The most sessions one list returns.
pub const MAX_LIST_LIMIT: usize = 100;
/// The shortest lifetime a create may ask for ([`CreateRequest::expires_in`]): one minute.
pub const MIN_REQUESTED_TTL: Duration = Duration::from_secs(60);

/// A request to mint a portal session.
///
/// # Examples
///
/// ```
/// use portal_sessions::CreateRequest;
///
/// let request = CreateRequest::for_external_id("acme-001")
///     .with_return_url("https://app.example.com/billing")
///     .with_locale("fr-CA".parse()?)
///     .expiring_in(std::time::Duration::from_secs(10 * 60))
///     .invalidating_existing();
/// assert_eq!(request.customer_external_id.as_deref(), Some("acme-001"));
/// # Ok::<(), portal_sessions::InvalidLocale>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct CreateRequest {
    /// The customer's internal id.
    pub customer_id: Option<CustomerId>,
    /// The customer's external id. When both ids are given they must name the same customer.
    pub customer_external_id: Option<String>,
    /// An absolute http or https URL the portal links back to.
    pub return_url: Option<String>,
    /// The features to mint the session with; all four when `None`.
    pub features: Option<Features>,
    /// The language of the session's pages; `None` leaves it to the visitor's browser.
    pub locale: Option<Locale>,
    /// How long the session lasts, from [`MIN_REQUESTED_TTL`] to the engine's configured lifetime
    /// (whole milliseconds); the configured lifetime when `None`.
    pub expires_in: Option<Duration>,
    /// Also revoke the customer's other live sessions (those whose link can be opened or whose
    /// portal is open), in the same call: once it returns, none of the sessions the customer had
    /// before is live.
    pub invalidate_existing: bool,
    /// Whether the session's link, once used or expired, may ask for a new one by email (when its
    /// organisation has recovery on). `true` by default; `false` for sensitive flows.
    pub recovery: bool,
    /// Where the portal opens when the link is redeemed: an invoice (the session needs the
    /// `invoices` feature) or a section (one of the session's features).
    pub deep_link: Option<DeepLink>,
}

impl Default for CreateRequest {
    /// No customer yet, every default, recovery allowed.
    fn default() -> CreateRequest {
        CreateRequest {
            customer_id: None,
            customer_external_id: None,
            return_url: None,
            features: None,
            locale: None,
            expires_in: None,
            invalidate_existing: false,
            recovery: true,
            deep_link: None,
        }
    }
}

impl CreateRequest {
    /// A request for the customer with this internal id.
    pub fn for_customer_id(id: CustomerId) -> CreateRequest {
        CreateRequest {
            customer_id: Some(id),
            ..CreateRequest::default()
        }
    }

    /// A request for the customer with this external id.
    pub fn for_external_id(external_id: impl Into<String>) -> CreateRequest {
        CreateRequest {
            customer_external_id: Some(external_id.into()),
            ..CreateRequest::default()
        }
    }

    /// The same request with a return URL.
    pub fn with_return_url(mut self, url: impl Into<String>) -> CreateRequest {
        self.return_url = Some(url.into());
        self
    }

    /// The same request with these features.
    pub fn with_features(mut self, features: Features) -> CreateRequest {
        self.features = Some(features);
        self
    }

    /// The same request with pages in this locale.
    pub fn with_locale(mut self, locale: Locale) -> CreateRequest {
        self.locale = Some(locale);
        self
    }

    /// The same request for a session that lasts `lifetime`.
    pub fn expiring_in(mut self, lifetime: Duration) -> CreateRequest {
        self.expires_in = Some(lifetime);
        self
    }

    /// The same request, revoking the customer's other live sessions.
    pub fn invalidating_existing(mut self) -> CreateRequest {
        self.invalidate_existing = true;
        self
    }

    /// Opens the portal on `link` when the link is redeemed.
    pub fn opening(mut self, link: DeepLink) -> CreateRequest {
        self.deep_link = Some(link);
        self
    }

    /// Opts the session out of recovery: once used or expired, its link cannot ask for a new one.
    pub fn without_recovery(mut self) -> CreateRequest {
        self.recovery = false;
        self
    }
}

/// A customer, named by the caller either way: what a customer-wide revocation or a list filter
/// takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerRef {
    /// By the customer's internal id.
    Id(CustomerId),
    /// By the embedding application's own id, resolved through the
    /// [`CustomerDirectory`](crate::CustomerDirectory).
    ExternalId(String),
}

impl CustomerRef {
    /// The customer named by at most one of two optional ids, as a query string carries them.
    ///
    /// # Errors
    ///
    /// [`InvalidRequest::TwoCustomers`] when both are given; the external id's own checks
    /// ([`validate_external_id`]).
    pub fn from_parts(
        id: Option<CustomerId>,
        external_id: Option<String>,
    ) -> Result<Option<CustomerRef>, InvalidRequest> {
        match (id, external_id) {
            (Some(_), Some(_)) => Err(InvalidRequest::TwoCustomers),
            (Some(id), None) => Ok(Some(CustomerRef::Id(id))),
            (None, Some(external_id)) => {
                validate_external_id(&external_id)?;
                Ok(Some(CustomerRef::ExternalId(external_id)))
            }
            (None, None) => Ok(None),
        }
    }
}

/// Which sessions a list returns, by status: [`ListOptions::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum StatusFilter {
    /// Links that can still be opened ([`Status::Issued`](crate::Status::Issued)).
    Openable,
    /// Links that were used and whose portal is still open
    /// ([`Status::Active`](crate::Status::Active)).
    Active,
    /// Links that were used, whatever happened since.
    Used,
    /// Sessions that expired without being revoked ([`Status::Expired`](crate::Status::Expired)).
    Expired,
    /// Revoked sessions ([`Status::Revoked`](crate::Status::Revoked)).
    Revoked,
}

/// What [`Engine::list`](crate::Engine::list) returns.
///
/// # Examples
///
/// ```
/// use portal_sessions::{ListOptions, StatusFilter};
///
/// // Did acme-001 open any of its links? The 100 most recent used ones.
/// let options = ListOptions {
///     customer_external_id: Some("acme-001".into()),
///     status: Some(StatusFilter::Used),
///     limit: 100,
///     ..ListOptions::default()
/// };
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ListOptions {
    /// Only this customer's sessions.
    pub customer_id: Option<CustomerId>,
    /// Only the sessions of the customer with this external id (not with `customer_id`).
    pub customer_external_id: Option<String>,
    /// At most this many, from 1 to [`MAX_LIST_LIMIT`].
    pub limit: usize,
    /// Also used, revoked and expired sessions (ignored when `status` is set).
    pub include_expired: bool,
    /// Only sessions with this status, over all of them; when `None`, openable sessions (or every
    /// session with `include_expired`).
    pub status: Option<StatusFilter>,
    /// The page after this session: only sessions that come after it in list order.
    pub starting_after: Option<SessionId>,
}

impl Default for ListOptions {
    /// The API's defaults: every customer, [`DEFAULT_LIST_LIMIT`], openable sessions, from the
    /// newest.
    fn default() -> ListOptions {
        ListOptions {
            customer_id: None,
            customer_external_id: None,
            limit: DEFAULT_LIST_LIMIT,
            include_expired: false,
            status: None,
            starting_after: None,
        }
    }
}

/// Why a request was refused before anything happened.
///
/// The messages speak of the request's parts in the words of this crate's types (an HTTP layer maps
/// each variant to its own field names) and never echo the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// Neither customer id was given.
    #[error("a customer id or an external id is required")]
    MissingCustomer,
    /// The external id is empty or longer than 255 characters.
    #[error("the external id must be between 1 and 255 characters")]
    ExternalIdLength,
    /// The external id contains control characters.
    #[error("the external id must not contain control characters")]
    ExternalIdCharacters,
    /// Both ids were given and they name different customers.
    #[error("the customer id and the external id name different customers")]
    CustomerMismatch,
    /// The return URL is not an absolute http or https URL of at most 2048 characters.
    #[error("the return URL must be an absolute http or https URL of at most 2048 characters")]
    ReturnUrl,
    /// The list limit is outside 1..=100.
    #[error("the list limit must be between 1 and 100")]
    Limit,
    /// A requested lifetime is shorter than a minute or longer than the configured lifetime.
    #[error("the session lifetime must be between 60 seconds and the configured lifetime")]
    Lifetime,
    /// A list or revocation named its customer both ways; it takes one.
    #[error("name the customer by its id or by its external id, not both")]
    TwoCustomers,
    /// The session a list should start after is not one of the organisation's.
    #[error("the session to start after is not one of this organisation's")]
    StartingAfter,
    /// The directory's customer does not fit a session record.
    #[error("the customer's name, email or external id is too long or contains control characters")]
    CustomerRecord,
    /// The invoice to open is not an invoice number (1 to 64 characters, no control
    /// characters), or the session does not show invoices.
    #[error(
        "invoice must be an invoice number of 1 to 64 characters without control characters, for \
         a session that shows invoices"
    )]
    DeepLinkInvoice,
    /// The section to open is not one the session shows.
    #[error("section must be one of the session's features")]
    DeepLinkSection,
}

/// Checks an external id: 1 to 255 characters, no control characters.
///
/// # Errors
///
/// [`InvalidRequest::ExternalIdLength`] or [`InvalidRequest::ExternalIdCharacters`].
pub fn validate_external_id(external_id: &str) -> Result<(), InvalidRequest> {
    let chars = external_id.chars().count();
    if chars == 0 || chars > MAX_EXTERNAL_ID_CHARS {
        return Err(InvalidRequest::ExternalIdLength);
    }
    if has_control(external_id) {
        return Err(InvalidRequest::ExternalIdCharacters);
    }
    Ok(())
}

/// Whether `text` has a control character (Unicode's category Cc: U+0000 to U+001F and U+007F to
/// U+009F), in one pass over the bytes without decoding: this runs on every create.
///
/// In UTF-8 the C0 controls and DEL are the bytes `0x00..=0x1F` and `0x7F`, which never occur inside
/// a multi-byte character, and the C1 controls are exactly the two-byte sequences `0xC2 0x80..=0x9F`.
/// A `&str` is valid UTF-8, so a `0xC2` byte always starts a character and the pair test is exact.
fn has_control(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Printable ASCII throughout, as almost every name and id is: no control. A fold rather than
    // `any`, so that the loop has no early exit and compiles to vector instructions.
    let outside_printable_ascii = bytes
        .iter()
        .fold(false, |found, &byte| found | !(0x20..0x7F).contains(&byte));
    if !outside_printable_ascii {
        return false;
    }
    bytes.iter().enumerate().any(|(at, &byte)| {
        byte < 0x20
            || byte == 0x7F
            || (byte == 0xC2
                && bytes
                    .get(at + 1)
                    .is_some_and(|next| (0x80..=0x9F).contains(next)))
    })
}

/// Checks a return URL: absolute `http` or `https`, a non-empty host, at most 2048 printable ASCII
/// characters (a URL with non-ASCII text must be percent-encoded, as RFC 3986 says).
///
/// # Errors
///
/// [`InvalidRequest::ReturnUrl`].
///
/// # Examples
///
/// ```
/// use portal_sessions::validate_return_url;
///
/// assert!(validate_return_url("https://app.example.com/billing?tab=1").is_ok());
/// assert!(validate_return_url("http://[::1]:8080/").is_ok());
/// assert!(validate_return_url("javascript:alert(1)").is_err());
/// assert!(validate_return_url("/relative/path").is_err());
/// assert!(validate_return_url("https:///no-host").is_err());
/// ```
pub fn validate_return_url(url: &str) -> Result<(), InvalidRequest> {
    let refuse = Err(InvalidRequest::ReturnUrl);
    if url.len() > MAX_RETURN_URL_CHARS || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse;
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return refuse;
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return refuse;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Userinfo ends at the last '@' of the authority.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host_ok, port) = if let Some(literal) = host_port.strip_prefix('[') {
        let Some((ip, after)) = literal.split_once(']') else {
            return refuse;
        };
        let port = if after.is_empty() {
            None
        } else if let Some(port) = after.strip_prefix(':') {
            Some(port)
        } else {
            return refuse;
        };
        (ip.parse::<Ipv6Addr>().is_ok(), port)
    } else {
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        (host_ok, port)
    };
    let port_ok =
        port.is_none_or(|port| !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok());
    if host_ok && port_ok { Ok(()) } else { refuse }
}

impl CustomerSnapshot {
    /// Checks that the customer fits a session record: an external id as
    /// [`validate_external_id`] wants it, a name of at most 512 bytes and an email of at most 320,
    /// neither with control characters.
    ///
    /// # Errors
    ///
    /// [`InvalidRequest::CustomerRecord`].
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        let text_ok = |text: &str, max: usize| text.len() <= max && !has_control(text);
        let fits = validate_external_id(&self.external_id).is_ok()
            && text_ok(&self.name, MAX_NAME_BYTES)
            && self
                .email
                .as_deref()
                .is_none_or(|email| text_ok(email, MAX_EMAIL_BYTES));
        if fits {
            Ok(())
        } else {
            Err(InvalidRequest::CustomerRecord)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytewise_check_agrees_with_char_is_control_on_every_character() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("a{c}b"), format!("\u{e9}{c}")] {
                assert_eq!(has_control(&text), c.is_control(), "{c:?}");
            }
        }
    }

    #[test]
    fn the_bytewise_check_finds_the_same_controls() {
        for text in [
            "",
            "acme-001",
            "tab\there",
            "del\u{7f}",
            "nul\0",
            "Acme — 株式会社",
            "c1\u{85}x",
            "\u{9f}",
            "\u{a0}nbsp",
            "line\nbreak",
        ] {
            assert_eq!(
                has_control(text),
                text.chars().any(char::is_control),
                "{text:?}"
            );
        }
    }

    #[test]
    fn return_urls() {
        for good in [
            "http://a",
            "HTTPS://Example.COM",
            "https://user:pw@example.com:443/p?q=1#f",
            "https://example.com:65535",
            "http://[2001:db8::1]/x",
            "https://xn--bcher-kva.example/%C3%A9",
        ] {
            assert_eq!(validate_return_url(good), Ok(()), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "https://",
            "https://:80",
            "https://example.com:65536",
            "https://example.com:",
            "https://example.com:8o",
            "https://exa mple.com",
            "https://example.com/\u{0}",
            "https://exämple.com",
            "https://[::1",
            "https://[not-ip]/",
            "https://[::1]x/",
            "https://ex<ample.com",
            long.as_str(),
        ] {
            assert_eq!(
                validate_return_url(bad),
                Err(InvalidRequest::ReturnUrl),
                "{bad}"
            );
        }
    }

    #[test]
    fn external_ids() {
        assert_eq!(validate_external_id("acme-001"), Ok(()));
        assert_eq!(validate_external_id(&"é".repeat(255)), Ok(()));
        assert_eq!(
            validate_external_id(&"é".repeat(256)),
            Err(InvalidRequest::ExternalIdLength)
        );
        assert_eq!(
            validate_external_id(""),
            Err(InvalidRequest::ExternalIdLength)
        );
        assert_eq!(
            validate_external_id("a\0b"),
            Err(InvalidRequest::ExternalIdCharacters)
        );
    }
}
