//! The open-only list where it used to be slow: an organisation with many unopened links that have
//! all expired, and none open. Listing its open sessions must find that there are none; how far back
//! the scan walks decides the cost.
//!
//! `cargo bench -p portal-sessions-benches --bench open_list` (PostgreSQL as for the `postgres`
//! bench; `PORTAL_SESSIONS_BENCH_OPEN_LIST_N` sets the number of sessions, 10^6 by default).
//!
//! Each store holds N unopened sessions of one organisation, created evenly between 24 hours and one
//! hour ago, each living one hour: all expired. Then, in the same run, for each backend:
//!
//! * `open_list/{backend}/lookback_24h`: the look-back every store used before, the longest possible
//!   lifetime ([`MAX_TTL`]): the scan walks every expired link of the last day;
//! * `open_list/{backend}/lookback_1h`: the look-back the engine now passes, its configured
//!   lifetime: the scan stops an hour back, where nothing is;
//! * `open_list/postgres/generic_plan_24h`: PostgreSQL's old path exactly, a cached prepared
//!   statement on a generic plan (forced, as PostgreSQL chooses it after five executions) with the
//!   24-hour look-back; the store now plans the open-only list for its values on every call.
//!
//! The memory store already stopped at the longest lifetime it had seen, so its two figures should
//! match. The after/before ratio is the result.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions::{
    Clock, Features, LinkToken, ListFilter, ListQuery, MAX_TTL, MintedBy, SessionRecord,
    SessionStore, SystemClock, Timestamp,
};
use portal_sessions_benches::{customer, execute, org, runtime};
use portal_sessions_memory::MemoryStore;
use portal_sessions_postgres::{PostgresConfig, PostgresStore};
use portal_sessions_sled::{Durability, SledConfig};

const HOUR: Duration = Duration::from_secs(3_600);
const SCHEMA: &str = "bench_open_list";

fn sessions() -> u64 {
    std::env::var("PORTAL_SESSIONS_BENCH_OPEN_LIST_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// Session `i` of `n`: unopened, created `24h - 23h * i / n` ago, living an hour.
fn expired_session(now: Timestamp, i: u64, n: u64) -> SessionRecord {
    let link = match LinkToken::generate() {
        Ok(link) => link,
        Err(error) => panic!("token: {error}"),
    };
    let back_ms = 24 * 3_600_000 - 23 * 3_600_000 * i / n;
    let created_at = match now.checked_sub(Duration::from_millis(back_ms)) {
        Some(at) => at,
        None => panic!("the clock is before the year 0001"),
    };
    SessionRecord {
        id: link.session_id(),
        org_id: org(),
        customer: Arc::new(customer()),
        features: Features::ALL,
        return_url: None,
        locale: None,
        verifier_hash: link.secret_hash(),
        viewer_hash: None,
        created_at,
        expires_at: match created_at.checked_add(HOUR) {
            Some(at) => at,
            None => panic!("expiry out of range"),
        },
        used_at: None,
        revoked_at: None,
        logged_out_at: None,
        redeemed_by: None,
        recovery: true,
        recovery_ended_at: None,
        minted_by: MintedBy::Api,
        chain_started_at: created_at,
        deep_link: None,
        version: 0,
    }
}

fn query(max_lifetime: Duration) -> ListQuery {
    ListQuery {
        org_id: org(),
        customer_id: None,
        limit: 10,
        filter: ListFilter::OpenAt(SystemClock.now()),
        after: None,
        max_lifetime,
    }
}

/// Benches both look-backs of `store`, checking that the list is empty.
fn bench_lookbacks<S: SessionStore>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    backend: &str,
    store: &S,
) {
    let mut group = c.benchmark_group(format!("open_list/{backend}"));
    group.sample_size(10);
    for (name, lookback) in [("lookback_24h", MAX_TTL), ("lookback_1h", HOUR)] {
        group.bench_function(name, |b| {
            b.to_async(runtime).iter(|| async {
                match store.list(&query(lookback)).await {
                    Ok(found) => assert!(found.is_empty(), "{backend}: an expired link listed"),
                    Err(error) => panic!("{backend} list: {error}"),
                }
            });
        });
    }
    group.finish();
}

fn fill<S: SessionStore>(runtime: &tokio::runtime::Runtime, store: &S, n: u64) {
    let now = SystemClock.now();
    runtime.block_on(async {
        for i in 0..n {
            if let Err(error) = store.insert(&expired_session(now, i, n)).await {
                panic!("fill: {error}");
            }
        }
    });
}

fn memory(c: &mut Criterion, runtime: &tokio::runtime::Runtime, n: u64) {
    let store = MemoryStore::new();
    fill(runtime, &store, n);
    bench_lookbacks(c, runtime, "memory", &store);
}

fn sled(c: &mut Criterion, runtime: &tokio::runtime::Runtime, n: u64) {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    };
    let store = match SledConfig::new(dir.path().join("db"))
        .durability(Durability::Relaxed {
            flush_every: Duration::from_millis(100),
        })
        .open()
    {
        Ok(store) => store,
        Err(error) => panic!("sled: {error}"),
    };
    fill(runtime, &store, n);
    if let Err(error) = runtime.block_on(store.flush()) {
        panic!("sled flush: {error}");
    }
    bench_lookbacks(c, runtime, "sled", &store);
}

fn postgres(c: &mut Criterion, runtime: &tokio::runtime::Runtime, n: u64) {
    let url = std::env::var("PORTAL_SESSIONS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let store = runtime.block_on(async {
        let config = PostgresConfig::new(url.clone()).schema(SCHEMA);
        let store = match PostgresStore::connect(config).await {
            Ok(store) => store,
            Err(error) => panic!("the open_list bench needs PostgreSQL at {url}: {error}"),
        };
        execute(&store, &format!("DROP SCHEMA IF EXISTS \"{SCHEMA}\" CASCADE")).await;
        if let Err(error) = store.migrate().await {
            panic!("migrate: {error}");
        }
        execute(
            &store,
            &format!(
                "BEGIN; SET LOCAL statement_timeout = 0; INSERT INTO \"{SCHEMA}\".portal_sessions (id, org_id, \
                 customer_id, customer_external_id, customer_name, customer_email, features, \
                 verifier_hash, created_at, expires_at, version) \
                 SELECT decode(md5(random()::text || g::text), 'hex'), '{org}', '{customer}', \
                 'bench-001', 'Bench Customer', 'billing@bench.test', 15, \
                 sha256(g::text::bytea), created, created + interval '1 hour', 0 \
                 FROM generate_series(1, {n}) AS g, \
                 LATERAL (SELECT now() - interval '24 hours' + interval '23 hours' * g / {n} AS created) AS t; \
                 COMMIT; ANALYZE \"{SCHEMA}\".portal_sessions",
                org = org().as_uuid(),
                customer = customer().id.as_uuid(),
            ),
        )
        .await;
        store
    });
    bench_lookbacks(c, runtime, "postgres", &store);

    // The old path: the same statement, prepared and cached, on a generic plan.
    let mut group = c.benchmark_group("open_list/postgres");
    group.sample_size(10);
    let client = runtime.block_on(async {
        let client = match store.pool().get().await {
            Ok(client) => client,
            Err(error) => panic!("pool: {error}"),
        };
        if let Err(error) = client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await
        {
            panic!("{error}");
        }
        client
    });
    let sql = format!(
        "SELECT id FROM \"{SCHEMA}\".portal_sessions WHERE org_id = $1 AND used_at IS NULL \
         AND revoked_at IS NULL AND expires_at > $2 AND created_at > $3 \
         ORDER BY created_at DESC, id DESC LIMIT $4"
    );
    group.bench_function("generic_plan_24h", |b| {
        b.to_async(runtime).iter(|| async {
            let now = SystemClock.now();
            let horizon = match now.checked_sub(MAX_TTL) {
                Some(horizon) => horizon.to_system_time(),
                None => panic!("the clock is before the year 0001"),
            };
            let statement = match client.prepare_cached(&sql).await {
                Ok(statement) => statement,
                Err(error) => panic!("prepare: {error}"),
            };
            let rows = client
                .query(
                    &statement,
                    &[org().as_uuid(), &now.to_system_time(), &horizon, &10_i64],
                )
                .await;
            match rows {
                Ok(rows) => assert!(rows.is_empty()),
                Err(error) => panic!("generic plan: {error}"),
            }
        });
    });
    group.finish();
    drop(client);
    runtime.block_on(execute(
        &store,
        &format!("DROP SCHEMA IF EXISTS \"{SCHEMA}\" CASCADE"),
    ));
}

fn benches(c: &mut Criterion) {
    let runtime = runtime();
    let n = sessions();
    println!("open_list: {n} expired, unopened sessions per backend");
    memory(c, &runtime, n);
    sled(c, &runtime, n);
    postgres(c, &runtime, n);
}

criterion_group!(open_list, benches);
criterion_main!(open_list);
