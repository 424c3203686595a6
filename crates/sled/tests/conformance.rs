//! The whole conformance suite against the sled store, each test in a fresh temporary directory
//! (removed when the test's store is dropped), with the default durable flushing.

use portal_sessions_conformance::Guarded;
use portal_sessions_sled::SledStore;

fn open_temp_store() -> Guarded<SledStore, tempfile::TempDir> {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    };
    match SledStore::open(dir.path().join("db")) {
        Ok(store) => Guarded::new(store, dir),
        Err(error) => panic!("open sled store: {error}"),
    }
}

portal_sessions_conformance::store_tests!(open_temp_store());
