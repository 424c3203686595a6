//! The `/v1/portal-sessions` endpoints.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use portal_sessions::{
    CreateRequest, CustomerId, CustomerRef, Feature, Features, ListOptions, Locale,
    MIN_REQUESTED_TTL, OrgId, SessionId, SessionRecord, SessionStore, SessionView, StatusFilter,
    Timestamp,
};
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::mount::Mount;
use crate::{Limits, Shared};

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The names of the create body's fields, as [`create_request`] reads them.
pub(crate) mod field {
    pub(crate) const CUSTOMER_EXTERNAL_ID: &str = "customerExternalId";
    pub(crate) const CUSTOMER_ID: &str = "customerId";
    pub(crate) const RETURN_URL: &str = "returnUrl";
    pub(crate) const FEATURES: &str = "features";
    pub(crate) const LOCALE: &str = "locale";
    pub(crate) const EXPIRES_IN_SECONDS: &str = "expiresInSeconds";
    pub(crate) const INVALIDATE_EXISTING: &str = "invalidateExisting";
}

/// Every field a create body may have, that is every name of [`field`]: the OpenAPI document's
/// create schema has exactly these properties (`openapi`'s tests check).
#[cfg(test)]
pub(crate) const CREATE_FIELDS: [&str; 7] = [
    field::CUSTOMER_EXTERNAL_ID,
    field::CUSTOMER_ID,
    field::RETURN_URL,
    field::FEATURES,
    field::LOCALE,
    field::EXPIRES_IN_SECONDS,
    field::INVALIDATE_EXISTING,
];

/// The query parameters the list reads; the document's list operation has exactly these.
pub(crate) const LIST_PARAMETERS: [&str; 6] = [
    "customerId",
    "customerExternalId",
    "limit",
    "includeExpired",
    "status",
    "startingAfter",
];

/// The query parameters the customer-wide revocation reads; the document's operation has exactly
/// these.
pub(crate) const REVOKE_CUSTOMER_PARAMETERS: [&str; 2] = ["customerId", "customerExternalId"];

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

/// A session as the list and get endpoints show it, and as an event's `data`: never the token or
/// the URL.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionItem {
    id: String,
    object: &'static str,
    customer_id: String,
    customer_name: String,
    customer_email: Option<String>,
    expires_at: String,
    is_expired: bool,
    is_used: bool,
    is_revoked: bool,
    used_at: Option<String>,
    revoked_at: Option<String>,
    created_at: String,
    return_url: Option<String>,
    features: Vec<&'static str>,
    locale: Option<String>,
}

fn features(set: Features) -> Vec<&'static str> {
    set.iter().map(Feature::as_str).collect()
}

impl SessionItem {
    /// The session as it is at `now`.
    fn new(record: &SessionRecord, now: Timestamp) -> SessionItem {
        SessionItem::from_view(&record.view(now), now)
    }

    /// The session `view` shows, with `isExpired` decided at `at` (the instant of the view: now
    /// for a list, the event's instant for an event).
    pub(crate) fn from_view(view: &SessionView, at: Timestamp) -> SessionItem {
        SessionItem {
            id: view.id.to_string(),
            object: "portal_session",
            customer_id: view.customer.id.to_string(),
            customer_name: view.customer.name.clone(),
            customer_email: view.customer.email.clone(),
            expires_at: view.expires_at.to_string(),
            is_expired: at >= view.expires_at,
            is_used: view.used_at.is_some(),
            is_revoked: view.revoked_at.is_some(),
            used_at: view.used_at.map(|t| t.to_string()),
            revoked_at: view.revoked_at.map(|t| t.to_string()),
            created_at: view.created_at.to_string(),
            return_url: view.return_url.clone(),
            features: features(view.features),
            locale: view.locale.map(|locale| locale.to_string()),
        }
    }
}

/// The create response: the only place the token and URL ever appear.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreatedView {
    id: String,
    object: &'static str,
    url: String,
    token: String,
    customer_id: String,
    customer_name: String,
    customer_email: Option<String>,
    expires_at: String,
    created_at: String,
    return_url: Option<String>,
    features: Vec<&'static str>,
    locale: Option<String>,
    expires_in_seconds: u64,
    invalidate_existing: bool,
}

fn optional_string(
    body: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::invalid(format!("{field} must be a string"))),
    }
}

/// The message for a lifetime outside what this service mints.
fn lifetime_message(ttl: std::time::Duration) -> String {
    format!(
        "expiresInSeconds must be an integer between {} and {}",
        MIN_REQUESTED_TTL.as_secs(),
        ttl.as_secs()
    )
}

/// Parses a create body: a JSON object; unknown fields are ignored. `ttl` is the longest lifetime a
/// session may ask for.
pub(crate) fn create_request(
    body: &[u8],
    ttl: std::time::Duration,
) -> Result<CreateRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::invalid("the request body is not valid JSON"))?;
    let Value::Object(body) = value else {
        return Err(ApiError::invalid("the request body must be a JSON object"));
    };
    let customer_id = optional_string(&body, field::CUSTOMER_ID)?
        .map(|text| {
            text.parse::<CustomerId>()
                .map_err(|_| ApiError::invalid("customerId must be a UUID"))
        })
        .transpose()?;
    let features = match body.get(field::FEATURES) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut set = Features::EMPTY;
            for item in items {
                let feature = item
                    .as_str()
                    .and_then(|name| name.parse::<Feature>().ok())
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "features may contain only invoices, subscriptions, usage and profile",
                        )
                    })?;
                set = set.with(feature);
            }
            Some(set)
        }
        Some(_) => return Err(ApiError::invalid("features must be an array of strings")),
    };
    let locale = optional_string(&body, field::LOCALE)?
        .map(|tag| {
            tag.parse::<Locale>().map_err(|_| {
                ApiError::invalid(
                    "locale must be en, fr, de or es, optionally with a region such as fr-CA",
                )
            })
        })
        .transpose()?;
    let expires_in = match body.get(field::EXPIRES_IN_SECONDS) {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => {
            let seconds = number
                .as_u64()
                .map(std::time::Duration::from_secs)
                .filter(|lifetime| (MIN_REQUESTED_TTL..=ttl).contains(lifetime))
                .ok_or_else(|| ApiError::invalid(lifetime_message(ttl)))?;
            Some(seconds)
        }
        Some(_) => return Err(ApiError::invalid(lifetime_message(ttl))),
    };
    let invalidate_existing = match body.get(field::INVALIDATE_EXISTING) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(invalidate)) => *invalidate,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalidateExisting must be true or false",
            ));
        }
    };
    Ok(CreateRequest {
        customer_id,
        customer_external_id: optional_string(&body, field::CUSTOMER_EXTERNAL_ID)?,
        return_url: optional_string(&body, field::RETURN_URL)?,
        features,
        locale,
        expires_in,
        invalidate_existing,
    })
}

pub(crate) async fn create<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    mount: Mount,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::invalid("Content-Type must be application/json"));
    }
    let body = body.map_err(|_| {
        ApiError::invalid(format!(
            "the request body must be at most {MAX_BODY_BYTES} bytes of JSON"
        ))
    })?;
    let request = create_request(&body, shared.engine.ttl())?;
    let invalidate_existing = request.invalidate_existing;
    let created = shared.engine.create(org, request).await?;
    let record = &created.record;
    let token = created.link.expose_secret();
    let view = CreatedView {
        id: record.id.to_string(),
        object: "portal_session",
        url: format!(
            "{}{}",
            shared.public_url,
            mount.path(&format!("/r/{token}"))
        ),
        token,
        customer_id: record.customer.id.to_string(),
        customer_name: record.customer.name.clone(),
        customer_email: record.customer.email.clone(),
        expires_at: record.expires_at.to_string(),
        created_at: record.created_at.to_string(),
        return_url: record.return_url.clone(),
        features: features(record.features),
        locale: record.locale.map(|locale| locale.to_string()),
        expires_in_seconds: record.lifetime().as_secs(),
        invalidate_existing,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The parameters of a query string, decoded, each at most once: a repeated or malformed
/// parameter is an error rather than silently the first or last value. Parameters not in `known` are
/// ignored.
fn query_params<const N: usize>(
    uri: &Uri,
    known: [&str; N],
) -> Result<[Option<String>; N], ApiError> {
    let mut values = [const { None }; N];
    for pair in uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_decode_str(&text.replace('+', " "))
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| ApiError::invalid("the query string is not valid UTF-8"))
        };
        let (key, value) = (decode(raw_key)?, decode(raw_value)?);
        let Some(slot) = known.iter().position(|name| *name == key) else {
            continue;
        };
        if values[slot].replace(value).is_some() {
            return Err(ApiError::invalid(format!("{key} is given more than once")));
        }
    }
    Ok(values)
}

/// `customerId` (a UUID) and `customerExternalId`, at most one of them.
fn customer(
    id: Option<String>,
    external_id: Option<String>,
) -> Result<Option<CustomerRef>, ApiError> {
    let id = id
        .map(|id| {
            id.parse::<CustomerId>()
                .map_err(|_| ApiError::invalid("customerId must be a UUID"))
        })
        .transpose()?;
    Ok(CustomerRef::from_parts(id, external_id)?)
}

fn list_options(uri: &Uri) -> Result<ListOptions, ApiError> {
    let [
        customer_id,
        customer_external_id,
        limit,
        include_expired,
        status,
        starting_after,
    ] = query_params(uri, LIST_PARAMETERS)?;
    let mut options = ListOptions::default();
    match customer(customer_id, customer_external_id)? {
        Some(CustomerRef::Id(id)) => options.customer_id = Some(id),
        Some(CustomerRef::ExternalId(external_id)) => {
            options.customer_external_id = Some(external_id);
        }
        None => {}
    }
    if let Some(value) = limit {
        let limit =
            (!value.is_empty() && value.len() <= 3 && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<usize>().ok())
                .flatten()
                .filter(|limit| (1..=portal_sessions::MAX_LIST_LIMIT).contains(limit));
        options.limit =
            limit.ok_or_else(|| ApiError::invalid("limit must be an integer between 1 and 100"))?;
    }
    if let Some(value) = include_expired {
        options.include_expired = match value.as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(ApiError::invalid("includeExpired must be true or false")),
        };
    }
    if let Some(value) = status {
        options.status = Some(match value.as_str() {
            "openable" => StatusFilter::Openable,
            "active" => StatusFilter::Active,
            "used" => StatusFilter::Used,
            "expired" => StatusFilter::Expired,
            "revoked" => StatusFilter::Revoked,
            _ => {
                return Err(ApiError::invalid(
                    "status must be one of openable, active, used, expired, revoked",
                ));
            }
        });
    }
    if let Some(value) = starting_after {
        options.starting_after = Some(
            value
                .parse::<SessionId>()
                .map_err(|_| ApiError::invalid("startingAfter must be a portal session id"))?,
        );
    }
    Ok(options)
}

pub(crate) async fn list<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    uri: Uri,
) -> Result<Response, ApiError> {
    let options = list_options(&uri)?;
    let records = shared.engine.list(org, options).await?;
    let now = shared.engine.now();
    let views: Vec<SessionItem> = records.iter().map(|r| SessionItem::new(r, now)).collect();
    Ok(Json(views).into_response())
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
    Ok(Json(SessionItem::new(&record, shared.engine.now())).into_response())
}

/// The answer of a customer-wide revocation.
#[derive(Serialize)]
struct Revocation {
    object: &'static str,
    revoked: u64,
}

/// `DELETE /v1/portal-sessions?customerId=...` (or `customerExternalId`): revokes every live
/// session of the customer.
pub(crate) async fn revoke_customer<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Org(org): Org,
    uri: Uri,
) -> Result<Response, ApiError> {
    let [id, external_id] = query_params(&uri, REVOKE_CUSTOMER_PARAMETERS)?;
    let customer = customer(id, external_id)?
        .ok_or_else(|| ApiError::invalid("one of customerId or customerExternalId is required"))?;
    let revoked = shared.engine.revoke_customer(org, customer).await?;
    Ok(Json(Revocation {
        object: "revocation",
        revoked,
    })
    .into_response())
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
    use super::*;

    fn uri(query: &str) -> Uri {
        format!("/v1/portal-sessions?{query}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn list_queries() {
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
        let create_request = |body: &[u8]| super::create_request(body, ttl);
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
            br#"{"customerExternalId":"a","expiresInSeconds":59}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":3601}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":600.5}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":-60}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":"600"}"#,
            br#"{"customerExternalId":"a","expiresInSeconds":1e400}"#,
            br#"{"customerExternalId":"a","invalidateExisting":"true"}"#,
            br#"{"customerExternalId":"a","invalidateExisting":1}"#,
        ] {
            assert!(
                create_request(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
