//! Opening a store: the path's checks, sled's lock, the layout marker and its upgrade, and the
//! rebuild of the in-memory indexes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portal_sessions::StoreError;
use portal_sessions_index::SessionIndex;

use crate::codec;
use crate::commit::GroupCommit;
use crate::compaction::recover_interrupted_compaction;
use crate::store::{Inner, SledStore, backend};

/// The key in sled's default tree that marks a database as this crate's, with its layout.
pub(crate) const MARKER_KEY: &[u8] = b"portal-sessions/format";
/// The layout written today: one tree, `records`, one key per session (see the crate docs).
pub(crate) const LAYOUT: u8 = 2;
/// The layout before: `records` and five index trees, changed together in transactions.
const LAYOUT_WITH_INDEX_TREES: u8 = 1;
/// The tree of records, in every layout.
pub(crate) const RECORDS: &str = "records";
/// The index trees of layout 1, dropped by the upgrade.
const OLD_INDEX_TREES: [&str; 5] = [
    "by_org",
    "by_customer",
    "open_by_org",
    "open_by_customer",
    "by_expiry",
];

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

/// How to open a [`SledStore`].
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
    path: PathBuf,
    durability: Durability,
    cache_capacity: u64,
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

    /// Opens (or creates) the store, and rebuilds its indexes from the records: time and memory in
    /// proportion to the sessions stored (see the crate's "Opening"). This does blocking file I/O:
    /// call it before starting to serve, or inside `spawn_blocking`.
    ///
    /// A database of the previous layout (index trees beside the records) is converted in place
    /// first; see the crate's "Upgrading".
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] when the path is not a directory, is a non-empty directory that is not a
    /// sled database, is a sled database of another application or format, or is held by another
    /// process; [`StoreError::Corrupt`] when sled finds the database damaged.
    pub fn open(self) -> Result<SledStore, StoreError> {
        let shown = self.path.display().to_string();
        recover_interrupted_compaction(&self.path)?;
        check_path(&self.path)?;
        let flush_every = match self.durability {
            Durability::Flush => None,
            Durability::Relaxed { flush_every } => Some(
                u64::try_from(flush_every.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            ),
        };
        let config = sled::Config::new()
            .path(&self.path)
            .cache_capacity(self.cache_capacity)
            .flush_every_ms(flush_every);
        let db = open_waiting_for_lock(&shown, || config.open())?;
        check_marker(&db, &shown)?;
        let records = db.open_tree(RECORDS).map_err(backend)?;
        db.flush().map_err(backend)?;
        let started = Instant::now();
        let index = SessionIndex::new();
        let mut sessions = 0u64;
        let mut undecodable = 0u64;
        // Streaming: one record at a time goes from sled's iterator into the index.
        for entry in records.iter() {
            let (_, value) = entry.map_err(backend)?;
            match codec::decode(&value) {
                Ok(record) => {
                    index.insert(&record);
                    sessions += 1;
                }
                Err(_) => undecodable += 1,
            }
        }
        if undecodable > 0 {
            tracing::error!(
                path = %shown,
                undecodable,
                "records that cannot be decoded are left out of the indexes; reading one is a corrupt-data error"
            );
        }
        tracing::debug!(
            path = %shown,
            sessions,
            millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            durability = ?self.durability,
            "sled session store opened"
        );
        Ok(SledStore::from_inner(Inner {
            commit: Arc::new(GroupCommit::new(db.clone())),
            db,
            records,
            index,
            durability: self.durability,
        }))
    }
}

pub(crate) fn check_path(path: &Path) -> Result<(), StoreError> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => Err(StoreError::config(
            format!("{shown} exists and is not a directory, so it cannot be a sled database"),
            None,
        )),
        Ok(_) => {
            let entries = std::fs::read_dir(path).map_err(|error| {
                StoreError::config(format!("cannot read {shown}"), Some(Box::new(error)))
            })?;
            let names: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name())
                .collect();
            let is_sled =
                names.iter().any(|name| name == "conf") && names.iter().any(|name| name == "db");
            if !names.is_empty() && !is_sled {
                return Err(StoreError::config(
                    format!("{shown} is a non-empty directory that is not a sled database"),
                    None,
                ));
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(StoreError::config(
            format!("cannot inspect {shown}"),
            Some(Box::new(error)),
        )),
    }
}

fn is_lock_conflict(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io)
        if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock"))
}

/// Opens with `open`, waiting up to half a second while the database's lock is held.
///
/// sled's background I/O threads can keep a database (and its file lock) alive for a few
/// milliseconds after its last handle is dropped, so a close-and-reopen in one process would
/// otherwise fail at random. A lock held by another process is still reported, half a second later.
pub(crate) fn open_waiting_for_lock(
    shown: &str,
    open: impl Fn() -> sled::Result<sled::Db>,
) -> Result<sled::Db, StoreError> {
    let mut waited = Duration::ZERO;
    loop {
        match open() {
            Ok(db) => return Ok(db),
            Err(error) if is_lock_conflict(&error) && waited < Duration::from_millis(500) => {
                std::thread::sleep(Duration::from_millis(10));
                waited += Duration::from_millis(10);
            }
            Err(error) => return Err(open_error(shown, error)),
        }
    }
}

fn open_error(shown: &str, error: sled::Error) -> StoreError {
    match error {
        error if is_lock_conflict(&error) => StoreError::config(
            format!("{shown} is in use by another process (sled holds an exclusive lock on it)"),
            Some(Box::new(error)),
        ),
        error @ sled::Error::Corruption { .. } => StoreError::corrupt(
            format!("the sled database at {shown} is corrupt"),
            Some(Box::new(error)),
        ),
        error => StoreError::config(
            format!("cannot open a sled database at {shown}"),
            Some(Box::new(error)),
        ),
    }
}

/// Refuses databases of other applications and layouts; marks new ones as ours; converts the
/// previous layout in place.
pub(crate) fn check_marker(db: &sled::Db, shown: &str) -> Result<(), StoreError> {
    match db.get(MARKER_KEY).map_err(backend)? {
        Some(layout) if layout.as_ref() == [LAYOUT] => Ok(()),
        Some(layout) if layout.as_ref() == [LAYOUT_WITH_INDEX_TREES] => upgrade(db, shown),
        Some(_) => Err(StoreError::config(
            format!("{shown} was written by an unknown version of portal-sessions-sled"),
            None,
        )),
        None => {
            let foreign = db.tree_names().into_iter().any(|name| {
                name.as_ref() != b"__sled__default"
                    && name.as_ref() != RECORDS.as_bytes()
                    && !OLD_INDEX_TREES
                        .iter()
                        .any(|old| name.as_ref() == old.as_bytes())
            });
            if foreign || !db.is_empty() {
                return Err(StoreError::config(
                    format!("{shown} is a sled database of another application"),
                    None,
                ));
            }
            db.insert(MARKER_KEY, &[LAYOUT]).map_err(backend)?;
            Ok(())
        }
    }
}

/// Converts a layout-1 database in place: its records stay where they are, in the same encoding,
/// and its index trees are dropped (the indexes now live in memory). Crash-safe: the records are
/// never touched, each tree's drop is atomic, dropping an already dropped tree does nothing, and
/// the marker says layout 2 only once every index tree is gone and flushed. A kill anywhere leaves
/// a database that opens (as layout 1, and the conversion resumes) and holds every record.
fn upgrade(db: &sled::Db, shown: &str) -> Result<(), StoreError> {
    let started = Instant::now();
    for name in OLD_INDEX_TREES {
        db.drop_tree(name).map_err(backend)?;
    }
    db.flush().map_err(backend)?;
    db.insert(MARKER_KEY, &[LAYOUT]).map_err(backend)?;
    db.flush().map_err(backend)?;
    tracing::info!(
        path = %shown,
        millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "converted the sled session store to layout 2 (records only; indexes in memory)"
    );
    Ok(())
}
