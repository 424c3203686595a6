//! Embedded, versioned migrations: applied by the store under an advisory lock
//! ([`PostgresStore::migrate`](crate::PostgresStore::migrate)), or rendered as plain SQL for a
//! host's own migrator ([`migrations_sql`]) and verified
//! ([`Migrations::Verify`](crate::Migrations::Verify)).

use portal_sessions::StoreError;
use tokio_postgres::error::SqlState;

use crate::config::{DEFAULT_SCHEMA, Migrations, SchemaName};
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
    (
        3,
        "recovery",
        include_str!("../migrations/0003_recovery.sql"),
    ),
];

/// The advisory lock's first key: "ps" in ASCII. The second is `hashtext(schema)`, so instances
/// migrating different schemas do not wait for each other.
const LOCK_CLASS: i32 = 0x7073;

/// The sentence of a migration's opening comment that explains `{schema}`, dropped from the
/// rendered SQL (where no placeholder is left to explain).
const PLACEHOLDER_NOTE: &str = "`{schema}` is replaced by the validated, quoted schema name.";

fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

/// `0003_recovery.sql`: the name of a migration's file, in `migrations/` and `sql/` alike.
fn file_name(version: i32, name: &str) -> String {
    format!("{version:04}_{name}.sql")
}

/// Creates the schema and its migrations table, each unless it exists.
fn bookkeeping_sql(quoted: &str) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted};\n\
         CREATE TABLE IF NOT EXISTS {quoted}.portal_sessions_migrations (\n    \
             version    integer     PRIMARY KEY,\n    \
             name       text        NOT NULL,\n    \
             applied_at timestamptz NOT NULL DEFAULT now()\n\
         );\n"
    )
}

/// A migration's own SQL for the schema `quoted`: every `{schema}` replaced, and the comment that
/// explains the placeholder dropped.
fn render_body(sql: &str, quoted: &str) -> String {
    let mut rendered = String::with_capacity(sql.len() + 256);
    for line in sql.lines() {
        let line = if line.trim_start().starts_with("--") && line.contains(PLACEHOLDER_NOTE) {
            let kept = line.replace(PLACEHOLDER_NOTE, "");
            let kept = kept.trim_end();
            if kept.trim_start() == "--" {
                // The line held nothing else.
                continue;
            }
            kept.to_owned()
        } else {
            line.to_owned()
        };
        rendered.push_str(&line.replace("{schema}", quoted));
        rendered.push('\n');
    }
    rendered
}

/// One migration as plain SQL for one schema, ready for a host's migrator: see
/// [`migrations_sql`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migration {
    /// The migration's version: 1, 2, 3, ... in the order they must be applied. The schema's
    /// `portal_sessions_migrations` table records it, and
    /// [`Migrations::Verify`](crate::Migrations::Verify) checks it.
    pub version: i32,
    /// The migration's name, as in its file name (`recovery` for `0003_recovery.sql`).
    pub name: &'static str,
    /// The SQL: run it in one transaction (every migration tool does by default), after the
    /// migrations before it.
    pub sql: String,
}

impl Migration {
    /// The migration's file name, zero-padded so that the files sort in order:
    /// `0003_recovery.sql`. The crate ships the files under these names in `sql/`, rendered for
    /// the default schema. A host whose migrator numbers its own migrations (sqlx migrate takes the
    /// number before the first `_` as the version) gives the file a number of its own instead: see
    /// "Living beside a host on sqlx" in the [crate documentation](crate).
    pub fn file_name(&self) -> String {
        file_name(self.version, self.name)
    }
}

/// Every migration this crate knows, in order, as plain SQL for `schema`: for a host that applies
/// migrations with its own tool (sqlx migrate, refinery, Flyway, ...) rather than
/// [`PostgresStore::migrate`](crate::PostgresStore::migrate).
///
/// Each migration is self-contained SQL with the schema name validated ([`SchemaName`]) and
/// quoted, and no placeholder left. It first takes the advisory lock that
/// [`PostgresStore::migrate`](crate::PostgresStore::migrate) takes, so the two never run at once on
/// one schema; the first also creates the schema, unless it exists, and its
/// `portal_sessions_migrations` table; each ends by recording its version there, exactly as
/// [`PostgresStore::migrate`](crate::PostgresStore::migrate) would have, so the store recognises
/// the schema ([`Migrations::Verify`](crate::Migrations::Verify) checks it at connect), and a later
/// [`PostgresStore::migrate`](crate::PostgresStore::migrate) would continue from it. A migration
/// already recorded fails if run again (its version is the table's primary key), rolling its
/// transaction back.
///
/// The text of a migration never changes once released: migration tools keep a checksum of every
/// file they applied (sqlx refuses to start when one changed), so a file copied into a host's
/// migrations stays valid across upgrades of this crate, and an upgrade only adds files.
///
/// # Shipped files
///
/// The crate ships these migrations rendered for the default schema, `portal_sessions`
/// ([`DEFAULT_SCHEMA`](crate::DEFAULT_SCHEMA)), as `sql/0001_portal_sessions.sql` and so on. They
/// are generated by this function, and the test `sql_files` fails when they differ from what it
/// renders. After adding or changing a migration in `migrations/`, regenerate them with
///
/// ```text
/// PORTAL_SESSIONS_TEST_REGENERATE_SQL=1 cargo test -p portal-sessions-postgres --test sql_files
/// ```
///
/// # Examples
///
/// Writing the migrations for the schema `billing_portal` into a host's migrations directory:
///
/// ```no_run
/// use portal_sessions_postgres::migrations_sql;
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// for migration in migrations_sql("billing_portal")? {
///     let path = format!("migrations/{}", migration.file_name());
///     std::fs::write(path, &migration.sql)?;
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`StoreError::Config`] when `schema` is not a valid [`SchemaName`].
pub fn migrations_sql(schema: &str) -> Result<Vec<Migration>, StoreError> {
    let schema = SchemaName::new(schema)?;
    let quoted = schema.quoted();
    // A validated name has no quote of any kind: it can be written as a string literal as is.
    let literal = schema.as_str();
    Ok(MIGRATIONS
        .iter()
        .map(|&(version, name, sql)| {
            let mut rendered = format!(
                "-- portal-sessions-postgres migration {version} ({name}) for the schema \"{literal}\",\n\
                 -- as portal_sessions_postgres::migrations_sql renders it: do not edit. Apply the\n\
                 -- migrations in order, each in one transaction. The last statement records this one in\n\
                 -- the schema's portal_sessions_migrations table, which Migrations::Verify checks.\n\
                 \n\
                 -- Waits for any other portal-sessions migration of this schema.\n\
                 SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext('{literal}'));\n"
            );
            if version == 1 {
                rendered.push_str(
                    "\n-- The schema, and the table of the migrations applied to it, unless they exist.\n",
                );
                rendered.push_str(&bookkeeping_sql(&quoted));
            }
            rendered.push('\n');
            rendered.push_str(&render_body(sql, &quoted));
            rendered.push_str(&format!(
                "\nINSERT INTO {quoted}.portal_sessions_migrations (version, name)\n    \
                 VALUES ({version}, '{}');\n",
                name.replace('\'', "''")
            ));
            Migration {
                version,
                name,
                sql: rendered,
            }
        })
        .collect())
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
    tx.batch_execute(&bookkeeping_sql(&quoted))
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
        return Err(newer(schema, current));
    }
    let mut applied = 0;
    for (version, name, sql) in MIGRATIONS
        .iter()
        .filter(|(version, _, _)| *version > current)
    {
        tx.batch_execute(&render_body(sql, &quoted))
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

/// The error for a schema migrated by a newer version of this crate.
fn newer(schema: &SchemaName, current: i32) -> StoreError {
    StoreError::config(
        format!(
            "schema \"{}\" is at migration {current}, newer than this version of portal-sessions \
             knows ({}): upgrade portal-sessions-postgres",
            schema.as_str(),
            latest()
        ),
        None,
    )
}

/// A failure while verifying: a refused privilege is a configuration error that says which.
fn verify_error(error: tokio_postgres::Error, schema: &SchemaName) -> StoreError {
    let refused = error
        .as_db_error()
        .is_some_and(|db| *db.code() == SqlState::INSUFFICIENT_PRIVILEGE);
    if refused {
        StoreError::config(
            format!(
                "the database role was refused access to the portal-sessions tables of schema \
                 \"{}\": grant it USAGE on the schema, SELECT, INSERT, UPDATE and DELETE on \
                 portal_sessions, and SELECT on portal_sessions_migrations",
                schema.as_str()
            ),
            Some(Box::new(error)),
        )
    } else {
        pg_error(error, schema)
    }
}

/// What brings a schema that lacks `missing` up to date, for whoever applies the migrations.
fn remedy(schema: &SchemaName, missing: &[(i32, &str)], migrations: Migrations) -> String {
    if migrations == Migrations::Apply {
        return "run PostgresStore::migrate()".to_owned();
    }
    let default = schema.as_str() == DEFAULT_SCHEMA;
    let files: Vec<String> = missing
        .iter()
        .map(|&(version, name)| {
            let file = file_name(version, name);
            if default { format!("sql/{file}") } else { file }
        })
        .collect();
    let files = files.join(", ");
    let (in_order, it) = if missing.len() > 1 {
        (", in order", "them")
    } else {
        ("", "it")
    };
    if default {
        format!("apply {files} of portal-sessions-postgres{in_order}")
    } else {
        format!(
            "apply {files}{in_order}, as portal_sessions_postgres::migrations_sql(\"{}\") renders \
             {it} for this schema",
            schema.as_str()
        )
    }
}

/// Checks that the schema holds every migration this crate knows and no newer one, and that the
/// role may use its table; `migrations` says who applies them, for the error's advice.
pub(crate) async fn verify(
    client: &tokio_postgres::Client,
    schema: &SchemaName,
    migrations: Migrations,
) -> Result<(), StoreError> {
    let quoted = schema.quoted();
    let fail = |error| verify_error(error, schema);
    let exists: bool = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{quoted}.portal_sessions_migrations")],
        )
        .await
        .map_err(fail)?
        .try_get(0)
        .map_err(fail)?;
    let recorded: Vec<i32> = if exists {
        client
            .query(
                &format!(
                    "SELECT version FROM {quoted}.portal_sessions_migrations ORDER BY version"
                ),
                &[],
            )
            .await
            .map_err(fail)?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(fail)?
    } else {
        Vec::new()
    };
    let current = recorded.last().copied().unwrap_or(0);
    if current > latest() {
        return Err(newer(schema, current));
    }
    let missing: Vec<(i32, &str)> = MIGRATIONS
        .iter()
        .filter(|(version, _, _)| !recorded.contains(version))
        .map(|&(version, name, _)| (version, name))
        .collect();
    if let Some(&(first_missing, _)) = missing.first() {
        let state = if !exists {
            "has no portal-sessions tables (version 0)".to_owned()
        } else if first_missing < current {
            format!("is at version {current}, without migration {first_missing}")
        } else {
            format!("is at version {current}")
        };
        return Err(StoreError::config(
            format!(
                "schema \"{}\" {state}; this version of portal-sessions needs {}: {}",
                schema.as_str(),
                latest(),
                remedy(schema, &missing, migrations)
            ),
            None,
        ));
    }
    let row = client
        .query_one(
            "SELECT current_user::text, has_table_privilege($1, 'SELECT'), \
             has_table_privilege($1, 'INSERT'), has_table_privilege($1, 'UPDATE'), \
             has_table_privilege($1, 'DELETE')",
            &[&format!("{quoted}.portal_sessions")],
        )
        .await
        .map_err(fail)?;
    let role: String = row.try_get(0).map_err(fail)?;
    let mut lacking = Vec::new();
    for (index, privilege) in [(1, "SELECT"), (2, "INSERT"), (3, "UPDATE"), (4, "DELETE")] {
        if !row.try_get::<_, bool>(index).map_err(fail)? {
            lacking.push(privilege);
        }
    }
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(StoreError::config(
            format!(
                "the database role \"{role}\" lacks {} on \"{}\".portal_sessions: grant them",
                lacking.join(", "),
                schema.as_str()
            ),
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remedy_names_the_files_to_apply() {
        let default = SchemaName::new(DEFAULT_SCHEMA).unwrap_or_else(|error| panic!("{error}"));
        let other = SchemaName::new("billing").unwrap_or_else(|error| panic!("{error}"));
        let one = [(3, "recovery")];
        let two = [(2, "lists_locales_and_events"), (3, "recovery")];
        assert_eq!(
            remedy(&default, &one, Migrations::Verify),
            "apply sql/0003_recovery.sql of portal-sessions-postgres"
        );
        assert_eq!(
            remedy(&default, &two, Migrations::Verify),
            "apply sql/0002_lists_locales_and_events.sql, sql/0003_recovery.sql of \
             portal-sessions-postgres, in order"
        );
        assert_eq!(
            remedy(&other, &one, Migrations::Verify),
            "apply 0003_recovery.sql, as portal_sessions_postgres::migrations_sql(\"billing\") \
             renders it for this schema"
        );
        assert_eq!(
            remedy(&other, &two, Migrations::Apply),
            "run PostgresStore::migrate()"
        );
    }

    #[test]
    fn rendering_drops_only_the_placeholder_note() {
        let sql = "-- version 9. `{schema}` is replaced by the validated, quoted schema name.\n\
                   -- `{schema}` is replaced by the validated, quoted schema name.\n\
                   --\n\
                   CREATE TABLE {schema}.t (a int); -- in {schema}\n";
        assert_eq!(
            render_body(sql, "\"s\""),
            "-- version 9.\n--\nCREATE TABLE \"s\".t (a int); -- in \"s\"\n"
        );
    }
}
