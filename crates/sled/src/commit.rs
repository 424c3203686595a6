//! Group commit: many writers, one flush.
//!
//! A write is acknowledged only once it is durable. Flushing once per write would make throughput one
//! fsync per operation; instead each writer takes a sequence number after its transaction commits and
//! waits until a flush that *started after* that commit has finished. One writer at a time leads: it
//! notes the newest sequence number, flushes, steps down, and publishes that number; every writer
//! whose commit it covers returns without flushing itself, and one that it does not cover takes the
//! lead next. Under load, a single fsync acknowledges a whole batch.
//!
//! The invariant that keeps every writer moving: a writer waits for a publication only after failing
//! to take the lead, and every leader publishes after stepping down, so whoever held the lead when a
//! writer failed to take it will wake that writer.
//!
//! A failed flush fails the store closed (see the `health` module) *before* its leader steps down:
//! every writer it did not cover then finds the store failed when it looks again, and none of them
//! flushes again and acknowledges a write that may sit behind what the failed flush lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use portal_sessions::StoreError;
use tokio::sync::{Mutex, watch};

use crate::health::{Health, WriteRefused};

pub(crate) struct GroupCommit {
    db: sled::Db,
    health: Arc<Health>,
    committed: AtomicU64,
    leader: Mutex<()>,
    flushed: watch::Sender<u64>,
}

impl GroupCommit {
    pub(crate) fn new(db: sled::Db, health: Arc<Health>) -> GroupCommit {
        GroupCommit {
            db,
            health,
            committed: AtomicU64::new(0),
            leader: Mutex::new(()),
            flushed: watch::Sender::new(0),
        }
    }

    /// Records that a transaction has committed; returns the number to wait for.
    pub(crate) fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once a flush covering commit `sequence` has finished.
    pub(crate) async fn wait_durable(self: &Arc<Self>, sequence: u64) -> Result<(), StoreError> {
        let mut flushed = self.flushed.subscribe();
        loop {
            if *flushed.borrow_and_update() >= sequence {
                return Ok(());
            }
            if let Ok(leading) = self.leader.try_lock() {
                if *self.flushed.borrow() >= sequence {
                    return Ok(());
                }
                if self.health.has_failed() {
                    return Err(WriteRefused::FailedClosed.into());
                }
                // Everything committed up to here is covered by the flush that starts now.
                let covered = self.committed.load(Ordering::SeqCst);
                let outcome = if self.health.injected_fault() {
                    Err(self.health.fail(WriteRefused::InjectedFault).into())
                } else {
                    let db = self.db.clone();
                    match tokio::task::spawn_blocking(move || db.flush()).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(error)) => {
                            Err(self.health.fail(WriteRefused::NotDurable(error)).into())
                        }
                        Err(error) => Err(StoreError::Backend(Box::new(error))),
                    }
                };
                // Release the lead *before* publishing. A waiter that wakes on the publication and
                // still needs a flush must be able to take the lead: were the lock still held, its
                // `try_lock` would fail and it would wait for a publication that never comes.
                drop(leading);
                // Wake the waiters either way: on failure they find the store failed closed.
                self.flushed.send_modify(|flushed| {
                    if outcome.is_ok() {
                        *flushed = (*flushed).max(covered);
                    }
                });
                return outcome;
            }
            // Someone else is flushing; wait for them to publish, then look again (their flush may
            // have started before this commit).
            if flushed.changed().await.is_err() {
                return Err(StoreError::Backend("the group commit was shut down".into()));
            }
        }
    }
}
