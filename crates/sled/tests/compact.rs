//! Compaction gives purged space back to the operating system and keeps every live record.

use portal_sessions::{ListFilter, ListQuery, SessionStore, StoreError};
use portal_sessions_conformance::fixture::{
    issued_record, new_customer, new_org, plus_ms, start_time,
};
use portal_sessions_sled::SledStore;

fn open(path: &std::path::Path) -> SledStore {
    match SledStore::open(path) {
        Ok(store) => store,
        Err(error) => panic!("open: {error}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_then_compact_gives_space_back_and_keeps_live_records() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("{error}"),
    };
    let path = dir.path().join("db");
    let org = new_org();
    let customer = new_customer("Compact");
    let store = open(&path);
    let mut kept = Vec::new();
    for i in 0..2_000u64 {
        let (mut record, _) = issued_record(org, &customer, plus_ms(start_time(), i));
        if i % 100 == 0 {
            // These live a day; the rest expire after an hour and are purged below.
            record.expires_at = plus_ms(record.created_at, 86_400_000);
            kept.push(record.clone());
        }
        if let Err(error) = store.insert(&record).await {
            panic!("{error}");
        }
    }
    let cutoff = plus_ms(start_time(), 2 * 3_600_000);
    let purged = store.purge_expired(cutoff).await.unwrap_or(0);
    assert_eq!(purged, 2_000 - kept.len() as u64);
    drop(store);

    // Offline only: an open store holds the lock.
    let held = open(&path);
    assert!(matches!(
        SledStore::compact(&path),
        Err(StoreError::Config { .. })
    ));
    drop(held);

    let compaction = match SledStore::compact(&path) {
        Ok(compaction) => compaction,
        Err(error) => panic!("compact: {error}"),
    };
    assert!(
        compaction.bytes_after * 4 < compaction.bytes_before,
        "compaction must give most of the purged space back: {compaction:?}"
    );
    let store = open(&path);
    for record in &kept {
        assert_eq!(
            store.get(&record.id).await.ok().flatten().as_ref(),
            Some(record)
        );
    }
    let listed = store
        .list(&ListQuery {
            max_lifetime: portal_sessions::MAX_TTL,
            org_id: org,
            customer_id: Some(customer.id),
            limit: 100,
            filter: ListFilter::All,
            after: None,
        })
        .await
        .unwrap_or_default();
    assert_eq!(listed.len(), kept.len(), "indexes survive compaction");
}

#[test]
fn an_interrupted_compaction_is_undone_on_open() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("{error}"),
    };
    let path = dir.path().join("db");
    drop(open(&path));
    // The state a crash between the two renames leaves: the original aside, no database, and a
    // half-written copy.
    let aside = dir.path().join("db.pre-compaction");
    if let Err(error) = std::fs::rename(&path, &aside) {
        panic!("{error}");
    }
    let _ = std::fs::create_dir(dir.path().join("db.compacting"));
    drop(open(&path));
    assert!(path.is_dir() && !aside.exists());
}
