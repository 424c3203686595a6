//! The environment's `PORTAL_SESSIONS_*` variables and the flags, put over the file's values.
//! Which variables there are follows from the schema's top-level keys.

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::Overrides;
use super::report::without_values;
use super::report::{ConfigError, ConfigErrors, ENVIRONMENT, Origin, Rank, Report, closest};
use super::shape::Shape;

/// The prefix of the environment variables that configure the server.
pub const ENV_PREFIX: &str = "PORTAL_SESSIONS_";

/// The `PORTAL_SESSIONS_*` variables that are not configuration, by prefix, and so are ignored:
/// the ones the tests, the benchmarks and CI use for themselves, which the server inherits when a
/// test runs it.
///
/// - `PORTAL_SESSIONS_TEST_*`: `PORTAL_SESSIONS_TEST_DATABASE_URL`, the tests' PostgreSQL.
/// - `PORTAL_SESSIONS_REQUIRE_*`: `PORTAL_SESSIONS_REQUIRE_POSTGRES`, `_BROWSER`,
///   `_OPENAPI_VALIDATOR`, `_PROMTOOL`: a test fails instead of skipping without its tool.
/// - `PORTAL_SESSIONS_BENCH_*`: `PORTAL_SESSIONS_BENCH_BACKENDS`, `_SIZES`, `_OPEN_N`,
///   `_OPEN_LIST_N`, `_ROUNDS`, `_ROUND_REQUESTS`: what the benchmarks measure.
/// - `PORTAL_SESSIONS_SLED_*`: `PORTAL_SESSIONS_SLED_UPGRADE_CHILD_DB`, `_CRASH_CHILD_DB`,
///   `_HOLDER_DB`: the sled tests' child processes.
pub const ENV_IGNORED: &[&str] = &[
    "PORTAL_SESSIONS_TEST_",
    "PORTAL_SESSIONS_REQUIRE_",
    "PORTAL_SESSIONS_BENCH_",
    "PORTAL_SESSIONS_SLED_",
];

/// Whether a variable is one of the configuration's (or one it refuses as unknown).
fn is_configuration(name: &str) -> bool {
    name.starts_with(ENV_PREFIX) && !ENV_IGNORED.iter().any(|prefix| name.starts_with(prefix))
}

/// The process's `PORTAL_SESSIONS_*` variables (every other one left out), for
/// [`load_config`](super::load_config).
///
/// # Errors
///
/// A variable whose name or value is not UTF-8, named (as far as it can be) and never shown.
pub fn process_environment() -> Result<Vec<(String, String)>, ConfigErrors> {
    let mut variables = Vec::new();
    let mut errors = Vec::new();
    for (name, value) in std::env::vars_os() {
        let shown = name.to_string_lossy();
        if !is_configuration(&shown) {
            continue;
        }
        match (name.to_str(), value.into_string()) {
            (Some(name), Ok(value)) => variables.push((name.to_owned(), value)),
            _ => errors.push(ConfigError::new(
                ENVIRONMENT,
                shown,
                "must be UTF-8, its name and its value",
            )),
        }
    }
    if errors.is_empty() {
        Ok(variables)
    } else {
        Err(ConfigErrors { errors })
    }
}

/// Puts the environment's `PORTAL_SESSIONS_*` variables over the file's values in `top`: each
/// replaces its top-level key's value whole. `shape` is the file's.
pub(super) fn environment<'s>(
    report: &mut Report<'s>,
    top: &mut DeTable<'s>,
    env: &'s [(String, String)],
    shape: &Shape,
) {
    let mut variables: Vec<&(String, String)> = env
        .iter()
        .filter(|(name, _)| is_configuration(name))
        .collect();
    variables.sort();
    let keys = shape.keys();
    for (name, value) in variables {
        let suffix = &name[ENV_PREFIX.len()..];
        let found = keys
            .iter()
            .find(|key| key.to_ascii_uppercase() == suffix)
            .and_then(|key| Some((*key, shape.field(key)?)));
        let Some((key, field)) = found else {
            let names: Vec<String> = keys.iter().map(|key| key.to_ascii_uppercase()).collect();
            let reason = match closest(
                &suffix.to_ascii_uppercase(),
                names.iter().map(String::as_str),
            ) {
                Some(meant) => format!("unknown variable (did you mean {ENV_PREFIX}{meant}?)"),
                None => format!(
                    "unknown variable (each top-level key of the configuration has one: \
                     {ENV_PREFIX} and the key in capitals, like {ENV_PREFIX}STORE)"
                ),
            };
            report.push(
                Rank::Environment,
                ConfigError::new(ENVIRONMENT, name.as_str(), reason),
            );
            continue;
        };
        report.set_origin(key, Origin::Env(name));
        let parsed = if field.is_text() {
            Ok(text(value))
        } else {
            DeValue::parse(value).map_err(|error| {
                format!(
                    "must be a TOML value, like {} ({})",
                    field.example(),
                    without_values(error.message())
                )
            })
        };
        match parsed {
            Ok(parsed) => {
                top.insert(Spanned::new(0..0, DeString::Borrowed(key)), parsed);
            }
            Err(reason) => {
                report.left_out(key);
                top.remove(key);
                report.push(
                    Rank::Environment,
                    ConfigError::new(ENVIRONMENT, name.as_str(), reason),
                );
            }
        }
    }
}

/// Puts the flags' values over the environment's and the file's in `top`.
pub(super) fn flags<'s>(report: &mut Report<'s>, top: &mut DeTable<'s>, overrides: &'s Overrides) {
    let flags = [
        ("listen", "--listen", &overrides.listen),
        ("store", "--store", &overrides.store),
    ];
    for (key, flag, value) in flags {
        if let Some(value) = value {
            report.set_origin(key, Origin::Flag(flag));
            top.insert(Spanned::new(0..0, DeString::Borrowed(key)), text(value));
        }
    }
}

/// A variable's or a flag's text, as a string value.
fn text(value: &str) -> Spanned<DeValue<'_>> {
    Spanned::new(0..value.len(), DeValue::String(DeString::Borrowed(value)))
}
