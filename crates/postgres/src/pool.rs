//! The connections: which go back to the pool, how long each may stay silent, and which failures
//! to connect are worth waiting out.
//!
//! The why is in the crate docs' "Silent connections": every operation's deadline is
//! `PostgresStore::bounded`; a [`Lease`] gives a connection back to the pool only after an answer,
//! and discards it otherwise (a missed deadline drops the lease); [`check_when_idle`] checks a
//! connection that sat unused before it is reused (an empty query, within [`check_timeout`]); and
//! [`bound_silence`] sets TCP keepalive and `TCP_USER_TIMEOUT`.
//!
//! Connecting, [`connect_error`] tells apart what waiting can fix (no answer, a refused or reset
//! connection, a name that does not resolve, a server starting up or full:
//! [`StoreError::Unavailable`]) from what it cannot (the login refused, a database that does not
//! exist, a failed TLS handshake: [`StoreError::Config`]), so that a caller may retry the first and
//! stop at the second.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Object, PoolError, TimeoutType};
use portal_sessions::StoreError;
use tokio_postgres::error::SqlState;

use crate::{SchemaName, pg_error};

/// How long an idle connection may stay silent before the kernel starts probing it.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
/// The time between two probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);
/// Unanswered probes before the kernel gives the connection up.
const KEEPALIVE_RETRIES: u32 = 3;
/// How long sent data may stay unacknowledged before the kernel gives the connection up.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);
/// tokio-postgres's own `keepalives_idle` (libpq's too), which a connection string did not change.
const DRIVER_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);
/// The longest check of an idle connection.
const MAX_CHECK: Duration = Duration::from_secs(1);
/// How long a connection sits unused before it is checked at its next reuse.
const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(1);

/// Sets the keepalive and `TCP_USER_TIMEOUT` values of the module docs on `pg`, except those its
/// connection string set.
pub(crate) fn bound_silence(pg: &mut tokio_postgres::Config) {
    if pg.get_keepalives_idle() == DRIVER_KEEPALIVE_IDLE {
        pg.keepalives_idle(KEEPALIVE_IDLE);
    }
    if pg.get_keepalives_interval().is_none() {
        pg.keepalives_interval(KEEPALIVE_INTERVAL);
    }
    if pg.get_keepalives_retries().is_none() {
        pg.keepalives_retries(KEEPALIVE_RETRIES);
    }
    if pg.get_tcp_user_timeout().is_none() {
        pg.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
}

/// How long the check of an idle connection may take: a fifth of an operation's limit, at most a
/// second, so that one operation can skip several dead connections before its deadline.
pub(crate) fn check_timeout(operation_timeout: Duration) -> Duration {
    (operation_timeout / 5)
        .min(MAX_CHECK)
        .max(Duration::from_millis(1))
}

/// The check before reuse, as a pool hook: a connection unused for [`IDLE_BEFORE_CHECK`] or
/// longer must answer an empty query within `timeout`, or it is discarded (deadpool drops a
/// connection whose hook fails, and tries the next).
pub(crate) fn check_when_idle(timeout: Duration) -> Hook {
    Hook::async_fn(move |client, metrics| {
        let idle = metrics.last_used();
        Box::pin(async move {
            if idle < IDLE_BEFORE_CHECK {
                return Ok(());
            }
            match tokio::time::timeout(timeout, client.simple_query("")).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(error)) => Err(HookError::Backend(error)),
                Err(_) => {
                    tracing::debug!("an idle PostgreSQL connection did not answer its check");
                    Err(HookError::message("no answer to the check before reuse"))
                }
            }
        })
    })
}

/// A pooled connection lent to one operation. It goes back to the pool only through
/// [`settle`](Lease::settle) with a result that proves it healthy; dropped any other way (the
/// operation's deadline passed and its future was dropped, or it failed), it is discarded.
pub(crate) struct Lease {
    object: Option<Object>,
}

impl Lease {
    pub(crate) fn new(object: Object) -> Lease {
        Lease {
            object: Some(object),
        }
    }

    /// Ends the lease after `result`: back to the pool when the connection answered (success, or
    /// an error the server sent), discarded when the connection failed or timed out.
    pub(crate) fn settle<T>(mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let answered = !matches!(
            result,
            Err(StoreError::Unavailable(_) | StoreError::Timeout)
        );
        if let Some(object) = self.object.take() {
            if answered && !object.is_closed() {
                drop(object);
            } else {
                discard(object);
            }
        }
        result
    }
}

impl Deref for Lease {
    type Target = Object;

    fn deref(&self) -> &Object {
        match &self.object {
            Some(object) => object,
            // `object` is only taken by `settle` and `drop`, which consume the lease.
            None => unreachable!("a settled lease was used"),
        }
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Object {
        match &mut self.object {
            Some(object) => object,
            None => unreachable!("a settled lease was used"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            discard(object);
        }
    }
}

/// Takes `object` out of the pool for good and closes it (dropping the client aborts the task
/// that drives its socket).
fn discard(object: Object) {
    tracing::debug!("a PostgreSQL connection failed or missed its deadline: discarded");
    drop(Object::take(object));
}

/// A pool limit that passed, in words.
#[derive(Debug)]
struct PoolTimeout {
    kind: TimeoutType,
    after: Duration,
}

impl std::fmt::Display for PoolTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.after.as_millis();
        match self.kind {
            TimeoutType::Wait => write!(f, "every pooled connection stayed busy for {ms} ms"),
            TimeoutType::Create => write!(
                f,
                "the database server did not complete a new connection within {ms} ms"
            ),
            TimeoutType::Recycle => write!(
                f,
                "a pooled connection did not answer its check within {ms} ms"
            ),
        }
    }
}

impl std::error::Error for PoolTimeout {}

/// Translates a failure to get a connection during an operation.
pub(crate) fn pool_error(
    error: PoolError,
    schema: &SchemaName,
    timeouts: &deadpool_postgres::Timeouts,
) -> StoreError {
    match error {
        PoolError::Backend(error) => pg_error(error, schema),
        PoolError::Timeout(kind) => {
            let after = match kind {
                TimeoutType::Wait => timeouts.wait,
                TimeoutType::Create => timeouts.create,
                TimeoutType::Recycle => timeouts.recycle,
            };
            StoreError::Unavailable(Box::new(PoolTimeout {
                kind,
                after: after.unwrap_or_default(),
            }))
        }
        other => StoreError::Unavailable(Box::new(other)),
    }
}

/// Translates a failure to open the first connection: [`StoreError::Config`] when trying again
/// cannot help (see the module docs), as [`pool_error`] otherwise.
pub(crate) fn connect_error(
    error: PoolError,
    schema: &SchemaName,
    timeouts: &deadpool_postgres::Timeouts,
) -> StoreError {
    let PoolError::Backend(error) = error else {
        return pool_error(error, schema, timeouts);
    };
    let reason = match error.as_db_error().map(|db| db.code()) {
        Some(code)
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            Some("the database server refused the login")
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => {
            Some("the database named in the connection string does not exist")
        }
        Some(_) => None,
        // tokio-postgres keeps its error kinds private; its sentence for each is fixed.
        None => match error.to_string().as_str() {
            "error performing TLS handshake" => Some("TLS with the database server failed"),
            "authentication error" | "invalid configuration" => {
                Some("the database server refused the login")
            }
            _ => None,
        },
    };
    match reason {
        Some(reason) => StoreError::config(reason, Some(Box::new(error))),
        None => pg_error(error, schema),
    }
}
