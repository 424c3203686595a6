//! The plain SQL migrations shipped in `sql/` are exactly what `migrations_sql` renders for the
//! default schema, so they cannot drift from `migrations/`. No database needed.
//!
//! Regenerate them after changing `migrations/`:
//!
//! ```text
//! PORTAL_SESSIONS_TEST_REGENERATE_SQL=1 cargo test -p portal-sessions-postgres --test sql_files
//! ```

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use portal_sessions_postgres::{DEFAULT_SCHEMA, MIGRATIONS, migrations_sql};

const REGENERATE: &str =
    "PORTAL_SESSIONS_TEST_REGENERATE_SQL=1 cargo test -p portal-sessions-postgres --test sql_files";

fn sql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sql")
}

/// The `.sql` files in `sql/`, by name.
fn shipped() -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(sql_dir()) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn shipped_sql_files_match_the_renderer() {
    let rendered: BTreeMap<String, String> = migrations_sql(DEFAULT_SCHEMA)
        .unwrap()
        .into_iter()
        .map(|migration| (migration.file_name(), migration.sql))
        .collect();
    if std::env::var("PORTAL_SESSIONS_TEST_REGENERATE_SQL").is_ok_and(|value| value == "1") {
        std::fs::create_dir_all(sql_dir()).unwrap();
        for stale in shipped()
            .keys()
            .filter(|name| !rendered.contains_key(*name))
        {
            std::fs::remove_file(sql_dir().join(stale)).unwrap();
        }
        for (name, sql) in &rendered {
            std::fs::write(sql_dir().join(name), sql).unwrap();
        }
    }
    let shipped = shipped();
    assert_eq!(
        shipped.keys().collect::<Vec<_>>(),
        rendered.keys().collect::<Vec<_>>(),
        "the files in {} are not the migrations: regenerate them with `{REGENERATE}`",
        sql_dir().display()
    );
    for (name, sql) in &rendered {
        assert!(
            shipped[name] == *sql,
            "{}/{name} differs from what migrations_sql renders: regenerate it with \
             `{REGENERATE}` (and never change a released migration: hosts' migrators keep its \
             checksum)",
            sql_dir().display()
        );
    }
}

#[test]
fn rendered_migrations_are_complete_and_quoted() {
    let migrations = migrations_sql("billing_portal").unwrap();
    assert_eq!(migrations.len(), MIGRATIONS.len());
    for (migration, (version, name, _)) in migrations.iter().zip(MIGRATIONS) {
        assert_eq!((migration.version, migration.name), (*version, *name));
        assert_eq!(
            migration.file_name(),
            format!("{version:04}_{name}.sql"),
            "the file name of migration {version}"
        );
        assert!(!migration.sql.contains("{schema}"), "{}", migration.sql);
        assert!(
            migration.sql.trim_end().ends_with(&format!(
                "INSERT INTO \"billing_portal\".portal_sessions_migrations (version, name)\n    \
                 VALUES ({version}, '{name}');"
            )),
            "migration {version} ends by recording itself: {}",
            migration.sql
        );
        assert!(migration.sql.contains("\"billing_portal\".portal_sessions"));
        assert!(
            !migration.sql.contains("\"portal_sessions\""),
            "only the schema asked for"
        );
    }
    assert!(
        migrations[0]
            .sql
            .contains("CREATE SCHEMA IF NOT EXISTS \"billing_portal\";")
    );
}

#[test]
fn an_invalid_schema_name_renders_nothing() {
    for schema in ["", "Upper", "x\"; DROP TABLE y; --", "pg_catalog", "1abc"] {
        match migrations_sql(schema) {
            Err(error @ portal_sessions::StoreError::Config { .. }) => {
                assert!(error.to_string().contains("schema name"), "{error}");
            }
            other => panic!("{schema:?}: expected a configuration error, got {other:?}"),
        }
    }
}
