//! What the API answers: sessions as items, the create response, a revocation's count.

use std::sync::Arc;

use portal_sessions::{
    CreatedSession, CustomerSnapshot, DeepLink, Feature, Features, Locale, SessionId,
    SessionRecord, SessionView, Timestamp,
};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::json_object::{JsonObject, JsonValue, key};

/// Writes a value through its `Display`, straight into the JSON (no string in between).
fn display<T: std::fmt::Display, S: Serializer>(value: &T, out: S) -> Result<S::Ok, S::Error> {
    out.collect_str(value)
}

/// [`display`], or `null`.
fn display_or_null<T: std::fmt::Display, S: Serializer>(
    value: &Option<T>,
    out: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => out.collect_str(value),
        None => out.serialize_none(),
    }
}

/// The features as a list of their wire names.
fn feature_names<S: Serializer>(features: &Features, out: S) -> Result<S::Ok, S::Error> {
    out.collect_seq(features.iter().map(Feature::as_str))
}

/// The customer's fields of an answer (`customerId`, `customerName`, `customerEmail`), written
/// from the record's shared snapshot: flattened into the answer, no string copied.
struct CustomerFields(Arc<CustomerSnapshot>);

impl Serialize for CustomerFields {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let mut map = out.serialize_map(Some(3))?;
        map.serialize_entry("customerId", &DisplayField(self.0.id))?;
        map.serialize_entry("customerName", &self.0.name)?;
        map.serialize_entry("customerEmail", &self.0.email)?;
        map.end()
    }
}

/// The invoice a link opens, for `invoice`.
fn invoice_of(link: Option<&DeepLink>) -> Option<String> {
    match link {
        Some(DeepLink::Invoice(number)) => Some(number.clone()),
        _ => None,
    }
}

/// The section a link opens, for `section`.
fn section_of(link: Option<&DeepLink>) -> Option<Feature> {
    match link {
        Some(DeepLink::Section(feature)) => Some(*feature),
        _ => None,
    }
}

/// A `Display` value as a JSON string.
struct DisplayField<T>(T);

impl<T: std::fmt::Display> Serialize for DisplayField<T> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_str(&self.0)
    }
}

/// A session as the list and get endpoints show it, and as an event's `data`: never the token or
/// the URL. It holds the record's own values (ids and instants are `Copy`, the customer is shared)
/// and formats them as it is written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionItem {
    #[serde(serialize_with = "display")]
    id: SessionId,
    object: &'static str,
    #[serde(flatten)]
    customer: CustomerFields,
    #[serde(serialize_with = "display")]
    expires_at: Timestamp,
    is_expired: bool,
    is_used: bool,
    is_revoked: bool,
    #[serde(serialize_with = "display_or_null")]
    used_at: Option<Timestamp>,
    #[serde(serialize_with = "display_or_null")]
    revoked_at: Option<Timestamp>,
    #[serde(serialize_with = "display")]
    created_at: Timestamp,
    return_url: Option<String>,
    #[serde(serialize_with = "feature_names")]
    features: Features,
    #[serde(serialize_with = "display_or_null")]
    locale: Option<Locale>,
    recovery: bool,
    #[serde(serialize_with = "display_or_null")]
    recovered_from: Option<SessionId>,
    invoice: Option<String>,
    #[serde(serialize_with = "display_or_null")]
    section: Option<Feature>,
}

impl SessionItem {
    /// The session as it is at `now`.
    pub(crate) fn new(record: &SessionRecord, now: Timestamp) -> SessionItem {
        SessionItem::from_view(&record.view(now), now)
    }

    /// The session `view` shows, with `isExpired` decided at `at` (the instant of the view: now
    /// for a list, the event's instant for an event).
    pub(crate) fn from_view(view: &SessionView, at: Timestamp) -> SessionItem {
        SessionItem {
            id: view.id,
            object: "portal_session",
            customer: CustomerFields(Arc::clone(&view.customer)),
            expires_at: view.expires_at,
            is_expired: at >= view.expires_at,
            is_used: view.used_at.is_some(),
            is_revoked: view.revoked_at.is_some(),
            used_at: view.used_at,
            revoked_at: view.revoked_at,
            created_at: view.created_at,
            return_url: view.return_url.clone(),
            features: view.features,
            locale: view.locale,
            recovery: view.recovery,
            recovered_from: view.recovered_from,
            invoice: invoice_of(view.deep_link.as_ref()),
            section: section_of(view.deep_link.as_ref()),
        }
    }
}

/// The create response: the only place the token and URL ever appear. Written by
/// [`json_object`](super::json_object), not serde: it is the answer the API writes most.
pub(crate) struct CreatedView {
    id: SessionId,
    url: String,
    token: String,
    customer: Arc<CustomerSnapshot>,
    expires_at: Timestamp,
    created_at: Timestamp,
    return_url: Option<String>,
    features: Features,
    locale: Option<Locale>,
    expires_in_seconds: u64,
    invalidate_existing: bool,
    recovery: bool,
    invoice: Option<String>,
    section: Option<Feature>,
}

impl CreatedView {
    /// The answer to a create whose link is `token`, at `url`.
    pub(crate) fn new(
        created: &CreatedSession,
        url: String,
        token: String,
        invalidate_existing: bool,
    ) -> CreatedView {
        let record = &created.record;
        CreatedView {
            id: record.id,
            url,
            token,
            customer: Arc::clone(&record.customer),
            expires_at: record.expires_at,
            created_at: record.created_at,
            return_url: record.return_url.clone(),
            features: record.features,
            locale: record.locale,
            expires_in_seconds: record.lifetime().as_secs(),
            invalidate_existing,
            recovery: record.recovery,
            invoice: invoice_of(record.deep_link.as_ref()),
            section: section_of(record.deep_link.as_ref()),
        }
    }
}

impl JsonValue for CreatedView {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = JsonObject::start(out);
        object
            .field(key!("id"), &self.id)
            .field(key!("object"), "portal_session")
            .field(key!("url"), &self.url)
            .field(key!("token"), &self.token)
            .field(key!("customerId"), &self.customer.id)
            .field(key!("customerName"), &self.customer.name)
            .field(key!("customerEmail"), &self.customer.email)
            .field(key!("expiresAt"), &self.expires_at)
            .field(key!("createdAt"), &self.created_at)
            .field(key!("returnUrl"), &self.return_url)
            .field(key!("features"), &self.features)
            .field(key!("locale"), &self.locale)
            .field(key!("expiresInSeconds"), &self.expires_in_seconds)
            .field(key!("invalidateExisting"), &self.invalidate_existing)
            .field(key!("recovery"), &self.recovery)
            .field(key!("invoice"), &self.invoice)
            .field(key!("section"), &self.section);
        object.end();
    }
}

/// The answer of a customer-wide revocation.
#[derive(Serialize)]
pub(crate) struct Revocation {
    object: &'static str,
    revoked: u64,
}

impl Revocation {
    /// `revoked` sessions were revoked.
    pub(crate) fn new(revoked: u64) -> Revocation {
        Revocation {
            object: "revocation",
            revoked,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use portal_sessions::CustomerId;

    use super::*;

    /// The create answer, every field set, with text that needs escaping.
    fn created_view(section: bool) -> CreatedView {
        CreatedView {
            id: SessionId::from_bytes([0xfe; 16]),
            url: "https://billing.example/portal/r/mgl_abc".into(),
            token: "mgl_abc".into(),
            customer: Arc::new(CustomerSnapshot {
                id: CustomerId::from_bytes([0x0c; 16]),
                external_id: "ext-1".into(),
                name: "Zoë \"Q\" O'Brien\n\\ </script> 🦀".into(),
                email: Some("zoe@example.test".into()),
                locale: None,
            }),
            expires_at: Timestamp::from_millis(1_778_697_000_000).unwrap(),
            created_at: Timestamp::from_millis(1_778_693_400_999).unwrap(),
            return_url: Some("https://app.example/back?a=1&b=\u{1}".into()),
            features: Features::EMPTY.with(Feature::Usage).with(Feature::Profile),
            locale: Some("es-419".parse().unwrap()),
            expires_in_seconds: 3600,
            invalidate_existing: true,
            recovery: false,
            invoice: (!section).then(|| "INV-\"7\"".into()),
            section: section.then_some(Feature::Usage),
        }
    }

    /// The create answer as serde_json writes the same values: the same keys in the same order,
    /// compact, escaped alike.
    fn by_serde_json(view: &CreatedView) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Reference<'a> {
            id: String,
            object: &'static str,
            url: &'a str,
            token: &'a str,
            customer_id: String,
            customer_name: &'a str,
            customer_email: Option<&'a str>,
            expires_at: String,
            created_at: String,
            return_url: Option<&'a str>,
            features: Vec<&'static str>,
            locale: Option<String>,
            expires_in_seconds: u64,
            invalidate_existing: bool,
            recovery: bool,
            invoice: Option<&'a str>,
            section: Option<&'static str>,
        }
        serde_json::to_string(&Reference {
            id: view.id.to_string(),
            object: "portal_session",
            url: &view.url,
            token: &view.token,
            customer_id: view.customer.id.to_string(),
            customer_name: &view.customer.name,
            customer_email: view.customer.email.as_deref(),
            expires_at: view.expires_at.to_string(),
            created_at: view.created_at.to_string(),
            return_url: view.return_url.as_deref(),
            features: view.features.iter().map(Feature::as_str).collect(),
            locale: view.locale.map(|locale| locale.to_string()),
            expires_in_seconds: view.expires_in_seconds,
            invalidate_existing: view.invalidate_existing,
            recovery: view.recovery,
            invoice: view.invoice.as_deref(),
            section: view.section.map(Feature::as_str),
        })
        .unwrap()
    }

    #[test]
    fn the_create_answer_is_what_serde_json_writes() {
        for section in [false, true] {
            let view = created_view(section);
            let mut out = Vec::new();
            view.write_json(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), by_serde_json(&view));
        }
        let mut bare = created_view(false);
        (bare.return_url, bare.locale, bare.invoice) = (None, None, None);
        Arc::make_mut(&mut bare.customer).email = None;
        let mut out = Vec::new();
        bare.write_json(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), by_serde_json(&bare));
    }
}
