//! Group commit never strands a writer: rounds of concurrent writes, each round awaited to the last
//! write before the next begins, so a writer left waiting for a flush nobody will run hangs its round.

use std::sync::Arc;
use std::time::Duration;

use portal_sessions::SessionStore;
use portal_sessions_conformance::fixture::{issued_record, new_customer, new_org, start_time};
use portal_sessions_sled::SledStore;

#[test]
fn concurrent_writers_are_all_acknowledged() {
    // Two workers, as on the two-core machines this runs on: the stranding needs a follower to run
    // on one worker while the leader finishes on the other.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("{error}"),
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("{error}"),
    };
    let store = match SledStore::open(dir.path().join("db")) {
        Ok(store) => Arc::new(store),
        Err(error) => panic!("{error}"),
    };
    let (org, customer) = (new_org(), new_customer("Group"));
    runtime.block_on(async {
        for round in 0..300 {
            let mut writers = Vec::new();
            for _ in 0..16 {
                let (store, customer) = (store.clone(), customer.clone());
                writers.push(tokio::spawn(async move {
                    let (record, _) = issued_record(org, &customer, start_time());
                    store.insert(&record).await
                }));
            }
            let all = async {
                for writer in writers {
                    match writer.await {
                        Ok(Ok(())) => {}
                        other => panic!("round {round}: a write failed: {other:?}"),
                    }
                }
            };
            if tokio::time::timeout(Duration::from_secs(20), all)
                .await
                .is_err()
            {
                panic!("round {round}: a writer was never acknowledged (stranded in group commit)");
            }
        }
    });
}
