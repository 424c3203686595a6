//! How to reach the database: [`PostgresConfig`] and schema names.

use std::time::Duration;

use crate::tls::SslMode;

use portal_sessions::StoreError;

/// The default schema: `portal_sessions`.
pub const DEFAULT_SCHEMA: &str = "portal_sessions";

/// A validated schema name: 1 to 63 characters of `a-z`, `0-9` and `_`, not starting with a digit,
/// and not starting with `pg_` (reserved by PostgreSQL).
///
/// The name is spliced into SQL (a schema cannot be a bind parameter), so it is validated before
/// anything else and always written quoted.
///
/// # Examples
///
/// ```
/// use portal_sessions_postgres::SchemaName;
///
/// assert!(SchemaName::new("billing_portal").is_ok());
/// assert!(SchemaName::new("Robert'); DROP TABLE students;--").is_err());
/// assert!(SchemaName::new("pg_catalog").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

impl SchemaName {
    /// Validates `name`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] naming the rule that `name` breaks.
    pub fn new(name: &str) -> Result<SchemaName, StoreError> {
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let reason = if name.is_empty() || name.len() > 63 {
            Some("must be 1 to 63 characters")
        } else if !valid_chars {
            Some("may contain only a-z, 0-9 and _")
        } else if name.as_bytes()[0].is_ascii_digit() {
            Some("must not start with a digit")
        } else if name.starts_with("pg_") {
            Some("must not start with pg_ (reserved by PostgreSQL)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(StoreError::config(
                format!("invalid schema name: {reason}"),
                None,
            )),
            None => Ok(SchemaName(name.to_owned())),
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted for SQL.
    pub(crate) fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// Who applies the schema's migrations: [`PostgresConfig::migrations`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Migrations {
    /// This crate applies its own migrations, when
    /// [`PostgresStore::migrate`](crate::PostgresStore::migrate) is called (every instance may call
    /// it at start-up: it runs under an advisory lock). [`PostgresStore::connect`](crate::PostgresStore::connect)
    /// leaves the schema alone. The default.
    #[default]
    Apply,
    /// The host applies the migrations with its own tool, from the plain SQL that
    /// [`migrations_sql`](crate::migrations_sql) renders (shipped for the default schema in the
    /// crate's `sql/` directory). The store runs no DDL: [`PostgresStore::connect`](crate::PostgresStore::connect)
    /// and [`PostgresStore::from_pool`](crate::PostgresStore::from_pool) check that the schema is at
    /// exactly the version this crate expects, with the privileges the store needs, and fail with a
    /// [`StoreError::Config`] naming the migration files to apply when it is behind (or saying it
    /// is newer, when it is ahead); [`PostgresStore::migrate`](crate::PostgresStore::migrate) makes
    /// the same check and applies nothing.
    Verify,
}

/// Everything [`PostgresStore::connect`](crate::PostgresStore::connect) needs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions_postgres::PostgresConfig;
///
/// let config = PostgresConfig::new("postgres://app@db.internal:5432/billing")
///     .schema("portal")
///     .max_connections(32)
///     .operation_timeout(Duration::from_secs(2));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct PostgresConfig {
    pub(crate) url: String,
    pub(crate) schema: String,
    pub(crate) max_connections: usize,
    pub(crate) operation_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) ssl_mode: Option<SslMode>,
    pub(crate) root_certificates: Option<String>,
    pub(crate) application_name: String,
    pub(crate) local_clock: std::sync::Arc<dyn portal_sessions::Clock>,
    pub(crate) clock_refresh: Duration,
    pub(crate) migrations: Migrations,
}

impl std::fmt::Debug for PostgresConfig {
    /// Never shows the connection string, which may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("operation_timeout", &self.operation_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("ssl_mode", &self.ssl_mode)
            .field("root_certificates", &self.root_certificates)
            .field("application_name", &self.application_name)
            .field("clock_refresh", &self.clock_refresh)
            .field("migrations", &self.migrations)
            .finish_non_exhaustive()
    }
}

impl Default for PostgresConfig {
    /// The settings of [`PostgresConfig::new`] without a connection string: for
    /// [`PostgresStore::from_pool`](crate::PostgresStore::from_pool), whose pool already knows how
    /// to connect. [`PostgresStore::connect`](crate::PostgresStore::connect) refuses it.
    fn default() -> PostgresConfig {
        PostgresConfig::new(String::new())
    }
}

impl PostgresConfig {
    /// A configuration for the server at `url` (a `postgres://` URL or a `key=value` string), with
    /// the schema `portal_sessions`, 16 connections, a 5 second limit per operation and a 5 second
    /// connect timeout, and TLS as the URL's `sslmode` says (libpq's default, `prefer`, without
    /// one: see [`SslMode`]).
    pub fn new(url: impl Into<String>) -> PostgresConfig {
        PostgresConfig {
            url: url.into(),
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 16,
            operation_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            ssl_mode: None,
            root_certificates: None,
            local_clock: std::sync::Arc::new(portal_sessions::SystemClock),
            clock_refresh: Duration::from_secs(30),
            application_name: "portal-sessions".to_owned(),
            migrations: Migrations::Apply,
        }
    }

    /// Checks, without connecting, that `url` is a connection string
    /// [`PostgresStore::connect`](crate::PostgresStore::connect) can parse: a `postgres://` URL or
    /// the `key=value` form, with an `sslmode` libpq knows. For a configuration checker, so that a
    /// typo is caught before the server starts.
    ///
    /// # Examples
    ///
    /// ```
    /// use portal_sessions_postgres::PostgresConfig;
    ///
    /// assert!(PostgresConfig::validate_url("postgres://app:pw@db.internal:5432/billing").is_ok());
    /// assert!(PostgresConfig::validate_url("postgres://app:pw@[db.internal").is_err());
    /// assert!(PostgresConfig::validate_url("postgres://db/billing?sslmode=always").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] saying what is wrong, without the string or the parser's message
    /// (either may quote a password).
    pub fn validate_url(url: &str) -> Result<(), StoreError> {
        let (url, _) = crate::tls::split_sslmode(url)?;
        url.parse::<tokio_postgres::Config>()
            .map(drop)
            .map_err(|_| StoreError::config("malformed PostgreSQL connection string", None))
    }

    /// The `application_name` the connections report to the server (shown in `pg_stat_activity`);
    /// `portal-sessions` unless set.
    pub fn application_name(mut self, name: impl Into<String>) -> PostgresConfig {
        self.application_name = name.into();
        self
    }

    /// The schema that holds the tables (validated at connect).
    pub fn schema(mut self, schema: impl Into<String>) -> PostgresConfig {
        self.schema = schema.into();
        self
    }

    /// The most connections the pool opens.
    pub fn max_connections(mut self, max: usize) -> PostgresConfig {
        self.max_connections = max.max(1);
        self
    }

    /// The longest any one store operation may take (5 s unless set): waiting for a connection,
    /// checking it before reuse and opening a new one included. Past it the operation fails with
    /// [`StoreError::Timeout`] (and may or may not have taken effect), and its connection is
    /// discarded rather than given back to the pool, since it may have gone silent; the server is
    /// also told to cancel statements running longer (`statement_timeout`). The check of an idle
    /// connection before reuse gets a fifth of it, at most a second (see the crate's "Silent
    /// connections").
    pub fn operation_timeout(mut self, timeout: Duration) -> PostgresConfig {
        self.operation_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The longest opening one connection may take (5 s unless set): TCP, TLS, the start-up and
    /// the login together, so that a server that accepts connections but never answers fails
    /// [`PostgresStore::connect`](crate::PostgresStore::connect) promptly, as
    /// [`StoreError::Unavailable`].
    pub fn connect_timeout(mut self, timeout: Duration) -> PostgresConfig {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The `sslmode` to connect with, over whatever the URL says (see [`SslMode`]). Any mode but
    /// `disable` needs the crate feature `tls-rustls`; without it, connecting is a configuration
    /// error (never a silent plaintext connection).
    pub fn ssl_mode(mut self, mode: SslMode) -> PostgresConfig {
        self.ssl_mode = Some(mode);
        self
    }

    /// How often the database clock's offset from the process clock is measured again (30 s by
    /// default); see the crate's "Whose clock".
    pub fn clock_refresh(mut self, every: Duration) -> PostgresConfig {
        self.clock_refresh = every.max(Duration::from_millis(100));
        self
    }

    /// The process clock the database clock is read through (the system clock by default): for
    /// tests that skew one instance's clock.
    pub fn local_clock(mut self, clock: impl portal_sessions::Clock) -> PostgresConfig {
        self.local_clock = std::sync::Arc::new(clock);
        self
    }

    /// Who migrates the schema (see [`Migrations`]): this crate, when
    /// [`PostgresStore::migrate`](crate::PostgresStore::migrate) is called ([`Migrations::Apply`],
    /// the default), or the host's own migrator, the store only checking the result at connect
    /// ([`Migrations::Verify`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use portal_sessions_postgres::{Migrations, PostgresConfig};
    ///
    /// // The schema is migrated by the application's own tool (sqlx migrate, refinery, Flyway)
    /// // from the files `migrations_sql` renders: the store runs no DDL.
    /// let config = PostgresConfig::new("postgres://app@db.internal:5432/billing")
    ///     .migrations(Migrations::Verify);
    /// # let _ = config;
    /// ```
    pub fn migrations(mut self, migrations: Migrations) -> PostgresConfig {
        self.migrations = migrations;
        self
    }

    /// A PEM file of root certificates that the server's certificate must chain to (for
    /// `verify-ca`, `verify-full`, and `require`, which then checks the chain as libpq does). The
    /// Mozilla roots when not set.
    pub fn root_certificates(mut self, path: impl Into<String>) -> PostgresConfig {
        self.root_certificates = Some(path.into());
        self
    }
}
