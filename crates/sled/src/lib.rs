//! A durable, embedded [`SessionStore`] on [sled] 0.34: the default store of the portal-sessions
//! server, for one process on one machine.
//!
//! # Layout
//!
//! One tree holds the records, and one tree per index (organisation newest-first, organisation and
//! customer newest-first, the open links of each, and expiry). Every change writes the record and its
//! index entries in **one sled transaction**, so an index never points at nothing and no record is
//! missing from an index. Records are encoded compactly with a format byte ([`codec`]); a corrupt value
//! or an unknown format is a [`StoreError::Corrupt`], never a panic. The key layout is in the `keys`
//! module's documentation.
//!
//! # Durability
//!
//! By default ([`Durability::Flush`]) `insert`, `compare_and_swap` and `purge_expired` return only after
//! their write is on disk (sled's `flush`, which fsyncs). Concurrent writers share a flush (group
//! commit): each waits for the first flush that started after its own commit, so under load one
//! fsync acknowledges many writes. [`Durability::Relaxed`] acknowledges writes once committed in
//! memory and lets sled flush in the background every few milliseconds: much faster, and a crash (a
//! kill, a power cut) can lose the writes of that window: a minted link that never reaches disk is
//! harmless, but a redeem or revoke lost that way makes a used or revoked link openable again. Keep
//! the default unless losing that is acceptable.
//!
//! # Costs
//!
//! `get` and `compare_and_swap` are one B-tree lookup; `list` is a prefix scan of an index, O(limit)
//! for all sessions, and for open-only lists O(limit + links that expired unopened in the last 24
//! hours) since it stops at [`MAX_TTL`]; `purge_expired` walks the expiry index up to its cut-off.
//!
//! # Disk
//!
//! Measured with `cargo run --release -p portal-sessions-sled --example disk_usage` (10^5 sessions
//! with short names, created with durable writes from 64 tasks, on ext4):
//!
//! | state | bytes on disk | per session |
//! |---|---|---|
//! | empty | 8 KiB | |
//! | 10^5 live | 310 MB | 3.1 KB |
//! | 10^5 live, compacted | 177 MB | 1.8 KB |
//! | all purged | 210 MB | |
//! | all purged, compacted | 8 KiB | |
//!
//! sled is log-structured: frequent small flushes leave partly filled segments, and deleted data is
//! reused for new writes but never returned to the operating system. [`SledStore::compact`] (offline)
//! rewrites the live data into a fresh database, which is how purged space goes back.
//!
//! # Examples
//!
//! ```
//! use portal_sessions::{Engine, StaticDirectory};
//! use portal_sessions_sled::SledStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = SledStore::open(dir.path().join("portal-data"))?;
//! let engine = Engine::new(store, StaticDirectory::default());
//! # let _ = engine;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
mod commit;
mod keys;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portal_sessions::{
    CasOutcome, ListFilter, ListQuery, MAX_TTL, SessionId, SessionRecord, SessionStore, StoreError,
    Timestamp,
};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::codec::DecodeError;
use crate::commit::GroupCommit;

/// The key in sled's default tree that marks a database as this crate's, with its format.
const MARKER_KEY: &[u8] = b"portal-sessions/format";
const TREES: [&str; 6] = [
    "records",
    "by_org",
    "by_customer",
    "open_by_org",
    "open_by_customer",
    "by_expiry",
];
/// How many records one purge transaction deletes.
const PURGE_BATCH: usize = 256;

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

    /// Opens (or creates) the store. This does blocking file I/O: call it before starting to serve,
    /// or inside `spawn_blocking`.
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
        let open = |name: &str| {
            db.open_tree(name)
                .map_err(|error| StoreError::Backend(Box::new(error)))
        };
        let trees = Trees {
            records: open(TREES[0])?,
            by_org: open(TREES[1])?,
            by_customer: open(TREES[2])?,
            open_by_org: open(TREES[3])?,
            open_by_customer: open(TREES[4])?,
            by_expiry: open(TREES[5])?,
        };
        db.flush()
            .map_err(|error| StoreError::Backend(Box::new(error)))?;
        tracing::debug!(path = %shown, durability = ?self.durability, "sled session store opened");
        Ok(SledStore {
            inner: Arc::new(Inner {
                commit: Arc::new(GroupCommit::new(db.clone())),
                db,
                trees,
                durability: self.durability,
            }),
        })
    }
}

/// What [`SledStore::compact`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// sled's size on disk before.
    pub bytes_before: u64,
    /// sled's size on disk after.
    pub bytes_after: u64,
    /// Key-value pairs copied (records and index entries).
    pub entries: u64,
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// A compaction swaps directories with two renames; a crash between them leaves the original under
/// `<path>.pre-compaction` and no `<path>`. Put it back.
fn recover_interrupted_compaction(path: &Path) -> Result<(), StoreError> {
    let previous = sibling(path, ".pre-compaction");
    if !path.exists() && previous.is_dir() {
        tracing::warn!(path = %path.display(), "restoring the database from an interrupted compaction");
        std::fs::rename(&previous, path).map_err(|error| {
            StoreError::config(
                format!(
                    "cannot restore {} after an interrupted compaction",
                    path.display()
                ),
                Some(Box::new(error)),
            )
        })?;
    }
    Ok(())
}

fn check_path(path: &Path) -> Result<(), StoreError> {
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
fn open_waiting_for_lock(
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

/// Refuses databases of other applications and formats; marks new ones as ours.
fn check_marker(db: &sled::Db, shown: &str) -> Result<(), StoreError> {
    let backend = |error: sled::Error| StoreError::Backend(Box::new(error));
    match db.get(MARKER_KEY).map_err(backend)? {
        Some(format) if format.as_ref() == [codec::FORMAT] => Ok(()),
        Some(_) => Err(StoreError::config(
            format!("{shown} was written by an unknown version of portal-sessions-sled"),
            None,
        )),
        None => {
            let foreign = db.tree_names().into_iter().any(|name| {
                name.as_ref() != b"__sled__default"
                    && !TREES.iter().any(|ours| name.as_ref() == ours.as_bytes())
            });
            if foreign || !db.is_empty() {
                return Err(StoreError::config(
                    format!("{shown} is a sled database of another application"),
                    None,
                ));
            }
            db.insert(MARKER_KEY, &[codec::FORMAT]).map_err(backend)?;
            Ok(())
        }
    }
}

struct Trees {
    records: sled::Tree,
    by_org: sled::Tree,
    by_customer: sled::Tree,
    open_by_org: sled::Tree,
    open_by_customer: sled::Tree,
    by_expiry: sled::Tree,
}

struct Inner {
    db: sled::Db,
    trees: Trees,
    commit: Arc<GroupCommit>,
    durability: Durability,
}

/// A durable [`SessionStore`] on sled. Cheap to clone (clones share the database).
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
            .finish_non_exhaustive()
    }
}

/// Why a transaction stopped on purpose.
#[derive(Debug)]
enum Abort {
    Duplicate,
    Conflict,
    Corrupt(DecodeError),
}

type TxTrees = (
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
    TransactionalTree,
);

fn is_open(record: &SessionRecord) -> bool {
    record.used_at.is_none() && record.revoked_at.is_none()
}

fn corrupt(error: DecodeError) -> StoreError {
    StoreError::corrupt(
        format!("undecodable session record ({error})"),
        Some(Box::new(error)),
    )
}

fn backend(error: sled::Error) -> StoreError {
    StoreError::Backend(Box::new(error))
}

impl SledStore {
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

    /// Rewrites the database at `path` into a fresh one holding only live data, and swaps it in.
    ///
    /// sled reuses the space of deleted records for new writes but never shrinks its file, so after
    /// purging many sessions the directory keeps its high-water size. Compaction is how that space
    /// goes back to the operating system. It is offline: the store must not be open (sled's lock
    /// makes this an error rather than a risk), and it needs free space for a second copy of the live
    /// data. It is crash-safe: the original stays in place until the copy is complete and flushed,
    /// and a crash during the final swap is undone on the next open.
    ///
    /// # Errors
    ///
    /// As [`SledConfig::open`] for the source; a backend or I/O error while copying or swapping (the
    /// original database is then untouched).
    pub fn compact(path: impl AsRef<Path>) -> Result<Compaction, StoreError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        recover_interrupted_compaction(path)?;
        check_path(path)?;
        let io = |what: &str, error: std::io::Error| {
            StoreError::config(
                format!("{what} during compaction of {shown}"),
                Some(Box::new(error)),
            )
        };
        let source = open_waiting_for_lock(&shown, || sled::Config::new().path(path).open())?;
        check_marker(&source, &shown)?;
        let bytes_before = source.size_on_disk().map_err(backend)?;
        let fresh_path = sibling(path, ".compacting");
        if fresh_path.exists() {
            // A copy left by an earlier, interrupted compaction: the original is intact, start over.
            std::fs::remove_dir_all(&fresh_path).map_err(|e| io("removing a stale copy", e))?;
        }
        let fresh = sled::Config::new()
            .path(&fresh_path)
            .open()
            .map_err(backend)?;
        let mut entries = 0u64;
        for name in source.tree_names() {
            let from = source.open_tree(&name).map_err(backend)?;
            let to = fresh.open_tree(&name).map_err(backend)?;
            for entry in from.iter() {
                let (key, value) = entry.map_err(backend)?;
                to.insert(key, value).map_err(backend)?;
                entries += 1;
            }
        }
        fresh.flush().map_err(backend)?;
        let bytes_after = fresh.size_on_disk().map_err(backend)?;
        drop(fresh);
        drop(source);
        let previous = sibling(path, ".pre-compaction");
        std::fs::rename(path, &previous).map_err(|e| io("moving the original aside", e))?;
        std::fs::rename(&fresh_path, path).map_err(|e| io("moving the copy in", e))?;
        std::fs::remove_dir_all(&previous).map_err(|e| io("removing the original", e))?;
        tracing::info!(path = %shown, bytes_before, bytes_after, entries, "sled session store compacted");
        Ok(Compaction {
            bytes_before,
            bytes_after,
            entries,
        })
    }

    /// Flushes everything to disk now (useful with [`Durability::Relaxed`] before shutting down).
    ///
    /// # Errors
    ///
    /// A backend error when the flush fails.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let sequence = self.inner.commit.committed();
        self.inner.commit.wait_durable(sequence).await
    }

    fn transaction<T>(
        &self,
        body: impl Fn(&TxTrees) -> Result<T, ConflictableTransactionError<Abort>>,
    ) -> Result<Result<T, Abort>, StoreError> {
        let t = &self.inner.trees;
        let result = (
            &t.records,
            &t.by_org,
            &t.by_customer,
            &t.open_by_org,
            &t.open_by_customer,
            &t.by_expiry,
        )
            .transaction(|trees| body(trees));
        match result {
            Ok(value) => Ok(Ok(value)),
            Err(TransactionError::Abort(abort)) => Ok(Err(abort)),
            Err(TransactionError::Storage(error)) => Err(backend(error)),
        }
    }

    /// Waits for durability of a committed write, as the configuration asks.
    async fn acknowledge(&self) -> Result<(), StoreError> {
        match self.inner.durability {
            Durability::Flush => {
                let sequence = self.inner.commit.committed();
                self.inner.commit.wait_durable(sequence).await
            }
            Durability::Relaxed { .. } => Ok(()),
        }
    }

    fn decode(bytes: &[u8]) -> Result<SessionRecord, StoreError> {
        codec::decode(bytes).map_err(corrupt)
    }

    fn get_now(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        match self
            .inner
            .trees
            .records
            .get(id.as_bytes())
            .map_err(backend)?
        {
            Some(bytes) => Self::decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Deletes up to [`PURGE_BATCH`] expired records in one transaction; returns how many expiry
    /// entries it looked at and how many records it deleted.
    fn purge_batch(&self, before: Timestamp) -> Result<(usize, u64), StoreError> {
        let mut upper = keys::ascending_time(before).to_vec();
        upper.extend_from_slice(&[u8::MAX; 16]);
        let entries: Vec<(sled::IVec, SessionId)> = self
            .inner
            .trees
            .by_expiry
            .range(..=upper)
            .keys()
            .take(PURGE_BATCH)
            .map(|key| {
                let key = key.map_err(backend)?;
                let id = keys::parse_expiry_key(&key)
                    .ok_or_else(|| StoreError::corrupt("malformed expiry index key", None))?;
                Ok((key, id))
            })
            .collect::<Result<_, StoreError>>()?;
        if entries.is_empty() {
            return Ok((0, 0));
        }
        let purged = self.transaction(
            |(records, by_org, by_customer, open_org, open_customer, by_expiry)| {
                let mut purged = 0u64;
                for (key, id) in &entries {
                    by_expiry.remove(key)?;
                    let Some(bytes) = records.remove(id.as_bytes().as_slice())? else {
                        continue;
                    };
                    let record = codec::decode(&bytes).map_err(|error| {
                        ConflictableTransactionError::Abort(Abort::Corrupt(error))
                    })?;
                    by_org.remove(keys::org_key(&record))?;
                    by_customer.remove(keys::customer_key(&record))?;
                    open_org.remove(keys::org_key(&record))?;
                    open_customer.remove(keys::customer_key(&record))?;
                    purged += 1;
                }
                Ok(purged)
            },
        )?;
        match purged {
            Ok(purged) => Ok((entries.len(), purged)),
            Err(Abort::Corrupt(error)) => Err(corrupt(error)),
            Err(abort) => Err(StoreError::Backend(
                format!("unexpected purge abort {abort:?}").into(),
            )),
        }
    }
}

impl SledStore {
    /// [`SessionStore::list`], synchronously.
    fn list_now(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let t = &self.inner.trees;
        let mut prefix = query.org_id.as_bytes().to_vec();
        if let Some(customer) = &query.customer_id {
            prefix.extend_from_slice(customer.as_bytes());
        }
        let (tree, horizon, now) = match (query.filter, query.customer_id.is_some()) {
            (ListFilter::All, false) => (&t.by_org, None, None),
            (ListFilter::All, true) => (&t.by_customer, None, None),
            (ListFilter::OpenAt(now), customer) => {
                let tree = if customer {
                    &t.open_by_customer
                } else {
                    &t.open_by_org
                };
                (
                    tree,
                    now.checked_sub(query.max_lifetime.min(MAX_TTL)),
                    Some(now),
                )
            }
        };
        let mut found = Vec::with_capacity(query.limit.min(128));
        for entry in tree.scan_prefix(&prefix) {
            if found.len() >= query.limit {
                break;
            }
            let (key, value) = entry.map_err(backend)?;
            let (created_at, id) = keys::parse_list_key(&key)
                .ok_or_else(|| StoreError::corrupt("malformed list index key", None))?;
            if let Some(now) = now {
                // Nothing created `max_lifetime` or longer before `now` can still be open.
                if horizon.is_some_and(|horizon| created_at <= horizon) {
                    break;
                }
                let expires_at = keys::parse_time_value(&value)
                    .ok_or_else(|| StoreError::corrupt("malformed open index value", None))?;
                if expires_at <= now {
                    continue;
                }
            }
            // The index and the record were written together, but this read is not a snapshot:
            // a record redeemed since the index entry was read is checked again here.
            if let Some(record) = self.get_now(&id)? {
                if query.matches(&record) {
                    found.push(record);
                }
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl SessionStore for SledStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let encoded = codec::encode(record).map_err(corrupt)?;
        let org_key = keys::org_key(record);
        let customer_key = keys::customer_key(record);
        let expiry_key = keys::expiry_key(record.expires_at, &record.id);
        let expires = keys::ascending_time(record.expires_at);
        let open = is_open(record);
        let outcome = self.transaction(
            |(records, by_org, by_customer, open_org, open_customer, by_expiry)| {
                if records.get(record.id.as_bytes().as_slice())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(Abort::Duplicate));
                }
                records.insert(record.id.as_bytes().as_slice(), encoded.as_slice())?;
                by_org.insert(org_key.as_slice(), &[])?;
                by_customer.insert(customer_key.as_slice(), &[])?;
                if open {
                    open_org.insert(org_key.as_slice(), expires.as_slice())?;
                    open_customer.insert(customer_key.as_slice(), expires.as_slice())?;
                }
                by_expiry.insert(expiry_key.as_slice(), &[])?;
                Ok(())
            },
        )?;
        match outcome {
            Ok(()) => self.acknowledge().await,
            Err(Abort::Duplicate) => Err(StoreError::Duplicate),
            Err(Abort::Corrupt(error)) => Err(corrupt(error)),
            Err(Abort::Conflict) => Err(StoreError::Backend("unexpected insert conflict".into())),
        }
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.get_now(id)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        // An index walk may step over many entries (open-only lists skip expired links): it runs
        // on the blocking pool, not on an async worker that other requests are waiting for.
        let (store, query) = (self.clone(), query.clone());
        tokio::task::spawn_blocking(move || store.list_now(&query))
            .await
            .map_err(|error| StoreError::Backend(Box::new(error)))?
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError> {
        let encoded = codec::encode(next).map_err(corrupt)?;
        let outcome = self.transaction(|(records, _, _, open_org, open_customer, _)| {
            let Some(bytes) = records.get(next.id.as_bytes().as_slice())? else {
                return Err(ConflictableTransactionError::Abort(Abort::Conflict));
            };
            let stored = codec::decode(&bytes)
                .map_err(|error| ConflictableTransactionError::Abort(Abort::Corrupt(error)))?;
            if stored.version != expected_version {
                return Err(ConflictableTransactionError::Abort(Abort::Conflict));
            }
            records.insert(next.id.as_bytes().as_slice(), encoded.as_slice())?;
            if is_open(&stored) && !is_open(next) {
                open_org.remove(keys::org_key(&stored))?;
                open_customer.remove(keys::customer_key(&stored))?;
            }
            Ok(())
        })?;
        match outcome {
            Ok(()) => {
                self.acknowledge().await?;
                Ok(CasOutcome::Swapped)
            }
            Err(Abort::Conflict) => Ok(CasOutcome::Conflict),
            Err(Abort::Corrupt(error)) => Err(corrupt(error)),
            Err(Abort::Duplicate) => Err(StoreError::Backend("unexpected swap abort".into())),
        }
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let store = self.clone();
        let purged = tokio::task::spawn_blocking(move || {
            let mut total = 0u64;
            loop {
                let (seen, purged) = store.purge_batch(before)?;
                total += purged;
                if seen < PURGE_BATCH {
                    return Ok::<u64, StoreError>(total);
                }
            }
        })
        .await
        .map_err(|error| StoreError::Backend(Box::new(error)))??;
        if purged > 0 {
            self.acknowledge().await?;
        }
        Ok(purged)
    }
}
