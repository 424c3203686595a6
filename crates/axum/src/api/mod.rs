//! The `/v1/portal-sessions` endpoints.
//!
//! Requests are read into typed structs ([`create_body`], [`query`]), answers written from typed
//! structs ([`item`]); the handlers here only connect them to the engine.

mod create_body;
#[cfg(test)]
mod fields;
mod item;
mod json_object;
mod query;
mod request_body;

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use portal_sessions::{EngineError, InvalidRequest, OrgId, SessionId, SessionStore};

pub(crate) use self::create_body::CreateBody;
#[cfg(test)]
pub(crate) use self::create_body::fields as create_fields;
pub(crate) use self::item::SessionItem;
use self::item::{CreatedView, Revocation};
use self::json_object::JsonValue as _;
use self::query::{ListParams, RevokeCustomerParams};
#[cfg(test)]
pub(crate) use self::query::{list_parameters, revoke_customer_parameters};
use crate::error::ApiError;
use crate::limit::Limits;
use crate::mount::Mount;
use crate::state::Shared;

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The organisation a `/v1` request speaks for, as the service's [`ApiAuth`](crate::ApiAuth)
/// decided: an extractor whose rejection is the 401 (or 503) answer.
pub(crate) struct Org(OrgId);

impl<S: SessionStore> FromRequestParts<Arc<Shared<S>>> for Org {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared<S>>,
    ) -> Result<Org, ApiError> {
        match shared.auth.authenticate(parts).await {
            Ok(org) => Ok(Org(org)),
            Err(error) if error.is_unavailable() => Err(ApiError::from(error)),
            Err(error) => {
                let client = shared.limits.proxies.client_of(parts);
                match Limits::fail(shared.limits.api_keys.as_ref(), "API key", client) {
                    Some(over) => Err(ApiError::rate_limited(over.retry_after)),
                    None => Err(ApiError::from(error)),
                }
            }
        }
    }
}

/// A request whose `Content-Type` is `application/json` (parameters allowed): an extractor whose
/// rejection is the 400 answer. It reads the header where it is, without copying the headers.
pub(crate) struct JsonContentType;

impl<S: Send + Sync> FromRequestParts<S> for JsonContentType {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<JsonContentType, ApiError> {
        let json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if json {
            Ok(JsonContentType)
        } else {
            Err(ApiError::invalid("Content-Type must be application/json"))
        }
    }
}

pub(crate) async fn create<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    mount: Mount,
    JsonContentType: JsonContentType,
    body: Body,
) -> Result<Response, ApiError> {
    let body = request_body::read(body, MAX_BODY_BYTES)
        .await
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "the request body must be at most {MAX_BODY_BYTES} bytes of JSON"
            ))
        })?;
    let ttl = shared.engine.ttl();
    let request = CreateBody::parse(&body)?.into_request(ttl)?;
    let invalidate_existing = request.invalidate_existing;
    let created = shared
        .engine
        .create(org, request)
        .await
        .map_err(|error| match error {
            // The engine checks the lifetime; the answer names this service's range.
            EngineError::InvalidRequest(InvalidRequest::Lifetime) => {
                ApiError::invalid(create_body::lifetime_message(ttl))
            }
            other => ApiError::from(other),
        })?;
    let token = created.link.expose_secret();
    // The pages' mount when the service was told it (the API mounted apart), else the API's own.
    let pages = shared.pages_mount.as_ref().unwrap_or(&mount);
    let url = [shared.public_url.as_str(), pages.prefix(), "/r/", &token].concat();
    let view = CreatedView::new(&created, url, token, invalidate_existing);
    let mut body = Vec::with_capacity(1024);
    view.write_json(&mut body);
    Ok(json_body(StatusCode::CREATED, body))
}

pub(crate) async fn list<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    uri: Uri,
) -> Result<Response, ApiError> {
    let options = query::read::<ListParams>(&uri)?.options()?;
    let records = shared.engine.list(org, options).await?;
    let now = shared.engine.now();
    let views: Vec<SessionItem> = records.iter().map(|r| SessionItem::new(r, now)).collect();
    Ok(Json(views).into_response())
}

/// A JSON answer written into a buffer of about its size at once (axum's `Json` starts at 128
/// bytes and grows three times for one session: measured, a tenth of a create's instructions went
/// to reallocating it).
fn json_answer<T: serde::Serialize>(status: StatusCode, value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_body(status, body),
        // Our own types always serialize; said plainly if one ever does not.
        Err(error) => {
            crate::error::log_failure(&error);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An answer of `status` whose body is the JSON text `body`, built directly: as
/// `(status, [(CONTENT_TYPE, …)], body).into_response()` it was given a `Content-Type` of
/// `application/octet-stream` first, then had it replaced.
fn json_body(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The id in the path; anything that is not one (including a segment that is not UTF-8) is 404, as
/// the contract says of malformed ids.
fn session_id(raw: Result<Path<String>, PathRejection>) -> Result<SessionId, ApiError> {
    raw.ok()
        .and_then(|Path(raw)| raw.parse().ok())
        .ok_or_else(|| ApiError::not_found("no such portal session"))
}

pub(crate) async fn get<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let record = shared.engine.get(org, &session_id(id)?).await?;
    Ok(json_answer(
        StatusCode::OK,
        &SessionItem::new(&record, shared.engine.now()),
        768,
    ))
}

/// `DELETE /v1/portal-sessions?customerId=...` (or `customerExternalId`): revokes every live
/// session of the customer.
pub(crate) async fn revoke_customer<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    uri: Uri,
) -> Result<Response, ApiError> {
    let customer = query::read::<RevokeCustomerParams>(&uri)?.customer()?;
    let revoked = shared.engine.revoke_customer(org, customer).await?;
    Ok(Json(Revocation::new(revoked)).into_response())
}

pub(crate) async fn revoke<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    shared.engine.revoke(org, &session_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use portal_sessions::{Feature, Features, StatusFilter};

    use super::*;

    fn uri(query: &str) -> Uri {
        format!("/v1/portal-sessions?{query}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn list_queries() {
        let list_options = |uri: &Uri| query::read::<ListParams>(uri).and_then(ListParams::options);
        let ok =
            list_options(&uri("limit=5&includeExpired=true&other=1")).unwrap_or_else(|_| panic!());
        assert_eq!((ok.limit, ok.include_expired), (5, true));
        let ok = list_options(&uri(
            "customerExternalId=acme%20001&status=used&startingAfter=ps_AAAAAAAAAAAAAAAAAAAAAA",
        ))
        .unwrap_or_else(|_| panic!());
        assert_eq!(ok.customer_external_id.as_deref(), Some("acme 001"));
        assert_eq!(ok.status, Some(StatusFilter::Used));
        assert!(ok.starting_after.is_some());
        for bad in [
            "status=open",
            "status=",
            "status=USED",
            "status=used&status=used",
            "startingAfter=nope",
            "startingAfter=",
            "startingAfter=ps_AAAAAAAAAAAAAAAAAAAAA",
            "customerExternalId=",
            "customerExternalId=a%00b",
            "customerId=8d5a3c4e-0000-4000-8000-000000000001&customerExternalId=a",
            "limit=0",
            "limit=101",
            "limit=abc",
            "limit=-1",
            "limit=",
            "limit=1e2",
            "limit=+5",
            "limit=99999999999999999999",
            "includeExpired=maybe",
            "includeExpired=TRUE",
            "customerId=nope",
            "limit=5&limit=6",
            "customerId=%ZZ",
            "limit=%FF",
        ] {
            assert!(list_options(&uri(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_bodies() {
        let ttl = std::time::Duration::from_secs(3600);
        let create_request =
            |body: &[u8]| CreateBody::parse(body).and_then(|body| body.into_request(ttl));
        assert!(create_request(br#"{"customerExternalId":"a","extra":{"x":1}}"#).is_ok());
        let full = create_request(
            br#"{"customerExternalId":"a","locale":"de-at","expiresInSeconds":60,"invalidateExisting":true}"#,
        )
        .unwrap_or_else(|_| panic!());
        assert_eq!(full.locale.map(|l| l.to_string()).as_deref(), Some("de-AT"));
        assert_eq!(full.expires_in, Some(std::time::Duration::from_secs(60)));
        assert!(full.invalidate_existing);
        let features =
            create_request(br#"{"customerExternalId":"a","features":["usage","usage"]}"#);
        assert_eq!(
            features.ok().and_then(|r| r.features),
            Some(Features::EMPTY.with(Feature::Usage))
        );
        for bad in [
            &b"not json"[..],
            b"[]",
            b"\"string\"",
            br#"{"customerExternalId":5}"#,
            br#"{"customerId":"not-a-uuid"}"#,
            br#"{"customerExternalId":"a","features":"usage"}"#,
            br#"{"customerExternalId":"a","features":["billing"]}"#,
            br#"{"customerExternalId":"a","returnUrl":7}"#,
            br#"{"customerExternalId":"a","locale":"pt"}"#,
            br#"{"customerExternalId":"a","locale":"fr_CA"}"#,
            br#"{"customerExternalId":"a","locale":["fr"]}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":600.5}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":-60}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":"600"}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":1e400}"#,
            br#"{"customerExternalId":"a","invalidateExisting":"true"}"#,
            br#"{"customerExternalId":"a","invalidateExisting":1}"#,
            br#"{"customerExternalId":"a","features":[]}"#,
            br#"{"customerExternalId":"a","customerExternalId":"a"}"#,
            br#"{"customerExternalId":"a","x":1,"x":1}"#,
            br#"{"customerExternalId":"a","x":{"y":1,"y":1}}"#,
        ] {
            assert!(
                create_request(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
