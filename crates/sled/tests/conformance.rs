//! The whole conformance suite against the sled store, each test in a fresh temporary directory
//! (removed when the test's store is dropped), with the default durable flushing and a durable-step
//! fault the suite can arm.

use portal_sessions::DurableStepFault;
use portal_sessions_conformance::Guarded;
use portal_sessions_sled::{SledConfig, SledStore};

type TestStore = Guarded<SledStore, (tempfile::TempDir, DurableStepFault)>;

fn open_temp_store() -> TestStore {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    };
    let fault = DurableStepFault::new();
    match SledConfig::new(dir.path().join("db"))
        .durable_step_fault(fault.clone())
        .open()
    {
        Ok(store) => Guarded::new(store, (dir, fault)),
        Err(error) => panic!("open sled store: {error}"),
    }
}

fn fault(store: &TestStore) -> Option<DurableStepFault> {
    Some(store.guard.1.clone())
}

portal_sessions_conformance::store_tests!(store = open_temp_store(), durable_step_fault = fault);
