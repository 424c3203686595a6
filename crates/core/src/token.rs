//! Link and viewer tokens: the split-token pattern.
//!
//! A token is `prefix` + base64url(selector ‖ secret ‖ checksum):
//!
//! * the **selector** (16 bytes) is the session id's random part. It is not secret; it is how the
//!   record is found, so the secret is never used as a lookup key (and never reaches a SQL `WHERE`);
//! * the **secret** (32 bytes, 256 bits from the operating system's CSPRNG) is never stored. The
//!   record keeps only a domain-separated BLAKE3 hash of it, a [`SecretHash`], and a presented token is
//!   checked by hashing its secret and comparing the two [`blake3::Hash`] values, whose equality is
//!   constant-time;
//! * the **checksum** (4 bytes) lets a mangled link (a truncated email, a copy-paste slip) be refused
//!   offline without a store round trip.
//!
//! Two kinds of token share the layout, with different prefixes and hash domains, so one can never be
//! used as the other: the [`LinkToken`] (`mgl_`, the one-time link) and the [`ViewerToken`] (`mgv_`, the
//! portal cookie minted when a link is redeemed).
//!
//! Token types never print their secret: `Debug` shows only the session id. The full text is available
//! through [`LinkToken::expose_secret`], whose name makes every use easy to find in review.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::id::{SELECTOR_LEN, SessionId};

/// The length of a token's secret part: 256 bits.
pub const SECRET_LEN: usize = 32;
const CHECKSUM_LEN: usize = 4;
const RAW_LEN: usize = SELECTOR_LEN + SECRET_LEN + CHECKSUM_LEN;
/// base64url without padding of 52 bytes.
const BODY_LEN: usize = 70;
// What `RawToken::encode` relies on: the raw bytes' base64url fills the body exactly.
const _: () = assert!(BODY_LEN == (RAW_LEN * 4).div_ceil(3));

/// Why a token was refused. Messages never echo the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token does not start with the expected prefix.
    #[error("token does not start with {expected:?}")]
    WrongPrefix {
        /// The prefix this kind of token starts with.
        expected: &'static str,
    },
    /// The token has the wrong number of characters.
    #[error("token has {found} characters after its prefix, expected {expected}")]
    WrongLength {
        /// How many characters this kind of token has after its prefix.
        expected: usize,
        /// How many it had.
        found: usize,
    },
    /// The token contains a character outside the base64url alphabet, or is not canonically encoded.
    #[error("token is not canonical base64url")]
    BadEncoding,
    /// The token is well-formed but its checksum does not match: it was mangled in transit.
    #[error("token checksum does not match (the link was probably truncated or altered)")]
    BadChecksum,
    /// The operating system could not provide random bytes to mint a token.
    #[error("the operating system's random number generator failed")]
    Entropy(#[source] getrandom::Error),
}

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), TokenError> {
    getrandom::fill(buf).map_err(TokenError::Entropy)
}

/// A domain-separated BLAKE3 hash of a token secret, as stored in a session record.
///
/// Equality is the constant-time equality of [`blake3::Hash`]. There is deliberately no `as_bytes`
/// comparison path: the bytes are available only for storage, through [`SecretHash::to_bytes`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash(blake3::Hash);

impl SecretHash {
    /// The hash's 32 bytes, for storage.
    pub fn to_bytes(&self) -> [u8; 32] {
        *self.0.as_bytes()
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> SecretHash {
        SecretHash(blake3::Hash::from_bytes(bytes))
    }

    /// Constant-time comparison (the same as `==`, spelled out where it matters).
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0 == other.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// What distinguishes the two kinds of token: prefix and hashing domains.
struct Kind {
    prefix: &'static str,
    secret_key: LazyLock<[u8; 32]>,
    checksum_key: LazyLock<[u8; 32]>,
}

// Each domain gets its own key, derived once from a context string with BLAKE3's key derivation, then
// used with BLAKE3's keyed mode: the same domain separation as `derive_key` mode, without re-deriving
// the context key on every hash.
static LINK: Kind = Kind {
    prefix: "mgl_",
    secret_key: LazyLock::new(|| blake3::derive_key("portal-sessions v1 link verifier", b"")),
    checksum_key: LazyLock::new(|| blake3::derive_key("portal-sessions v1 link checksum", b"")),
};

static VIEWER: Kind = Kind {
    prefix: "mgv_",
    secret_key: LazyLock::new(|| blake3::derive_key("portal-sessions v1 viewer secret", b"")),
    checksum_key: LazyLock::new(|| blake3::derive_key("portal-sessions v1 viewer checksum", b"")),
};

/// The parts of a token, shared by both kinds.
///
/// Equality runs in constant time: the secrets are compared as `blake3::Hash` values of the whole
/// token (whose `==` is constant-time), never byte by byte, so comparing a presented token with a
/// held one leaks nothing of how much of it was right.
#[derive(Clone)]
struct RawToken {
    selector: [u8; SELECTOR_LEN],
    secret: [u8; SECRET_LEN],
}

impl PartialEq for RawToken {
    fn eq(&self, other: &RawToken) -> bool {
        let digest = |token: &RawToken| {
            let mut hasher = blake3::Hasher::new();
            hasher.update(&token.selector);
            hasher.update(&token.secret);
            hasher.finalize()
        };
        digest(self) == digest(other)
    }
}

impl Eq for RawToken {}

impl RawToken {
    fn generate(selector: [u8; SELECTOR_LEN]) -> Result<RawToken, TokenError> {
        let mut secret = [0u8; SECRET_LEN];
        fill_random(&mut secret)?;
        Ok(RawToken { selector, secret })
    }

    fn checksum(&self, kind: &Kind) -> [u8; CHECKSUM_LEN] {
        // The keyed hash of selector and secret side by side, in one call: the same hash as a
        // keyed `Hasher` given the two in turn, without setting one up (which cost about as much
        // as the hashing, in `hot_paths http-redeem` under callgrind).
        let mut input = [0u8; SELECTOR_LEN + SECRET_LEN];
        input[..SELECTOR_LEN].copy_from_slice(&self.selector);
        input[SELECTOR_LEN..].copy_from_slice(&self.secret);
        let hash = blake3::keyed_hash(&kind.checksum_key, &input);
        let mut out = [0u8; CHECKSUM_LEN];
        out.copy_from_slice(&hash.as_bytes()[..CHECKSUM_LEN]);
        out
    }

    fn secret_hash(&self, kind: &Kind) -> SecretHash {
        SecretHash(blake3::keyed_hash(&kind.secret_key, &self.secret))
    }

    fn parse(text: &str, kind: &Kind) -> Result<RawToken, TokenError> {
        let body = text
            .strip_prefix(kind.prefix)
            .ok_or(TokenError::WrongPrefix {
                expected: kind.prefix,
            })?;
        if body.len() != BODY_LEN {
            return Err(TokenError::WrongLength {
                expected: BODY_LEN,
                found: body.chars().count(),
            });
        }
        let mut raw = [0u8; RAW_LEN];
        match URL_SAFE_NO_PAD.decode_slice(body, &mut raw) {
            Ok(RAW_LEN) => {}
            _ => return Err(TokenError::BadEncoding),
        }
        let (selector, rest) = raw.split_at(SELECTOR_LEN);
        let (secret, checksum) = rest.split_at(SECRET_LEN);
        let token = RawToken {
            selector: selector.try_into().map_err(|_| TokenError::BadEncoding)?,
            secret: secret.try_into().map_err(|_| TokenError::BadEncoding)?,
        };
        // The checksum is a function of the token alone and guards against typos, not forgery, so
        // comparing it in variable time reveals nothing the presenter did not already have.
        if token.checksum(kind) != checksum {
            return Err(TokenError::BadChecksum);
        }
        Ok(token)
    }

    fn encode(&self, kind: &Kind) -> String {
        let mut raw = [0u8; RAW_LEN];
        raw[..SELECTOR_LEN].copy_from_slice(&self.selector);
        raw[SELECTOR_LEN..SELECTOR_LEN + SECRET_LEN].copy_from_slice(&self.secret);
        raw[SELECTOR_LEN + SECRET_LEN..].copy_from_slice(&self.checksum(kind));
        // Into a buffer of the body's size, then copied once: `encode_string` goes through a
        // chunked writer that cost as much again (callgrind of `hot_paths http-create`).
        let mut body = [0u8; BODY_LEN];
        // Cannot fail: the body has exactly the room the raw bytes take (asserted beside
        // `BODY_LEN`).
        let _ = URL_SAFE_NO_PAD.encode_slice(raw, &mut body);
        let mut text = String::with_capacity(kind.prefix.len() + BODY_LEN);
        text.push_str(kind.prefix);
        // base64url is ASCII.
        text.push_str(std::str::from_utf8(&body).unwrap_or_default());
        text
    }
}

macro_rules! token_type {
    ($(#[$doc:meta])* $name:ident, $kind:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(RawToken);

        impl $name {
            /// The session this token belongs to.
            pub fn session_id(&self) -> SessionId {
                SessionId::from_bytes(self.0.selector)
            }

            /// The domain-separated BLAKE3 hash of this token's secret: what a record stores.
            pub fn secret_hash(&self) -> SecretHash {
                self.0.secret_hash(&$kind)
            }

            /// The whole token as text, secret included.
            ///
            /// Hand it to the one party that should have it, and nowhere else: never log it, never
            /// put it in an error.
            pub fn expose_secret(&self) -> String {
                self.0.encode(&$kind)
            }
        }

        impl FromStr for $name {
            type Err = TokenError;

            /// Parses strictly: prefix, length, alphabet, canonical encoding, checksum.
            fn from_str(text: &str) -> Result<Self, TokenError> {
                RawToken::parse(text, &$kind).map($name)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    concat!(stringify!($name), "({}, secret: <redacted>)"),
                    self.session_id()
                )
            }
        }
    };
}

token_type! {
    /// The one-time link token, `mgl_...`: what the customer's URL carries.
    ///
    /// # Examples
    ///
    /// ```
    /// use portal_sessions::LinkToken;
    ///
    /// let token = LinkToken::generate().unwrap();
    /// let text = token.expose_secret();
    /// assert!(text.starts_with("mgl_"));
    ///
    /// let parsed: LinkToken = text.parse().unwrap();
    /// assert_eq!(parsed, token);
    /// assert!(parsed.secret_hash().matches(&token.secret_hash()));
    ///
    /// // Debug never shows the secret.
    /// assert!(!format!("{token:?}").contains(&text[4..]));
    /// ```
    LinkToken, LINK
}

token_type! {
    /// The viewer token, `mgv_...`: the portal cookie minted when a link is redeemed.
    ViewerToken, VIEWER
}

impl LinkToken {
    /// A fresh link token for a fresh session: a random selector and a random verifier.
    ///
    /// # Errors
    ///
    /// [`TokenError::Entropy`] when the operating system cannot provide random bytes.
    pub fn generate() -> Result<LinkToken, TokenError> {
        // Selector and verifier come from one request to the OS: a system call costs more than the
        // rest of a create's cryptography, so a token takes one, not two.
        let mut random = [0u8; SELECTOR_LEN + SECRET_LEN];
        fill_random(&mut random)?;
        let mut token = RawToken {
            selector: [0; SELECTOR_LEN],
            secret: [0; SECRET_LEN],
        };
        token.selector.copy_from_slice(&random[..SELECTOR_LEN]);
        token.secret.copy_from_slice(&random[SELECTOR_LEN..]);
        Ok(LinkToken(token))
    }
}

impl ViewerToken {
    /// A fresh viewer token for `session`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Entropy`] when the operating system cannot provide random bytes.
    pub fn generate(session: SessionId) -> Result<ViewerToken, TokenError> {
        RawToken::generate(*session.as_bytes()).map(ViewerToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> LinkToken {
        LinkToken::generate().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A token's checksum is the keyed hash of its selector, then its secret: what every token
    /// minted so far carries, however it is computed.
    #[test]
    fn the_checksum_is_the_keyed_hash_of_the_selector_then_the_secret() {
        for (selector, secret) in [([0u8; 16], [0u8; 32]), ([0xa5; 16], [0x3c; 32])]
            .into_iter()
            .chain((0..8).map(|_| (*link().session_id().as_bytes(), link().0.secret)))
        {
            let token = RawToken { selector, secret };
            for kind in [&LINK, &VIEWER] {
                let mut hasher = blake3::Hasher::new_keyed(&kind.checksum_key);
                hasher.update(&selector);
                hasher.update(&secret);
                assert_eq!(
                    token.checksum(kind),
                    hasher.finalize().as_bytes()[..CHECKSUM_LEN]
                );
            }
        }
    }

    #[test]
    fn equality_is_of_the_whole_token() {
        let a = link();
        let same: LinkToken = a.expose_secret().parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(a == same);
        assert!(a != link());
        let viewer = ViewerToken::generate(a.session_id()).unwrap_or_else(|e| panic!("{e}"));
        let other_viewer = ViewerToken::generate(a.session_id()).unwrap_or_else(|e| panic!("{e}"));
        assert!(viewer == viewer.clone());
        assert!(viewer != other_viewer, "same selector, another secret");
    }

    #[test]
    fn tokens_round_trip_and_have_the_documented_shape() {
        let token = link();
        let text = token.expose_secret();
        assert_eq!(text.len(), 4 + BODY_LEN);
        assert_eq!(text.parse::<LinkToken>().ok(), Some(token.clone()));
        // The selector is the session id's random part.
        let id = token.session_id().to_string();
        let viewer = ViewerToken::generate(token.session_id()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(viewer.session_id().to_string(), id);
        assert!(viewer.expose_secret().starts_with("mgv_"));
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let text = link().expose_secret();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for position in 4..text.len() {
            let original = text.as_bytes()[position];
            for &replacement in alphabet.iter().filter(|&&c| c != original) {
                let mut mangled = text.clone().into_bytes();
                mangled[position] = replacement;
                let mangled = String::from_utf8(mangled).unwrap_or_default();
                assert!(mangled.parse::<LinkToken>().is_err(), "{position}");
            }
        }
    }

    #[test]
    fn malformed_tokens_get_typed_errors() {
        let text = link().expose_secret();
        assert!(matches!(
            format!("mgv_{}", &text[4..]).parse::<LinkToken>(),
            Err(TokenError::WrongPrefix { expected: "mgl_" })
        ));
        assert!(matches!(
            text[..text.len() - 1].parse::<LinkToken>(),
            Err(TokenError::WrongLength {
                expected: 70,
                found: 69
            })
        ));
        assert!(matches!(
            format!("{}=", &text[..text.len() - 1]).parse::<LinkToken>(),
            Err(TokenError::BadEncoding)
        ));
        let mut swapped = text.clone().into_bytes();
        swapped.swap(10, 40);
        if swapped != text.as_bytes() {
            assert!(matches!(
                String::from_utf8(swapped)
                    .unwrap_or_default()
                    .parse::<LinkToken>(),
                Err(TokenError::BadChecksum)
            ));
        }
        // A viewer token is never accepted as a link token, and vice versa.
        let viewer = ViewerToken::generate(link().session_id()).unwrap_or_else(|e| panic!("{e}"));
        assert!(viewer.expose_secret().parse::<LinkToken>().is_err());
        assert!(text.parse::<ViewerToken>().is_err());
        // Non-ASCII input of the right byte length is refused without panicking.
        let unicode = format!("mgl_{}", "é".repeat(BODY_LEN / 2));
        assert!(unicode.parse::<LinkToken>().is_err());
    }

    #[test]
    fn secret_hashes_are_domain_separated() {
        let token = link();
        let as_viewer = ViewerToken(token.0.clone());
        assert!(!token.secret_hash().matches(&as_viewer.secret_hash()));
        let other = link();
        assert!(!token.secret_hash().matches(&other.secret_hash()));
        let stored = SecretHash::from_bytes(token.secret_hash().to_bytes());
        assert!(stored.matches(&token.secret_hash()));
    }

    #[test]
    fn debug_is_redacted() {
        let token = link();
        let text = token.expose_secret();
        let debug = format!("{token:?} {:?}", token.secret_hash());
        assert!(!debug.contains(&text[4 + 22..]), "{debug}");
        assert!(debug.contains("<redacted>"));
    }
}
