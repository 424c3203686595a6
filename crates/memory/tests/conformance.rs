//! The whole conformance suite against the in-memory store.

portal_sessions_conformance::store_tests!(portal_sessions_memory::MemoryStore::new());
