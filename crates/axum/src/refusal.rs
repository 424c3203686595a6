//! [`Refusal`]: why the router refused a request, on the response, for a host's metrics.

use axum::response::Response;

/// Why the router refused a request: put on every refusal's response as an extension, so that a
/// host's middleware can count refusals by reason without reading bodies. A closed set of short
/// names ([`as_str`](Self::as_str)), safe as a metrics label.
///
/// # Examples
///
/// ```
/// use axum::extract::Request;
/// use axum::middleware::Next;
/// use axum::response::Response;
/// use portal_sessions_axum::Refusal;
///
/// async fn count_refusals(request: Request, next: Next) -> Response {
///     let response = next.run(request).await;
///     if let Some(refusal) = response.extensions().get::<Refusal>() {
///         println!("refused: {}", refusal.as_str());
///     }
///     response
/// }
/// let app: axum::Router = axum::Router::new().layer(axum::middleware::from_fn(count_refusals));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// A link that is not one (wrong prefix, length, alphabet or checksum).
    LinkMalformed,
    /// A well-formed link that names no session, or whose secret is wrong.
    LinkUnknown,
    /// A link already used.
    LinkUsed,
    /// A link past its session's expiry.
    LinkExpired,
    /// A link whose session was revoked.
    LinkRevoked,
    /// A portal request without a viewer cookie, or with one that opens nothing (forged, logged
    /// out, revoked, expired).
    ViewerRejected,
    /// A cross-site `POST` to a link or to the sign-out.
    CrossSite,
    /// A client past its limit of failed links.
    LinkLimit,
    /// A client past its limit of forged cookies.
    CookieLimit,
    /// A client past its limit of failed API keys.
    ApiKeyLimit,
    /// A client past its limit of posts to login pages.
    LoginLimit,
    /// A `/v1` request without a valid secret key.
    Unauthenticated,
    /// A `/v1` request refused as invalid (400).
    InvalidRequest,
    /// A `/v1` request for a session or customer the organisation does not have (404).
    NotFound,
}

impl Refusal {
    /// The reason as a label: `link_used`, `api_key_limit`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::LinkMalformed => "link_malformed",
            Refusal::LinkUnknown => "link_unknown",
            Refusal::LinkUsed => "link_used",
            Refusal::LinkExpired => "link_expired",
            Refusal::LinkRevoked => "link_revoked",
            Refusal::ViewerRejected => "viewer_rejected",
            Refusal::CrossSite => "cross_site",
            Refusal::LinkLimit => "link_limit",
            Refusal::CookieLimit => "cookie_limit",
            Refusal::ApiKeyLimit => "api_key_limit",
            Refusal::LoginLimit => "login_limit",
            Refusal::Unauthenticated => "unauthenticated",
            Refusal::InvalidRequest => "invalid_request",
            Refusal::NotFound => "not_found",
        }
    }

    /// Every reason, for a host that registers its labels up front.
    pub const ALL: [Refusal; 14] = [
        Refusal::LinkMalformed,
        Refusal::LinkUnknown,
        Refusal::LinkUsed,
        Refusal::LinkExpired,
        Refusal::LinkRevoked,
        Refusal::ViewerRejected,
        Refusal::CrossSite,
        Refusal::LinkLimit,
        Refusal::CookieLimit,
        Refusal::ApiKeyLimit,
        Refusal::LoginLimit,
        Refusal::Unauthenticated,
        Refusal::InvalidRequest,
        Refusal::NotFound,
    ];

    /// Whether it is a client past a limit (a 429).
    pub const fn is_rate_limited(self) -> bool {
        matches!(
            self,
            Refusal::LinkLimit | Refusal::CookieLimit | Refusal::ApiKeyLimit | Refusal::LoginLimit
        )
    }

    /// `response`, marked with this reason.
    pub(crate) fn mark(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}
