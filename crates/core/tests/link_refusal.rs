//! A refused link carries the session it was decided on, and only a genuine link's.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use portal_sessions::{
    ClientInfo, CreateRequest, CustomerId, CustomerSnapshot, Engine, EngineError, LinkToken,
    ManualClock, OrgId, StaticDirectory, Timestamp,
};
use portal_sessions_memory::MemoryStore;

fn engine() -> (Engine<Arc<MemoryStore>>, OrgId, ManualClock) {
    let org = OrgId::from_bytes([1; 16]);
    let mut directory = StaticDirectory::default();
    if let Err(error) = directory.insert(
        org,
        CustomerSnapshot {
            id: CustomerId::from_bytes([2; 16]),
            external_id: "refused-001".into(),
            name: "Refused".into(),
            email: None,
            locale: None,
        },
    ) {
        panic!("{error}");
    }
    let at = Timestamp::from_millis(1_800_000_000_000).unwrap_or_else(|| panic!("range"));
    let clock = ManualClock::new(at);
    let engine = Engine::new(Arc::new(MemoryStore::new()), directory).with_clock(clock.clone());
    (engine, org, clock)
}

#[tokio::test]
async fn a_genuine_links_refusal_carries_its_session_a_forged_ones_none() {
    let (engine, org, clock) = engine();
    let created = match engine
        .create(org, CreateRequest::for_external_id("refused-001"))
        .await
    {
        Ok(created) => created,
        Err(error) => panic!("{error}"),
    };
    if let Err(error) = engine.redeem(&created.link, ClientInfo::default()).await {
        panic!("{error}");
    }
    let used = match engine
        .redeem_or_refuse(&created.link, ClientInfo::default())
        .await
    {
        Ok(_) => panic!("a used link redeemed again"),
        Err(refusal) => refusal,
    };
    assert!(matches!(used.error, EngineError::LinkUsed));
    assert_eq!(
        used.session.map(|session| session.id),
        Some(created.record.id),
        "the used link's refusal carries its session"
    );

    clock.advance(std::time::Duration::from_secs(2 * 3600));
    let expired = match engine.inspect_or_refuse(&created.link).await {
        Ok(_) => panic!("an expired link inspected"),
        Err(refusal) => refusal,
    };
    // Used first: a used link stays "used" after its hour, and still carries its session.
    assert!(matches!(expired.error, EngineError::LinkUsed));
    assert_eq!(
        expired.session.map(|session| session.id),
        Some(created.record.id)
    );

    // A well-formed link that names no session: nothing to show.
    let forged = LinkToken::generate().unwrap_or_else(|error| panic!("{error}"));
    for refusal in [
        engine.inspect_or_refuse(&forged).await.err(),
        engine
            .redeem_or_refuse(&forged, ClientInfo::default())
            .await
            .err(),
    ] {
        let refusal = refusal.unwrap_or_else(|| panic!("a forged link opened"));
        assert!(matches!(refusal.error, EngineError::LinkUnknown));
        assert!(
            refusal.session.is_none(),
            "a forged link's refusal shows no session"
        );
    }
}
