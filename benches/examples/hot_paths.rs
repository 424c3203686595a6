//! A driver for profilers: runs one engine operation over the memory store many times, with nothing
//! else in the process worth counting.
//!
//! ```sh
//! cargo build --release -p portal-sessions-benches --example hot_paths
//! valgrind --tool=callgrind --callgrind-out-file=target/create.callgrind \
//!     target/release/examples/hot_paths create 20000
//! callgrind_annotate --inclusive=yes target/create.callgrind | head -60
//! ```
//!
//! Operations: `create`, `redeem` (parse the link text, then redeem, as the HTTP layer does),
//! `authenticate`; `http-create` and `http-empty`: the same create request through the portal's
//! router and through an empty router, in process (no sockets), so that the difference is the HTTP
//! layer's and the engine's own; `http-redeem`: `POST /r/{token}` of fresh links through the
//! router (the links are minted first, in the same run: subtract a `create` run of the same count);
//! `bare-empty` and `layers-empty`: `GET /healthz` answered by an empty handler, bare and inside
//! the server's own layers (`operations_layers` and the request timeouts of `http::serve`, with
//! the server's text logging installed writing to a sink), so that the difference is what the
//! layers cost a request (the `layers` bench's pair, without the sockets; subtract a run of count
//! 0 for the start-up). The store is filled with `count` sessions first; only the named operation
//! runs after that, `count` times, so the profile's inclusive costs divided by `count` are per
//! operation.

use std::process::ExitCode;

use portal_sessions::{ClientInfo, LinkToken};
use portal_sessions_benches::{create, engine};
use portal_sessions_memory::MemoryStore;

/// The API key of the `http-*` operations.
const HTTP_KEY: &str = "sk_bench_0123456789abcdef";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(op), count) = (args.next(), args.next()) else {
        eprintln!(
            "usage: hot_paths <create|redeem|authenticate|http-create|http-empty|http-redeem|bare-empty|layers-empty> [count]"
        );
        return ExitCode::from(2);
    };
    let count: usize = match count.as_deref().map(str::parse).unwrap_or(Ok(20_000)) {
        Ok(count) => count,
        Err(error) => {
            eprintln!("count: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let engine = engine(MemoryStore::new());
    runtime.block_on(async {
        match op.as_str() {
            "create" => {
                for _ in 0..count {
                    std::hint::black_box(create(&engine).await);
                }
            }
            "redeem" => {
                let mut links = Vec::with_capacity(count);
                for _ in 0..count {
                    links.push(create(&engine).await.link.expose_secret());
                }
                for text in &links {
                    let redeemed = match text.parse::<LinkToken>() {
                        Ok(link) => engine.redeem(&link, ClientInfo::default()).await.is_ok(),
                        Err(_) => false,
                    };
                    assert!(redeemed, "a fresh link must redeem");
                }
            }
            "authenticate" => {
                let link = create(&engine).await.link;
                let viewer = match engine.redeem(&link, ClientInfo::default()).await {
                    Ok(redemption) => redemption.viewer,
                    Err(error) => panic!("redeem: {error}"),
                };
                for _ in 0..count {
                    assert!(engine.authenticate(&viewer).await.is_ok());
                }
            }
            "http-create" | "http-empty" => {
                let router = if op == "http-create" {
                    let mut keys = portal_sessions_axum::StaticApiKeys::default();
                    keys.add_secret(HTTP_KEY, portal_sessions_benches::org());
                    portal_sessions_axum::PortalService::new(
                        engine.clone(),
                        keys,
                        portal_sessions_axum::StaticPortalData::default(),
                    )
                    .router()
                } else {
                    axum::Router::new().route("/{*path}", axum::routing::any(|| async {}))
                };
                for _ in 0..count {
                    let request = axum::http::Request::post("/v1/portal-sessions")
                        .header("x-api-key", HTTP_KEY)
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(
                            r#"{"customerExternalId":"bench-001"}"#,
                        ));
                    let response = send(&router, request).await;
                    assert!(response.status().is_success(), "{}", response.status());
                    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await;
                    std::hint::black_box(body.is_ok());
                }
            }
            "http-redeem" => {
                let router = portal_sessions_axum::PortalService::new(
                    engine.clone(),
                    portal_sessions_axum::StaticApiKeys::default(),
                    portal_sessions_axum::StaticPortalData::default(),
                )
                .router();
                let mut links = Vec::with_capacity(count);
                for _ in 0..count {
                    links.push(create(&engine).await.link.expose_secret());
                }
                for text in &links {
                    let request = axum::http::Request::post(format!("/r/{text}"))
                        .body(axum::body::Body::empty());
                    let response = send(&router, request).await;
                    assert_eq!(response.status(), axum::http::StatusCode::SEE_OTHER);
                }
            }
            "bare-empty" => {
                // As `axum::serve` serves it: handlers made services once, not per request.
                let router = empty_router().with_state(());
                for _ in 0..count {
                    let response = send(&router, healthz()).await;
                    assert!(response.status().is_success(), "{}", response.status());
                }
            }
            "layers-empty" => {
                let logging = portal_sessions_server::init_logging_to(
                    portal_sessions_server::config::LogFormat::Text,
                    std::io::sink(),
                );
                let metrics = match portal_sessions_server::metrics::Metrics::new() {
                    Ok(metrics) => metrics,
                    Err(error) => panic!("metrics: {error}"),
                };
                let layered = portal_sessions_server::operations_layers(empty_router(), &metrics);
                let limits = portal_sessions_server::http::HttpLimits::default();
                let service = portal_sessions_server::http::request_timeouts(layered, &limits);
                for _ in 0..count {
                    use tower::ServiceExt as _;
                    let request = match healthz() {
                        Ok(request) => request,
                        Err(error) => panic!("{error}"),
                    };
                    let response = match service.clone().oneshot(request).await {
                        Ok(response) => response,
                        Err(error) => match error {},
                    };
                    assert!(response.status().is_success(), "{}", response.status());
                }
                if let Some(logging) = logging {
                    logging.finish();
                }
            }
            other => panic!("unknown operation {other:?}"),
        }
    });
    ExitCode::SUCCESS
}

/// The router of `bare-empty` and `layers-empty`: `GET /healthz` answered by a handler that does
/// nothing.
fn empty_router() -> axum::Router {
    axum::Router::new().route("/healthz", axum::routing::get(|| async {}))
}

/// `GET /healthz`, no body.
fn healthz() -> Result<axum::http::Request<axum::body::Body>, axum::http::Error> {
    axum::http::Request::get("/healthz").body(axum::body::Body::empty())
}

/// Sends one request through `router`, in process.
async fn send(
    router: &axum::Router,
    request: Result<axum::http::Request<axum::body::Body>, axum::http::Error>,
) -> axum::response::Response {
    use tower::ServiceExt as _;
    let request = match request {
        Ok(request) => request,
        Err(error) => panic!("{error}"),
    };
    match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(error) => match error {},
    }
}
