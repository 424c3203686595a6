//! Who a `/v1` request speaks for: [`ApiAuth`], and the static keys the server uses.
//!
//! The router asks an [`ApiAuth`] for the organisation of every `/v1` request. It sees the whole
//! request head (method, URI, headers and extensions), so an implementation can read its key from
//! any header, look it up in the host's own database, or take the identity that the host's own
//! authentication middleware already put into the request's extensions. [`StaticApiKeys`] is one
//! implementation: the `mf_sk_...` keys of a configuration file.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::header;
use axum::http::request::Parts;
use portal_sessions::{BoxError, OrgId};

/// The `/v1` authentication of a [`PortalService`](crate::PortalService).
///
/// # Examples
///
/// Keys kept in the host's own database, read from an `Authorization: Bearer` header:
///
/// ```
/// use axum::http::request::Parts;
/// use portal_sessions::OrgId;
/// use portal_sessions_axum::{ApiAuth, AuthError, api_key, async_trait};
///
/// struct HostKeys { /* a connection pool */ }
///
/// impl HostKeys {
///     async fn org_of_key_digest(&self, _digest: [u8; 32]) -> Result<Option<OrgId>, std::io::Error> {
///         Ok(None) // SELECT org_id FROM api_keys WHERE digest = $1
///     }
/// }
///
/// #[async_trait]
/// impl ApiAuth for HostKeys {
///     async fn authenticate(&self, request: &Parts) -> Result<OrgId, AuthError> {
///         let key = api_key(request)
///             .ok_or_else(|| AuthError::unauthenticated("send your host API key as a Bearer token"))?;
///         let digest = blake3::derive_key("host api keys", key.as_bytes());
///         match self.org_of_key_digest(digest).await {
///             Ok(Some(org)) => Ok(org),
///             Ok(None) => Err(AuthError::unauthenticated("unknown host API key")),
///             Err(error) => Err(AuthError::unavailable(error)),
///         }
///     }
/// }
/// ```
///
/// Implementations must not leak through timing how much of a key matched: look keys up by a
/// digest of the key (as above and as [`StaticApiKeys`] does), never by comparing key text.
#[async_trait::async_trait]
pub trait ApiAuth: Send + Sync + 'static {
    /// The organisation `request` speaks for.
    ///
    /// # Errors
    ///
    /// [`AuthError::unauthenticated`] (answered 401 with its message) when the request carries no
    /// valid credential; [`AuthError::unavailable`] (503) when the credential store cannot answer.
    async fn authenticate(&self, request: &Parts) -> Result<OrgId, AuthError>;
}

/// A shared authenticator is one: the host can keep its key store in its own state too.
#[async_trait::async_trait]
impl<A: ApiAuth + ?Sized> ApiAuth for std::sync::Arc<A> {
    async fn authenticate(&self, request: &Parts) -> Result<OrgId, AuthError> {
        (**self).authenticate(request).await
    }
}

/// Why [`ApiAuth::authenticate`] refused a request.
///
/// The message is what the client reads in the `401` body, so it names what the implementation
/// expects; it must never contain the presented credential.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AuthError {
    message: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl AuthError {
    /// The request carries no valid credential: `401` with `message` as the error message.
    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> AuthError {
        AuthError {
            message: message.into(),
            source: None,
        }
    }

    /// The credential store could not answer: `503`, and `source` is logged (never sent).
    pub fn unavailable(source: impl Into<BoxError>) -> AuthError {
        AuthError {
            message: Cow::Borrowed("the API key store is unavailable"),
            source: Some(source.into()),
        }
    }

    /// Whether this is an [`unavailable`](Self::unavailable) failure rather than a refusal.
    pub fn is_unavailable(&self) -> bool {
        self.source.is_some()
    }

    /// The message the client is sent.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The API key a request carries: the `x-api-key` header, else the credentials of an
/// `Authorization: Bearer` header (the scheme in any case, as RFC 7235 says). Surrounding whitespace
/// is ignored; an empty key is no key.
///
/// # Examples
///
/// ```
/// use axum::http::Request;
/// use portal_sessions_axum::api_key;
///
/// let (parts, ()) = Request::builder().header("authorization", "bearer sk_123").body(()).unwrap().into_parts();
/// assert_eq!(api_key(&parts), Some("sk_123"));
/// ```
pub fn api_key(request: &Parts) -> Option<&str> {
    let key = match request.headers.get(&X_API_KEY) {
        Some(value) => value.to_str().ok(),
        None => request
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key),
    };
    key.map(str::trim).filter(|key| !key.is_empty())
}

/// `x-api-key`, named once: a name given as text is parsed on every lookup.
const X_API_KEY: header::HeaderName = header::HeaderName::from_static("x-api-key");

/// What an API key turned out to be, for [`StaticApiKeys::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup {
    /// A secret key of this organisation.
    Secret(OrgId),
    /// A publishable key: valid, but never for these endpoints (they must be called from a backend).
    Publishable,
    /// Not a key at all.
    Unknown,
}

/// A fixed set of `mf_sk_...` secret and `mf_pk_...` publishable keys, looked up by their BLAKE3
/// digest (so neither the lookup nor the comparison runs in time that depends on how much of a
/// presented key is right): the keys of a configuration file, and of tests.
///
/// As an [`ApiAuth`] it reads the key with [`api_key`] and accepts secret keys only.
///
/// # Examples
///
/// ```
/// use portal_sessions::OrgId;
/// use portal_sessions_axum::{KeyLookup, StaticApiKeys};
///
/// let org = OrgId::from_bytes([1; 16]);
/// let mut keys = StaticApiKeys::default();
/// keys.add_secret("mf_sk_test_abc", org);
/// keys.add_publishable("mf_pk_test_abc", org);
/// assert_eq!(keys.lookup("mf_sk_test_abc"), KeyLookup::Secret(org));
/// assert_eq!(keys.lookup("mf_pk_test_abc"), KeyLookup::Publishable);
/// assert_eq!(keys.lookup("mf_sk_test_abd"), KeyLookup::Unknown);
/// ```
#[derive(Default, Clone)]
pub struct StaticApiKeys {
    keys: HashMap<[u8; 32], KeyLookup, DigestHash>,
}

/// Hashes a key's [`digest`] by folding its bytes rather than with the standard map's SipHash:
/// the digest is evenly spread already, and SipHash over its 32 bytes cost about as much as the
/// rest of the lookup (`hot_paths http-create` under callgrind). Its key is public, so a client
/// can tell which bucket its key falls in; that buys nothing: flooding a bucket would take keys
/// in the map, which only the host adds, and a lookup matches only on all 32 bytes of a digest.
#[derive(Default, Clone, Copy)]
struct DigestHash;

impl std::hash::BuildHasher for DigestHash {
    type Hasher = DigestHasher;

    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

/// The hasher of [`DigestHash`].
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::fmt::Debug for StaticApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticApiKeys")
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// The key of [`digest`]'s keyed hash, derived once from its context string: the domain separation
/// of `blake3::derive_key`, without deriving the context's key again for every request.
static DIGEST_KEY: LazyLock<[u8; 32]> =
    LazyLock::new(|| blake3::derive_key("portal-sessions v1 api key", b""));

/// What [`StaticApiKeys`] keeps of a key: never the key itself.
fn digest(key: &str) -> [u8; 32] {
    *blake3::keyed_hash(&DIGEST_KEY, key.as_bytes()).as_bytes()
}

impl StaticApiKeys {
    /// Adds a secret key for `org`.
    pub fn add_secret(&mut self, key: &str, org: OrgId) {
        self.keys.insert(digest(key), KeyLookup::Secret(org));
    }

    /// Adds a publishable key (refused by every endpoint of this router).
    pub fn add_publishable(&mut self, key: &str, _org: OrgId) {
        self.keys.insert(digest(key), KeyLookup::Publishable);
    }

    /// What `key` is.
    pub fn lookup(&self, key: &str) -> KeyLookup {
        if let Some(found) = self.keys.get(&digest(key)) {
            return *found;
        }
        // An unconfigured publishable key is still a publishable key: say so, the client sent the
        // wrong kind of key.
        if key.starts_with("mf_pk_") {
            KeyLookup::Publishable
        } else {
            KeyLookup::Unknown
        }
    }
}

#[async_trait::async_trait]
impl ApiAuth for StaticApiKeys {
    async fn authenticate(&self, request: &Parts) -> Result<OrgId, AuthError> {
        let key = api_key(request).ok_or_else(|| {
            AuthError::unauthenticated(
                "missing API key: send a secret key (mf_sk_...) in the x-api-key header",
            )
        })?;
        match self.lookup(key) {
            KeyLookup::Secret(org) => Ok(org),
            KeyLookup::Publishable => Err(AuthError::unauthenticated(
                "publishable keys (mf_pk_...) cannot manage portal sessions: use a secret key (mf_sk_...) from your backend",
            )),
            KeyLookup::Unknown => Err(AuthError::unauthenticated(
                "invalid API key: send a secret key (mf_sk_...) of your organisation",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_hash_apart() {
        use std::hash::BuildHasher as _;
        let hashes: std::collections::HashSet<u64> = (0..1_000)
            .map(|n| DigestHash.hash_one(digest(&format!("mf_sk_test_{n}"))))
            .collect();
        assert_eq!(hashes.len(), 1_000);
    }

    #[test]
    fn every_key_of_many_is_found_and_no_other() {
        let mut keys = StaticApiKeys::default();
        let org = |n: u8| OrgId::from_bytes([n; 16]);
        for n in 0..200u8 {
            keys.add_secret(&format!("mf_sk_test_{n}"), org(n));
            keys.add_publishable(&format!("mf_pk_test_{n}"), org(n));
        }
        for n in 0..200u8 {
            assert_eq!(
                keys.lookup(&format!("mf_sk_test_{n}")),
                KeyLookup::Secret(org(n))
            );
            assert_eq!(
                keys.lookup(&format!("mf_pk_test_{n}")),
                KeyLookup::Publishable
            );
            assert_eq!(keys.lookup(&format!("mf_sk_test_{n}x")), KeyLookup::Unknown);
        }
    }
}
