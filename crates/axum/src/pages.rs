//! The link (`/r/{token}`) and the portal (`/portal`).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use portal_sessions::{
    ClientInfo, EngineError, Features, LinkRefusal, LinkToken, OrgId, Rejection, SessionRecord,
    SessionStore, SessionView,
};

use crate::cookie::ViewerCookie;
use crate::data::{Branding, PortalDataError};
use crate::error::{is_transient, log_failure};
use crate::framing::Framing;
use crate::headers::PAGE_HEADERS;
use crate::html::PortalPage;
use crate::html::{self, Chrome, NextStep};
use crate::limit::Limits;
use crate::limit::OverLimit;
use crate::mount::Mount;
use crate::refusal::Refusal;
use crate::state::Shared;
use crate::text::{Speech, fill};
use crate::viewer::{Viewer, ViewerCheck, ViewerSource};

/// A rendered page, with the Content-Security-Policy that allows its own inline code and no other,
/// and the language it is written in (`Content-Language`; `Vary: Accept-Language`, since a page
/// without a session's locale follows that header).
pub(crate) fn page(status: StatusCode, rendered: html::Page) -> Response {
    let policy = rendered.content_security_policy();
    let framing = rendered.framing;
    let language = rendered.locale.to_string();
    let mut response = (status, Html(rendered.html)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if let Ok(value) = HeaderValue::from_str(&language) {
        headers.insert(header::CONTENT_LANGUAGE, value);
    }
    headers.append(header::VARY, HeaderValue::from_static("accept-language"));
    if framing.is_framable() {
        response.extensions_mut().insert(framing);
    }
    response
}

/// A `303` to `location`. `speech` is called only for the failure page of a location that is not
/// a header value, which a mount (URL-safe characters) cannot make: a redeem does not pay for
/// choosing the language of a page it will not show.
pub(crate) fn redirect(location: String, speech: impl FnOnce() -> Speech) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    // Room for the location, a cookie, the page headers and HSTS at once: a header map's first
    // room is for six, and growing it past that rehashes it (measured: a twentieth of a redeem).
    response.headers_mut().reserve(PAGE_HEADERS + 3);
    // The string's bytes become the header's without a copy.
    match HeaderValue::try_from(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        // Cannot happen: a mount is made of URL-safe characters. Said plainly if it ever does.
        Err(_) => {
            tracing::error!("a redirect target is not a valid header value");
            something_went_wrong(StatusCode::INTERNAL_SERVER_ERROR, &speech())
        }
    }
}

fn set_cookie(response: &mut Response, cookie: String) -> bool {
    // The string's bytes become the header's without a copy.
    match HeaderValue::try_from(cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            true
        }
        Err(_) => {
            // Cannot happen: tokens are base64url and mounts URL-safe. Said plainly if it ever does.
            tracing::error!("the viewer cookie is not a valid header value");
            false
        }
    }
}

pub(crate) fn failure_page(error: &EngineError, speech: &Speech) -> Response {
    log_failure(error);
    let status = match error {
        EngineError::Store(store) if is_transient(store) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    something_went_wrong(status, speech)
}

pub(crate) fn something_went_wrong(status: StatusCode, speech: &Speech) -> Response {
    let message = &speech.texts.something_went_wrong;
    page(
        status,
        html::message(message.title, message.text, &Chrome::default(), speech),
    )
}

/// The link in the path. A segment that is not even UTF-8 is as malformed as any other.
pub(crate) fn parse_link(
    raw: Result<Path<String>, PathRejection>,
) -> Result<LinkToken, EngineError> {
    match raw {
        Ok(Path(raw)) => raw.parse().map_err(EngineError::LinkMalformed),
        Err(_) => Err(EngineError::LinkMalformed(
            portal_sessions::TokenError::BadEncoding,
        )),
    }
}

/// The 429 page of a client past a limit.
pub(crate) fn too_many(over: OverLimit, speech: &Speech, limit: Refusal) -> Response {
    let message = &speech.texts.too_many_attempts;
    let mut response = page(
        StatusCode::TOO_MANY_REQUESTS,
        html::message(message.title, message.text, &Chrome::default(), speech),
    );
    if let Ok(value) = HeaderValue::from_str(&over.retry_after.as_secs().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    limit.mark(response)
}

impl<S: SessionStore> Shared<S> {
    /// The organisation's branding; a failure to load it is logged and the page shown plain.
    pub(crate) async fn branding(&self, org: OrgId) -> Option<Branding> {
        match self.data.branding(org).await {
            Ok(branding) => branding,
            Err(error) => {
                log_failure(&error);
                None
            }
        }
    }

    /// Whether the organisation's pages may be framed: its portal cookie is then a cross-site
    /// frame's (see [`ViewerCookies::set`](crate::cookie::ViewerCookies::set)).
    pub(crate) async fn is_framed(&self, org: Option<OrgId>) -> bool {
        match org {
            Some(org) => self
                .branding(org)
                .await
                .is_some_and(|branding| branding.is_framable()),
            None => false,
        }
    }

    /// Whether a state-changing `POST` came from another site: `Sec-Fetch-Site: cross-site`, or an
    /// `Origin` that is not the public URL's. Such a request is refused before anything happens
    /// (a page elsewhere must not redeem a link into the visitor's browser, or sign them out).
    ///
    /// Our own pages send `Referrer-Policy: no-referrer`, under which a browser writes
    /// `Origin: null` on their form posts, and browsers send `Sec-Fetch-Site` only to https and
    /// localhost origins. So `Origin: null` proves nothing either way: it is refused only when
    /// `Sec-Fetch-Site` is there and says the post came from another site (`same-site` included:
    /// a sibling subdomain is not the portal). Over https every current browser sends
    /// `Sec-Fetch-Site`; over plain http, a page that hides its origin is let through.
    pub(crate) fn is_cross_site(&self, headers: &HeaderMap) -> bool {
        let fetch_site = headers.get("sec-fetch-site").map(|value| value.as_bytes());
        if fetch_site.is_some_and(|site| site.eq_ignore_ascii_case(b"cross-site")) {
            return true;
        }
        let from_elsewhere = fetch_site.is_some_and(|site| {
            !site.eq_ignore_ascii_case(b"same-origin") && !site.eq_ignore_ascii_case(b"none")
        });
        headers.get(header::ORIGIN).is_some_and(|origin| {
            let origin = origin.to_str().unwrap_or_default();
            if origin == "null" {
                from_elsewhere
            } else {
                !origin.eq_ignore_ascii_case(&self.origin)
            }
        })
    }

    /// A link that failed because it is malformed or unknown counts against the client: `Some(429)`
    /// once past the limit.
    pub(crate) fn link_failure<T>(
        &self,
        client: Option<IpAddr>,
        outcome: &Result<T, LinkRefusal>,
        headers: &HeaderMap,
    ) -> Option<Response> {
        let Err(refusal) = outcome else {
            return None;
        };
        self.refused_link_failure(client, refusal, headers)
    }

    /// [`link_failure`](Self::link_failure) for a refusal in hand.
    pub(crate) fn refused_link_failure(
        &self,
        client: Option<IpAddr>,
        refusal: &LinkRefusal,
        headers: &HeaderMap,
    ) -> Option<Response> {
        if !matches!(
            refusal.error,
            EngineError::LinkMalformed(_) | EngineError::LinkUnknown
        ) {
            return None;
        }
        Limits::fail(self.limits.links.as_ref(), "link", client)
            .map(|over| too_many(over, &self.speech(None, headers), Refusal::LinkLimit))
    }

    /// A viewer cookie that is present but opens nothing of its own (forged, or not a token) counts
    /// against the client: `Some(429)` once past the limit.
    fn cookie_failure(&self, client: Option<IpAddr>, headers: &HeaderMap) -> Option<Response> {
        Limits::fail(self.limits.cookies.as_ref(), "viewer cookie", client)
            .map(|over| too_many(over, &self.speech(None, headers), Refusal::CookieLimit))
    }

    /// The answer to a link that did not open (or whose refusal was not about the link: a failure
    /// page).
    ///
    /// A used link opened in the browser that holds the live portal cookie of that same session goes
    /// to the portal: the customer clicked the email link again. A genuine link's refusal page is
    /// branded with its organisation and speaks its session's locale: the session the refusal was
    /// decided on, which it carries.
    pub(crate) async fn link_refusal(
        &self,
        refusal: LinkRefusal,
        link: Option<&LinkToken>,
        headers: &HeaderMap,
        mount: &Mount,
    ) -> Response {
        let LinkRefusal { error, session } = refusal;
        let (status, refusal) = match error {
            EngineError::LinkMalformed(_) => (StatusCode::NOT_FOUND, Refusal::LinkMalformed),
            EngineError::LinkUnknown => (StatusCode::NOT_FOUND, Refusal::LinkUnknown),
            EngineError::LinkUsed => (StatusCode::GONE, Refusal::LinkUsed),
            EngineError::LinkExpired => (StatusCode::GONE, Refusal::LinkExpired),
            EngineError::LinkRevoked => (StatusCode::GONE, Refusal::LinkRevoked),
            other => return failure_page(&other, &self.speech(None, headers)),
        };
        if let Some(link) = link.filter(|_| matches!(error, EngineError::LinkUsed)) {
            if self.holds_live_portal(link, headers).await {
                return redirect(mount.path("/portal"), || self.speech(None, headers));
            }
        }
        let record = session.filter(|_| status == StatusCode::GONE);
        let speech = self.speech(record.as_ref().and_then(|record| record.locale), headers);
        let texts = speech.texts;
        let (title, text) = match error {
            EngineError::LinkUsed => (texts.link_used.title, texts.link_used.text.to_owned()),
            EngineError::LinkExpired => (
                texts.link_expired.title,
                fill(
                    texts.link_expired.text,
                    &[(
                        "lifetime",
                        &self.lifetime(&speech, record.as_ref().map(SessionRecord::lifetime)),
                    )],
                ),
            ),
            EngineError::LinkRevoked => {
                (texts.link_revoked.title, texts.link_revoked.text.to_owned())
            }
            _ => (texts.invalid_link.title, texts.invalid_link.text.to_owned()),
        };
        // A used or expired link may ask for a new one; a revoked one may only lead to the login
        // page (which proves the address, not the link).
        let token = link
            .filter(|_| matches!(error, EngineError::LinkUsed | EngineError::LinkExpired))
            .map(LinkToken::expose_secret);
        let step = self
            .next_step(record.as_ref(), token.as_deref(), mount)
            .await;
        refusal.mark(
            self.message_page(status, title, &text, record.as_ref(), &step, &speech)
                .await,
        )
    }

    /// Whether the request's viewer cookie opens the portal of `link`'s own session.
    async fn holds_live_portal(&self, link: &LinkToken, headers: &HeaderMap) -> bool {
        let Some(viewer) = self.cookies.token(headers) else {
            return false;
        };
        viewer.session_id() == link.session_id() && self.engine.authenticate(&viewer).await.is_ok()
    }

    /// A message page, branded and with the way back when the session it is about is known, and
    /// what to do next.
    pub(crate) async fn message_page(
        &self,
        status: StatusCode,
        title: &str,
        text: &str,
        session: Option<&SessionRecord>,
        step: &NextStep,
        speech: &Speech,
    ) -> Response {
        let branding = match session {
            Some(record) => self.branding(record.org_id).await,
            None => None,
        };
        let chrome = Chrome {
            branding: branding.as_ref(),
            return_url: session.and_then(|record| record.return_url.as_deref()),
        };
        page(
            status,
            html::message_with_step(title, text, step, &chrome, speech),
        )
    }

    /// The "session ended" page (401), with the cookie cleared: in the locale of the session the
    /// cookie was genuinely for, else as the browser asks.
    async fn session_ended(
        &self,
        session: Option<&SessionRecord>,
        mount: &Mount,
        headers: &HeaderMap,
    ) -> Response {
        let speech = self.speech(session.and_then(|record| record.locale), headers);
        let message = &speech.texts.session_ended;
        let step = self.next_step(session, None, mount).await;
        let mut response = self
            .message_page(
                StatusCode::UNAUTHORIZED,
                message.title,
                message.text,
                session,
                &step,
                &speech,
            )
            .await;
        let framed = self.is_framed(session.map(|record| record.org_id)).await;
        set_cookie(&mut response, self.cookies.set(mount, "", 0, framed));
        Refusal::ViewerRejected.mark(response)
    }
}

#[async_trait::async_trait]
impl<S: SessionStore> ViewerSource for Shared<S> {
    async fn viewer(&self, parts: &Parts, mount: &Mount) -> Result<SessionView, Response> {
        let headers = &parts.headers;
        let token = match self.cookies.read(headers) {
            ViewerCookie::Token(token) => token,
            ViewerCookie::Missing => return Err(self.session_ended(None, mount, headers).await),
            ViewerCookie::Malformed => {
                let client = self.limits.proxies.client_of(parts);
                if let Some(refused) = self.cookie_failure(client, headers) {
                    return Err(refused);
                }
                return Err(self.session_ended(None, mount, headers).await);
            }
        };
        match self.engine.authenticate(&token).await {
            Ok(record) => Ok(record.view(self.engine.now())),
            Err(EngineError::ViewerRejected(rejection)) => {
                if rejection == Rejection::WrongSecret {
                    let client = self.limits.proxies.client_of(parts);
                    if let Some(refused) = self.cookie_failure(client, headers) {
                        return Err(refused);
                    }
                }
                let genuine = match self.engine.viewer_session(&token).await {
                    Ok(genuine) => genuine,
                    Err(error) => return Err(failure_page(&error, &self.speech(None, headers))),
                };
                Err(self.session_ended(genuine.as_ref(), mount, headers).await)
            }
            Err(error) => Err(failure_page(&error, &self.speech(None, headers))),
        }
    }

    async fn framing(&self, org: OrgId) -> Framing {
        self.branding(org)
            .await
            .map(|branding| branding.framing())
            .unwrap_or_default()
    }
}

impl<S: SessionStore> axum::extract::FromRef<Arc<Shared<S>>> for ViewerCheck {
    fn from_ref(shared: &Arc<Shared<S>>) -> ViewerCheck {
        ViewerCheck::new(shared.clone())
    }
}

/// GET and HEAD: shows the page that redeems the link, without consuming it.
pub(crate) async fn open_link<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
    raw: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let (link, outcome) = match parse_link(raw) {
        Ok(link) => {
            let outcome = shared.engine.inspect_or_refuse(&link).await;
            (Some(link), outcome)
        }
        Err(malformed) => (
            None,
            Err(LinkRefusal {
                error: malformed,
                session: None,
            }),
        ),
    };
    let client = shared.limits.proxies.client_of(&parts);
    if let Some(limited) = shared.link_failure(client, &outcome, &parts.headers) {
        return limited;
    }
    match outcome {
        Ok(record) => {
            let branding = shared.branding(record.org_id).await;
            let chrome = Chrome {
                branding: branding.as_ref(),
                return_url: None,
            };
            let speech = shared.speech(record.locale, &parts.headers);
            page(
                StatusCode::OK,
                html::interstitial(
                    &chrome,
                    &speech,
                    &shared.lifetime(&speech, Some(record.lifetime())),
                ),
            )
        }
        Err(refusal) => {
            shared
                .link_refusal(refusal, link.as_ref(), &parts.headers, &mount)
                .await
        }
    }
}

/// The answer to a cross-site `POST`: 403, nothing changed.
pub(crate) fn cross_site_refused(speech: &Speech) -> Response {
    let message = &speech.texts.request_refused;
    Refusal::CrossSite.mark(page(
        StatusCode::FORBIDDEN,
        html::message(message.title, message.text, &Chrome::default(), speech),
    ))
}

/// POST: consumes the link, sets the viewer cookie and sends the browser to the portal.
pub(crate) async fn redeem_link<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
    raw: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if shared.is_cross_site(&parts.headers) {
        return cross_site_refused(&shared.speech(None, &parts.headers));
    }
    let client_ip = shared.limits.proxies.client_of(&parts);
    let agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let client = ClientInfo::new(client_ip, agent);
    let (link, outcome) = match parse_link(raw) {
        Ok(link) => {
            let outcome = shared.engine.redeem_or_refuse(&link, client).await;
            (Some(link), outcome)
        }
        Err(malformed) => (
            None,
            Err(LinkRefusal {
                error: malformed,
                session: None,
            }),
        ),
    };
    if let Some(limited) = shared.link_failure(client_ip, &outcome, &parts.headers) {
        return limited;
    }
    match outcome {
        Ok(redemption) => {
            let seconds = redemption
                .record
                .expires_at
                .saturating_duration_since(shared.engine.now())
                .as_secs()
                .max(1);
            let framed = shared.is_framed(Some(redemption.record.org_id)).await;
            let cookie =
                shared
                    .cookies
                    .set(&mount, &redemption.viewer.expose_secret(), seconds, framed);
            let speech = || shared.speech(redemption.record.locale, &parts.headers);
            // Where the email was about: an invoice's page, a section, or the portal's top.
            let location = match &redemption.record.deep_link {
                Some(portal_sessions::DeepLink::Invoice(number)) => {
                    html::invoice_path(&mount.path("/portal/invoices"), number)
                }
                Some(portal_sessions::DeepLink::Section(section)) => {
                    format!("{}#{section}", mount.path("/portal"))
                }
                None => mount.path("/portal"),
            };
            let mut response = redirect(location, speech);
            if !set_cookie(&mut response, cookie) {
                return something_went_wrong(StatusCode::INTERNAL_SERVER_ERROR, &speech());
            }
            response
        }
        Err(refusal) => {
            shared
                .link_refusal(refusal, link.as_ref(), &parts.headers, &mount)
                .await
        }
    }
}

/// The portal, for the holder of a valid viewer cookie.
pub(crate) async fn portal<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    headers: HeaderMap,
    viewer: Result<Viewer, crate::viewer::ViewerRejection>,
) -> Response {
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(rejection) => return rejection.into_response(),
    };
    let session = viewer.session();
    let speech = shared.speech(session.locale, &headers);
    let branding = shared.branding(session.org_id).await;
    let chrome = Chrome {
        branding: branding.as_ref(),
        return_url: session.return_url.as_deref(),
    };
    match shared.data.billing(session).await {
        Ok(billing) => {
            let sections = if shared.show_all_sections {
                Features::ALL
            } else {
                session.features
            };
            let host_links: Vec<(String, &str)> = shared
                .host_links
                .iter()
                .filter(|link| link.is_shown(sections))
                .map(|link| (viewer.mount_path(link.path()), link.label()))
                .collect();
            let portal = PortalPage {
                session,
                sections,
                lifetime: &shared.lifetime(
                    &speech,
                    Some(
                        session
                            .expires_at
                            .saturating_duration_since(session.created_at),
                    ),
                ),
                logout_path: &format!("{}/logout", viewer.portal_path()),
                invoices_path: &format!("{}/invoices", viewer.portal_path()),
                host_links: &host_links,
            };
            page(
                StatusCode::OK,
                html::portal(&portal, &chrome, &speech, &billing),
            )
        }
        Err(error) => billing_unavailable(&error, &chrome, &speech),
    }
}

/// `GET /portal/invoices/{number}`: one invoice of the viewer's customer, with Pay and PDF, behind
/// the portal cookie; a number the customer does not have (or a session without invoices) is a
/// branded 404 that leads back to the portal.
pub(crate) async fn invoice<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    headers: HeaderMap,
    viewer: Result<Viewer, crate::viewer::ViewerRejection>,
    number: Result<Path<String>, PathRejection>,
) -> Response {
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(rejection) => return rejection.into_response(),
    };
    let session = viewer.session();
    let speech = shared.speech(session.locale, &headers);
    let branding = shared.branding(session.org_id).await;
    let chrome = Chrome {
        branding: branding.as_ref(),
        return_url: session.return_url.as_deref(),
    };
    let portal_path = viewer.portal_path();
    let shows_invoices = shared.show_all_sections
        || session
            .features
            .contains(portal_sessions::Feature::Invoices);
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            html::invoice_not_found(&portal_path, &chrome, &speech),
        )
    };
    let Ok(Path(number)) = number else {
        return not_found();
    };
    if !shows_invoices {
        return not_found();
    }
    match shared.data.billing(session).await {
        Ok(billing) => match billing.invoice(&number) {
            Some(invoice) => page(
                StatusCode::OK,
                html::invoice_page(invoice, &portal_path, &chrome, &speech),
            ),
            None => not_found(),
        },
        Err(error) => billing_unavailable(&error, &chrome, &speech),
    }
}

/// The branded 503 page of a portal page whose billing data failed to load (logged here).
fn billing_unavailable(error: &PortalDataError, chrome: &Chrome<'_>, speech: &Speech) -> Response {
    log_failure(error);
    let message = &speech.texts.billing_unavailable;
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        html::message(message.title, message.text, chrome, speech),
    )
}

/// Ends the viewer's portal session and clears the cookie.
pub(crate) async fn logout<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let headers = &parts.headers;
    if shared.is_cross_site(headers) {
        return cross_site_refused(&shared.speech(None, headers));
    }
    let mut ended = None;
    let failed = match shared.cookies.read(&parts.headers) {
        ViewerCookie::Missing => false,
        ViewerCookie::Malformed => true,
        ViewerCookie::Token(viewer) => match shared.engine.authenticate(&viewer).await {
            Ok(record) => match shared.engine.logout(&viewer).await {
                Ok(()) => {
                    ended = Some(record);
                    false
                }
                Err(EngineError::ViewerRejected(_)) => false,
                Err(error) => return failure_page(&error, &shared.speech(None, headers)),
            },
            Err(EngineError::ViewerRejected(rejection)) => rejection == Rejection::WrongSecret,
            Err(error) => return failure_page(&error, &shared.speech(None, headers)),
        },
    };
    if failed {
        let client = shared.limits.proxies.client_of(&parts);
        if let Some(refused) = shared.cookie_failure(client, headers) {
            return refused;
        }
    }
    let speech = shared.speech(ended.as_ref().and_then(|record| record.locale), headers);
    let message = &speech.texts.signed_out;
    let mut response = shared
        .message_page(
            StatusCode::OK,
            message.title,
            message.text,
            ended.as_ref(),
            &NextStep::Nothing,
            &speech,
        )
        .await;
    let framed = shared
        .is_framed(ended.as_ref().map(|record| record.org_id))
        .await;
    set_cookie(&mut response, shared.cookies.set(&mount, "", 0, framed));
    response
}
