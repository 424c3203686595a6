//! What opening the sled store costs now that its indexes live in memory: the time to open a store
//! of N sessions (every record read once, streaming, into the index) beside the time sled itself
//! takes to iterate those records, and the heap the index holds per session.
//!
//! `cargo bench -p portal-sessions-benches --bench sled_open` (`PORTAL_SESSIONS_BENCH_OPEN_N` sets N,
//! 10^6 by default). The heap is counted by this bench's allocator.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions::{Clock, SessionStore, SystemClock};
use portal_sessions_benches::runtime;
use portal_sessions_conformance::fixture::{issued_record, new_customer, new_org};
use portal_sessions_sled::{Durability, SledConfig};

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter does not touch the memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as `System::alloc`, with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as `System::dealloc`, with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn sessions() -> u64 {
    std::env::var("PORTAL_SESSIONS_BENCH_OPEN_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// Opens the database with sled alone and reads every record once: the baseline of an open.
fn iterate_records(path: &std::path::Path) -> (sled::Db, u64) {
    let db = sled::open(path).unwrap_or_else(|error| panic!("sled: {error}"));
    let tree = db
        .open_tree("records")
        .unwrap_or_else(|error| panic!("sled: {error}"));
    let count = tree.iter().filter(Result::is_ok).count();
    (db, u64::try_from(count).unwrap_or(u64::MAX))
}

fn benches(c: &mut Criterion) {
    let runtime = runtime();
    let n = sessions();
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    };
    let path = dir.path().join("db");
    let open = || {
        SledConfig::new(&path)
            .durability(Durability::Relaxed {
                flush_every: Duration::from_millis(100),
            })
            .open()
            .unwrap_or_else(|error| panic!("sled: {error}"))
    };
    {
        let store = open();
        let org = new_org();
        let customer = new_customer("Opened");
        let now = SystemClock.now();
        runtime.block_on(async {
            for _ in 0..n {
                let (record, _) = issued_record(org, &customer, now);
                if let Err(error) = store.insert(&record).await {
                    panic!("fill: {error}");
                }
            }
            if let Err(error) = store.flush().await {
                panic!("flush: {error}");
            }
        });
    }
    // The heap the open store holds beyond sled's own page cache: measured around one open, with
    // sled's iteration (which fills the cache) measured the same way on its own below.
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let store = open();
    let with_index = LIVE_BYTES.load(Ordering::Relaxed) - before;
    drop(store);
    std::thread::sleep(Duration::from_millis(200));
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let (db, count) = iterate_records(&path);
    let sled_alone = LIVE_BYTES.load(Ordering::Relaxed) - before;
    drop(db);
    std::thread::sleep(Duration::from_millis(200));
    println!(
        "sled_open: {n} sessions ({count} iterated); heap held after opening: {} bytes with the \
         index, {} bytes for sled's iteration alone; the index: about {} bytes a session",
        with_index,
        sled_alone,
        (with_index - sled_alone) / i64::try_from(n).unwrap_or(i64::MAX).max(1) as isize
    );

    let mut group = c.benchmark_group("sled_open");
    group.sample_size(10);
    group.bench_function("iterate_records_raw", |b| {
        b.iter(|| {
            let (db, count) = iterate_records(&path);
            drop(db);
            std::thread::sleep(Duration::from_millis(50));
            count
        });
    });
    group.bench_function("open_store", |b| {
        b.iter(|| {
            let store = open();
            let sessions = store.len();
            drop(store);
            std::thread::sleep(Duration::from_millis(50));
            sessions
        });
    });
    group.finish();
}

criterion_group!(sled_open, benches);
criterion_main!(sled_open);
