//! The engine over the memory store, beside its limits, in one run.
//!
//! `cargo bench -p portal-sessions-benches --bench memory`
//!
//! * `os_random_48_bytes`: one `getrandom` call for 48 bytes, the system call inside both limits.
//! * `crypto_create_limit`: what a create cannot avoid: one link token from the OS CSPRNG (selector and
//!   verifier) and the BLAKE3 hashes a create computes (verifier hash, checksum for the URL).
//! * `crypto_redeem_limit`: what a redeem cannot avoid: parsing the link (checksum), hashing its
//!   verifier, one viewer token from the OS CSPRNG, its hash and its checksum.
//! * `create`, `redeem`: the engine over an empty `MemoryStore` at the start of each sample, beside
//!   the two limits.
//! * `memory/engine/{1-task,16-tasks}/*`: the six engine operations, the same code as every backend
//!   (see `portal_sessions_benches::engine_ops`).
//! * `peer/tower_sessions` against `peer/portal_sessions`: create, load and delete one record with
//!   tower-sessions' `MemoryStore`, against create, load and revoke one session here.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions::{ClientInfo, LinkToken, ViewerToken};
use portal_sessions_benches::{Sampling, create, create_get_revoke, engine, engine_ops, runtime};
use portal_sessions_memory::MemoryStore;
use tower_sessions::SessionStore as _;
use tower_sessions::session::{Id, Record};

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("memory");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));

    // The operating system's part of both limits: one `getrandom` call for a link token's 48 bytes.
    group.bench_function("os_random_48_bytes", |b| {
        b.iter(|| {
            let mut random = [0u8; 48];
            getrandom::fill(&mut random).unwrap_or_else(|e| panic!("{e}"));
            black_box(random);
        });
    });
    group.bench_function("crypto_create_limit", |b| {
        b.iter(|| {
            let link = LinkToken::generate().unwrap_or_else(|e| panic!("{e}"));
            black_box(link.secret_hash());
            black_box(link.expose_secret());
        });
    });
    let sample = LinkToken::generate()
        .unwrap_or_else(|e| panic!("{e}"))
        .expose_secret();
    group.bench_function("crypto_redeem_limit", |b| {
        b.iter(|| {
            let link: LinkToken = black_box(&sample).parse().unwrap_or_else(|e| panic!("{e}"));
            black_box(link.secret_hash());
            let viewer = ViewerToken::generate(link.session_id()).unwrap_or_else(|e| panic!("{e}"));
            black_box(viewer.secret_hash());
            black_box(viewer.expose_secret());
        });
    });

    // Against the limits, each sample starts from an empty store, so that what is measured is the
    // engine's work and not the store's growth through the run (the scaling bench measures that).
    group.bench_function("create", |b| {
        b.iter_custom(|iters| {
            let engine = engine(MemoryStore::new());
            rt.block_on(async {
                let started = std::time::Instant::now();
                for _ in 0..iters {
                    black_box(create(&engine).await);
                }
                started.elapsed()
            })
        });
    });
    group.bench_function("redeem", |b| {
        b.iter_custom(|iters| {
            let engine = engine(MemoryStore::new());
            let links: Vec<String> = rt.block_on(async {
                let mut links = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    links.push(create(&engine).await.link.expose_secret());
                }
                links
            });
            rt.block_on(async {
                let started = std::time::Instant::now();
                for text in &links {
                    // What the HTTP layer does: parse the link from the URL, then redeem it.
                    let link: LinkToken = text.parse().unwrap_or_else(|e| panic!("{e}"));
                    let redemption = engine.redeem(&link, ClientInfo::default()).await;
                    black_box(
                        redemption
                            .map(|r| r.viewer.expose_secret())
                            .unwrap_or_default(),
                    );
                }
                started.elapsed()
            })
        });
    });

    // The peer pair: each sample starts from an empty store on both sides. tower-sessions' delete
    // leaves its store empty; a revoke keeps the record (it must answer "revoked" until it is
    // purged), so without the fresh start this side would also be measuring a store that grows by
    // millions of records through the run.
    group.bench_function("peer/tower_sessions_create_load_delete", |b| {
        b.iter_custom(|iters| {
            let peer = tower_sessions::MemoryStore::default();
            rt.block_on(async {
                let started = std::time::Instant::now();
                for _ in 0..iters {
                    let mut record = Record {
                        id: Id::default(),
                        data: Default::default(),
                        expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc()
                            + tower_sessions::cookie::time::Duration::hours(1),
                    };
                    peer.create(&mut record)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    black_box(peer.load(&record.id).await.ok());
                    peer.delete(&record.id)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                started.elapsed()
            })
        });
    });
    group.bench_function("peer/portal_sessions_create_load_revoke", |b| {
        b.iter_custom(|iters| {
            let engine = engine(MemoryStore::new());
            rt.block_on(async {
                let started = std::time::Instant::now();
                for _ in 0..iters {
                    create_get_revoke(&engine).await;
                }
                started.elapsed()
            })
        });
    });
    group.finish();

    let engine = portal_sessions_benches::engine(MemoryStore::new());
    let sampling = Sampling {
        samples: 20,
        time: Duration::from_secs(3),
    };
    engine_ops(c, "memory", &rt, &engine, sampling);
}

criterion_group!(memory_benches, benches);
criterion_main!(memory_benches);
