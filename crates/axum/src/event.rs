//! The JSON body of a webhook delivery: one [`SessionEvent`] as the HTTP contract's "Events"
//! shows it.

use portal_sessions::{EventKind, SessionEvent};
use serde::Serialize;

use crate::api::SessionItem;

/// The wire type of an event of `kind`: `portal_session.created`, `portal_session.redeemed`,
/// `portal_session.logged_out` or `portal_session.revoked`.
pub fn event_type(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Created => "portal_session.created",
        EventKind::Redeemed => "portal_session.redeemed",
        EventKind::LoggedOut => "portal_session.logged_out",
        EventKind::Revoked => "portal_session.revoked",
    }
}

/// A session event as webhooks deliver it:
/// `{"id":"evt_...","object":"event","type":"portal_session.<kind>","createdAt":"...","data":{...}}`.
///
/// `id` is [`SessionEvent::id`] (the same on every delivery: receivers deduplicate by it),
/// `createdAt` the instant of the event, and `data` the session in exactly the shape of a list
/// item (never the token or the URL), as it was right after the event, with `isExpired` decided at
/// that instant.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    id: String,
    object: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    created_at: String,
    data: SessionItem,
}

impl WebhookEvent {
    /// The body of `event`.
    pub fn new(event: &SessionEvent) -> WebhookEvent {
        WebhookEvent {
            id: event.id(),
            object: "event",
            kind: event_type(event.kind),
            created_at: event.at.to_string(),
            data: SessionItem::from_view(&event.session, event.at),
        }
    }

    /// The event's id, `evt_...`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event's wire type, `portal_session.<kind>`.
    pub fn event_type(&self) -> &'static str {
        self.kind
    }

    /// The JSON text, as it is signed and sent.
    pub fn to_json(&self) -> String {
        match serde_json::to_string(self) {
            Ok(json) => json,
            // Strings, booleans, options and sequences of strings: nothing here fails to serialize.
            Err(error) => unreachable!("an event failed to serialize: {error}"),
        }
    }
}

/// The JSON body of a webhook delivery of `event` ([`WebhookEvent`]).
///
/// # Examples
///
/// ```
/// # use portal_sessions::*;
/// # fn body(record: &SessionRecord) {
/// for event in record.events() {
///     let body = portal_sessions_axum::event_body(&event);
///     assert!(body.starts_with(r#"{"id":"evt_"#));
/// }
/// # }
/// ```
pub fn event_body(event: &SessionEvent) -> String {
    WebhookEvent::new(event).to_json()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use portal_sessions::{
        Change, CustomerId, CustomerSnapshot, Features, OrgId, SecretHash, SessionId,
        SessionRecord, Timestamp,
    };
    use serde_json::{Value, json};

    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis).unwrap()
    }

    #[test]
    fn the_body_is_the_contract_and_data_is_the_list_item_at_the_event() {
        let customer = CustomerSnapshot {
            id: CustomerId::from_bytes([8; 16]),
            external_id: "acme-001".into(),
            name: "Acme Corp".into(),
            email: Some("billing@acme.test".into()),
            locale: None,
        };
        let created = at(1_780_000_000_000);
        let revoked_at = at(1_780_000_060_000);
        let record = SessionRecord {
            id: SessionId::from_bytes([1; 16]),
            org_id: OrgId::from_bytes([7; 16]),
            customer: Arc::new(customer),
            features: Features::ALL,
            return_url: None,
            locale: None,
            verifier_hash: SecretHash::from_bytes([2; 32]),
            viewer_hash: None,
            created_at: created,
            expires_at: created.checked_add(Duration::from_secs(600)).unwrap(),
            used_at: None,
            revoked_at: None,
            logged_out_at: None,
            redeemed_by: None,
            recovery: true,
            recovery_ended_at: None,
            // A recovered session: its created event says where from.
            minted_by: portal_sessions::MintedBy::Recovery {
                from: SessionId::from_bytes([5; 16]),
            },
            chain_started_at: created,
            deep_link: None,
            version: 1,
        };
        let record = record.apply(Change::Revoke, revoked_at).unwrap();
        let events: Vec<_> = record.events().collect();
        assert_eq!(events.len(), 2);
        let created_body: Value = serde_json::from_str(&event_body(&events[0])).unwrap();
        assert_eq!(
            created_body,
            json!({
                "id": events[0].id(),
                "object": "event",
                "type": "portal_session.created",
                "createdAt": "2026-05-28T20:26:40.000Z",
                "data": {
                    "id": record.id.to_string(),
                    "object": "portal_session",
                    "customerId": CustomerId::from_bytes([8; 16]).to_string(),
                    "customerName": "Acme Corp",
                    "customerEmail": "billing@acme.test",
                    "expiresAt": "2026-05-28T20:36:40.000Z",
                    "isExpired": false,
                    "isUsed": false,
                    "isRevoked": false,
                    "usedAt": null,
                    "revokedAt": null,
                    "createdAt": "2026-05-28T20:26:40.000Z",
                    "returnUrl": null,
                    "features": ["invoices", "subscriptions", "usage", "profile"],
                    "locale": null,
                    "recovery": true,
                    "recoveredFrom": SessionId::from_bytes([5; 16]).to_string(),
                    "invoice": null,
                    "section": null
                }
            })
        );
        let keys: Vec<_> = event_body(&events[0])
            .split("\":")
            .take(5)
            .map(|part| part.rsplit('"').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(keys, ["id", "object", "type", "createdAt", "data"]);
        let revoked: Value = serde_json::from_str(&event_body(&events[1])).unwrap();
        assert_eq!(revoked["type"], "portal_session.revoked");
        assert_eq!(revoked["createdAt"], "2026-05-28T20:27:40.000Z");
        assert_eq!(revoked["data"]["isRevoked"], true);
        assert_eq!(revoked["data"]["revokedAt"], "2026-05-28T20:27:40.000Z");
    }
}
