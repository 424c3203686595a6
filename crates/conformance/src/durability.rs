//! The checks of what a store may acknowledge: only durable writes, and nothing once it has failed.
//!
//! A store declares whether a read proves durability
//! ([`SessionStore::write_visibility`]); the engine settles a lost reply by reading back only where
//! it does. A store whose reads may show a write before its durable step
//! ([`WriteVisibility::BeforeDurable`]) must offer a [`DurableStepFault`], so that this suite can
//! fail that step after the write was applied and check what follows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use portal_sessions::{
    Claim, ClientInfo, CreateRequest, DurableStepFault, Engine, EngineError, EventKind,
    ManualClock, SessionEvent, SessionStore, StaticDirectory, StoreError, WriteVisibility,
};

use crate::fixture::{new_customer, new_org, start_time};
use crate::suite::engine_ok;

/// The fault of a store that offers none: for [`store_tests!`](crate::store_tests)' default.
pub fn no_durable_step_fault<S>(_store: &S) -> Option<DurableStepFault> {
    None
}

/// A redeem whose durable step fails after the store applied it is an error, never acknowledged
/// (not even by reading the applied record back), and never announced: neither to a listener nor
/// in the store's event feed. The store then fails closed: it reports that it cannot write, and
/// refuses every later write (a create, another redeem, a revoke) until it is opened again; a
/// redeem of the same link is refused as unavailable, not as "already used" by a redeem that never
/// reached the disk.
///
/// A store that declares [`WriteVisibility::BeforeDurable`] must pass a fault; one that declares
/// [`WriteVisibility::DurableOnly`] and has none only shows that it can write while healthy (its
/// lost replies are checked by `lost_write_replies_are_settled_by_reading_back`).
pub async fn failed_durable_steps_are_never_acknowledged<S: SessionStore>(
    store: Arc<S>,
    fault: Option<DurableStepFault>,
) {
    if let Err(error) = store.check_writable().await {
        panic!("a healthy store reports that it cannot write: {error}");
    }
    let Some(fault) = fault else {
        assert_eq!(
            store.write_visibility(),
            WriteVisibility::DurableOnly,
            "a store whose reads may show writes before they are durable must offer a \
             DurableStepFault, so that the suite can check what it acknowledges"
        );
        println!("this store has no durable step to fail: only its health was checked");
        return;
    };
    let heard: Arc<Mutex<Vec<SessionEvent>>> = Arc::default();
    let log = heard.clone();
    let org = new_org();
    let customer = new_customer("Durable");
    let mut directory = StaticDirectory::default();
    if let Err(error) = directory.insert(org, customer.clone()) {
        panic!("{error}");
    }
    let engine = Engine::new(store.clone(), directory)
        .with_clock(ManualClock::new(start_time()))
        .with_listener(move |event: &SessionEvent| {
            if let Ok(mut log) = log.lock() {
                log.push(event.clone());
            }
        });
    let created = engine_ok(
        "create",
        engine
            .create(org, CreateRequest::for_customer_id(customer.id))
            .await,
    );

    fault.arm();
    match engine.redeem(&created.link, ClientInfo::default()).await {
        Err(EngineError::Store(StoreError::Unavailable(_))) => {}
        Err(other) => panic!("a redeem that was not made durable is unavailable, not {other:?}"),
        Ok(_) => panic!(
            "a redeem whose durable step failed was acknowledged: after a crash the link opens again"
        ),
    }
    assert!(
        !fault.take(),
        "the armed fault was not reached: the store's durable step does not honour it"
    );
    match store.check_writable().await {
        Err(StoreError::Unavailable(_) | StoreError::Timeout) => {}
        Err(other) => panic!("a store that failed closed is unavailable, not {other:?}"),
        Ok(()) => panic!("after a failed durable step the store still reports that it can write"),
    }
    let refused = [
        (
            "create",
            engine
                .create(org, CreateRequest::for_customer_id(customer.id))
                .await
                .map(|_| ()),
        ),
        (
            "redeem",
            engine
                .redeem(&created.link, ClientInfo::default())
                .await
                .map(|_| ()),
        ),
        (
            "revoke",
            engine.revoke(org, &created.record.id).await.map(|_| ()),
        ),
    ];
    for (what, outcome) in refused {
        assert!(
            matches!(outcome, Err(EngineError::Store(StoreError::Unavailable(_)))),
            "a {what} after the store failed closed is refused as unavailable, not {outcome:?}"
        );
    }

    let heard = match heard.lock() {
        Ok(heard) => heard.clone(),
        Err(error) => panic!("{error}"),
    };
    let kinds: Vec<EventKind> = heard.iter().map(|event| event.kind).collect();
    assert_eq!(
        kinds,
        vec![EventKind::Created],
        "only the durable create is announced, never the redeem that failed"
    );
    if let Some(feed) = store.event_feed() {
        let claim = Claim {
            claimant: "durability-check".to_owned(),
            now: start_time(),
            lease: Duration::from_secs(60),
            limit: 1000,
        };
        // A feed that refuses to hand anything out once its store failed closed is fine too.
        let pending = match feed.claim(&claim).await {
            Ok(pending) => pending,
            Err(StoreError::Unavailable(_)) => Vec::new(),
            Err(error) => panic!("claim: {error}"),
        };
        for undelivered in pending
            .iter()
            .filter(|undelivered| undelivered.record.id == created.record.id)
        {
            let kinds: Vec<EventKind> = undelivered.pending().map(|event| event.kind).collect();
            assert!(
                !kinds.contains(&EventKind::Redeemed),
                "the feed hands out a redeem that was never made durable: {kinds:?}"
            );
        }
    }
}
