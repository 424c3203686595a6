//! The event feed survives reopening: undelivered events are still claimable, delivered ones stay
//! delivered, failed attempts are remembered; and a database from before events has its history
//! marked delivered when first opened, so it does not announce every session it ever held.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use portal_sessions::{
    Claim, Clock, CreateRequest, EventKind, EventKinds, ManualClock, SessionStore, StaticDirectory,
};
use portal_sessions_conformance::fixture::{issued_record, new_customer, new_org, start_time};
use portal_sessions_sled::SledStore;

/// Opens, waiting a moment for the lock a just-dropped store's background threads may still hold.
fn reopen(path: &std::path::Path) -> SledStore {
    for _ in 0..50 {
        match SledStore::open(path) {
            Ok(store) => return store,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    SledStore::open(path).unwrap()
}

fn claim(now: portal_sessions::Timestamp) -> Claim {
    Claim {
        claimant: "test".into(),
        now,
        lease: Duration::from_secs(60),
        limit: 100,
    }
}

#[tokio::test]
async fn undelivered_events_and_marks_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let org = new_org();
    let customer = new_customer("Durable");
    let mut directory = StaticDirectory::default();
    directory.insert(org, customer.clone()).unwrap();
    let clock = ManualClock::new(start_time());
    let (first, second) = {
        let store = SledStore::open(&path).unwrap();
        let engine = portal_sessions::Engine::new(store.clone(), directory.clone())
            .with_clock(clock.clone());
        let first = engine
            .create(org, CreateRequest::for_customer_id(customer.id))
            .await
            .unwrap();
        let second = engine
            .create(org, CreateRequest::for_customer_id(customer.id))
            .await
            .unwrap();
        engine.revoke(org, &first.record.id).await.unwrap();
        let feed = store.event_feed().unwrap();
        feed.delivered(
            "test",
            &first.record.id,
            EventKinds::EMPTY.with(EventKind::Created),
        )
        .await
        .unwrap();
        let retry = clock.now().checked_add(Duration::from_secs(30)).unwrap();
        feed.claim(&claim(clock.now())).await.unwrap();
        feed.retry_at("test", &second.record.id, retry)
            .await
            .unwrap();
        (first, second)
    };
    let store = reopen(&path);
    let feed = store.event_feed().unwrap();
    // Claims are in memory and start afresh; the retry count is on disk.
    let claimed = feed.claim(&claim(clock.now())).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let by_id = |id| claimed.iter().find(|u| u.record.id == id).unwrap();
    let kinds = |id| -> Vec<EventKind> { by_id(id).pending().map(|e| e.kind).collect() };
    assert_eq!(kinds(first.record.id), [EventKind::Revoked]);
    assert_eq!(kinds(second.record.id), [EventKind::Created]);
    assert_eq!(by_id(second.record.id).attempts, 1);
}

#[tokio::test]
async fn a_database_from_before_events_announces_only_what_happens_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (org, customer) = (new_org(), new_customer("Old"));
    let (record, _) = issued_record(org, &customer, start_time());
    {
        let store = SledStore::open(&path).unwrap();
        store.insert(&record).await.unwrap();
        store.flush().await.unwrap();
    }
    // As a version without events left it: no delivery marks, no marker.
    {
        let db = loop {
            match sled::open(&path) {
                Ok(db) => break db,
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        db.drop_tree("events").unwrap();
        db.remove("portal-sessions/events").unwrap();
        db.flush().unwrap();
    }
    let store = reopen(&path);
    let now = start_time().checked_add(Duration::from_secs(1)).unwrap();
    let feed = store.event_feed().unwrap();
    assert!(feed.claim(&claim(now)).await.unwrap().is_empty());
    // What happens next is announced.
    let revoked = record.apply(portal_sessions::Change::Revoke, now).unwrap();
    assert_eq!(
        store.compare_and_swap(0, &revoked).await.unwrap(),
        portal_sessions::CasOutcome::Swapped
    );
    let claimed = feed.claim(&claim(now)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let kinds: Vec<_> = claimed[0].pending().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Revoked]);
}
