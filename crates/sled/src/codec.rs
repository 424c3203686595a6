//! The on-disk encoding of a [`SessionRecord`]: versioned, compact, and total.
//!
//! Layout, format 2 (integers big-endian, `str` = u16 length + UTF-8 bytes, `opt<T>` = one tag byte
//! 0 or 1 then `T`):
//!
//! ```text
//! u8 format (= 2)
//! [16] session id   [16] org id   [16] customer id
//! str external id   str name   opt<str> email
//! u8 features   opt<str> return url   opt<str> locale (its tag, "fr-CA")
//! [32] verifier hash   opt<[32]> viewer hash
//! i64 created_at   i64 expires_at   opt<i64> used_at   opt<i64> revoked_at   opt<i64> logged_out_at
//! opt<redeemer>: u8 ip kind (0 none, 4, 6) + address bytes, opt<str> user agent
//! u64 version
//! opt<str> customer's locale   u8 recovery (0 or 1)   opt<i64> recovery_ended_at
//! u8 minted by (0 the API, 1 a recovery + [16] the session recovered from, 2 the login page)
//! i64 chain_started_at
//! u8 deep link (0 none; 1 an invoice + str its number; 2 a section + str its feature's name)
//! ```
//!
//! That is format 3. Format 2 is the same without the last five fields (the recovery fields), and
//! format 1 without the locale and the logout instant too; both are still read (a session minted
//! by the API without recovery, its chain starting at its creation, and without what format 1
//! lacks), and a record is rewritten in format 3 when it next changes. A version of this crate
//! that knows only an earlier format reads a later one as corrupt: run the new version only once
//! every instance can read what it writes.
//!
//! A typical record is about 200 bytes. Decoding checks every length, tag, UTF-8 string, timestamp
//! range and the absence of trailing bytes, and reports what was wrong as a [`DecodeError`]: a
//! corrupt value or an unknown format is an error, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use portal_sessions::{
    ClientInfo, CustomerId, CustomerSnapshot, DeepLink, Features, MintedBy, OrgId, SecretHash,
    SessionId, SessionRecord, Timestamp,
};

/// The format this crate writes.
pub const FORMAT: u8 = 3;
/// The format before sessions had recovery: read, never written.
const FORMAT_WITHOUT_RECOVERY: u8 = 2;
/// The format before sessions had a locale: read, never written.
const FORMAT_WITHOUT_LOCALE: u8 = 1;

/// Why stored bytes could not be decoded. Never contains the bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value is empty.
    #[error("empty value")]
    Empty,
    /// The value was written in a format this version does not know.
    #[error("unknown record format {0}")]
    UnknownFormat(u8),
    /// The value ends in the middle of a field.
    #[error("value truncated in field {0}")]
    Truncated(&'static str),
    /// A field holds a value that no encoder writes.
    #[error("invalid value in field {0}")]
    Invalid(&'static str),
    /// Bytes follow the last field.
    #[error("{0} unexpected bytes after the record")]
    TrailingBytes(usize),
}

/// Encodes `record` in the current [`FORMAT`].
///
/// # Errors
///
/// [`DecodeError::Invalid`] names a string longer than 65535 bytes, which the engine never produces.
pub fn encode(record: &SessionRecord) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(192 + record.customer.name.len());
    out.push(FORMAT);
    out.extend_from_slice(record.id.as_bytes());
    out.extend_from_slice(record.org_id.as_bytes());
    out.extend_from_slice(record.customer.id.as_bytes());
    put_str(&mut out, &record.customer.external_id, "external id")?;
    put_str(&mut out, &record.customer.name, "name")?;
    put_opt_str(&mut out, record.customer.email.as_deref(), "email")?;
    out.push(record.features.bits());
    put_opt_str(&mut out, record.return_url.as_deref(), "return url")?;
    let locale = record.locale.map(|locale| locale.to_string());
    put_opt_str(&mut out, locale.as_deref(), "locale")?;
    out.extend_from_slice(&record.verifier_hash.to_bytes());
    match &record.viewer_hash {
        Some(hash) => {
            out.push(1);
            out.extend_from_slice(&hash.to_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&record.created_at.as_millis().to_be_bytes());
    out.extend_from_slice(&record.expires_at.as_millis().to_be_bytes());
    put_opt_time(&mut out, record.used_at);
    put_opt_time(&mut out, record.revoked_at);
    put_opt_time(&mut out, record.logged_out_at);
    match &record.redeemed_by {
        Some(client) => {
            out.push(1);
            match client.ip {
                None => out.push(0),
                Some(IpAddr::V4(ip)) => {
                    out.push(4);
                    out.extend_from_slice(&ip.octets());
                }
                Some(IpAddr::V6(ip)) => {
                    out.push(6);
                    out.extend_from_slice(&ip.octets());
                }
            }
            put_opt_str(&mut out, client.user_agent.as_deref(), "user agent")?;
        }
        None => out.push(0),
    }
    out.extend_from_slice(&record.version.to_be_bytes());
    let customer_locale = record.customer.locale.map(|locale| locale.to_string());
    put_opt_str(&mut out, customer_locale.as_deref(), "customer locale")?;
    out.push(u8::from(record.recovery));
    put_opt_time(&mut out, record.recovery_ended_at);
    match record.minted_by {
        MintedBy::Api => out.push(0),
        MintedBy::Recovery { from } => {
            out.push(1);
            out.extend_from_slice(from.as_bytes());
        }
        MintedBy::LoginPage => out.push(2),
    }
    out.extend_from_slice(&record.chain_started_at.as_millis().to_be_bytes());
    match &record.deep_link {
        None => out.push(0),
        Some(DeepLink::Invoice(number)) => {
            out.push(1);
            put_str(&mut out, number, "deep link")?;
        }
        Some(DeepLink::Section(feature)) => {
            out.push(2);
            put_str(&mut out, feature.as_str(), "deep link")?;
        }
    }
    Ok(out)
}

fn put_str(out: &mut Vec<u8>, text: &str, field: &'static str) -> Result<(), DecodeError> {
    let len = u16::try_from(text.len()).map_err(|_| DecodeError::Invalid(field))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

fn put_opt_str(
    out: &mut Vec<u8>,
    text: Option<&str>,
    field: &'static str,
) -> Result<(), DecodeError> {
    match text {
        Some(text) => {
            out.push(1);
            put_str(out, text, field)
        }
        None => {
            out.push(0);
            Ok(())
        }
    }
}

fn put_opt_time(out: &mut Vec<u8>, time: Option<Timestamp>) {
    match time {
        Some(time) => {
            out.push(1);
            out.extend_from_slice(&time.as_millis().to_be_bytes());
        }
        None => out.push(0),
    }
}

/// A cursor that never reads past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated(field));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        self.take(N, field)?
            .try_into()
            .map_err(|_| DecodeError::Truncated(field))
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.byte(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid(field)),
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = u16::from_be_bytes(self.array(field)?);
        let bytes = self.take(usize::from(len), field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid(field))
    }

    fn opt_string(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        if self.flag(field)? {
            self.string(field).map(Some)
        } else {
            Ok(None)
        }
    }

    fn time(&mut self, field: &'static str) -> Result<Timestamp, DecodeError> {
        Timestamp::from_millis(i64::from_be_bytes(self.array(field)?))
            .ok_or(DecodeError::Invalid(field))
    }

    fn opt_time(&mut self, field: &'static str) -> Result<Option<Timestamp>, DecodeError> {
        if self.flag(field)? {
            self.time(field).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Decodes a value written by [`encode`].
///
/// # Errors
///
/// A [`DecodeError`] for any input that [`encode`] would not have produced.
pub fn decode(bytes: &[u8]) -> Result<SessionRecord, DecodeError> {
    let mut r = Reader { bytes };
    let format = r.byte("format").map_err(|_| DecodeError::Empty)?;
    if ![FORMAT, FORMAT_WITHOUT_RECOVERY, FORMAT_WITHOUT_LOCALE].contains(&format) {
        return Err(DecodeError::UnknownFormat(format));
    }
    let id = SessionId::from_bytes(r.array("session id")?);
    let org_id = OrgId::from_bytes(r.array("org id")?);
    let mut customer = CustomerSnapshot {
        id: CustomerId::from_bytes(r.array("customer id")?),
        external_id: r.string("external id")?,
        name: r.string("name")?,
        email: r.opt_string("email")?,
        locale: None,
    };
    let features =
        Features::from_bits(r.byte("features")?).ok_or(DecodeError::Invalid("features"))?;
    let return_url = r.opt_string("return url")?;
    let locale = if format != FORMAT_WITHOUT_LOCALE {
        r.opt_string("locale")?
            .map(|tag| tag.parse().map_err(|_| DecodeError::Invalid("locale")))
            .transpose()?
    } else {
        None
    };
    let verifier_hash = SecretHash::from_bytes(r.array("verifier hash")?);
    let viewer_hash = if r.flag("viewer hash")? {
        Some(SecretHash::from_bytes(r.array("viewer hash")?))
    } else {
        None
    };
    let created_at = r.time("created at")?;
    let expires_at = r.time("expires at")?;
    let used_at = r.opt_time("used at")?;
    let revoked_at = r.opt_time("revoked at")?;
    let logged_out_at = if format != FORMAT_WITHOUT_LOCALE {
        r.opt_time("logged out at")?
    } else {
        None
    };
    let redeemed_by = if r.flag("redeemer")? {
        let ip = match r.byte("redeemer ip")? {
            0 => None,
            4 => Some(IpAddr::V4(Ipv4Addr::from(r.array::<4>("redeemer ip")?))),
            6 => Some(IpAddr::V6(Ipv6Addr::from(r.array::<16>("redeemer ip")?))),
            _ => return Err(DecodeError::Invalid("redeemer ip")),
        };
        let user_agent = r.opt_string("user agent")?;
        Some(ClientInfo { ip, user_agent })
    } else {
        None
    };
    let version = u64::from_be_bytes(r.array("version")?);
    let (recovery, recovery_ended_at, minted_by, chain_started_at, deep_link) = if format == FORMAT
    {
        customer.locale = r
            .opt_string("customer locale")?
            .map(|tag| {
                tag.parse()
                    .map_err(|_| DecodeError::Invalid("customer locale"))
            })
            .transpose()?;
        let recovery = r.flag("recovery")?;
        let ended_at = r.opt_time("recovery ended at")?;
        let minted_by = match r.byte("minted by")? {
            0 => MintedBy::Api,
            1 => MintedBy::Recovery {
                from: SessionId::from_bytes(r.array("recovered from")?),
            },
            2 => MintedBy::LoginPage,
            _ => return Err(DecodeError::Invalid("minted by")),
        };
        let chain_started_at = r.time("chain started at")?;
        let deep_link = match r.byte("deep link")? {
            0 => None,
            1 => Some(DeepLink::Invoice(r.string("deep link")?)),
            2 => Some(DeepLink::Section(
                r.string("deep link")?
                    .parse()
                    .map_err(|_| DecodeError::Invalid("deep link"))?,
            )),
            _ => return Err(DecodeError::Invalid("deep link")),
        };
        (recovery, ended_at, minted_by, chain_started_at, deep_link)
    } else {
        // Before recovery existed: not recoverable (a customer revoked before the upgrade must not
        // find their old links asking for new ones).
        (false, None, MintedBy::Api, created_at, None)
    };
    if !r.bytes.is_empty() {
        return Err(DecodeError::TrailingBytes(r.bytes.len()));
    }
    Ok(SessionRecord {
        id,
        org_id,
        customer: Arc::new(customer),
        features,
        return_url,
        locale,
        verifier_hash,
        viewer_hash,
        created_at,
        expires_at,
        used_at,
        revoked_at,
        logged_out_at,
        redeemed_by,
        recovery,
        recovery_ended_at,
        minted_by,
        chain_started_at,
        deep_link,
        version,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> SessionRecord {
        SessionRecord {
            id: SessionId::from_bytes([3; 16]),
            org_id: OrgId::from_bytes([1; 16]),
            customer: Arc::new(CustomerSnapshot {
                id: CustomerId::from_bytes([2; 16]),
                external_id: "acme-001".into(),
                name: "Acme — 株式会社".into(),
                email: Some("billing@acme.test".into()),
                locale: None,
            }),
            features: Features::ALL,
            return_url: Some("https://app.test/billing".into()),
            locale: Some("fr-CA".parse().unwrap()),
            verifier_hash: SecretHash::from_bytes([9; 32]),
            viewer_hash: Some(SecretHash::from_bytes([8; 32])),
            created_at: Timestamp::from_millis(1_778_689_800_000).unwrap_or(Timestamp::UNIX_EPOCH),
            expires_at: Timestamp::from_millis(1_778_693_400_000).unwrap_or(Timestamp::UNIX_EPOCH),
            used_at: Timestamp::from_millis(1_778_689_800_001),
            revoked_at: None,
            logged_out_at: None,
            redeemed_by: Some(ClientInfo::new("2001:db8::1".parse().ok(), Some("UA"))),
            recovery: true,
            recovery_ended_at: None,
            minted_by: MintedBy::Api,
            chain_started_at: Timestamp::from_millis(1_778_689_800_000)
                .unwrap_or(Timestamp::UNIX_EPOCH),
            deep_link: None,
            version: 1,
        }
    }

    #[test]
    fn round_trips() {
        let record = sample();
        let bytes = encode(&record).unwrap_or_default();
        assert_eq!(decode(&bytes), Ok(record));
    }

    #[test]
    fn every_truncation_and_every_trailing_byte_is_an_error() {
        let bytes = encode(&sample()).unwrap_or_default();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncated to {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn every_single_byte_corruption_is_an_error_or_a_different_record() {
        let record = sample();
        let bytes = encode(&record).unwrap_or_default();
        for position in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut corrupt = bytes.clone();
                corrupt[position] ^= flip;
                // Never a panic; and never silently the same record.
                if let Ok(decoded) = decode(&corrupt) {
                    assert_ne!(decoded, record, "byte {position}");
                }
            }
        }
    }

    /// The bytes of the recovery fields at the end of [`sample`]'s encoding: no customer locale
    /// (1), recovery (1), no end (1), minted by the API (1), the chain's start (8), no deep link
    /// (1).
    const RECOVERY_TAIL: usize = 13;

    #[test]
    fn recovery_fields_round_trip() {
        let mut record = sample();
        record.customer = Arc::new(CustomerSnapshot {
            locale: Some("de-CH".parse().unwrap()),
            ..(*record.customer).clone()
        });
        record.recovery = false;
        record.recovery_ended_at = Some(Timestamp::from_millis(1_778_690_000_000).unwrap());
        record.minted_by = MintedBy::Recovery {
            from: SessionId::from_bytes([9; 16]),
        };
        record.chain_started_at = Timestamp::from_millis(-5).unwrap();
        record.deep_link = Some(DeepLink::Invoice("INV/2026 — é".into()));
        assert_eq!(decode(&encode(&record).unwrap()), Ok(record.clone()));
        record.minted_by = MintedBy::LoginPage;
        record.deep_link = Some(DeepLink::Section(portal_sessions::Feature::Usage));
        assert_eq!(decode(&encode(&record).unwrap()), Ok(record));
    }

    #[test]
    fn format_two_reads_as_a_session_minted_by_the_api_without_recovery() {
        let mut record = sample();
        assert_eq!(record.chain_started_at, record.created_at);
        let mut bytes = encode(&record).unwrap();
        bytes.truncate(bytes.len() - RECOVERY_TAIL);
        bytes[0] = 2;
        record.recovery = false;
        assert_eq!(decode(&bytes), Ok(record));
    }

    #[test]
    fn format_one_reads_as_a_session_without_a_locale() {
        let mut record = sample();
        record.locale = None;
        let mut bytes = encode(&record).unwrap_or_default();
        bytes.truncate(bytes.len() - RECOVERY_TAIL);
        // Format 1 is format 2 without the locale's tag byte, which follows the return URL.
        let url = record.return_url.as_deref().unwrap_or_default();
        let locale_at =
            1 + 48 + 2 + 8 + 2 + "Acme — 株式会社".len() + 1 + 2 + 17 + 1 + 1 + 2 + url.len();
        assert_eq!(bytes.remove(locale_at), 0);
        // And the logout instant's tag, after the four instants before it.
        let logout_at = locale_at + 32 + 1 + 32 + 8 + 8 + 9 + 1;
        assert_eq!(bytes.remove(logout_at), 0);
        bytes[0] = 1;
        record.recovery = false;
        assert_eq!(decode(&bytes), Ok(record));
    }

    #[test]
    fn a_locale_that_is_not_one_is_corrupt() {
        let mut bytes = encode(&sample()).unwrap_or_default();
        let at = bytes
            .windows(5)
            .position(|window| window == b"fr-CA")
            .unwrap();
        bytes[at..at + 5].copy_from_slice(b"pt-BR");
        assert_eq!(decode(&bytes), Err(DecodeError::Invalid("locale")));
    }

    #[test]
    fn unknown_formats_are_refused() {
        let mut bytes = encode(&sample()).unwrap_or_default();
        bytes[0] = 4;
        assert_eq!(decode(&bytes), Err(DecodeError::UnknownFormat(4)));
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
    }
}
