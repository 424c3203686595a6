//! SledStore through the Engine against raw sled with the same flush policy, in one run.
//!
//! `cargo bench -p portal-sessions-benches --bench sled`
//!
//! * `create`: `Engine::create` (token, hashes, customer lookup, one transaction over the record and
//!   its five index trees, a durable flush) against `raw_insert`: one `Tree::insert` of an
//!   encoded record, then `Db::flush`.
//! * `redeem`: `Engine::redeem` (a get, the state machine, one compare-and-swap transaction, a durable
//!   flush) against `raw_cas`: one `Tree::compare_and_swap` of the same sizes, then `Db::flush`.
//!
//! Each at 1 task and at 16 concurrent tasks. The store shares flushes between concurrent writers
//! (group commit); raw sled flushes once per operation, as each of its callers asks it to.
//!
//! Then `sled/engine/*`: the six engine operations over a durable store, the same code as every
//! backend (see `portal_sessions_benches::engine_ops`).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions_benches::{
    Sampling, create, engine, engine_ops, fresh_links, redeem_links, runtime, time_concurrent,
};
use portal_sessions_conformance::fixture::{issued_record, new_org, start_time};
use portal_sessions_sled::{SledStore, codec};

fn temp_path() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    };
    let path = dir.path().join("db");
    (dir, path)
}

fn raw_db() -> (tempfile::TempDir, sled::Db, sled::Tree) {
    let (dir, path) = temp_path();
    let db = match sled::Config::new().path(path).flush_every_ms(None).open() {
        Ok(db) => db,
        Err(error) => panic!("sled: {error}"),
    };
    let tree = match db.open_tree("raw") {
        Ok(tree) => tree,
        Err(error) => panic!("sled: {error}"),
    };
    (dir, db, tree)
}

/// A record's encoding, the value size the store writes.
fn sample_value() -> Vec<u8> {
    let (record, _) = issued_record(
        new_org(),
        &portal_sessions_benches::customer(),
        start_time(),
    );
    codec::encode(&record).unwrap_or_default()
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let value = Arc::new(sample_value());
    for tasks in [1u64, 16] {
        let mut group = c.benchmark_group(format!("sled/{tasks}-tasks"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(8));

        group.bench_function("raw_insert", |b| {
            let (_dir, db, tree) = raw_db();
            let value = value.clone();
            let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
            b.iter_custom(|iters| {
                let (db, tree, value, counter) =
                    (db.clone(), tree.clone(), value.clone(), counter.clone());
                time_concurrent(&rt, iters, tasks, move |_| {
                    let (db, tree, value, counter) =
                        (db.clone(), tree.clone(), value.clone(), counter.clone());
                    async move {
                        let key = counter
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                            .to_be_bytes();
                        let done = tokio::task::spawn_blocking(move || {
                            tree.insert(key, value.as_slice())?;
                            db.flush()
                        })
                        .await;
                        if !matches!(done, Ok(Ok(_))) {
                            panic!("raw insert failed");
                        }
                    }
                })
            });
        });

        group.bench_function("create", |b| {
            let (_dir, path) = temp_path();
            let engine = match SledStore::open(&path) {
                Ok(store) => engine(store),
                Err(error) => panic!("{error}"),
            };
            b.iter_custom(|iters| {
                let engine = engine.clone();
                time_concurrent(&rt, iters, tasks, move |_| {
                    let engine = engine.clone();
                    async move {
                        create(&engine).await;
                    }
                })
            });
        });

        group.bench_function("raw_cas", |b| {
            let (_dir, db, tree) = raw_db();
            let value = value.clone();
            b.iter_custom(|iters| {
                // Setup, untimed: one key per operation holding the "issued" value.
                for i in 0..iters {
                    if tree.insert(i.to_be_bytes(), value.as_slice()).is_err() {
                        panic!("raw setup failed");
                    }
                }
                let _ = db.flush();
                let mut changed = value.as_ref().clone();
                if let Some(last) = changed.last_mut() {
                    *last ^= 1;
                }
                let changed = Arc::new(changed);
                let (db, tree, value) = (db.clone(), tree.clone(), value.clone());
                time_concurrent(&rt, iters, tasks, move |i| {
                    let (db, tree, value, changed) =
                        (db.clone(), tree.clone(), value.clone(), changed.clone());
                    async move {
                        let done = tokio::task::spawn_blocking(move || {
                            let swapped = tree.compare_and_swap(
                                i.to_be_bytes(),
                                Some(value.as_slice()),
                                Some(changed.as_slice()),
                            )?;
                            db.flush()?;
                            Ok::<bool, sled::Error>(swapped.is_ok())
                        })
                        .await;
                        if !matches!(done, Ok(Ok(true))) {
                            panic!("raw compare_and_swap failed");
                        }
                    }
                })
            });
        });

        group.bench_function("redeem", |b| {
            let (_dir, path) = temp_path();
            let engine = match SledStore::open(&path) {
                Ok(store) => engine(store),
                Err(error) => panic!("{error}"),
            };
            b.iter_custom(|iters| {
                // Setup, untimed: one fresh link per operation.
                let links = fresh_links(&rt, &engine, iters);
                redeem_links(&rt, &engine, links, tasks)
            });
        });
        group.finish();
    }

    // The six engine operations over one durable store, the same code as every backend.
    let (_dir, path) = temp_path();
    let engine = match SledStore::open(&path) {
        Ok(store) => engine(store),
        Err(error) => panic!("{error}"),
    };
    let sampling = Sampling {
        samples: 10,
        time: Duration::from_secs(4),
    };
    engine_ops(c, "sled", &rt, &engine, sampling);
}

criterion_group!(sled_benches, benches);
criterion_main!(sled_benches);
