//! The store: one key per session in sled, the indexes in memory.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use portal_sessions::{
    CasOutcome, ListQuery, SessionId, SessionRecord, SessionStore, StoreError, Timestamp,
};
use portal_sessions_index::{EventQueue, SessionIndex};

use crate::codec::{self, DecodeError};
use crate::commit::GroupCommit;
use crate::config::{Durability, SledConfig};
use crate::health::{Health, WriteRefused};

pub(crate) struct Inner {
    pub(crate) db: sled::Db,
    pub(crate) records: sled::Tree,
    /// What was delivered of each session's events (see the `feed` module).
    pub(crate) events: sled::Tree,
    pub(crate) index: SessionIndex,
    pub(crate) queue: EventQueue,
    pub(crate) commit: Arc<GroupCommit>,
    pub(crate) durability: Durability,
    /// The free-space floor and the failed-closed state (see the `health` module).
    pub(crate) health: Arc<Health>,
}

/// A durable [`SessionStore`] on sled. Cheap to clone (clones share the database and the indexes).
///
/// See the [crate documentation](crate) for layout, durability and costs.
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("durability", &self.inner.durability)
            .field("sessions", &self.inner.index.len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn corrupt(error: DecodeError) -> StoreError {
    StoreError::corrupt(
        format!("undecodable session record ({error})"),
        Some(Box::new(error)),
    )
}

pub(crate) fn backend(error: sled::Error) -> StoreError {
    StoreError::Backend(Box::new(error))
}

impl SledStore {
    pub(crate) fn from_inner(inner: Inner) -> SledStore {
        SledStore {
            inner: Arc::new(inner),
        }
    }

    /// Opens (or creates) a durable store at `path`; see [`SledConfig`] for the options.
    ///
    /// # Errors
    ///
    /// As [`SledConfig::open`].
    pub fn open(path: impl Into<PathBuf>) -> Result<SledStore, StoreError> {
        SledConfig::new(path).open()
    }

    /// The bytes sled uses on disk.
    ///
    /// # Errors
    ///
    /// A backend error when sled cannot tell.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.inner.db.size_on_disk().map_err(backend)
    }

    /// How many sessions the store holds (as its indexes count them).
    pub fn len(&self) -> usize {
        self.inner.index.len()
    }

    /// Whether the store holds no session.
    pub fn is_empty(&self) -> bool {
        self.inner.index.is_empty()
    }

    /// Flushes everything to disk now (useful with [`Durability::Relaxed`] before shutting down).
    ///
    /// # Errors
    ///
    /// A backend error when the flush fails.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the flush fails (the store then fails closed) or the store
    /// already has.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let sequence = self.inner.commit.committed();
        self.inner.commit.wait_durable(sequence).await
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Waits for durability of a committed write, as the configuration asks.
    pub(crate) async fn acknowledge(&self) -> Result<(), StoreError> {
        match self.inner.durability {
            Durability::Flush => {
                let sequence = self.inner.commit.committed();
                self.inner.commit.wait_durable(sequence).await
            }
            Durability::Relaxed { .. } => Ok(()),
        }
    }

    /// The record as sled holds it; nothing once the store has failed closed, since sled's
    /// memory may then hold writes the disk never got.
    pub(crate) fn get_now(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        if self.inner.health.has_failed() {
            return Err(WriteRefused::FailedClosed.into());
        }
        match self.inner.records.get(id.as_bytes()).map_err(backend)? {
            Some(bytes) => codec::decode(&bytes).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    /// Deletes every record the index says expired at or before `before`. Expiry never changes,
    /// so the index's word is final; the deleted record only tells the index which list entries to
    /// drop. A delete that fails puts its session, and every one not yet tried, back for the next
    /// purge.
    fn purge_now(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut purged = 0;
        let mut expired = self.inner.index.take_expired(before).into_iter();
        while let Some((id, expires_at)) = expired.next() {
            let removed = match self.inner.records.remove(id.as_bytes()) {
                Ok(removed) => removed,
                Err(error) => {
                    self.inner.index.expire_again(id, expires_at);
                    for (id, expires_at) in expired {
                        self.inner.index.expire_again(id, expires_at);
                    }
                    return Err(self.inner.health.write_failed(error));
                }
            };
            let Some(bytes) = removed else {
                continue;
            };
            self.inner.queue.removed(&id);
            if let Err(error) = self.inner.events.remove(id.as_bytes()) {
                // The record is gone; a mark left behind only costs its bytes until compaction.
                tracing::warn!(session = %id, error = %error, "a purged session's delivery mark stayed");
            }
            match codec::decode(&bytes) {
                Ok(record) => self.inner.index.remove(&record),
                // Gone from disk all the same; its list entries stay in the index, where a list
                // finds no record behind them and skips them.
                Err(error) => tracing::error!(
                    session = %id,
                    error = %error,
                    "purged an undecodable record"
                ),
            }
            purged += 1;
        }
        Ok(purged)
    }
}

#[async_trait]
impl SessionStore for SledStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let encoded = codec::encode(record).map_err(corrupt)?;
        self.inner.health.check()?;
        let inserted = self
            .inner
            .records
            .compare_and_swap(
                record.id.as_bytes(),
                None as Option<&[u8]>,
                Some(encoded.as_slice()),
            )
            .map_err(|error| self.inner.health.write_failed(error))?;
        if inserted.is_err() {
            return Err(StoreError::Duplicate);
        }
        self.inner.index.insert(record);
        // Queued for delivery only once durable, so that no event announces a write a crash could
        // still lose. A write whose flush failed is announced only if it is found on disk when the
        // store is opened again (the feed is rebuilt from the records then).
        self.acknowledge().await?;
        self.inner.queue.changed(record);
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.get_now(id)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        // The walk is over the in-memory index and stops at the query's lifetime; each listed
        // session is one point read.
        self.inner.index.list(query, |id| self.get_now(id))
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError> {
        let key = next.id.as_bytes();
        let Some(current) = self.inner.records.get(key).map_err(backend)? else {
            return Ok(CasOutcome::Conflict);
        };
        let stored = codec::decode(&current).map_err(corrupt)?;
        if stored.version != expected_version {
            return Ok(CasOutcome::Conflict);
        }
        let encoded = codec::encode(next).map_err(corrupt)?;
        self.inner.health.check()?;
        // sled's own single-key compare-and-swap, on the exact bytes read: a writer that changed
        // the record in between makes this one lose, and the engine re-reads.
        let swapped = self
            .inner
            .records
            .compare_and_swap(key, Some(current), Some(encoded.as_slice()))
            .map_err(|error| self.inner.health.write_failed(error))?;
        if swapped.is_err() {
            return Ok(CasOutcome::Conflict);
        }
        self.inner.index.update(&stored, next);
        // As for an insert: announced only once durable.
        self.acknowledge().await?;
        self.inner.queue.changed(next);
        Ok(CasOutcome::Swapped)
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.inner.health.check()?;
        let store = self.clone();
        let purged = tokio::task::spawn_blocking(move || store.purge_now(before))
            .await
            .map_err(|error| StoreError::Backend(Box::new(error)))??;
        if purged > 0 {
            self.acknowledge().await?;
        }
        Ok(purged)
    }

    fn event_feed(&self) -> Option<&dyn portal_sessions::EventFeed> {
        Some(self)
    }

    /// sled applies a write in memory before its flush: a read can show a write the disk never
    /// got, so a failed write is reported, never settled by reading back.
    fn write_visibility(&self) -> portal_sessions::WriteVisibility {
        portal_sessions::WriteVisibility::BeforeDurable
    }

    /// Not failed closed, and the file system above the free-space floor.
    async fn check_writable(&self) -> Result<(), StoreError> {
        Ok(self.inner.health.check()?)
    }
}
