//! Signing and verifying webhook deliveries (feature `webhook`).
//!
//! Every delivery of an event is a `POST` whose body is the event's JSON, with this header:
//!
//! ```text
//! Portal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//! ```
//!
//! `t` is when the delivery was signed (each retry is signed afresh), the key of the HMAC is the
//! webhook's secret exactly as configured (`whsec_...`, its UTF-8 bytes, prefix included), and the
//! signed message is `t` in decimal, a `.`, then the body's bytes exactly as received. A header
//! may carry several `v1=` entries (a sender that signs with more than one secret); it is genuine
//! when any of them matches. Entries of other schemes are ignored. (The portal-sessions server
//! signs with one secret per webhook.)
//!
//! A receiver checks a delivery with [`verify`], on the raw body *before* parsing it, and with a
//! tolerance on `t` (five minutes is usual) so that a captured delivery cannot be replayed later.
//! The signature is compared in constant time.
//!
//! # Examples
//!
//! A receiver, with any web framework: take the header and the raw body bytes, verify, then
//! parse. Deliveries are at least once, so deduplicate by the event's `id`.
//!
//! ```
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//! use portal_sessions::webhook::{self, SignatureError};
//!
//! fn receive(secret: &str, signature: &str, body: &[u8]) -> Result<(), SignatureError> {
//!     let now = SystemTime::now()
//!         .duration_since(UNIX_EPOCH)
//!         .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX));
//!     webhook::verify(secret, signature, body, now, Duration::from_secs(300))?;
//!     // Genuine and recent: parse `body` as JSON, skip an `id` already handled, act on `type`.
//!     Ok(())
//! }
//! # let secret = "whsec_0123456789abcdefghijklmnop";
//! # let body = br#"{"id":"evt_1","object":"event"}"#;
//! # let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
//! # let header = webhook::sign(secret, now, body);
//! # assert_eq!(receive(secret, &header, body), Ok(()));
//! # assert_eq!(receive(secret, &header, b"{}"), Err(SignatureError::NoMatch));
//! ```
//!
//! Signing, as the server does it:
//!
//! ```
//! use std::time::Duration;
//! use portal_sessions::webhook;
//!
//! let secret = "whsec_0123456789abcdefghijklmnop";
//! let body = br#"{"id":"evt_1","object":"event"}"#;
//! let header = webhook::sign(secret, 1_780_000_000, body);
//! assert!(header.starts_with("t=1780000000,v1="));
//! assert!(webhook::verify(secret, &header, body, 1_780_000_030, Duration::from_secs(300)).is_ok());
//! ```

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The name of the header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Portal-Signature";

type HmacSha256 = Hmac<Sha256>;

/// Why [`verify`] refused a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<integer>,v1=<64 hex digits>[,v1=...]`: the reason says what is
    /// missing or wrong.
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    /// A `v1` signature matches, but `t` is further from now than the tolerance: a delivery
    /// replayed, or held up, or a clock far off.
    #[error(
        "the signature's timestamp {timestamp} is more than {tolerance_seconds} s from now ({now})"
    )]
    OutsideTolerance {
        /// The header's `t`.
        timestamp: i64,
        /// The `now` it was checked against.
        now: i64,
        /// The tolerance, in whole seconds.
        tolerance_seconds: u64,
    },
    /// No `v1` signature is the body's under this secret: another secret, or a body changed on
    /// the way (or re-encoded before verifying: verify the raw bytes).
    #[error("no v1 signature matches the body")]
    NoMatch,
}

/// The keyed HMAC for `secret`.
fn keyed(secret: &str) -> HmacSha256 {
    match <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length (a long one is hashed first): this error is never made.
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// The HMAC of `<t>.<body>`, not yet finalized.
fn signing(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = keyed(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Portal-Signature` header value of `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<64 lowercase hex digits>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = signing(secret, timestamp, body).finalize().into_bytes();
    let mut header = format!("t={timestamp},v1=");
    for byte in tag.iter() {
        header.push(char::from(HEX[usize::from(byte >> 4)]));
        header.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    header
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// 64 hex digits as the 32 bytes of an HMAC-SHA256.
fn decode_tag(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut tag = [0u8; 32];
    for (byte, pair) in tag.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
    }
    Some(tag)
}

/// Checks that `header` (the `Portal-Signature` value) signs `body` (the raw bytes received)
/// under `secret`, and that its `t` is within `tolerance` of `now_unix` (Unix seconds), in
/// either direction.
///
/// Every `v1=` entry is tried (several during a secret rotation), each compared in constant
/// time; entries of other schemes are ignored. The signature is checked before the time, so
/// [`SignatureError::OutsideTolerance`] always means a genuine delivery that is too old (or too
/// new).
///
/// # Errors
///
/// [`SignatureError::Malformed`] for a header without exactly one integer `t` and at least one
/// `v1` of 64 hex digits; [`SignatureError::NoMatch`] when no `v1` matches;
/// [`SignatureError::OutsideTolerance`] when one does, at a `t` too far from now.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions::webhook::{sign, verify, SignatureError};
///
/// let (old, new) = ("whsec_old_0123456789abcdefghij", "whsec_new_0123456789abcdefghij");
/// let body = b"{}";
/// // Signed with both secrets during a rotation: either one verifies.
/// let header = format!("{},{}", sign(old, 100, body), &sign(new, 100, body)[6..]);
/// assert_eq!(verify(new, &header, body, 100, Duration::from_secs(300)), Ok(()));
/// assert_eq!(verify(old, &header, body, 100, Duration::from_secs(300)), Ok(()));
/// // Replayed an hour later:
/// assert!(matches!(
///     verify(new, &header, body, 3_700, Duration::from_secs(300)),
///     Err(SignatureError::OutsideTolerance { .. })
/// ));
/// assert_eq!(verify(new, &header, b"{ }", 100, Duration::from_secs(300)), Err(SignatureError::NoMatch));
/// ```
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            return Err(SignatureError::Malformed("an entry is not key=value"));
        };
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("t is given more than once"));
                }
                let value = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed("t is not an integer"))?;
                timestamp = Some(value);
            }
            "v1" => tags.push(
                decode_tag(value).ok_or(SignatureError::Malformed("a v1 is not 64 hex digits"))?,
            ),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no t"))?;
    if tags.is_empty() {
        return Err(SignatureError::Malformed("no v1"));
    }
    let mac = signing(secret, timestamp, body);
    // Every entry is checked, matched or not, so the time taken does not say which one matched.
    let matched = tags.iter().fold(false, |matched, tag| {
        mac.clone().verify_slice(tag).is_ok() | matched
    });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    let tolerance_seconds = tolerance.as_secs();
    if now_unix.abs_diff(timestamp) > tolerance_seconds {
        return Err(SignatureError::OutsideTolerance {
            timestamp,
            now: now_unix,
            tolerance_seconds,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_0123456789abcdefghijklmnop";
    const MINUTES_5: Duration = Duration::from_secs(300);

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // printf '%s' '1780000000.{"id":"evt_1","object":"event"}' \
        //   | openssl dgst -sha256 -hmac 'whsec_0123456789abcdefghijklmnop'
        assert_eq!(
            sign(SECRET, 1_780_000_000, br#"{"id":"evt_1","object":"event"}"#),
            "t=1780000000,v1=359a33d38ff651d5bda085ec744b0cb9d3e8d2792133ccc75fc831f4c3d31ea6"
        );
    }

    #[test]
    fn a_signature_verifies_and_anything_changed_does_not() {
        let body = br#"{"id":"evt_x","type":"portal_session.created"}"#;
        let header = sign(SECRET, 1_000, body);
        assert_eq!(verify(SECRET, &header, body, 1_000, MINUTES_5), Ok(()));
        assert_eq!(verify(SECRET, &header, body, 1_300, MINUTES_5), Ok(()));
        assert_eq!(verify(SECRET, &header, body, 700, MINUTES_5), Ok(()));
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verify(SECRET, &header, &tampered, 1_000, MINUTES_5),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(
                "whsec_another_secret_0123456789",
                &header,
                body,
                1_000,
                MINUTES_5
            ),
            Err(SignatureError::NoMatch)
        );
        // Another t with the same v1: the time is signed too.
        let moved = header.replacen("t=1000", "t=1001", 1);
        assert_eq!(
            verify(SECRET, &moved, body, 1_000, MINUTES_5),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(SECRET, &header, body, 1_301, MINUTES_5),
            Err(SignatureError::OutsideTolerance {
                timestamp: 1_000,
                now: 1_301,
                tolerance_seconds: 300
            })
        );
        assert!(matches!(
            verify(SECRET, &header, body, 699, MINUTES_5),
            Err(SignatureError::OutsideTolerance { .. })
        ));
    }

    #[test]
    fn several_v1_entries_any_may_match_and_other_schemes_are_ignored() {
        let body = b"{}";
        let genuine = sign(SECRET, 5, body);
        let v1 = genuine.split_once(",v1=").unwrap().1;
        let header = format!("t=5, v0=whatever, v1={}, v1={v1}", "0".repeat(64));
        assert_eq!(verify(SECRET, &header, body, 5, MINUTES_5), Ok(()));
        let upper = format!("t=5,v1={}", v1.to_ascii_uppercase());
        assert_eq!(verify(SECRET, &upper, body, 5, MINUTES_5), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused_as_such() {
        let v1 = "ab".repeat(32);
        for header in [
            "",
            "t=5",
            &format!("v1={v1}"),
            &format!("t=five,v1={v1}"),
            &format!("t=5,t=5,v1={v1}"),
            "t=5,v1=abc",
            &format!("t=5,v1={}", "zz".repeat(32)),
            &format!("t=5;v1={v1}"),
        ] {
            assert!(
                matches!(
                    verify(SECRET, header, b"{}", 5, MINUTES_5),
                    Err(SignatureError::Malformed(_))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let header = sign(SECRET, i64::MIN, b"x");
        assert!(matches!(
            verify(SECRET, &header, b"x", i64::MAX, MINUTES_5),
            Err(SignatureError::OutsideTolerance { .. })
        ));
    }
}
