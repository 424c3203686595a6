//! A reserve of disk space that lets the store open on a full disk.
//!
//! sled writes when it opens (it recovers its log and starts a new segment), so a database whose
//! file system another process filled cannot be opened until space is freed elsewhere: a server
//! restarted by its supervisor would fail to start again and again. PostgreSQL keeps its WAL
//! segments preallocated for the same reason. This store keeps a file of zeros beside sled's own
//! ([`RESERVE_FILE`], [`SledConfig::reserve_bytes`](crate::SledConfig::reserve_bytes)): it deletes
//! it just before sled opens, so the open always has that room, and writes it again once the
//! store is open. When there is no room to write it again, the store still opens, its free-space
//! floor refuses writes until space is back, and the next open has no reserve to release; a
//! warning says so.

use std::io::Write;
use std::path::Path;

/// The reserve's file name, inside the database's directory.
pub const RESERVE_FILE: &str = "portal-sessions.reserve";

/// Deletes the reserve, if there is one, so that sled's open has its room.
pub(crate) fn release(directory: &Path) {
    match std::fs::remove_file(directory.join(RESERVE_FILE)) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(
            path = %directory.display(),
            error = %error,
            "the disk space reserve could not be released before opening"
        ),
    }
}

/// Writes the reserve again: `bytes` of zeros, synced. A reserve that does not fit is removed
/// (a partial one would only take space), with a warning.
pub(crate) fn keep(directory: &Path, bytes: u64) {
    if bytes == 0 {
        return;
    }
    let path = directory.join(RESERVE_FILE);
    if let Err(error) = write_zeros(&path, bytes) {
        let _ = std::fs::remove_file(&path);
        tracing::warn!(
            path = %directory.display(),
            error = %error,
            "no room for the disk space reserve: opening again on a full disk may fail"
        );
    }
}

fn write_zeros(path: &Path, bytes: u64) -> std::io::Result<()> {
    const CHUNK: usize = 64 << 10;
    let zeros = [0u8; CHUNK];
    let mut file = std::fs::File::create(path)?;
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()
}
