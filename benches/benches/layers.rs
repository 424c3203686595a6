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
//! * `loop`: the bare handler served by the server's connection loop, without the operations
//!   layers: what the connection handling costs alone.
//! * `layers`: the operations layers served by `axum::serve`: what the layers cost alone.
//!
//! The load is the `http` bench's: 16 keep-alive connections on loopback.
//!
//! After criterion's figures, `cargo bench` (not `cargo test`, nor a filter that names one of
//! criterion's functions: [`rounds::wanted`](portal_sessions_benches::rounds::wanted)) runs the four in alternating rounds
//! ([`portal_sessions_benches::rounds`]) and prints each one's ratio to `bare` within a round: the
//! figure the goal is judged by, since the machine's speed drifts more between criterion's
//! functions than the layers cost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use criterion::Criterion;
use portal_sessions_axum::TrustedProxies;
use portal_sessions_benches::load::{drive, serve};
use portal_sessions_benches::{rounds, runtime};
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

/// The four servers, in the order they are reported.
fn servers(rt: &tokio::runtime::Runtime, metrics: &Metrics) -> [(&'static str, SocketAddr); 4] {
    rt.block_on(async {
        [
            ("bare", serve(empty()).await.detach()),
            ("loop", serve_as_the_server(empty()).await),
            (
                "layers",
                serve(operations_layers(empty(), metrics)).await.detach(),
            ),
            (
                "server",
                serve_as_the_server(operations_layers(empty(), metrics)).await,
            ),
        ]
    })
}

fn requests(n: u64) -> Arc<Vec<Vec<u8>>> {
    Arc::new(vec![
        REQUEST.to_vec();
        usize::try_from(n).unwrap_or(usize::MAX)
    ])
}

fn main() {
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
    let servers = servers(&rt, &metrics);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("layers");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (name, address) in servers {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| drive(&rt, address, requests(iters), 200));
        });
    }
    group.finish();
    c.final_summary();

    if rounds::wanted("layers") {
        let (count, per_round) = rounds::from_env();
        let mut variants: Vec<rounds::Variant<'_>> = servers
            .iter()
            .map(|&(name, address)| -> rounds::Variant<'_> {
                let rt = &rt;
                (
                    name,
                    Box::new(move |n| drive(rt, address, requests(n), 200)),
                )
            })
            .collect();
        rounds::alternate("layers", count, per_round, &mut variants);
    }
}
