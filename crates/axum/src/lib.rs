//! The portal-sessions REST API, link pages and customer portal, as an axum [`Router`].
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/portal-sessions` | mint a session (secret API key) → 201 with `url` and `token`, once |
//! | `GET /v1/portal-sessions` | list the organisation's sessions (`customerId`, `limit`, `includeExpired`) |
//! | `GET /v1/portal-sessions/{id}` | one session |
//! | `DELETE /v1/portal-sessions/{id}` | revoke at once → 204 (idempotent) |
//! | `GET`/`HEAD /r/{token}` | a page that redeems the link; never consumes it (mail scanners prefetch) |
//! | `POST /r/{token}` | consume the link, set the viewer cookie, 303 to `/portal` |
//! | `GET /portal` | the customer's invoices, subscription, usage and profile |
//! | `POST /portal/logout` | end the portal session |
//! | `GET /healthz` | 200 when the store answers |
//!
//! Field names, status codes and error bodies follow the reference product's API (see the
//! repository's `PORTAL_API.md`).
//!
//! # Mounting it in your own service
//!
//! Bring your own [`ApiKeys`] (a key resolves to an organisation; publishable keys are refused) and
//! your own [`PortalData`] (branding and a customer's billing), and merge the router into yours:
//!
//! ```no_run
//! use std::sync::Arc;
//! use portal_sessions::{Engine, StaticDirectory};
//! use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
//! use portal_sessions_memory::MemoryStore;
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = Arc::new(Engine::new(MemoryStore::new(), StaticDirectory::default()));
//! let portal = PortalService::new(engine, StaticApiKeys::default(), StaticPortalData::default())
//!     .public_url("https://billing.example.com");
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "my app" }))
//!     .merge(portal.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # }
//! ```
//!
//! Serve it with `into_make_service_with_connect_info::<SocketAddr>()` to record the redeemer's IP
//! address; without it the address is simply not recorded.
//!
//! # Security
//!
//! Each client IP may fail to open a link (a malformed or unknown token) 20 times a minute; past that
//! its link requests get `429 Too Many Requests` with `Retry-After`, before the store is touched
//! ([`PortalService::link_attempt_limit`]). Request bodies are bounded to [`MAX_BODY_BYTES`].
//!
//! Responses on `/r` and `/portal` carry `Cache-Control: no-store`, `Referrer-Policy: no-referrer`
//! and a strict Content-Security-Policy. The viewer cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`,
//! and `Secure` (named `__Host-portal_session`) when the public URL is https. Error messages and logs
//! never contain a token or an API key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod data;
mod error;
mod html;
mod keys;
mod limit;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portal_sessions::{Engine, SessionId, SessionStore};

pub use crate::api::MAX_BODY_BYTES;
pub use crate::data::{
    Branding, CustomerBilling, Invoice, PortalData, PortalDataError, StaticPortalData,
    Subscription, UsageLine,
};
pub use crate::keys::{ApiKeys, KeyLookup, StaticApiKeys};
pub use crate::limit::LinkAttemptLimit;

/// What every handler shares.
pub(crate) struct Shared<S> {
    engine: Arc<Engine<S>>,
    keys: Arc<dyn ApiKeys>,
    data: Arc<dyn PortalData>,
    public_url: String,
    secure: bool,
    limiter: Option<limit::Limiter>,
}

impl<S> Shared<S> {
    fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-portal_session"
        } else {
            "portal_session"
        }
    }

    /// A `Set-Cookie` value for the viewer token (an empty value and 0 seconds clears it).
    fn cookie(&self, value: &str, max_age_seconds: u64) -> String {
        format!(
            "{}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_seconds}{}",
            self.cookie_name(),
            if self.secure { "; Secure" } else { "" }
        )
    }
}

/// The portal service: an engine, API keys, portal data and the public URL links are minted under.
pub struct PortalService<S> {
    shared: Shared<S>,
}

impl<S> std::fmt::Debug for PortalService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalService")
            .field("public_url", &self.shared.public_url)
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> PortalService<S> {
    /// A service over `engine`, with links minted under `http://127.0.0.1:8080` until
    /// [`public_url`](Self::public_url) says otherwise.
    pub fn new(
        engine: Arc<Engine<S>>,
        keys: impl ApiKeys,
        data: impl PortalData,
    ) -> PortalService<S> {
        PortalService {
            shared: Shared {
                engine,
                keys: Arc::new(keys),
                data: Arc::new(data),
                public_url: "http://127.0.0.1:8080".to_owned(),
                secure: false,
                limiter: Some(limit::Limiter::new(LinkAttemptLimit::default())),
            },
        }
    }

    /// The URL the service is reached at by customers: links are `{public_url}/r/{token}`, and an
    /// `https` URL makes the viewer cookie `Secure`.
    pub fn public_url(mut self, url: &str) -> PortalService<S> {
        let url = url.trim_end_matches('/');
        self.shared.secure = url.starts_with("https://");
        self.shared.public_url = url.to_owned();
        self
    }

    /// Limits failed link attempts per client IP (see [`LinkAttemptLimit`]); `None` turns the limit
    /// off. On by default, at [`LinkAttemptLimit::default`].
    pub fn link_attempt_limit(mut self, limit: Option<LinkAttemptLimit>) -> PortalService<S> {
        self.shared.limiter = limit.map(limit::Limiter::new);
        self
    }

    /// The router.
    pub fn router(self) -> Router {
        let shared = Arc::new(self.shared);
        let api = Router::new()
            .route(
                "/v1/portal-sessions",
                post(api::create::<S>).get(api::list::<S>),
            )
            .route(
                "/v1/portal-sessions/{id}",
                get(api::get::<S>).delete(api::revoke::<S>),
            )
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
        let pages = Router::new()
            .route(
                "/r/{token}",
                get(pages::open_link::<S>).post(pages::redeem_link::<S>),
            )
            .route("/portal", get(pages::portal::<S>))
            .route("/portal/logout", post(pages::logout::<S>))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(middleware::from_fn(page_headers));
        Router::new()
            .merge(api)
            .merge(pages)
            .route("/healthz", get(healthz::<S>))
            .with_state(shared)
    }
}

/// The headers every link and portal response carries.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
             script-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

async fn healthz<S: SessionStore>(State(shared): State<Arc<Shared<S>>>) -> Response {
    match shared
        .engine
        .store()
        .get(&SessionId::from_bytes([0; 16]))
        .await
    {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            error::log_failure(&error);
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}
