//! The durable event feed: what was delivered of each session's events, in a tree of its own.
//!
//! The events themselves are the records' ([`SessionRecord::events`](portal_sessions::SessionRecord::events)),
//! so they are as durable as the records. Beside them, the `events` tree keeps one small value
//! per session whose events were delivered or failed: the kinds delivered and the failed attempts
//! (5 bytes). It is written after a delivery, as its own key: losing that write (a crash right
//! after a delivery) only delivers those events again. Which sessions are undelivered, and the
//! claims on them, live in memory ([`EventQueue`](portal_sessions_index::EventQueue)), rebuilt
//! when the store opens from the records and this tree.
//!
//! A database from before this tree existed has its history marked delivered when it is first
//! opened (so its sessions are not all announced at once), then a marker key says so.

use async_trait::async_trait;
use portal_sessions::{
    Claim, EventFeed, EventKinds, SessionId, StoreError, Timestamp, Undelivered,
};
use portal_sessions_index::Delivery;

use crate::store::{SledStore, backend};

/// The tree of delivery marks.
pub(crate) const EVENTS: &str = "events";
/// The key in sled's default tree that says the history before events was marked delivered.
pub(crate) const EVENTS_MARKER: &[u8] = b"portal-sessions/events";

/// A delivery as stored: the kinds delivered, then the failed attempts, big-endian.
pub(crate) fn encode_delivery(delivery: Delivery) -> [u8; 5] {
    let mut bytes = [0u8; 5];
    bytes[0] = delivery.delivered.bits();
    bytes[1..].copy_from_slice(&delivery.attempts.to_be_bytes());
    bytes
}

/// The delivery [`encode_delivery`] wrote; `None` for any other value.
pub(crate) fn decode_delivery(bytes: &[u8]) -> Option<Delivery> {
    let [kinds, attempts @ ..] = bytes else {
        return None;
    };
    Some(Delivery {
        delivered: EventKinds::from_bits(*kinds)?,
        attempts: u32::from_be_bytes(<[u8; 4]>::try_from(attempts).ok()?),
    })
}

impl SledStore {
    /// Writes a session's delivery mark, durably as the store's writes are; nothing for a session
    /// that is gone (purged while it was being delivered).
    async fn keep(&self, id: &SessionId, delivery: Delivery) -> Result<(), StoreError> {
        if !self
            .inner()
            .records
            .contains_key(id.as_bytes())
            .map_err(backend)?
        {
            return Ok(());
        }
        self.inner().health.check()?;
        self.inner()
            .events
            .insert(id.as_bytes(), &encode_delivery(delivery))
            .map_err(|error| self.inner().health.write_failed(error))?;
        self.acknowledge().await
    }
}

#[async_trait]
impl EventFeed for SledStore {
    /// The records are read from sled, which shows a write before its flush; a flush that starts
    /// after the read, and succeeds, is what makes them fit to announce. A failed flush fails the
    /// store closed and hands out nothing.
    async fn claim(&self, claim: &Claim) -> Result<Vec<Undelivered>, StoreError> {
        let claimed = self.inner().queue.claim(claim, |id| self.get_now(id))?;
        if !claimed.is_empty() {
            self.flush().await?;
        }
        Ok(claimed)
    }

    async fn delivered(
        &self,
        claimant: &str,
        id: &SessionId,
        kinds: EventKinds,
    ) -> Result<(), StoreError> {
        let delivery = self.inner().queue.delivered(claimant, id, kinds);
        self.keep(id, delivery).await
    }

    async fn retry_at(
        &self,
        claimant: &str,
        id: &SessionId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let delivery = self.inner().queue.retry_at(claimant, id, at);
        self.keep(id, delivery).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portal_sessions::EventKind;

    #[test]
    fn deliveries_round_trip_and_garbage_is_refused() {
        let delivery = Delivery {
            delivered: EventKinds::EMPTY
                .with(EventKind::Created)
                .with(EventKind::Revoked),
            attempts: 70_000,
        };
        assert_eq!(decode_delivery(&encode_delivery(delivery)), Some(delivery));
        assert_eq!(decode_delivery(&[]), None);
        assert_eq!(decode_delivery(&[1, 0, 0, 0]), None);
        assert_eq!(decode_delivery(&[0x10, 0, 0, 0, 0]), None);
        assert_eq!(decode_delivery(&[1, 0, 0, 0, 0, 0]), None);
    }
}
