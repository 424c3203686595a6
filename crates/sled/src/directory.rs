//! The database's directory: what may be opened there, sled's lock on it, and a compaction that a
//! crash interrupted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portal_sessions::StoreError;

/// `path` with `suffix` added to its last component: `portal-data.pre-compaction`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// A compaction swaps directories with two renames; a crash between them leaves the original under
/// `<path>.pre-compaction` and no `<path>`. Put it back.
pub(crate) fn recover_interrupted_compaction(path: &Path) -> Result<(), StoreError> {
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
