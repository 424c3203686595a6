//! How a store is opened: its path, when writes are acknowledged, sled's cache.

use std::path::PathBuf;
use std::time::Duration;

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
}

impl SledConfig {
    /// sled's page cache size unless [`cache_capacity`](Self::cache_capacity) says otherwise:
    /// 128 MiB.
    pub const DEFAULT_CACHE_CAPACITY: u64 = 128 << 20;

    /// Durable writes, a [`DEFAULT_CACHE_CAPACITY`](Self::DEFAULT_CACHE_CAPACITY) page cache, at
    /// `path` (a directory, created if missing).
    pub fn new(path: impl Into<PathBuf>) -> SledConfig {
        SledConfig {
            path: path.into(),
            durability: Durability::Flush,
            cache_capacity: SledConfig::DEFAULT_CACHE_CAPACITY,
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
}
