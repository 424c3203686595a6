//! Helpers for tests that need a real PostgreSQL, shared by this workspace's test suites.
//!
//! Tests read `PORTAL_SESSIONS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), work in a fresh schema each, and drop it after.
//! When no server answers they skip with a loud message, unless `PORTAL_SESSIONS_REQUIRE_POSTGRES=1`,
//! where they fail.

use std::sync::Arc;

use crate::{PostgresConfig, PostgresStore};
use portal_sessions::SessionId;

/// The database the tests use.
pub fn database_url() -> String {
    std::env::var("PORTAL_SESSIONS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether a missing server fails the tests instead of skipping them.
pub fn required() -> bool {
    std::env::var("PORTAL_SESSIONS_REQUIRE_POSTGRES").is_ok_and(|value| value == "1")
}

/// A schema name no other test uses.
pub fn fresh_schema() -> String {
    let id = SessionId::generate()
        .map(|id| id.as_bytes()[..8].to_vec())
        .unwrap_or_default();
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!("pstest_{hex}")
}

/// A configuration for a fresh schema of the test database.
pub fn test_config() -> PostgresConfig {
    PostgresConfig::new(database_url()).schema(fresh_schema())
}

/// Connects with `config`; `None` (after a loud message) when no server answers and the tests may
/// skip.
pub async fn connect(config: PostgresConfig) -> Option<PostgresStore> {
    match PostgresStore::connect(config).await {
        Ok(store) => Some(store),
        Err(error) if required() => {
            panic!(
                "PostgreSQL is required (PORTAL_SESSIONS_REQUIRE_POSTGRES=1) but {}: {error} ({error:?})",
                database_url()
            )
        }
        Err(error) => {
            eprintln!(
                "\n!!! SKIPPING a PostgreSQL test: no server at {} ({error}). Set \
                 PORTAL_SESSIONS_TEST_DATABASE_URL, or PORTAL_SESSIONS_REQUIRE_POSTGRES=1 to fail instead.\n",
                database_url()
            );
            None
        }
    }
}

/// A migrated store on a fresh schema, or `None` when the test should skip.
pub async fn migrated(config: PostgresConfig) -> Option<PostgresStore> {
    let store = connect(config).await?;
    if let Err(error) = store.migrate().await {
        panic!("migrate: {error} ({error:?})");
    }
    Some(store)
}

/// Drops the store's schema and everything in it.
pub async fn drop_schema(store: &PostgresStore) {
    let client = match store.pool().get().await {
        Ok(client) => client,
        Err(error) => panic!("dropping the test schema: {error}"),
    };
    let sql = format!(
        "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
        store.schema().as_str()
    );
    if let Err(error) = client.batch_execute(&sql).await {
        panic!("dropping the test schema: {error}");
    }
}

/// The conformance suite's teardown.
pub async fn teardown(store: Arc<PostgresStore>) {
    drop_schema(&store).await;
}

/// A plain client on the test database, outside any store's pool.
///
/// # Panics
///
/// When it cannot connect (call it only after [`connect`] succeeded).
pub async fn admin_client() -> tokio_postgres::Client {
    let (client, connection) =
        match tokio_postgres::connect(&database_url(), tokio_postgres::NoTls).await {
            Ok(pair) => pair,
            Err(error) => panic!("admin connection: {error}"),
        };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
