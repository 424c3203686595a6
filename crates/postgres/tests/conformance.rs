//! The whole conformance suite against a real PostgreSQL, each test in a schema of its own, dropped
//! afterwards.

mod common;

portal_sessions_conformance::store_tests!(
    store = match common::migrated(common::test_config()).await {
        Some(store) => store,
        None => return,
    },
    teardown = common::teardown
);
