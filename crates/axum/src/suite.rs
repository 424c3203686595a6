//! The HTTP contract as reusable async checks: every endpoint, page, cookie and error of
//! `docs/http-api.md`, written once and run by every store, with the router mounted at the root of
//! a host app and nested under `/billing` inside it.
//!
//! **Not a stable API**: it exists for this workspace's tests (the memory store runs it from this
//! crate, PostgreSQL from its own) and for anyone proving their own [`SessionStore`] behind the HTTP
//! layer. Enable the `suite` feature, then:
//!
//! ```ignore
//! portal_sessions_axum::http_tests!(my_store, Some(MyStore::new()), |_| async {});
//! ```
//!
//! Each check builds a host app ([`app`]) with its own state, its own `/healthz`, its own portal
//! page (`/portal/statement`, behind the [`Viewer`] extractor) and the portal router, either merged
//! at the root ([`Mounted::Root`]) or nested under `/billing` ([`Mounted::Nested`]). Every refused
//! request is followed by a check that nothing changed, and every `/v1` response is checked against
//! the OpenAPI document ([`openapi`]).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    missing_docs
)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use http_body_util::BodyExt;
use portal_sessions::{
    CustomerId, CustomerSnapshot, Engine, Feature, ManualClock, OrgId, SessionStore,
    StaticDirectory,
};
use portal_sessions_conformance::fixture::start_time;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    Branding, CustomerBilling, Invoice, PortalService, StaticApiKeys, StaticPortalData, Viewer,
    ViewerCheck,
};

mod customers;
pub use customers::customers_are_listed_paged_and_cut_off;
pub mod openapi;

pub const KEY_A: &str = "mf_sk_test_org_a_0123456789";
pub const PUB_A: &str = "mf_pk_test_org_a_0123456789";
pub const KEY_B: &str = "mf_sk_test_org_b_0123456789";
pub const PUBLIC_URL: &str = "https://billing.example.test";
/// Where [`Mounted::Nested`] puts the portal.
pub const PREFIX: &str = "/billing";

pub fn org_a() -> OrgId {
    OrgId::from_bytes([0xA0; 16])
}
pub fn org_b() -> OrgId {
    OrgId::from_bytes([0xB0; 16])
}
/// A well-formed session id that names no session.
fn fixture_session_id() -> portal_sessions::SessionId {
    portal_sessions::LinkToken::generate()
        .unwrap_or_else(|e| panic!("{e}"))
        .session_id()
}

pub fn acme() -> CustomerSnapshot {
    CustomerSnapshot {
        id: "550e8400-e29b-41d4-a716-446655440000".parse().unwrap(),
        external_id: "acme-001".into(),
        name: "Acme Corp".into(),
        email: Some("billing@acme.test".into()),
    }
}
pub fn plain() -> CustomerSnapshot {
    CustomerSnapshot {
        id: CustomerId::from_bytes([2; 16]),
        external_id: "plain-002".into(),
        name: "Plain Ltd".into(),
        email: None,
    }
}
pub fn umbrella() -> CustomerSnapshot {
    CustomerSnapshot {
        id: CustomerId::from_bytes([3; 16]),
        external_id: "umbrella-003".into(),
        name: "Umbrella".into(),
        email: None,
    }
}

/// Where the host app mounts the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mounted {
    /// Merged into the host router at `/`.
    Root,
    /// Nested under [`PREFIX`].
    Nested,
}

/// The host app's own state: something of its own, and what the [`Viewer`] extractor needs.
#[derive(Clone)]
struct HostState {
    name: &'static str,
    viewers: ViewerCheck,
}

impl FromRef<HostState> for ViewerCheck {
    fn from_ref(state: &HostState) -> ViewerCheck {
        state.viewers.clone()
    }
}

/// The host's own portal page: the viewer's customer and features, or the portal's "session ended".
async fn statement(State(host): State<HostState>, viewer: Viewer) -> String {
    let features: Vec<&str> = viewer.features().iter().map(Feature::as_str).collect();
    format!(
        "{} statement for {} ({}); back to {}",
        host.name,
        viewer.customer().name,
        features.join(","),
        viewer.portal_path()
    )
}

/// A host app around the portal, at the root or under [`PREFIX`].
pub struct App {
    router: Router,
    /// The clock of the engine underneath.
    pub clock: ManualClock,
    /// `""` or [`PREFIX`].
    pub prefix: &'static str,
}

/// The host app over `store`, with a one-hour session lifetime.
pub fn app<S: SessionStore>(store: S, mounted: Mounted) -> App {
    app_with_ttl(store, mounted, Duration::from_secs(3_600))
}

/// The host app over `store`, with sessions that last `ttl`.
pub fn app_with_ttl<S: SessionStore>(store: S, mounted: Mounted, ttl: Duration) -> App {
    let mut directory = StaticDirectory::default();
    for (org, customer) in [(org_a(), acme()), (org_a(), plain()), (org_b(), umbrella())] {
        directory.insert(org, customer).unwrap();
    }
    let clock = ManualClock::new(start_time());
    let engine = Engine::new(store, directory)
        .with_clock(clock.clone())
        .with_ttl(ttl)
        .unwrap();
    let mut keys = StaticApiKeys::default();
    keys.add_secret(KEY_A, org_a());
    keys.add_publishable(PUB_A, org_a());
    keys.add_secret(KEY_B, org_b());
    let mut data = StaticPortalData::default();
    data.set_branding(
        org_a(),
        Branding {
            name: "Demo Co".into(),
            logo_url: None,
            brand_color: Some("#0e7490".into()),
        },
    );
    data.set_billing(
        org_a(),
        acme().id,
        CustomerBilling {
            subscription: None,
            invoices: vec![Invoice {
                number: "INV-2026-0042".into(),
                issued_on: "2026-05-01".into(),
                amount_cents: 4900,
                currency: "USD".into(),
                status: "paid".into(),
            }],
            usage: vec![],
        },
    );
    let portal = PortalService::new(Arc::new(engine), keys, data).public_url(PUBLIC_URL);
    let state = HostState {
        name: "Host",
        viewers: portal.viewer_check(),
    };
    let portal_routes = portal
        .router::<HostState>()
        .route("/portal/statement", get(statement));
    let host = Router::new()
        .route(
            "/",
            get(|State(host): State<HostState>| async move { host.name }),
        )
        .route("/healthz", get(|| async { "host ok" }));
    let (router, prefix) = match mounted {
        Mounted::Root => (host.merge(portal_routes), ""),
        Mounted::Nested => (host.nest(PREFIX, portal_routes), PREFIX),
    };
    App {
        router: router.with_state(state),
        clock,
        prefix,
    }
}

impl App {
    /// An app around a router of the caller's, mounted at the root.
    pub fn from_router(router: Router, clock: ManualClock) -> App {
        App {
            router,
            clock,
            prefix: "",
        }
    }

    /// `route` under the portal's mount: `/billing/portal`.
    pub fn mounted(&self, route: &str) -> String {
        format!("{}{route}", self.prefix)
    }

    /// The path of a link URL relative to the mount, for [`page`](Self::page).
    pub fn path_of(&self, url: &str) -> String {
        let path = url.strip_prefix(PUBLIC_URL).unwrap();
        path.strip_prefix(self.prefix).unwrap().to_owned()
    }

    /// The viewer cookie's name: the public URL is https, so `__Host-` at the root and `__Secure-`
    /// under a prefix.
    pub fn cookie_name(&self) -> &'static str {
        if self.prefix.is_empty() {
            "__Host-portal_session"
        } else {
            "__Secure-portal_session"
        }
    }

    /// The viewer cookie's `Path`.
    pub fn cookie_path(&self) -> &'static str {
        if self.prefix.is_empty() {
            "/"
        } else {
            self.prefix
        }
    }
}

/// A response, read whole.
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: axum::http::HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error.type` of an error body.
    pub fn error_type(&self) -> String {
        self.json()["error"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A response header, or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

impl App {
    /// Sends a request whose path is relative to the portal's mount.
    pub async fn send(&self, mut request: Request<Body>) -> Reply {
        let uri = format!("{}{}", self.prefix, request.uri());
        *request.uri_mut() = uri.parse().unwrap();
        self.send_unmounted(request).await
    }

    /// Sends a request to the host app as it is. An answer of the portal's `/v1` must match the
    /// OpenAPI document ([`openapi`]): a mismatch panics.
    pub async fn send_unmounted(&self, request: Request<Body>) -> Reply {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(error) => match error {},
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = match response.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => panic!("{error}"),
        };
        let reply = Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        let route = path.strip_prefix(self.prefix).unwrap_or_default();
        if route == "/v1" || route.starts_with("/v1/") {
            if let Err(failure) = openapi::contract().check(method.as_str(), route, &reply) {
                panic!("{failure}");
            }
        }
        reply
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap_or_default()).await
    }

    pub async fn create(&self, body: Value) -> Value {
        let reply = self
            .call("POST", "/v1/portal-sessions", Some(KEY_A), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.json()
    }

    /// Every session of org A, whatever its state: what "nothing changed" is checked against.
    pub async fn everything(&self) -> Vec<Value> {
        let reply = self
            .call(
                "GET",
                "/v1/portal-sessions?includeExpired=true&limit=100",
                Some(KEY_A),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.json().as_array().cloned().unwrap_or_default()
    }

    /// Redeems a created session's link as a browser would; returns the `name=value` of its cookie.
    pub async fn redeem(&self, created: &Value) -> String {
        let link = self.path_of(created["url"].as_str().unwrap_or_default());
        let redeemed = self.page("POST", &link, None).await;
        assert_eq!(redeemed.status, StatusCode::SEE_OTHER, "{}", redeemed.body);
        redeemed
            .header("set-cookie")
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn page(&self, method: &str, uri: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap_or_default())
            .await
    }
}

fn is_timestamp(value: &Value) -> bool {
    value
        .as_str()
        .and_then(portal_sessions::Timestamp::parse_rfc3339)
        .is_some()
}

pub async fn authentication<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    for (key, message) in [
        (None, "missing"),
        (Some("mf_sk_nope"), "invalid"),
        (Some(PUB_A), "publishable"),
    ] {
        let reply = app.call("GET", "/v1/portal-sessions", key, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(reply.error_type(), "authentication_error");
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message)
        );
        if let Some(key) = key {
            assert!(!reply.body.contains(key), "an error echoed the key");
        }
    }
    let reply = app
        .call(
            "POST",
            "/v1/portal-sessions",
            Some(PUB_A),
            Some(json!({"customerExternalId": "acme-001"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let bearer = Request::builder()
        .uri("/v1/portal-sessions")
        .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
        .body(Body::empty())
        .unwrap_or_default();
    assert_eq!(app.send(bearer).await.status, StatusCode::OK);
    let lower = Request::builder()
        .uri("/v1/portal-sessions")
        .header(header::AUTHORIZATION, format!("bearer {KEY_A}"))
        .body(Body::empty())
        .unwrap_or_default();
    assert_eq!(app.send(lower).await.status, StatusCode::OK);
    let basic = Request::builder()
        .uri("/v1/portal-sessions")
        .header(header::AUTHORIZATION, format!("Basic {KEY_A}"))
        .body(Body::empty())
        .unwrap_or_default();
    assert_eq!(app.send(basic).await.status, StatusCode::UNAUTHORIZED);
    assert!(
        app.everything().await.is_empty(),
        "refused requests created nothing"
    );
}

pub async fn create_returns_the_contract_shape<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app
        .create(json!({"customerExternalId": "acme-001", "returnUrl": "https://your-app.test/billing", "unknown": 1}))
        .await;
    let token = created["token"].as_str().unwrap_or_default();
    assert!(token.starts_with("mgl_"));
    assert_eq!(
        created["url"],
        json!(format!("{PUBLIC_URL}{}/r/{token}", app.prefix))
    );
    assert!(
        created["id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ps_")
    );
    assert_eq!(created["object"], "portal_session");
    assert_eq!(created["customerId"], json!(acme().id.to_string()));
    assert_eq!(created["customerName"], "Acme Corp");
    assert_eq!(created["customerEmail"], "billing@acme.test");
    assert_eq!(created["returnUrl"], "https://your-app.test/billing");
    assert_eq!(
        created["features"],
        json!(["invoices", "subscriptions", "usage", "profile"])
    );
    assert_eq!(created["createdAt"], json!("2026-05-13T16:30:00.000Z"));
    assert_eq!(created["expiresAt"], json!("2026-05-13T17:30:00.000Z"));

    let by_id = app
        .create(json!({"customerId": plain().id.to_string(), "features": ["usage", "invoices", "usage"]}))
        .await;
    assert_eq!(by_id["customerEmail"], Value::Null);
    assert_eq!(by_id["returnUrl"], Value::Null);
    assert_eq!(by_id["features"], json!(["invoices", "usage"]));
    let both = app
        .create(json!({"customerId": acme().id.to_string(), "customerExternalId": "acme-001"}))
        .await;
    assert_eq!(both["customerName"], "Acme Corp");
}

pub async fn create_refuses_bad_input_and_changes_nothing<S: SessionStore>(
    store: S,
    mounted: Mounted,
) {
    let app = app(store, mounted);
    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "invalid_request"),
        (
            json!({"returnUrl": "https://x.test"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (json!([]), StatusCode::BAD_REQUEST, "invalid_request"),
        (
            json!("acme-001"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "x".repeat(256)}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": 42}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerId": "not-a-uuid"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "features": ["billing"]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "features": "usage"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "returnUrl": "javascript:alert(1)"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "returnUrl": format!("https://a.test/{}", "x".repeat(2048))}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerId": acme().id.to_string(), "customerExternalId": "plain-002"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "umbrella-003"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"customerId": umbrella().id.to_string()}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"customerExternalId": "nobody"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (body, status, kind) in cases {
        let reply = app
            .call(
                "POST",
                "/v1/portal-sessions",
                Some(KEY_A),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (reply.status, reply.error_type().as_str()),
            (status, kind),
            "{body}: {}",
            reply.body
        );
        assert!(
            !reply.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
    }
    let raw = |content_type: &str, body: Vec<u8>| {
        Request::builder()
            .method("POST")
            .uri("/v1/portal-sessions")
            .header("x-api-key", KEY_A)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap_or_default()
    };
    let oversized = format!(
        "{{\"customerExternalId\":\"acme-001\",\"pad\":\"{}\"}}",
        "x".repeat(70_000)
    );
    for request in [
        raw("application/json", b"{not json".to_vec()),
        raw("application/json", vec![0xFF, 0xFE, b'{', b'}']),
        raw("application/json", oversized.into_bytes()),
        raw(
            "text/plain",
            br#"{"customerExternalId":"acme-001"}"#.to_vec(),
        ),
        raw(
            "application/x-www-form-urlencoded",
            b"customerExternalId=acme-001".to_vec(),
        ),
    ] {
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.error_type(), "invalid_request");
    }
    assert!(
        app.everything().await.is_empty(),
        "a refused create stored a session"
    );
}

pub async fn list_get_and_revoke<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let mut ids = Vec::new();
    for i in 0..4 {
        let customer = if i % 2 == 0 { "acme-001" } else { "plain-002" };
        ids.push(app.create(json!({"customerExternalId": customer})).await["id"].clone());
        app.clock.advance(Duration::from_millis(1_000));
    }
    let other = {
        let reply = app
            .call(
                "POST",
                "/v1/portal-sessions",
                Some(KEY_B),
                Some(json!({"customerExternalId": "umbrella-003"})),
            )
            .await;
        reply.json()["id"].as_str().unwrap_or_default().to_owned()
    };
    let listed = app
        .call("GET", "/v1/portal-sessions", Some(KEY_A), None)
        .await
        .json();
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(
        listed.iter().map(|s| s["id"].clone()).collect::<Vec<_>>(),
        ids.iter().rev().cloned().collect::<Vec<_>>()
    );
    for item in &listed {
        assert!(
            item.get("token").is_none() && item.get("url").is_none(),
            "a list leaked a token"
        );
        for field in ["expiresAt", "createdAt"] {
            assert!(is_timestamp(&item[field]), "{field}: {item}");
        }
        assert_eq!(
            (
                item["isUsed"].clone(),
                item["isExpired"].clone(),
                item["isRevoked"].clone()
            ),
            (json!(false), json!(false), json!(false))
        );
        assert_eq!(
            (item["usedAt"].clone(), item["revokedAt"].clone()),
            (Value::Null, Value::Null)
        );
    }
    let limited = app
        .call("GET", "/v1/portal-sessions?limit=2", Some(KEY_A), None)
        .await
        .json();
    assert_eq!(limited.as_array().map(Vec::len), Some(2));
    let filtered = app
        .call(
            "GET",
            &format!("/v1/portal-sessions?customerId={}", plain().id),
            Some(KEY_A),
            None,
        )
        .await
        .json();
    assert_eq!(filtered.as_array().map(Vec::len), Some(2));
    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-5",
        "includeExpired=maybe",
        "customerId=123",
        "limit=2&limit=3",
    ] {
        let reply = app
            .call(
                "GET",
                &format!("/v1/portal-sessions?{bad}"),
                Some(KEY_A),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.error_type(), "invalid_request");
    }

    let first = ids[0].as_str().unwrap_or_default();
    let got = app
        .call(
            "GET",
            &format!("/v1/portal-sessions/{first}"),
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["id"], ids[0]);
    assert!(got.json().get("token").is_none());
    for (id, key) in [
        ("ps_doesnotexist0000000000", KEY_A),
        ("nonsense", KEY_A),
        (other.as_str(), KEY_A),
        (first, KEY_B),
    ] {
        for method in ["GET", "DELETE"] {
            let reply = app
                .call(
                    method,
                    &format!("/v1/portal-sessions/{id}"),
                    Some(key),
                    None,
                )
                .await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {id}");
            assert_eq!(reply.error_type(), "not_found");
        }
    }
    for _ in 0..2 {
        let reply = app
            .call(
                "DELETE",
                &format!("/v1/portal-sessions/{first}"),
                Some(KEY_A),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply.body.is_empty());
    }
    let revoked = app
        .call(
            "GET",
            &format!("/v1/portal-sessions/{first}"),
            Some(KEY_A),
            None,
        )
        .await
        .json();
    assert_eq!(revoked["isRevoked"], json!(true));
    assert!(is_timestamp(&revoked["revokedAt"]));
    let open = app
        .call("GET", "/v1/portal-sessions", Some(KEY_A), None)
        .await
        .json();
    assert_eq!(
        open.as_array().map(Vec::len),
        Some(3),
        "a revoked session is not open"
    );
    assert_eq!(
        app.everything().await.len(),
        4,
        "includeExpired lists revoked sessions"
    );
}

pub async fn links_and_the_portal<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app.create(json!({"customerExternalId": "acme-001"})).await;
    let link = app.path_of(created["url"].as_str().unwrap_or_default());

    for _ in 0..3 {
        let shown = app.page("GET", &link, None).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains("method=\"post\"") && shown.body.contains("<button"));
        assert_eq!(shown.header("cache-control"), "no-store");
        assert_eq!(shown.header("referrer-policy"), "no-referrer");
        let head = app.page("HEAD", &link, None).await;
        assert_eq!(head.status, StatusCode::OK);
    }
    let redeemed = app.page("POST", &link, None).await;
    assert_eq!(redeemed.status, StatusCode::SEE_OTHER, "{}", redeemed.body);
    assert_eq!(redeemed.header("location"), app.mounted("/portal"));
    let cookie = redeemed.header("set-cookie").to_owned();
    for part in [
        format!("{}=mgv_", app.cookie_name()),
        "HttpOnly".into(),
        "SameSite=Lax".into(),
        format!("Path={};", app.cookie_path()),
        "Secure".into(),
        "Max-Age=3600".into(),
    ] {
        assert!(cookie.contains(&part), "{part} missing from {cookie}");
    }
    let cookie = cookie.split(';').next().unwrap_or_default().to_owned();

    let again = app.page("POST", &link, None).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("already used"));
    assert!(
        app.page("GET", &link, None)
            .await
            .body
            .contains("already used")
    );

    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(portal.status, StatusCode::OK);
    for text in [
        "Acme Corp",
        "INV-2026-0042",
        "$49.00",
        "Demo Co",
        "#0e7490",
        "Subscription",
        "Usage",
        "Profile",
        "billing@acme.test",
    ] {
        assert!(portal.body.contains(text), "{text} missing from the portal");
    }
    assert_eq!(portal.header("cache-control"), "no-store");
    let used = app
        .call(
            "GET",
            &format!(
                "/v1/portal-sessions/{}",
                created["id"].as_str().unwrap_or_default()
            ),
            Some(KEY_A),
            None,
        )
        .await
        .json();
    assert_eq!(used["isUsed"], json!(true));
    assert!(is_timestamp(&used["usedAt"]));

    for bad_cookie in [
        None,
        Some(format!("{}=garbage", app.cookie_name())),
        Some(format!(
            "{}=mgv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            app.cookie_name()
        )),
    ] {
        let reply = app.page("GET", "/portal", bad_cookie.as_deref()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.body.contains("Session ended") && !reply.body.contains("Acme Corp"));
    }

    let id = created["id"].as_str().unwrap_or_default();
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/v1/portal-sessions/{id}"),
            Some(KEY_A),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let ended = app.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    assert!(ended.body.contains("Session ended") && !ended.body.contains("INV-2026-0042"));

    for (path, status, text) in [
        ("/r/mgl_short", StatusCode::NOT_FOUND, "Invalid link"),
        ("/r/nonsense", StatusCode::NOT_FOUND, "Invalid link"),
        (
            &format!(
                "/r/{}",
                portal_sessions_conformance::fixture::new_link().expose_secret()
            ),
            StatusCode::NOT_FOUND,
            "Invalid link",
        ),
    ] {
        for method in ["GET", "POST"] {
            let reply = app.page(method, path, None).await;
            assert_eq!(reply.status, status, "{method} {path}");
            assert!(reply.body.contains(text));
        }
    }
    let revoked_link = app.create(json!({"customerExternalId": "acme-001"})).await;
    let revoked_id = revoked_link["id"].as_str().unwrap_or_default();
    app.call(
        "DELETE",
        &format!("/v1/portal-sessions/{revoked_id}"),
        Some(KEY_A),
        None,
    )
    .await;
    let reply = app
        .page(
            "POST",
            &app.path_of(revoked_link["url"].as_str().unwrap_or_default()),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert!(reply.body.contains("revoked"));
}

pub async fn expiry_and_logout<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let expiring = app.create(json!({"customerExternalId": "acme-001"})).await;
    let opened = app.create(json!({"customerExternalId": "acme-001"})).await;
    let cookie = app.redeem(&opened).await;
    assert_eq!(
        app.page("GET", "/portal", Some(&cookie)).await.status,
        StatusCode::OK
    );

    app.clock.advance(Duration::from_secs(3_600));
    let link = app
        .page(
            "GET",
            &app.path_of(expiring["url"].as_str().unwrap_or_default()),
            None,
        )
        .await;
    assert_eq!(link.status, StatusCode::GONE);
    assert!(link.body.contains("expired"));
    assert_eq!(
        app.page("GET", "/portal", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let listed = app
        .call("GET", "/v1/portal-sessions", Some(KEY_A), None)
        .await
        .json();
    assert_eq!(listed, json!([]));
    let all = app.everything().await;
    assert!(all.iter().all(|s| s["isExpired"] == json!(true)));

    let fresh = app.create(json!({"customerExternalId": "acme-001"})).await;
    let cookie = app.redeem(&fresh).await;
    let out = app.page("POST", "/portal/logout", Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(
        app.page("GET", "/portal", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let health = Request::builder()
        .uri("/healthz")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send_unmounted(health).await.body,
        "host ok",
        "/healthz is the host's, wherever the portal is mounted"
    );
}

/// Every store record of both organisations: what "the store did not change" compares.
async fn snapshot<S: SessionStore>(store: &S) -> Vec<portal_sessions::SessionRecord> {
    let mut all = Vec::new();
    for org in [org_a(), org_b()] {
        let query = portal_sessions::ListQuery {
            max_lifetime: portal_sessions::MAX_TTL,
            org_id: org,
            customer_id: None,
            limit: 1_000,
            filter: portal_sessions::ListFilter::All,
            after: None,
        };
        all.extend(store.list(&query).await.unwrap_or_else(|e| panic!("{e}")));
    }
    all
}

/// Every malformed input we can name, each with its answer, and the store unchanged after each.
/// Request headers of a sweep case, owned.
type Headers = Vec<(&'static str, Vec<u8>)>;

fn h(headers: &[(&'static str, &[u8])]) -> Headers {
    headers
        .iter()
        .map(|(name, value)| (*name, value.to_vec()))
        .collect()
}

pub async fn bad_input_sweep<S: SessionStore + Clone>(store: S, mounted: Mounted) {
    let app = app(store.clone(), mounted);
    let mine = app.create(json!({"customerExternalId": "acme-001"})).await;
    let theirs = app
        .call(
            "POST",
            "/v1/portal-sessions",
            Some(KEY_B),
            Some(json!({"customerExternalId": "umbrella-003"})),
        )
        .await
        .json();
    let token = mine["token"].as_str().unwrap_or_default().to_owned();
    let my_id = mine["id"].as_str().unwrap_or_default().to_owned();
    let their_id = theirs["id"].as_str().unwrap_or_default().to_owned();
    let before = snapshot(&store).await;
    assert_eq!(before.len(), 2);

    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap_or_default();
    let json_type = h(&[
        ("content-type", b"application/json"),
        ("x-api-key", KEY_A.as_bytes()),
    ]);
    let key_only = h(&[("x-api-key", KEY_A.as_bytes())]);
    let none: Headers = Vec::new();
    let long_name = format!(r#"{{"customerExternalId":"{}"}}"#, "x".repeat(10_000));
    let huge_body = format!(
        r#"{{"customerExternalId":"acme-001","pad":"{}"}}"#,
        "x".repeat(100_000)
    );
    let nested = "[".repeat(300);
    let overlong_key = format!("mf_sk_{}", "a".repeat(10_000));
    let their_customer = theirs["customerId"].as_str().unwrap_or_default().to_owned();
    let acme_id = acme().id.to_string();
    let mut cases: Vec<(&str, String, Headers, Vec<u8>, u16)> = Vec::new();
    // Create parameters of the second round, each bad value alone and beside
    // `invalidateExisting: true`, which must not revoke anything when the request is refused.
    for bad in [
        json!({"locale": "pt"}),
        json!({"locale": "fr_CA"}),
        json!({"locale": "fr-"}),
        json!({"locale": ""}),
        json!({"locale": "en-US-x-private"}),
        json!({"locale": 5}),
        json!({"locale": ["fr"]}),
        json!({"expiresInSeconds": 59}),
        json!({"expiresInSeconds": 0}),
        json!({"expiresInSeconds": -60}),
        json!({"expiresInSeconds": 3_601}),
        json!({"expiresInSeconds": 600.5}),
        json!({"expiresInSeconds": "600"}),
        json!({"expiresInSeconds": true}),
        json!({"expiresInSeconds": u64::MAX}),
        json!({"invalidateExisting": "true"}),
        json!({"invalidateExisting": 1}),
        json!({"invalidateExisting": {}}),
    ] {
        for invalidate in [false, true] {
            let mut body = json!({"customerExternalId": "acme-001"});
            if invalidate {
                body["invalidateExisting"] = json!(true);
            }
            for (key, value) in bad.as_object().into_iter().flatten() {
                body[key] = value.clone();
            }
            cases.push((
                "POST",
                "/v1/portal-sessions".into(),
                json_type.clone(),
                body.to_string().into_bytes(),
                400,
            ));
        }
    }
    cases.push((
        "POST",
        "/v1/portal-sessions".into(),
        json_type.clone(),
        br#"{"customerExternalId":"acme-001","expiresInSeconds":1e400,"invalidateExisting":true}"#
            .to_vec(),
        400,
    ));
    cases.push((
        "POST",
        "/v1/portal-sessions".into(),
        json_type.clone(),
        br#"{"customerExternalId":"nobody-404","invalidateExisting":true}"#.to_vec(),
        404,
    ));
    // List parameters of the second round.
    for (query, status) in [
        ("status=open".to_owned(), 400),
        ("status=".to_owned(), 400),
        ("status=USED".to_owned(), 400),
        ("status=used&status=revoked".to_owned(), 400),
        ("status=used%00".to_owned(), 400),
        ("startingAfter=nope".to_owned(), 400),
        ("startingAfter=".to_owned(), 400),
        ("startingAfter=ps_AAAAAAAAAAAAAAAAAAAAA".to_owned(), 400),
        (format!("startingAfter={their_id}"), 400),
        (format!("startingAfter={}", fixture_session_id()), 400),
        (format!("startingAfter={my_id}&startingAfter={my_id}"), 400),
        ("customerExternalId=".to_owned(), 400),
        ("customerExternalId=a%00b".to_owned(), 400),
        (format!("customerExternalId={}", "x".repeat(256)), 400),
        (
            format!("customerId={acme_id}&customerExternalId=acme-001"),
            400,
        ),
        (
            "customerExternalId=acme-001&customerExternalId=acme-001".to_owned(),
            400,
        ),
        ("customerExternalId=nobody-404".to_owned(), 404),
        ("customerExternalId=umbrella-003".to_owned(), 404),
    ] {
        cases.push((
            "GET",
            format!("/v1/portal-sessions?{query}"),
            key_only.clone(),
            Vec::new(),
            status,
        ));
    }
    // Customer-wide revocation: every refusal revokes nothing.
    for (query, headers, status) in [
        (String::new(), key_only.clone(), 400),
        ("limit=5".to_owned(), key_only.clone(), 400),
        ("customerId=nope".to_owned(), key_only.clone(), 400),
        ("customerId=".to_owned(), key_only.clone(), 400),
        ("customerExternalId=".to_owned(), key_only.clone(), 400),
        ("customerExternalId=a%00b".to_owned(), key_only.clone(), 400),
        ("customerExternalId=%FF".to_owned(), key_only.clone(), 400),
        (
            format!("customerId={acme_id}&customerExternalId=acme-001"),
            key_only.clone(),
            400,
        ),
        (
            format!("customerId={acme_id}&customerId={acme_id}"),
            key_only.clone(),
            400,
        ),
        (
            "customerExternalId=nobody-404".to_owned(),
            key_only.clone(),
            404,
        ),
        (
            "customerExternalId=umbrella-003".to_owned(),
            key_only.clone(),
            404,
        ),
        (
            format!("customerId={their_customer}"),
            key_only.clone(),
            404,
        ),
        (
            "customerId=6f1c1f9e-0000-4000-8000-00000000beef".to_owned(),
            key_only.clone(),
            404,
        ),
        ("customerExternalId=acme-001".to_owned(), none.clone(), 401),
        (
            "customerExternalId=acme-001".to_owned(),
            h(&[("x-api-key", PUB_A.as_bytes())]),
            401,
        ),
        (
            "customerExternalId=acme-001".to_owned(),
            h(&[("x-api-key", KEY_B.as_bytes())]),
            404,
        ),
    ] {
        cases.push((
            "DELETE",
            format!("/v1/portal-sessions?{query}"),
            headers,
            Vec::new(),
            status,
        ));
    }
    cases.extend([
        // Bodies.
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            long_name.into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            huge_body.into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            br#"{"customerExternalId":"a\u0000b"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            br#"{"customerExternalId":"acme-001","returnUrl":"https://a.test/\u0000"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            b"{\"customerExternalId\":\"\xff\xfe\"}".to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            br#"{"customerId":1e400}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            br#"{"customerId":99999999999999999999999}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            br#"{"customerExternalId":"acme-001","features":[1]}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            nested.into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            Vec::new(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            b"null".to_vec(),
            400,
        ),
        // Content types.
        (
            "POST",
            "/v1/portal-sessions".into(),
            key_only.clone(),
            br#"{"customerExternalId":"acme-001"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            h(&[
                ("content-type", b"application/jsonx"),
                ("x-api-key", KEY_A.as_bytes()),
            ]),
            br#"{"customerExternalId":"acme-001"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/portal-sessions".into(),
            h(&[
                ("content-type", b"multipart/form-data"),
                ("x-api-key", KEY_A.as_bytes()),
            ]),
            br#"{"customerExternalId":"acme-001"}"#.to_vec(),
            400,
        ),
        // Methods.
        (
            "PUT",
            "/v1/portal-sessions".into(),
            json_type.clone(),
            br#"{"customerExternalId":"acme-001"}"#.to_vec(),
            405,
        ),
        (
            "PATCH",
            "/v1/portal-sessions".into(),
            key_only.clone(),
            Vec::new(),
            405,
        ),
        (
            "PATCH",
            format!("/v1/portal-sessions/{my_id}"),
            key_only.clone(),
            Vec::new(),
            405,
        ),
        (
            "POST",
            format!("/v1/portal-sessions/{my_id}"),
            key_only.clone(),
            Vec::new(),
            405,
        ),
        ("PUT", format!("/r/{token}"), none.clone(), Vec::new(), 405),
        ("DELETE", "/portal".into(), none.clone(), Vec::new(), 405),
        (
            "GET",
            "/portal/logout".into(),
            none.clone(),
            Vec::new(),
            405,
        ),
        // Query strings.
        (
            "GET",
            "/v1/portal-sessions?limit=-1".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?limit=0".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?limit=101".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?limit=18446744073709551616".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?limit=1.5".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?limit=%00".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?includeExpired=1".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?includeExpired=true&includeExpired=false".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            format!(
                "/v1/portal-sessions?customerId={}&customerId={}",
                acme().id,
                acme().id
            ),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        (
            "GET",
            "/v1/portal-sessions?customerId=%FF".into(),
            key_only.clone(),
            Vec::new(),
            400,
        ),
        // Keys.
        (
            "GET",
            "/v1/portal-sessions".into(),
            h(&[("x-api-key", b"mf_sk_\xff\xfe")]),
            Vec::new(),
            401,
        ),
        (
            "GET",
            "/v1/portal-sessions".into(),
            h(&[("x-api-key", overlong_key.as_bytes())]),
            Vec::new(),
            401,
        ),
        (
            "GET",
            "/v1/portal-sessions".into(),
            h(&[("authorization", b"Bearer")]),
            Vec::new(),
            401,
        ),
        (
            "DELETE",
            format!("/v1/portal-sessions/{my_id}"),
            h(&[("x-api-key", PUB_A.as_bytes())]),
            Vec::new(),
            401,
        ),
        // Ids.
        (
            "GET",
            format!("/v1/portal-sessions/{their_id}"),
            key_only.clone(),
            Vec::new(),
            404,
        ),
        (
            "DELETE",
            format!("/v1/portal-sessions/{their_id}"),
            key_only.clone(),
            Vec::new(),
            404,
        ),
        (
            "DELETE",
            "/v1/portal-sessions/%FF".into(),
            key_only.clone(),
            Vec::new(),
            404,
        ),
        (
            "DELETE",
            "/v1/portal-sessions/ps_%00".into(),
            key_only.clone(),
            Vec::new(),
            404,
        ),
        (
            "DELETE",
            format!("/v1/portal-sessions/ps_{}", "A".repeat(5_000)),
            key_only.clone(),
            Vec::new(),
            404,
        ),
        (
            "DELETE",
            format!("/v1/portal-sessions/{}", my_id.to_uppercase()),
            key_only.clone(),
            Vec::new(),
            404,
        ),
        // Tokens.
        (
            "POST",
            format!("/r/mgl_{}", "A".repeat(69)),
            none.clone(),
            Vec::new(),
            404,
        ),
        (
            "POST",
            format!("/r/mgl_{}", "A".repeat(71)),
            none.clone(),
            Vec::new(),
            404,
        ),
        (
            "POST",
            format!("/r/mgl_{}", "!".repeat(70)),
            none.clone(),
            Vec::new(),
            404,
        ),
        (
            "POST",
            format!("/r/{flipped}"),
            none.clone(),
            Vec::new(),
            404,
        ),
        (
            "POST",
            format!("/r/MGL_{}", &token[4..]),
            none.clone(),
            Vec::new(),
            404,
        ),
        (
            "POST",
            format!("/r/mgv_{}", &token[4..]),
            none.clone(),
            Vec::new(),
            404,
        ),
        ("POST", "/r/%FF%FE".into(), none.clone(), Vec::new(), 404),
        ("POST", "/r/mgl_%00".into(), none.clone(), Vec::new(), 404),
        (
            "GET",
            format!("/r/{}", "x".repeat(5_000)),
            none.clone(),
            Vec::new(),
            404,
        ),
        // Cookies.
        (
            "GET",
            "/portal".into(),
            h(&[("cookie", b"__Host-portal_session=\xff\xfe")]),
            Vec::new(),
            401,
        ),
        (
            "GET",
            "/portal".into(),
            h(&[(
                "cookie",
                format!("__Host-portal_session={token}").as_bytes(),
            )]),
            Vec::new(),
            401,
        ),
        (
            "POST",
            "/portal/logout".into(),
            h(&[("cookie", b"__Host-portal_session=mgv_nope")]),
            Vec::new(),
            200,
        ),
    ]);
    for (method, uri, headers, body, status) in cases {
        let mut request = Request::builder().method(method).uri(&uri);
        for (name, value) in &headers {
            request = request.header(
                *name,
                axum::http::HeaderValue::from_bytes(value).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        let request = request
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        let reply = app.send(request).await;
        let shown: String = uri.chars().take(80).collect();
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {shown}: {}",
            reply.body.chars().take(200).collect::<String>()
        );
        if reply.status.as_u16() != 405 && uri.starts_with("/v1") {
            assert!(
                !reply.error_type().is_empty(),
                "{method} {shown}: not the error shape"
            );
            assert!(
                !reply.body.contains(KEY_A) && !reply.body.contains(&token),
                "{method} {shown} echoed a secret"
            );
        }
        assert_eq!(
            snapshot(&store).await,
            before,
            "{method} {shown} changed the store"
        );
    }
}

/// The GET request of a page, with a cookie.
fn get_with_cookie(uri: &str, cookie: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// Links, redirects, forms and cookies carry the mount; the router adds no route of its own outside
/// its paths; `/v1` answers are never cached.
pub async fn mounting_and_caching<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app
        .call(
            "POST",
            "/v1/portal-sessions",
            Some(KEY_A),
            Some(json!({"customerExternalId": "acme-001"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("cache-control"), "no-store");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    for (method, uri, key) in [
        ("GET", "/v1/portal-sessions".to_owned(), Some(KEY_A)),
        ("GET", format!("/v1/portal-sessions/{id}"), Some(KEY_A)),
        ("GET", "/v1/portal-sessions".to_owned(), None),
        ("GET", "/v1/portal-sessions?limit=0".to_owned(), Some(KEY_A)),
    ] {
        let reply = app.call(method, &uri, key, None).await;
        assert_eq!(reply.header("cache-control"), "no-store", "{method} {uri}");
    }
    let url = created.json()["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{PUBLIC_URL}{}/r/mgl_", app.prefix)),
        "{url}"
    );

    let link = app.path_of(&url);
    let shown = app.page("GET", &link, None).await;
    assert!(
        !shown.body.contains(" action="),
        "the interstitial posts to its own URL, whatever the mount"
    );
    let redeemed = app.page("POST", &link, None).await;
    assert_eq!(redeemed.header("location"), app.mounted("/portal"));
    let set_cookie = redeemed.header("set-cookie");
    assert!(
        set_cookie.starts_with(&format!("{}=mgv_", app.cookie_name()))
            && set_cookie.contains(&format!("; Path={};", app.cookie_path())),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(
        portal
            .body
            .contains(&format!("action=\"{}\"", app.mounted("/portal/logout"))),
        "the sign-out form posts under the mount"
    );
    let out = app.page("POST", "/portal/logout", Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK);
    let cleared = out.header("set-cookie");
    assert!(
        cleared.starts_with(&format!("{}=;", app.cookie_name()))
            && cleared.contains(&format!("Path={};", app.cookie_path()))
            && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // The host's own routes, beside the portal's: the portal registers no /healthz.
    let root = Request::builder().uri("/").body(Body::empty()).unwrap();
    assert_eq!(app.send_unmounted(root).await.body, "Host");
    let health = Request::builder()
        .uri("/healthz")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send_unmounted(health).await.body, "host ok");
    if !app.prefix.is_empty() {
        let nested_health = app.page("GET", "/healthz", None).await;
        assert_eq!(nested_health.status, StatusCode::NOT_FOUND);
    }
}

/// The portal shows the session's features only; the return URL is shown and returned; the host's
/// own page behind [`Viewer`] sees the session, and gets "session ended" once it is revoked.
pub async fn features_return_url_and_host_pages<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let back = "https://app.example.test/account?tab=billing";
    let created = app
        .create(
            json!({"customerExternalId": "acme-001", "features": ["invoices"], "returnUrl": back}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let item = app
        .call(
            "GET",
            &format!("/v1/portal-sessions/{id}"),
            Some(KEY_A),
            None,
        )
        .await
        .json();
    assert_eq!(item["returnUrl"], back);
    let listed = app
        .call("GET", "/v1/portal-sessions", Some(KEY_A), None)
        .await
        .json();
    assert_eq!(listed[0]["returnUrl"], back);

    let cookie = app.redeem(&created).await;
    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(portal.body.contains("id=\"invoices\"") && portal.body.contains("INV-2026-0042"));
    for hidden in [
        "id=\"subscription\"",
        "id=\"usage\"",
        "id=\"profile\"",
        "billing@acme.test",
    ] {
        assert!(
            !portal.body.contains(hidden),
            "{hidden} shown without its feature"
        );
    }
    let back_link = format!(
        "<a href=\"{}\" rel=\"noreferrer\">Back to Demo Co</a>",
        back.replace('&', "&amp;")
    );
    assert!(
        portal.body.contains(&back_link),
        "no way back on the portal"
    );

    let statement = app
        .send(get_with_cookie("/portal/statement", &cookie))
        .await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    assert_eq!(
        statement.body,
        format!(
            "Host statement for Acme Corp (invoices); back to {}",
            app.mounted("/portal")
        )
    );

    let everything = app.create(json!({"customerExternalId": "acme-001"})).await;
    let all_cookie = app.redeem(&everything).await;
    let full = app.page("GET", "/portal", Some(&all_cookie)).await;
    for section in [
        "id=\"subscription\"",
        "id=\"invoices\"",
        "id=\"usage\"",
        "id=\"profile\"",
    ] {
        assert!(full.body.contains(section), "{section} missing by default");
    }
    assert!(!full.body.contains("Back to"), "no return URL, no way back");
    let signed_out = app.page("POST", "/portal/logout", Some(&all_cookie)).await;
    assert!(signed_out.body.contains("Signed out") && signed_out.body.contains("Demo Co"));

    app.call(
        "DELETE",
        &format!("/v1/portal-sessions/{id}"),
        Some(KEY_A),
        None,
    )
    .await;
    for path in ["/portal", "/portal/statement"] {
        let ended = app.send(get_with_cookie(path, &cookie)).await;
        assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            ended.body.contains("Session ended"),
            "{path}: {}",
            ended.body
        );
        assert!(
            ended.body.contains("Demo Co") && ended.body.contains("#0e7490"),
            "{path}: unbranded"
        );
        assert!(ended.body.contains(&back_link), "{path}: no way back");
        assert!(
            !ended.body.contains("Acme Corp"),
            "{path} showed the customer"
        );
        assert_eq!(ended.header("cache-control"), "no-store", "{path}");
        assert!(ended.header("set-cookie").contains("Max-Age=0"), "{path}");
    }
    let no_cookie = app.page("GET", "/portal/statement", None).await;
    assert_eq!(no_cookie.status, StatusCode::UNAUTHORIZED);
    assert!(
        !no_cookie.body.contains("Demo Co"),
        "a page without a session knows no org"
    );
}

/// Pages about a genuine link or session carry its organisation's branding; pages about a link
/// nobody minted do not.
pub async fn message_pages_are_branded<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let used = app.create(json!({"customerExternalId": "acme-001"})).await;
    app.redeem(&used).await;
    let revoked = app.create(json!({"customerExternalId": "acme-001"})).await;
    let revoked_id = revoked["id"].as_str().unwrap();
    app.call(
        "DELETE",
        &format!("/v1/portal-sessions/{revoked_id}"),
        Some(KEY_A),
        None,
    )
    .await;
    let expiring = app.create(json!({"customerExternalId": "acme-001"})).await;
    app.clock.advance(Duration::from_secs(3_600));
    for (created, text) in [
        (&used, "Link already used"),
        (&revoked, "Link revoked"),
        (&expiring, "Link expired"),
    ] {
        let link = app.path_of(created["url"].as_str().unwrap());
        for method in ["GET", "POST"] {
            let page = app.page(method, &link, None).await;
            assert_eq!(page.status, StatusCode::GONE, "{method} {text}");
            assert!(page.body.contains(text), "{method} {text}");
            assert!(
                page.body.contains("Demo Co") && page.body.contains("#0e7490"),
                "{method} {text}: not branded"
            );
        }
    }
    let unknown = format!(
        "/r/{}",
        portal_sessions_conformance::fixture::new_link().expose_secret()
    );
    let page = app.page("GET", &unknown, None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("Demo Co"));
}

/// Page text states the configured lifetime, not a fixed hour.
pub async fn lifetimes_come_from_the_configuration<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app_with_ttl(store, mounted, Duration::from_secs(600));
    let created = app.create(json!({"customerExternalId": "acme-001"})).await;
    let link = app.path_of(created["url"].as_str().unwrap());
    let shown = app.page("GET", &link, None).await;
    assert!(
        shown.body.contains("for up to 10 minutes"),
        "{}",
        shown.body
    );
    let cookie = app.redeem(&created).await;
    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert!(portal.body.contains("expire after 10 minutes"));
    let expiring = app.create(json!({"customerExternalId": "acme-001"})).await;
    app.clock.advance(Duration::from_secs(600));
    let expired = app
        .page("GET", &app.path_of(expiring["url"].as_str().unwrap()), None)
        .await;
    assert!(
        expired.body.contains("work for 10 minutes"),
        "{}",
        expired.body
    );
    for page in [&shown, &portal, &expired] {
        assert!(!page.body.contains("hour"), "{}", page.body);
    }
}

/// Opening the email link again in the browser that holds that session's live portal goes to the
/// portal; anywhere else the link is used.
pub async fn a_used_link_with_its_live_cookie_goes_to_the_portal<S: SessionStore>(
    store: S,
    mounted: Mounted,
) {
    let app = app(store, mounted);
    let created = app.create(json!({"customerExternalId": "acme-001"})).await;
    let other = app.create(json!({"customerExternalId": "acme-001"})).await;
    let link = app.path_of(created["url"].as_str().unwrap());
    let cookie = app.redeem(&created).await;
    let other_cookie = app.redeem(&other).await;
    for method in ["GET", "POST"] {
        let request = Request::builder()
            .method(method)
            .uri(&link)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let again = app.send(request).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{method}");
        assert_eq!(again.header("location"), app.mounted("/portal"));
        assert!(
            again.header("set-cookie").is_empty(),
            "no new cookie is minted"
        );
        for stranger in [None, Some(other_cookie.as_str())] {
            let reply = app.page(method, &link, stranger).await;
            assert_eq!(reply.status, StatusCode::GONE, "{method} {stranger:?}");
            assert!(reply.body.contains("already used"));
        }
    }
    app.page("POST", "/portal/logout", Some(&cookie)).await;
    let after = app.page("GET", &link, Some(&cookie)).await;
    assert_eq!(
        after.status,
        StatusCode::GONE,
        "a signed-out cookie is not live"
    );
}

/// `GET /openapi.json` answers the crate's OpenAPI document as JSON, its one server the public URL
/// and the mount: the base its paths are relative to.
pub async fn openapi_document_is_served<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let reply = app.page("GET", "/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/json");
    let served = reply.json();
    let kept: Value = serde_json::from_str(crate::openapi_document()).unwrap();
    assert_eq!(
        served["servers"],
        json!([{ "url": format!("{PUBLIC_URL}{}", app.prefix) }])
    );
    for part in ["openapi", "info", "security", "paths", "components"] {
        assert_eq!(served[part], kept[part], "{part}");
    }
    // The served server and a documented path make a URL the router answers.
    let base = served["servers"][0]["url"].as_str().unwrap_or_default();
    let list = format!("{base}/v1/portal-sessions");
    let path = list.strip_prefix(PUBLIC_URL).unwrap_or_default();
    let listed = app
        .send_unmounted(
            Request::builder()
                .uri(path)
                .header("x-api-key", KEY_A)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{path}: {}", listed.body);
}

/// Runs every check of this suite against a store, mounted at the root and nested, as
/// `#[tokio::test]`s in a module named `$module`: `$store` is an `Option` of the store (`None`
/// skips, for a backend that is not there), `$teardown` an async closure given the store after each.
#[macro_export]
macro_rules! http_tests {
    ($module:ident, $store:expr, $teardown:expr) => {
        mod $module {
            $crate::http_tests!(@each $store, $teardown; authentication, create_returns_the_contract_shape,
                create_refuses_bad_input_and_changes_nothing, list_get_and_revoke,
                links_and_the_portal, expiry_and_logout, bad_input_sweep, mounting_and_caching,
                features_return_url_and_host_pages, message_pages_are_branded,
                lifetimes_come_from_the_configuration,
                a_used_link_with_its_live_cookie_goes_to_the_portal,
                customers_are_listed_paged_and_cut_off, localized_pages,
                openapi_document_is_served);
        }
    };
    (@each $store:expr, $teardown:expr; $($name:ident),*) => {$(
        mod $name {
            #[tokio::test]
            async fn at_the_root() {
                let Some(store) = $store else { return };
                let store = ::std::sync::Arc::new(store);
                $crate::suite::$name(store.clone(), $crate::suite::Mounted::Root).await;
                ($teardown)(store).await;
            }

            #[tokio::test]
            async fn nested_in_a_host_app() {
                let Some(store) = $store else { return };
                let store = ::std::sync::Arc::new(store);
                $crate::suite::$name(store.clone(), $crate::suite::Mounted::Nested).await;
                ($teardown)(store).await;
            }
        }
    )*};
}

/// A page request with an `Accept-Language` header (or none), and a cookie (or none).
async fn page_in(
    app: &App,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    accept_language: Option<&str>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(accept_language) = accept_language {
        request = request.header(header::ACCEPT_LANGUAGE, accept_language);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// Asserts that a page is written in `tag`: `<html lang>`, `Content-Language`, `Vary`, and each of
/// `texts` in its body.
fn assert_speaks(page: &Reply, tag: &str, texts: &[&str]) {
    assert!(
        page.body.contains(&format!("<html lang=\"{tag}\">")),
        "not <html lang=\"{tag}\">: {}",
        page.body
    );
    assert_eq!(page.header("content-language"), tag);
    assert!(
        page.header("vary")
            .to_ascii_lowercase()
            .contains("accept-language"),
        "Vary: {}",
        page.header("vary")
    );
    for text in texts {
        assert!(
            page.body.contains(text),
            "{text:?} missing from {}",
            page.body
        );
    }
}

/// Pages speak the session's `locale`; without one, what `Accept-Language` asks for; without that,
/// English. Amounts and dates are written for the locale.
pub async fn localized_pages<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let nbsp = '\u{a0}';

    // A French session stays French whatever the browser asks for.
    let french = app
        .create(json!({"customerExternalId": "acme-001", "locale": "fr"}))
        .await;
    let french_link = app.path_of(french["url"].as_str().unwrap());
    let shown = page_in(&app, "GET", &french_link, None, Some("de-DE,de;q=0.9")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_speaks(
        &shown,
        "fr",
        &[
            "Ouverture de votre portail de facturation…",
            "vous connecte pour 1 heure au maximum",
            "Ouvrir mon portail de facturation",
            "Portail de facturation sécurisé",
        ],
    );
    assert!(!shown.body.contains("Open my billing portal"));
    let cookie = app.redeem(&french).await;
    let portal = page_in(
        &app,
        "GET",
        "/portal",
        Some(&cookie),
        Some("de-DE,de;q=0.9"),
    )
    .await;
    assert_eq!(portal.status, StatusCode::OK);
    assert_speaks(
        &portal,
        "fr",
        &[
            "Facturation · Demo Co",
            "Votre facturation chez Demo Co.",
            // The session expires an hour after the suite's clock start, 13 May 2026 16:30 UTC.
            "vous déconnectera le 13 mai 2026 à 17:30 UTC.",
            "<h2>Factures</h2>",
            "<th>Facture</th>",
            "<th class=\"num\">Montant</th>",
            "INV-2026-0042",
            "1 mai 2026",
            &format!("49,00{nbsp}$"),
            ">payée</span>",
            "<h2>Abonnement</h2>",
            "Aucun abonnement actif.",
            "Aucune consommation mesurée sur cette période.",
            "<dt>Identifiant client</dt>",
            "expirent au bout de 1 heure.",
            "Se déconnecter",
        ],
    );
    for english in [
        "Invoices",
        "$49.00",
        "2026-05-01",
        "Sign out",
        "Secure billing portal",
    ] {
        assert!(
            !portal.body.contains(english),
            "{english} on a French portal"
        );
    }
    let id = french["id"].as_str().unwrap();
    let revoked = app
        .call(
            "DELETE",
            &format!("/v1/portal-sessions/{id}"),
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let ended = page_in(&app, "GET", "/portal", Some(&cookie), Some("es")).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    assert_speaks(
        &ended,
        "fr",
        &["Session terminée", "demandez un nouveau lien", "Demo Co"],
    );
    assert!(!ended.body.contains("INV-2026-0042"));
    for method in ["GET", "POST"] {
        let gone = page_in(&app, method, &french_link, None, Some("en")).await;
        assert_eq!(gone.status, StatusCode::GONE, "{method}");
        assert_speaks(&gone, "fr", &["Lien révoqué", "Demo Co"]);
    }

    // A session without a locale follows the browser, region included.
    let plain = app.create(json!({"customerExternalId": "acme-001"})).await;
    let plain_link = app.path_of(plain["url"].as_str().unwrap());
    let german = Some("de-DE,de;q=0.9");
    let shown = page_in(&app, "GET", &plain_link, None, german).await;
    assert_speaks(
        &shown,
        "de-DE",
        &[
            "Ihr Abrechnungsportal wird geöffnet",
            "meldet Sie für bis zu 1 Stunde an",
            "Mein Abrechnungsportal öffnen",
        ],
    );
    let cookie = app.redeem(&plain).await;
    let portal = page_in(&app, "GET", "/portal", Some(&cookie), german).await;
    assert_speaks(
        &portal,
        "de-DE",
        &[
            "Ihre Abrechnung bei Demo Co.",
            "meldet diese Seite Sie am 13. Mai 2026 um 17:30 UTC ab.",
            "<h2>Rechnungen</h2>",
            "1. Mai 2026",
            &format!("49,00{nbsp}$"),
            ">bezahlt</span>",
            "Abmelden",
        ],
    );
    // ...and without Accept-Language, the default: English, as it always read.
    let portal = page_in(&app, "GET", "/portal", Some(&cookie), None).await;
    assert_speaks(
        &portal,
        "en",
        &[
            "Your billing with Demo Co. For your security this page signs you out at 13 May \
             2026, 17:30 UTC.",
            "<h2>Invoices</h2>",
            "1 May 2026",
            "$49.00",
            ">paid</span>",
            "Sign out",
        ],
    );
    // A language the portal does not speak is no language at all.
    let portal = page_in(
        &app,
        "GET",
        "/portal",
        Some(&cookie),
        Some("pt-BR, ja;q=0.5"),
    )
    .await;
    assert_speaks(&portal, "en", &["$49.00"]);

    // Pages that know no session follow the browser.
    let unknown = format!(
        "/r/{}",
        portal_sessions_conformance::fixture::new_link().expose_secret()
    );
    let invalid = page_in(&app, "GET", &unknown, None, Some("es-MX, en;q=0.5")).await;
    assert_eq!(invalid.status, StatusCode::NOT_FOUND);
    assert_speaks(
        &invalid,
        "es-MX",
        &["Enlace no válido", "Portal de facturación"],
    );
    let ended = page_in(&app, "GET", "/portal", None, Some("fr-CA")).await;
    assert_speaks(&ended, "fr-CA", &["Session terminée"]);

    // A regional locale is kept and echoed as given.
    let latin = app
        .create(json!({"customerExternalId": "acme-001", "locale": "es-419"}))
        .await;
    let shown = page_in(
        &app,
        "GET",
        &app.path_of(latin["url"].as_str().unwrap()),
        None,
        Some("de"),
    )
    .await;
    assert_speaks(&shown, "es-419", &["Abriendo su portal de facturación…"]);
    let items = app.everything().await;
    let locale_of = |id: &Value| {
        items
            .iter()
            .find(|item| item["id"] == *id)
            .map(|item| item["locale"].clone())
    };
    assert_eq!(locale_of(&latin["id"]), Some(json!("es-419")));
    assert_eq!(locale_of(&french["id"]), Some(json!("fr")));
    assert_eq!(locale_of(&plain["id"]), Some(Value::Null));
}
