//! What the API answers: sessions as items, the create response, a revocation's count.

use portal_sessions::{CreatedSession, Feature, Features, SessionRecord, SessionView, Timestamp};
use serde::Serialize;

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
    pub(crate) fn new(record: &SessionRecord, now: Timestamp) -> SessionItem {
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
pub(crate) struct CreatedView {
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

impl CreatedView {
    /// The answer to a create whose link is at `url`.
    pub(crate) fn new(
        created: &CreatedSession,
        url: String,
        invalidate_existing: bool,
    ) -> CreatedView {
        let record = &created.record;
        CreatedView {
            id: record.id.to_string(),
            object: "portal_session",
            url,
            token: created.link.expose_secret(),
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
        }
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
