//! Bad connection strings, unreachable servers, missing schemas and concurrent migrations.

mod common;

use std::time::{Duration, Instant};

use portal_sessions::{ErrorChain, SessionStore, StoreError};
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

/// `url` with its user or its database replaced.
fn with_part(url: &str, user: Option<&str>, database: Option<&str>) -> Option<String> {
    let rest = url.strip_prefix("postgres://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (old_user, host) = authority.rsplit_once('@')?;
    let (old_database, query) = path
        .split_once('?')
        .map_or((path, None), |(d, q)| (d, Some(q)));
    let query = query.map_or(String::new(), |query| format!("?{query}"));
    Some(format!(
        "postgres://{}@{host}/{}{query}",
        user.unwrap_or(old_user),
        database.unwrap_or(old_database)
    ))
}

#[tokio::test]
async fn a_refused_login_and_an_unknown_database_are_config_errors_at_once() {
    // Only where a server answers: the first connection says whether it does.
    let Some(store) = common::connect(common::test_config()).await else {
        return;
    };
    drop(store);
    let url = common::database_url();
    let (Some(stranger), Some(nowhere)) = (
        with_part(&url, Some("portal_sessions_no_such_role"), None),
        with_part(&url, None, Some("portal_sessions_no_such_database")),
    ) else {
        eprintln!("\n!!! SKIPPING: the test database URL is not postgres://user@host/db\n");
        return;
    };
    for (url, expected) in [(stranger, "refused the login"), (nowhere, "does not exist")] {
        let started = Instant::now();
        match PostgresStore::connect(PostgresConfig::new(url)).await {
            Err(error @ StoreError::Config { .. }) => {
                assert!(error.to_string().contains(expected), "{error}");
                assert!(
                    ErrorChain(&error).to_string().contains("FATAL"),
                    "the server's own words are kept: {}",
                    ErrorChain(&error)
                );
            }
            other => panic!("expected a configuration error ({expected}), got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2));
    }
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
