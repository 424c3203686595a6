//! A durable, embedded [`SessionStore`](portal_sessions::SessionStore) on [sled] 0.34: the default store of the portal-sessions
//! server, for one process on one machine.
//!
//! # Layout
//!
//! sled holds the records alone, **one key per session** (the session id) in one tree, encoded
//! compactly with a format byte ([`codec`]); a corrupt value or an unknown format is a
//! [`StoreError::Corrupt`](portal_sessions::StoreError::Corrupt), never a panic. A create is sled's insert-if-absent on that key, every
//! state change sled's single-key compare-and-swap on it (on the exact bytes read, so a concurrent
//! writer makes it lose, and the engine re-reads); no multi-tree transaction. sled's cost is per key
//! written and per dirty page, so one key a write is what makes a write cheap.
//!
//! The list, open-only and expiry indexes live in memory ([`portal_sessions_index::SessionIndex`],
//! the same implementation the memory store uses) and are rebuilt from the records when the store
//! opens. They hold only what never changes in a record, and whether its link is open, which only
//! goes from open to closed, so they cannot fall out of step with the records they are rebuilt from.
//!
//! # Opening
//!
//! Opening reads every record once, streaming (sled's iterator into the index; no second copy of
//! the store in memory): time and index memory grow with the sessions stored. With 10^6 sessions,
//! opening took 1.97 s where sled alone took 1.25 s to iterate the same records, and the index held
//! about 117 bytes a session (`cargo bench -p portal-sessions-benches --bench sled_open`; see
//! BENCHMARKS.md for the machine). A server restart pays that once, before it listens.
//!
//! # Upgrading
//!
//! A database written by the previous layout (marker 1: the records plus five index trees, changed
//! together in transactions) is converted in place when it is opened: the records stay as they
//! are, the index trees are dropped, and the marker becomes 2 last. A kill at any moment leaves a
//! database that opens, resumes the conversion, and holds every record.
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
//! # Full disks and I/O errors
//!
//! sled applies a write in memory and makes it durable with a flush, so a read can show a write
//! that never reaches the disk. The store declares it
//! ([`WriteVisibility::BeforeDurable`](portal_sessions::WriteVisibility)): the engine never settles
//! a failed write by reading it back. Three defences keep every acknowledged write on disk:
//!
//! - **A free-space floor** ([`SledConfig::min_free_bytes`], 64 MiB by default): before each write,
//!   the store reads its file system's free space (`statvfs`: one system call, about 2 µs here
//!   beside about 200 µs for a durable write's flush) and refuses the
//!   write with [`StoreError::Unavailable`](portal_sessions::StoreError::Unavailable) while it is
//!   under the floor, whoever filled it. The refused write changed nothing; writes resume by
//!   themselves once space is back.
//! - **Failing closed** ([`WriteRefused`]): if a flush fails anyway (another process filled the last
//!   bytes between the check and the flush, or the disk failed), no write waiting on it or after it
//!   is acknowledged, events are not announced, and every read and write answers
//!   `Unavailable` until the process opens the store again from what is on disk.
//!   [`check_writable`](portal_sessions::SessionStore::check_writable) says so, for a health
//!   check that has a supervisor restart the process. The event feed hands out only records that a
//!   flush made durable after it read them.
//! - **A reserve** ([`SledConfig::reserve_bytes`], 8 MiB, the file [`RESERVE_FILE`]): sled writes
//!   when it opens, and cannot open on a full disk (measured: `No space left on device` at open).
//!   The store deletes its reserve just before sled opens, and writes it again after.
//!
//! Measured on the real server over a 48 MiB tmpfs (`crates/server/tests/disk_full.rs`), with the
//! store's own writes filling it and with `dd` filling it while clients write: no acknowledged
//! create, redeem or revoke lost across restarts, writes answered 503 while full, and resumed
//! within milliseconds of space coming back; with the floor turned off, the store failed closed
//! and lost nothing either. What this store does **not** promise: writes in place of a disk that
//! lies about its flushes, or, with [`Durability::Relaxed`], the writes of the last flush window.
//!
//! # Costs
//!
//! `get` is one sled lookup, `compare_and_swap` a lookup and a single-key compare-and-swap; `list` is
//! O(log n + limit) in the in-memory index plus one sled lookup per listed session (an open-only
//! list also steps over links that expired unopened within the query's lifetime);
//! `purge_expired` takes the expired sessions from the in-memory expiry index and deletes their
//! keys.
//!
//! # Disk
//!
//! Measured with `cargo run --release -p portal-sessions-sled --example disk_usage` (10^5 sessions
//! with short names, created with durable writes from 64 tasks, on ext4):
//!
//! | state | bytes on disk | per session |
//! |---|---|---|
//! | empty | 8 KiB | |
//! | 10^5 live | 43 MB | 430 B |
//! | 10^5 live, compacted | 38.5 MB | 385 B |
//! | all purged | 41.6 MB | |
//! | all purged, compacted | 8 KiB | |
//!
//! (The layout with index trees took 3.1 KB a session, 1.8 KB compacted.)
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
mod compaction;
mod config;
mod directory;
mod feed;
mod health;
mod open;
mod reserve;
mod store;

pub use crate::compaction::Compaction;
pub use crate::config::{Durability, SledConfig};
pub use crate::health::WriteRefused;
pub use crate::reserve::RESERVE_FILE;
pub use crate::store::SledStore;
