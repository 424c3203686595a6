//! What events cost the engine: create and redeem on the memory store with events off, with the
//! store's event feed on and nobody listening, and with the feed and one in-process listener, in
//! one run.
//!
//! `cargo bench -p portal-sessions-benches --bench events`
//!
//! * `off`: `MemoryStore::new()`, an engine without a listener: the baseline.
//! * `feed`: `MemoryStore::new().with_event_feed()`: every write also queues its session in the
//!   feed (what the sled and PostgreSQL stores always do, in their own way).
//! * `feed_and_listener`: the same, and an engine with a listener that counts events (the engine
//!   then takes a per-session stripe lock around each commit and its announcement).
//! * `listener`: a listener without the feed.
//!
//! Each sample starts from an empty store, as the memory bench does.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions::{ClientInfo, Engine, LinkToken, SessionEvent};
use portal_sessions_benches::{create, engine, engine_listening, runtime};
use portal_sessions_memory::MemoryStore;

#[derive(Clone, Copy)]
enum Setup {
    Off,
    Feed,
    FeedAndListener,
    Listener,
}

impl Setup {
    const ALL: [Setup; 4] = [
        Setup::Off,
        Setup::Feed,
        Setup::FeedAndListener,
        Setup::Listener,
    ];

    fn name(self) -> &'static str {
        match self {
            Setup::Off => "off",
            Setup::Feed => "feed",
            Setup::FeedAndListener => "feed_and_listener",
            Setup::Listener => "listener",
        }
    }

    fn engine(self, heard: &Arc<AtomicU64>) -> Arc<Engine<MemoryStore>> {
        let counter = heard.clone();
        let listener = move |event: &SessionEvent| {
            black_box(event);
            counter.fetch_add(1, Ordering::Relaxed);
        };
        match self {
            Setup::Off => engine(MemoryStore::new()),
            Setup::Feed => engine(MemoryStore::new().with_event_feed()),
            Setup::FeedAndListener => {
                engine_listening(MemoryStore::new().with_event_feed(), listener)
            }
            Setup::Listener => engine_listening(MemoryStore::new(), listener),
        }
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("events");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    let heard = Arc::new(AtomicU64::new(0));
    for setup in Setup::ALL {
        group.bench_function(format!("create/{}", setup.name()), |b| {
            b.iter_custom(|iters| {
                let engine = setup.engine(&heard);
                rt.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        black_box(create(&engine).await);
                    }
                    started.elapsed()
                })
            });
        });
        group.bench_function(format!("redeem/{}", setup.name()), |b| {
            b.iter_custom(|iters| {
                let engine = setup.engine(&heard);
                let links: Vec<LinkToken> = rt.block_on(async {
                    let mut links = Vec::new();
                    for _ in 0..iters {
                        links.push(create(&engine).await.link);
                    }
                    links
                });
                rt.block_on(async {
                    let started = Instant::now();
                    for link in &links {
                        match engine.redeem(link, ClientInfo::default()).await {
                            Ok(redemption) => black_box(redemption),
                            Err(error) => panic!("redeem: {error}"),
                        };
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();
    // The listener heard something, or the listening variants measured nothing.
    assert!(heard.load(Ordering::Relaxed) > 0);
}

criterion_group!(group, benches);
criterion_main!(group);
