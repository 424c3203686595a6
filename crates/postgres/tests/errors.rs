//! Bad connection strings, unreachable servers, missing schemas and concurrent migrations.

mod common;

use std::time::{Duration, Instant};

use portal_sessions::{SessionStore, StoreError};
use portal_sessions_conformance::fixture::new_link;
use portal_sessions_postgres::{PostgresConfig, PostgresStore};

#[tokio::test]
async fn a_malformed_connection_string_is_a_config_error() {
    for url in [
        "postgres://user@host:notaport/db",
        "host=",
        "postgres://[::1",
    ] {
        match PostgresStore::connect(PostgresConfig::new(url)).await {
            Err(error @ StoreError::Config { .. }) => {
                assert!(error.to_string().contains("connection string"), "{error}");
            }
            other => panic!("{url}: expected a configuration error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_invalid_schema_name_is_a_config_error() {
    for schema in [
        "",
        "Upper",
        "1starts_with_digit",
        "pg_reserved",
        "semi;colon",
        &"x".repeat(64),
    ] {
        match PostgresStore::connect(PostgresConfig::new(common::database_url()).schema(schema))
            .await
        {
            Err(error @ StoreError::Config { .. }) => {
                assert!(error.to_string().contains("schema name"), "{error}");
            }
            other => panic!("{schema:?}: expected a configuration error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_connect_timeout() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let started = Instant::now();
    let config = PostgresConfig::new("postgres://postgres@127.0.0.1:1/postgres")
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(2));
    match PostgresStore::connect(config).await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected the server to be unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_missing_schema_is_a_clear_error() {
    let Some(store) = common::connect(common::test_config()).await else {
        return;
    };
    match store.verify_schema().await {
        Err(error @ StoreError::Config { .. }) => {
            assert!(
                error.to_string().contains("run PostgresStore::migrate()"),
                "{error}"
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    match store.get(&new_link().session_id()).await {
        Err(error @ StoreError::Config { .. }) => {
            assert!(
                error.to_string().contains("run PostgresStore::migrate()"),
                "{error}"
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    let all = u32::try_from(portal_sessions_postgres::MIGRATIONS.len()).unwrap_or(u32::MAX);
    assert_eq!(store.migrate().await.ok(), Some(all));
    assert!(store.verify_schema().await.is_ok());
    assert_eq!(store.get(&new_link().session_id()).await.ok(), Some(None));
    common::drop_schema(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_migrating_at_once_apply_each_migration_once() {
    let schema = common::fresh_schema();
    let config = || PostgresConfig::new(common::database_url()).schema(schema.clone());
    let mut stores = Vec::new();
    for _ in 0..8 {
        let Some(store) = common::connect(config()).await else {
            return;
        };
        stores.push(store);
    }
    let mut tasks = Vec::new();
    for store in stores.clone() {
        tasks.push(tokio::spawn(async move { store.migrate().await }));
    }
    let mut applied = 0usize;
    for task in tasks {
        match task.await {
            Ok(Ok(count)) => applied += usize::try_from(count).unwrap_or(usize::MAX),
            Ok(Err(error)) => panic!("a concurrent migrate failed: {error} ({error:?})"),
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(
        applied,
        portal_sessions_postgres::MIGRATIONS.len(),
        "each migration must be applied exactly once"
    );
    assert!(stores[0].verify_schema().await.is_ok());
    common::drop_schema(&stores[0]).await;
}

#[tokio::test]
async fn a_schema_from_a_newer_version_is_refused() {
    let Some(store) = common::migrated(common::test_config()).await else {
        return;
    };
    let client = common::admin_client().await;
    let sql = format!(
        "INSERT INTO \"{}\".portal_sessions_migrations (version, name) VALUES (99, 'future')",
        store.schema().as_str()
    );
    if let Err(error) = client.batch_execute(&sql).await {
        panic!("{error}");
    }
    match store.migrate().await {
        Err(error @ StoreError::Config { .. }) => {
            assert!(error.to_string().contains("newer"), "{error}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    common::drop_schema(&store).await;
}

#[cfg(not(feature = "tls-rustls"))]
#[tokio::test]
async fn tls_without_the_feature_is_a_config_error() {
    match PostgresStore::connect(PostgresConfig::new(common::database_url()).tls(true)).await {
        Err(error @ StoreError::Config { .. }) => {
            assert!(error.to_string().contains("tls-rustls"), "{error}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
