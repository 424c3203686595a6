//! One clock decides on PostgreSQL: the database's. Two engines whose process clocks are ten
//! minutes apart share one database; both read the database's time, so they agree, to the
//! round trip, on `now` and on when a link expires.

mod common;

use std::sync::Arc;
use std::time::Duration;

use portal_sessions::{
    ClientInfo, Clock, CreateRequest, Engine, EngineError, OffsetClock, SessionStore,
    StaticDirectory, SystemClock,
};
use portal_sessions_conformance::fixture::{new_customer, new_org};
use portal_sessions_postgres::PostgresConfig;

const TEN_MINUTES_MS: i64 = 10 * 60 * 1_000;

/// The database's `clock_timestamp()`, in milliseconds.
async fn database_now() -> i64 {
    let client = common::admin_client().await;
    let row = client
        .query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_with_skewed_clocks_agree_on_expiry() {
    let schema = common::fresh_schema();
    let config = || PostgresConfig::new(common::database_url()).schema(schema.clone());
    let Some(ahead_store) =
        common::migrated(config().local_clock(OffsetClock::new(SystemClock, TEN_MINUTES_MS))).await
    else {
        return;
    };
    let behind_store = common::connect(config().local_clock(OffsetClock::new(SystemClock, 0)))
        .await
        .unwrap_or_else(|| panic!("the second instance could not connect"));
    let org = new_org();
    let customer = new_customer("Skewed");
    let directory = || {
        let mut directory = StaticDirectory::default();
        directory
            .insert(org, customer.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        directory
    };
    let ahead = Arc::new(
        Engine::new(ahead_store.clone(), directory())
            .with_ttl(Duration::from_secs(3))
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let behind = Arc::new(
        Engine::new(behind_store.clone(), directory())
            .with_ttl(Duration::from_secs(3))
            .unwrap_or_else(|e| panic!("{e}")),
    );

    // Both read the database's time, whatever their own clocks say.
    let database = database_now().await;
    for (name, engine) in [("ahead", &ahead), ("behind", &behind)] {
        let now = engine.now().as_millis();
        assert!(
            (now - database).abs() < 1_000,
            "the {name} instance reads {now}, the database {database}"
        );
    }
    let store_clock = ahead_store
        .clock()
        .unwrap_or_else(|| panic!("PostgreSQL names its clock"))
        .now()
        .as_millis();
    assert!(
        (store_clock - database).abs() < 1_000,
        "the store's clock, read through a process clock ten minutes ahead, reads {store_clock}, \
         the database {database}"
    );
    let ahead_own = OffsetClock::new(SystemClock, TEN_MINUTES_MS)
        .now()
        .as_millis();
    assert!(
        (ahead_own - database - TEN_MINUTES_MS).abs() < 500,
        "the skew is real"
    );

    // A three-second link minted by the instance whose clock is ahead, judged by both.
    let created = ahead
        .create(org, CreateRequest::for_customer_id(customer.id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let minted_at = created.record.created_at.as_millis();
    assert!(
        (minted_at - database).abs() < 1_500,
        "created_at is the database's time"
    );
    for engine in [&ahead, &behind] {
        engine
            .inspect(&created.link)
            .await
            .unwrap_or_else(|e| panic!("open while it lasts: {e}"));
    }
    tokio::time::sleep(Duration::from_millis(3_300)).await;
    for (name, engine) in [("ahead", &ahead), ("behind", &behind)] {
        assert!(
            matches!(
                engine.redeem(&created.link, ClientInfo::default()).await,
                Err(EngineError::LinkExpired)
            ),
            "the {name} instance still opens a link the database's clock says expired"
        );
    }
    common::drop_schema(&ahead_store).await;
}
