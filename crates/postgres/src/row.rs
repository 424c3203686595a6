//! Records to rows and back.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use portal_sessions::{
    ClientInfo, CustomerId, CustomerSnapshot, DeepLink, Features, MintedBy, OrgId, SecretHash,
    SessionId, SessionRecord, StoreError, Timestamp,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// The columns every SELECT returns, in the order [`decode`] reads them.
pub(crate) const COLUMNS: &str = "id, org_id, customer_id, customer_external_id, customer_name, \
    customer_email, features, return_url, verifier_hash, viewer_hash, created_at, expires_at, \
    used_at, revoked_at, redeemed, redeemed_ip, redeemed_user_agent, version, locale, \
    logged_out_at, customer_locale, recovery, recovery_ended_at, minted_by, recovered_from, \
    chain_started_at, deep_link_invoice, deep_link_section";

/// How many columns [`COLUMNS`] names: a statement's extra columns come after them.
pub(crate) const COLUMN_COUNT: usize = 28;

pub(crate) fn corrupt(field: &str, source: Option<portal_sessions::BoxError>) -> StoreError {
    StoreError::corrupt(
        format!("column {field} holds a value no record has"),
        source,
    )
}

fn time(field: &str, value: SystemTime) -> Result<Timestamp, StoreError> {
    Timestamp::from_system_time(value).ok_or_else(|| corrupt(field, None))
}

fn opt_time(field: &str, value: Option<SystemTime>) -> Result<Option<Timestamp>, StoreError> {
    value.map(|value| time(field, value)).transpose()
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
    field: &str,
) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|error| corrupt(field, Some(Box::new(error))))
}

fn bytes<const N: usize>(field: &str, value: Vec<u8>) -> Result<[u8; N], StoreError> {
    value.try_into().map_err(|_| corrupt(field, None))
}

/// A row selected with [`COLUMNS`] as a record.
pub(crate) fn decode(row: &Row) -> Result<SessionRecord, StoreError> {
    let features: i16 = get(row, 6, "features")?;
    let viewer_hash: Option<Vec<u8>> = get(row, 9, "viewer_hash")?;
    let redeemed: bool = get(row, 14, "redeemed")?;
    let version: i64 = get(row, 17, "version")?;
    let locale: Option<String> = get(row, 18, "locale")?;
    let customer_locale: Option<String> = get(row, 20, "customer_locale")?;
    let minted_by = match (
        get::<i16>(row, 23, "minted_by")?,
        get::<Option<Vec<u8>>>(row, 24, "recovered_from")?,
    ) {
        (0, None) => MintedBy::Api,
        (1, Some(from)) => MintedBy::Recovery {
            from: SessionId::from_bytes(bytes("recovered_from", from)?),
        },
        (2, None) => MintedBy::LoginPage,
        _ => return Err(corrupt("minted_by", None)),
    };
    let created_at = time("created_at", get(row, 10, "created_at")?)?;
    let deep_link = match (
        get::<Option<String>>(row, 26, "deep_link_invoice")?,
        get::<Option<String>>(row, 27, "deep_link_section")?,
    ) {
        (None, None) => None,
        (Some(number), None) => Some(DeepLink::Invoice(number)),
        (None, Some(section)) => Some(DeepLink::Section(
            section
                .parse()
                .map_err(|_| corrupt("deep_link_section", None))?,
        )),
        (Some(_), Some(_)) => return Err(corrupt("deep_link_section", None)),
    };
    Ok(SessionRecord {
        id: SessionId::from_bytes(bytes("id", get(row, 0, "id")?)?),
        org_id: OrgId::from_uuid(get::<Uuid>(row, 1, "org_id")?),
        customer: Arc::new(CustomerSnapshot {
            id: CustomerId::from_uuid(get::<Uuid>(row, 2, "customer_id")?),
            external_id: get(row, 3, "customer_external_id")?,
            name: get(row, 4, "customer_name")?,
            email: get(row, 5, "customer_email")?,
            locale: customer_locale
                .map(|tag| tag.parse().map_err(|_| corrupt("customer_locale", None)))
                .transpose()?,
        }),
        features: u8::try_from(features)
            .ok()
            .and_then(Features::from_bits)
            .ok_or_else(|| corrupt("features", None))?,
        return_url: get(row, 7, "return_url")?,
        locale: locale
            .map(|tag| tag.parse().map_err(|_| corrupt("locale", None)))
            .transpose()?,
        verifier_hash: SecretHash::from_bytes(bytes(
            "verifier_hash",
            get(row, 8, "verifier_hash")?,
        )?),
        viewer_hash: viewer_hash
            .map(|hash| bytes("viewer_hash", hash).map(SecretHash::from_bytes))
            .transpose()?,
        created_at,
        expires_at: time("expires_at", get(row, 11, "expires_at")?)?,
        used_at: opt_time("used_at", get(row, 12, "used_at")?)?,
        revoked_at: opt_time("revoked_at", get(row, 13, "revoked_at")?)?,
        logged_out_at: opt_time("logged_out_at", get(row, 19, "logged_out_at")?)?,
        redeemed_by: redeemed
            .then(|| {
                Ok::<_, StoreError>(ClientInfo {
                    ip: get::<Option<IpAddr>>(row, 15, "redeemed_ip")?,
                    user_agent: get(row, 16, "redeemed_user_agent")?,
                })
            })
            .transpose()?,
        recovery: get(row, 21, "recovery")?,
        recovery_ended_at: opt_time("recovery_ended_at", get(row, 22, "recovery_ended_at")?)?,
        minted_by,
        chain_started_at: opt_time("chain_started_at", get(row, 25, "chain_started_at")?)?
            .unwrap_or(created_at),
        deep_link,
        version: u64::try_from(version).map_err(|_| corrupt("version", None))?,
    })
}

/// A record's column values, owned, in [`COLUMNS`] order, ready to bind.
pub(crate) struct Params {
    id: Vec<u8>,
    org_id: Uuid,
    customer_id: Uuid,
    external_id: String,
    name: String,
    email: Option<String>,
    features: i16,
    return_url: Option<String>,
    verifier_hash: Vec<u8>,
    viewer_hash: Option<Vec<u8>>,
    created_at: SystemTime,
    expires_at: SystemTime,
    used_at: Option<SystemTime>,
    revoked_at: Option<SystemTime>,
    redeemed: bool,
    redeemed_ip: Option<IpAddr>,
    redeemed_user_agent: Option<String>,
    version: i64,
    locale: Option<String>,
    logged_out_at: Option<SystemTime>,
    customer_locale: Option<String>,
    recovery: bool,
    recovery_ended_at: Option<SystemTime>,
    minted_by: i16,
    recovered_from: Option<Vec<u8>>,
    chain_started_at: SystemTime,
    deep_link_invoice: Option<String>,
    deep_link_section: Option<&'static str>,
}

impl Params {
    pub(crate) fn new(record: &SessionRecord) -> Result<Params, StoreError> {
        Ok(Params {
            id: record.id.as_bytes().to_vec(),
            org_id: *record.org_id.as_uuid(),
            customer_id: *record.customer.id.as_uuid(),
            external_id: record.customer.external_id.clone(),
            name: record.customer.name.clone(),
            email: record.customer.email.clone(),
            features: i16::from(record.features.bits()),
            return_url: record.return_url.clone(),
            verifier_hash: record.verifier_hash.to_bytes().to_vec(),
            viewer_hash: record.viewer_hash.map(|hash| hash.to_bytes().to_vec()),
            created_at: record.created_at.to_system_time(),
            expires_at: record.expires_at.to_system_time(),
            used_at: record.used_at.map(Timestamp::to_system_time),
            revoked_at: record.revoked_at.map(Timestamp::to_system_time),
            redeemed: record.redeemed_by.is_some(),
            redeemed_ip: record.redeemed_by.as_ref().and_then(|client| client.ip),
            redeemed_user_agent: record
                .redeemed_by
                .as_ref()
                .and_then(|client| client.user_agent.clone()),
            version: i64::try_from(record.version)
                .map_err(|_| StoreError::Backend("record version exceeds i64".into()))?,
            locale: record.locale.map(|locale| locale.to_string()),
            logged_out_at: record.logged_out_at.map(Timestamp::to_system_time),
            customer_locale: record.customer.locale.map(|locale| locale.to_string()),
            recovery: record.recovery,
            recovery_ended_at: record.recovery_ended_at.map(Timestamp::to_system_time),
            minted_by: match record.minted_by {
                MintedBy::Api => 0,
                MintedBy::Recovery { .. } => 1,
                MintedBy::LoginPage => 2,
            },
            recovered_from: record
                .minted_by
                .recovered_from()
                .map(|from| from.as_bytes().to_vec()),
            chain_started_at: record.chain_started_at.to_system_time(),
            deep_link_invoice: match &record.deep_link {
                Some(DeepLink::Invoice(number)) => Some(number.clone()),
                _ => None,
            },
            deep_link_section: match &record.deep_link {
                Some(DeepLink::Section(feature)) => Some(feature.as_str()),
                _ => None,
            },
        })
    }

    /// All columns, for INSERT.
    pub(crate) fn all(&self) -> [&(dyn ToSql + Sync); 28] {
        [
            &self.id,
            &self.org_id,
            &self.customer_id,
            &self.external_id,
            &self.name,
            &self.email,
            &self.features,
            &self.return_url,
            &self.verifier_hash,
            &self.viewer_hash,
            &self.created_at,
            &self.expires_at,
            &self.used_at,
            &self.revoked_at,
            &self.redeemed,
            &self.redeemed_ip,
            &self.redeemed_user_agent,
            &self.version,
            &self.locale,
            &self.logged_out_at,
            &self.customer_locale,
            &self.recovery,
            &self.recovery_ended_at,
            &self.minted_by,
            &self.recovered_from,
            &self.chain_started_at,
            &self.deep_link_invoice,
            &self.deep_link_section,
        ]
    }

    /// The id, the expected version, then the columns a compare-and-swap changes: the parameters of
    /// the UPDATE statement, `$1` to `$11`.
    pub(crate) fn swap<'a>(&'a self, expected_version: &'a i64) -> [&'a (dyn ToSql + Sync); 11] {
        [
            &self.id,
            expected_version,
            &self.viewer_hash,
            &self.used_at,
            &self.revoked_at,
            &self.redeemed,
            &self.redeemed_ip,
            &self.redeemed_user_agent,
            &self.version,
            &self.logged_out_at,
            &self.recovery_ended_at,
        ]
    }
}
