//! The host app each check runs: its own state, its own routes and a page of its own behind the
//! [`Viewer`] extractor, with the portal router merged at its root or nested under [`PREFIX`]; and
//! the harness that sends it requests and reads its answers whole.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{Request, StatusCode, header};
use axum::middleware;
use axum::response::Html;
use axum::routing::get;
use http_body_util::BodyExt;
use maud::{PreEscaped, html};
use portal_sessions::{Engine, Feature, ManualClock, SessionStore, StaticDirectory};
use portal_sessions_conformance::fixture::start_time;
use serde_json::Value;
use tower::ServiceExt;

use super::fixture::{
    KEY_A, KEY_B, PUB_A, PUBLIC_URL, acme, org_a, org_b, plain, societe, umbrella,
};
use super::openapi;
use crate::auth::StaticApiKeys;
use crate::data::{Branding, CustomerBilling, Invoice, InvoiceStatus, StaticPortalData};
use crate::framing::Framing;
use crate::headers::page_headers;
use crate::https_url::HttpsUrl;
use crate::viewer::{Viewer, ViewerCheck};
use crate::{OrgRecovery, PortalService};

/// The origin whose pages may frame organisation B's portal.
pub const FRAMING_APP: &str = "https://app.umbrella.test";

/// Where [`Mounted::Nested`] puts the portal.
pub const PREFIX: &str = "/billing";

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

/// The host's own portal page: the viewer's customer and features, or the portal's "session ended";
/// framed as the organisation's portal is, and telling the frame its height.
async fn statement(State(host): State<HostState>, viewer: Viewer) -> (Framing, Html<String>) {
    let features: Vec<&str> = viewer.features().iter().map(Feature::as_str).collect();
    let framing = viewer.framing().await;
    let page = html! {
        p {
            (host.name) " statement for " (viewer.customer().name) " (" (features.join(","))
            "); back to " (viewer.portal_path())
        }
        (PreEscaped(framing.height_script()))
    };
    (framing, Html(page.into_string()))
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
    build(store, mounted, ttl, None)
}

/// The host app over `store`, whose organisation A has recovery on (`recovery`) and sends mail
/// through `mailer`: a real SMTP server on loopback in the tests.
pub fn app_with_mail<S: SessionStore, M: crate::mail::Mailer>(
    store: S,
    mounted: Mounted,
    mailer: M,
    recovery: OrgRecovery,
) -> App {
    let mailer: Arc<dyn crate::mail::Mailer> = Arc::new(mailer);
    build(
        store,
        mounted,
        Duration::from_secs(3_600),
        Some((mailer, recovery)),
    )
}

fn build<S: SessionStore>(
    store: S,
    mounted: Mounted,
    ttl: Duration,
    mail: Option<(Arc<dyn crate::mail::Mailer>, OrgRecovery)>,
) -> App {
    let mut directory = StaticDirectory::default();
    for (org, customer) in [
        (org_a(), acme()),
        (org_a(), plain()),
        (org_a(), societe()),
        (org_b(), umbrella()),
    ] {
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
        Branding::new("Demo Co").with_brand_color("#0e7490"),
    );
    // Organisation B's pages may be framed by its app (and, in development, by localhost).
    data.set_branding(
        org_b(),
        Branding::new("Umbrella Corp").with_frame_ancestors([
            crate::FrameAncestor::new(FRAMING_APP).unwrap(),
            crate::FrameAncestor::new("http://localhost:3000").unwrap(),
        ]),
    );
    data.set_billing(
        org_a(),
        acme().id,
        CustomerBilling::new(
            None,
            vec![
                Invoice::new(
                    "INV-2026-0043",
                    "2026-06-01",
                    6_120,
                    "USD",
                    InvoiceStatus::Open,
                )
                .with_pay_url(HttpsUrl::new("https://pay.example.test/inv/43").unwrap())
                .with_pdf_url(HttpsUrl::new("https://files.example.test/inv/43.pdf").unwrap()),
                Invoice::new(
                    "INV-2026-0042",
                    "2026-05-01",
                    4_900,
                    "USD",
                    InvoiceStatus::Paid,
                )
                .with_pdf_url(HttpsUrl::new("https://files.example.test/inv/42.pdf").unwrap()),
            ],
            vec![],
        ),
    );
    let portal = match mail {
        Some((mailer, recovery)) => {
            data.set_recovery(org_a(), recovery);
            PortalService::new(Arc::new(engine), keys, data)
                .public_url(PUBLIC_URL)
                .mailer(mailer)
        }
        None => PortalService::new(Arc::new(engine), keys, data).public_url(PUBLIC_URL),
    };
    // The host's own page in the portal's navigation, for sessions that show invoices.
    let portal = portal.host_link(
        crate::HostLink::new("Statement", "/portal/statement").for_feature(Feature::Invoices),
    );
    let state = HostState {
        name: "Host",
        viewers: portal.viewer_check(),
    };
    let portal_routes = portal.router::<HostState>().route(
        "/portal/statement",
        get(statement).layer(middleware::from_fn(page_headers)),
    );
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
        self.create_as(KEY_A, body).await
    }

    /// The item of a session of org A that `created` answered, expecting 200.
    pub async fn item(&self, created: &Value) -> Value {
        let id = created["id"].as_str().unwrap_or_default();
        let reply = self
            .call(
                "GET",
                &format!("/v1/portal-sessions/{id}"),
                Some(KEY_A),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()
    }

    /// Revokes the session of org A that `created` answered, expecting 204.
    pub async fn revoke(&self, created: &Value) {
        self.revoke_as(KEY_A, created).await;
    }

    /// Revokes the session that `created` answered with the secret key `key`, expecting 204.
    pub async fn revoke_as(&self, key: &str, created: &Value) {
        let id = created["id"].as_str().unwrap_or_default();
        let reply = self
            .call(
                "DELETE",
                &format!("/v1/portal-sessions/{id}"),
                Some(key),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }

    /// Creates a session with the secret key `key`, expecting 201; returns the response body.
    pub async fn create_as(&self, key: &str, body: Value) -> Value {
        let reply = self
            .call("POST", "/v1/portal-sessions", Some(key), Some(body))
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
