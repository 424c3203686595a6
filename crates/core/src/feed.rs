//! The durable event feed of a store: [`EventFeed`].
//!
//! # Why a feed derived from the records, not an outbox
//!
//! An outbox writes each event beside the change, in the same transaction, and a relay sends and
//! deletes them. It keeps every intermediate state, but it doubles the writes of every change and
//! needs a transaction across two keys or tables, which the embedded store deliberately does
//! without (one key per write). The events of a session are instead a pure function of its record
//! ([`SessionRecord::events`](crate::SessionRecord::events)), because each event leaves a
//! timestamp that never changes; so a store only has to remember, per session, which events were
//! delivered (one byte, [`EventKinds`]), and to find the sessions where that falls short of what
//! the record says happened. A change and its event are then the same write: an event is never
//! announced for a change that did not commit, and never lost for one that did, whatever the
//! process does between the two.
//!
//! What it costs: delivery is at least once (a process that dies after delivering and before
//! [`delivered`](EventFeed::delivered) delivers again; receivers deduplicate by
//! [`SessionEvent::id`](crate::SessionEvent::id)), and an event carries the session as the record
//! can reconstruct it, not a copy taken at the time (which is the same thing, since every field an
//! event changes is cleared in the events before it).
//!
//! # Claims
//!
//! Several processes may drain one feed (PostgreSQL, shared). [`claim`](EventFeed::claim) hands
//! each session to one claimant at a time, for a lease; a claimant that dies holds its sessions
//! only until the lease runs out, and another claims them. A failed delivery is put off with
//! [`retry_at`](EventFeed::retry_at), which counts the attempts, so that backoff survives a
//! restart and moves with the session between processes.

use std::time::Duration;

use async_trait::async_trait;

use crate::event::{EventKinds, SessionEvent};
use crate::id::SessionId;
use crate::record::SessionRecord;
use crate::store::StoreError;
use crate::timestamp::Timestamp;

/// A session whose record has events not yet delivered, as [`EventFeed::claim`] hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// The record as it is now.
    pub record: SessionRecord,
    /// The events already delivered.
    pub delivered: EventKinds,
    /// How many deliveries of these events failed so far ([`EventFeed::retry_at`]).
    pub attempts: u32,
}

impl Undelivered {
    /// The events to deliver, in order: those of the record not in `delivered`.
    pub fn pending(&self) -> impl Iterator<Item = SessionEvent> + '_ {
        self.record
            .events()
            .filter(|event| !self.delivered.contains(event.kind))
    }
}

/// What a claim asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Who claims: a name unique to the process (its claims are released only by it).
    pub claimant: String,
    /// The store clock's `now`: leases and retry times are compared with it.
    pub now: Timestamp,
    /// How long the claimed sessions are this claimant's.
    pub lease: Duration,
    /// At most this many sessions.
    pub limit: usize,
}

/// The sessions whose events are not all delivered: the durable side of events. See the
/// [module documentation](self) for why it is derived from the records.
///
/// A store that implements it returns itself from
/// [`SessionStore::event_feed`](crate::SessionStore::event_feed). The contract, which the
/// conformance suite checks:
///
/// * A session is *undelivered* while [`SessionRecord::event_kinds`] is not covered by what was
///   marked [`delivered`](Self::delivered). Every insert and every change that adds an event makes
///   it undelivered; marking makes it delivered; nothing else does.
/// * [`claim`](Self::claim) returns undelivered sessions that no live lease holds and whose retry
///   time is not after `now`, oldest first (by `created_at`, then id), at most `limit`, and leases
///   each to the claimant until `now + lease`.
/// * Marks are unions: marking never forgets a delivered kind.
#[async_trait]
pub trait EventFeed: Send + Sync {
    /// Claims undelivered sessions (see the trait documentation).
    ///
    /// # Errors
    ///
    /// A backend error; nothing is claimed.
    async fn claim(&self, claim: &Claim) -> Result<Vec<Undelivered>, StoreError>;

    /// Marks `kinds` of session `id` delivered (added to what was) and releases `claimant`'s
    /// lease on it; the failed attempts start again from zero. A session that is gone (purged) is
    /// not an error.
    ///
    /// # Errors
    ///
    /// A backend error; the mark may or may not have been made (then the events are delivered again).
    async fn delivered(
        &self,
        claimant: &str,
        id: &SessionId,
        kinds: EventKinds,
    ) -> Result<(), StoreError>;

    /// Releases `claimant`'s lease on session `id` after a failed delivery, counts the attempt, and
    /// keeps the session from being claimed before `at`.
    ///
    /// # Errors
    ///
    /// A backend error.
    async fn retry_at(
        &self,
        claimant: &str,
        id: &SessionId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}
