//! The list and expiry indexes of a session store that keeps its records elsewhere: in a map in
//! memory (`portal-sessions-memory`) or durably on disk (`portal-sessions-sled`), one
//! implementation for both.
//!
//! # What it promises
//!
//! [`SessionIndex`] is pure, synchronous bookkeeping with no I/O. The store tells it what it stored
//! ([`insert`](SessionIndex::insert)), how a record changed ([`update`](SessionIndex::update)) and
//! what it deleted ([`remove`](SessionIndex::remove)); in return it answers which sessions a
//! [`ListQuery`] lists, newest first, in O(log n + limit) ([`list`](SessionIndex::list), which
//! fetches each candidate through the store and re-checks it with [`ListQuery::matches`]), and
//! which sessions have expired ([`take_expired`](SessionIndex::take_expired)).
//!
//! It indexes only what a record never changes after creation (organisation, customer,
//! `created_at`, `expires_at`) and two states that only ever go one way: unused to used, unrevoked
//! to revoked. So concurrent writers may report their changes in any order: an entry only ever
//! moves forward, never back, and a list re-checks every candidate against the record itself.
//!
//! # Cost
//!
//! Per session, in the organisation's index and again in its customer's: a B-tree entry of 24
//! bytes among all sessions, one of 33 among the unrevoked (or 24 among the revoked), and one of 24
//! among the used once its link is used; and 24 bytes in its expiry second's list. Each
//! [`ListFilter`] walks its own entries newest first:
//!
//! | filter | walks | steps over |
//! |---|---|---|
//! | all | every session | nothing |
//! | used, revoked | the used, the revoked | nothing |
//! | openable, active, live | the unrevoked, back to `now` minus the longest lifetime | the others of these, and the expired, of that last lifetime |
//! | expired | the unrevoked | the live ones, all of the last lifetime |
//!
//! The longest lifetime is the shorter of the longest indexed and the query's
//! [`max_lifetime`](ListQuery::max_lifetime). So every list costs O(log n + limit + the sessions
//! created in one lifetime) in memory, and fetches from the store only the records it returns (and
//! any that changed since the index was read, which it then drops).
//!
//! # Examples
//!
//! ```
//! use std::collections::HashMap;
//! use std::convert::Infallible;
//! use portal_sessions::{ListQuery, SessionId, SessionRecord};
//! use portal_sessions_index::SessionIndex;
//!
//! /// A store: records in a map, and the index beside them.
//! struct Store {
//!     records: HashMap<SessionId, SessionRecord>,
//!     index: SessionIndex,
//! }
//!
//! impl Store {
//!     fn insert(&mut self, record: SessionRecord) {
//!         self.index.insert(&record);
//!         self.records.insert(record.id, record);
//!     }
//!
//!     fn list(&self, query: &ListQuery) -> Vec<SessionRecord> {
//!         let fetched = self.index.list(query, |id| Ok::<_, Infallible>(self.records.get(id).cloned()));
//!         fetched.unwrap_or_else(|never| match never {})
//!     }
//! }
//! # let _ = Store::list;
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod events;

pub use events::{Delivery, EventQueue};

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use portal_sessions::{
    CustomerId, ListFilter, ListQuery, OrgId, SessionId, SessionRecord, Timestamp,
};

const INDEX_SHARDS: usize = 16;
const EXPIRY_SHARDS: usize = 16;

/// The list order: newest first, ties by id descending. Sorting ascending by this key is list order.
type ListKey = (Reverse<Timestamp>, Reverse<SessionId>);

fn list_key(record: &SessionRecord) -> ListKey {
    (Reverse(record.created_at), Reverse(record.id))
}

/// The one-way states a list index follows: used, revoked.
fn states(record: &SessionRecord) -> (bool, bool) {
    (record.used_at.is_some(), record.revoked_at.is_some())
}

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

/// Sessions by the second they expire in, for purging.
///
/// A B-tree keyed by `(expires_at, id)` would hold one entry per session and pay a search, node
/// splits and their allocations in a tree of every session on each insert. Sessions expire within
/// [`MAX_TTL`](portal_sessions::MAX_TTL) of their creation, so they fall into a few thousand distinct
/// seconds at most: keyed by second, the tree stays that small, and an insert is almost always a
/// push onto the bucket of the newest second (a service mints with one lifetime, so expiries arrive
/// in order). Expiry never changes once a session is stored, so every entry stays exact.
#[derive(Default)]
struct ExpiryIndex {
    buckets: BTreeMap<i64, Vec<(Timestamp, SessionId)>>,
}

impl ExpiryIndex {
    /// The second `at` falls in (floor division, so times before 1970 bucket correctly too).
    fn second(at: Timestamp) -> i64 {
        at.as_millis().div_euclid(1000)
    }

    fn insert(&mut self, expires_at: Timestamp, id: SessionId) {
        let second = ExpiryIndex::second(expires_at);
        match self.buckets.last_entry() {
            Some(mut newest) if *newest.key() == second => newest.get_mut().push((expires_at, id)),
            _ => self
                .buckets
                .entry(second)
                .or_default()
                .push((expires_at, id)),
        }
    }

    /// Removes and returns every session that expires at or before `before`.
    fn take_through(&mut self, before: Timestamp) -> Vec<(SessionId, Timestamp)> {
        let last = ExpiryIndex::second(before);
        let mut taken = Vec::new();
        while let Some(mut oldest) = self.buckets.first_entry() {
            if *oldest.key() > last {
                break;
            }
            if *oldest.key() < last {
                taken.extend(
                    oldest
                        .remove()
                        .into_iter()
                        .map(|(expires_at, id)| (id, expires_at)),
                );
                continue;
            }
            // `before`'s own second: some of it may expire after `before`, and stays.
            oldest.get_mut().retain(|(expires_at, id)| {
                let expired = *expires_at <= before;
                if expired {
                    taken.push((*id, *expires_at));
                }
                !expired
            });
            if oldest.get().is_empty() {
                oldest.remove();
            }
            break;
        }
        taken
    }

    fn remove(&mut self, expires_at: Timestamp, id: SessionId) {
        let second = ExpiryIndex::second(expires_at);
        if let Some(bucket) = self.buckets.get_mut(&second) {
            bucket.retain(|(_, entry)| *entry != id);
            if bucket.is_empty() {
                self.buckets.remove(&second);
            }
        }
    }

    fn len(&self) -> usize {
        self.buckets.values().map(Vec::len).sum()
    }
}

/// What the unrevoked index keeps of a session: enough to tell openable, active and expired apart
/// without fetching the record.
#[derive(Debug, Clone, Copy)]
struct Unrevoked {
    expires_at: Timestamp,
    /// Only ever goes from `false` to `true`.
    used: bool,
}

/// One list index: every session in list order, and beside it the sessions of each one-way state
/// (unrevoked, used, revoked), so that a list by status walks only candidates.
#[derive(Default)]
struct ListIndex {
    all: BTreeSet<ListKey>,
    /// Sessions not revoked, with their expiry and whether they were used: openable, active and
    /// expired lists walk it. Entries only ever leave (on revocation).
    unrevoked: BTreeMap<ListKey, Unrevoked>,
    /// Used sessions. Entries only ever arrive.
    used: BTreeSet<ListKey>,
    /// Revoked sessions. Entries only ever arrive.
    revoked: BTreeSet<ListKey>,
    /// The longest lifetime of any session indexed here (at most [`MAX_TTL`](portal_sessions::MAX_TTL)): a scan
    /// for sessions not yet expired stops at the first entry created longer than this before `now`.
    longest_lifetime: Duration,
}

impl ListIndex {
    fn insert(&mut self, record: &SessionRecord) {
        let key = list_key(record);
        self.all.insert(key);
        self.longest_lifetime = self.longest_lifetime.max(record.lifetime());
        if record.revoked_at.is_some() {
            self.revoked.insert(key);
        } else {
            self.unrevoked.insert(
                key,
                Unrevoked {
                    expires_at: record.expires_at,
                    used: record.used_at.is_some(),
                },
            );
        }
        if record.used_at.is_some() {
            self.used.insert(key);
        }
    }

    /// Moves a stored session along its one-way states to where `after` is. Changes reported out
    /// of order commute: each step only adds to `used` and `revoked`, and only removes from
    /// `unrevoked` (or marks it used). A session no longer indexed (purged meanwhile) stays out.
    fn advance(&mut self, key: ListKey, after: &SessionRecord) {
        // Still indexed: found among the unrevoked (a session being redeemed, the common case:
        // one search of the tree rather than two), else among all (`unrevoked` holds only keys
        // `all` holds).
        let unrevoked = self.unrevoked.get_mut(&key);
        debug_assert!(unrevoked.is_none() || self.all.contains(&key));
        if unrevoked.is_none() && !self.all.contains(&key) {
            return;
        }
        if after.used_at.is_some() {
            self.used.insert(key);
            if let Some(entry) = unrevoked {
                entry.used = true;
            }
        }
        if after.revoked_at.is_some() {
            self.revoked.insert(key);
            self.unrevoked.remove(&key);
        }
    }

    fn remove(&mut self, key: &ListKey) {
        self.all.remove(key);
        self.unrevoked.remove(key);
        self.used.remove(key);
        self.revoked.remove(key);
    }

    /// Up to `limit` ids after `after` (exclusive) that may match `filter`, and the last key
    /// looked at; a scan for sessions not yet expired looks back at most `max_lifetime`.
    fn candidates(
        &self,
        filter: ListFilter,
        max_lifetime: Duration,
        after: Option<ListKey>,
        limit: usize,
    ) -> (Vec<SessionId>, Option<ListKey>) {
        let range = (
            after.map_or(Bound::Unbounded, Bound::Excluded),
            Bound::Unbounded,
        );
        let mut ids = Vec::with_capacity(limit);
        let mut last = None;
        let mut take = |keys: &mut dyn Iterator<Item = &ListKey>| {
            for key in keys.take(limit) {
                ids.push(key.1.0);
                last = Some(*key);
            }
        };
        match filter {
            ListFilter::All => take(&mut self.all.range(range)),
            ListFilter::Used => take(&mut self.used.range(range)),
            ListFilter::Revoked => take(&mut self.revoked.range(range)),
            ListFilter::OpenAt(now)
            | ListFilter::ActiveAt(now)
            | ListFilter::LiveAt(now)
            | ListFilter::ExpiredAt(now) => {
                // Nothing created `longest_lifetime` (or the caller's bound) or longer before `now`
                // can still be open or active: those scans stop there. Everything older is expired,
                // so an expired scan steps over at most the sessions of that last lifetime.
                let horizon = match filter {
                    ListFilter::ExpiredAt(_) => None,
                    _ => now.checked_sub(self.longest_lifetime.min(max_lifetime)),
                };
                let wanted = |entry: &Unrevoked| match filter {
                    ListFilter::OpenAt(_) => !entry.used && entry.expires_at > now,
                    ListFilter::ActiveAt(_) => entry.used && entry.expires_at > now,
                    ListFilter::LiveAt(_) => entry.expires_at > now,
                    _ => entry.expires_at <= now,
                };
                for (key, entry) in self.unrevoked.range(range) {
                    if horizon.is_some_and(|horizon| key.0.0 <= horizon) {
                        break;
                    }
                    last = Some(*key);
                    if wanted(entry) {
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

/// The list and expiry indexes of one store. See the [crate documentation](crate).
pub struct SessionIndex {
    orgs: Box<[RwLock<IdMap<OrgId, OrgIndex>>]>,
    expiry: Box<[Mutex<ExpiryIndex>]>,
    hasher: IdHasherBuilder,
}

impl Default for SessionIndex {
    fn default() -> SessionIndex {
        SessionIndex::new()
    }
}

impl std::fmt::Debug for SessionIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionIndex")
            .field("sessions", &self.len())
            .finish()
    }
}

impl SessionIndex {
    /// An empty index.
    pub fn new() -> SessionIndex {
        SessionIndex {
            orgs: (0..INDEX_SHARDS).map(|_| RwLock::default()).collect(),
            expiry: (0..EXPIRY_SHARDS).map(|_| Mutex::default()).collect(),
            hasher: IdHasherBuilder::default(),
        }
    }

    /// How many sessions are indexed.
    pub fn len(&self) -> usize {
        self.expiry.iter().map(|shard| shard.lock().len()).sum()
    }

    /// Whether no session is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn org_shard(&self, org: &OrgId) -> &RwLock<IdMap<OrgId, OrgIndex>> {
        // Truncation is the point: any bits of the hash pick a shard.
        #[allow(clippy::cast_possible_truncation)]
        let slot = self.hasher.hash_one(org) as usize % INDEX_SHARDS;
        &self.orgs[slot]
    }

    fn expiry_shard(&self, id: &SessionId) -> &Mutex<ExpiryIndex> {
        // The selector is uniformly random, so its last byte spreads sessions evenly.
        &self.expiry[usize::from(id.as_bytes()[15]) % EXPIRY_SHARDS]
    }

    /// Indexes a record the store has just stored.
    pub fn insert(&self, record: &SessionRecord) {
        self.expiry_shard(&record.id)
            .lock()
            .insert(record.expires_at, record.id);
        let mut orgs = self.org_shard(&record.org_id).write();
        let org = orgs.entry(record.org_id).or_default();
        org.sessions.insert(record);
        org.by_customer
            .entry(record.customer.id)
            .or_default()
            .insert(record);
    }

    /// Records a change the store has just made: a session that became used or revoked moves to
    /// those indexes. Nothing else a change may touch is indexed (a logout changes nothing here).
    pub fn update(&self, before: &SessionRecord, after: &SessionRecord) {
        if states(before) == states(after) {
            return;
        }
        let key = list_key(after);
        let mut orgs = self.org_shard(&after.org_id).write();
        if let Some(org) = orgs.get_mut(&after.org_id) {
            org.sessions.advance(key, after);
            if let Some(customer) = org.by_customer.get_mut(&after.customer.id) {
                customer.advance(key, after);
            }
        }
    }

    /// Forgets a record the store has deleted.
    pub fn remove(&self, record: &SessionRecord) {
        self.expiry_shard(&record.id)
            .lock()
            .remove(record.expires_at, record.id);
        self.unlist(record);
    }

    fn unlist(&self, record: &SessionRecord) {
        let key = list_key(record);
        let mut orgs = self.org_shard(&record.org_id).write();
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

    /// Takes every session that expired at or before `before` out of the expiry index and returns
    /// their ids and expiries: the store deletes each record, then calls [`remove`](Self::remove)
    /// with it. One it could not delete goes back with [`expire_again`](Self::expire_again), so
    /// that the next purge tries it again.
    pub fn take_expired(&self, before: Timestamp) -> Vec<(SessionId, Timestamp)> {
        self.expiry
            .iter()
            .flat_map(|shard| shard.lock().take_through(before))
            .collect()
    }

    /// Puts a session that [`take_expired`](Self::take_expired) returned back into the expiry
    /// index, because the store could not delete it.
    pub fn expire_again(&self, id: SessionId, expires_at: Timestamp) {
        self.expiry_shard(&id).lock().insert(expires_at, id);
    }

    /// The records `query` lists, in list order: candidates from the index, each fetched with
    /// `fetch` and kept when it still [`matches`](ListQuery::matches) (a record that changed since
    /// the index was read is dropped, and the scan goes on past it).
    ///
    /// # Errors
    ///
    /// The first error `fetch` returns.
    pub fn list<E>(
        &self,
        query: &ListQuery,
        mut fetch: impl FnMut(&SessionId) -> Result<Option<SessionRecord>, E>,
    ) -> Result<Vec<SessionRecord>, E> {
        let mut found = Vec::with_capacity(query.limit.min(128));
        let mut after = query
            .after
            .map(|position| (Reverse(position.created_at), Reverse(position.id)));
        while found.len() < query.limit {
            let (ids, last) = {
                let orgs = self.org_shard(&query.org_id).read();
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
                index.candidates(
                    query.filter,
                    query.max_lifetime,
                    after,
                    query.limit - found.len(),
                )
            };
            for id in &ids {
                if let Some(record) = fetch(id)? {
                    if query.matches(&record) {
                        found.push(record);
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
}
