//! How redeem and list(10) latency grow with the number of sessions in the store, and what a session
//! costs in memory or on disk, for every backend, in one run.
//!
//! `cargo bench -p portal-sessions-benches --bench scaling` (PostgreSQL as for the `postgres` bench;
//! `PORTAL_SESSIONS_BENCH_SIZES=1000,100000` measures other sizes, the default being 10^3, 10^5 and
//! 10^6 for every backend and 10^7 for the memory store; `PORTAL_SESSIONS_BENCH_BACKENDS=memory,sled`
//! measures some backends only, out of `memory`, `sled`, `postgres` and `sled-cache`, which is not
//! measured by default).
//!
//! For each backend and size N, the store is filled with N open sessions of one organisation and one
//! customer (so every index the operations touch holds all N), created over the last hour and living
//! a day. Then, at one task:
//!
//! * `scaling/{backend}/redeem/{N}`: redeem links minted (untimed) just before, as links are
//!   redeemed minutes after they are minted (so the newest end of each index is the warm one);
//! * `scaling/{backend}/list10/{N}`: the organisation's ten newest open sessions.
//!
//! The links a sample mints are purged after it (their engine has a one-second lifetime on a manual
//! clock that is moved past it), so the store stays at N whatever number of iterations criterion
//! picks. The size per session is printed: heap bytes for the memory store (counted by this bench's
//! allocator), bytes of files for sled, `pg_total_relation_size` (table, indexes, TOAST) for
//! PostgreSQL.
//!
//! The memory and sled stores are filled through the engine. sled runs with relaxed durability (a
//! background flush every 100 ms), so that what is measured is the work that grows with the store,
//! not the fsync that does not; `sled` keeps the default 128 MiB page cache, `sled-cache` sizes it to
//! hold the whole store (it showed that sled's growth from 10^5 to 10^6 sessions is not the cache:
//! see BENCHMARKS.md). PostgreSQL is filled with one `INSERT ... SELECT generate_series`,
//! then analysed.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use portal_sessions::{
    Clock, Engine, ListOptions, ManualClock, SessionStore, StaticDirectory, SystemClock, Timestamp,
};
use portal_sessions_benches::{
    create, customer, execute, fresh_links, org, redeem_links, runtime, time_concurrent,
};
use portal_sessions_memory::MemoryStore;
use portal_sessions_postgres::{PostgresConfig, PostgresStore};
use portal_sessions_sled::{Durability, SledConfig};

/// The system allocator, counting the bytes live, so the memory store's cost per session is the
/// heap it really holds (allocator bookkeeping aside), not a page-granular RSS.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter does not touch the memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller upholds `realloc`'s contract, which is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn sizes(largest: u64) -> Vec<u64> {
    match std::env::var("PORTAL_SESSIONS_BENCH_SIZES") {
        Ok(text) => text
            .split(',')
            .map(|size| match size.trim().parse() {
                Ok(size) => size,
                Err(error) => panic!("PORTAL_SESSIONS_BENCH_SIZES: {size:?}: {error}"),
            })
            .collect(),
        Err(_) => [1_000, 100_000, 1_000_000, 10_000_000]
            .into_iter()
            .filter(|size| *size <= largest)
            .collect(),
    }
}

/// Two engines over one store and one manual clock: `filler` mints the N sessions that stay (a day
/// long), `bench` mints the ones a sample uses up (a second long), so that moving the clock two
/// seconds and purging takes the store back to N.
struct Scaled<S> {
    filler: Arc<Engine<Arc<S>>>,
    bench: Arc<Engine<Arc<S>>>,
    clock: ManualClock,
}

impl<S: SessionStore> Scaled<S> {
    fn new(store: Arc<S>, start: Timestamp) -> Scaled<S> {
        let clock = ManualClock::new(start);
        let engine = |ttl: Duration| {
            let mut directory = StaticDirectory::default();
            if let Err(error) = directory.insert(org(), customer()) {
                panic!("bench directory: {error}");
            }
            match Engine::new(store.clone(), directory)
                .with_clock(clock.clone())
                .with_ttl(ttl)
            {
                Ok(engine) => Arc::new(engine),
                Err(error) => panic!("{error}"),
            }
        };
        Scaled {
            filler: engine(Duration::from_secs(86_400)),
            bench: engine(Duration::from_secs(1)),
            clock,
        }
    }

    /// Fills the store to `count` sessions through the engine, 16 tasks at a time.
    fn fill(&self, runtime: &tokio::runtime::Runtime, count: u64) {
        let filler = self.filler.clone();
        time_concurrent(runtime, count, 16, move |_| {
            let filler = filler.clone();
            async move {
                create(&filler).await;
            }
        });
    }

    /// Takes the store back to its filler sessions.
    fn purge_bench_sessions(&self, runtime: &tokio::runtime::Runtime) {
        self.clock.advance(Duration::from_secs(2));
        if let Err(error) = runtime.block_on(self.bench.purge_expired(Duration::ZERO)) {
            panic!("purge: {error}");
        }
    }

    fn bench(&self, c: &mut Criterion, runtime: &tokio::runtime::Runtime, backend: &str, n: u64) {
        let mut group = c.benchmark_group(format!("scaling/{backend}"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        group.bench_with_input(BenchmarkId::new("redeem", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let links = fresh_links(runtime, &self.bench, iters);
                let elapsed = redeem_links(runtime, &self.bench, links, 1);
                self.purge_bench_sessions(runtime);
                elapsed
            });
        });
        group.bench_with_input(BenchmarkId::new("list10", n), &n, |b, _| {
            let engine = self.bench.clone();
            b.iter_custom(|iters| {
                let engine = engine.clone();
                time_concurrent(runtime, iters, 1, move |_| {
                    let engine = engine.clone();
                    async move {
                        match engine.list(org(), ListOptions::default()).await {
                            Ok(page) => assert_eq!(page.len(), 10, "a full page"),
                            Err(error) => panic!("list: {error}"),
                        }
                    }
                })
            });
        });
        group.finish();
    }
}

fn report(backend: &str, n: u64, bytes: u64, what: &str) {
    #[allow(clippy::cast_precision_loss)]
    let per_session = bytes as f64 / n as f64;
    println!("scaling/{backend}/bytes_per_session/{n}: {per_session:.0} bytes ({what})");
}

fn memory(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    for n in sizes(10_000_000) {
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        let store = Arc::new(MemoryStore::new());
        let scaled = Scaled::new(store.clone(), SystemClock.now());
        scaled.fill(runtime, n);
        let held = LIVE_BYTES.load(Ordering::Relaxed) - before;
        report(
            "memory",
            n,
            held.unsigned_abs() as u64,
            "heap held by the store",
        );
        scaled.bench(c, runtime, "memory", n);
    }
}

/// sled with its default page cache (`backend` `sled`), or with one sized to hold the whole store
/// (`sled-cache`: 4 KiB a session, at least the default): at 10^6 sessions the files are ten times
/// the default cache, and this tells whether that is what slows sled down there.
fn sled(c: &mut Criterion, runtime: &tokio::runtime::Runtime, backend: &str) {
    for n in sizes(1_000_000) {
        let cache = if backend == "sled-cache" {
            SledConfig::DEFAULT_CACHE_CAPACITY.max(n.saturating_mul(4096))
        } else {
            SledConfig::DEFAULT_CACHE_CAPACITY
        };
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(error) => panic!("temporary directory: {error}"),
        };
        let opened = SledConfig::new(dir.path().join("db"))
            .durability(Durability::Relaxed {
                flush_every: Duration::from_millis(100),
            })
            .cache_capacity(cache)
            .open();
        let store = match opened {
            Ok(store) => Arc::new(store),
            Err(error) => panic!("sled: {error}"),
        };
        let scaled = Scaled::new(store.clone(), SystemClock.now());
        scaled.fill(runtime, n);
        if let Err(error) = runtime.block_on(store.flush()) {
            panic!("sled flush: {error}");
        }
        report(backend, n, directory_bytes(dir.path()), "files on disk");
        scaled.bench(c, runtime, backend, n);
    }
}

fn directory_bytes(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => directory_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

const SCHEMA: &str = "bench_scaling";

fn postgres(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    let url = std::env::var("PORTAL_SESSIONS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    for n in sizes(1_000_000) {
        let store = runtime.block_on(async {
            let config = PostgresConfig::new(url.clone())
                .schema(SCHEMA)
                .max_connections(16);
            let store = match PostgresStore::connect(config).await {
                Ok(store) => store,
                Err(error) => panic!("the scaling bench needs PostgreSQL at {url}: {error}"),
            };
            execute(
                &store,
                &format!("DROP SCHEMA IF EXISTS \"{SCHEMA}\" CASCADE"),
            )
            .await;
            if let Err(error) = store.migrate().await {
                panic!("migrate: {error}");
            }
            // N open sessions of the bench organisation and customer, created over the last hour,
            // living a day: the rows the engine would write, with random ids and verifier hashes.
            // In one transaction with no statement timeout: the store's own (a few seconds) is
            // meant for a service's statements, not for writing a million rows at once.
            execute(
                &store,
                &format!(
                    "BEGIN; SET LOCAL statement_timeout = 0; INSERT INTO \"{SCHEMA}\".portal_sessions (id, org_id, customer_id, \
                     customer_external_id, customer_name, customer_email, features, verifier_hash, \
                     created_at, expires_at, version) \
                     SELECT decode(md5(random()::text || g::text), 'hex'), '{org}', '{customer}', \
                     'bench-001', 'Bench Customer', 'billing@bench.test', 15, \
                     sha256(g::text::bytea), created, created + interval '1 day', 0 \
                     FROM generate_series(1, {n}) AS g, \
                     LATERAL (SELECT now() - interval '1 hour' * g / {n} AS created) AS t; \
                     COMMIT",
                    org = org().as_uuid(),
                    customer = customer().id.as_uuid(),
                ),
            )
            .await;
            execute(&store, &format!("ANALYZE \"{SCHEMA}\".portal_sessions")).await;
            store
        });
        let bytes = runtime.block_on(async {
            let client = match store.pool().get().await {
                Ok(client) => client,
                Err(error) => panic!("pool: {error}"),
            };
            let row = client
                .query_one(
                    &format!("SELECT pg_total_relation_size('\"{SCHEMA}\".portal_sessions')"),
                    &[],
                )
                .await;
            match row {
                Ok(row) => row.get::<_, i64>(0).unsigned_abs(),
                Err(error) => panic!("size: {error}"),
            }
        });
        report("postgres", n, bytes, "table, indexes and TOAST");
        let scaled = Scaled::new(Arc::new(store.clone()), SystemClock.now());
        scaled.bench(c, runtime, "postgres", n);
        runtime.block_on(execute(
            &store,
            &format!("DROP SCHEMA IF EXISTS \"{SCHEMA}\" CASCADE"),
        ));
    }
}

fn benches(c: &mut Criterion) {
    let runtime = runtime();
    let backends = std::env::var("PORTAL_SESSIONS_BENCH_BACKENDS")
        .unwrap_or_else(|_| "memory,sled,postgres".to_owned());
    for backend in backends.split(',') {
        match backend.trim() {
            "memory" => memory(c, &runtime),
            name @ ("sled" | "sled-cache") => sled(c, &runtime, name),
            "postgres" => postgres(c, &runtime),
            other => panic!("PORTAL_SESSIONS_BENCH_BACKENDS: unknown backend {other:?}"),
        }
    }
}

criterion_group!(scaling_benches, benches);
criterion_main!(scaling_benches);
