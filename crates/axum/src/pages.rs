//! The link (`/r/{token}`) and the portal (`/portal`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::Extensions;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use portal_sessions::{ClientInfo, EngineError, LinkToken, SessionStore, ViewerToken};

use crate::Shared;
use crate::error::{is_transient, log_failure};
use crate::html;

fn page(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// The page for a link that cannot be used, or `None` when the error is not about the link.
fn link_refusal(error: &EngineError) -> Option<Response> {
    let (status, title, text) = match error {
        EngineError::LinkMalformed(_) | EngineError::LinkUnknown => (
            StatusCode::NOT_FOUND,
            "Invalid link",
            "This link is not valid. Ask for a new link to your billing portal.",
        ),
        EngineError::LinkUsed => (
            StatusCode::GONE,
            "Link already used",
            "This link has already been used. Links to the billing portal work once: ask for a new one.",
        ),
        EngineError::LinkExpired => (
            StatusCode::GONE,
            "Link expired",
            "This link has expired. Links to the billing portal work for one hour: ask for a new one.",
        ),
        EngineError::LinkRevoked => (
            StatusCode::GONE,
            "Link revoked",
            "This link was revoked and no longer works. Ask for a new link if you still need one.",
        ),
        _ => return None,
    };
    Some(page(status, html::message(title, text)))
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

fn client_ip(extensions: &Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// `Some(429 page)` when the client has used up its failed link attempts.
fn refuse_if_limited<S>(shared: &Shared<S>, ip: Option<std::net::IpAddr>) -> Option<Response> {
    let (limiter, ip) = (shared.limiter.as_ref()?, ip?);
    let retry_after = limiter.check(ip, std::time::Instant::now()).err()?;
    tracing::warn!(client = %ip, "too many failed link attempts; refusing for now");
    let mut response = page(
        StatusCode::TOO_MANY_REQUESTS,
        html::message(
            "Too many attempts",
            "Too many invalid links were opened from your network. Please wait a minute and try again.",
        ),
    );
    if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// Counts a failed attempt when the outcome says the link was malformed or unknown.
fn count_failure<S, T>(
    shared: &Shared<S>,
    ip: Option<std::net::IpAddr>,
    outcome: &Result<T, EngineError>,
) {
    if let (
        Some(limiter),
        Some(ip),
        Err(EngineError::LinkMalformed(_) | EngineError::LinkUnknown),
    ) = (shared.limiter.as_ref(), ip, outcome)
    {
        limiter.record_failure(ip, std::time::Instant::now());
    }
}

/// GET and HEAD: shows the page that redeems the link, without consuming it.
pub(crate) async fn open_link<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    raw: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let ip = client_ip(request.extensions());
    if let Some(refused) = refuse_if_limited(&shared, ip) {
        return refused;
    }
    let outcome = match parse_link(raw) {
        Ok(link) => shared.engine.inspect(&link).await,
        Err(error) => Err(error),
    };
    count_failure(&shared, ip, &outcome);
    match outcome {
        Ok(record) => {
            let branding = shared.data.branding(record.org_id).await.ok().flatten();
            page(StatusCode::OK, html::interstitial(branding.as_ref()))
        }
        Err(error) => link_refusal(&error).unwrap_or_else(|| failure_page(&error)),
    }
}

/// POST: consumes the link, sets the viewer cookie and sends the browser to the portal.
pub(crate) async fn redeem_link<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    raw: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let ip = client_ip(request.extensions());
    if let Some(refused) = refuse_if_limited(&shared, ip) {
        return refused;
    }
    let agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let client = ClientInfo::new(ip, agent);
    let outcome = match parse_link(raw) {
        Ok(link) => shared.engine.redeem(&link, client).await,
        Err(error) => Err(error),
    };
    count_failure(&shared, ip, &outcome);
    match outcome {
        Ok(redemption) => {
            let seconds = redemption
                .record
                .expires_at
                .saturating_duration_since(shared.engine.now())
                .as_secs()
                .max(1);
            let cookie = shared.cookie(&redemption.viewer.expose_secret(), seconds);
            let mut response = StatusCode::SEE_OTHER.into_response();
            let headers = response.headers_mut();
            headers.insert(header::LOCATION, HeaderValue::from_static("/portal"));
            match HeaderValue::from_str(&cookie) {
                Ok(value) => {
                    headers.insert(header::SET_COOKIE, value);
                }
                Err(_) => {
                    // Cannot happen: tokens are base64url. Said plainly if it ever does.
                    tracing::error!("the viewer cookie is not a valid header value");
                    return something_went_wrong(StatusCode::INTERNAL_SERVER_ERROR);
                }
            }
            response
        }
        Err(error) => link_refusal(&error).unwrap_or_else(|| failure_page(&error)),
    }
}

/// The viewer token from the request's cookie, if there is a well-formed one.
fn viewer<S>(shared: &Shared<S>, headers: &HeaderMap) -> Option<ViewerToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == shared.cookie_name())
        .and_then(|(_, value)| value.parse().ok())
}

fn session_ended<S>(shared: &Shared<S>) -> Response {
    let mut response = page(
        StatusCode::UNAUTHORIZED,
        html::message(
            "Session ended",
            "Your billing portal session has ended. To see your billing again, ask for a new link.",
        ),
    );
    if let Ok(value) = HeaderValue::from_str(&shared.cookie("", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The portal, for the holder of a valid viewer cookie.
pub(crate) async fn portal<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(viewer) = viewer(&shared, &headers) else {
        return session_ended(&shared);
    };
    let session = match shared.engine.authenticate(&viewer).await {
        Ok(session) => session,
        Err(EngineError::ViewerRejected(_)) => return session_ended(&shared),
        Err(error) => return failure_page(&error),
    };
    let branding = match shared.data.branding(session.org_id).await {
        Ok(branding) => branding,
        Err(error) => {
            log_failure(&error);
            None
        }
    };
    match shared.data.billing(session.org_id, &session.customer).await {
        Ok(billing) => page(
            StatusCode::OK,
            html::portal(&session, branding.as_ref(), &billing),
        ),
        Err(error) => {
            log_failure(&error);
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                html::message(
                    "Billing data unavailable",
                    "We could not load your billing data just now. Please try again in a moment.",
                ),
            )
        }
    }
}

/// Ends the viewer's portal session and clears the cookie.
pub(crate) async fn logout<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Some(viewer) = viewer(&shared, &headers) {
        if let Err(error) = shared.engine.logout(&viewer).await {
            if !matches!(error, EngineError::ViewerRejected(_)) {
                return failure_page(&error);
            }
        }
    }
    let mut response = session_ended(&shared);
    *response.status_mut() = StatusCode::OK;
    response
}
