//! Shared harness for the benches: engines over each store, and concurrent timing.
//!
//! Every figure a bench reports is meant to be read beside a baseline measured in the same run (the
//! backend's raw operation, or a peer library), because the machines these run on are shared and
//! noisy: the ratio is the result, the absolute time is context.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod load;
pub mod rounds;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use portal_sessions::{
    ClientInfo, CreateRequest, CreatedSession, CustomerId, CustomerSnapshot, Engine, LinkToken,
    ListOptions, OrgId, SessionStore, StaticDirectory,
};

/// The organisation every bench mints for.
pub fn org() -> OrgId {
    OrgId::from_bytes([0x0b; 16])
}

/// The id of the customer every bench mints for.
pub const CUSTOMER_ID: CustomerId = CustomerId::from_bytes([0x0c; 16]);

/// The customer every bench mints for.
pub fn customer() -> CustomerSnapshot {
    CustomerSnapshot {
        id: CUSTOMER_ID,
        external_id: "bench-001".into(),
        name: "Bench Customer".into(),
        email: Some("billing@bench.test".into()),
        locale: None,
    }
}

fn directory() -> StaticDirectory {
    let mut directory = StaticDirectory::default();
    if let Err(error) = directory.insert(org(), customer()) {
        panic!("bench directory: {error}");
    }
    directory
}

/// An engine over `store` with the bench customer, on the system clock.
pub fn engine<S: SessionStore>(store: S) -> Arc<Engine<S>> {
    Arc::new(Engine::new(store, directory()))
}

/// The same, announcing every change to `listener`.
pub fn engine_listening<S: SessionStore>(
    store: S,
    listener: impl portal_sessions::EventListener,
) -> Arc<Engine<S>> {
    Arc::new(Engine::new(store, directory()).with_listener(listener))
}

/// Mints one session for the bench customer, panicking on failure (a bench cannot go on without it).
///
/// The request names the customer by id, a constant, so that the timed work is the engine's alone
/// (building the whole snapshot here would add three string allocations to every create).
pub async fn create<S: SessionStore>(engine: &Engine<S>) -> CreatedSession {
    match engine
        .create(org(), CreateRequest::for_customer_id(CUSTOMER_ID))
        .await
    {
        Ok(created) => created,
        Err(error) => panic!("create: {error}"),
    }
}

/// The peer comparison's unit of work: mint a session, read it back, revoke it (the nearest this
/// engine has to a peer's create, load and delete), panicking on any failure so that a failing
/// operation is never timed as a fast one.
pub async fn create_get_revoke<S: SessionStore>(engine: &Engine<S>) {
    let created = create(engine).await;
    if let Err(error) = engine.get(org(), &created.record.id).await {
        panic!("get: {error}");
    }
    if let Err(error) = engine.revoke(org(), &created.record.id).await {
        panic!("revoke: {error}");
    }
}

/// A multi-threaded tokio runtime on every core.
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("tokio runtime: {error}"),
    }
}

/// Runs `op(i)` for `i` in `0..iters`, spread over `tasks` concurrent tasks, and returns the wall
/// time: criterion's `iter_custom` then reports time per operation, which at more than one task is
/// the inverse of throughput.
pub fn time_concurrent<F, Fut>(
    runtime: &tokio::runtime::Runtime,
    iters: u64,
    tasks: u64,
    op: F,
) -> Duration
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    runtime.block_on(async move {
        let started = Instant::now();
        let mut joins = Vec::new();
        for task in 0..tasks {
            let op = op.clone();
            joins.push(tokio::spawn(async move {
                let mut i = task;
                while i < iters {
                    op(i).await;
                    i += tasks;
                }
            }));
        }
        for join in joins {
            if let Err(error) = join.await {
                panic!("bench task: {error}");
            }
        }
        started.elapsed()
    })
}

/// `count` fresh links, minted 16 at a time: the untimed setup of a redeem bench.
pub fn fresh_links<S: SessionStore>(
    runtime: &tokio::runtime::Runtime,
    engine: &Arc<Engine<S>>,
    count: u64,
) -> Arc<Vec<LinkToken>> {
    let slots: Arc<Vec<std::sync::OnceLock<LinkToken>>> =
        Arc::new((0..count).map(|_| std::sync::OnceLock::new()).collect());
    let (engine, filled) = (engine.clone(), slots.clone());
    time_concurrent(runtime, count, 16, move |i| {
        let (engine, filled) = (engine.clone(), filled.clone());
        async move {
            let _ = filled[i as usize].set(create(&engine).await.link);
        }
    });
    Arc::new(
        slots
            .iter()
            .filter_map(|slot| slot.get().cloned())
            .collect(),
    )
}

/// Redeems every link of `links` over `tasks` concurrent tasks; returns the wall time.
pub fn redeem_links<S: SessionStore>(
    runtime: &tokio::runtime::Runtime,
    engine: &Arc<Engine<S>>,
    links: Arc<Vec<LinkToken>>,
    tasks: u64,
) -> Duration {
    let engine = engine.clone();
    let count = links.len() as u64;
    time_concurrent(runtime, count, tasks, move |i| {
        let (engine, links) = (engine.clone(), links.clone());
        async move {
            if let Err(error) = engine
                .redeem(&links[i as usize], ClientInfo::default())
                .await
            {
                panic!("redeem: {error}");
            }
        }
    })
}

/// How long and how often [`engine_ops`] samples each operation.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    /// Criterion samples per operation (at least 10).
    pub samples: usize,
    /// Measuring time per operation.
    pub time: Duration,
}

/// The engine's six operations over `engine`, each with 1 and with 16 concurrent tasks, in the
/// groups `{backend}/engine/1-task` and `{backend}/engine/16-tasks`. The same code runs over every
/// backend, so the figures compare backends operation by operation.
///
/// * `create`: `Engine::create`.
/// * `redeem`: `Engine::redeem` of links minted (untimed) just before.
/// * `get`: `Engine::get` of one session.
/// * `list10`: `Engine::list` of the organisation's ten newest open sessions.
/// * `revoke`: `Engine::revoke` of sessions minted (untimed) just before: a real write each time.
/// * `authenticate`: `Engine::authenticate` of one redeemed session's viewer token.
pub fn engine_ops<S: SessionStore>(
    c: &mut Criterion,
    backend: &str,
    runtime: &tokio::runtime::Runtime,
    engine: &Arc<Engine<S>>,
    sampling: Sampling,
) {
    // Enough open sessions for a full page, and one redeemed session to authenticate.
    let fill = fresh_links(runtime, engine, 16);
    let viewer = match runtime.block_on(engine.redeem(&fill[0], ClientInfo::default())) {
        Ok(redemption) => Arc::new(redemption.viewer),
        Err(error) => panic!("redeem: {error}"),
    };
    let id = fill[1].session_id();
    for tasks in [1u64, 16] {
        let name = if tasks == 1 { "1-task" } else { "16-tasks" };
        let mut group = c.benchmark_group(format!("{backend}/engine/{name}"));
        group
            .sample_size(sampling.samples)
            .measurement_time(sampling.time);
        group.bench_function("create", |b| {
            b.iter_custom(|iters| {
                let engine = engine.clone();
                time_concurrent(runtime, iters, tasks, move |_| {
                    let engine = engine.clone();
                    async move {
                        create(&engine).await;
                    }
                })
            });
        });
        group.bench_function("redeem", |b| {
            b.iter_custom(|iters| {
                let links = fresh_links(runtime, engine, iters);
                redeem_links(runtime, engine, links, tasks)
            });
        });
        group.bench_function("get", |b| {
            b.iter_custom(|iters| {
                let engine = engine.clone();
                time_concurrent(runtime, iters, tasks, move |_| {
                    let engine = engine.clone();
                    async move {
                        if let Err(error) = engine.get(org(), &id).await {
                            panic!("get: {error}");
                        }
                    }
                })
            });
        });
        group.bench_function("list10", |b| {
            b.iter_custom(|iters| {
                let engine = engine.clone();
                time_concurrent(runtime, iters, tasks, move |_| {
                    let engine = engine.clone();
                    async move {
                        match engine.list(org(), ListOptions::default()).await {
                            Ok(page) => assert_eq!(page.len(), 10, "a full page"),
                            Err(error) => panic!("list: {error}"),
                        }
                    }
                })
            });
        });
        group.bench_function("revoke", |b| {
            b.iter_custom(|iters| {
                let links = fresh_links(runtime, engine, iters);
                let engine = engine.clone();
                time_concurrent(runtime, iters, tasks, move |i| {
                    let (engine, id) = (engine.clone(), links[i as usize].session_id());
                    async move {
                        match engine.revoke(org(), &id).await {
                            Ok(record) => assert!(record.revoked_at.is_some()),
                            Err(error) => panic!("revoke: {error}"),
                        }
                    }
                })
            });
        });
        group.bench_function("authenticate", |b| {
            b.iter_custom(|iters| {
                let (engine, viewer) = (engine.clone(), viewer.clone());
                time_concurrent(runtime, iters, tasks, move |_| {
                    let (engine, viewer) = (engine.clone(), viewer.clone());
                    async move {
                        if let Err(error) = engine.authenticate(&viewer).await {
                            panic!("authenticate: {error}");
                        }
                    }
                })
            });
        });
        group.finish();
    }
}

/// Runs `sql` (one or more statements) on a connection of `store`'s pool, panicking on failure: how
/// the benches fill and drop their PostgreSQL schemas.
pub async fn execute(store: &portal_sessions_postgres::PostgresStore, sql: &str) {
    let client = match store.pool().get().await {
        Ok(client) => client,
        Err(error) => panic!("pool: {error}"),
    };
    if let Err(error) = client.batch_execute(sql).await {
        panic!("{sql}: {error:?}");
    }
}
