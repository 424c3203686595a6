//! What every check runs against: two organisations with their API keys, their customers, and the
//! public URL links are minted under.

use portal_sessions::{CustomerId, CustomerSnapshot, OrgId, SessionId};
use serde_json::Value;

pub const KEY_A: &str = "mf_sk_test_org_a_0123456789";
pub const PUB_A: &str = "mf_pk_test_org_a_0123456789";
pub const KEY_B: &str = "mf_sk_test_org_b_0123456789";
pub const PUBLIC_URL: &str = "https://billing.example.test";

pub fn org_a() -> OrgId {
    OrgId::from_bytes([0xA0; 16])
}
pub fn org_b() -> OrgId {
    OrgId::from_bytes([0xB0; 16])
}
pub fn acme() -> CustomerSnapshot {
    CustomerSnapshot {
        id: "550e8400-e29b-41d4-a716-446655440000".parse().unwrap(),
        external_id: "acme-001".into(),
        name: "Acme Corp".into(),
        email: Some("billing@acme.test".into()),
        locale: None,
    }
}
pub fn plain() -> CustomerSnapshot {
    CustomerSnapshot {
        id: CustomerId::from_bytes([2; 16]),
        external_id: "plain-002".into(),
        name: "Plain Ltd".into(),
        email: None,
        locale: None,
    }
}
/// A French customer with an address, whose pages and emails speak French by default.
pub fn societe() -> CustomerSnapshot {
    CustomerSnapshot {
        id: CustomerId::from_bytes([4; 16]),
        external_id: "societe-004".into(),
        name: "Société Générale des Tests".into(),
        email: Some("Compta@Societe.test".into()),
        locale: Some("fr".parse().unwrap()),
    }
}
pub fn umbrella() -> CustomerSnapshot {
    CustomerSnapshot {
        id: CustomerId::from_bytes([3; 16]),
        external_id: "umbrella-003".into(),
        name: "Umbrella".into(),
        email: None,
        locale: None,
    }
}

/// A well-formed session id that names no session.
pub(super) fn fixture_session_id() -> SessionId {
    portal_sessions::LinkToken::generate()
        .unwrap_or_else(|e| panic!("{e}"))
        .session_id()
}

/// Whether `value` is an RFC 3339 timestamp.
pub(super) fn is_timestamp(value: &Value) -> bool {
    value
        .as_str()
        .and_then(portal_sessions::Timestamp::parse_rfc3339)
        .is_some()
}
