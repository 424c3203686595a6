//! The create body, typed: [`CreateBody`] is the one definition of its fields.
//!
//! A body is read in two passes over its bytes. [`json::check`](crate::json::check) refuses
//! anything that is not JSON, and any object that names a key twice (known or not, at any depth),
//! building nothing; then serde's derive reads the fields from the bytes, camelCase, ignoring
//! unknown ones. Each field's type says what it accepts and, through its `deserialize_with`, which
//! message a client gets when it sends something else: the messages name the field, never the
//! value. Of several bad fields, a client is told of the first its body names.
//!
//! The lifetime's range is not checked here: the engine checks it, in one place, against its own
//! configured lifetime ([`Engine::create`](portal_sessions::Engine::create)); the handler words the
//! engine's refusal with that lifetime.

use std::time::Duration;

use portal_sessions::{
    CreateRequest, CustomerId, DeepLink, Feature, Features, Locale, MIN_REQUESTED_TTL,
};
use serde::Deserialize;
use serde::de::{self, Error as _};

use crate::error::ApiError;
use crate::json::{self, Top};

/// A create body, as `POST /v1/portal-sessions` takes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateBody {
    #[serde(default, deserialize_with = "customer_id")]
    customer_id: Option<CustomerId>,
    #[serde(default, deserialize_with = "customer_external_id")]
    customer_external_id: Option<String>,
    #[serde(default, deserialize_with = "return_url")]
    return_url: Option<String>,
    #[serde(default, deserialize_with = "features")]
    features: Option<Features>,
    #[serde(default, deserialize_with = "locale")]
    locale: Option<Locale>,
    /// Read whole by [`into_request`](Self::into_request), which words its refusal with the
    /// service's lifetime.
    #[serde(default)]
    expires_in_seconds: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "invalidate_existing")]
    invalidate_existing: Option<bool>,
    #[serde(default, deserialize_with = "recovery")]
    recovery: Option<bool>,
    #[serde(default, deserialize_with = "invoice")]
    invoice: Option<String>,
    #[serde(default, deserialize_with = "section")]
    section: Option<Feature>,
}

/// The wire names of the create body's fields, as serde's derive declares them: the OpenAPI
/// document's create schema has exactly these (`openapi`'s tests check).
#[cfg(test)]
pub(crate) fn fields() -> &'static [&'static str] {
    super::fields::of::<CreateBody>()
}

impl CreateBody {
    /// Parses a body.
    ///
    /// # Errors
    ///
    /// A 400 [`ApiError`] whose message names what is wrong.
    pub(crate) fn parse(body: &[u8]) -> Result<CreateBody, ApiError> {
        match json::check(body) {
            Ok(Top::Object) => {}
            Ok(Top::Other) => {
                return Err(ApiError::invalid("the request body must be a JSON object"));
            }
            Err(error) => return Err(ApiError::invalid(error.message())),
        }
        // Every message comes from a field's own reader below (each takes any JSON value), so
        // it names the field and never carries a value; serde_json's position is left off.
        serde_json::from_slice(body).map_err(|error| ApiError::invalid(without_position(&error)))
    }

    /// The engine's request. `ttl` is the service's longest lifetime, for the message of an
    /// `expiresInSeconds` that is not a whole number of seconds; its range is the engine's to
    /// check.
    ///
    /// # Errors
    ///
    /// A 400 [`ApiError`] when `expiresInSeconds` is not a non-negative integer.
    pub(crate) fn into_request(self, ttl: Duration) -> Result<CreateRequest, ApiError> {
        let expires_in = match self.expires_in_seconds {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(Duration::from_secs(
                value
                    .as_u64()
                    .ok_or_else(|| ApiError::invalid(lifetime_message(ttl)))?,
            )),
        };
        let deep_link = match (self.invoice, self.section) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "send invoice or section, not both: a link opens one place",
                ));
            }
            (Some(number), None) => Some(DeepLink::Invoice(number)),
            (None, Some(section)) => Some(DeepLink::Section(section)),
            (None, None) => None,
        };
        Ok(CreateRequest {
            customer_id: self.customer_id,
            customer_external_id: self.customer_external_id,
            return_url: self.return_url,
            features: self.features,
            locale: self.locale,
            expires_in,
            invalidate_existing: self.invalidate_existing.unwrap_or(false),
            recovery: self.recovery.unwrap_or(true),
            deep_link,
        })
    }
}

/// serde_json's message without the ` at line L column C` it ends with when it knows where.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// The message for a lifetime outside what a service with this longest lifetime mints.
pub(crate) fn lifetime_message(ttl: Duration) -> String {
    format!(
        "expiresInSeconds must be an integer between {} and {}",
        MIN_REQUESTED_TTL.as_secs(),
        ttl.as_secs()
    )
}

/// `null` or absent is `None`; anything else is read by `read`, whose refusal is `message`.
fn optional<'de, D, T, R>(deserializer: D, message: &str, read: R) -> Result<Option<T>, D::Error>
where
    D: de::Deserializer<'de>,
    R: FnOnce(serde_json::Value) -> Option<T>,
{
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(value) => read(value)
            .map(Some)
            .ok_or_else(|| D::Error::custom(message)),
    }
}

fn string(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text),
        _ => None,
    }
}

fn customer_id<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<CustomerId>, D::Error> {
    optional(d, "customerId must be a UUID", |value| {
        string(value)?.parse().ok()
    })
}

fn customer_external_id<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    optional(d, "customerExternalId must be a string", string)
}

fn return_url<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    optional(d, "returnUrl must be a string", string)
}

fn locale<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Locale>, D::Error> {
    optional(
        d,
        "locale must be en, fr, de or es, optionally with a region such as fr-CA",
        |value| string(value)?.parse().ok(),
    )
}

fn invalidate_existing<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    optional(d, "invalidateExisting must be true or false", |value| {
        value.as_bool()
    })
}

fn invoice<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    optional(d, "invoice must be a string", string)
}

fn section<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Feature>, D::Error> {
    optional(
        d,
        "section must be one of invoices, subscriptions, usage, profile",
        |value| string(value)?.parse().ok(),
    )
}

fn recovery<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    optional(d, "recovery must be true or false", |value| value.as_bool())
}

fn features<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Features>, D::Error> {
    let Some(value) = Option::<serde_json::Value>::deserialize(d)? else {
        return Ok(None);
    };
    let serde_json::Value::Array(items) = value else {
        return Err(D::Error::custom("features must be an array of strings"));
    };
    let mut set = Features::EMPTY;
    for item in items {
        let feature = item
            .as_str()
            .and_then(|name| name.parse::<Feature>().ok())
            .ok_or_else(|| {
                D::Error::custom(
                    "features may contain only invoices, subscriptions, usage and profile",
                )
            })?;
        set = set.with(feature);
    }
    if set == Features::EMPTY {
        return Err(D::Error::custom(
            "features must name at least one of invoices, subscriptions, usage and profile \
             (leave it out for all four)",
        ));
    }
    Ok(Some(set))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_what_is_wrong_and_nothing_else() {
        for (body, message) in [
            (
                &br#"{"customerExternalId":5}"#[..],
                "customerExternalId must be a string",
            ),
            (
                br#"{"customerExternalId":"a","features":["usage","billing"]}"#,
                "features may contain only invoices, subscriptions, usage and profile",
            ),
            (
                br#"{"customerExternalId":"a","locale":"pt"}"#,
                "locale must be en, fr, de or es, optionally with a region such as fr-CA",
            ),
            (
                br#"{"a":1,"a":2}"#,
                r#"the request body names the key "a" more than once in one object"#,
            ),
            // Of several bad fields, the first the body names.
            (
                br#"{"recovery":"x","invalidateExisting":"y"}"#,
                "recovery must be true or false",
            ),
            (
                br#"{"invalidateExisting":"y","recovery":"x"}"#,
                "invalidateExisting must be true or false",
            ),
            (b"[1]", "the request body must be a JSON object"),
            (b"{", "the request body is not valid JSON"),
        ] {
            let error = CreateBody::parse(body).err().unwrap();
            let shown = format!("{error:?}");
            assert!(shown.contains(&format!("message: {message:?},")), "{shown}");
        }
    }
}
