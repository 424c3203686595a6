//! Many app instances share one database: 4 independent engines, each with its own pool, race 64
//! redeems of one link (16 each), over 200 links. Exactly one redeem of each link wins.

mod common;

use std::sync::Arc;

use portal_sessions::StaticDirectory;
use portal_sessions::{ClientInfo, CreateRequest, Engine, EngineError};
use portal_sessions_conformance::fixture::{new_customer, new_org};
use portal_sessions_postgres::PostgresConfig;
use tokio::sync::Barrier;

const ENGINES: usize = 4;
const REDEEMS_PER_LINK: usize = 64;
const LINKS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_instances_redeem_each_link_exactly_once() {
    let schema = common::fresh_schema();
    let config = || {
        PostgresConfig::new(common::database_url())
            .schema(schema.clone())
            .max_connections(8)
    };
    let Some(first) = common::migrated(config()).await else {
        return;
    };
    let org = new_org();
    let customer = new_customer("Shared");
    let mut directory = StaticDirectory::default();
    if let Err(error) = directory.insert(org, customer.clone()) {
        panic!("{error}");
    }
    let mut engines = vec![Arc::new(Engine::new(first.clone(), directory.clone()))];
    for _ in 1..ENGINES {
        // A separate pool per engine, as separate processes would have.
        let Some(store) = common::connect(config()).await else {
            return;
        };
        engines.push(Arc::new(Engine::new(store, directory.clone())));
    }
    let mut wins_total = 0;
    for round in 0..LINKS {
        let creator = &engines[round % ENGINES];
        let created = match creator
            .create(org, CreateRequest::for_customer_id(customer.id))
            .await
        {
            Ok(created) => created,
            Err(error) => panic!("create: {error}"),
        };
        let barrier = Arc::new(Barrier::new(REDEEMS_PER_LINK));
        let mut tasks = Vec::new();
        for attempt in 0..REDEEMS_PER_LINK {
            let engine = engines[attempt % ENGINES].clone();
            let (barrier, link) = (barrier.clone(), created.link.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                engine.redeem(&link, ClientInfo::default()).await
            }));
        }
        let (mut wins, mut used) = (0, 0);
        for task in tasks {
            match task.await {
                Ok(Ok(_)) => wins += 1,
                Ok(Err(EngineError::LinkUsed)) => used += 1,
                Ok(Err(error)) => panic!("link {round}: unexpected {error} ({error:?})"),
                Err(error) => panic!("link {round}: task failed: {error}"),
            }
        }
        assert_eq!(
            wins, 1,
            "link {round}: exactly one of {REDEEMS_PER_LINK} redeems must win"
        );
        assert_eq!(used, REDEEMS_PER_LINK - 1);
        wins_total += wins;
    }
    assert_eq!(wins_total, LINKS);
    common::drop_schema(&first).await;
}
