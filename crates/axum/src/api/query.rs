//! The query strings of the list and the customer-wide revocation, typed.
//!
//! Each is a serde-derived struct read by axum's [`Query`] extractor: a parameter given twice is
//! refused by the derive (a duplicate field), not silently the first or last value; unknown
//! parameters are ignored. Each value is then parsed by its own type's rules, with a message that
//! names the parameter. A query whose percent-encoding is not UTF-8 is refused before it is read
//! (the URL decoder would otherwise replace the bytes and read something the client did not send).

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::Uri;
use percent_encoding::percent_decode_str;
use portal_sessions::{CustomerId, CustomerRef, ListOptions, SessionId, StatusFilter};
use serde::Deserialize;

use crate::error::ApiError;

/// `GET /v1/portal-sessions`'s parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListParams {
    customer_id: Option<String>,
    customer_external_id: Option<String>,
    limit: Option<String>,
    include_expired: Option<String>,
    status: Option<String>,
    starting_after: Option<String>,
}

/// `DELETE /v1/portal-sessions`'s parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevokeCustomerParams {
    customer_id: Option<String>,
    customer_external_id: Option<String>,
}

/// The wire names of the list's parameters, as the derive declares them; the OpenAPI document's
/// list operation has exactly these.
#[cfg(test)]
pub(crate) fn list_parameters() -> &'static [&'static str] {
    super::fields::of::<ListParams>()
}

/// The wire names of the customer-wide revocation's parameters.
#[cfg(test)]
pub(crate) fn revoke_customer_parameters() -> &'static [&'static str] {
    super::fields::of::<RevokeCustomerParams>()
}

/// Reads a query string into `T`.
///
/// # Errors
///
/// 400 for a query that is not UTF-8 or names a parameter twice.
pub(crate) fn read<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    let raw = uri.query().unwrap_or_default();
    if percent_decode_str(raw).decode_utf8().is_err() {
        return Err(ApiError::invalid("the query string is not valid UTF-8"));
    }
    Query::<T>::try_from_uri(uri)
        .map(|Query(params)| params)
        .map_err(|rejection| ApiError::invalid(rejection_message(&rejection)))
}

/// The message of a refused query: the repeated parameter's name, which the derive's error
/// carries as "duplicate field `name`" (a name the struct declares, never a value).
fn rejection_message(rejection: &QueryRejection) -> String {
    let text = rejection.body_text();
    let repeated = text
        .split_once("duplicate field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name);
    match repeated {
        Some(name) => format!("{name} is given more than once"),
        None => "the query string cannot be read".to_owned(),
    }
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

impl RevokeCustomerParams {
    /// The customer to revoke.
    pub(crate) fn customer(self) -> Result<CustomerRef, ApiError> {
        customer(self.customer_id, self.customer_external_id)?
            .ok_or_else(|| ApiError::invalid("one of customerId or customerExternalId is required"))
    }
}

impl ListParams {
    /// The engine's list options.
    pub(crate) fn options(self) -> Result<ListOptions, ApiError> {
        let mut options = ListOptions::default();
        match customer(self.customer_id, self.customer_external_id)? {
            Some(CustomerRef::Id(id)) => options.customer_id = Some(id),
            Some(CustomerRef::ExternalId(external_id)) => {
                options.customer_external_id = Some(external_id);
            }
            None => {}
        }
        if let Some(value) = self.limit {
            let limit = (!value.is_empty()
                && value.len() <= 3
                && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<usize>().ok())
            .flatten()
            .filter(|limit| (1..=portal_sessions::MAX_LIST_LIMIT).contains(limit));
            options.limit = limit
                .ok_or_else(|| ApiError::invalid("limit must be an integer between 1 and 100"))?;
        }
        if let Some(value) = self.include_expired {
            options.include_expired = match value.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(ApiError::invalid("includeExpired must be true or false")),
            };
        }
        if let Some(value) = self.status {
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
        if let Some(value) = self.starting_after {
            options.starting_after = Some(
                value
                    .parse::<SessionId>()
                    .map_err(|_| ApiError::invalid("startingAfter must be a portal session id"))?,
            );
        }
        Ok(options)
    }
}
