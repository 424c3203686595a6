//! The parts a host runs beside the router, through their public API only, on the memory store:
//! the webhook deliverer (with a client and an endpoint source of the test's own), the request
//! log's redaction, and the health check.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::routing::{get, post};
use portal_sessions::{CreateRequest, Engine, OrgId, SessionStore, StaticDirectory};
use portal_sessions_axum::suite::{acme, org_a, org_b};
use portal_sessions_axum::webhooks::{
    Deliverer, DeliverySettings, EndpointsError, PostError, StartError, StaticEndpoints, Webhook,
    WebhookClient, WebhookEndpoints, WebhookRequest,
};
use portal_sessions_axum::{RequestLogLayer, async_trait, health_check};
use portal_sessions_memory::MemoryStore;
use tower::ServiceExt;

const SECRET: &str = "whsec_prod_test_4f9a2c7e1b8d3f6a0c5e";

/// A receiver in the test: records every POST, and answers 500 to the first `failing` of them.
#[derive(Default)]
struct Recorder {
    posts: Mutex<Vec<(HeaderMap, Bytes)>>,
    failing: AtomicUsize,
}

#[async_trait]
impl WebhookClient for Recorder {
    async fn post(&self, request: WebhookRequest) -> Result<StatusCode, PostError> {
        assert_eq!(request.url.host(), Some("hooks.example.com"));
        self.posts
            .lock()
            .unwrap()
            .push((request.headers, request.body));
        let failing = self.failing.load(Ordering::SeqCst);
        if failing > 0 {
            self.failing.store(failing - 1, Ordering::SeqCst);
            return Ok(StatusCode::INTERNAL_SERVER_ERROR);
        }
        Ok(StatusCode::NO_CONTENT)
    }
}

fn settings() -> DeliverySettings {
    DeliverySettings {
        poll_interval: Duration::from_millis(10),
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(20),
        ..DeliverySettings::default()
    }
}

fn engine() -> Arc<Engine<MemoryStore>> {
    let mut directory = StaticDirectory::default();
    directory.insert(org_a(), acme()).unwrap();
    directory.insert(org_b(), acme()).unwrap();
    Arc::new(Engine::new(MemoryStore::new().with_event_feed(), directory))
}

fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn events_are_posted_signed_in_order_retried_and_marked() {
    let engine = engine();
    let mut endpoints = StaticEndpoints::default();
    endpoints.add(
        org_a(),
        Webhook::new("https://hooks.example.com/in", SECRET).unwrap(),
    );
    let client = Arc::new(Recorder::default());
    client.failing.store(1, Ordering::SeqCst);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let observed = Arc::clone(&seen);
    let deliveries = Deliverer::new(engine.clone(), endpoints, Arc::clone(&client))
        .unwrap()
        .settings(settings())
        .on_delivery(move |delivery| {
            observed.lock().unwrap().push((
                delivery.event_type,
                delivery.attempt,
                delivery.accepted(),
            ));
        })
        .spawn();

    let created = engine
        .create(org_a(), CreateRequest::for_external_id("acme-001"))
        .await
        .unwrap();
    let id = created.record.id;
    engine.revoke(org_a(), &id).await.unwrap();
    // Another organisation's, which has no webhooks: marked delivered, never sent.
    engine
        .create(org_b(), CreateRequest::for_external_id("acme-001"))
        .await
        .unwrap();

    wait_until("two accepted events", || {
        seen.lock().unwrap().iter().filter(|seen| seen.2).count() == 2
    })
    .await;
    deliveries.shutdown().await;

    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("portal_session.created", 1, false),
            ("portal_session.created", 2, true),
            ("portal_session.revoked", 1, true),
        ]
    );
    let posts = client.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 3);
    for (headers, body) in posts.iter() {
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert!(
            headers[header::USER_AGENT]
                .to_str()
                .unwrap()
                .starts_with("portal-sessions-axum/")
        );
        let signature = headers[portal_sessions::webhook::SIGNATURE_HEADER]
            .to_str()
            .unwrap();
        portal_sessions::webhook::verify(
            SECRET,
            signature,
            body,
            unix_now(),
            Duration::from_secs(60),
        )
        .unwrap();
        let text = String::from_utf8_lossy(body);
        assert!(
            text.contains(&id.to_string()) && !text.contains("mgl_"),
            "{text}"
        );
    }
    // Both sessions' events are all marked delivered: nothing is left to claim.
    let left = engine
        .store()
        .event_feed()
        .unwrap()
        .claim(&portal_sessions::Claim {
            claimant: "check".into(),
            now: engine.now(),
            lease: Duration::from_secs(1),
            limit: 10,
        })
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// Fails once, then names the webhook.
#[derive(Default)]
struct Flaky {
    asked: AtomicUsize,
}

#[async_trait]
impl WebhookEndpoints for Flaky {
    async fn webhooks(&self, _org: OrgId) -> Result<Vec<Webhook>, EndpointsError> {
        if self.asked.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(EndpointsError(Box::new(std::io::Error::other(
                "endpoint table unavailable",
            ))));
        }
        Ok(vec![
            Webhook::new("https://hooks.example.com/in", SECRET).unwrap(),
        ])
    }
}

#[tokio::test]
async fn endpoints_that_cannot_be_loaded_are_retried_like_a_failed_post() {
    let engine = engine();
    let client = Arc::new(Recorder::default());
    let flaky = Arc::new(Flaky::default());
    let deliveries = Deliverer::new(engine.clone(), Arc::clone(&flaky), Arc::clone(&client))
        .unwrap()
        .settings(settings())
        .spawn();
    engine
        .create(org_a(), CreateRequest::for_external_id("acme-001"))
        .await
        .unwrap();
    wait_until("the created event", || {
        client.posts.lock().unwrap().len() == 1
    })
    .await;
    deliveries.shutdown().await;
    assert!(flaky.asked.load(Ordering::SeqCst) >= 2);
}

#[test]
fn a_store_without_an_event_feed_is_refused() {
    let engine = Arc::new(Engine::new(MemoryStore::new(), StaticDirectory::default()));
    let refused = Deliverer::new(engine, StaticEndpoints::default(), Recorder::default());
    assert!(matches!(refused, Err(StartError::NoFeed)));
}

/// Log lines, as a subscriber writes them.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_request_log_redacts_links_under_any_mount_and_health_answers() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let engine = engine();
    let portal = Router::new().route("/r/{token}", post(|| async { StatusCode::SEE_OTHER }));
    let app = Router::new()
        .route("/healthz", health_check(engine))
        .route("/", get(|| async { "home" }))
        .nest("/billing", portal)
        .layer(RequestLogLayer::new());
    let token = "mgl_0123456789abcdefABCDEF_secret";
    let request = Request::post(format!("/billing/r/{token}?x=1"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let health = app
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let body = axum::body::to_bytes(health.into_body(), 64).await.unwrap();
    assert_eq!(&body[..], b"ok\n");

    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains(r#"request method=POST path="/billing/r/<link>" status=303 micros="#),
        "{logged}"
    );
    assert!(logged.contains(r#"path="/healthz" status=200"#), "{logged}");
    assert!(
        !logged.contains("mgl_") && !logged.contains("x=1"),
        "{logged}"
    );
}
