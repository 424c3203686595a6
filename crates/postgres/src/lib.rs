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
//! once, and refuses a schema migrated by a newer version. An application that applies migrations
//! with its own tool takes them as plain SQL instead ([`migrations_sql`], and the crate's `sql/`
//! directory) and has the store only check them ([`Migrations::Verify`]): see
//! [Living beside a host on sqlx](#living-beside-a-host-on-sqlx).
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
//! waiting, connecting and recycling, and a check before reuse, which is what makes the pool recover
//! by itself after a failover or `pg_terminate_backend`.
//!
//! [deadpool-postgres]: https://docs.rs/deadpool-postgres
//!
//! The store builds its pool ([`PostgresStore::connect`]), or shares one the application already
//! has ([`PostgresStore::from_pool`], which says what the store then needs of it).
//!
//! # Living beside a host on sqlx
//!
//! An application on sqlx keeps its `PgPool`, and the store keeps a deadpool pool of its own: two
//! pools against the same database (sqlx's connections are not tokio-postgres connections, so
//! there is no pool to share). The store's tables live in a schema of their own
//! (`portal_sessions` unless [`PostgresConfig::schema`] says otherwise), so they, their
//! migrations' bookkeeping and the application's never collide.
//!
//! **Migrations, by the application's tool.** The crate ships its migrations as plain SQL for the
//! schema `portal_sessions` in its `sql/` directory (`0001_portal_sessions.sql`,
//! `0002_lists_locales_and_events.sql`, ...); [`migrations_sql`] renders them for any other
//! schema. Each is self-contained: it creates what it needs, then records itself in the schema's
//! `portal_sessions_migrations` table. With sqlx:
//!
//! 1. Copy each file into the application's `migrations/` directory under a version of the
//!    application's own, as `sqlx migrate add` would name it, keeping the order:
//!    `0001_portal_sessions.sql` becomes, say, `20250301120000_portal_sessions.sql`,
//!    `0002_lists_locales_and_events.sql` `20250301120001_lists_locales_and_events.sql`, and so
//!    on. (Keeping `0001_...` would claim the versions 1, 2, 3 of sqlx's own table.) A tool that
//!    takes migrations in code rather than from a directory can `include_str!` the files instead.
//! 2. `sqlx migrate run`, or `sqlx::migrate!().run(&pool)` at start-up, applies them with the
//!    application's own migrations, each in a transaction, and keeps their checksums: a released
//!    file never changes, and a new version of this crate only adds files.
//! 3. Open the store with [`Migrations::Verify`]: [`PostgresStore::connect`] checks that the
//!    schema is at exactly the version this crate needs, and runs no DDL
//!    ([`PostgresStore::migrate`] then applies nothing either). After an upgrade of this crate
//!    whose migrations were not copied in yet, it fails with a [`StoreError::Config`] that names
//!    them: "schema "portal_sessions" is at version 2; this version of portal-sessions needs 3:
//!    apply sql/0003_recovery.sql of portal-sessions-postgres".
//!
//! **What the store needs.** Its schema, migrated; and a role with `USAGE` on the schema,
//! `SELECT`, `INSERT`, `UPDATE` and `DELETE` on `portal_sessions`, and `SELECT` on
//! `portal_sessions_migrations` (which [`Migrations::Verify`] reads). Under `Verify` the store's
//! role needs no `CREATE` privilege; the role that runs the migrations creates the schema (unless
//! it exists) and the tables, and owns them. When the two roles differ:
//!
//! ```sql
//! GRANT USAGE ON SCHEMA portal_sessions TO app;
//! GRANT SELECT, INSERT, UPDATE, DELETE ON portal_sessions.portal_sessions TO app;
//! GRANT SELECT ON portal_sessions.portal_sessions_migrations TO app;
//! ```
//!
//! **Connections.** Each instance of the application holds up to sqlx's `max_connections` (10
//! unless set; opened on demand, closed after sqlx's idle timeout) plus the store's
//! [`PostgresConfig::max_connections`] (16 unless set; one opened at connect, more on demand, and
//! kept open until one fails: deadpool closes no idle connection). With the defaults, up to 26
//! per instance: the sum over every instance must stay below the server's `max_connections`
//! (less `superuser_reserved_connections`). The store's clock borrows one of its connections for a
//! moment every [`PostgresConfig::clock_refresh`].
//!
//! ```no_run
//! use portal_sessions::{Engine, StaticDirectory};
//! use portal_sessions_postgres::{Migrations, PostgresConfig, PostgresStore};
//!
//! # async fn run() -> Result<(), portal_sessions::StoreError> {
//! let url = "postgres://app@db.internal:5432/billing";
//! // The application's side, with sqlx (the files of this crate's sql/ copied into
//! // migrations/ as 20250301120000_portal_sessions.sql and so on):
//! //
//! //     let db = sqlx::postgres::PgPoolOptions::new().max_connections(10).connect(url).await?;
//! //     sqlx::migrate!().run(&db).await?;
//! //
//! // The store's: a pool of its own on the same database, which checks what sqlx applied.
//! let store = PostgresStore::connect(
//!     PostgresConfig::new(url)
//!         .max_connections(8)
//!         .migrations(Migrations::Verify),
//! )
//! .await?;
//! let engine = Engine::new(store, StaticDirectory::default());
//! # let _ = engine;
//! # Ok(())
//! # }
//! ```
//!
//! # Failures and retries
//!
//! Every operation is bounded by [`PostgresConfig::operation_timeout`] (waiting for a connection,
//! checking it and opening one included), and the server is asked to cancel statements that run
//! longer. See [Silent connections](#silent-connections) for what happens to a connection that
//! misses its deadline.
//!
//! A lost connection is [`StoreError::Unavailable`]; a missing or unmigrated schema is
//! [`StoreError::Config`] saying so. [`PostgresStore::connect`] does not retry: it fails within the
//! connect timeout, with [`StoreError::Unavailable`] when waiting could help (no answer, refused,
//! a name that does not resolve) and [`StoreError::Config`] when it cannot (the login refused, an
//! unknown database, a failed TLS handshake), so that the caller decides how long to keep trying.
//!
//! A write whose reply was lost (the connection died after the `UPDATE` committed) is settled by
//! the engine reading the record back: a redeem whose freshly minted viewer hash is stored did win,
//! and answers with its success; one whose read-back fails too answers with the error, and a retry
//! then reads "already used". Nothing is ever redeemed twice, and a second viewer secret is never
//! minted for one link.
//!
//! # Silent connections
//!
//! A connection can die without being closed: a failover moves the database's address and the old
//! primary never answers again, a NAT or firewall forgets the flow and drops its packets, a virtual
//! machine freezes. Nothing tells the driver: the socket stays open, the connection reports itself
//! healthy, and the next operation lent it waits for an answer that never comes. So nothing here
//! trusts a connection that stopped answering:
//!
//! - **Every operation has a deadline**, [`PostgresConfig::operation_timeout`] (5 s by default):
//!   the one bound that holds whatever the network does.
//! - **A connection that missed its deadline, or failed with anything but an answer from the
//!   server, is discarded**, never given back to the pool: it may be dead, or still owe the answer
//!   to a statement nobody waits for any more. Discarding closes its socket, so the server ends
//!   that session too. A connection whose statement the server refused (a duplicate id, a missing
//!   schema) did answer, and goes back; one whose statement the server cancelled at
//!   `statement_timeout` missed the same deadline, and is discarded like the rest.
//! - **An idle connection is checked before reuse**: one that sat unused for a second or more must
//!   answer an empty query, within a fifth of the operation's limit and at most a second, or it is
//!   discarded and the next one tried. So an operation that meets a pool of connections that died
//!   while idle gets through several of them before its deadline, instead of spending a whole
//!   deadline on one. A connection used less than a second ago answered then; checking it too
//!   would add a round trip to every operation under load (measured on loopback: a `get` from
//!   117 µs to 263 µs), and if it went silent since, its operation's deadline catches it, once.
//! - **The kernel bounds how long a peer that is gone can hold a socket** (on Linux): TCP
//!   keepalive probes a connection idle for 5 s, every 2 s, and gives up after 3 unanswered
//!   probes; `TCP_USER_TIMEOUT` (10 s) gives up a connection whose sent data stays unacknowledged
//!   that long. Those notice a dead peer even while no operation is looking (the connection then
//!   fails its check at once, without waiting out the check's limit), but not a middlebox that
//!   keeps acknowledging while forwarding nothing: the three rules above catch that one. A
//!   connection string's own `keepalives`, `keepalives_idle`, `keepalives_interval`,
//!   `keepalives_retries` or `tcp_user_timeout` (tokio-postgres's names, in seconds) wins over
//!   these values.
//!
//! With the defaults no operation takes more than 5 s; an HTTP request, which runs at most three
//! store operations in a row (a redeem's read, its swap, and the read-back that settles a lost
//! reply), no more than 15 s; and once every pooled connection has gone silent, the store serves
//! again on fresh connections within 20 s: a connection that went silent while in use costs one
//! operation its deadline (5 s), one that went silent while idle costs a check (1 s), and requests
//! running side by side pay for different connections. Measured with two servers of 16
//! connections each, every one of them silenced under load: creates succeeded again 4 to 6 s after
//! new connections could be opened, and no request took longer than 8 s (the server's
//! `postgres_faults` test, which also delays, blackholes, resets and partitions, and loses no
//! acknowledged write).
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
mod pool;
mod row;
pub mod testing;
mod tls;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use portal_sessions::{
    CasOutcome, ListQuery, SessionId, SessionRecord, SessionStore, StoreError, Timestamp,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use crate::list::ListStatement;
use crate::pool::Lease;

pub use crate::config::{DEFAULT_SCHEMA, Migrations, PostgresConfig, SchemaName};
pub use crate::migrate::{MIGRATIONS, Migration, migrations_sql};
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
                 $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, 0) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            get: format!("SELECT {c} FROM {table} WHERE id = $1"),
            swap: format!(
                "UPDATE {table} SET viewer_hash = $3, used_at = $4, revoked_at = $5, \
                 redeemed = $6, redeemed_ip = $7, redeemed_user_agent = $8, version = $9, \
                 logged_out_at = $10, recovery_ended_at = $11 WHERE id = $1 AND version = $2"
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
    migrations: Migrations,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("timeout", &self.timeout)
            .field("migrations", &self.migrations)
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
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || code.code().starts_with("08")
        {
            return StoreError::Unavailable(Box::new(error));
        }
        return StoreError::Backend(Box::new(error));
    }
    // No server error: the connection itself failed (closed, refused, reset, TLS).
    StoreError::Unavailable(Box::new(error))
}

impl PostgresStore {
    /// Builds the pool and opens one connection to check that the server answers and accepts the
    /// credentials. Under [`Migrations::Apply`] (the default) it does not touch the schema: call
    /// [`migrate`](Self::migrate). Under [`Migrations::Verify`] it checks the schema as
    /// [`verify_schema`](Self::verify_schema) does, and runs no DDL.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for a malformed connection string or schema name, TLS asked for
    /// without the `tls-rustls` feature, and what trying again cannot fix: the login refused (bad
    /// user or password, no `pg_hba.conf` entry), a database that does not exist, a failed TLS
    /// handshake. [`StoreError::Unavailable`] for what may pass: the server cannot be reached
    /// (connection refused or reset, a host name that does not resolve), does not complete a
    /// connection within [`PostgresConfig::connect_timeout`], is starting up or has no connection
    /// slot free. Either comes within the connect timeout (and the operation timeout, for the first
    /// reading of the database clock): `connect` never retries, its caller decides how long to
    /// keep trying. Under [`Migrations::Verify`], [`StoreError::Config`] when the schema is not at
    /// the version this crate expects (see [`verify_schema`](Self::verify_schema)).
    pub async fn connect(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let schema = SchemaName::new(&config.schema)?;
        if config.url.trim().is_empty() {
            return Err(StoreError::config(
                "no PostgreSQL connection string: PostgresConfig::default() is for \
                 PostgresStore::from_pool; give PostgresStore::connect PostgresConfig::new(url)",
                None,
            ));
        }
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
            .options(format!("-c statement_timeout={statement_timeout}"));
        pool::bound_silence(&mut pg);
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
            .recycle_timeout(Some(pool::check_timeout(config.operation_timeout)))
            .post_recycle(pool::check_when_idle(pool::check_timeout(
                config.operation_timeout,
            )))
            .build()
            .map_err(|error| {
                StoreError::config("cannot build the connection pool", Some(Box::new(error)))
            })?;
        drop(
            pool.get()
                .await
                .map_err(|error| pool::connect_error(error, &schema, &pool.timeouts()))?,
        );
        PostgresStore::start(pool, schema, &config).await
    }

    /// A store on a pool the host already has, so that the store and the host share its
    /// connections: for an application that runs its own statements through deadpool-postgres
    /// (0.14, the version this crate is built on). A host on sqlx has no such pool to share: see
    /// "Living beside a host on sqlx" in the [crate documentation](crate).
    ///
    /// From `config` the store takes the schema, [`PostgresConfig::migrations`] (checked here as
    /// [`connect`](Self::connect) checks it), the operation timeout and the clock settings; how to
    /// connect (the URL, TLS, `application_name`, the connect timeout, the pool's size) is the
    /// pool's business, and those settings are ignored: [`PostgresConfig::default`] is a
    /// configuration without a URL, for this.
    ///
    /// # What the store needs of the pool
    ///
    /// - **Connections to a primary, in autocommit**, to the database that holds the schema, as a
    ///   role with the privileges the crate docs list. The store names its tables with the schema,
    ///   so `search_path` does not matter; it prepares its statements once per connection
    ///   (`prepare_cached`), in the pool's statement cache, under names of their own.
    /// - **A share of the pool**: each store operation holds one connection for its duration, and
    ///   the database clock takes one for a moment every [`PostgresConfig::clock_refresh`]. A pool
    ///   too small for the host's work and the store's makes both wait, up to the operation
    ///   timeout for the store's operations.
    /// - **Connections the store may discard**: one that misses an operation's deadline, or fails
    ///   without an answer from the server, is taken out of the pool and closed rather than given
    ///   back (see "Silent connections"); the pool opens a new one when needed.
    ///
    /// Every operation is still bounded by [`PostgresConfig::operation_timeout`], waiting for a
    /// connection included, whatever the pool's own timeouts. The rest of the hardening that
    /// [`connect`](Self::connect) gives its own pool is then the host's to set on its pool, if it
    /// wants it:
    ///
    /// - `statement_timeout` (the operation timeout, on the store's own connections), so that the
    ///   server cancels a statement nobody waits for any more: e.g. `options=-c
    ///   statement_timeout=5000` in the connection string, or
    ///   `tokio_postgres::Config::options`.
    /// - TCP keepalive (idle 5 s, interval 2 s, 3 probes) and `TCP_USER_TIMEOUT` (10 s), so that
    ///   the kernel notices a peer that is gone: `tokio_postgres::Config::keepalives_idle`,
    ///   `keepalives_interval`, `keepalives_retries` and `tcp_user_timeout`.
    /// - A check of a connection that sat idle a second or more before it is reused, within a
    ///   fifth of the operation timeout (at most 1 s): a `post_recycle` hook, or
    ///   `RecyclingMethod::Verified` with a recycle timeout.
    /// - Wait, create and recycle timeouts on the pool (the store's own pool uses the operation
    ///   timeout, the connect timeout and the check's limit), and TLS as `sslmode` asks.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
    /// use portal_sessions_postgres::{Migrations, PostgresConfig, PostgresStore};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut pg: tokio_postgres::Config = "postgres://app@db.internal:5432/billing".parse()?;
    /// // Hardening the store's own pool would have: the server cancels late statements, the
    /// // kernel gives up on a peer that is gone.
    /// pg.options("-c statement_timeout=5000")
    ///     .keepalives_idle(std::time::Duration::from_secs(5))
    ///     .tcp_user_timeout(std::time::Duration::from_secs(10));
    /// let manager = Manager::from_config(
    ///     pg,
    ///     tokio_postgres::NoTls,
    ///     ManagerConfig { recycling_method: RecyclingMethod::Fast },
    /// );
    /// let pool = Pool::builder(manager).max_size(32).build()?;
    ///
    /// // The host keeps using `pool`; the store shares it.
    /// let store = PostgresStore::from_pool(
    ///     pool.clone(),
    ///     PostgresConfig::default().schema("portal").migrations(Migrations::Verify),
    /// )
    /// .await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for an invalid schema name, a login the server refused or a
    /// database that does not exist; [`StoreError::Unavailable`] or [`StoreError::Timeout`] when
    /// the pool gives no connection that answers within the operation timeout (`from_pool` does
    /// not retry either). Under [`Migrations::Verify`], [`StoreError::Config`] when the schema is
    /// not at the version this crate expects.
    pub async fn from_pool(
        pool: Pool,
        config: PostgresConfig,
    ) -> Result<PostgresStore, StoreError> {
        let schema = SchemaName::new(&config.schema)?;
        let first = tokio::time::timeout(config.operation_timeout, pool.get()).await;
        match first {
            Ok(Ok(client)) => drop(client),
            Ok(Err(error)) => return Err(pool::connect_error(error, &schema, &pool.timeouts())),
            Err(_) => {
                return Err(StoreError::Unavailable(
                    format!(
                        "the pool gave no connection within {} ms",
                        config.operation_timeout.as_millis()
                    )
                    .into(),
                ));
            }
        }
        PostgresStore::start(pool, schema, &config).await
    }

    /// The rest of [`connect`](Self::connect) and [`from_pool`](Self::from_pool), once the pool
    /// gave a connection: the schema check [`Migrations::Verify`] asks for, then the database
    /// clock.
    async fn start(
        pool: Pool,
        schema: SchemaName,
        config: &PostgresConfig,
    ) -> Result<PostgresStore, StoreError> {
        if config.migrations == Migrations::Verify {
            verify_on(&pool, &schema, config.migrations, config.operation_timeout).await?;
        }
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
            migrations: config.migrations,
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
    /// Under [`Migrations::Verify`] it applies nothing (the host's migrator does): it checks the
    /// schema as [`verify_schema`](Self::verify_schema) does and returns 0, so that start-up code
    /// that always calls `migrate` runs no DDL when the host owns the schema.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] when the schema was migrated by a newer version of this crate (or,
    /// under [`Migrations::Verify`], is not at the version it expects); a connection or backend
    /// error otherwise (and nothing is applied).
    pub async fn migrate(&self) -> Result<u32, StoreError> {
        if self.migrations == Migrations::Verify {
            return self.verify_schema().await.map(|()| 0);
        }
        let mut client = self.client().await?;
        let applied = migrate::apply(&mut client, &self.schema).await;
        client.settle(applied)
    }

    /// Checks, without changing anything, that the schema holds every migration this crate knows
    /// and none newer, and that the database role has SELECT, INSERT, UPDATE and DELETE on its
    /// table. [`connect`](Self::connect) does this under [`Migrations::Verify`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use portal_sessions_postgres::PostgresStore;
    /// # async fn run(store: PostgresStore) {
    /// if let Err(error) = store.verify_schema().await {
    ///     // "schema "portal" is at version 2; this version of portal-sessions needs 3: ..."
    ///     eprintln!("{error}");
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] when the schema is missing, unmigrated, behind (naming the
    /// migrations to apply) or ahead, or the role lacks a privilege (naming it); a connection or
    /// backend error otherwise.
    pub async fn verify_schema(&self) -> Result<(), StoreError> {
        verify_on(&self.pool, &self.schema, self.migrations, self.timeout).await
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

    /// A connection for one operation (see [`Lease`]): the operation hands it back with
    /// [`Lease::settle`].
    async fn client(&self) -> Result<Lease, StoreError> {
        self.pool
            .get()
            .await
            .map(Lease::new)
            .map_err(|error| pool::pool_error(error, &self.schema, &self.pool.timeouts()))
    }

    /// Runs `operation` within the configured time limit. An operation cut off here drops its
    /// [`Lease`], which discards the connection.
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
            let rows = async {
                let statement = client.prepare_cached(sql).await.map_err(pg)?;
                client.query(&statement, params).await.map_err(pg)
            }
            .await;
            client.settle(rows)
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
            let rows = client.query_typed(sql, params).await.map_err(pg);
            client.settle(rows)
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
            let count = async {
                let statement = client.prepare_cached(sql).await.map_err(pg)?;
                client.execute(&statement, params).await.map_err(pg)
            }
            .await;
            client.settle(count)
        })
        .await
    }
}

/// [`migrate::verify`] on a connection of `pool`, within `timeout`.
async fn verify_on(
    pool: &Pool,
    schema: &SchemaName,
    migrations: Migrations,
    timeout: Duration,
) -> Result<(), StoreError> {
    let verified = async {
        let client = pool
            .get()
            .await
            .map(Lease::new)
            .map_err(|error| pool::pool_error(error, schema, &pool.timeouts()))?;
        let verified = migrate::verify(&client, schema, migrations).await;
        client.settle(verified)
    };
    tokio::time::timeout(timeout, verified)
        .await
        .unwrap_or(Err(StoreError::Timeout))
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

    /// A read shows only committed rows, and a committed row is durable: a lost reply is settled
    /// by reading back.
    fn write_visibility(&self) -> portal_sessions::WriteVisibility {
        portal_sessions::WriteVisibility::DurableOnly
    }

    /// A round trip on a pooled connection, within the operation deadline, to a server that takes
    /// writes: a standby (in recovery, after a failover the pool has not followed) cannot.
    async fn check_writable(&self) -> Result<(), StoreError> {
        let rows = self.query("SELECT pg_is_in_recovery()", &[]).await?;
        let in_recovery = rows
            .first()
            .map(|row| row.try_get::<_, bool>(0))
            .transpose()
            .map_err(|error| StoreError::Backend(Box::new(error)))?;
        match in_recovery {
            Some(false) => Ok(()),
            _ => Err(StoreError::Unavailable(
                "the database is a read-only standby (in recovery)".into(),
            )),
        }
    }
}
