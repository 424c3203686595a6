//! Requests per second through the portal's axum router on loopback, against an axum handler that
//! does nothing, in one run.
//!
//! `cargo bench -p portal-sessions-benches --bench http`
//!
//! Both servers are `axum::serve` on 127.0.0.1, in this process, sharing the machine with the load
//! generator: 16 keep-alive HTTP/1.1 connections, each sending its share of the requests one after
//! another (a minimal client that writes a request and reads one `Content-Length` response, so that
//! as little of the machine as possible goes to generating load). Criterion reports wall time per
//! request across all connections, the inverse of requests per second.
//!
//! * `create`: `POST /v1/portal-sessions` with an API key and a JSON body (answered `201`), on the
//!   memory store; `empty/create`: the same bytes to a handler that answers `200` with no body.
//! * `redeem`: `POST /r/{token}` (answered `303` to the portal) of links minted (untimed) just
//!   before; `empty/redeem`: the same bytes to the empty handler.
//!
//! The router is `PortalService::router()` as the server mounts it, without the server's request
//! logging (no tracing subscriber is installed here).
//!
//! After criterion's figures, `cargo bench` (not `cargo test`, nor a filter that names one of
//! criterion's functions: [`rounds::wanted`](portal_sessions_benches::rounds::wanted)) runs each pair in alternating rounds
//! ([`portal_sessions_benches::rounds`]) and prints the portal's ratio to the empty handler within
//! a round: the figure the goal is judged by.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::any;
use criterion::Criterion;
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_benches::load::{drive, serve};
use portal_sessions_benches::{engine, fresh_links, org, rounds, runtime};
use portal_sessions_memory::MemoryStore;

const API_KEY: &str = "sk_bench_0123456789abcdef";
const CREATE_BODY: &str = r#"{"customerExternalId":"bench-001"}"#;

fn create_request() -> Vec<u8> {
    format!(
        "POST /v1/portal-sessions HTTP/1.1\r\nhost: bench\r\nx-api-key: {API_KEY}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{CREATE_BODY}",
        CREATE_BODY.len()
    )
    .into_bytes()
}

fn redeem_request(token: &str) -> Vec<u8> {
    format!("POST /r/{token} HTTP/1.1\r\nhost: bench\r\ncontent-length: 0\r\n\r\n").into_bytes()
}

fn main() {
    let rt = runtime();
    let engine = engine(MemoryStore::new());
    let mut keys = StaticApiKeys::default();
    keys.add_secret(API_KEY, org());
    let service = PortalService::new(engine.clone(), keys, StaticPortalData::default()).router();
    let (portal, empty) = rt.block_on(async {
        let empty = Router::new()
            .route("/", any(|| async {}))
            .route("/{*path}", any(|| async {}));
        (serve(service).await, serve(empty).await)
    });

    let create_requests = |n: u64| {
        Arc::new(vec![
            create_request();
            usize::try_from(n).unwrap_or(usize::MAX)
        ])
    };
    let redeem_requests = |n: u64| {
        let links = fresh_links(&rt, &engine, n);
        Arc::new(
            links
                .iter()
                .map(|link| redeem_request(&link.expose_secret()))
                .collect::<Vec<_>>(),
        )
    };

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("http");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (name, address, status) in [("create", portal, 201), ("empty/create", empty, 200)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| drive(&rt, address, create_requests(iters), status));
        });
    }
    for (name, address, status) in [("redeem", portal, 303), ("empty/redeem", empty, 200)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| drive(&rt, address, redeem_requests(iters), status));
        });
    }
    group.finish();
    c.final_summary();

    if rounds::wanted("http") {
        let (count, per_round) = rounds::from_env();
        let rt = &rt;
        rounds::alternate(
            "create",
            count,
            per_round,
            &mut [
                (
                    "empty/create",
                    Box::new(|n| drive(rt, empty, create_requests(n), 200)),
                ),
                (
                    "create",
                    Box::new(|n| drive(rt, portal, create_requests(n), 201)),
                ),
            ],
        );
        rounds::alternate(
            "redeem",
            count,
            per_round,
            &mut [
                (
                    "empty/redeem",
                    Box::new(|n| drive(rt, empty, redeem_requests(n), 200)),
                ),
                (
                    "redeem",
                    Box::new(|n| drive(rt, portal, redeem_requests(n), 303)),
                ),
            ],
        );
    }
}
