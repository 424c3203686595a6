//! How a store is opened: its path, when writes are acknowledged, sled's cache.

use std::path::PathBuf;
use std::time::Duration;

use portal_sessions::DurableStepFault;

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Once it is on disk. Concurrent writers share flushes. The default.
    Flush,
    /// Once it is committed in memory; sled flushes every `flush_every` in the background. A crash
    /// loses up to that much of the most recent writes (see the [crate documentation](crate)).
    Relaxed {
        /// How often sled flushes in the background.
        flush_every: Duration,
    },
}

/// How to open a [`SledStore`](crate::SledStore).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions_sled::{Durability, SledConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let store = SledConfig::new(dir.path().join("sessions"))
///     .durability(Durability::Relaxed { flush_every: Duration::from_millis(100) })
///     .cache_capacity(64 << 20)
///     .open()?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SledConfig {
    pub(crate) path: PathBuf,
    pub(crate) durability: Durability,
    pub(crate) cache_capacity: u64,
    pub(crate) min_free_bytes: u64,
    pub(crate) reserve_bytes: u64,
    pub(crate) durable_step_fault: Option<DurableStepFault>,
}

impl SledConfig {
    /// sled's page cache size unless [`cache_capacity`](Self::cache_capacity) says otherwise:
    /// 128 MiB.
    pub const DEFAULT_CACHE_CAPACITY: u64 = 128 << 20;

    /// The free-space floor unless [`min_free_bytes`](Self::min_free_bytes) says otherwise: 64 MiB.
    pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 << 20;

    /// The disk space reserve unless [`reserve_bytes`](Self::reserve_bytes) says otherwise:
    /// 8 MiB.
    pub const DEFAULT_RESERVE_BYTES: u64 = 8 << 20;

    /// Durable writes, a [`DEFAULT_CACHE_CAPACITY`](Self::DEFAULT_CACHE_CAPACITY) page cache, at
    /// `path` (a directory, created if missing).
    pub fn new(path: impl Into<PathBuf>) -> SledConfig {
        SledConfig {
            path: path.into(),
            durability: Durability::Flush,
            cache_capacity: SledConfig::DEFAULT_CACHE_CAPACITY,
            min_free_bytes: SledConfig::DEFAULT_MIN_FREE_BYTES,
            reserve_bytes: SledConfig::DEFAULT_RESERVE_BYTES,
            durable_step_fault: None,
        }
    }

    /// When writes are acknowledged.
    pub fn durability(mut self, durability: Durability) -> SledConfig {
        self.durability = durability;
        self
    }

    /// sled's page cache size in bytes.
    pub fn cache_capacity(mut self, bytes: u64) -> SledConfig {
        self.cache_capacity = bytes;
        self
    }

    /// The free-space floor: writes are refused ([`StoreError::Unavailable`], retried once space
    /// is back) while the store's file system has fewer bytes than this available, so that sled's
    /// log never meets a full disk, whoever fills it. 0 turns the check off. See the crate's
    /// "Full disks and I/O errors".
    ///
    /// [`StoreError::Unavailable`]: portal_sessions::StoreError::Unavailable
    pub fn min_free_bytes(mut self, bytes: u64) -> SledConfig {
        self.min_free_bytes = bytes;
        self
    }

    /// The disk space kept in reserve beside the database and released just before it opens, so
    /// that it opens on a file system that another process filled; 0 keeps none. See the
    /// `reserve` notes in the crate's "Full disks and I/O errors".
    pub fn reserve_bytes(mut self, bytes: u64) -> SledConfig {
        self.reserve_bytes = bytes;
        self
    }

    /// A fault for tests: when armed, the next flush fails after its writes were applied in
    /// memory, as a full disk would make it fail, and the store fails closed. The conformance
    /// suite uses it to check that such a write is never acknowledged.
    pub fn durable_step_fault(mut self, fault: DurableStepFault) -> SledConfig {
        self.durable_step_fault = Some(fault);
        self
    }
}
