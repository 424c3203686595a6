//! An in-memory [`SessionStore`] for portal-sessions.
//!
//! Use it for tests, examples, and single-process services that can afford to lose every session
//! when the process stops (sessions live an hour at most, so a restart only invalidates links in
//! flight). For durability use `portal-sessions-sled`; for many app instances,
//! `portal-sessions-postgres`.
//!
//! # Concurrency
//!
//! Records live in 64 shards chosen by the session id's random selector, each behind its own
//! `parking_lot` lock, so gets and compare-and-swaps on different sessions rarely meet. List indexes
//! live in 16 shards chosen by organisation. Writers take a record shard, then an index shard, always
//! in that order; [`list`](SessionStore::list) never holds both, so there is no lock-order cycle.
//!
//! # Cost
//!
//! * `get` is O(1) (a hash lookup); so is `compare_and_swap`, plus two B-tree removals (O(log n))
//!   when the change closes a link (redeem or revoke takes it out of the open indexes).
//! * `list` is O(log n + limit): the organisation's (and customer's) index is a B-tree in list order.
//!   An open-only list walks an index of links not yet used or revoked, and stops at the first entry
//!   created longer ago than the longest session lifetime seen (at most [`MAX_TTL`](portal_sessions::MAX_TTL)), so it also
//!   steps over links that expired unopened within that window.
//! * `purge_expired` is O(purged + the sessions expiring in `before`'s second), through a per-shard
//!   index of sessions by the second they expire in.
//! * Memory per record: the [`SessionRecord`] itself (240 bytes on 64-bit targets, plus its return URL
//!   and redeemer's user agent, which the engine bounds, see [`SessionRecord`]'s documentation), one
//!   hash-map slot, B-tree entries of 24 to 40 bytes (organisation list, customer list, the open
//!   indexes while the link is open), and 16 bytes in its expiry second's list. The customer
//!   snapshot is shared by every session minted from the same directory entry.
//!   `cargo bench -p portal-sessions-benches --bench scaling` measures the whole: 538 to 735 bytes a
//!   session from 10^3 to 10^7 sessions (the hash tables grow in powers of two, so the figure
//!   depends on where a size falls between two doublings).
//!
//! # Examples
//!
//! ```
//! use portal_sessions::{Engine, StaticDirectory};
//! use portal_sessions_memory::MemoryStore;
//!
//! let engine = Engine::new(MemoryStore::new(), StaticDirectory::default());
//! # let _ = engine;
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::RwLock;
use portal_sessions::{
    CasOutcome, CustomerId, ListFilter, ListQuery, OrgId, SessionId, SessionRecord, SessionStore,
    StoreError, Timestamp,
};

const RECORD_SHARDS: usize = 64;
const INDEX_SHARDS: usize = 16;

/// The list order: newest first, ties by id descending. Sorting ascending by this key is list order.
type ListKey = (Reverse<Timestamp>, Reverse<SessionId>);

fn list_key(record: &SessionRecord) -> ListKey {
    (Reverse(record.created_at), Reverse(record.id))
}

/// Hashes a [`SessionId`] by taking eight bytes of its selector as they are.
///
/// Selectors are 128 bits from the operating system's CSPRNG, minted by the engine, never chosen by
/// a client, so they are already uniformly distributed and no one can make them collide: SipHash's
/// flooding resistance buys nothing here, and it was the largest single cost of an insert in the
/// create profile. The shard is chosen by byte 0, so the map uses bytes 8..16.
#[derive(Clone, Copy, Default)]
struct SelectorHasher(u64);

impl std::hash::Hasher for SelectorHasher {
    fn write(&mut self, bytes: &[u8]) {
        // A SessionId hashes as its 16 bytes (after a length prefix, written through `write_usize`);
        // fold in whatever arrives, eight bytes at a time, so any other shape still hashes sensibly.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, _length_prefix: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

type SelectorMap<V> = HashMap<SessionId, V, std::hash::BuildHasherDefault<SelectorHasher>>;

/// Hashes organisation and customer ids with a keyed folded multiply, where the standard map's
/// SipHash cost more than the rest of an index update (six hashes a create, three a redeem, in the
/// profile).
///
/// SipHash is there to stop an attacker who chooses keys from making them collide. The keys here
/// cannot be chosen by a client: a store only ever holds the organisations and customers that the
/// embedding application's API keys and [`CustomerDirectory`](portal_sessions::CustomerDirectory)
/// name, and a create for any other customer is refused before it reaches the store. What is left
/// is to spread ids that may be structured (sequential or time-ordered UUIDs) over the buckets,
/// which a full 64x64-bit multiply folded to 64 bits does, with a random key per store.
#[derive(Clone, Copy)]
struct IdHasherBuilder {
    key: u64,
}

impl Default for IdHasherBuilder {
    fn default() -> IdHasherBuilder {
        IdHasherBuilder {
            key: std::collections::hash_map::RandomState::new().hash_one(0x5EED_u64),
        }
    }
}

impl BuildHasher for IdHasherBuilder {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.key)
    }
}

/// See [`IdHasherBuilder`].
struct IdHasher(u64);

/// The high and low halves of the 128-bit product, XORed: every input bit reaches every output bit.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    // Truncation is the point: the two halves are folded together.
    #[allow(clippy::cast_possible_truncation)]
    let (low, high) = (product as u64, (product >> 64) as u64);
    low ^ high
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // An id arrives as its 16 bytes (after a length prefix, through `write_usize`).
        const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = folded_multiply(self.0 ^ u64::from_le_bytes(word), MULTIPLIER);
        }
    }

    fn write_usize(&mut self, _length_prefix: usize) {}

    fn finish(&self) -> u64 {
        // One more round, so the last word's bits reach the top bits hashbrown reads.
        folded_multiply(self.0, 0xD6E8_FEB8_6659_FD93)
    }
}

type IdMap<K, V> = HashMap<K, V, IdHasherBuilder>;

#[derive(Default)]
struct RecordShard {
    records: SelectorMap<SessionRecord>,
    by_expiry: ExpiryIndex,
}

/// The shard's sessions by the second their session expires in, for `purge_expired`.
///
/// A B-tree keyed by `(expires_at, id)` would hold one entry per session and pay a search, node
/// splits and their allocations in a tree of every session on each insert. Sessions expire within
/// [`MAX_TTL`](portal_sessions::MAX_TTL) of their creation, so they fall into a few thousand distinct
/// seconds at most: keyed by second, the tree stays that small, and an insert is almost always a
/// push onto the bucket of the newest second (a service mints with one lifetime, so expiries arrive
/// in order). Expiry never changes once a session is stored, so a bucket's entries stay exact.
#[derive(Default)]
struct ExpiryIndex {
    buckets: BTreeMap<i64, Vec<SessionId>>,
}

impl ExpiryIndex {
    /// The second `at` falls in (floor division, so times before 1970 bucket correctly too).
    fn second(at: Timestamp) -> i64 {
        at.as_millis().div_euclid(1000)
    }

    fn insert(&mut self, expires_at: Timestamp, id: SessionId) {
        let second = ExpiryIndex::second(expires_at);
        match self.buckets.last_entry() {
            Some(mut newest) if *newest.key() == second => newest.get_mut().push(id),
            _ => self.buckets.entry(second).or_default().push(id),
        }
    }

    /// Removes and returns every id in a second up to `before`'s. Ids in `before`'s own second may
    /// expire after it: the caller checks each record and puts those back.
    fn take_through(&mut self, before: Timestamp) -> Vec<SessionId> {
        let last = ExpiryIndex::second(before);
        let mut taken = Vec::new();
        while let Some(oldest) = self.buckets.first_entry() {
            if *oldest.key() > last {
                break;
            }
            taken.append(&mut oldest.remove());
        }
        taken
    }
}

/// One list index: every session in list order, and the open ones with their expiry, so that an
/// open-only scan can skip expired entries without touching the records.
#[derive(Default)]
struct ListIndex {
    all: BTreeSet<ListKey>,
    open: BTreeMap<ListKey, Timestamp>,
    /// The longest lifetime of any session indexed here (at most [`MAX_TTL`](portal_sessions::MAX_TTL)): an open-only scan
    /// stops at the first entry created longer than this before `now`.
    longest_lifetime: Duration,
}

impl ListIndex {
    fn insert(&mut self, record: &SessionRecord) {
        let key = list_key(record);
        self.all.insert(key);
        let lifetime = record
            .expires_at
            .saturating_duration_since(record.created_at);
        self.longest_lifetime = self.longest_lifetime.max(lifetime);
        if record.used_at.is_none() && record.revoked_at.is_none() {
            self.open.insert(key, record.expires_at);
        }
    }

    fn remove(&mut self, key: &ListKey) {
        self.all.remove(key);
        self.open.remove(key);
    }

    /// Up to `limit` ids after `after` (exclusive) that may match `filter`.
    fn candidates(
        &self,
        filter: ListFilter,
        after: Option<ListKey>,
        limit: usize,
    ) -> (Vec<SessionId>, Option<ListKey>) {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut ids = Vec::with_capacity(limit);
        let mut last = None;
        match filter {
            ListFilter::All => {
                for key in self.all.range((lower, Bound::Unbounded)).take(limit) {
                    ids.push(key.1.0);
                    last = Some(*key);
                }
            }
            ListFilter::OpenAt(now) => {
                // Nothing created `longest_lifetime` or longer before `now` can still be open.
                let horizon = now.checked_sub(self.longest_lifetime);
                for (key, expires_at) in self.open.range((lower, Bound::Unbounded)) {
                    if horizon.is_some_and(|horizon| key.0.0 <= horizon) {
                        break;
                    }
                    last = Some(*key);
                    if *expires_at > now {
                        ids.push(key.1.0);
                        if ids.len() == limit {
                            break;
                        }
                    }
                }
            }
        }
        (ids, last)
    }
}

#[derive(Default)]
struct OrgIndex {
    sessions: ListIndex,
    by_customer: IdMap<CustomerId, ListIndex>,
}

/// An in-memory, sharded [`SessionStore`]. See the [crate documentation](crate) for its costs.
pub struct MemoryStore {
    records: Box<[RwLock<RecordShard>]>,
    indexes: Box<[RwLock<IdMap<OrgId, OrgIndex>>]>,
    hasher: IdHasherBuilder,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore {
            records: (0..RECORD_SHARDS).map(|_| RwLock::default()).collect(),
            indexes: (0..INDEX_SHARDS).map(|_| RwLock::default()).collect(),
            hasher: IdHasherBuilder::default(),
        }
    }

    /// How many sessions are stored.
    pub fn len(&self) -> usize {
        self.records
            .iter()
            .map(|shard| shard.read().records.len())
            .sum()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record_shard(&self, id: &SessionId) -> &RwLock<RecordShard> {
        // The selector is uniformly random, so its first byte spreads sessions evenly.
        &self.records[usize::from(id.as_bytes()[0]) % RECORD_SHARDS]
    }

    fn index_shard(&self, org: &OrgId) -> &RwLock<IdMap<OrgId, OrgIndex>> {
        // Truncation is the point: any bits of the hash pick a shard.
        #[allow(clippy::cast_possible_truncation)]
        let slot = self.hasher.hash_one(org) as usize % INDEX_SHARDS;
        &self.indexes[slot]
    }

    /// Removes `record` from its organisation's indexes. Called with its record shard locked.
    fn unindex(&self, record: &SessionRecord) {
        let key = list_key(record);
        let mut orgs = self.index_shard(&record.org_id).write();
        if let Some(org) = orgs.get_mut(&record.org_id) {
            org.sessions.remove(&key);
            if let Some(customer) = org.by_customer.get_mut(&record.customer.id) {
                customer.remove(&key);
                if customer.all.is_empty() {
                    org.by_customer.remove(&record.customer.id);
                }
            }
            if org.sessions.all.is_empty() {
                orgs.remove(&record.org_id);
            }
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut shard = self.record_shard(&record.id).write();
        match shard.records.entry(record.id) {
            Entry::Occupied(_) => return Err(StoreError::Duplicate),
            Entry::Vacant(slot) => slot.insert(record.clone()),
        };
        shard.by_expiry.insert(record.expires_at, record.id);
        let mut orgs = self.index_shard(&record.org_id).write();
        let org = orgs.entry(record.org_id).or_default();
        org.sessions.insert(record);
        org.by_customer
            .entry(record.customer.id)
            .or_default()
            .insert(record);
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.record_shard(id).read().records.get(id).cloned())
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let mut found = Vec::with_capacity(query.limit.min(128));
        let mut after = None;
        // Candidates are gathered under the index lock and checked against the records after it is
        // released; a record that changed in between is dropped and the scan continues past it.
        while found.len() < query.limit {
            let (ids, last) = {
                let orgs = self.index_shard(&query.org_id).read();
                let Some(org) = orgs.get(&query.org_id) else {
                    break;
                };
                let index = match query.customer_id {
                    Some(customer) => match org.by_customer.get(&customer) {
                        Some(index) => index,
                        None => break,
                    },
                    None => &org.sessions,
                };
                index.candidates(query.filter, after, query.limit - found.len())
            };
            for id in &ids {
                if let Some(record) = self.record_shard(id).read().records.get(id) {
                    if query.matches(record) {
                        found.push(record.clone());
                    }
                }
            }
            if ids.is_empty() || last.is_none() {
                break;
            }
            after = last;
        }
        Ok(found)
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError> {
        let mut shard = self.record_shard(&next.id).write();
        let Some(stored) = shard.records.get_mut(&next.id) else {
            return Ok(CasOutcome::Conflict);
        };
        if stored.version != expected_version {
            return Ok(CasOutcome::Conflict);
        }
        let was_open = stored.used_at.is_none() && stored.revoked_at.is_none();
        *stored = next.clone();
        let is_open = next.used_at.is_none() && next.revoked_at.is_none();
        if was_open && !is_open {
            let key = list_key(next);
            let mut orgs = self.index_shard(&next.org_id).write();
            if let Some(org) = orgs.get_mut(&next.org_id) {
                org.sessions.open.remove(&key);
                if let Some(customer) = org.by_customer.get_mut(&next.customer.id) {
                    customer.open.remove(&key);
                }
            }
        }
        Ok(CasOutcome::Swapped)
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut purged = 0;
        for shard in self.records.iter() {
            let mut shard = shard.write();
            for id in shard.by_expiry.take_through(before) {
                let Some(record) = shard.records.get(&id) else {
                    continue;
                };
                if record.expires_at > before {
                    // Later in `before`'s own second: not expired yet.
                    let expires_at = record.expires_at;
                    shard.by_expiry.insert(expires_at, id);
                } else if let Some(record) = shard.records.remove(&id) {
                    self.unindex(&record);
                    purged += 1;
                }
            }
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_record_cost_is_as_documented() {
        // The crate documentation promises 240 bytes on 64-bit targets; keep it honest.
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::size_of::<SessionRecord>(), 240);
        }
    }
}
