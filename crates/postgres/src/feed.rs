//! The durable event feed on PostgreSQL, shared by every instance.
//!
//! The events are the rows' ([`SessionRecord::events`](portal_sessions::SessionRecord::events)).
//! Beside them each row keeps `events_delivered` (the kinds delivered), `events_attempts`, and a
//! claim: `events_claimant` and `events_not_before` (the end of the claimant's lease, or the time
//! of the next retry). The kinds the row's timestamps say happened are an expression ([`DUE`])
//! over them, and the partial index `portal_sessions_undelivered` holds the rows where it differs
//! from `events_delivered`, so every insert and every change that adds an event puts the row in
//! the feed without the store doing anything. (A stored generated column would have cost a rewrite
//! of the whole table when the migration added it.) Rows from before the migration have
//! `events_delivered` NULL and are never in the feed.
//!
//! A claim is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`: instances claiming
//! at once take different rows and never wait for each other, and a dead instance's rows come back
//! when its lease runs out.

use std::time::SystemTime;

use async_trait::async_trait;
use portal_sessions::{
    Claim, EventFeed, EventKinds, SessionId, StoreError, Timestamp, Undelivered,
};
use tokio_postgres::Row;

use crate::{PostgresStore, row};

/// The kinds of event a row's timestamps say happened (as `EventKinds`' bits): the same text as in
/// the partial index `portal_sessions_undelivered` (migration 2), so the planner matches them.
const DUE: &str = "(1 | CASE WHEN used_at IS NOT NULL THEN 2 ELSE 0 END \
             | CASE WHEN logged_out_at IS NOT NULL THEN 4 ELSE 0 END \
             | CASE WHEN revoked_at IS NOT NULL THEN 8 ELSE 0 END)";

/// The SQL of the feed, with the schema spliced in once.
#[derive(Debug)]
pub(crate) struct FeedStatements {
    claim: String,
    delivered: String,
    retry: String,
}

impl FeedStatements {
    pub(crate) fn new(table: &str) -> FeedStatements {
        let c = row::COLUMNS;
        FeedStatements {
            claim: format!(
                "UPDATE {table} SET events_claimant = $1, events_not_before = $3 \
                 WHERE id IN (SELECT id FROM {table} WHERE events_delivered IS NOT NULL \
                 AND {DUE} <> events_delivered \
                 AND (events_not_before IS NULL OR events_not_before <= $2) \
                 ORDER BY created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 RETURNING {c}, events_delivered, events_attempts"
            ),
            delivered: format!(
                "UPDATE {table} SET events_delivered = events_delivered | $3, events_attempts = 0, \
                 events_claimant = CASE WHEN events_claimant = $2 THEN NULL ELSE events_claimant END, \
                 events_not_before = CASE WHEN events_claimant = $2 THEN NULL ELSE events_not_before END \
                 WHERE id = $1"
            ),
            retry: format!(
                "UPDATE {table} SET events_attempts = events_attempts + 1, events_claimant = NULL, \
                 events_not_before = $3 WHERE id = $1 AND events_claimant = $2"
            ),
        }
    }
}

fn undelivered(row: &Row) -> Result<Undelivered, StoreError> {
    let record = row::decode(row)?;
    let delivered: i16 = row
        .try_get(row::COLUMN_COUNT)
        .map_err(|error| row::corrupt("events_delivered", Some(Box::new(error))))?;
    let attempts: i32 = row
        .try_get(row::COLUMN_COUNT + 1)
        .map_err(|error| row::corrupt("events_attempts", Some(Box::new(error))))?;
    Ok(Undelivered {
        record,
        delivered: u8::try_from(delivered)
            .ok()
            .and_then(EventKinds::from_bits)
            .ok_or_else(|| row::corrupt("events_delivered", None))?,
        attempts: u32::try_from(attempts).map_err(|_| row::corrupt("events_attempts", None))?,
    })
}

#[async_trait]
impl EventFeed for PostgresStore {
    async fn claim(&self, claim: &Claim) -> Result<Vec<Undelivered>, StoreError> {
        let now = claim.now.to_system_time();
        let until = now.checked_add(claim.lease).unwrap_or(now);
        let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                &self.statements.feed.claim,
                &[&claim.claimant, &now, &until, &limit],
            )
            .await?;
        let mut claimed = rows
            .iter()
            .map(undelivered)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING keeps no order: oldest first, as the feed promises.
        claimed.sort_by_key(|u| (u.record.created_at, u.record.id));
        Ok(claimed)
    }

    async fn delivered(
        &self,
        claimant: &str,
        id: &SessionId,
        kinds: EventKinds,
    ) -> Result<(), StoreError> {
        let id = id.as_bytes().to_vec();
        let kinds = i16::from(kinds.bits());
        self.execute(&self.statements.feed.delivered, &[&id, &claimant, &kinds])
            .await?;
        Ok(())
    }

    async fn retry_at(
        &self,
        claimant: &str,
        id: &SessionId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let id = id.as_bytes().to_vec();
        let at: SystemTime = at.to_system_time();
        self.execute(&self.statements.feed.retry, &[&id, &claimant, &at])
            .await?;
        Ok(())
    }
}
