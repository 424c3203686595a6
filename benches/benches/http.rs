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

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::any;
use criterion::{Criterion, criterion_group, criterion_main};
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_benches::{engine, fresh_links, org, runtime};
use portal_sessions_memory::MemoryStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CONNECTIONS: u64 = 16;
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

/// One keep-alive connection that sends a request and reads its whole response.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(address: SocketAddr) -> Connection {
        let stream = match TcpStream::connect(address).await {
            Ok(stream) => stream,
            Err(error) => panic!("connect: {error}"),
        };
        if let Err(error) = stream.set_nodelay(true) {
            panic!("nodelay: {error}");
        }
        Connection {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends `request`; returns the response's status code.
    async fn send(&mut self, request: &[u8]) -> u16 {
        if let Err(error) = self.stream.write_all(request).await {
            panic!("write: {error}");
        }
        self.buffer.clear();
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at + 4;
            }
            self.read_more().await;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).to_ascii_lowercase();
        let status = head
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {head:?}"));
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no content-length: {head:?}"));
        while self.buffer.len() < head_end + length {
            self.read_more().await;
        }
        status
    }

    /// Reads into the buffer's spare capacity: no zeroed chunk per read (zeroing an 8 KiB chunk
    /// was a tenth of the whole process's instructions in the profile, all of it load generator).
    async fn read_more(&mut self) {
        self.buffer.reserve(8192);
        match self.stream.read_buf(&mut self.buffer).await {
            Ok(0) => panic!("the server closed the connection"),
            Ok(_) => {}
            Err(error) => panic!("read: {error}"),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

async fn serve(router: Router) -> SocketAddr {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("bind: {error}"),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => panic!("local address: {error}"),
    };
    tokio::spawn(async move {
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, app).await {
            panic!("serve: {error}");
        }
    });
    address
}

/// Sends `requests[i]` for every `i`, spread over [`CONNECTIONS`] connections, each expecting
/// `status`; returns the wall time.
fn drive(
    runtime: &tokio::runtime::Runtime,
    address: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    status: u16,
) -> Duration {
    runtime.block_on(async move {
        let mut connections = Vec::new();
        for _ in 0..CONNECTIONS {
            connections.push(Connection::open(address).await);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (lane, mut connection) in (0u64..).zip(connections) {
            let requests = requests.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = lane;
                while let Some(request) = usize::try_from(i).ok().and_then(|i| requests.get(i)) {
                    let got = connection.send(request).await;
                    assert_eq!(got, status, "unexpected status");
                    i += CONNECTIONS;
                }
            }));
        }
        for task in tasks {
            if let Err(error) = task.await {
                panic!("connection task: {error}");
            }
        }
        started.elapsed()
    })
}

fn benches(c: &mut Criterion) {
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

    let mut group = c.benchmark_group("http");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (name, address, status) in [("create", portal, 201), ("empty/create", empty, 200)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let one = create_request();
                let requests = Arc::new(vec![one; usize::try_from(iters).unwrap_or(usize::MAX)]);
                drive(&rt, address, requests, status)
            });
        });
    }
    for (name, address, status) in [("redeem", portal, 303), ("empty/redeem", empty, 200)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let links = fresh_links(&rt, &engine, iters);
                let requests = links
                    .iter()
                    .map(|link| redeem_request(&link.expose_secret()))
                    .collect();
                drive(&rt, address, Arc::new(requests), status)
            });
        });
    }
    group.finish();
}

criterion_group!(http_benches, benches);
criterion_main!(http_benches);
