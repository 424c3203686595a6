//! What the server's operations layers cost: an empty handler behind the server's own layer stack
//! and connection handling, against the same empty handler bare, in one run.
//!
//! `cargo bench -p portal-sessions-benches --bench layers`
//!
//! * `bare`: `GET /healthz` answered `200` by an axum handler that does nothing, served by
//!   `axum::serve` (the `http` bench's baseline).
//! * `server`: the same handler inside
//!   [`operations_layers`](portal_sessions_server::operations_layers) (the matched route, request
//!   metrics, the request log) and served by the server's own connection loop
//!   ([`portal_sessions_server::http::serve`]: header and body timeouts, the connection caps), with
//!   the server's logging installed as it runs (text, one line a request), writing to `/dev/null`
//!   through the same writer the server gives standard error.
//!
//! The load is the `http` bench's: 16 keep-alive connections on loopback.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions_axum::TrustedProxies;
use portal_sessions_benches::load::{drive, serve};
use portal_sessions_benches::runtime;
use portal_sessions_server::config::LogFormat;
use portal_sessions_server::http::HttpLimits;
use portal_sessions_server::metrics::Metrics;
use portal_sessions_server::{init_logging_to, operations_layers};

const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: bench\r\n\r\n";

fn empty() -> Router {
    Router::new().route("/healthz", get(|| async {}))
}

async fn serve_as_the_server(app: Router) -> std::net::SocketAddr {
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("bind: {error}"),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => panic!("local address: {error}"),
    };
    tokio::spawn(portal_sessions_server::http::serve(
        listener,
        app,
        HttpLimits::default(),
        TrustedProxies::new(std::iter::empty()),
        std::future::pending(),
    ));
    address
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let null = match std::fs::OpenOptions::new().write(true).open("/dev/null") {
        Ok(null) => null,
        Err(error) => panic!("/dev/null: {error}"),
    };
    let _logging = init_logging_to(LogFormat::Text, null);
    let metrics = match Metrics::new() {
        Ok(metrics) => metrics,
        Err(error) => panic!("metrics: {error}"),
    };
    let (bare, server) = rt.block_on(async {
        (
            serve(empty()).await,
            serve_as_the_server(operations_layers(empty(), &metrics)).await,
        )
    });
    let mut group = c.benchmark_group("layers");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (name, address) in [("bare", bare), ("server", server)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let requests = Arc::new(vec![
                    REQUEST.to_vec();
                    usize::try_from(iters).unwrap_or(usize::MAX)
                ]);
                drive(&rt, address, requests, 200)
            });
        });
    }
    group.finish();
}

criterion_group!(layers_benches, benches);
criterion_main!(layers_benches);
