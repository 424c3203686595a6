//! The HTTP contract (`portal_sessions_axum::suite`) against PostgreSQL: every endpoint, page and
//! cookie, with the router at the root of a host app and nested under a prefix in it. Each check
//! gets a fresh schema, dropped afterwards.

portal_sessions_axum::http_tests!(
    postgres,
    portal_sessions_postgres::testing::migrated(portal_sessions_postgres::testing::test_config())
        .await,
    portal_sessions_postgres::testing::teardown
);
