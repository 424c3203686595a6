//! One operation sequence, run on the memory store, on the sled store and on the plain model: any
//! difference between an engine's answer and the model's fails (so the stores agree with each other).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use portal_sessions_conformance::fixture::start_time;
use portal_sessions_conformance::model::{Op, check_sequence};
use portal_sessions_memory::MemoryStore;
use portal_sessions_sled::{Durability, SledConfig};

/// Three bytes an operation ([`Op::decode`]), at most 64 of them.
fn decode(data: &[u8]) -> Vec<Op> {
    data.chunks_exact(3)
        .take(64)
        .map(|c| Op::decode(c[0], c[1], c[2]))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let ops = decode(data);
    if ops.is_empty() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(check_sequence(
        Arc::new(MemoryStore::new()),
        &ops,
        start_time(),
    ));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Relaxed durability: crash safety is the crash test's business; here only the answers matter.
    let sled = SledConfig::new(dir.path().join("db"))
        .durability(Durability::Relaxed {
            flush_every: std::time::Duration::from_secs(60),
        })
        .open()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(check_sequence(Arc::new(sled), &ops, start_time()));
});
