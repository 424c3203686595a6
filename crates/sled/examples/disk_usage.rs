//! Measures the disk a sled store uses per live session, and what purging gives back.
//!
//! `cargo run --release -p portal-sessions-sled --example disk_usage [sessions]` (default 100000).
//! It creates the sessions with durable (default) writes from 64 concurrent tasks, purges them all,
//! and reopens the store, printing sled's own figure and the bytes the directory occupies on disk.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use portal_sessions::SessionStore;
use portal_sessions_conformance::fixture::{
    issued_record, new_customer, new_org, plus_ms, start_time,
};
use portal_sessions_sled::SledStore;

/// Bytes the directory's files occupy on disk (allocated blocks, not apparent length).
fn bytes_on_disk(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let store = Arc::new(SledStore::open(&path)?);
    let empty = (store.size_on_disk()?, bytes_on_disk(&path));
    let org = new_org();
    let customers: Vec<_> = (0..100)
        .map(|i| new_customer(&format!("Customer {i}")))
        .collect();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64u64 {
        let (store, customers) = (store.clone(), customers.clone());
        tasks.spawn(async move {
            let mut i = task;
            while i < sessions {
                let customer = &customers[(i % 100) as usize];
                let (record, _) = issued_record(org, customer, plus_ms(start_time(), i));
                store.insert(&record).await?;
                i += 64;
            }
            Ok::<(), portal_sessions::StoreError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    let elapsed = started.elapsed();
    store.flush().await?;
    let full = (store.size_on_disk()?, bytes_on_disk(&path));
    drop(store);
    let live = SledStore::compact(&path)?;
    let live_compacted = bytes_on_disk(&path);
    let store = SledStore::open(&path)?;
    let purged = store
        .purge_expired(plus_ms(start_time(), sessions + 3_600_001))
        .await?;
    store.flush().await?;
    let after_purge = (store.size_on_disk()?, bytes_on_disk(&path));
    drop(store);
    let compaction = SledStore::compact(&path)?;
    let compacted = bytes_on_disk(&path);
    let per = |bytes: u64| bytes.saturating_sub(empty.1) as f64 / sessions as f64;
    println!("sessions created: {sessions} in {elapsed:?} (durable, 64 tasks)");
    println!("| state | sled size_on_disk | bytes on disk | per session |");
    println!("|---|---|---|---|");
    println!("| empty | {} | {} | |", empty.0, empty.1);
    println!(
        "| {sessions} live | {} | {} | {:.0} |",
        full.0,
        full.1,
        per(full.1)
    );
    println!(
        "| {sessions} live, compacted | {} | {live_compacted} | {:.0} |",
        live.bytes_after,
        per(live_compacted)
    );
    println!(
        "| after purging {purged} | {} | {} | |",
        after_purge.0, after_purge.1
    );
    println!(
        "| purged, then compacted | {} | {compacted} | |",
        compaction.bytes_after
    );
    Ok(())
}
