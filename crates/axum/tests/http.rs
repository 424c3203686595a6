//! The HTTP contract against the memory store, at the root of a host app and nested in it (the
//! checks live in `portal_sessions_axum::suite`, which PostgreSQL runs too), and what only the memory
//! store needs to show: the link-attempt limit.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use portal_sessions::{Engine, ManualClock, SessionStore, StaticDirectory};
use portal_sessions_axum::suite::{App, KEY_A, PUBLIC_URL, acme, org_a};
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_conformance::fixture::start_time;
use serde_json::json;

portal_sessions_axum::http_tests!(
    memory,
    Some(portal_sessions_memory::MemoryStore::new()),
    |_| async {}
);

/// Failed link attempts are limited per client IP: past the limit, 429 with Retry-After, before the
/// store is touched; other clients go on unaffected.
#[tokio::test]
async fn failed_link_attempts_are_limited_per_client() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;

    let store = Arc::new(portal_sessions_memory::MemoryStore::new());
    let mut directory = StaticDirectory::default();
    if let Err(error) = directory.insert(org_a(), acme()) {
        panic!("{error}");
    }
    let engine = Arc::new(Engine::new(store.clone(), directory));
    let mut keys = StaticApiKeys::default();
    keys.add_secret(KEY_A, org_a());
    let router = PortalService::new(engine.clone(), keys, StaticPortalData::default())
        .public_url(PUBLIC_URL)
        .link_attempt_limit(Some(portal_sessions_axum::LinkAttemptLimit {
            max_failures: 3,
            window: Duration::from_secs(60),
            max_clients: 1_000,
        }))
        .router();
    let app = App::from_router(router, ManualClock::new(start_time()));
    let from = |ip: [u8; 4], method: &str, uri: &str| {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap_or_default();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
        request
    };
    let attacker = [203, 0, 113, 66];
    let customer = [198, 51, 100, 7];
    let guesses = [
        "/r/mgl_nonsense".to_owned(),
        format!(
            "/r/{}",
            portal_sessions_conformance::fixture::new_link().expose_secret()
        ),
        "/r/garbage".to_owned(),
    ];
    for guess in &guesses {
        assert_eq!(
            app.send(from(attacker, "POST", guess)).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let limited = app.send(from(attacker, "GET", &guesses[0])).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), "60");
    assert_eq!(limited.header("cache-control"), "no-store");

    // Another client is not slowed: its bad link is a 404 and its good link opens.
    let created = app.create(json!({"customerExternalId": "acme-001"})).await;
    let link = app.path_of(created["url"].as_str().unwrap_or_default());
    assert_eq!(
        app.send(from(customer, "GET", &guesses[0])).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.send(from(customer, "POST", &link)).await.status,
        StatusCode::SEE_OTHER
    );
    // Used, revoked or expired links are not guesses: they do not count.
    for _ in 0..5 {
        assert_eq!(
            app.send(from(customer, "POST", &link)).await.status,
            StatusCode::GONE
        );
    }
    assert_eq!(
        app.send(from(customer, "GET", &link)).await.status,
        StatusCode::GONE
    );
    // The limited client's request never reached the store: the link it could not see is unused.
    let fresh = app.create(json!({"customerExternalId": "acme-001"})).await;
    let fresh_link = app.path_of(fresh["url"].as_str().unwrap_or_default());
    assert_eq!(
        app.send(from(attacker, "POST", &fresh_link)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let id: portal_sessions::SessionId = fresh["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let record = store.get(&id).await.ok().flatten();
    assert_eq!(record.and_then(|r| r.used_at), None);
}
