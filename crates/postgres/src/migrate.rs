//! Embedded, versioned migrations, applied under an advisory lock.

use portal_sessions::StoreError;

use crate::config::SchemaName;
use crate::pg_error;

/// The migrations this crate knows, in order: (version, name, SQL with `{schema}` for the quoted
/// schema name).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "portal_sessions",
        include_str!("../migrations/0001_portal_sessions.sql"),
    ),
    (
        2,
        "lists_locales_and_events",
        include_str!("../migrations/0002_lists_locales_and_events.sql"),
    ),
];

/// The advisory lock's first key: "ps" in ASCII. The second is `hashtext(schema)`, so instances
/// migrating different schemas do not wait for each other.
const LOCK_CLASS: i32 = 0x7073;

fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

/// Applies the missing migrations in one transaction; returns how many.
pub(crate) async fn apply(
    client: &mut tokio_postgres::Client,
    schema: &SchemaName,
) -> Result<u32, StoreError> {
    let pg = |error| pg_error(error, schema);
    let quoted = schema.quoted();
    let tx = client.transaction().await.map_err(pg)?;
    // Taken first, so that concurrent callers run one after another from here on, even the
    // CREATE SCHEMA below, which is not safe against itself under concurrency.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &schema.as_str()],
    )
    .await
    .map_err(pg)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted};
         CREATE TABLE IF NOT EXISTS {quoted}.portal_sessions_migrations (
             version    integer     PRIMARY KEY,
             name       text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(pg)?;
    let current: i32 = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {quoted}.portal_sessions_migrations"),
            &[],
        )
        .await
        .map_err(pg)?
        .try_get(0)
        .map_err(pg)?;
    if current > latest() {
        return Err(StoreError::config(
            format!(
                "schema \"{}\" is at migration {current}, newer than this version knows ({})",
                schema.as_str(),
                latest()
            ),
            None,
        ));
    }
    let mut applied = 0;
    for (version, name, sql) in MIGRATIONS
        .iter()
        .filter(|(version, _, _)| *version > current)
    {
        tx.batch_execute(&sql.replace("{schema}", &quoted))
            .await
            .map_err(pg)?;
        tx.execute(
            &format!(
                "INSERT INTO {quoted}.portal_sessions_migrations (version, name) VALUES ($1, $2)"
            ),
            &[version, name],
        )
        .await
        .map_err(pg)?;
        applied += 1;
    }
    tx.commit().await.map_err(pg)?;
    if applied > 0 {
        tracing::info!(
            schema = schema.as_str(),
            applied,
            "portal-sessions migrations applied"
        );
    }
    Ok(applied)
}

/// Checks that the schema is at the latest migration.
pub(crate) async fn verify(
    client: &tokio_postgres::Client,
    schema: &SchemaName,
) -> Result<(), StoreError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{}.portal_sessions_migrations", schema.quoted())],
        )
        .await
        .map_err(|error| pg_error(error, schema))?
        .try_get(0)
        .map_err(|error| pg_error(error, schema))?;
    if !exists {
        return Err(StoreError::config(
            format!(
                "schema \"{}\" has no portal-sessions tables: run PostgresStore::migrate()",
                schema.as_str()
            ),
            None,
        ));
    }
    let current: i32 = client
        .query_one(
            &format!(
                "SELECT coalesce(max(version), 0) FROM {}.portal_sessions_migrations",
                schema.quoted()
            ),
            &[],
        )
        .await
        .map_err(|error| pg_error(error, schema))?
        .try_get(0)
        .map_err(|error| pg_error(error, schema))?;
    if current == latest() {
        Ok(())
    } else {
        Err(StoreError::config(
            format!(
                "schema \"{}\" is at migration {current}, this version needs {}: run PostgresStore::migrate()",
                schema.as_str(),
                latest()
            ),
            None,
        ))
    }
}
