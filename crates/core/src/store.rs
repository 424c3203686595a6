//! The storage contract: [`SessionStore`].
//!
//! A store is a small set of atomic primitives and nothing else: all decisions live in the pure
//! [`SessionRecord::apply`](crate::SessionRecord::apply) and the [`Engine`](crate::Engine). That keeps a
//! new backend to a few hundred lines, and lets one behavioural suite (the
//! `portal-sessions-conformance` crate) prove every backend against the same contract.
//!
//! # Implementing your own store
//!
//! Implement the five methods below with these guarantees, then run the conformance suite against
//! your store from its tests (`portal_sessions_conformance::store_tests!`). The suite fails stores that
//! overwrite on insert, let two compare-and-swaps of one version both win, or leak another
//! organisation's sessions.
//!
//! * [`insert`](SessionStore::insert) is *insert-if-absent*: a clash is [`StoreError::Duplicate`] and
//!   leaves the stored record as it was.
//! * [`compare_and_swap`](SessionStore::compare_and_swap) replaces the record only if the stored version
//!   is `expected_version`, atomically, and says which happened. Only the fields that
//!   [`SessionRecord::apply`](crate::SessionRecord::apply) changes may differ, so indexes on the other
//!   fields never need updating.
//! * [`list`](SessionStore::list) returns newest first: by `created_at` descending, ties by session id
//!   bytes descending, so every backend agrees on the order, starting after
//!   [`ListQuery::after`] when it is set. It returns exactly the records that
//!   [`ListQuery::matches`] accepts, and should cost O(log n + limit), not O(sessions in the
//!   organisation), for every [`ListFilter`]: keep an index per filter whose membership only ever
//!   changes one way (unused to used, unrevoked to revoked). Every listed record satisfies
//!   `expires_at - created_at <= max_lifetime` ([`ListQuery::max_lifetime`], at most [`MAX_TTL`]),
//!   so a scan for sessions not yet expired, in `created_at` order, can stop at the first record
//!   created `max_lifetime` or longer before `now`; the sessions such a scan steps over are only
//!   those of that last lifetime.
//! * Every timestamp round-trips to the millisecond; every string round-trips byte for byte.
//! * Errors keep their source ([`StoreError`]'s variants carry it) and never contain a secret: a
//!   record's hashes are not secrets, but the tokens they come from never reach a store at all.

use std::time::Duration;

use async_trait::async_trait;

use crate::id::{CustomerId, OrgId, SessionId};
use crate::record::{SessionRecord, Status};
use crate::timestamp::Timestamp;

/// The longest lifetime a session may have: 24 hours. Stores may rely on it (see [`SessionStore::list`]).
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A boxed error, the source type that [`StoreError`] keeps.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which sessions a [`ListQuery`] returns.
///
/// Each filter is a predicate on a record's own fields (and `now`, for those that depend on
/// expiry), so every store decides it the same way: [`ListQuery::matches`] is the reference. A
/// variant that carries `now` names sessions that are not yet expired at it, or already are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    /// Every session, whatever its status.
    All,
    /// Sessions whose link can still be opened at the given instant ([`Status::Issued`]): not used,
    /// not revoked, and `expires_at` after it.
    OpenAt(Timestamp),
    /// Sessions whose link was used and whose portal is still open at the given instant
    /// ([`Status::Active`]): used, not revoked, and `expires_at` after it.
    ActiveAt(Timestamp),
    /// Sessions that still grant something at the given instant ([`Status::Issued`] or
    /// [`Status::Active`]): not revoked, and `expires_at` after it. What a customer-wide
    /// revocation walks: a session's `used_at` may change while the walk runs, its revocation is
    /// the walk's own doing.
    LiveAt(Timestamp),
    /// Sessions expired at the given instant without having been revoked ([`Status::Expired`]):
    /// not revoked, and `expires_at` at or before it.
    ExpiredAt(Timestamp),
    /// Sessions whose link was used, whatever happened since (`used_at` set).
    Used,
    /// Revoked sessions (`revoked_at` set).
    Revoked,
}

impl ListFilter {
    /// Whether `record` passes this filter.
    pub fn matches(&self, record: &SessionRecord) -> bool {
        match *self {
            ListFilter::All => true,
            ListFilter::OpenAt(now) => record.status(now) == Status::Issued,
            ListFilter::ActiveAt(now) => record.status(now) == Status::Active,
            ListFilter::LiveAt(now) => record.is_live(now),
            ListFilter::ExpiredAt(now) => record.status(now) == Status::Expired,
            ListFilter::Used => record.used_at.is_some(),
            ListFilter::Revoked => record.revoked_at.is_some(),
        }
    }

    /// The instant a filter that depends on expiry decides at; `None` for the others.
    pub fn now(&self) -> Option<Timestamp> {
        match *self {
            ListFilter::OpenAt(now)
            | ListFilter::ActiveAt(now)
            | ListFilter::LiveAt(now)
            | ListFilter::ExpiredAt(now) => Some(now),
            ListFilter::All | ListFilter::Used | ListFilter::Revoked => None,
        }
    }
}

/// A place in list order: a list that starts after it returns only sessions that come after it,
/// newest first (created earlier, or at the same millisecond with a smaller id).
///
/// It is the position of a session, not the session: a cursor stays valid while the session it
/// came from is redeemed, revoked, or filtered out of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListPosition {
    /// The `created_at` of the session the position is taken from.
    pub created_at: Timestamp,
    /// Its id.
    pub id: SessionId,
}

impl ListPosition {
    /// The position of `record`.
    pub fn of(record: &SessionRecord) -> ListPosition {
        ListPosition {
            created_at: record.created_at,
            id: record.id,
        }
    }

    /// Whether `record` comes after this position in list order.
    pub fn precedes(&self, record: &SessionRecord) -> bool {
        (record.created_at, record.id) < (self.created_at, self.id)
    }
}

/// What [`SessionStore::list`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this organisation's sessions, always.
    pub org_id: OrgId,
    /// Only this customer's sessions, when set.
    pub customer_id: Option<CustomerId>,
    /// At most this many records.
    pub limit: usize,
    /// Which sessions, by status.
    pub filter: ListFilter,
    /// Only sessions after this position in list order, when set: the next page of a list whose
    /// last item was there.
    pub after: Option<ListPosition>,
    /// The longest lifetime any listed session can have (at most [`MAX_TTL`]): a scan for sessions
    /// that are not yet expired ([`ListFilter::OpenAt`], [`ListFilter::ActiveAt`],
    /// [`ListFilter::LiveAt`]) stops at the
    /// first session created this long before `now`, since none older can still be open. The
    /// engine passes [`MAX_TTL`], because engines that share a store may be configured with
    /// different lifetimes; a store that knows the longest lifetime it holds bounds its walk by
    /// that (the memory and sled stores' in-memory index does). A caller that knows every session's
    /// lifetime may pass less.
    pub max_lifetime: Duration,
}

impl ListQuery {
    /// Whether `record` belongs in this query's result (ignoring order and limit).
    ///
    /// Stores can use it as the final filter after an index scan; the conformance suite uses it as
    /// the reference.
    pub fn matches(&self, record: &SessionRecord) -> bool {
        record.org_id == self.org_id
            && self.customer_id.is_none_or(|id| record.customer.id == id)
            && self.after.is_none_or(|after| after.precedes(record))
            && self.filter.matches(record)
    }
}

/// The sort key of [`SessionStore::list`]: sort ascending by this key to get newest first.
///
/// # Examples
///
/// ```
/// # use portal_sessions::{list_order_key, SessionRecord};
/// # fn sort(records: &mut Vec<SessionRecord>) {
/// records.sort_by_key(list_order_key);
/// # }
/// ```
pub fn list_order_key(
    record: &SessionRecord,
) -> (std::cmp::Reverse<Timestamp>, std::cmp::Reverse<SessionId>) {
    (
        std::cmp::Reverse(record.created_at),
        std::cmp::Reverse(record.id),
    )
}

/// The outcome of [`SessionStore::compare_and_swap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum CasOutcome {
    /// The stored version was the expected one; the new record is stored.
    Swapped,
    /// The stored version was different, or the record is gone; nothing changed.
    Conflict,
}

/// Why a store operation failed.
///
/// Messages are fixed sentences; details live in the source error, which backends keep. No variant
/// ever carries a token or secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `insert` found a record with the same id already stored; nothing changed.
    #[error("a session with this id is already stored")]
    Duplicate,
    /// A stored record could not be decoded.
    #[error("stored session data is corrupt: {reason}")]
    Corrupt {
        /// What was wrong, without the data itself.
        reason: String,
        /// The decoder's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The backend could not be reached (connection refused, pool exhausted, database closed).
    #[error("the session store is unavailable")]
    Unavailable(#[source] BoxError),
    /// The operation did not finish within the store's configured time limit. It may or may not
    /// have taken effect.
    #[error("the session store did not answer in time")]
    Timeout,
    /// The store's configuration is unusable (bad path, bad schema name, locked database).
    #[error("invalid session store configuration: {reason}")]
    Config {
        /// What is wrong with it.
        reason: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// Any other backend failure.
    #[error("the session store failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// A [`StoreError::Corrupt`] with the given reason and source.
    pub fn corrupt(reason: impl Into<String>, source: Option<BoxError>) -> StoreError {
        StoreError::Corrupt {
            reason: reason.into(),
            source,
        }
    }

    /// A [`StoreError::Config`] with the given reason and source.
    pub fn config(reason: impl Into<String>, source: Option<BoxError>) -> StoreError {
        StoreError::Config {
            reason: reason.into(),
            source,
        }
    }
}

/// What a read shows of writes whose durable step has not finished, as a store declares it
/// ([`SessionStore::write_visibility`]).
///
/// A write whose reply was lost (a connection that died between the commit and its answer) may
/// still have happened. Where a read only ever shows durable writes, the engine settles such a write
/// by reading the record back and answers with the success that happened. Where a read can show a
/// write that is not yet durable (a store that applies it in memory, then flushes), the same
/// read-back would acknowledge a write the disk never got, so the engine reports the failure
/// instead, and the store fails closed (see [`StoreError::Unavailable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteVisibility {
    /// A read shows a write only once it is as durable as the store makes anything: a committed
    /// PostgreSQL row, or a store that keeps nothing on disk. A lost reply is settled by reading back.
    DurableOnly,
    /// A read may show a write before its durable step finished (sled applies a write in memory,
    /// then flushes). A failed write is reported, never settled by reading back.
    BeforeDurable,
}

/// A one-shot fault for tests: the next durable step of a store that honours it (a flush, say)
/// fails after the write was applied, as a full disk or an I/O error would make it fail.
///
/// Clones share one trigger. Stores take it from their configuration and call
/// [`take`](Self::take) at their durable step; the conformance suite's
/// `failed_durable_steps_are_never_acknowledged` arms it and checks that such a write is neither
/// acknowledged nor announced, and that the store then fails closed.
#[derive(Debug, Clone, Default)]
pub struct DurableStepFault(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl DurableStepFault {
    /// A fault, not armed.
    pub fn new() -> DurableStepFault {
        DurableStepFault::default()
    }

    /// Makes the next durable step fail.
    pub fn arm(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether this durable step must fail; disarms the fault.
    pub fn take(&self) -> bool {
        self.0.swap(false, std::sync::atomic::Ordering::SeqCst)
    }
}

/// Where sessions live: a small async trait of atomic primitives.
///
/// See the [module documentation](self) for the contract every implementation keeps.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores `record` if no record with its id exists.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] when the id is taken (the stored record is unchanged); a backend
    /// error otherwise.
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError>;

    /// The record with this id, or `None`.
    ///
    /// # Errors
    ///
    /// A backend error, or [`StoreError::Corrupt`] when the stored bytes cannot be decoded.
    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError>;

    /// At most `query.limit` records of one organisation, newest first (see [`list_order_key`]).
    ///
    /// # Errors
    ///
    /// A backend error.
    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError>;

    /// Replaces the stored record with `next` if, and only if, its version is `expected_version`.
    ///
    /// `next` has the same id, and differs only in the fields that
    /// [`SessionRecord::apply`](crate::SessionRecord::apply) changes.
    ///
    /// # Errors
    ///
    /// A backend error. A lost race is not an error: it is [`CasOutcome::Conflict`].
    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError>;

    /// Deletes every record whose `expires_at` is at or before `before`; returns how many.
    ///
    /// # Errors
    ///
    /// A backend error; records already deleted stay deleted.
    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// The clock that decides expiry for this store's sessions, when the store has one of its own:
    /// a database shared by several processes, whose instances must agree on `now` although their
    /// own clocks drift. `None` (the default) leaves it to the engine's clock.
    ///
    /// [`Engine::new`](crate::Engine::new) reads it once; [`Engine::with_clock`](crate::Engine::with_clock)
    /// still overrides it (tests).
    fn clock(&self) -> Option<std::sync::Arc<dyn crate::Clock>> {
        None
    }

    /// Whether a successful read proves that a write it shows is durable: what the engine may
    /// conclude from reading back after a write failed.
    ///
    /// Required, so that a store (and every wrapper around one) says which it is: a wrong answer
    /// acknowledges writes that a crash then loses. See [`WriteVisibility`].
    fn write_visibility(&self) -> WriteVisibility;

    /// Whether the store can take writes now; the question a health check asks.
    ///
    /// It checks what writing needs (a connection that can write, free space under the store's
    /// floor, no earlier I/O error that left the store failed closed), not only that a read
    /// answers.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] (or [`StoreError::Timeout`]) when a write would be refused now.
    async fn check_writable(&self) -> Result<(), StoreError>;

    /// The store's durable event feed ([`EventFeed`](crate::EventFeed)), when it keeps one:
    /// `Some(self)` in a store that implements it. `None` (the default) means events are only
    /// seen in process, by an [`EventListener`](crate::EventListener).
    fn event_feed(&self) -> Option<&dyn crate::EventFeed> {
        None
    }
}

macro_rules! forward_store {
    ($($pointer:ty),*) => {$(
        #[async_trait]
        impl<T: SessionStore + ?Sized> SessionStore for $pointer {
            async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
                (**self).insert(record).await
            }
            async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
                (**self).get(id).await
            }
            async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
                (**self).list(query).await
            }
            async fn compare_and_swap(
                &self,
                expected_version: u64,
                next: &SessionRecord,
            ) -> Result<CasOutcome, StoreError> {
                (**self).compare_and_swap(expected_version, next).await
            }
            async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
                (**self).purge_expired(before).await
            }
            fn clock(&self) -> Option<std::sync::Arc<dyn crate::Clock>> {
                (**self).clock()
            }
            fn write_visibility(&self) -> WriteVisibility {
                (**self).write_visibility()
            }
            async fn check_writable(&self) -> Result<(), StoreError> {
                (**self).check_writable().await
            }
            fn event_feed(&self) -> Option<&dyn crate::EventFeed> {
                (**self).event_feed()
            }
        }
    )*};
}

forward_store!(std::sync::Arc<T>, Box<T>);
