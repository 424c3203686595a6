//! The database's clock: the one `now` that every instance sharing the database agrees on.
//!
//! Expiry is decided by comparing a session's `expires_at` with `now`. With several app instances
//! on one database, each instance's own clock would decide for the requests it serves, so an
//! instance whose clock runs Δ behind would open links and portals Δ after they expired. The store
//! therefore reads PostgreSQL's `clock_timestamp()` and keeps the offset between it and the
//! process clock: `now` is the process clock plus that offset, measured at connect (the best of a
//! few round trips, each taken at its midpoint) and again every
//! [`PostgresConfig::clock_refresh`](crate::PostgresConfig::clock_refresh). Reading `now` costs
//! nothing per operation, and instances agree to within their round-trip times.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use deadpool_postgres::Pool;
use portal_sessions::{Clock, StoreError, Timestamp};

/// The database's clock, as seen from this process (see the module docs).
pub(crate) struct DatabaseClock {
    local: Arc<dyn Clock>,
    offset_millis: AtomicI64,
}

impl std::fmt::Debug for DatabaseClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseClock")
            .field("offset_millis", &self.offset_millis.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Clock for DatabaseClock {
    fn now(&self) -> Timestamp {
        self.local
            .now()
            .as_millis()
            .checked_add(self.offset_millis.load(Ordering::Relaxed))
            .and_then(Timestamp::from_millis)
            .unwrap_or(Timestamp::MAX)
    }
}

const SAMPLES: usize = 3;

impl DatabaseClock {
    /// Measures the database's offset from `local` and starts refreshing it every `refresh` for as
    /// long as the clock is in use.
    pub(crate) async fn start(
        pool: &Pool,
        local: Arc<dyn Clock>,
        refresh: Duration,
        timeout: Duration,
    ) -> Result<Arc<DatabaseClock>, StoreError> {
        let clock = Arc::new(DatabaseClock {
            offset_millis: AtomicI64::new(0),
            local,
        });
        clock.measure(pool, timeout).await?;
        let weak = Arc::downgrade(&clock);
        let pool = pool.clone();
        tokio::spawn(refresh_until_dropped(weak, pool, refresh, timeout));
        Ok(clock)
    }

    /// One measurement: the offset of the sample with the shortest round trip.
    async fn measure(&self, pool: &Pool, timeout: Duration) -> Result<(), StoreError> {
        let sample = async {
            let client = crate::pool::Lease::new(
                pool.get()
                    .await
                    .map_err(|error| StoreError::Unavailable(Box::new(error)))?,
            );
            let offset = self.sample(&client).await;
            client.settle(offset)
        };
        let offset = tokio::time::timeout(timeout, sample)
            .await
            .unwrap_or(Err(StoreError::Timeout))?;
        let previous = self.offset_millis.swap(offset, Ordering::Relaxed);
        if (offset - previous).abs() > 1_000 {
            tracing::info!(
                offset_ms = offset,
                "the database clock's offset from this process moved"
            );
        }
        Ok(())
    }

    /// The offset of the sample with the shortest round trip on `client`.
    async fn sample(&self, client: &deadpool_postgres::Object) -> Result<i64, StoreError> {
        let statement = client
            .prepare_cached("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
            .await
            .map_err(|error| StoreError::Unavailable(Box::new(error)))?;
        let mut best: Option<(i64, i64)> = None;
        for _ in 0..SAMPLES {
            let sent = self.local.now().as_millis();
            let row = client
                .query_one(&statement, &[])
                .await
                .map_err(|error| StoreError::Unavailable(Box::new(error)))?;
            let received = self.local.now().as_millis();
            let database: i64 = row.get(0);
            let round_trip = received - sent;
            if round_trip < 0 {
                // The process clock stepped back during the sample: it says nothing.
                continue;
            }
            let offset = database - (sent + round_trip / 2);
            if best.is_none_or(|(shortest, _)| round_trip < shortest) {
                best = Some((round_trip, offset));
            }
        }
        Ok(best.map_or(0, |(_, offset)| offset))
    }
}

async fn refresh_until_dropped(
    clock: Weak<DatabaseClock>,
    pool: Pool,
    every: Duration,
    timeout: Duration,
) {
    loop {
        tokio::time::sleep(every).await;
        let Some(clock) = clock.upgrade() else {
            return;
        };
        if let Err(error) = clock.measure(&pool, timeout).await {
            // The last offset stands; a database that cannot be reached fails the operations anyway.
            tracing::warn!(error = %portal_sessions::ErrorChain(&error), "measuring the database clock failed");
        }
    }
}
