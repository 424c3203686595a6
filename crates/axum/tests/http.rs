//! The HTTP contract against the memory store, at the root of a host app and nested in it (the
//! checks live in `portal_sessions_axum::suite`, which PostgreSQL runs too).

portal_sessions_axum::http_tests!(
    memory,
    Some(portal_sessions_memory::MemoryStore::new()),
    |_| async {}
);
