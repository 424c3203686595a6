//! A host service that embeds the portal: its own state, API keys looked up asynchronously in its
//! own key store, the portal nested under `/billing`, and one portal page of its own (a printable
//! invoice) behind the [`Viewer`] extractor. It runs what production needs beside the router, from
//! the library: a request log that redacts link tokens ([`RequestLogLayer`]), `/healthz` on the
//! store ([`health_check`]), the purge of long-expired sessions ([`Purger`]), and webhook
//! deliveries ([`Deliverer`], over [`StaticEndpoints`] and [`HyperClient`]).
//!
//! `cargo run -p portal-sessions-axum --example host_app`, then mint a link with the key it prints:
//!
//! ```sh
//! curl -s -X POST http://127.0.0.1:3000/billing/v1/portal-sessions \
//!   -H 'authorization: Bearer host_live_4c1d9e7a2b5f8c30' \
//!   -H 'Content-Type: application/json' -d '{"customerExternalId": "cust-42"}'
//! ```
//!
//! (or open `http://127.0.0.1:3000/account/billing`, the host's own "View my billing", which
//! mints a link with [`PortalService::link_url`] and sends the browser to it), and open the
//! returned `url` (`http://127.0.0.1:3000/billing/r/mgl_...`): the portal is at
//! `/billing/portal` (its navigation links to the host's own `/billing/portal/orders.csv`), the
//! library's page of one invoice at `/billing/portal/invoices/EX-0003`, and
//! the host's own printable invoice at `/billing/portal/print/EX-0003` (a host's pages belong under
//! the portal at paths of their own: the library's are `/portal`, `/portal/invoices/...` and
//! `/portal/logout`). Set
//! `HOST_APP_LISTEN` to listen elsewhere, and `HOST_APP_WEBHOOK_URL` with `HOST_APP_WEBHOOK_SECRET`
//! (`whsec_` and at least 24 characters) to have the sessions' events POSTed there, signed, and
//! `HOST_APP_FRAME_ANCESTORS` (origins, comma-separated) to let those sites' pages frame the
//! portal and the host's printable invoice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use portal_sessions::{CustomerSnapshot, Engine, Feature, OrgId, SessionView, StaticDirectory};
use portal_sessions_axum::webhooks::{
    Deliverer, Deliveries, HyperClient, StaticEndpoints, Webhook,
};
use portal_sessions_axum::{
    ApiAuth, AuthError, Branding, CustomerBilling, FrameAncestor, HostLink, Invoice, InvoiceStatus,
    PortalData, PortalDataError, PortalService, PurgeTask, Purger, RequestLogLayer, UsageLine,
    Viewer, ViewerCheck, api_key, async_trait, health_check, page_headers,
};
use portal_sessions_memory::MemoryStore;
use tokio::sync::RwLock;

/// The demo's API key (a real host issues its own and keeps only their digests).
pub const HOST_KEY: &str = "host_live_4c1d9e7a2b5f8c30";
/// The demo customer's external id.
pub const CUSTOMER: &str = "cust-42";

/// The host's key store: digests of issued keys, as a real one keeps them in its database, behind
/// an async lock that stands in for the database round trip.
#[derive(Default)]
pub struct HostKeys {
    by_digest: RwLock<HashMap<[u8; 32], OrgId>>,
}

impl HostKeys {
    fn digest(key: &str) -> [u8; 32] {
        blake3::derive_key("host-app api keys v1", key.as_bytes())
    }

    /// Issues `key` to `org`.
    pub async fn issue(&self, key: &str, org: OrgId) {
        self.by_digest.write().await.insert(Self::digest(key), org);
    }

    async fn org_of(&self, key: &str) -> Option<OrgId> {
        self.by_digest.read().await.get(&Self::digest(key)).copied()
    }
}

#[async_trait]
impl ApiAuth for HostKeys {
    async fn authenticate(&self, request: &Parts) -> Result<OrgId, AuthError> {
        let key = api_key(request).ok_or_else(|| {
            AuthError::unauthenticated(
                "missing API key: send your host key as `Authorization: Bearer host_live_...`",
            )
        })?;
        self.org_of(key)
            .await
            .ok_or_else(|| AuthError::unauthenticated("unknown host key (host_live_...)"))
    }
}

/// The host's billing system: orders per customer, turned into invoices and usage on each request.
pub struct HostBilling {
    orders: HashMap<String, Vec<(String, i64)>>,
    /// The origins whose pages may frame the portal (and the host's own portal pages).
    frame_ancestors: Vec<FrameAncestor>,
}

impl HostBilling {
    fn invoices(&self, customer: &CustomerSnapshot) -> Vec<Invoice> {
        let orders = self.orders.get(&customer.external_id);
        let orders = orders.map(Vec::as_slice).unwrap_or_default();
        orders
            .iter()
            .enumerate()
            .map(|(i, (month, cents))| {
                let status = if i + 1 == orders.len() {
                    InvoiceStatus::Open
                } else {
                    InvoiceStatus::Paid
                };
                Invoice::new(
                    format!("EX-{:04}", i + 1),
                    format!("{month}-01"),
                    *cents,
                    "USD",
                    status,
                )
            })
            .rev()
            .collect()
    }
}

#[async_trait]
impl PortalData for HostBilling {
    async fn branding(&self, _org: OrgId) -> Result<Option<Branding>, PortalDataError> {
        Ok(Some(
            Branding::new("Example SaaS")
                .with_brand_color("#b45309")
                .with_frame_ancestors(self.frame_ancestors.iter().cloned()),
        ))
    }

    async fn billing(&self, session: &SessionView) -> Result<CustomerBilling, PortalDataError> {
        // Only what the session may see is loaded.
        let features = session.features;
        let invoices = if features.contains(Feature::Invoices) {
            self.invoices(&session.customer)
        } else {
            Vec::new()
        };
        let usage = if features.contains(Feature::Usage) {
            vec![UsageLine::new(
                "Orders",
                i64::try_from(invoices.len()).unwrap_or(i64::MAX),
                "orders",
                "2026",
            )]
        } else {
            Vec::new()
        };
        Ok(CustomerBilling::new(None, invoices, usage))
    }
}

/// The host's own state: its billing system, and what the portal's [`Viewer`] extractor needs.
#[derive(Clone)]
pub struct HostState {
    billing: Arc<HostBilling>,
    viewers: ViewerCheck,
    /// The portal, to mint links from the host's own routes.
    portal: PortalService<MemoryStore>,
    engine: Arc<Engine<MemoryStore>>,
}

impl FromRef<HostState> for ViewerCheck {
    fn from_ref(state: &HostState) -> ViewerCheck {
        state.viewers.clone()
    }
}

/// "View my billing" in the host's own app: mints a session for the signed-in customer and sends
/// the browser to its link ([`PortalService::link_url`]). This example has no sign-in of its own:
/// its one customer stands for the one a real host takes from its session.
async fn view_my_billing(State(host): State<HostState>) -> Response {
    let Ok(org) = host_org() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let request = portal_sessions::CreateRequest::for_external_id(CUSTOMER);
    match host.engine.create(org, request).await {
        Ok(created) => {
            axum::response::Redirect::to(&host.portal.link_url(&created.link)).into_response()
        }
        Err(error) => {
            tracing::error!(error = %portal_sessions::ErrorChain(&error), "could not mint a portal link");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The host's own portal page in the portal's navigation: the viewing customer's orders as CSV.
async fn orders_csv(State(host): State<HostState>, viewer: Viewer) -> Response {
    if !viewer.features().contains(Feature::Invoices) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut csv = String::from("invoice,issued_on,amount_cents,currency,status\n");
    for invoice in host.billing.invoices(viewer.customer()) {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            invoice.number,
            invoice.issued_on,
            invoice.amount_cents,
            invoice.currency,
            invoice.status
        ));
    }
    (
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        csv,
    )
        .into_response()
}

/// The host's own portal page: one invoice of the viewing customer, printable. A viewer whose
/// session does not include invoices, or an invoice of another customer, is a 404. Framed as the
/// organisation's portal is (its [`Framing`](portal_sessions_axum::Framing), under [`page_headers`]), so that it opens inside a
/// portal that a host page frames, and sizes that frame.
async fn printable_invoice(
    State(host): State<HostState>,
    viewer: Viewer,
    Path(number): Path<String>,
) -> Response {
    // Its refusals too are framed as the portal is: in a frame, a 404 rather than the browser's
    // refusal to show it.
    let framing = viewer.framing().await;
    if !viewer.features().contains(Feature::Invoices) {
        return (framing, StatusCode::NOT_FOUND).into_response();
    }
    let invoices = host.billing.invoices(viewer.customer());
    let Some(invoice) = invoices.iter().find(|invoice| invoice.number == number) else {
        return (framing, StatusCode::NOT_FOUND).into_response();
    };
    // A template that escapes every value (the host's own choice; maud is what the portal uses).
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Invoice " (invoice.number) }
                style {
                    "body{font-family:sans-serif;max-width:640px;margin:40px auto;color:#1f2430}"
                    "h1{border-bottom:4px solid #b45309}td{padding:6px 12px}"
                }
            }
            body {
                h1 { "Invoice " (invoice.number) }
                p { "Example SaaS · billed to " strong { (viewer.customer().name) } }
                table {
                    tr { td { "Issued" } td { (invoice.issued_on) } }
                    tr {
                        td { "Amount" }
                        td { "$" (invoice.amount_cents / 100) "." (format!("{:02}", invoice.amount_cents % 100)) }
                    }
                    tr { td { "Status" } td { (invoice.status) } }
                }
                p { a href=(viewer.portal_path()) { "Back to your billing portal" } }
                (maud::PreEscaped(framing.height_script()))
            }
        }
    };
    (framing, Html(page.into_string())).into_response()
}

/// The host app, with links minted under `public_url`; its webhook deliveries and purges run
/// until the runtime ends.
///
/// # Errors
///
/// As [`host_service`].
pub async fn host_app(public_url: &str) -> Result<Router, Box<dyn std::error::Error>> {
    host_app_framed_by(public_url, Vec::new()).await
}

/// [`host_app`], whose portal and portal pages the pages of `frame_ancestors` may frame.
///
/// # Errors
///
/// As [`host_service`].
pub async fn host_app_framed_by(
    public_url: &str,
    frame_ancestors: Vec<FrameAncestor>,
) -> Result<Router, Box<dyn std::error::Error>> {
    Ok(
        host_service(public_url, StaticEndpoints::default(), frame_ancestors)
            .await?
            .router,
    )
}

/// The host service: its router, and the tasks beside it.
pub struct HostService {
    /// The routes, the portal's nested under `/billing`, all logged.
    pub router: Router,
    /// The webhook deliveries.
    pub deliveries: Deliveries,
    /// The purge of long-expired sessions.
    pub purger: PurgeTask,
}

/// The webhooks of `HOST_APP_WEBHOOK_URL` and `HOST_APP_WEBHOOK_SECRET`, for the organisation
/// `org` (none when they are not set).
///
/// # Errors
///
/// When the URL or the secret is refused (the error names neither).
pub fn webhooks_from_env(org: OrgId) -> Result<StaticEndpoints, Box<dyn std::error::Error>> {
    let mut endpoints = StaticEndpoints::default();
    if let (Ok(url), Ok(secret)) = (
        std::env::var("HOST_APP_WEBHOOK_URL"),
        std::env::var("HOST_APP_WEBHOOK_SECRET"),
    ) {
        endpoints.add(org, Webhook::new(&url, &secret)?);
    }
    Ok(endpoints)
}

/// The origins of `HOST_APP_FRAME_ANCESTORS` (comma-separated; none when it is not set).
///
/// # Errors
///
/// When one is not an origin the portal may be framed by.
pub fn frame_ancestors_from_env() -> Result<Vec<FrameAncestor>, Box<dyn std::error::Error>> {
    let Ok(origins) = std::env::var("HOST_APP_FRAME_ANCESTORS") else {
        return Ok(Vec::new());
    };
    let mut ancestors = Vec::new();
    for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        ancestors.push(FrameAncestor::new(origin)?);
    }
    Ok(ancestors)
}

/// The demo organisation's id.
///
/// # Errors
///
/// When it does not parse (it does).
pub fn host_org() -> Result<OrgId, portal_sessions::IdError> {
    "9b2f6a4e-1c3d-4e5f-8a7b-6c5d4e3f2a1b".parse()
}

/// The host service, with links minted under `public_url`, events POSTed to `webhooks`, and the
/// portal framed by the pages of `frame_ancestors` only.
///
/// # Errors
///
/// When the demo's fixed ids do not parse or its customer does not fit (neither happens), or the
/// webhook client cannot be built.
pub async fn host_service(
    public_url: &str,
    webhooks: StaticEndpoints,
    frame_ancestors: Vec<FrameAncestor>,
) -> Result<HostService, Box<dyn std::error::Error>> {
    let org = host_org()?;
    let mut customers = StaticDirectory::default();
    customers.insert(
        org,
        CustomerSnapshot {
            id: "0d6f1a2b-3c4d-4e5f-9a8b-7c6d5e4f3a2b".parse()?,
            external_id: CUSTOMER.into(),
            name: "Forty-Two Ltd".into(),
            email: Some("ap@fortytwo.test".into()),
            locale: None,
        },
    )?;
    let keys = Arc::new(HostKeys::default());
    keys.issue(HOST_KEY, org).await;
    let billing = Arc::new(HostBilling {
        orders: HashMap::from([(
            CUSTOMER.to_owned(),
            vec![
                ("2026-09".into(), 1_900),
                ("2026-10".into(), 2_450),
                ("2026-11".into(), 3_100),
            ],
        )]),
        frame_ancestors,
    });
    // The event feed keeps which events each session's webhooks got.
    let engine = Arc::new(Engine::new(MemoryStore::new().with_event_feed(), customers));
    let portal = PortalService::new(engine.clone(), keys, billing.clone())
        .public_url(public_url)
        .pages_mount("/billing")
        .host_link(
            HostLink::new("Orders (CSV)", "/portal/orders.csv").for_feature(Feature::Invoices),
        );
    let state = HostState {
        billing,
        viewers: portal.viewer_check(),
        portal: portal.clone(),
        engine: engine.clone(),
    };
    let billing_routes = portal
        .router::<HostState>()
        .route(
            "/portal/print/{number}",
            get(printable_invoice).layer(middleware::from_fn(page_headers)),
        )
        .route("/portal/orders.csv", get(orders_csv));
    let router = Router::new()
        .route(
            "/",
            get(|| async { "Example SaaS: the host app's own home page\n" }),
        )
        .route("/account/billing", get(view_my_billing))
        .route("/healthz", health_check(engine.clone()))
        .nest("/billing", billing_routes)
        .with_state(state)
        // Outermost, so that it sees `/billing/r/mgl_...` whole, and writes `/billing/r/<link>`.
        .layer(RequestLogLayer::new());
    let client = HyperClient::new(Duration::from_secs(10))?;
    let deliveries = Deliverer::new(engine.clone(), webhooks, client)?
        .on_delivery(|delivery| {
            println!(
                "webhook: {} of {} to {}: {}",
                delivery.event_type,
                delivery.session,
                delivery.host,
                if delivery.accepted() {
                    "accepted"
                } else {
                    "failed, will retry"
                }
            );
        })
        .spawn();
    let purger = Purger::new(engine).spawn();
    Ok(HostService {
        router,
        deliveries,
        purger,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::var("HOST_APP_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let address = listener.local_addr()?;
    // Request lines, deliveries and purges, through `tracing`, to standard error.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    let webhooks = webhooks_from_env(host_org()?)?;
    let webhook_count = webhooks.len();
    let frame_ancestors = frame_ancestors_from_env()?;
    let HostService {
        router,
        deliveries,
        purger,
    } = host_service(&format!("http://{address}"), webhooks, frame_ancestors).await?;
    println!("host app on http://{address}: the portal is under /billing");
    println!("Host API key: {HOST_KEY}");
    println!(
        "  curl -s -X POST http://{address}/billing/v1/portal-sessions -H 'authorization: Bearer {HOST_KEY}' \
         -H 'Content-Type: application/json' -d '{{\"customerExternalId\": \"{CUSTOMER}\"}}'"
    );
    println!("Webhooks: {webhook_count} (HOST_APP_WEBHOOK_URL, HOST_APP_WEBHOOK_SECRET)");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // Deliveries in flight get their grace to finish; the purge stops where it stands.
    deliveries.shutdown().await;
    purger.stop();
    Ok(())
}
