//! Identifiers: organisations, customers and portal sessions.
//!
//! Organisation and customer ids are UUIDs that belong to the embedding application. Session ids are
//! this crate's own: `ps_` followed by the base64url form of a 128-bit random *selector*. The selector
//! is also the first part of the session's link token, which is how a link finds its record without
//! any secret ever being used as a lookup key. A session id is not a secret: it is what an operator
//! sees in lists and passes to revoke.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::token::{TokenError, fill_random};

/// Parses the canonical hyphenated form of a UUID (`8-4-4-4-12` hex digits), and nothing else.
///
/// The `uuid` crate also accepts braces, `urn:uuid:` and the unhyphenated form; an API that echoes ids
/// back is easier to reason about when each id has exactly one spelling.
fn parse_hyphenated_uuid(text: &str) -> Result<Uuid, IdError> {
    if text.len() != 36
        || text
            .as_bytes()
            .iter()
            .any(|b| !(b.is_ascii_hexdigit() || *b == b'-'))
    {
        return Err(IdError::NotUuid);
    }
    Uuid::try_parse(text).map_err(|_| IdError::NotUuid)
}

/// Why a textual id was refused. The message never echoes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not a UUID in its canonical hyphenated form.
    #[error("not a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")]
    NotUuid,
    /// Not a session id: `ps_` followed by 22 base64url characters.
    #[error("not a portal session id (expected \"ps_\" followed by 22 base64url characters)")]
    NotSessionId,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// The 16 bytes of the UUID, as stored by the backends.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// Rebuilds the id from the 16 bytes that [`as_bytes`](Self::as_bytes) gave.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            /// Accepts only the canonical hyphenated form, in either case.
            fn from_str(text: &str) -> Result<Self, IdError> {
                parse_hyphenated_uuid(text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }
    };
}

uuid_id! {
    /// The organisation (tenant) that owns a session. Every read and every revoke is scoped to one.
    OrgId
}

uuid_id! {
    /// The internal id of a customer of an organisation (`customerId` in the API).
    CustomerId
}

/// The number of random bytes in a selector: 128 bits.
pub const SELECTOR_LEN: usize = 16;

const SESSION_PREFIX: &str = "ps_";
/// base64url without padding of 16 bytes.
const SESSION_BODY_LEN: usize = 22;
// What `SessionId::encode` relies on: the selector's base64url fills the body exactly.
const _: () = assert!(SESSION_BODY_LEN == (SELECTOR_LEN * 4).div_ceil(3));

/// The id of a portal session: `ps_` + base64url(128-bit random selector).
///
/// # Examples
///
/// ```
/// use portal_sessions::SessionId;
///
/// let id = SessionId::generate().unwrap();
/// let text = id.to_string();
/// assert!(text.starts_with("ps_") && text.len() == 25);
/// assert_eq!(text.parse::<SessionId>().unwrap(), id);
/// assert!("ps_not-an-id".parse::<SessionId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; SELECTOR_LEN]);

// The order of the bytes, compared as one big-endian 128-bit number: the same order as the derived
// one (and as PostgreSQL's `bytea` and sled's keys), in two machine comparisons instead of a call to
// `memcmp`. Every list index orders by it after the creation time.
impl Ord for SessionId {
    fn cmp(&self, other: &SessionId) -> std::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

impl PartialOrd for SessionId {
    fn partial_cmp(&self, other: &SessionId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl SessionId {
    /// A fresh id from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`TokenError::Entropy`] when the operating system cannot provide random bytes.
    pub fn generate() -> Result<SessionId, TokenError> {
        let mut selector = [0u8; SELECTOR_LEN];
        fill_random(&mut selector)?;
        Ok(SessionId(selector))
    }

    /// The selector bytes, as stored by the backends.
    pub const fn as_bytes(&self) -> &[u8; SELECTOR_LEN] {
        &self.0
    }

    /// Rebuilds an id from its selector bytes.
    pub const fn from_bytes(bytes: [u8; SELECTOR_LEN]) -> SessionId {
        SessionId(bytes)
    }

    /// The length of an id's text: `ps_` and 22 base64url characters.
    pub const TEXT_LEN: usize = SESSION_PREFIX.len() + SESSION_BODY_LEN;

    /// Writes the id's text, what `Display` writes, into `buf` and returns it: for a writer that
    /// wants the text without an allocation or `core::fmt` (the API's create answer).
    ///
    /// # Examples
    ///
    /// ```
    /// use portal_sessions::SessionId;
    ///
    /// let id = SessionId::from_bytes([7; 16]);
    /// let mut buf = [0; SessionId::TEXT_LEN];
    /// assert_eq!(id.encode(&mut buf), id.to_string());
    /// ```
    pub fn encode<'b>(&self, buf: &'b mut [u8; SessionId::TEXT_LEN]) -> &'b str {
        let (prefix, body) = buf.split_at_mut(SESSION_PREFIX.len());
        prefix.copy_from_slice(SESSION_PREFIX.as_bytes());
        // 16 bytes always take exactly the body's 22 characters, all ASCII (a constant assertion
        // beside `SESSION_BODY_LEN` holds the two together), so this cannot fail.
        let _ = URL_SAFE_NO_PAD.encode_slice(self.0, body);
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl FromStr for SessionId {
    type Err = IdError;

    /// Accepts exactly `ps_` followed by the 22 canonical base64url characters of 16 bytes.
    fn from_str(text: &str) -> Result<SessionId, IdError> {
        let body = text
            .strip_prefix(SESSION_PREFIX)
            .ok_or(IdError::NotSessionId)?;
        if body.len() != SESSION_BODY_LEN {
            return Err(IdError::NotSessionId);
        }
        let mut selector = [0u8; SELECTOR_LEN];
        // The decoder refuses characters outside the alphabet, padding, and non-zero trailing bits,
        // so every id has exactly one spelling.
        match URL_SAFE_NO_PAD.decode_slice(body, &mut selector) {
            Ok(SELECTOR_LEN) => Ok(SessionId(selector)),
            _ => Err(IdError::NotSessionId),
        }
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode(&mut [0; SessionId::TEXT_LEN]))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_order_as_their_bytes() {
        let mut ids = Vec::new();
        for _ in 0..200 {
            ids.push(SessionId::generate().unwrap_or_else(|e| panic!("{e}")));
        }
        // Pairs that differ only late, and ties.
        ids.push(SessionId::from_bytes([7; 16]));
        let mut late = [7; 16];
        late[15] = 8;
        ids.push(SessionId::from_bytes(late));
        ids.push(SessionId::from_bytes([7; 16]));
        for a in &ids {
            for b in &ids {
                assert_eq!(a.cmp(b), a.as_bytes().cmp(b.as_bytes()));
            }
        }
    }

    #[test]
    fn uuid_ids_accept_only_the_hyphenated_form() {
        let text = "550e8400-e29b-41d4-a716-446655440000";
        let id: CustomerId = text.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.to_string(), text);
        assert!(
            "550E8400-E29B-41D4-A716-446655440000"
                .parse::<OrgId>()
                .is_ok()
        );
        for bad in [
            "550e8400e29b41d4a716446655440000",
            "{550e8400-e29b-41d4-a716-446655440000}",
            "urn:uuid:550e8400-e29b-41d4-a716-446655440000",
            "550e8400-e29b-41d4-a716-44665544000g",
            "550e8400-e29b-41d4-a716-4466554400000",
            "550e8400-e29b-41d4a-716-446655440000",
            "",
        ] {
            assert_eq!(bad.parse::<CustomerId>(), Err(IdError::NotUuid), "{bad}");
        }
    }

    #[test]
    fn session_ids_round_trip_and_refuse_near_misses() {
        let id = SessionId::from_bytes([0xAB; 16]);
        let text = id.to_string();
        assert_eq!(text.parse::<SessionId>(), Ok(id));
        let body = &text[3..];
        for bad in [
            format!("ps-{body}"),
            format!("PS_{body}"),
            format!("ps_{}", &body[1..]),
            format!("ps_{body}A"),
            format!("ps_{}+", &body[..21]),
            format!("ps_{}=", &body[..21]),
            // Same length, but the last character carries non-zero trailing bits.
            format!("ps_{}r", &body[..21]),
            String::new(),
        ] {
            assert_eq!(
                bad.parse::<SessionId>(),
                Err(IdError::NotSessionId),
                "{bad}"
            );
        }
    }

    #[test]
    fn generated_session_ids_differ() {
        let a = SessionId::generate().unwrap_or_else(|e| panic!("{e}"));
        let b = SessionId::generate().unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
    }
}
