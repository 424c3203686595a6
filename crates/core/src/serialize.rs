//! serde support (the `serde` feature) and conversions to the `time` crate (the `time` feature).
//!
//! Every type serializes the way it prints, so that a JSON document, a config file or a log line
//! written with serde reads like this crate's own `Display` output, and deserializing is as strict as
//! parsing:
//!
//! | type | form |
//! |---|---|
//! | [`OrgId`], [`CustomerId`] | the hyphenated UUID, `"550e8400-e29b-41d4-a716-446655440000"` |
//! | [`SessionId`] | `"ps_"` + 22 base64url characters |
//! | [`Timestamp`] | RFC 3339, `"2026-05-13T17:30:00.000Z"` (any RFC 3339 offset or fraction is read) |
//! | [`Feature`] | `"invoices"`, `"subscriptions"`, `"usage"` or `"profile"` |
//! | [`Features`] | an array of features; duplicates fold, an unknown name is an error |
//! | [`Status`] | `"issued"`, `"active"`, `"revoked"` or `"expired"` |
//! | [`Locale`](crate::Locale) | its tag, `"fr-CA"` |
//! | [`StatusFilter`](crate::StatusFilter) | `"openable"`, `"active"`, `"used"`, `"expired"` or `"revoked"` |
//!
//! Structs ([`CustomerSnapshot`](crate::CustomerSnapshot), [`ClientInfo`](crate::ClientInfo),
//! [`SessionView`](crate::SessionView), [`CreateRequest`](crate::CreateRequest),
//! [`ListOptions`](crate::ListOptions)) derive serde with their Rust field names. Tokens and records
//! do not serialize: a token is a secret shown once, and a record carries hashes that belong in a
//! store, not in a document ([`SessionRecord::view`](crate::SessionRecord::view) is what to show).
//!
//! # Examples
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use portal_sessions::{Feature, Features, Timestamp};
//!
//! let t: Timestamp = serde_json::from_str("\"2026-05-13T19:30:00+02:00\"").unwrap();
//! assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-05-13T17:30:00.000Z\"");
//! let features: Features = serde_json::from_str(r#"["usage", "invoices", "usage"]"#).unwrap();
//! assert_eq!(features, Features::EMPTY.with(Feature::Invoices).with(Feature::Usage));
//! # }
//! ```

#[cfg(feature = "serde")]
mod with_serde {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::feature::{Feature, Features};
    use crate::id::{CustomerId, OrgId, SessionId};
    use crate::locale::Locale;
    use crate::record::Status;
    use crate::timestamp::Timestamp;

    /// Serializes with `Display` and deserializes with `FromStr`, whose error says what was wrong.
    macro_rules! as_text {
        ($($ty:ty),*) => {$(
            impl Serialize for $ty {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    serializer.collect_str(self)
                }
            }

            impl<'de> Deserialize<'de> for $ty {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    let text = String::deserialize(deserializer)?;
                    text.parse().map_err(D::Error::custom)
                }
            }
        )*};
    }

    as_text!(OrgId, CustomerId, SessionId, Timestamp, Feature, Locale);

    impl Serialize for Features {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.iter())
        }
    }

    impl<'de> Deserialize<'de> for Features {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Ok(Vec::<Feature>::deserialize(deserializer)?
                .into_iter()
                .collect())
        }
    }

    impl Status {
        /// The serialized spelling.
        const fn as_str(self) -> &'static str {
            match self {
                Status::Issued => "issued",
                Status::Active => "active",
                Status::Revoked => "revoked",
                Status::Expired => "expired",
            }
        }
    }

    impl Serialize for Status {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(self.as_str())
        }
    }

    impl<'de> Deserialize<'de> for Status {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = String::deserialize(deserializer)?;
            [
                Status::Issued,
                Status::Active,
                Status::Revoked,
                Status::Expired,
            ]
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| D::Error::custom("expected one of issued, active, revoked, expired"))
        }
    }
}

#[cfg(feature = "time")]
mod with_time {
    use crate::timestamp::{InvalidTimestamp, Timestamp};

    impl From<Timestamp> for time::OffsetDateTime {
        /// The same instant, in UTC. Every [`Timestamp`] (years 0000..=9999) fits.
        fn from(timestamp: Timestamp) -> time::OffsetDateTime {
            time::OffsetDateTime::UNIX_EPOCH
                .saturating_add(time::Duration::milliseconds(timestamp.as_millis()))
        }
    }

    impl TryFrom<time::OffsetDateTime> for Timestamp {
        type Error = InvalidTimestamp;

        /// The same instant truncated to whole milliseconds (towards the past), whatever the offset.
        ///
        /// # Errors
        ///
        /// [`InvalidTimestamp`] outside the years 0000..=9999 (UTC).
        fn try_from(time: time::OffsetDateTime) -> Result<Timestamp, InvalidTimestamp> {
            let millis = time.unix_timestamp_nanos().div_euclid(1_000_000);
            i64::try_from(millis)
                .ok()
                .and_then(Timestamp::from_millis)
                .ok_or(InvalidTimestamp)
        }
    }
}

#[cfg(all(test, feature = "serde", feature = "time"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use crate::*;

    #[test]
    fn ids_timestamps_and_features_serialize_as_they_print() {
        let org = OrgId::from_bytes([0xA0; 16]);
        let id = LinkToken::generate().unwrap().session_id();
        let t = Timestamp::from_millis(1_778_693_400_000).unwrap();
        let features = Features::EMPTY.with(Feature::Usage).with(Feature::Profile);
        let value = serde_json::to_value((org, id, t, features, Status::Active)).unwrap();
        assert_eq!(
            value,
            json!([
                org.to_string(),
                id.to_string(),
                "2026-05-13T17:30:00.000Z",
                ["usage", "profile"],
                "active"
            ])
        );
        let back: (OrgId, SessionId, Timestamp, Features, Status) =
            serde_json::from_value(value).unwrap();
        assert_eq!(back, (org, id, t, features, Status::Active));
    }

    #[test]
    fn deserializing_is_as_strict_as_parsing() {
        for bad in [
            json!("not-a-uuid"),
            json!(7),
            json!("A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0"),
        ] {
            assert!(
                serde_json::from_value::<OrgId>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<SessionId>(json!("ps_short")).is_err());
        assert!(serde_json::from_value::<Timestamp>(json!("2026-02-30T00:00:00Z")).is_err());
        assert!(serde_json::from_value::<Features>(json!(["invoices", "billing"])).is_err());
        assert!(serde_json::from_value::<Status>(json!("Active")).is_err());
        assert_eq!(
            serde_json::from_value::<Timestamp>(json!("2026-05-13T19:30:00.5+02:00")).unwrap(),
            Timestamp::from_millis(1_778_693_400_500).unwrap()
        );
    }

    #[test]
    fn requests_and_views_round_trip() {
        let request = CreateRequest::for_external_id("acme-001")
            .with_return_url("https://app.test/billing")
            .with_features(Features::EMPTY.with(Feature::Invoices))
            .with_locale("es-419".parse().unwrap())
            .expiring_in(std::time::Duration::from_secs(600))
            .invalidating_existing();
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""locale":"es-419""#), "{text}");
        assert_eq!(
            serde_json::from_str::<CreateRequest>(&text).unwrap(),
            request
        );
        let minimal: CreateRequest =
            serde_json::from_value(json!({"customer_external_id": "acme-001"})).unwrap();
        assert_eq!(minimal, CreateRequest::for_external_id("acme-001"));
        let options: ListOptions = serde_json::from_value(json!({"limit": 5})).unwrap();
        assert_eq!(options.limit, 5);
        assert!(!options.include_expired);
        let options: ListOptions =
            serde_json::from_value(json!({"status": "used", "customer_external_id": "a"})).unwrap();
        assert_eq!(options.status, Some(crate::StatusFilter::Used));
        assert!(serde_json::from_value::<ListOptions>(json!({"status": "open"})).is_err());

        let now = Timestamp::from_millis(1_778_693_400_000).unwrap();
        let link = LinkToken::generate().unwrap();
        let record = SessionRecord {
            id: link.session_id(),
            org_id: OrgId::from_bytes([1; 16]),
            customer: Arc::new(CustomerSnapshot {
                id: CustomerId::from_bytes([2; 16]),
                external_id: "acme-001".into(),
                name: "Acme".into(),
                email: None,
                locale: None,
            }),
            features: Features::ALL,
            return_url: None,
            locale: Some("de-AT".parse().unwrap()),
            verifier_hash: link.secret_hash(),
            viewer_hash: None,
            created_at: now,
            expires_at: now.checked_add(std::time::Duration::from_secs(60)).unwrap(),
            used_at: None,
            revoked_at: None,
            logged_out_at: None,
            redeemed_by: Some(ClientInfo::new(Some([192, 0, 2, 1].into()), Some("ua"))),
            recovery: true,
            recovery_ended_at: None,
            minted_by: MintedBy::Api,
            chain_started_at: now,
            deep_link: None,
            version: 3,
        };
        let view = record.view(now);
        let value = serde_json::to_value(&view).unwrap();
        assert_eq!(value["status"], "issued");
        assert_eq!(value["customer"]["external_id"], "acme-001");
        assert_eq!(value["redeemed_by"]["ip"], "192.0.2.1");
        assert!(value.get("verifier_hash").is_none() && value.get("version").is_none());
        assert_eq!(serde_json::from_value::<SessionView>(value).unwrap(), view);
    }

    #[test]
    fn time_conversions_keep_the_instant() {
        for millis in [
            0,
            -1,
            1_778_693_400_123,
            -62_167_219_200_000,
            253_402_300_799_999,
        ] {
            let t = Timestamp::from_millis(millis).unwrap();
            let odt = time::OffsetDateTime::from(t);
            assert_eq!(odt.unix_timestamp_nanos(), i128::from(millis) * 1_000_000);
            assert_eq!(Timestamp::try_from(odt), Ok(t));
        }
        let offset = time::UtcOffset::from_hms(2, 0, 0).unwrap();
        let odt = time::OffsetDateTime::from_unix_timestamp_nanos(1_500_999_999)
            .unwrap()
            .to_offset(offset);
        assert_eq!(
            Timestamp::try_from(odt),
            Ok(Timestamp::from_millis(1_500).unwrap()),
            "truncated to the millisecond, whatever the offset"
        );
        let far = time::OffsetDateTime::from_unix_timestamp(-62_167_219_201).unwrap();
        assert_eq!(Timestamp::try_from(far), Err(InvalidTimestamp));
    }
}
