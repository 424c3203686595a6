//! The link (`/r/{token}`) and the portal (`/portal`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use portal_sessions::{
    ClientInfo, EngineError, Features, LinkToken, OrgId, SessionRecord, SessionStore,
};

use crate::data::Branding;
use crate::error::{is_transient, log_failure};
use crate::html::{self, Chrome};
use crate::mount::Mount;
use crate::viewer::{Viewer, ViewerCheck, ViewerSource};
use crate::{Shared, html::PortalPage};

fn page(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        // Cannot happen: a mount is made of URL-safe characters. Said plainly if it ever does.
        Err(_) => {
            tracing::error!("a redirect target is not a valid header value");
            something_went_wrong(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn set_cookie(response: &mut Response, cookie: &str) -> bool {
    match HeaderValue::from_str(cookie) {
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

fn failure_page(error: &EngineError) -> Response {
    log_failure(error);
    let status = match error {
        EngineError::Store(store) if is_transient(store) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    something_went_wrong(status)
}

fn something_went_wrong(status: StatusCode) -> Response {
    page(
        status,
        html::message(
            "Something went wrong",
            "We could not open your billing portal just now. Please try again in a moment.",
            &Chrome::default(),
        ),
    )
}

/// The link in the path. A segment that is not even UTF-8 is as malformed as any other.
fn parse_link(raw: Result<Path<String>, PathRejection>) -> Result<LinkToken, EngineError> {
    match raw {
        Ok(Path(raw)) => raw.parse().map_err(EngineError::LinkMalformed),
        Err(_) => Err(EngineError::LinkMalformed(
            portal_sessions::TokenError::BadEncoding,
        )),
    }
}

fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

impl<S: SessionStore> Shared<S> {
    /// The organisation's branding; a failure to load it is logged and the page shown plain.
    async fn branding(&self, org: OrgId) -> Option<Branding> {
        match self.data.branding(org).await {
            Ok(branding) => branding,
            Err(error) => {
                log_failure(&error);
                None
            }
        }
    }

    /// `Some(429 page)` when the client has used up its failed link attempts.
    fn refuse_if_limited(&self, ip: Option<IpAddr>) -> Option<Response> {
        let (limiter, ip) = (self.limiter.as_ref()?, ip?);
        let retry_after = limiter.check(ip, std::time::Instant::now()).err()?;
        tracing::warn!(client = %ip, "too many failed link attempts; refusing for now");
        let mut response = page(
            StatusCode::TOO_MANY_REQUESTS,
            html::message(
                "Too many attempts",
                "Too many invalid links were opened from your network. Please wait a minute and try again.",
                &Chrome::default(),
            ),
        );
        if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        Some(response)
    }

    /// Counts a failed attempt when the outcome says the link was malformed or unknown.
    fn count_failure<T>(&self, ip: Option<IpAddr>, outcome: &Result<T, EngineError>) {
        if let (
            Some(limiter),
            Some(ip),
            Err(EngineError::LinkMalformed(_) | EngineError::LinkUnknown),
        ) = (self.limiter.as_ref(), ip, outcome)
        {
            limiter.record_failure(ip, std::time::Instant::now());
        }
    }

    /// The answer to a link that did not open (or `error` was not about the link: a failure page).
    ///
    /// A used link opened in the browser that holds the live portal cookie of that same session goes
    /// to the portal: the customer clicked the email link again. A genuine link's refusal page is
    /// branded with its organisation.
    async fn link_refusal(
        &self,
        error: EngineError,
        link: Option<&LinkToken>,
        headers: &HeaderMap,
        mount: &Mount,
    ) -> Response {
        let (status, title, text) = match error {
            EngineError::LinkMalformed(_) | EngineError::LinkUnknown => (
                StatusCode::NOT_FOUND,
                "Invalid link",
                "This link is not valid. Ask for a new link to your billing portal.".to_owned(),
            ),
            EngineError::LinkUsed => (
                StatusCode::GONE,
                "Link already used",
                "This link has already been used. Links to the billing portal work once: ask for a new one."
                    .to_owned(),
            ),
            EngineError::LinkExpired => (
                StatusCode::GONE,
                "Link expired",
                format!(
                    "This link has expired. Links to the billing portal work for {}: ask for a new one.",
                    self.lifetime()
                ),
            ),
            EngineError::LinkRevoked => (
                StatusCode::GONE,
                "Link revoked",
                "This link was revoked and no longer works. Ask for a new link if you still need one."
                    .to_owned(),
            ),
            other => return failure_page(&other),
        };
        let Some(link) = link.filter(|_| status == StatusCode::GONE) else {
            return page(status, html::message(title, &text, &Chrome::default()));
        };
        if matches!(error, EngineError::LinkUsed) && self.holds_live_portal(link, headers).await {
            return redirect(&mount.path("/portal"));
        }
        let record = match self.engine.link_session(link).await {
            Ok(record) => record,
            Err(error) => return failure_page(&error),
        };
        self.message_page(status, title, &text, record.as_ref())
            .await
    }

    /// Whether the request's viewer cookie opens the portal of `link`'s own session.
    async fn holds_live_portal(&self, link: &LinkToken, headers: &HeaderMap) -> bool {
        let Some(viewer) = self.viewer_token(headers) else {
            return false;
        };
        viewer.session_id() == link.session_id() && self.engine.authenticate(&viewer).await.is_ok()
    }

    /// A message page, branded and with the way back when the session it is about is known.
    async fn message_page(
        &self,
        status: StatusCode,
        title: &str,
        text: &str,
        session: Option<&SessionRecord>,
    ) -> Response {
        let branding = match session {
            Some(record) => self.branding(record.org_id).await,
            None => None,
        };
        let chrome = Chrome {
            branding: branding.as_ref(),
            return_url: session.and_then(|record| record.return_url.as_deref()),
        };
        page(status, html::message(title, text, &chrome))
    }

    /// The "session ended" page (401), with the cookie cleared.
    async fn session_ended(&self, session: Option<&SessionRecord>, mount: &Mount) -> Response {
        let mut response = self
            .message_page(
                StatusCode::UNAUTHORIZED,
                "Session ended",
                "Your billing portal session has ended. To see your billing again, ask for a new link.",
                session,
            )
            .await;
        set_cookie(&mut response, &self.cookie(mount, "", 0));
        response
    }
}

#[async_trait::async_trait]
impl<S: SessionStore> ViewerSource for Shared<S> {
    async fn viewer(&self, headers: &HeaderMap, mount: Mount) -> Result<Viewer, Response> {
        let Some(token) = self.viewer_token(headers) else {
            return Err(self.session_ended(None, &mount).await);
        };
        match self.engine.authenticate(&token).await {
            Ok(record) => Ok(Viewer::new(record.view(self.engine.now()), mount)),
            Err(EngineError::ViewerRejected(_)) => {
                let genuine = match self.engine.viewer_session(&token).await {
                    Ok(genuine) => genuine,
                    Err(error) => return Err(failure_page(&error)),
                };
                Err(self.session_ended(genuine.as_ref(), &mount).await)
            }
            Err(error) => Err(failure_page(&error)),
        }
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
    let ip = client_ip(request.extensions());
    if let Some(refused) = shared.refuse_if_limited(ip) {
        return refused;
    }
    let (link, outcome) = match parse_link(raw) {
        Ok(link) => {
            let outcome = shared.engine.inspect(&link).await;
            (Some(link), outcome)
        }
        Err(malformed) => (None, Err(malformed)),
    };
    shared.count_failure(ip, &outcome);
    match outcome {
        Ok(record) => {
            let branding = shared.branding(record.org_id).await;
            let chrome = Chrome {
                branding: branding.as_ref(),
                return_url: None,
            };
            page(
                StatusCode::OK,
                html::interstitial(&chrome, &shared.lifetime()),
            )
        }
        Err(error) => {
            shared
                .link_refusal(error, link.as_ref(), request.headers(), &mount)
                .await
        }
    }
}

/// POST: consumes the link, sets the viewer cookie and sends the browser to the portal.
pub(crate) async fn redeem_link<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
    raw: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let ip = client_ip(request.extensions());
    if let Some(refused) = shared.refuse_if_limited(ip) {
        return refused;
    }
    let agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let client = ClientInfo::new(ip, agent);
    let (link, outcome) = match parse_link(raw) {
        Ok(link) => {
            let outcome = shared.engine.redeem(&link, client).await;
            (Some(link), outcome)
        }
        Err(malformed) => (None, Err(malformed)),
    };
    shared.count_failure(ip, &outcome);
    match outcome {
        Ok(redemption) => {
            let seconds = redemption
                .record
                .expires_at
                .saturating_duration_since(shared.engine.now())
                .as_secs()
                .max(1);
            let cookie = shared.cookie(&mount, &redemption.viewer.expose_secret(), seconds);
            let mut response = redirect(&mount.path("/portal"));
            if !set_cookie(&mut response, &cookie) {
                return something_went_wrong(StatusCode::INTERNAL_SERVER_ERROR);
            }
            response
        }
        Err(error) => {
            shared
                .link_refusal(error, link.as_ref(), request.headers(), &mount)
                .await
        }
    }
}

/// The portal, for the holder of a valid viewer cookie.
pub(crate) async fn portal<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    viewer: Result<Viewer, crate::ViewerRejection>,
) -> Response {
    let viewer = match viewer {
        Ok(viewer) => viewer,
        Err(rejection) => return rejection.into_response(),
    };
    let session = viewer.session();
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
            let portal = PortalPage {
                session,
                sections,
                lifetime: &shared.lifetime(),
                logout_path: &format!("{}/logout", viewer.portal_path()),
            };
            page(StatusCode::OK, html::portal(&portal, &chrome, &billing))
        }
        Err(error) => {
            log_failure(&error);
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                html::message(
                    "Billing data unavailable",
                    "We could not load your billing data just now. Please try again in a moment.",
                    &chrome,
                ),
            )
        }
    }
}

/// Ends the viewer's portal session and clears the cookie.
pub(crate) async fn logout<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
    headers: HeaderMap,
) -> Response {
    let mut ended = None;
    if let Some(viewer) = shared.viewer_token(&headers) {
        match shared.engine.authenticate(&viewer).await {
            Ok(record) => match shared.engine.logout(&viewer).await {
                Ok(()) => ended = Some(record),
                Err(EngineError::ViewerRejected(_)) => {}
                Err(error) => return failure_page(&error),
            },
            Err(EngineError::ViewerRejected(_)) => {}
            Err(error) => return failure_page(&error),
        }
    }
    let mut response = shared
        .message_page(
            StatusCode::OK,
            "Signed out",
            "You are signed out of your billing portal. To see your billing again, ask for a new link.",
            ended.as_ref(),
        )
        .await;
    set_cookie(&mut response, &shared.cookie(&mount, "", 0));
    response
}
