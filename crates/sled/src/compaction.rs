//! Offline compaction: a fresh copy of the live data, swapped in, crash-safe.

use std::path::Path;

use portal_sessions::StoreError;

use crate::directory::{
    check_path, open_waiting_for_lock, recover_interrupted_compaction, sibling,
};
use crate::open::check_marker;
use crate::store::{SledStore, backend};

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

impl SledStore {
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
    /// As [`SledConfig::open`](crate::SledConfig::open) for the source; a backend or I/O error while copying or swapping (the
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
}
