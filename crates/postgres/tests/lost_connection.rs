//! The pool's connections are killed (pg_terminate_backend) again and again during a stream of
//! redeems. Operations fail with a store error, never panic or hang past the configured timeout;
//! the pool recovers; and no link is ever redeemed twice. A redeem whose reply was lost is settled by
//! the engine reading back when it can; when even that fails the client retries, and the retry
//! answers either success (it had not happened) or "already used" (it had). The conformance check
//! `lost_write_replies_are_settled_by_reading_back` pins the settling deterministically.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use portal_sessions::{
    ClientInfo, CreateRequest, Engine, EngineError, SessionStore, StaticDirectory,
};
use portal_sessions_conformance::fixture::{new_customer, new_org};
use tokio::sync::Mutex;

const LINKS: usize = 300;
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Clone)]
struct Outcomes {
    wins: u32,
    used: u32,
    store_errors: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_connections_fail_cleanly_and_never_redeem_twice() {
    let app = format!("ps-killtest-{}", common::fresh_schema());
    let config = common::test_config()
        .max_connections(4)
        .operation_timeout(OPERATION_TIMEOUT)
        .connect_timeout(OPERATION_TIMEOUT)
        .application_name(app.clone());
    let Some(store) = common::migrated(config).await else {
        return;
    };
    let org = new_org();
    let customer = new_customer("Kill");
    let mut directory = StaticDirectory::default();
    if let Err(error) = directory.insert(org, customer.clone()) {
        panic!("{error}");
    }
    let engine = Arc::new(Engine::new(store.clone(), directory));
    let mut links = Vec::new();
    for _ in 0..LINKS {
        match engine
            .create(org, CreateRequest::for_customer_id(customer.id))
            .await
        {
            Ok(created) => links.push(created),
            Err(error) => panic!("create: {error}"),
        }
    }

    // The killer: terminates every backend of this store's pool, every 15 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let admin = common::admin_client().await;
    let killer = {
        let (stop, app) = (stop.clone(), app.clone());
        tokio::spawn(async move {
            let mut killed = 0u64;
            while !stop.load(Ordering::SeqCst) {
                if let Ok(rows) = admin
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                        &[&app],
                    )
                    .await
                {
                    killed += rows.len() as u64;
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            killed
        })
    };

    let outcomes: Arc<Mutex<HashMap<usize, Outcomes>>> = Arc::default();
    let links = Arc::new(links);
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (engine, links, outcomes) = (engine.clone(), links.clone(), outcomes.clone());
        workers.push(tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut i = worker;
            while i < LINKS {
                // Retry until the answer is definite, as a client whose reply was lost would.
                for _attempt in 0..200 {
                    let started = Instant::now();
                    let result = engine.redeem(&links[i].link, ClientInfo::default()).await;
                    slowest = slowest.max(started.elapsed());
                    let mut outcomes = outcomes.lock().await;
                    let entry = outcomes.entry(i).or_default();
                    match result {
                        Ok(_) => entry.wins += 1,
                        Err(EngineError::LinkUsed) => entry.used += 1,
                        Err(EngineError::Store(_)) => {
                            entry.store_errors += 1;
                            continue;
                        }
                        Err(error) => panic!("link {i}: unexpected {error} ({error:?})"),
                    }
                    break;
                }
                i += 8;
            }
            slowest
        }));
    }
    let mut slowest = Duration::ZERO;
    for worker in workers {
        match worker.await {
            Ok(worker_slowest) => slowest = slowest.max(worker_slowest),
            Err(error) => panic!("a worker panicked or was cancelled: {error}"),
        }
    }
    stop.store(true, Ordering::SeqCst);
    let killed = killer.await.unwrap_or(0);

    let outcomes = outcomes.lock().await.clone();
    let errors: u32 = outcomes.values().map(|o| o.store_errors).sum();
    let retried_into_used = outcomes
        .values()
        .filter(|o| o.wins == 0 && o.used > 0)
        .count();
    println!(
        "backends killed: {killed}; store errors: {errors}; links whose first answer was lost and \
         whose retry read 'already used': {retried_into_used}; slowest operation: {slowest:?}"
    );
    assert!(
        killed > 0 && errors > 0,
        "the killer never hit an operation: the test proved nothing"
    );
    assert!(
        slowest < OPERATION_TIMEOUT * 2,
        "an operation took {slowest:?}, past the {OPERATION_TIMEOUT:?} limit"
    );
    for (i, outcome) in &outcomes {
        assert!(
            outcome.wins <= 1,
            "link {i} was redeemed twice: {outcome:?}"
        );
        assert!(
            outcome.wins + outcome.used == 1,
            "link {i} never got a definite answer: {outcome:?}"
        );
        if outcome.wins == 0 {
            assert!(
                outcome.store_errors > 0,
                "link {i} read 'already used' without a lost attempt before: {outcome:?}"
            );
        }
    }
    // The pool recovers: every link is now used, as the database says.
    for (i, created) in links.iter().enumerate() {
        match store.get(&created.record.id).await {
            Ok(Some(record)) => assert!(record.used_at.is_some(), "link {i} is not used"),
            other => panic!("after the kills, reading link {i}: {other:?}"),
        }
    }
    common::drop_schema(&store).await;
}
