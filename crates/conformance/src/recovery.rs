//! The checks of recovery: a used or expired link that asks for a new one. What may recover is
//! decided from the record, so these checks prove that a store keeps the recovery fields and the
//! mark a customer-wide revocation leaves, for every instance that reads it.

use std::sync::Arc;
use std::time::Duration;

use portal_sessions::{
    ClientInfo, CreateRequest, CustomerRef, Engine, EngineError, Locale, MintedBy, RecoveryBlock,
    RecoveryError, RecoveryPolicy, SessionStore, StaticDirectory,
};

use crate::fixture::EngineFixture;
use crate::suite::engine_ok;

const HOUR: Duration = Duration::from_secs(60 * 60);

fn recovered<T>(what: &str, result: Result<T, RecoveryError>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what} failed: {error:?}"),
    }
}

fn blocked<T: std::fmt::Debug>(result: Result<T, RecoveryError>, want: RecoveryBlock, why: &str) {
    match result {
        Err(RecoveryError::Blocked(block)) if block == want => {}
        other => panic!("{why}: expected {want:?}, got {other:?}"),
    }
}

/// A used link recovers into a session that inherits its features, return URL, locale, lifetime
/// and chain, records where it came from, and goes to the customer's address from the directory;
/// the recovered session's link opens once. The window counts from the chain's first session, an
/// open link has nothing to recover, a session minted without recovery or without an address
/// cannot, and the hourly limit counts what the store holds, so a second engine on the same store
/// (another instance) meets the same limit.
pub async fn recovery_mints_a_new_link_within_its_window_and_limit<S: SessionStore>(store: Arc<S>) {
    let fx = EngineFixture::new(store.clone());
    let customer = &fx.customers[0];
    let policy = RecoveryPolicy {
        window: Duration::from_secs(3 * 24 * 60 * 60),
        max_emails_per_hour: 3,
    };
    let fr: Locale = "fr-CA".parse().unwrap_or_else(|error| panic!("{error}"));
    let request = CreateRequest::for_customer_id(customer.id)
        .with_return_url("https://app.example.test/account")
        .with_locale(fr)
        .with_features(portal_sessions::Features::from_bits(0b0101).unwrap_or_default())
        .expiring_in(Duration::from_secs(600));
    let first = engine_ok("create", fx.engine.create(fx.org, request).await);
    // Still open: nothing to recover, nothing minted.
    blocked(
        fx.engine.recover(&first.link, &policy).await,
        RecoveryBlock::StillOpen,
        "an open link",
    );
    engine_ok(
        "redeem",
        fx.engine.redeem(&first.link, ClientInfo::default()).await,
    );
    fx.clock.advance(Duration::from_secs(24 * 60 * 60));

    let second = recovered("recover", fx.engine.recover(&first.link, &policy).await);
    let new = &second.created.record;
    assert_eq!(second.address, "billing@acme.test");
    assert_eq!(
        new.minted_by,
        MintedBy::Recovery {
            from: first.record.id
        }
    );
    assert_eq!(new.minted_by.recovered_from(), Some(first.record.id));
    assert_eq!(new.chain_started_at, first.record.created_at);
    assert_eq!(new.features, first.record.features);
    assert_eq!(new.return_url, first.record.return_url);
    assert_eq!(new.locale, Some(fr));
    assert_eq!(new.lifetime(), Duration::from_secs(600));
    assert!(new.recovery);
    assert_eq!(new.created_at, fx.engine.now());
    let stored = engine_ok("get", fx.engine.get(fx.org, &new.id).await);
    assert_eq!(&stored, new, "the recovered session as stored");
    assert_eq!(
        stored.view(fx.engine.now()).recovered_from,
        Some(first.record.id)
    );
    // Its link opens once.
    engine_ok(
        "redeem",
        fx.engine
            .redeem(&second.created.link, ClientInfo::default())
            .await,
    );
    assert!(matches!(
        fx.engine
            .redeem(&second.created.link, ClientInfo::default())
            .await,
        Err(EngineError::LinkUsed)
    ));

    // The recovered session recovers too, but the window still counts from the first session.
    fx.clock.advance(Duration::from_secs(24 * 60 * 60));
    let third = recovered(
        "recover again",
        fx.engine.recover(&second.created.link, &policy).await,
    );
    assert_eq!(
        third.created.record.chain_started_at,
        first.record.created_at
    );
    fx.clock.advance(Duration::from_secs(24 * 60 * 60 + 1));
    // Three days and a second after the first session, with the third's link expired long ago.
    blocked(
        fx.engine.recover(&third.created.link, &policy).await,
        RecoveryBlock::OutsideWindow,
        "a chain older than the window",
    );

    // The hourly limit: three emails an hour for this customer, counted from the store, by any
    // engine over it.
    let another_instance = Engine::new(store.clone(), {
        let mut directory = StaticDirectory::default();
        for customer in &fx.customers {
            directory
                .insert(fx.org, customer.clone())
                .unwrap_or_else(|error| panic!("{error}"));
        }
        directory
    })
    .with_clock(fx.clock.clone());
    let mut links = Vec::new();
    for _ in 0..4 {
        let created = engine_ok(
            "create",
            fx.engine
                .create(fx.org, CreateRequest::for_customer_id(customer.id))
                .await,
        );
        engine_ok(
            "redeem",
            fx.engine.redeem(&created.link, ClientInfo::default()).await,
        );
        links.push(created.link);
    }
    recovered("recover 1", fx.engine.recover(&links[0], &policy).await);
    recovered(
        "recover 2",
        another_instance.recover(&links[1], &policy).await,
    );
    recovered(
        "login",
        fx.engine
            .mint_for_login(fx.org, Arc::new(customer.clone()), Locale::ENGLISH, &policy)
            .await,
    );
    blocked(
        another_instance.recover(&links[2], &policy).await,
        RecoveryBlock::OverLimit,
        "a fourth email within the hour, from another instance",
    );
    blocked(
        fx.engine
            .mint_for_login(fx.org, Arc::new(customer.clone()), Locale::ENGLISH, &policy)
            .await,
        RecoveryBlock::OverLimit,
        "a fourth email within the hour, from the login page",
    );
    fx.clock.advance(HOUR);
    recovered(
        "recover after the hour",
        another_instance.recover(&links[2], &policy).await,
    );

    // Opted out, and a customer without an address: nothing minted.
    let opted_out = engine_ok(
        "create",
        fx.engine
            .create(
                fx.org,
                CreateRequest::for_customer_id(customer.id).without_recovery(),
            )
            .await,
    );
    assert!(!opted_out.record.recovery);
    let no_address = engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(fx.customers[1].id))
            .await,
    );
    fx.clock.advance(HOUR);
    blocked(
        fx.engine.recover(&opted_out.link, &policy).await,
        RecoveryBlock::OptedOut,
        "a session minted without recovery",
    );
    blocked(
        fx.engine.recover(&no_address.link, &policy).await,
        RecoveryBlock::NoAddress,
        "a customer without an address",
    );
    let minted = fx
        .engine
        .emails_in_last_hour(fx.org, fx.customers[1].id, 5)
        .await;
    assert!(matches!(minted, Ok(0)), "{minted:?}");
}

/// A customer-wide revocation ends recovery for every session of the customer created before it:
/// the live ones are revoked, and the used and expired ones are marked, durably, so that another
/// engine over the same store (another instance) refuses them too. Sessions minted after it, and
/// the login page, are not affected.
pub async fn customer_revocation_ends_recovery<S: SessionStore>(store: Arc<S>) {
    let fx = EngineFixture::new(store.clone());
    let customer = &fx.customers[0];
    let policy = RecoveryPolicy::default();
    let create = |lifetime: u64| {
        let request =
            CreateRequest::for_customer_id(customer.id).expiring_in(Duration::from_secs(lifetime));
        let engine = fx.engine.clone();
        let org = fx.org;
        async move { engine_ok("create", engine.create(org, request).await) }
    };
    // Used, and its portal closed by its expiry: not live.
    let used = create(60).await;
    engine_ok(
        "redeem",
        fx.engine.redeem(&used.link, ClientInfo::default()).await,
    );
    let expiring = create(60).await;
    let live = create(3_600).await;
    fx.clock.advance(Duration::from_secs(120));
    for record in [&used.record, &expiring.record] {
        let now_stored = engine_ok("get", fx.engine.get(fx.org, &record.id).await);
        assert!(
            fx.engine.recovery_offer(&now_stored, &policy).await.is_ok(),
            "before the revocation, a used or expired link may recover"
        );
    }

    let revoked = engine_ok(
        "revoke customer",
        fx.engine
            .revoke_customer(fx.org, CustomerRef::Id(customer.id))
            .await,
    );
    assert_eq!(revoked, 1, "only the live session is revoked");
    let another_instance = Engine::new(store.clone(), {
        let mut directory = StaticDirectory::default();
        directory
            .insert(fx.org, customer.clone())
            .unwrap_or_else(|error| panic!("{error}"));
        directory
    })
    .with_clock(fx.clock.clone());
    for (link, why) in [(&used.link, "used"), (&expiring.link, "expired")] {
        blocked(
            fx.engine.recover(link, &policy).await,
            RecoveryBlock::Ended,
            why,
        );
        blocked(
            another_instance.recover(link, &policy).await,
            RecoveryBlock::Ended,
            why,
        );
    }
    blocked(
        another_instance.recover(&live.link, &policy).await,
        RecoveryBlock::Revoked,
        "the live session, revoked",
    );
    for record in [&used.record, &expiring.record] {
        let stored = engine_ok("get", fx.engine.get(fx.org, &record.id).await);
        assert!(stored.recovery_ended_at.is_some());
        assert!(
            stored.revoked_at.is_none(),
            "an ended recovery is not a revocation"
        );
        assert!(!stored.is_live(fx.engine.now()));
    }
    // A second revocation changes nothing more.
    let again = fx
        .engine
        .revoke_customer(fx.org, CustomerRef::Id(customer.id))
        .await;
    assert!(matches!(again, Ok(0)), "{again:?}");

    // After it: a new session recovers, and the login page still mints.
    fx.clock.advance(Duration::from_millis(1));
    let after = create(3_600).await;
    engine_ok(
        "redeem",
        fx.engine.redeem(&after.link, ClientInfo::default()).await,
    );
    recovered(
        "recover a session minted after the revocation",
        another_instance.recover(&after.link, &policy).await,
    );
    recovered(
        "login",
        fx.engine
            .mint_for_login(fx.org, Arc::new(customer.clone()), Locale::ENGLISH, &policy)
            .await,
    );
}
