//! A [`SessionStore`] on PostgreSQL, shared by many app instances.
//!
//! This is how portal-sessions goes beyond one machine: every instance behind the load balancer
//! connects to one database, and a link is still redeemed exactly once, because the only write that
//! redeems is one `UPDATE ... WHERE id = $1 AND version = $2`, which PostgreSQL applies to at most
//! one of any number of racing transactions.
//!
//! # Setting up
//!
//! ```no_run
//! use portal_sessions::{Engine, StaticDirectory};
//! use portal_sessions_postgres::{PostgresConfig, PostgresStore};
//!
//! # async fn run() -> Result<(), portal_sessions::StoreError> {
//! let store = PostgresStore::connect(
//!     PostgresConfig::new("postgres://app@db.internal:5432/billing").schema("portal"),
//! )
//! .await?;
//! // Safe when every instance does it at start-up: migrations run under an advisory lock.
//! store.migrate().await?;
//! let engine = Engine::new(store, StaticDirectory::default());
//! # let _ = engine;
//! # Ok(())
//! # }
//! ```
//!
//! # Schema
//!
//! Embedded, versioned migrations (`migrations/` in the crate) create one table in a configurable
//! schema, with native types: `bytea` ids and hashes, `uuid` organisations and customers,
//! `timestamptz` instants, `inet` addresses. [`PostgresStore::migrate`] applies the missing ones in
//! one transaction under `pg_advisory_xact_lock`, so instances starting together apply each exactly
//! once, and refuses a schema migrated by a newer version.
//!
//! Indexes make `get` one primary-key lookup, `list` an index scan that stops after `limit` rows
//! (partial indexes hold only links that are still unused and unrevoked, for open-only lists), and
//! `purge_expired` a range scan. The plans, as `EXPLAIN` shows them on 20 000 rows (the test
//! `query_plans_use_the_indexes` asserts them):
//!
//! ```text
//! get:                 Index Scan using portal_sessions_pkey
//! list all:            Limit -> Index Scan using portal_sessions_org_list
//! list all, customer:  Limit -> Index Scan using portal_sessions_customer_list
//! list open:           Limit -> Index Scan using portal_sessions_open_list
//! list open, customer: Limit -> Index Scan using portal_sessions_open_customer_list
//! list active:         Limit -> Index Scan using portal_sessions_active_list
//! list expired:        Limit -> Index Scan using portal_sessions_unrevoked_list
//! list used:           Limit -> Index Scan using portal_sessions_used_list
//! list revoked:        Limit -> Index Scan using portal_sessions_revoked_list
//! ```
//!
//! Each has its `_customer_list` twin, and a page after a cursor is the same scan with the cursor
//! as an index condition ([`PostgresStore::explain_list`] prints the plan of any list).
//!
//! # Statements
//!
//! Every statement is prepared once per connection (`prepare_cached`). Insert-if-absent is
//! `INSERT ... ON CONFLICT (id) DO NOTHING` with the row count checked; compare-and-swap is one
//! `UPDATE ... WHERE id = $1 AND version = $2` with the row count checked. A token's hash is never in a
//! `WHERE`: rows are found by the id, and hashes are compared in the engine, in constant time.
//!
//! # The pool
//!
//! [deadpool-postgres]: async, small, maintained, built for tokio-postgres, with separate limits for
//! waiting, connecting and recycling, and a recycle check that drops connections the server closed,
//! which is what makes the pool recover by itself after a failover or `pg_terminate_backend`.
//!
//! [deadpool-postgres]: https://docs.rs/deadpool-postgres
//!
//! # Failures and retries
//!
//! Every operation is bounded by [`PostgresConfig::operation_timeout`] (waiting for a connection
//! included) and the server is asked to cancel statements that run longer. A lost connection is
//! [`StoreError::Unavailable`]; a missing or unmigrated schema is [`StoreError::Config`] saying so.
//!
//! A write whose reply was lost (the connection died after the `UPDATE` committed) is settled by
//! the engine reading the record back: a redeem whose freshly minted viewer hash is stored did win,
//! and answers with its success; one whose read-back fails too answers with the error, and a retry
//! then reads "already used". Nothing is ever redeemed twice, and a second viewer secret is never
//! minted for one link.
//!
//! # Whose clock
//!
//! The database's. [`PostgresStore`] gives the engine a clock ([`SessionStore::clock`]) that reads
//! PostgreSQL's `clock_timestamp()` through an offset from the process clock, measured at connect and
//! every [`PostgresConfig::clock_refresh`]; so app instances whose clocks disagree still agree,
//! to within a round trip, on what has expired.
//!
//! # TLS
//!
//! The connection string's `sslmode` is honoured as libpq honours it (`disable`, `prefer`,
//! `require`, `verify-ca`, `verify-full`; see [`SslMode`]), with rustls under the crate feature
//! `tls-rustls`. Without the feature, any mode but `disable` is refused at connect rather than
//! quietly connecting in plaintext.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod config;
mod feed;
mod list;
mod migrate;
mod row;
pub mod testing;
mod tls;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use portal_sessions::{
    CasOutcome, ListQuery, SessionId, SessionRecord, SessionStore, StoreError, Timestamp,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use crate::list::ListStatement;

pub use crate::config::{DEFAULT_SCHEMA, PostgresConfig, SchemaName};
pub use crate::migrate::MIGRATIONS;
pub use crate::tls::SslMode;

/// How many rows one purge statement deletes.
const PURGE_BATCH: i64 = 5_000;

/// The SQL of every statement, with the schema spliced in once.
#[derive(Debug)]
struct Statements {
    insert: String,
    get: String,
    /// `"schema".portal_sessions`, for the list statements built per query.
    table: String,
    swap: String,
    purge: String,
    feed: feed::FeedStatements,
}

impl Statements {
    fn new(schema: &SchemaName) -> Statements {
        let table = format!("{}.portal_sessions", schema.quoted());
        let c = row::COLUMNS;
        Statements {
            insert: format!(
                "INSERT INTO {table} ({c}, events_delivered) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
                 $19, $20, 0) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            get: format!("SELECT {c} FROM {table} WHERE id = $1"),
            swap: format!(
                "UPDATE {table} SET viewer_hash = $3, used_at = $4, revoked_at = $5, \
                 redeemed = $6, redeemed_ip = $7, redeemed_user_agent = $8, version = $9, \
                 logged_out_at = $10 WHERE id = $1 AND version = $2"
            ),
            purge: format!(
                "DELETE FROM {table} WHERE id IN \
                 (SELECT id FROM {table} WHERE expires_at <= $1 LIMIT {PURGE_BATCH})"
            ),
            feed: feed::FeedStatements::new(&table),
            table,
        }
    }
}

/// A [`SessionStore`] on PostgreSQL. Cheap to clone: clones share the pool.
///
/// See the [crate documentation](crate) for the schema, the pool and the failure behaviour.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: SchemaName,
    statements: std::sync::Arc<Statements>,
    timeout: Duration,
    clock: std::sync::Arc<clock::DatabaseClock>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("timeout", &self.timeout)
            .field("pool", &self.pool.status())
            .finish()
    }
}

/// Translates a driver error, without any SQL parameter in the message.
pub(crate) fn pg_error(error: tokio_postgres::Error, schema: &SchemaName) -> StoreError {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::INVALID_SCHEMA_NAME {
            return StoreError::config(
                format!(
                    "schema \"{}\" has no portal-sessions tables: run PostgresStore::migrate()",
                    schema.as_str()
                ),
                Some(Box::new(error)),
            );
        }
        if *code == SqlState::QUERY_CANCELED {
            return StoreError::Timeout;
        }
        if *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || code.code().starts_with("08")
        {
            return StoreError::Unavailable(Box::new(error));
        }
        return StoreError::Backend(Box::new(error));
    }
    // No server error: the connection itself failed (closed, refused, reset, TLS).
    StoreError::Unavailable(Box::new(error))
}

fn pool_error(error: PoolError, schema: &SchemaName) -> StoreError {
    match error {
        PoolError::Backend(error) => pg_error(error, schema),
        PoolError::Timeout(_) => StoreError::Unavailable(Box::new(error)),
        other => StoreError::Unavailable(Box::new(other)),
    }
}

impl PostgresStore {
    /// Builds the pool and opens one connection to check that the server answers and accepts the
    /// credentials. Does not touch the schema: call [`migrate`](Self::migrate) (or
    /// [`verify_schema`](Self::verify_schema) when migrations are applied elsewhere).
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for a malformed connection string or schema name, or TLS asked for
    /// without the `tls-rustls` feature; [`StoreError::Unavailable`] when the server cannot be
    /// reached or refuses the connection.
    pub async fn connect(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let schema = SchemaName::new(&config.schema)?;
        let (url, url_mode) = tls::split_sslmode(&config.url)?;
        let mode = config.ssl_mode.or(url_mode).unwrap_or_default();
        let mut pg: tokio_postgres::Config = url.parse().map_err(|error| {
            StoreError::config(
                "malformed PostgreSQL connection string",
                Some(Box::new(error)),
            )
        })?;
        let statement_timeout = config.operation_timeout.as_millis().max(1);
        // The URL's own application_name, when it has one, names the connections.
        if pg.get_application_name().is_none() {
            pg.application_name(&config.application_name);
        }
        pg.connect_timeout(config.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .options(format!("-c statement_timeout={statement_timeout}"));
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if mode == SslMode::Disable {
            pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
            Manager::from_config(pg, tokio_postgres::NoTls, manager_config)
        } else {
            pg.ssl_mode(if mode == SslMode::Prefer {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            });
            tls_manager(
                pg,
                manager_config,
                mode,
                config.root_certificates.as_deref(),
            )?
        };
        let pool = Pool::builder(manager)
            .max_size(config.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.operation_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.operation_timeout))
            .build()
            .map_err(|error| {
                StoreError::config("cannot build the connection pool", Some(Box::new(error)))
            })?;
        drop(
            pool.get()
                .await
                .map_err(|error| pool_error(error, &schema))?,
        );
        let clock = clock::DatabaseClock::start(
            &pool,
            config.local_clock.clone(),
            config.clock_refresh,
            config.operation_timeout,
        )
        .await?;
        Ok(PostgresStore {
            statements: std::sync::Arc::new(Statements::new(&schema)),
            pool,
            schema,
            timeout: config.operation_timeout,
            clock,
        })
    }

    /// The schema this store uses.
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// The connection pool, for running your own statements beside the store's (the benches send
    /// raw statements through it to measure the store's overhead).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Applies the embedded migrations that the schema lacks; returns how many it applied.
    ///
    /// Safe to call from every instance at start-up: it holds a transaction-scoped advisory lock
    /// for the schema, so concurrent callers apply each migration exactly once.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] when the schema was migrated by a newer version of this crate; a
    /// connection or backend error otherwise (and nothing is applied).
    pub async fn migrate(&self) -> Result<u32, StoreError> {
        let mut client = self.client().await?;
        migrate::apply(&mut client, &self.schema).await
    }

    /// Checks that the schema holds every migration this crate knows, without changing anything.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] when the schema is missing, unmigrated, or behind.
    pub async fn verify_schema(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        self.bounded(migrate::verify(&client, &self.schema)).await
    }

    /// The plan PostgreSQL chooses for the statement that answers `query`, as `EXPLAIN` prints it,
    /// one line per plan node: what to look at when a list is slow. Every list should read as an
    /// `Index Scan` under a `Limit`, with no `Sort` (see the crate docs).
    ///
    /// # Errors
    ///
    /// A backend error.
    pub async fn explain_list(&self, query: &ListQuery) -> Result<String, StoreError> {
        let statement = ListStatement::new(&self.statements.table, row::COLUMNS, query);
        let rows = self
            .query_planned(&format!("EXPLAIN {}", statement.sql), &statement.params())
            .await?;
        let lines = rows
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| pg_error(error, &self.schema))?;
        Ok(lines.join("\n"))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|error| pool_error(error, &self.schema))
    }

    /// Runs `operation` within the configured time limit.
    async fn bounded<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or(Err(StoreError::Timeout))
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let pg = |error| pg_error(error, &self.schema);
        self.bounded(async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(pg)?;
            client.query(&statement, params).await.map_err(pg)
        })
        .await
    }

    /// A query planned for its parameters on every execution (not prepared and cached).
    async fn query_planned(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let pg = |error| pg_error(error, &self.schema);
        self.bounded(async {
            let client = self.client().await?;
            client.query_typed(sql, params).await.map_err(pg)
        })
        .await
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let pg = |error| pg_error(error, &self.schema);
        self.bounded(async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(pg)?;
            client.execute(&statement, params).await.map_err(pg)
        })
        .await
    }
}

#[cfg(feature = "tls-rustls")]
fn tls_manager(
    pg: tokio_postgres::Config,
    manager_config: ManagerConfig,
    mode: SslMode,
    roots: Option<&str>,
) -> Result<Manager, StoreError> {
    Ok(Manager::from_config(
        pg,
        tls::connector(mode, roots)?,
        manager_config,
    ))
}

#[cfg(not(feature = "tls-rustls"))]
fn tls_manager(
    _pg: tokio_postgres::Config,
    _manager_config: ManagerConfig,
    _mode: SslMode,
    _roots: Option<&str>,
) -> Result<Manager, StoreError> {
    Err(StoreError::config(
        "the connection asks for TLS (sslmode prefer, require or verify-*; prefer is the default), \
         but portal-sessions-postgres was built without the tls-rustls feature: add \
         sslmode=disable to connect in plaintext",
        None,
    ))
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let params = row::Params::new(record)?;
        match self.execute(&self.statements.insert, &params.all()).await? {
            1 => Ok(()),
            _ => Err(StoreError::Duplicate),
        }
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let id = id.as_bytes().to_vec();
        let rows = self.query(&self.statements.get, &[&id]).await?;
        rows.first().map(row::decode).transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let statement = ListStatement::new(&self.statements.table, row::COLUMNS, query);
        let params = statement.params();
        let rows = if statement.planned_per_call {
            // Planned for these values every time (the unnamed statement of `query_typed`, in one
            // round trip): a cached generic plan cannot see how narrow the time window is, and was
            // seen walking every unopened link of an organisation.
            self.query_planned(&statement.sql, &params).await?
        } else {
            let params: Vec<_> = params.iter().map(|(value, _)| *value).collect();
            self.query(&statement.sql, &params).await?
        };
        rows.iter().map(row::decode).collect()
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError> {
        let params = row::Params::new(next)?;
        let expected = i64::try_from(expected_version)
            .map_err(|_| StoreError::Backend("version exceeds i64".into()))?;
        match self
            .execute(&self.statements.swap, &params.swap(&expected))
            .await?
        {
            1 => Ok(CasOutcome::Swapped),
            _ => Ok(CasOutcome::Conflict),
        }
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let before = before.to_system_time();
        let mut total = 0;
        loop {
            let deleted = self.execute(&self.statements.purge, &[&before]).await?;
            total += deleted;
            if deleted < PURGE_BATCH.unsigned_abs() {
                return Ok(total);
            }
        }
    }

    /// The database's clock (see the `clock` notes in the crate docs): instances whose own clocks
    /// disagree still agree on what has expired.
    fn clock(&self) -> Option<std::sync::Arc<dyn portal_sessions::Clock>> {
        Some(self.clock.clone())
    }

    /// The feed of every instance on the database (see the `feed` notes in the crate docs).
    fn event_feed(&self) -> Option<&dyn portal_sessions::EventFeed> {
        Some(self)
    }
}
