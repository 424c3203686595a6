//! A schema migrated by the host's own tool, from the plain SQL `migrations_sql` renders, is
//! recognised under `Migrations::Verify`; one that is empty, behind or ahead is refused with a
//! message that names what to do; and a store shares a pool the host built.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use portal_sessions::StoreError;
use portal_sessions_postgres::{
    MIGRATIONS, Migrations, PostgresConfig, PostgresStore, migrations_sql,
};

/// Whether a server answers (`None` skips the test, or fails it under
/// `PORTAL_SESSIONS_REQUIRE_POSTGRES=1`).
async fn server() -> Option<()> {
    common::connect(common::test_config()).await.map(drop)
}

/// Applies the first `count` rendered migrations to `schema` as a host's migrator would: each
/// file in a transaction of its own, on a plain client.
async fn apply_as_host(client: &mut tokio_postgres::Client, schema: &str, count: usize) {
    for migration in migrations_sql(schema).unwrap().into_iter().take(count) {
        let tx = client.transaction().await.unwrap();
        tx.batch_execute(&migration.sql)
            .await
            .unwrap_or_else(|error| panic!("{}: {error:?}", migration.file_name()));
        tx.commit().await.unwrap();
    }
}

async fn drop_schema(client: &tokio_postgres::Client, schema: &str) {
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

fn verifying(schema: &str) -> PostgresConfig {
    PostgresConfig::new(common::database_url())
        .schema(schema)
        .migrations(Migrations::Verify)
}

async fn recorded_versions(client: &tokio_postgres::Client, schema: &str) -> Vec<i32> {
    client
        .query(
            &format!("SELECT version FROM \"{schema}\".portal_sessions_migrations ORDER BY 1"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Connecting with `Verify` fails with a configuration error; its message.
async fn refused(config: PostgresConfig) -> String {
    match PostgresStore::connect(config).await {
        Err(error @ StoreError::Config { .. }) => error.to_string(),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_schema_migrated_by_the_host_is_verified_and_served() {
    let Some(()) = server().await else { return };
    let schema = common::fresh_schema();
    let mut client = common::admin_client().await;
    apply_as_host(&mut client, &schema, MIGRATIONS.len()).await;
    let all: Vec<i32> = MIGRATIONS.iter().map(|(version, _, _)| *version).collect();
    assert_eq!(recorded_versions(&client, &schema).await, all);

    let store = PostgresStore::connect(verifying(&schema)).await.unwrap();
    store.verify_schema().await.unwrap();
    // Under Verify, migrate applies nothing.
    assert_eq!(store.migrate().await.unwrap(), 0);
    assert_eq!(recorded_versions(&client, &schema).await, all);
    // The store works on the host's schema: every field round-trips, a link is redeemed once.
    portal_sessions_conformance::run_check(
        store.clone(),
        portal_sessions_conformance::round_trips_every_field,
        portal_sessions_conformance::no_teardown,
    )
    .await;
    portal_sessions_conformance::run_check(
        store,
        portal_sessions_conformance::racing_redeems_have_one_winner,
        portal_sessions_conformance::no_teardown,
    )
    .await;
    drop_schema(&client, &schema).await;
}

#[tokio::test]
async fn the_store_continues_a_schema_the_host_began() {
    // A host that applied the first migrations with its tool, then lets the store apply the rest:
    // both keep the same books.
    let Some(()) = server().await else { return };
    let schema = common::fresh_schema();
    let mut client = common::admin_client().await;
    apply_as_host(&mut client, &schema, 1).await;
    let store = PostgresStore::connect(PostgresConfig::new(common::database_url()).schema(&schema))
        .await
        .unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        u32::try_from(MIGRATIONS.len() - 1).unwrap()
    );
    store.verify_schema().await.unwrap();
    drop_schema(&client, &schema).await;
}

#[tokio::test]
async fn verify_names_what_an_empty_or_missing_schema_lacks() {
    let Some(()) = server().await else { return };
    let client = common::admin_client().await;
    let (latest, first_name) = (MIGRATIONS.len(), MIGRATIONS[0].1);
    // No schema at all, then a schema without tables.
    let schema = common::fresh_schema();
    for create in [false, true] {
        if create {
            client
                .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
                .await
                .unwrap();
        }
        let message = refused(verifying(&schema)).await;
        assert!(message.contains("version 0"), "{message}");
        assert!(message.contains(&format!("needs {latest}")), "{message}");
        assert!(
            message.contains(&format!("0001_{first_name}.sql")),
            "{message}"
        );
        assert!(
            message.contains(&format!("migrations_sql(\"{schema}\")")),
            "a schema of its own is told how to render its files: {message}"
        );
    }
    // Nothing was created or changed.
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1",
            &[&schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "Verify runs no DDL");
    drop_schema(&client, &schema).await;
}

#[tokio::test]
async fn verify_names_the_migration_a_schema_one_behind_lacks() {
    let Some(()) = server().await else { return };
    let schema = common::fresh_schema();
    let mut client = common::admin_client().await;
    let latest = MIGRATIONS.len();
    apply_as_host(&mut client, &schema, latest - 1).await;
    let (version, name, _) = MIGRATIONS[latest - 1];
    let message = refused(verifying(&schema)).await;
    assert!(
        message.contains(&format!("is at version {}; ", version - 1)),
        "{message}"
    );
    assert!(message.contains(&format!("needs {version}")), "{message}");
    assert!(
        message.contains(&format!("apply {version:04}_{name}.sql, as")),
        "{message}"
    );

    // A store opened to apply migrations, but set to Verify, refuses the same way and applies
    // nothing: the host's tool owns the schema.
    let store = PostgresStore::connect(PostgresConfig::new(common::database_url()).schema(&schema))
        .await
        .unwrap();
    let store = PostgresStore::from_pool(
        store.pool().clone(),
        PostgresConfig::default()
            .schema(&schema)
            .migrations(Migrations::Verify),
    )
    .await;
    assert!(matches!(store, Err(StoreError::Config { .. })), "{store:?}");
    assert_eq!(
        recorded_versions(&client, &schema).await.len(),
        latest - 1,
        "nothing applied"
    );

    // The missing file, applied as the message says, is all it takes.
    let last = migrations_sql(&schema).unwrap().pop().unwrap();
    let tx = client.transaction().await.unwrap();
    tx.batch_execute(&last.sql).await.unwrap();
    tx.commit().await.unwrap();
    PostgresStore::connect(verifying(&schema)).await.unwrap();

    // Applied twice, a migration fails and changes nothing.
    let tx = client.transaction().await.unwrap();
    assert!(tx.batch_execute(&last.sql).await.is_err());
    drop(tx);
    drop_schema(&client, &schema).await;
}

#[tokio::test]
async fn verify_refuses_a_schema_from_a_newer_version() {
    let Some(()) = server().await else { return };
    let schema = common::fresh_schema();
    let mut client = common::admin_client().await;
    apply_as_host(&mut client, &schema, MIGRATIONS.len()).await;
    client
        .batch_execute(&format!(
            "INSERT INTO \"{schema}\".portal_sessions_migrations (version, name) VALUES (99, 'future')"
        ))
        .await
        .unwrap();
    let message = refused(verifying(&schema)).await;
    assert!(message.contains("at migration 99, newer"), "{message}");
    drop_schema(&client, &schema).await;
}

#[tokio::test]
async fn verify_names_a_privilege_the_role_lacks() {
    let Some(()) = server().await else { return };
    let schema = common::fresh_schema();
    let role = format!("{schema}_app");
    let mut client = common::admin_client().await;
    apply_as_host(&mut client, &schema, MIGRATIONS.len()).await;
    // A role that may read and insert, but not update or delete.
    client
        .batch_execute(&format!(
            "CREATE ROLE \"{role}\" LOGIN;
             GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\";
             GRANT SELECT, INSERT ON \"{schema}\".portal_sessions TO \"{role}\";
             GRANT SELECT ON \"{schema}\".portal_sessions_migrations TO \"{role}\";"
        ))
        .await
        .unwrap();
    let as_role = |url: &str| -> Option<String> {
        let rest = url.strip_prefix("postgres://")?;
        let (_, host) = rest.split_once('@')?;
        Some(format!("postgres://{role}@{host}"))
    };
    if let Some(url) = as_role(&common::database_url()) {
        let config = PostgresConfig::new(url)
            .schema(&schema)
            .migrations(Migrations::Verify);
        match PostgresStore::connect(config).await {
            Err(error @ StoreError::Config { .. }) => {
                let message = error.to_string();
                assert!(message.contains("lacks UPDATE, DELETE"), "{message}");
            }
            // A server that does not trust the new role (a password it does not have) says
            // nothing about privileges.
            Err(error) if error.to_string().contains("refused the login") => {}
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }
    drop_schema(&client, &schema).await;
    client
        .batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
        .await
        .unwrap();
}

fn host_pool(max: usize) -> Pool {
    let pg: tokio_postgres::Config = common::database_url().parse().unwrap();
    let manager = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager).max_size(max).build().unwrap()
}

#[tokio::test]
async fn a_store_shares_a_pool_the_host_built() {
    let Some(()) = server().await else { return };
    let schema = common::fresh_schema();
    let pool = host_pool(4);
    let store = PostgresStore::from_pool(pool.clone(), PostgresConfig::default().schema(&schema))
        .await
        .unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        u32::try_from(MIGRATIONS.len()).unwrap()
    );
    // A second store on the same pool, verifying what the first applied.
    let verified = PostgresStore::from_pool(
        pool.clone(),
        PostgresConfig::default()
            .schema(&schema)
            .migrations(Migrations::Verify),
    )
    .await
    .unwrap();
    portal_sessions_conformance::run_check(
        verified,
        portal_sessions_conformance::round_trips_every_field,
        portal_sessions_conformance::no_teardown,
    )
    .await;
    // The host keeps using its pool beside the store, which stayed within it.
    let host = pool.get().await.unwrap();
    let one: i32 = host.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    drop(host);
    assert!(pool.status().size <= 4, "{:?}", pool.status());
    common::teardown(Arc::new(store)).await;
}

#[tokio::test]
async fn connect_refuses_a_configuration_without_a_url() {
    match PostgresStore::connect(PostgresConfig::default()).await {
        Err(error @ StoreError::Config { .. }) => {
            assert!(error.to_string().contains("from_pool"), "{error}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
