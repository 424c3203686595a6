//! Requests per second through the portal's axum router on loopback, against an axum handler that
//! does nothing, in one run.
//!
//! `cargo bench -p portal-sessions-benches --bench http`
//!
//! Every server is `axum::serve` on 127.0.0.1, in this process, sharing the machine with the load
//! generator: 16 keep-alive HTTP/1.1 connections, each sending its share of the requests one after
//! another (a minimal client that writes a request and reads one `Content-Length` response, so that
//! as little of the machine as possible goes to generating load). Criterion reports wall time per
//! request across all connections, the inverse of requests per second.
//!
//! * `create`: `POST /v1/portal-sessions` with an API key and a JSON body (answered `201`), on the
//!   memory store; `empty/create`: the same bytes to a handler that answers `200` with no body;
//!   `canned/create`: the same bytes to a handler that answers what a create answered, the same
//!   status, headers and body, without doing anything else (what carrying the answer costs).
//! * `redeem`: `POST /r/{token}` (answered `303` to the portal) of links minted (untimed) just
//!   before; `empty/redeem`: the same bytes to the empty handler; `canned/redeem`: the same bytes
//!   to a handler that answers what a redeem answered (the `303`, its location, cookie and page
//!   headers) and does nothing else.
//!
//! Each timed run of the portal (a criterion sample, a round) gets a portal of its own, served
//! afresh over a new memory store, and stopped, its store freed, after it (all untimed): a
//! create's store starts empty, a redeem's holds the links minted for it. A store that kept every
//! session of every earlier run would hold hundreds of thousands by the last, and the figure would
//! depend on how many runs came before it (what a store's size costs is the `scaling` bench's to
//! measure).
//!
//! The router is `PortalService::router()` as the server mounts it, without the server's request
//! logging (no tracing subscriber is installed here).
//!
//! After criterion's figures, `cargo bench` (not `cargo test`, nor a filter that names one of
//! criterion's functions: [`rounds::wanted`](portal_sessions_benches::rounds::wanted)) runs each
//! pair in alternating rounds ([`portal_sessions_benches::rounds`]) and prints the portal's ratio
//! to the empty handler within a round: the figure the goal is judged by.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::any;
use criterion::Criterion;
use portal_sessions::Engine;
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_benches::load::{Served, drive, serve};
use portal_sessions_benches::{create, engine, fresh_links, org, rounds, runtime};
use portal_sessions_memory::MemoryStore;
use tower::ServiceExt as _;

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

/// The portal's router over a fresh, empty memory store, served on loopback until stopped.
struct Portal {
    engine: Arc<Engine<MemoryStore>>,
    served: Served,
}

impl Portal {
    fn start(rt: &tokio::runtime::Runtime) -> Portal {
        let engine = engine(MemoryStore::new());
        let served = rt.block_on(serve(router(&engine)));
        Portal { engine, served }
    }

    fn address(&self) -> SocketAddr {
        self.served.address
    }

    /// Stops the server and frees the store here, untimed: left to the runtime, the store (up to
    /// 20 000 sessions a round) would be freed by a worker thread while the next timed run goes.
    fn stop(self, rt: &tokio::runtime::Runtime) {
        let Portal { engine, served } = self;
        rt.block_on(async {
            served.stop().await;
            // The connections' tasks hold the router, and so the engine, until they see their
            // connection closed.
            let deadline = Instant::now() + Duration::from_secs(10);
            while Arc::strong_count(&engine) > 1 {
                assert!(
                    Instant::now() < deadline,
                    "the portal's server still holds its engine"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        drop(engine);
    }
}

/// `PortalService::router()` over `engine`, with the bench's API key.
fn router(engine: &Arc<Engine<MemoryStore>>) -> Router {
    let mut keys = StaticApiKeys::default();
    keys.add_secret(API_KEY, org());
    PortalService::new(engine.clone(), keys, StaticPortalData::default()).router()
}

/// What the portal answered `request`, as a handler that answers every request with it: status,
/// headers and body, without doing anything else (what carrying the answer costs).
async fn canned(
    engine: &Arc<Engine<MemoryStore>>,
    request: axum::http::request::Builder,
    body: &'static str,
    expected: StatusCode,
) -> Router {
    let mut request = match request.body(axum::body::Body::from(body)) {
        Ok(request) => request,
        Err(error) => panic!("request: {error}"),
    };
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))));
    let response = match router(engine).oneshot(request).await {
        Ok(response) => response,
        Err(error) => match error {},
    };
    assert_eq!(response.status(), expected, "the canned answer");
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, 1 << 16).await {
        Ok(body) => body,
        Err(error) => panic!("body: {error}"),
    };
    let status = parts.status;
    // Every value static: a clone of a shared `Bytes` is an atomic count that the two worker
    // threads would pass back and forth, a cost of this handler's, not of the answer.
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let copy = Bytes::from_static(Box::leak(value.as_bytes().into()));
        match HeaderValue::from_maybe_shared(copy) {
            Ok(copy) => headers.append(name.clone(), copy),
            Err(error) => panic!("header {name}: {error}"),
        };
    }
    let body = Bytes::from_static(Box::leak(body.to_vec().into_boxed_slice()));
    let head: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    println!(
        "canned {expected}: {head} bytes of headers (before the server's own), {} of body",
        body.len()
    );
    Router::new().route(
        "/{*path}",
        any(move || {
            let (headers, body) = (headers.clone(), body.clone());
            // As a `Body`, not `Bytes`, whose answer would add a content type the redeem's lacks.
            async move { (status, headers, axum::body::Body::from(body)) }
        }),
    )
}

/// What one create answered, canned.
async fn canned_create() -> Router {
    let request = axum::http::Request::post("/v1/portal-sessions")
        .header("x-api-key", API_KEY)
        .header("content-type", "application/json");
    canned(
        &engine(MemoryStore::new()),
        request,
        CREATE_BODY,
        StatusCode::CREATED,
    )
    .await
}

/// What one redeem answered, canned.
async fn canned_redeem() -> Router {
    let engine = engine(MemoryStore::new());
    let link = create(&engine).await.link;
    let request = axum::http::Request::post(format!("/r/{}", link.expose_secret()));
    canned(&engine, request, "", StatusCode::SEE_OTHER).await
}

fn main() {
    let rt = runtime();
    let (empty, canned_create_at, canned_redeem_at) = rt.block_on(async {
        let empty = Router::new()
            .route("/", any(|| async {}))
            .route("/{*path}", any(|| async {}));
        (
            serve(empty).await.detach(),
            serve(canned_create().await).await.detach(),
            serve(canned_redeem().await).await.detach(),
        )
    });

    let create_requests = |n: u64| {
        Arc::new(vec![
            create_request();
            usize::try_from(n).unwrap_or(usize::MAX)
        ])
    };
    // Links of `portal`'s engine, or of a throwaway one (for the empty handler).
    let redeem_requests = |n: u64, portal: Option<&Portal>| {
        let links = match portal {
            Some(portal) => fresh_links(&rt, &portal.engine, n),
            None => fresh_links(&rt, &engine(MemoryStore::new()), n),
        };
        Arc::new(
            links
                .iter()
                .map(|link| redeem_request(&link.expose_secret()))
                .collect::<Vec<_>>(),
        )
    };
    let create = |n: u64| {
        let portal = Portal::start(&rt);
        let elapsed = drive(&rt, portal.address(), create_requests(n), 201);
        portal.stop(&rt);
        elapsed
    };
    let redeem = |n: u64| {
        let portal = Portal::start(&rt);
        let requests = redeem_requests(n, Some(&portal));
        let elapsed = drive(&rt, portal.address(), requests, 303);
        portal.stop(&rt);
        elapsed
    };

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("http");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("create", |b| b.iter_custom(create));
    group.bench_function("empty/create", |b| {
        b.iter_custom(|n| drive(&rt, empty, create_requests(n), 200));
    });
    group.bench_function("canned/create", |b| {
        b.iter_custom(|n| drive(&rt, canned_create_at, create_requests(n), 201));
    });
    group.bench_function("redeem", |b| b.iter_custom(redeem));
    group.bench_function("empty/redeem", |b| {
        b.iter_custom(|n| drive(&rt, empty, redeem_requests(n, None), 200));
    });
    group.bench_function("canned/redeem", |b| {
        b.iter_custom(|n| drive(&rt, canned_redeem_at, redeem_requests(n, None), 303));
    });
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
                    "canned/create",
                    Box::new(|n| drive(rt, canned_create_at, create_requests(n), 201)),
                ),
                ("create", Box::new(create)),
            ],
        );
        rounds::alternate(
            "redeem",
            count,
            per_round,
            &mut [
                (
                    "empty/redeem",
                    Box::new(|n| drive(rt, empty, redeem_requests(n, None), 200)),
                ),
                (
                    "canned/redeem",
                    Box::new(|n| drive(rt, canned_redeem_at, redeem_requests(n, None), 303)),
                ),
                ("redeem", Box::new(redeem)),
            ],
        );
    }
}
