//! The layout of the index trees' keys: big-endian, so that sled's byte order is list order.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `records` | session id (16) | the encoded record |
//! | `by_org` | org (16) ‖ newest-first created_at (8) ‖ descending id (16) | empty |
//! | `by_customer` | org (16) ‖ customer (16) ‖ newest-first created_at (8) ‖ descending id (16) | empty |
//! | `open_by_org`, `open_by_customer` | as `by_org`, `by_customer`, for links not yet used or revoked | expires_at (8) |
//! | `by_expiry` | ascending expires_at (8) ‖ id (16) | empty |
//!
//! "Newest first" stores the bitwise complement of the sign-flipped milliseconds, so a forward scan of
//! an organisation's prefix yields its sessions newest first, ties by id descending: the order the
//! [`SessionStore`](portal_sessions::SessionStore) contract asks for.

use portal_sessions::{SessionId, SessionRecord, Timestamp};

/// Sign-flipped, so that byte order is numeric order for negative instants too.
pub(crate) fn ascending_time(time: Timestamp) -> [u8; 8] {
    (time.as_millis().cast_unsigned() ^ (1 << 63)).to_be_bytes()
}

fn descending_time(time: Timestamp) -> [u8; 8] {
    (!(time.as_millis().cast_unsigned() ^ (1 << 63))).to_be_bytes()
}

fn descending_id(id: &SessionId) -> [u8; 16] {
    id.as_bytes().map(|b| !b)
}

/// The `by_org` / `open_by_org` key of a record.
pub(crate) fn org_key(record: &SessionRecord) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(record.org_id.as_bytes());
    key.extend_from_slice(&descending_time(record.created_at));
    key.extend_from_slice(&descending_id(&record.id));
    key
}

/// The `by_customer` / `open_by_customer` key of a record.
pub(crate) fn customer_key(record: &SessionRecord) -> Vec<u8> {
    let mut key = Vec::with_capacity(56);
    key.extend_from_slice(record.org_id.as_bytes());
    key.extend_from_slice(record.customer.id.as_bytes());
    key.extend_from_slice(&descending_time(record.created_at));
    key.extend_from_slice(&descending_id(&record.id));
    key
}

/// The `by_expiry` key of a record.
pub(crate) fn expiry_key(expires_at: Timestamp, id: &SessionId) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&ascending_time(expires_at));
    key[8..].copy_from_slice(id.as_bytes());
    key
}

/// The created_at and id at the end of a `by_org` or `by_customer` key, or `None` for a key too short
/// to be one.
pub(crate) fn parse_list_key(key: &[u8]) -> Option<(Timestamp, SessionId)> {
    let tail = key.len().checked_sub(24).map(|start| &key[start..])?;
    let time: [u8; 8] = tail[..8].try_into().ok()?;
    let id: [u8; 16] = tail[8..].try_into().ok()?;
    let millis = (!u64::from_be_bytes(time) ^ (1 << 63)).cast_signed();
    Some((
        Timestamp::from_millis(millis)?,
        SessionId::from_bytes(id.map(|b| !b)),
    ))
}

/// The id at the end of a `by_expiry` key.
pub(crate) fn parse_expiry_key(key: &[u8]) -> Option<SessionId> {
    let id: [u8; 16] = key.get(8..24)?.try_into().ok()?;
    Some(SessionId::from_bytes(id))
}

/// The expires_at stored as an open index's value.
pub(crate) fn parse_time_value(value: &[u8]) -> Option<Timestamp> {
    let bytes: [u8; 8] = value.try_into().ok()?;
    Timestamp::from_millis((u64::from_be_bytes(bytes) ^ (1 << 63)).cast_signed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_list_order() {
        let times = [-5_000i64, -1, 0, 1, 1_778_689_800_000];
        let mut keys: Vec<[u8; 8]> = times
            .iter()
            .filter_map(|&t| Timestamp::from_millis(t))
            .map(descending_time)
            .collect();
        let sorted = {
            let mut sorted = keys.clone();
            sorted.sort();
            sorted
        };
        keys.reverse();
        assert_eq!(keys, sorted, "newest first");
        for &t in &times {
            let time = Timestamp::from_millis(t).unwrap_or(Timestamp::UNIX_EPOCH);
            let id = SessionId::from_bytes([7; 16]);
            let mut key = vec![0u8; 16];
            key.extend_from_slice(&descending_time(time));
            key.extend_from_slice(&descending_id(&id));
            assert_eq!(parse_list_key(&key), Some((time, id)));
            assert_eq!(parse_time_value(&ascending_time(time)), Some(time));
        }
    }
}
