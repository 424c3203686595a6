//! [`EventQueue`]: the sessions whose events are not all delivered, for a store that keeps its
//! records elsewhere, and the claims on them.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;
use portal_sessions::{Claim, EventKinds, SessionId, SessionRecord, Timestamp, Undelivered};

/// What is known of one session's delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The events delivered so far.
    pub delivered: EventKinds,
    /// The failed attempts since the last success.
    pub attempts: u32,
}

/// A pending session: what its record says happened, and who holds it until when.
#[derive(Debug, Clone)]
struct Pending {
    due: EventKinds,
    /// The claimant holding it, if any.
    claimant: Option<String>,
    /// Not to be claimed before this: the end of a lease, or the time of the next retry.
    not_before: Option<Timestamp>,
}

#[derive(Default)]
struct State {
    /// Sessions with undelivered events, oldest first: the order claims take them in.
    pending: BTreeMap<(Timestamp, SessionId), Pending>,
    /// Each pending session's key in `pending`.
    created: HashMap<SessionId, Timestamp>,
    /// Every session with something delivered or failed: what a later change adds to.
    deliveries: HashMap<SessionId, Delivery>,
}

/// The pending sessions of a store's event feed, and their claims: pure bookkeeping, like
/// [`SessionIndex`](crate::SessionIndex). The store reports every record it stores
/// ([`changed`](Self::changed)) and deletes ([`removed`](Self::removed)); a store that keeps
/// deliveries on disk loads them first with [`restore`](Self::restore).
///
/// # Cost
///
/// A session with undelivered events costs a B-tree entry and a map entry (about 100 bytes); a
/// session with anything delivered, 24 bytes in a map, until it is removed.
#[derive(Default)]
pub struct EventQueue {
    state: Mutex<State>,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("pending", &self.state.lock().pending.len())
            .finish()
    }
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> EventQueue {
        EventQueue::default()
    }

    /// How many sessions have undelivered events.
    pub fn pending(&self) -> usize {
        self.state.lock().pending.len()
    }

    /// Loads what was delivered for a session, before its record is reported (a store reopening).
    pub fn restore(&self, id: SessionId, delivery: Delivery) {
        self.state.lock().deliveries.insert(id, delivery);
    }

    /// What has been delivered for a session.
    pub fn delivery(&self, id: &SessionId) -> Delivery {
        self.state
            .lock()
            .deliveries
            .get(id)
            .copied()
            .unwrap_or_default()
    }

    /// Reports a record as stored now (inserted or changed): pending while its events are not
    /// all delivered.
    pub fn changed(&self, record: &SessionRecord) {
        let due = record.event_kinds();
        let mut state = self.state.lock();
        let delivered = state
            .deliveries
            .get(&record.id)
            .map(|delivery| delivery.delivered)
            .unwrap_or_default();
        if delivered.covers(due) {
            return;
        }
        let key = (record.created_at, record.id);
        state.created.insert(record.id, record.created_at);
        state
            .pending
            .entry(key)
            .and_modify(|pending| pending.due = pending.due.union(due))
            .or_insert(Pending {
                due,
                claimant: None,
                not_before: None,
            });
    }

    /// Forgets a deleted session.
    pub fn removed(&self, id: &SessionId) {
        let mut state = self.state.lock();
        state.deliveries.remove(id);
        if let Some(created) = state.created.remove(id) {
            state.pending.remove(&(created, *id));
        }
    }

    /// Claims pending sessions as [`EventFeed::claim`](portal_sessions::EventFeed::claim) says,
    /// each record fetched with `fetch` once the queue's lock is released (a session gone since
    /// it was queued was purged, and the purge forgets it: it is left out).
    ///
    /// # Errors
    ///
    /// The first error `fetch` returns.
    pub fn claim<E>(
        &self,
        claim: &Claim,
        mut fetch: impl FnMut(&SessionId) -> Result<Option<SessionRecord>, E>,
    ) -> Result<Vec<Undelivered>, E> {
        let mut claimed = Vec::new();
        for (id, delivery) in self.claim_ids(claim) {
            if let Some(record) = fetch(&id)? {
                claimed.push(Undelivered {
                    record,
                    delivered: delivery.delivered,
                    attempts: delivery.attempts,
                });
            }
        }
        Ok(claimed)
    }

    /// The ids [`claim`](Self::claim) leases, oldest first, with what was delivered.
    fn claim_ids(&self, claim: &Claim) -> Vec<(SessionId, Delivery)> {
        let mut state = self.state.lock();
        let until = claim.now.checked_add(claim.lease).unwrap_or(Timestamp::MAX);
        let mut claimed = Vec::new();
        let State {
            pending,
            deliveries,
            ..
        } = &mut *state;
        for ((_, id), entry) in pending.iter_mut() {
            if claimed.len() == claim.limit {
                break;
            }
            if entry.not_before.is_some_and(|at| at > claim.now) {
                continue;
            }
            entry.claimant = Some(claim.claimant.clone());
            entry.not_before = Some(until);
            claimed.push((*id, deliveries.get(id).copied().unwrap_or_default()));
        }
        claimed
    }

    /// Marks `kinds` delivered, resets the attempts and releases `claimant`'s lease; returns the
    /// delivery as it now is (for a store that keeps it on disk).
    pub fn delivered(&self, claimant: &str, id: &SessionId, kinds: EventKinds) -> Delivery {
        let mut state = self.state.lock();
        if !state.created.contains_key(id) && !state.deliveries.contains_key(id) {
            // Removed (purged) while it was being delivered: nothing to remember.
            return Delivery::default();
        }
        let delivery = {
            let entry = state.deliveries.entry(*id).or_default();
            entry.delivered = entry.delivered.union(kinds);
            entry.attempts = 0;
            *entry
        };
        if let Some(created) = state.created.get(id).copied() {
            let key = (created, *id);
            let done = match state.pending.get_mut(&key) {
                Some(pending) => {
                    if pending.claimant.as_deref() == Some(claimant) {
                        pending.claimant = None;
                        pending.not_before = None;
                    }
                    delivery.delivered.covers(pending.due)
                }
                None => false,
            };
            if done {
                state.pending.remove(&key);
                state.created.remove(id);
            }
        }
        delivery
    }

    /// Counts a failed attempt and keeps the session from being claimed before `at`, if
    /// `claimant` holds it; returns the delivery as it now is.
    pub fn retry_at(&self, claimant: &str, id: &SessionId, at: Timestamp) -> Delivery {
        let mut state = self.state.lock();
        let holds = state
            .created
            .get(id)
            .copied()
            .and_then(|created| state.pending.get(&(created, *id)))
            .is_some_and(|pending| pending.claimant.as_deref() == Some(claimant));
        if !holds {
            return state.deliveries.get(id).copied().unwrap_or_default();
        }
        if let Some(created) = state.created.get(id).copied() {
            if let Some(pending) = state.pending.get_mut(&(created, *id)) {
                pending.claimant = None;
                pending.not_before = Some(at);
            }
        }
        let entry = state.deliveries.entry(*id).or_default();
        entry.attempts = entry.attempts.saturating_add(1);
        *entry
    }
}
