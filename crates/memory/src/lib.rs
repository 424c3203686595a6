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
//! `parking_lot` lock, so gets and compare-and-swaps on different sessions rarely meet. The list and
//! expiry indexes are `portal-sessions-index`'s [`SessionIndex`], the same one the sled store keeps
//! in memory, sharded by organisation. Writers take a record shard, then the index's locks, always
//! in that order; [`list`](SessionStore::list) never holds both, so there is no lock-order cycle.
//!
//! # Cost
//!
//! * `get` is O(1) (a hash lookup); so is `compare_and_swap`, plus two B-tree removals (O(log n))
//!   when the change closes a link (redeem or revoke takes it out of the open indexes).
//! * `list` is O(log n + limit) for every status filter and cursor: the organisation's (and
//!   customer's) indexes are B-trees in list order, one of every session and one per one-way state
//!   (unrevoked, used, revoked); see `portal-sessions-index` for what each filter walks.
//! * `purge_expired` is O(purged + the sessions expiring in `before`'s second), through a per-shard
//!   index of sessions by the second they expire in.
//! * Memory per record: the [`SessionRecord`] itself (328 bytes on 64-bit targets, plus its return URL
//!   and redeemer's user agent, which the engine bounds, see [`SessionRecord`]'s documentation), one
//!   hash-map slot, B-tree entries of 24 to 40 bytes (organisation list, customer list, and the
//!   state indexes it is in), and 16 bytes in its expiry second's list. With
//!   [`MemoryStore::with_event_feed`], about 100 bytes more while its events are not all delivered. The customer
//!   snapshot is shared by every session minted from the same directory entry.
//!   `cargo bench -p portal-sessions-benches --bench scaling` measures the whole: 538 to 735 bytes a
//!   session from 10^3 to 10^7 sessions (the hash tables grow in powers of two, so the figure
//!   depends on where a size falls between two doublings). Those figures were measured with the
//!   256-byte record of the version before recovery and deep links; their fields add 72 bytes
//!   to each (plus a deep link's invoice number, at most 64 characters).
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

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use async_trait::async_trait;
use parking_lot::RwLock;
use portal_sessions::{
    CasOutcome, Claim, EventFeed, EventKinds, ListQuery, SessionId, SessionRecord, SessionStore,
    StoreError, Timestamp, Undelivered,
};
use portal_sessions_index::{EventQueue, SessionIndex};

const RECORD_SHARDS: usize = 64;

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

/// One shard of the records.
#[derive(Default)]
struct RecordShard {
    records: SelectorMap<SessionRecord>,
}

/// An in-memory, sharded [`SessionStore`]: the records in a map, and [`SessionIndex`] beside them.
/// See the [crate documentation](crate) for its costs.
pub struct MemoryStore {
    records: Box<[RwLock<RecordShard>]>,
    index: SessionIndex,
    /// The event feed, when asked for ([`MemoryStore::with_event_feed`]).
    events: Option<EventQueue>,
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
            index: SessionIndex::new(),
            events: None,
        }
    }

    /// The same store keeping an [`EventFeed`]: the sessions whose events are not all delivered,
    /// in memory (so events live as long as the process, like the sessions). Off by default,
    /// since a feed nobody drains holds every session's events until it is purged.
    pub fn with_event_feed(mut self) -> MemoryStore {
        self.events = Some(EventQueue::new());
        self
    }

    fn event_queue(&self) -> Result<&EventQueue, StoreError> {
        self.events.as_ref().ok_or_else(|| {
            StoreError::config(
                "this memory store keeps no event feed (MemoryStore::with_event_feed)",
                None,
            )
        })
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
}

#[async_trait]
impl SessionStore for MemoryStore {
    /// Nothing is on disk: a write is as durable as it will ever be once a read shows it.
    fn write_visibility(&self) -> portal_sessions::WriteVisibility {
        portal_sessions::WriteVisibility::DurableOnly
    }

    /// Always: memory takes every write.
    async fn check_writable(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut shard = self.record_shard(&record.id).write();
        match shard.records.entry(record.id) {
            Entry::Occupied(_) => return Err(StoreError::Duplicate),
            Entry::Vacant(slot) => slot.insert(record.clone()),
        };
        // Indexed while the record's shard is held, so a purge cannot come between.
        self.index.insert(record);
        if let Some(events) = &self.events {
            events.changed(record);
        }
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.record_shard(id).read().records.get(id).cloned())
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        self.index.list(query, |id| {
            Ok(self.record_shard(id).read().records.get(id).cloned())
        })
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
        let before = std::mem::replace(stored, next.clone());
        self.index.update(&before, next);
        if let Some(events) = &self.events {
            events.changed(next);
        }
        Ok(CasOutcome::Swapped)
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut purged = 0;
        for (id, _) in self.index.take_expired(before) {
            let removed = self.record_shard(&id).write().records.remove(&id);
            if let Some(record) = removed {
                self.index.remove(&record);
                if let Some(events) = &self.events {
                    events.removed(&id);
                }
                purged += 1;
            }
        }
        Ok(purged)
    }

    fn event_feed(&self) -> Option<&dyn EventFeed> {
        self.events.as_ref().map(|_| self as &dyn EventFeed)
    }
}

#[async_trait]
impl EventFeed for MemoryStore {
    async fn claim(&self, claim: &Claim) -> Result<Vec<Undelivered>, StoreError> {
        self.event_queue()?.claim(claim, |id| {
            Ok(self.record_shard(id).read().records.get(id).cloned())
        })
    }

    async fn delivered(
        &self,
        claimant: &str,
        id: &SessionId,
        kinds: EventKinds,
    ) -> Result<(), StoreError> {
        self.event_queue()?.delivered(claimant, id, kinds);
        Ok(())
    }

    async fn retry_at(
        &self,
        claimant: &str,
        id: &SessionId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.event_queue()?.retry_at(claimant, id, at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_record_cost_is_as_documented() {
        // The crate documentation promises 328 bytes on 64-bit targets; keep it honest.
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::size_of::<SessionRecord>(), 328);
        }
    }
}
