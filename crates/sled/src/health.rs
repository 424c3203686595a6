//! Whether the store may take a write: the free-space floor, and failing closed after an I/O error.
//!
//! sled applies a write in memory, then makes it durable with a flush. When the flush fails (a full
//! disk, an I/O error), the write is visible to reads but may never reach the disk, and what sled's
//! log holds after the failure is not something to build on: a later flush that succeeds may sit
//! behind a hole that recovery stops at. PostgreSQL, after a failed fsync, stops rather than guess;
//! so does this store. The first failed durable step (or any I/O error from a write) marks the store
//! **failed closed**: every later write, and every read (sled's memory may hold writes the disk
//! never got), is refused with [`StoreError::Unavailable`], and
//! [`check_writable`](portal_sessions::SessionStore::check_writable) reports it, until the process
//! opens the store again from what is on disk. Nothing written after the failure is acknowledged,
//! so a write answered with an error is then definitely not applied or harmlessly applied, never
//! half-trusted.
//!
//! Failing closed is the last line. The first is never to let the log meet a full disk: before
//! each write the store reads the free space of its file system (`statvfs`) and refuses the write
//! while it is under [`SledConfig::min_free_bytes`](crate::SledConfig::min_free_bytes), whoever
//! filled it (the store's own writes, or another process). Those refusals are not failures: the
//! store took no write, and writes resume by themselves once space is back.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use portal_sessions::{DurableStepFault, StoreError};

/// Why a write was refused, the source of the [`StoreError::Unavailable`] a refused write returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteRefused {
    /// The file system under the store has less free space than the configured floor.
    #[error("the store's file system has {free} bytes free, under the floor of {floor} bytes")]
    BelowFloor {
        /// Bytes available to the store's process.
        free: u64,
        /// [`SledConfig::min_free_bytes`](crate::SledConfig::min_free_bytes).
        floor: u64,
    },
    /// The free space could not be read.
    #[error("the free space of the store's file system cannot be read")]
    FreeSpaceUnknown(#[source] std::io::Error),
    /// An earlier write met an I/O error: the store refuses writes until it is opened again.
    #[error("the store met an I/O error and refuses writes until it is opened again from disk")]
    FailedClosed,
    /// This write's durable step (sled's flush) failed; the store is now failed closed.
    #[error("the write could not be made durable")]
    NotDurable(#[source] sled::Error),
    /// A write met an I/O error; the store is now failed closed.
    #[error("the write failed")]
    WriteFailed(#[source] sled::Error),
    /// A test armed a [`DurableStepFault`]; the store is now failed closed as for a real failure.
    #[error("the durable step failed (an injected fault)")]
    InjectedFault,
}

impl From<WriteRefused> for StoreError {
    fn from(refused: WriteRefused) -> StoreError {
        StoreError::Unavailable(Box::new(refused))
    }
}

/// The store's health: its floor, and whether it has failed closed.
#[derive(Debug)]
pub(crate) struct Health {
    path: PathBuf,
    min_free_bytes: u64,
    failed: AtomicBool,
    fault: Option<DurableStepFault>,
}

impl Health {
    pub(crate) fn new(
        path: PathBuf,
        min_free_bytes: u64,
        fault: Option<DurableStepFault>,
    ) -> Health {
        Health {
            path,
            min_free_bytes,
            failed: AtomicBool::new(false),
            fault,
        }
    }

    /// Whether a write may start now: the store has not failed closed, and its file system has
    /// at least the floor free.
    pub(crate) fn check(&self) -> Result<(), WriteRefused> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(WriteRefused::FailedClosed);
        }
        if self.min_free_bytes == 0 {
            return Ok(());
        }
        let stats = rustix::fs::statvfs(&self.path)
            .map_err(|errno| WriteRefused::FreeSpaceUnknown(errno.into()))?;
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        if free < self.min_free_bytes {
            return Err(WriteRefused::BelowFloor {
                free,
                floor: self.min_free_bytes,
            });
        }
        Ok(())
    }

    /// Whether the store has failed closed.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Marks the store failed closed because of `refused`, and returns it.
    pub(crate) fn fail(&self, refused: WriteRefused) -> WriteRefused {
        if !self.failed.swap(true, Ordering::SeqCst) {
            tracing::error!(
                error = %portal_sessions::ErrorChain(&refused),
                "the session store failed closed: it refuses writes until the process opens it again"
            );
        }
        refused
    }

    /// Marks the store failed closed after a write's own sled error, and returns the error.
    pub(crate) fn write_failed(&self, error: sled::Error) -> StoreError {
        self.fail(WriteRefused::WriteFailed(error)).into()
    }

    /// Whether an armed [`DurableStepFault`] makes this durable step fail.
    pub(crate) fn injected_fault(&self) -> bool {
        self.fault.as_ref().is_some_and(DurableStepFault::take)
    }
}
