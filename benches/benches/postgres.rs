//! PostgresStore through the Engine against the same statements sent raw, in one run.
//!
//! `cargo bench -p portal-sessions-benches --bench postgres` (reads
//! `PORTAL_SESSIONS_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; works
//! in a fresh schema and drops it at the end).
//!
//! * `create`: `Engine::create` (token, hashes, customer lookup, one prepared INSERT ... ON CONFLICT
//!   DO NOTHING) against `raw_insert`: the same INSERT of a row of the same size, prepared once per
//!   connection, through the same pool.
//! * `redeem`: `Engine::redeem` (SELECT by id, the state machine, the version-guarded UPDATE) against
//!   `raw_select_update`: the same two statements sent back to back on one pooled connection, and
//!   `raw_atomic_update`: the single `UPDATE ... WHERE id = $1 AND used_at IS NULL AND revoked_at IS
//!   NULL AND expires_at > now() RETURNING ...` that redeems without reading first (and without the
//!   constant-time verifier check the engine does).
//!
//! Each at 1, 4 and 16 concurrent tasks, with a pool of 16 connections, on a table of 10 000 rows
//! or more that has been analysed (as autovacuum does on a running service).
//!
//! Then `postgres/peer/{1,16}-tasks/*`: tower-sessions' sqlx `PostgresStore` creating, loading and
//! deleting one record (its own pool of 16, its own schema, dropped at the end), against creating,
//! getting and revoking one session here; and `postgres/engine/*`: the six engine operations, the
//! same code as every backend (see `portal_sessions_benches::engine_ops`).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions_benches::{
    Sampling, create, create_get_revoke, customer, engine, engine_ops, fresh_links, org,
    redeem_links, runtime, time_concurrent,
};
use portal_sessions_postgres::{PostgresConfig, PostgresStore};

fn database_url() -> String {
    std::env::var("PORTAL_SESSIONS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

const INSERT: &str = "INSERT INTO \"bench_portal\".portal_sessions (id, org_id, customer_id, \
    customer_external_id, customer_name, customer_email, features, return_url, verifier_hash, \
    viewer_hash, created_at, expires_at, used_at, revoked_at, redeemed, redeemed_ip, \
    redeemed_user_agent, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
    $14, $15, $16, $17, $18) ON CONFLICT (id) DO NOTHING";
const SELECT: &str = "SELECT id, org_id, customer_id, customer_external_id, customer_name, \
    customer_email, features, return_url, verifier_hash, viewer_hash, created_at, expires_at, \
    used_at, revoked_at, redeemed, redeemed_ip, redeemed_user_agent, version \
    FROM \"bench_portal\".portal_sessions WHERE id = $1";
const UPDATE: &str = "UPDATE \"bench_portal\".portal_sessions SET viewer_hash = $3, used_at = $4, \
    revoked_at = NULL, redeemed = true, redeemed_ip = NULL, redeemed_user_agent = NULL, \
    version = $2 + 1 WHERE id = $1 AND version = $2";
const ATOMIC: &str = "UPDATE \"bench_portal\".portal_sessions SET viewer_hash = $2, used_at = now(), \
    redeemed = true, version = version + 1 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL \
    AND expires_at > now() RETURNING version";

async fn raw_insert(store: &PostgresStore, id: [u8; 16]) {
    let client = match store.pool().get().await {
        Ok(client) => client,
        Err(error) => panic!("pool: {error}"),
    };
    let statement = match client.prepare_cached(INSERT).await {
        Ok(statement) => statement,
        Err(error) => panic!("prepare: {error}"),
    };
    let customer = customer();
    let now = SystemTime::now();
    let id = id.to_vec();
    let verifier = vec![7u8; 32];
    let result = client
        .execute(
            &statement,
            &[
                &id,
                org().as_uuid(),
                customer.id.as_uuid(),
                &customer.external_id,
                &customer.name,
                &customer.email,
                &15i16,
                &None::<String>,
                &verifier,
                &None::<Vec<u8>>,
                &now,
                &(now + Duration::from_secs(3600)),
                &None::<SystemTime>,
                &None::<SystemTime>,
                &false,
                &None::<std::net::IpAddr>,
                &None::<String>,
                &0i64,
            ],
        )
        .await;
    if !matches!(result, Ok(1)) {
        panic!("raw insert: {result:?}");
    }
}

async fn raw_select_update(store: &PostgresStore, id: [u8; 16]) {
    let client = match store.pool().get().await {
        Ok(client) => client,
        Err(error) => panic!("pool: {error}"),
    };
    let (select, update) = match (
        client.prepare_cached(SELECT).await,
        client.prepare_cached(UPDATE).await,
    ) {
        (Ok(select), Ok(update)) => (select, update),
        other => panic!("prepare: {other:?}"),
    };
    let id = id.to_vec();
    let row = match client.query_one(&select, &[&id]).await {
        Ok(row) => row,
        Err(error) => panic!("select: {error}"),
    };
    let version: i64 = row.get(17);
    let viewer = vec![9u8; 32];
    let result = client
        .execute(&update, &[&id, &version, &viewer, &SystemTime::now()])
        .await;
    if !matches!(result, Ok(1)) {
        panic!("raw update: {result:?}");
    }
}

async fn raw_atomic_update(store: &PostgresStore, id: [u8; 16]) {
    let client = match store.pool().get().await {
        Ok(client) => client,
        Err(error) => panic!("pool: {error}"),
    };
    let statement = match client.prepare_cached(ATOMIC).await {
        Ok(statement) => statement,
        Err(error) => panic!("prepare: {error}"),
    };
    let id = id.to_vec();
    let viewer = vec![9u8; 32];
    match client.query_opt(&statement, &[&id, &viewer]).await {
        Ok(Some(_)) => {}
        other => panic!("atomic update: {other:?}"),
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let store = rt.block_on(async {
        let config = PostgresConfig::new(database_url())
            .schema("bench_portal")
            .max_connections(16);
        let store = match PostgresStore::connect(config).await {
            Ok(store) => store,
            Err(error) => panic!(
                "the postgres bench needs a server at {}: {error}",
                database_url()
            ),
        };
        if let Ok(client) = store.pool().get().await {
            let _ = client
                .batch_execute("DROP SCHEMA IF EXISTS \"bench_portal\" CASCADE")
                .await;
        }
        if let Err(error) = store.migrate().await {
            panic!("migrate: {error}");
        }
        store
    });
    let engine = engine(store.clone());
    // A table as a running service has it: rows in it and statistics about them. Planned against a
    // just-created, never-analysed table, the atomic UPDATE's generic plan scans a whole partial
    // index (`id` is that index's last column, and its predicate matches the UPDATE's) and stays
    // that way: it measured 4 to 11 ms a statement before this.
    drop(fresh_links(&rt, &engine, 10_000));
    rt.block_on(async {
        match store.pool().get().await {
            Ok(client) => {
                if let Err(error) = client
                    .batch_execute("ANALYZE \"bench_portal\".portal_sessions")
                    .await
                {
                    panic!("analyze: {error}");
                }
            }
            Err(error) => panic!("pool: {error}"),
        }
    });
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let next_id = move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut id = [0xEEu8; 16];
        id[..8].copy_from_slice(&n.to_be_bytes());
        id
    };
    for tasks in [1u64, 4, 16] {
        let mut group = c.benchmark_group(format!("postgres/{tasks}-tasks"));
        group
            .sample_size(15)
            .measurement_time(Duration::from_secs(5));

        group.bench_function("raw_insert", |b| {
            let (store, next_id) = (store.clone(), next_id.clone());
            b.iter_custom(|iters| {
                let (store, next_id) = (store.clone(), next_id.clone());
                time_concurrent(&rt, iters, tasks, move |_| {
                    let (store, id) = (store.clone(), next_id());
                    async move { raw_insert(&store, id).await }
                })
            });
        });
        group.bench_function("create", |b| {
            b.iter_custom(|iters| {
                let engine = engine.clone();
                time_concurrent(&rt, iters, tasks, move |_| {
                    let engine = engine.clone();
                    async move {
                        create(&engine).await;
                    }
                })
            });
        });
        group.bench_function("raw_select_update", |b| {
            b.iter_custom(|iters| {
                let links = fresh_links(&rt, &engine, iters);
                let store = store.clone();
                time_concurrent(&rt, iters, tasks, move |i| {
                    let (store, id) = (store.clone(), *links[i as usize].session_id().as_bytes());
                    async move { raw_select_update(&store, id).await }
                })
            });
        });
        group.bench_function("raw_atomic_update", |b| {
            b.iter_custom(|iters| {
                let links = fresh_links(&rt, &engine, iters);
                let store = store.clone();
                time_concurrent(&rt, iters, tasks, move |i| {
                    let (store, id) = (store.clone(), *links[i as usize].session_id().as_bytes());
                    async move { raw_atomic_update(&store, id).await }
                })
            });
        });
        group.bench_function("redeem", |b| {
            b.iter_custom(|iters| {
                let links = fresh_links(&rt, &engine, iters);
                redeem_links(&rt, &engine, links, tasks)
            });
        });
        group.finish();
    }
    peer(c, &rt, &engine);
    let sampling = Sampling {
        samples: 10,
        time: Duration::from_secs(4),
    };
    engine_ops(c, "postgres", &rt, &engine, sampling);
    rt.block_on(async {
        if let Ok(client) = store.pool().get().await {
            let _ = client
                .batch_execute("DROP SCHEMA IF EXISTS \"bench_portal\" CASCADE")
                .await;
        }
    });
}

const PEER_SCHEMA: &str = "bench_tower_sessions";

/// tower-sessions' sqlx `PostgresStore` (its own pool of 16, in its own schema) doing create, load
/// and delete of one record, against create, get and revoke of one session here, at 1 and 16 tasks.
fn peer<S: portal_sessions::SessionStore>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    engine: &Arc<portal_sessions::Engine<S>>,
) {
    use tower_sessions_core_0_14::SessionStore as _;
    use tower_sessions_core_0_14::session::{Id, Record};
    use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;

    let drop_schema = format!("DROP SCHEMA IF EXISTS \"{PEER_SCHEMA}\" CASCADE");
    let (peer, pool) = rt.block_on(async {
        let pool = match PgPoolOptions::new()
            .max_connections(16)
            .connect(&database_url())
            .await
        {
            Ok(pool) => pool,
            Err(error) => panic!("sqlx pool: {error}"),
        };
        if let Err(error) = tower_sessions_sqlx_store::sqlx::query(&drop_schema)
            .execute(&pool)
            .await
        {
            panic!("drop schema: {error}");
        }
        let store = match tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
            .with_schema_name(PEER_SCHEMA)
        {
            Ok(store) => store,
            Err(error) => panic!("schema name: {error}"),
        };
        if let Err(error) = store.migrate().await {
            panic!("tower-sessions migrate: {error}");
        }
        (Arc::new(store), pool)
    });
    for tasks in [1u64, 16] {
        let mut group = c.benchmark_group(format!("postgres/peer/{tasks}-tasks"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        group.bench_function("tower_sessions_create_load_delete", |b| {
            b.iter_custom(|iters| {
                let peer = peer.clone();
                time_concurrent(rt, iters, tasks, move |_| {
                    let peer = peer.clone();
                    async move {
                        let mut record = Record {
                            id: Id::default(),
                            data: Default::default(),
                            expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc()
                                + tower_sessions::cookie::time::Duration::hours(1),
                        };
                        if let Err(error) = peer.create(&mut record).await {
                            panic!("tower-sessions create: {error}");
                        }
                        match peer.load(&record.id).await {
                            Ok(Some(_)) => {}
                            other => panic!("tower-sessions load: {other:?}"),
                        }
                        if let Err(error) = peer.delete(&record.id).await {
                            panic!("tower-sessions delete: {error}");
                        }
                    }
                })
            });
        });
        group.bench_function("portal_sessions_create_get_revoke", |b| {
            b.iter_custom(|iters| {
                let engine = engine.clone();
                time_concurrent(rt, iters, tasks, move |_| {
                    let engine = engine.clone();
                    async move { create_get_revoke(&engine).await }
                })
            });
        });
        group.finish();
    }
    rt.block_on(async {
        let _ = tower_sessions_sqlx_store::sqlx::query(&drop_schema)
            .execute(&pool)
            .await;
    });
}

criterion_group!(postgres_benches, benches);
criterion_main!(postgres_benches);
