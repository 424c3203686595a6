//! API keys: which organisation a request speaks for.

use std::collections::HashMap;

use portal_sessions::OrgId;

/// What an API key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup {
    /// A secret key of this organisation.
    Secret(OrgId),
    /// A publishable key: valid, but never for these endpoints (they must be called from a backend).
    Publishable,
    /// Not a key at all.
    Unknown,
}

/// Resolves API keys to organisations. Implement it over your own key store to mount the router in
/// your own service.
///
/// Implementations must not leak through timing how much of a key matched: compare digests, or look
/// keys up by a hash of the key, never by comparing the key text byte by byte.
pub trait ApiKeys: Send + Sync + 'static {
    /// What `key` is.
    fn lookup(&self, key: &str) -> KeyLookup;
}

/// A fixed set of keys, looked up by their BLAKE3 digest (so neither the lookup nor the comparison
/// runs in time that depends on how much of a presented key is right), for configuration files and
/// tests.
///
/// # Examples
///
/// ```
/// use portal_sessions::OrgId;
/// use portal_sessions_axum::{ApiKeys, KeyLookup, StaticApiKeys};
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
    keys: HashMap<[u8; 32], KeyLookup>,
}

impl std::fmt::Debug for StaticApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticApiKeys")
            .field("keys", &self.keys.len())
            .finish()
    }
}

fn digest(key: &str) -> [u8; 32] {
    blake3::derive_key("portal-sessions v1 api key", key.as_bytes())
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
}

impl ApiKeys for StaticApiKeys {
    fn lookup(&self, key: &str) -> KeyLookup {
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
