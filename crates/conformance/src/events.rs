//! The checks of events: the in-process listener, and a store's durable feed
//! ([`EventFeed`]), for stores that keep one.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portal_sessions::{
    Claim, ClientInfo, Clock, CreateRequest, EngineError, EventKind, EventKinds, ManualClock,
    SessionEvent, SessionId, SessionStore, StaticDirectory, Timestamp, Undelivered,
};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::fixture::{EngineFixture, new_customer, new_org, start_time};
use crate::suite::engine_ok;

const LEASE: Duration = Duration::from_secs(60);

fn claim(claimant: &str, now: Timestamp, limit: usize) -> Claim {
    Claim {
        claimant: claimant.to_owned(),
        now,
        lease: LEASE,
        limit,
    }
}

fn kinds(undelivered: &Undelivered) -> Vec<EventKind> {
    undelivered.pending().map(|event| event.kind).collect()
}

/// An engine with a listener hears every change it commits, once, in order per session, with the
/// session as it was right after the event; never a redeem that lost its race, a refused request,
/// or a revocation that changed nothing. 16 redeems and a revoke race on each of 10 links.
pub async fn listeners_hear_committed_changes_in_order<S: SessionStore>(store: Arc<S>) {
    let heard: Arc<Mutex<Vec<SessionEvent>>> = Arc::default();
    let log = heard.clone();
    let org = new_org();
    let customer = new_customer("Listened");
    let mut directory = StaticDirectory::default();
    if let Err(error) = directory.insert(org, customer.clone()) {
        panic!("{error}");
    }
    let clock = ManualClock::new(start_time());
    let engine = Arc::new(
        portal_sessions::Engine::new(store, directory)
            .with_clock(clock.clone())
            .with_listener(move |event: &SessionEvent| {
                if let Ok(mut log) = log.lock() {
                    log.push(event.clone());
                }
            }),
    );
    let mut links = Vec::new();
    for _ in 0..10 {
        links.push(engine_ok(
            "create",
            engine
                .create(org, CreateRequest::for_customer_id(customer.id))
                .await,
        ));
    }
    for created in &links {
        let barrier = Arc::new(Barrier::new(17));
        let mut tasks = JoinSet::new();
        for _ in 0..16 {
            let (engine, barrier, link) = (engine.clone(), barrier.clone(), created.link.clone());
            tasks.spawn(async move {
                barrier.wait().await;
                engine
                    .redeem(&link, ClientInfo::default())
                    .await
                    .map(|_| ())
            });
        }
        let (engine, barrier, id) = (engine.clone(), barrier.clone(), created.record.id);
        tasks.spawn(async move {
            barrier.wait().await;
            engine.revoke(org, &id).await.map(|_| ())
        });
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(()) | Err(EngineError::LinkUsed | EngineError::LinkRevoked)) => {}
                Ok(Err(error)) => panic!("unexpected: {error:?}"),
                Err(error) => panic!("{error}"),
            }
        }
    }
    // Refused and no-op requests announce nothing.
    let _ = engine.redeem(&links[0].link, ClientInfo::default()).await;
    engine_ok(
        "revoke again",
        engine.revoke(org, &links[0].record.id).await,
    );

    let heard = match heard.lock() {
        Ok(heard) => heard.clone(),
        Err(error) => panic!("{error}"),
    };
    let mut by_session: HashMap<SessionId, Vec<&SessionEvent>> = HashMap::new();
    for event in &heard {
        by_session.entry(event.session.id).or_default().push(event);
    }
    assert_eq!(by_session.len(), links.len());
    for created in &links {
        let stored = engine_ok("get", engine.get(org, &created.record.id).await);
        let events = &by_session[&created.record.id];
        let order: Vec<EventKind> = events.iter().map(|event| event.kind).collect();
        let expected: Vec<EventKind> = stored.events().map(|event| event.kind).collect();
        assert_eq!(order, expected, "heard once each, in the order committed");
        for (event, derived) in events.iter().zip(stored.events()) {
            assert_eq!(
                **event, derived,
                "the announcement is the record's own event"
            );
        }
        // A redeem that lost to the revoke left nothing; one that won was heard before it.
        assert_eq!(
            order.contains(&EventKind::Redeemed),
            stored.used_at.is_some()
        );
        assert_eq!(order.last(), Some(&EventKind::Revoked));
    }
}

/// The feed of a store that keeps one: every committed event is claimable, in order per session,
/// each session by one claimant at a time until its lease ends; marks add up and a later change
/// makes a session pending again with only its new event; a failed delivery waits for its retry
/// time and counts its attempts; purged sessions leave the feed.
pub async fn the_event_feed_hands_out_every_committed_event<S: SessionStore>(store: Arc<S>) {
    if store.event_feed().is_none() {
        println!("this store keeps no event feed: nothing to check");
        return;
    }
    let fx = EngineFixture::new(store.clone());
    let Some(feed) = store.event_feed() else {
        return;
    };
    let customer = fx.customers[0].id;
    let create = || {
        let engine = fx.engine.clone();
        let org = fx.org;
        async move {
            engine_ok(
                "create",
                engine
                    .create(org, CreateRequest::for_customer_id(customer))
                    .await,
            )
        }
    };
    let first = create().await;
    fx.clock.advance(Duration::from_millis(1));
    let second = create().await;
    fx.clock.advance(Duration::from_millis(1));
    let third = create().await;
    let viewer = engine_ok(
        "redeem",
        fx.engine.redeem(&first.link, ClientInfo::default()).await,
    )
    .viewer;
    engine_ok("logout", fx.engine.logout(&viewer).await);
    engine_ok("revoke", fx.engine.revoke(fx.org, &second.record.id).await);
    // A refused redeem, and a revoke that changes nothing, add nothing.
    let _ = fx.engine.redeem(&first.link, ClientInfo::default()).await;
    engine_ok("revoke", fx.engine.revoke(fx.org, &second.record.id).await);

    let now = fx.clock.now();
    let must = |result: Result<Vec<Undelivered>, portal_sessions::StoreError>| match result {
        Ok(claimed) => claimed,
        Err(error) => panic!("claim failed: {error}"),
    };
    let ours = [first.record.id, second.record.id, third.record.id];
    // Other checks may share the store (PostgreSQL): look at this fixture's sessions only.
    let mine = |claimed: Vec<Undelivered>| -> Vec<Undelivered> {
        claimed
            .into_iter()
            .filter(|u| ours.contains(&u.record.id))
            .collect()
    };
    let claimed = mine(must(feed.claim(&claim("a", now, 1000)).await));
    let ids: Vec<SessionId> = claimed.iter().map(|u| u.record.id).collect();
    assert_eq!(ids, ours, "oldest first");
    assert_eq!(
        kinds(&claimed[0]),
        [
            EventKind::Created,
            EventKind::Redeemed,
            EventKind::LoggedOut
        ]
    );
    assert_eq!(kinds(&claimed[1]), [EventKind::Created, EventKind::Revoked]);
    assert_eq!(kinds(&claimed[2]), [EventKind::Created]);
    let created_event = claimed[0].pending().next();
    assert_eq!(
        created_event.map(|event| event.session.used_at),
        Some(None),
        "the created event shows the session as it was then"
    );
    // Leased: nobody else gets them until the lease ends.
    assert!(mine(must(feed.claim(&claim("b", now, 1000)).await)).is_empty());
    let after_lease = now.checked_add(LEASE).unwrap_or(Timestamp::MAX);
    let again = mine(must(feed.claim(&claim("b", after_lease, 1000)).await));
    assert_eq!(again.len(), 3, "a dead claimant's sessions come back");

    // Marks add up; a later change brings back only its own event.
    let done = |kinds: &[EventKind]| {
        kinds
            .iter()
            .fold(EventKinds::EMPTY, |set, kind| set.with(*kind))
    };
    let mark = |id: SessionId, kinds: EventKinds| async move {
        if let Err(error) = feed.delivered("b", &id, kinds).await {
            panic!("delivered failed: {error}");
        }
    };
    mark(first.record.id, done(&[EventKind::Created])).await;
    mark(
        first.record.id,
        done(&[EventKind::Redeemed, EventKind::LoggedOut]),
    )
    .await;
    mark(second.record.id, done(&[EventKind::Created])).await;
    mark(third.record.id, done(&[EventKind::Created])).await;
    let later = after_lease
        .checked_add(Duration::from_millis(1))
        .unwrap_or(Timestamp::MAX);
    let left = mine(must(feed.claim(&claim("c", later, 1000)).await));
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].record.id, second.record.id);
    assert_eq!(kinds(&left[0]), [EventKind::Revoked]);
    // A failed delivery: not before its retry time, attempts counted, reset by success.
    let retry = later
        .checked_add(Duration::from_secs(5))
        .unwrap_or(Timestamp::MAX);
    if let Err(error) = feed.retry_at("c", &second.record.id, retry).await {
        panic!("retry_at failed: {error}");
    }
    let early = retry.checked_sub(Duration::from_millis(1)).unwrap_or(later);
    assert!(mine(must(feed.claim(&claim("d", early, 1000)).await)).is_empty());
    let retried = mine(must(feed.claim(&claim("d", retry, 1000)).await));
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1);
    if let Err(error) = feed
        .delivered("d", &second.record.id, done(&[EventKind::Revoked]))
        .await
    {
        panic!("{error}");
    }
    let later = retry.checked_add(LEASE).unwrap_or(Timestamp::MAX);
    assert!(mine(must(feed.claim(&claim("e", later, 1000)).await)).is_empty());
    // A new change: only its event is pending.
    engine_ok("revoke", fx.engine.revoke(fx.org, &third.record.id).await);
    let changed = mine(must(feed.claim(&claim("e", later, 1000)).await));
    assert_eq!(changed.len(), 1);
    assert_eq!(kinds(&changed[0]), [EventKind::Revoked]);
    assert_eq!(changed[0].attempts, 0);
    // Purged sessions leave the feed.
    let forever = Timestamp::MAX;
    if let Err(error) = store.purge_expired(forever).await {
        panic!("{error}");
    }
    assert!(mine(must(feed.claim(&claim("f", forever, 1000)).await)).is_empty());
}

/// Eight claimants racing over 40 sessions, five at a time: every session is claimed by exactly
/// one of them.
pub async fn racing_claims_take_each_session_once<S: SessionStore>(store: Arc<S>) {
    if store.event_feed().is_none() {
        println!("this store keeps no event feed: nothing to check");
        return;
    }
    let fx = EngineFixture::new(store.clone());
    let mut ours = HashSet::new();
    for _ in 0..40 {
        let created = engine_ok(
            "create",
            fx.engine
                .create(fx.org, CreateRequest::for_customer_id(fx.customers[1].id))
                .await,
        );
        ours.insert(created.record.id);
    }
    let now = fx.clock.now();
    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = JoinSet::new();
    for claimant in 0..8 {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let mut taken = Vec::new();
            loop {
                let Some(feed) = store.event_feed() else {
                    return taken;
                };
                let claimed = match feed.claim(&claim(&format!("c{claimant}"), now, 5)).await {
                    Ok(claimed) => claimed,
                    Err(error) => panic!("{error}"),
                };
                if claimed.is_empty() {
                    return taken;
                }
                taken.extend(claimed.into_iter().map(|u| u.record.id));
            }
        });
    }
    let mut seen = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(taken) => seen.extend(taken.into_iter().filter(|id| ours.contains(id))),
            Err(error) => panic!("{error}"),
        }
    }
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a session was claimed twice");
    assert_eq!(unique, ours, "a session was never claimed");
}
