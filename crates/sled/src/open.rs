//! Opening a store: the layout marker and its upgrade, and the rebuild of the in-memory indexes.

use std::sync::Arc;
use std::time::Instant;

use portal_sessions::{SessionId, StoreError};
use portal_sessions_index::{Delivery, EventQueue, SessionIndex};

use crate::codec;
use crate::commit::GroupCommit;
use crate::config::{Durability, SledConfig};
use crate::directory::{check_path, open_waiting_for_lock, recover_interrupted_compaction};
use crate::feed::{self, EVENTS, EVENTS_MARKER};
use crate::health::Health;
use crate::reserve;
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

impl SledConfig {
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
        reserve::release(&self.path);
        let db = open_waiting_for_lock(&shown, || config.open())?;
        check_marker(&db, &shown)?;
        let records = db.open_tree(RECORDS).map_err(backend)?;
        let events = db.open_tree(EVENTS).map_err(backend)?;
        db.flush().map_err(backend)?;
        let started = Instant::now();
        let index = SessionIndex::new();
        let queue = EventQueue::new();
        // A database from before events: its history counts as delivered, so opening it with
        // this version does not announce every session it ever held.
        let baseline = db.get(EVENTS_MARKER).map_err(backend)?.is_none();
        for entry in events.iter() {
            let (key, value) = entry.map_err(backend)?;
            match (
                <[u8; 16]>::try_from(key.as_ref()),
                feed::decode_delivery(&value),
            ) {
                (Ok(id), Some(delivery)) => queue.restore(SessionId::from_bytes(id), delivery),
                _ => {
                    tracing::error!(path = %shown, "an undecodable delivery mark is ignored; its events are delivered again")
                }
            }
        }
        let mut sessions = 0u64;
        let mut undecodable = 0u64;
        // Streaming: one record at a time goes from sled's iterator into the indexes.
        for entry in records.iter() {
            let (_, value) = entry.map_err(backend)?;
            match codec::decode(&value) {
                Ok(record) => {
                    index.insert(&record);
                    if baseline {
                        let delivery = Delivery {
                            delivered: record.event_kinds(),
                            attempts: 0,
                        };
                        events
                            .insert(record.id.as_bytes(), &feed::encode_delivery(delivery))
                            .map_err(backend)?;
                        queue.restore(record.id, delivery);
                    }
                    queue.changed(&record);
                    sessions += 1;
                }
                Err(_) => undecodable += 1,
            }
        }
        if baseline {
            db.insert(EVENTS_MARKER, &[1]).map_err(backend)?;
            db.flush().map_err(backend)?;
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
        reserve::keep(&self.path, self.reserve_bytes);
        let health = Arc::new(Health::new(
            self.path.clone(),
            self.min_free_bytes,
            self.durable_step_fault.clone(),
        ));
        Ok(SledStore::from_inner(Inner {
            commit: Arc::new(GroupCommit::new(db.clone(), health.clone())),
            health,
            db,
            records,
            events,
            index,
            queue,
            durability: self.durability,
        }))
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
