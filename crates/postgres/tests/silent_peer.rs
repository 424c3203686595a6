//! PostgreSQL behind a proxy that breaks the network (`common/fault_proxy.rs`): pooled connections
//! that go silent without being closed are abandoned and replaced, an operation never outlasts its
//! deadline and its connection is then discarded (a row lock held elsewhere makes one miss it), and
//! connecting fails promptly, as unavailable, when nothing answers.

mod common;
#[path = "common/fault_proxy.rs"]
mod fault_proxy;

use std::time::{Duration, Instant};

use fault_proxy::FaultProxy;
use portal_sessions::{ErrorChain, SessionId, SessionStore, StoreError};
use portal_sessions_conformance::fixture::{
    issued_record, new_customer, new_org, redeemed, start_time,
};
use portal_sessions_postgres::{PostgresConfig, PostgresStore};

const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// What a bounded operation may take past its deadline: scheduling, on a busy machine.
const SLACK: Duration = Duration::from_millis(500);
const POOL: usize = 4;

/// A migrated schema on the test database and a proxy in front of it; `None` (said loudly) when
/// there is no database, or it is not on loopback.
async fn setup() -> Option<(PostgresStore, FaultProxy)> {
    let url = common::database_url();
    let Some(upstream) = fault_proxy::upstream_of(&url) else {
        assert!(
            !common::required(),
            "the fault proxy needs a loopback postgres:// URL, not the one configured"
        );
        eprintln!("\n!!! SKIPPING a fault-proxy test: the test database is not on loopback\n");
        return None;
    };
    let direct = common::migrated(common::test_config()).await?;
    Some((direct, FaultProxy::start(upstream)))
}

fn through(proxy: &FaultProxy, schema: &str) -> PostgresConfig {
    let url = fault_proxy::through(&common::database_url(), proxy.port())
        .unwrap_or_else(|| panic!("not a postgres:// URL"));
    PostgresConfig::new(url)
        .schema(schema)
        .max_connections(POOL)
        .operation_timeout(OPERATION_TIMEOUT)
        .connect_timeout(OPERATION_TIMEOUT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_pooled_connections_are_abandoned_and_replaced() {
    let Some((direct, proxy)) = setup().await else {
        return;
    };
    let store = PostgresStore::connect(through(&proxy, direct.schema().as_str()))
        .await
        .unwrap_or_else(|error| panic!("{}", ErrorChain(&error)));
    // Fill the pool: every connection idle in it, then all of them silent for good (a failover,
    // a NAT that forgot them), while new connections work.
    let mut held = Vec::new();
    for _ in 0..POOL {
        held.push(
            store
                .pool()
                .get()
                .await
                .unwrap_or_else(|error| panic!("{error}")),
        );
    }
    drop(held);
    assert_eq!(store.pool().status().size, POOL);
    // Idle long enough to be checked before reuse.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    proxy.silence();
    proxy.heal();

    let id = SessionId::generate().unwrap_or_else(|error| panic!("{error}"));
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut failed = 0;
    let recovered = loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no operation succeeded in 20 s ({failed} failed)"
        );
        let began = Instant::now();
        let result = store.get(&id).await;
        slowest = slowest.max(began.elapsed());
        match result {
            Ok(_) => break started.elapsed(),
            Err(StoreError::Timeout | StoreError::Unavailable(_)) => failed += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    };
    println!(
        "{POOL} silent pooled connections: served again after {recovered:?} ({failed} operations \
         failed); slowest operation {slowest:?}"
    );
    assert!(
        slowest <= OPERATION_TIMEOUT + SLACK,
        "an operation took {slowest:?}"
    );
    // The checks before reuse caught every silent connection within one operation's time.
    assert!(recovered <= OPERATION_TIMEOUT + SLACK, "{recovered:?}");
    // None of them is ever lent again, and the store closed each.
    for _ in 0..50 {
        let began = Instant::now();
        if let Err(error) = store.get(&id).await {
            panic!("after recovering: {}", ErrorChain(&error));
        }
        assert!(began.elapsed() < OPERATION_TIMEOUT / 2);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.silenced_still_open() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} silent connections are still open: the store kept them",
            proxy.silenced_still_open()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    common::drop_schema(&direct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_missed_its_deadline_is_discarded() {
    let Some(direct) = common::migrated(common::test_config()).await else {
        return;
    };
    let store = PostgresStore::connect(
        common::test_config()
            .schema(direct.schema().as_str())
            .max_connections(1)
            .operation_timeout(OPERATION_TIMEOUT),
    )
    .await
    .unwrap_or_else(|error| panic!("{}", ErrorChain(&error)));
    let (record, _) = issued_record(new_org(), &new_customer("Deadline"), start_time());
    if let Err(error) = store.insert(&record).await {
        panic!("{}", ErrorChain(&error));
    }
    assert_eq!(store.pool().status().size, 1);
    // The row is locked elsewhere: the swap waits past its deadline.
    let mut admin = common::admin_client().await;
    let locker = admin
        .transaction()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let lock = format!(
        "SELECT 1 FROM \"{}\".portal_sessions WHERE id = $1 FOR UPDATE",
        direct.schema().as_str()
    );
    if let Err(error) = locker
        .execute(&lock, &[&record.id.as_bytes().to_vec()])
        .await
    {
        panic!("{error}");
    }
    let began = Instant::now();
    let result = store
        .compare_and_swap(0, &redeemed(&record, start_time()))
        .await;
    let took = began.elapsed();
    assert!(
        matches!(result, Err(StoreError::Timeout)),
        "expected a timeout, got {result:?}"
    );
    assert!(took <= OPERATION_TIMEOUT + SLACK, "took {took:?}");
    assert_eq!(
        store.pool().status().size,
        0,
        "the connection that missed its deadline went back to the pool"
    );
    // The abandoned swap is dropped by the client only: its backend still waits on the lock, and
    // would commit once the lock goes. It is cancelled first, so that what follows is decided.
    let waiting = format!(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND pid <> pg_backend_pid() AND query LIKE '%\"{}\".portal_sessions%'",
        direct.schema().as_str()
    );
    if let Err(error) = locker.execute(&waiting, &[]).await {
        panic!("{error}");
    }
    if let Err(error) = locker.rollback().await {
        panic!("{error}");
    }
    // A refusal from the server is an answer: that connection goes back.
    assert!(matches!(
        store.insert(&record).await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(store.pool().status().size, 1);
    assert!(matches!(
        store
            .compare_and_swap(0, &redeemed(&record, start_time()))
            .await,
        Ok(portal_sessions::CasOutcome::Swapped)
    ));
    common::drop_schema(&direct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_fails_promptly_and_says_why() {
    let Some((direct, proxy)) = setup().await else {
        return;
    };
    let quick = |proxy: &FaultProxy| {
        through(proxy, direct.schema().as_str())
            .connect_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(1))
    };
    // Accepted, never answered.
    proxy.blackhole();
    let began = Instant::now();
    let error = PostgresStore::connect(quick(&proxy)).await.err();
    let took = began.elapsed();
    let said = error.as_ref().map(|e| ErrorChain(e).to_string());
    println!("never answered, after {took:?}: {said:?}");
    assert!(
        matches!(error, Some(StoreError::Unavailable(_))),
        "{error:?}"
    );
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
    let said = said.unwrap_or_default();
    assert!(
        said.contains("did not complete a new connection within 1000 ms")
            && !said.contains("Timeout occurred"),
        "{said}"
    );
    // Refused.
    proxy.heal();
    proxy.partition();
    let began = Instant::now();
    let error = PostgresStore::connect(quick(&proxy)).await.err();
    let said = error.as_ref().map(|e| ErrorChain(e).to_string());
    println!("refused, after {:?}: {said:?}", began.elapsed());
    assert!(
        matches!(error, Some(StoreError::Unavailable(_))),
        "{error:?}"
    );
    assert!(began.elapsed() < Duration::from_secs(1));
    // Healed, it connects.
    proxy.heal();
    if let Err(error) = PostgresStore::connect(quick(&proxy)).await {
        panic!("{}", ErrorChain(&error));
    }
    common::drop_schema(&direct).await;
}
