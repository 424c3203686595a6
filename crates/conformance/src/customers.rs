//! The checks of what support does with one customer's sessions: list them by status, page through
//! them with a cursor, cut the customer off in one call, mint a shorter link that replaces the
//! others.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use portal_sessions::{
    ClientInfo, CreateRequest, CustomerRef, EngineError, InvalidRequest, ListOptions, Locale,
    Rejection, SessionId, SessionRecord, SessionStore, StatusFilter,
};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::fixture::{EngineFixture, RedeemsAfterFirstList};
use crate::suite::engine_ok;

fn ids(records: &[SessionRecord]) -> Vec<SessionId> {
    records.iter().map(|record| record.id).collect()
}

fn list_all(status: Option<StatusFilter>) -> ListOptions {
    ListOptions {
        status,
        limit: 100,
        ..ListOptions::default()
    }
}

/// Sessions in every status (openable, active, used then logged out, expired unused, expired after
/// use, revoked unused, revoked after use): each status filter lists exactly its own, newest first,
/// whatever `includeExpired` says, for the organisation and for one customer by either id.
pub async fn engine_lists_by_status<S: SessionStore>(store: Arc<S>) {
    let fx = EngineFixture::new(store);
    let customer = &fx.customers[1];
    let create = |lifetime: Option<u64>| {
        let mut request = CreateRequest::for_customer_id(customer.id);
        request.expires_in = lifetime.map(Duration::from_secs);
        let engine = fx.engine.clone();
        let org = fx.org;
        async move { engine_ok("create", engine.create(org, request).await) }
    };
    // Seven sessions, one second apart; two that expire after a minute.
    let mut sessions = Vec::new();
    for lifetime in [None, None, None, Some(60), Some(60), None, None] {
        sessions.push(create(lifetime).await);
        fx.clock.advance(Duration::from_secs(1));
    }
    let redeem = |i: usize| {
        let (engine, link) = (fx.engine.clone(), sessions[i].link.clone());
        async move { engine_ok("redeem", engine.redeem(&link, ClientInfo::default()).await) }
    };
    let active = redeem(1).await;
    let logged_out = redeem(2).await;
    engine_ok("logout", fx.engine.logout(&logged_out.viewer).await);
    redeem(4).await;
    redeem(6).await;
    engine_ok(
        "revoke",
        fx.engine.revoke(fx.org, &sessions[5].record.id).await,
    );
    engine_ok(
        "revoke",
        fx.engine.revoke(fx.org, &sessions[6].record.id).await,
    );
    // Another customer's openable session, and another organisation's.
    engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(fx.customers[0].id))
            .await,
    );
    engine_ok(
        "create",
        fx.engine
            .create(
                fx.other_org,
                CreateRequest::for_customer_id(fx.other_customer.id),
            )
            .await,
    );
    fx.clock.advance(Duration::from_secs(60));
    engine_ok("authenticate", fx.engine.authenticate(&active.viewer).await);

    let id = |i: usize| sessions[i].record.id;
    // Newest first within each status.
    let expected: [(StatusFilter, Vec<SessionId>); 5] = [
        (StatusFilter::Openable, vec![id(0)]),
        (StatusFilter::Active, vec![id(2), id(1)]),
        (StatusFilter::Used, vec![id(6), id(4), id(2), id(1)]),
        (StatusFilter::Expired, vec![id(4), id(3)]),
        (StatusFilter::Revoked, vec![id(6), id(5)]),
    ];
    for (status, want) in expected {
        for include_expired in [false, true] {
            for by in [
                CustomerRef::Id(customer.id),
                CustomerRef::ExternalId(customer.external_id.clone()),
            ] {
                let mut options = ListOptions {
                    include_expired,
                    ..list_all(Some(status))
                };
                match by {
                    CustomerRef::Id(id) => options.customer_id = Some(id),
                    CustomerRef::ExternalId(external_id) => {
                        options.customer_external_id = Some(external_id);
                    }
                }
                let listed = engine_ok("list", fx.engine.list(fx.org, options.clone()).await);
                assert_eq!(ids(&listed), want, "{options:?}");
            }
        }
        // The organisation-wide list holds the other customer's openable session too.
        let org_wide = engine_ok("list", fx.engine.list(fx.org, list_all(Some(status))).await);
        let extra = usize::from(status == StatusFilter::Openable);
        assert!(org_wide.iter().all(|record| record.org_id == fx.org));
        let mine: Vec<_> = org_wide
            .iter()
            .filter(|record| record.customer.id == customer.id)
            .map(|record| record.id)
            .collect();
        assert_eq!(org_wide.len(), mine.len() + extra, "{status:?}");
    }
    // An unknown external id is "no such customer"; a malformed one, or both ids, is refused.
    let unknown = ListOptions {
        customer_external_id: Some("nobody-here".into()),
        ..list_all(None)
    };
    assert!(matches!(
        fx.engine.list(fx.org, unknown).await,
        Err(EngineError::CustomerNotFound)
    ));
    let other_orgs = ListOptions {
        customer_external_id: Some(fx.other_customer.external_id.clone()),
        ..list_all(None)
    };
    assert!(matches!(
        fx.engine.list(fx.org, other_orgs).await,
        Err(EngineError::CustomerNotFound)
    ));
    for (options, why) in [
        (
            ListOptions {
                customer_id: Some(customer.id),
                customer_external_id: Some(customer.external_id.clone()),
                ..list_all(None)
            },
            InvalidRequest::TwoCustomers,
        ),
        (
            ListOptions {
                customer_external_id: Some(String::new()),
                ..list_all(None)
            },
            InvalidRequest::ExternalIdLength,
        ),
    ] {
        match fx.engine.list(fx.org, options).await {
            Err(EngineError::InvalidRequest(invalid)) if invalid == why => {}
            other => panic!("expected {why:?}, got {other:?}"),
        }
    }
}

/// 250 sessions of one organisation (some minted in the same millisecond), paged 100 at a time by
/// `starting_after`, newest first, while sessions are minted and redeemed between pages: every
/// session that existed when the paging began is listed exactly once, in order, and none minted
/// later is. A cursor that is not one of the organisation's sessions is refused.
pub async fn cursor_pages_list_every_session_once<S: SessionStore>(store: Arc<S>) {
    const SESSIONS: usize = 250;
    let fx = EngineFixture::new(store);
    let mut created = Vec::new();
    for i in 0..SESSIONS {
        let customer = &fx.customers[i % fx.customers.len()];
        created.push(engine_ok(
            "create",
            fx.engine
                .create(fx.org, CreateRequest::for_customer_id(customer.id))
                .await,
        ));
        // Three sessions a millisecond: ties are ordered by id, and a cursor must keep them apart.
        if i % 3 == 2 {
            fx.clock.advance(Duration::from_millis(1));
        }
    }
    let mut expected: Vec<SessionRecord> = created.iter().map(|c| c.record.clone()).collect();
    expected.sort_by_key(portal_sessions::list_order_key);

    for status in [None, Some(StatusFilter::Used)] {
        // What was used when this paging began: every one of them must be listed.
        let mut used_at_start = HashSet::new();
        for record in &expected {
            if engine_ok("get", fx.engine.get(fx.org, &record.id).await)
                .used_at
                .is_some()
            {
                used_at_start.insert(record.id);
            }
        }
        let mut options = ListOptions {
            include_expired: true,
            status,
            ..list_all(None)
        };
        let mut listed: Vec<SessionId> = Vec::new();
        let mut later = HashSet::new();
        let mut pages = 0;
        loop {
            let page = engine_ok("list", fx.engine.list(fx.org, options.clone()).await);
            pages += 1;
            let Some(last) = page.last() else {
                break;
            };
            options.starting_after = Some(last.id);
            listed.extend(ids(&page));
            // Between pages: mint a few, and redeem a few from every part of the list.
            for _ in 0..3 {
                let minted = engine_ok(
                    "create",
                    fx.engine
                        .create(fx.org, CreateRequest::for_customer_id(fx.customers[0].id))
                        .await,
                );
                later.insert(minted.record.id);
            }
            for offset in [0, 77, 160, 249] {
                let link = &created[(offset + pages * 5) % SESSIONS].link;
                // Already used is fine: the point is to change records under the cursor.
                let _ = fx.engine.redeem(link, ClientInfo::default()).await;
            }
            assert!(pages <= 4, "paging does not end: {} listed", listed.len());
        }
        let unique: HashSet<_> = listed.iter().collect();
        assert_eq!(unique.len(), listed.len(), "a session was listed twice");
        assert!(
            listed.iter().all(|id| !later.contains(id)),
            "a session minted after paging began was listed"
        );
        let positions: Vec<usize> = listed
            .iter()
            .map(|id| {
                expected
                    .iter()
                    .position(|record| record.id == *id)
                    .unwrap_or(usize::MAX)
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "pages are not in list order"
        );
        match status {
            None => {
                assert_eq!(listed, ids(&expected), "pages differ from the whole list");
                assert_eq!(
                    pages, 4,
                    "250 sessions take three pages of 100, then an empty one"
                );
            }
            Some(_) => {
                assert!(
                    used_at_start.iter().all(|id| unique.contains(id)),
                    "a session used before paging began was missed"
                );
                for id in &listed {
                    let record = engine_ok("get", fx.engine.get(fx.org, id).await);
                    assert!(
                        record.used_at.is_some(),
                        "an unused session was listed as used"
                    );
                }
            }
        }
    }

    // Cursors that are not one of the organisation's sessions.
    let other = engine_ok(
        "create",
        fx.engine
            .create(
                fx.other_org,
                CreateRequest::for_customer_id(fx.other_customer.id),
            )
            .await,
    );
    let nowhere = crate::fixture::new_link().session_id();
    for cursor in [other.record.id, nowhere] {
        let options = ListOptions {
            starting_after: Some(cursor),
            ..list_all(None)
        };
        match fx.engine.list(fx.org, options).await {
            Err(EngineError::InvalidRequest(InvalidRequest::StartingAfter)) => {}
            other => panic!("a foreign or unknown cursor must be refused, got {other:?}"),
        }
    }
}

/// A customer-wide revocation racing 32 redeems of that customer's links, five times over: every
/// link ends revoked, either redeemed then revoked or revoked unused; every redeem that won holds a
/// viewer that no longer opens the portal; and once the revocation has returned, no link of the
/// customer can be redeemed. Other customers' and other organisations' sessions are untouched, and
/// the count is exactly the links that were live. Then one interleaving made deterministic: a link
/// redeemed (as by another process) between the revocation's list and its compare-and-swap still
/// ends revoked, since the revocation re-reads each session and walks every live one, used or not.
pub async fn customer_revocation_races_redeems<S: SessionStore>(store: Arc<S>) {
    const LINKS: usize = 32;
    let fx = EngineFixture::new(store.clone());
    let target = fx.customers[2].clone();
    let bystander = engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(fx.customers[0].id))
            .await,
    );
    let foreign = engine_ok(
        "create",
        fx.engine
            .create(
                fx.other_org,
                CreateRequest::for_customer_id(fx.other_customer.id),
            )
            .await,
    );
    for round in 0..5 {
        let mut links = Vec::new();
        for _ in 0..LINKS {
            links.push(engine_ok(
                "create",
                fx.engine
                    .create(fx.org, CreateRequest::for_customer_id(target.id))
                    .await,
            ));
        }
        let barrier = Arc::new(Barrier::new(LINKS + 1));
        let mut redeems = JoinSet::new();
        for created in &links {
            let (engine, barrier, link) =
                (fx.engine.clone(), barrier.clone(), created.link.clone());
            redeems.spawn(async move {
                barrier.wait().await;
                (
                    link.session_id(),
                    engine.redeem(&link, ClientInfo::default()).await,
                )
            });
        }
        let revocation = {
            let (engine, barrier, org) = (fx.engine.clone(), barrier.clone(), fx.org);
            let by = if round % 2 == 0 {
                CustomerRef::Id(target.id)
            } else {
                CustomerRef::ExternalId(target.external_id.clone())
            };
            tokio::spawn(async move {
                barrier.wait().await;
                engine.revoke_customer(org, by).await
            })
        };
        let revoked = match revocation.await {
            Ok(Ok(revoked)) => revoked,
            Ok(Err(error)) => panic!("round {round}: the revocation failed: {error:?}"),
            Err(error) => panic!("round {round}: {error}"),
        };
        assert_eq!(
            revoked, LINKS as u64,
            "round {round}: every live link of the customer is counted once"
        );
        // The revocation has returned: nothing of the customer opens any more.
        for created in &links {
            match fx.engine.redeem(&created.link, ClientInfo::default()).await {
                Err(EngineError::LinkRevoked) => {}
                other => panic!("round {round}: a link redeemed after the revocation: {other:?}"),
            }
        }
        let mut won = 0;
        while let Some(joined) = redeems.join_next().await {
            let (id, outcome) = match joined {
                Ok(outcome) => outcome,
                Err(error) => panic!("round {round}: {error}"),
            };
            let record = engine_ok("get", fx.engine.get(fx.org, &id).await);
            assert!(record.revoked_at.is_some(), "round {round}: a link escaped");
            match outcome {
                Ok(redemption) => {
                    won += 1;
                    assert_eq!(record.used_at, redemption.record.used_at);
                    assert!(record.version >= 2, "redeemed, then revoked");
                    assert!(matches!(
                        fx.engine.authenticate(&redemption.viewer).await,
                        Err(EngineError::ViewerRejected(Rejection::Revoked))
                    ));
                }
                Err(EngineError::LinkRevoked) => {
                    assert_eq!(record.used_at, None, "a refused redeem left the link used");
                }
                Err(error) => panic!("round {round}: unexpected redeem error {error:?}"),
            }
        }
        println!("round {round}: {won} of {LINKS} redeems won before the revocation reached them");
        // Nothing live is left, so a second revocation revokes nothing.
        assert_eq!(
            engine_ok(
                "revoke_customer",
                fx.engine
                    .revoke_customer(fx.org, CustomerRef::Id(target.id))
                    .await
            ),
            0
        );
    }
    for (org, created) in [(fx.org, &bystander), (fx.other_org, &foreign)] {
        let record = engine_ok("get", fx.engine.get(org, &created.record.id).await);
        assert_eq!(
            record.revoked_at, None,
            "another customer's session was revoked"
        );
    }
    // A customer the organisation does not have is not found, and changes nothing.
    for by in [
        CustomerRef::Id(fx.other_customer.id),
        CustomerRef::ExternalId(fx.other_customer.external_id.clone()),
        CustomerRef::ExternalId("nobody-here".into()),
    ] {
        assert!(matches!(
            fx.engine.revoke_customer(fx.org, by).await,
            Err(EngineError::CustomerNotFound)
        ));
    }
    let foreign_now = engine_ok("get", fx.engine.get(fx.other_org, &foreign.record.id).await);
    assert_eq!(foreign_now.revoked_at, None);

    // The same race, made deterministic: a link of the customer is redeemed (as by another
    // instance) right after the revocation's first list. It must still end revoked.
    let wrapper = Arc::new(RedeemsAfterFirstList::new(store));
    let fx = EngineFixture::new(wrapper.clone());
    let customer = &fx.customers[0];
    let link = engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(customer.id))
            .await,
    )
    .link;
    wrapper.arm(link.clone());
    let revoked = engine_ok(
        "revoke_customer",
        fx.engine
            .revoke_customer(fx.org, CustomerRef::Id(customer.id))
            .await,
    );
    let record = engine_ok("get", fx.engine.get(fx.org, &link.session_id()).await);
    assert!(
        record.used_at.is_some(),
        "the wrapper redeemed the link mid-revocation"
    );
    assert!(
        record.revoked_at.is_some(),
        "a link redeemed while the revocation ran escaped it"
    );
    assert_eq!(revoked, 1);
}

/// A create with `invalidate_existing` revokes the customer's live sessions (an openable link and
/// an open portal) and no one else's, then mints its own, which stays live; a refused create
/// revokes nothing. A requested lifetime sets `expires_at` and is bounded by the configured one; a
/// locale is stored as given.
pub async fn create_replaces_and_shortens<S: SessionStore>(store: Arc<S>) {
    let fx = EngineFixture::new(store);
    let customer = &fx.customers[0];
    let first = engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(customer.id))
            .await,
    );
    let second = engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(customer.id))
            .await,
    );
    let viewer = engine_ok(
        "redeem",
        fx.engine.redeem(&second.link, ClientInfo::default()).await,
    )
    .viewer;
    let neighbour = engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(fx.customers[1].id))
            .await,
    );

    // Refused requests revoke nothing.
    let ttl = fx.engine.ttl();
    for lifetime in [Duration::from_secs(59), ttl + Duration::from_millis(1)] {
        let request = CreateRequest::for_customer_id(customer.id)
            .expiring_in(lifetime)
            .invalidating_existing();
        match fx.engine.create(fx.org, request).await {
            Err(EngineError::InvalidRequest(InvalidRequest::Lifetime)) => {}
            other => panic!("a lifetime of {lifetime:?} must be refused, got {other:?}"),
        }
    }
    engine_ok("inspect", fx.engine.inspect(&first.link).await);
    engine_ok("authenticate", fx.engine.authenticate(&viewer).await);

    let locale: Locale = match "fr-CA".parse() {
        Ok(locale) => locale,
        Err(error) => panic!("{error}"),
    };
    let replacement = engine_ok(
        "create",
        fx.engine
            .create(
                fx.org,
                CreateRequest::for_external_id(customer.external_id.clone())
                    .expiring_in(Duration::from_secs(600))
                    .with_locale(locale)
                    .invalidating_existing(),
            )
            .await,
    );
    assert_eq!(replacement.revoked_existing, 2);
    assert!(matches!(
        fx.engine.inspect(&first.link).await,
        Err(EngineError::LinkRevoked)
    ));
    assert!(matches!(
        fx.engine.authenticate(&viewer).await,
        Err(EngineError::ViewerRejected(Rejection::Revoked))
    ));
    engine_ok("inspect", fx.engine.inspect(&replacement.link).await);
    engine_ok("inspect", fx.engine.inspect(&neighbour.link).await);
    let stored = engine_ok("get", fx.engine.get(fx.org, &replacement.record.id).await);
    assert_eq!(stored.locale, Some(locale));
    assert_eq!(stored.lifetime(), Duration::from_secs(600));
    assert_eq!(stored, replacement.record);

    // The shorter link expires at its own time, to the millisecond.
    // (A replacing session is dated after the customer's newest, here a millisecond later.)
    assert!(stored.created_at >= replacement.record.created_at);
    fx.clock.set(
        stored
            .expires_at
            .checked_sub(Duration::from_millis(1))
            .unwrap_or(stored.expires_at),
    );
    engine_ok("inspect", fx.engine.inspect(&replacement.link).await);
    fx.clock.advance(Duration::from_millis(1));
    assert!(matches!(
        fx.engine.inspect(&replacement.link).await,
        Err(EngineError::LinkExpired)
    ));
    // Replacing creates that race: everything before the pair is revoked, and the newer of the
    // pair stays live (the older does too only when it was stored after the newer's revocation
    // ran, which the engine cannot tell from a plain create racing it).
    let before = engine_ok(
        "create",
        fx.engine
            .create(fx.org, CreateRequest::for_customer_id(fx.customers[2].id))
            .await,
    );
    for round in 0..10 {
        let (a, b) = tokio::join!(
            fx.engine.create(
                fx.org,
                CreateRequest::for_customer_id(fx.customers[2].id).invalidating_existing()
            ),
            fx.engine.create(
                fx.org,
                CreateRequest::for_customer_id(fx.customers[2].id).invalidating_existing()
            ),
        );
        let (a, b) = (engine_ok("create", a), engine_ok("create", b));
        let live = engine_ok(
            "list",
            fx.engine
                .list(
                    fx.org,
                    ListOptions {
                        customer_id: Some(fx.customers[2].id),
                        status: Some(StatusFilter::Openable),
                        ..list_all(None)
                    },
                )
                .await,
        );
        let newer = std::cmp::max_by_key(&a.record, &b.record, |r| (r.created_at, r.id));
        let older = std::cmp::min_by_key(&a.record, &b.record, |r| (r.created_at, r.id));
        assert_eq!(live.first().map(|r| r.id), Some(newer.id), "round {round}");
        assert!(
            live.iter().all(|r| r.id == newer.id || r.id == older.id),
            "round {round}: a session from before the racing pair survived"
        );
        assert!(matches!(
            fx.engine.inspect(&before.link).await,
            Err(EngineError::LinkRevoked)
        ));
    }
    // The configured lifetime itself is allowed.
    let longest = engine_ok(
        "create",
        fx.engine
            .create(
                fx.org,
                CreateRequest::for_customer_id(customer.id).expiring_in(ttl),
            )
            .await,
    );
    assert_eq!(longest.record.lifetime(), ttl);
    assert_eq!(longest.revoked_existing, 0);
}
