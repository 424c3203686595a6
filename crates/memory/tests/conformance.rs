//! The whole conformance suite against the in-memory store, with its event feed.

portal_sessions_conformance::store_tests!(
    portal_sessions_memory::MemoryStore::new().with_event_feed()
);
