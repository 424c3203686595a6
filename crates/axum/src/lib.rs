//! The portal-sessions REST API, link pages and customer portal, as an axum [`Router`] to nest in
//! your own service.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/portal-sessions` | mint a session → 201 with `url` and `token`, shown once |
//! | `GET /v1/portal-sessions` | list the organisation's sessions (`customerId` or `customerExternalId`, `status`, `limit`, `startingAfter`, `includeExpired`) |
//! | `DELETE /v1/portal-sessions?customerId=` | revoke every live session of one customer → 200 with the count |
//! | `GET /v1/portal-sessions/{id}` | one session |
//! | `DELETE /v1/portal-sessions/{id}` | revoke at once → 204 (idempotent) |
//! | `GET`/`HEAD /r/{token}` | a page that redeems the link; never consumes it (mail scanners prefetch) |
//! | `POST /r/{token}` | consume the link, set the viewer cookie, 303 to `portal` |
//! | `POST /r/{token}/recover` | "Email me a new link" from a used or expired link (with a [`mailer`](PortalService::mailer) and [`PortalData::recovery`]) |
//! | `GET`/`POST /login/{org id}` | the organisation's login page: a new link by email to whoever has the address typed |
//! | `GET /portal` | the customer's invoices, subscription, usage and profile (the session's `features`) |
//! | `GET /portal/invoices/{number}` | one invoice of the customer, with Pay and PDF; your own portal pages belong beside these, under `/portal/` at paths of your own |
//! | `POST /portal/logout` | end the portal session |
//! | `GET /openapi.json` | the OpenAPI 3.1 description of `/v1` ([`openapi_document`]), its server the public URL and mount |
//!
//! Every route is relative to where you mount the router: nested under `/billing`, links are
//! `{public_url}/billing/r/{token}`, the redeem redirects to `/billing/portal`, and the viewer
//! cookie's `Path` is `/billing`. The router adds nothing outside these paths (no `/healthz`: that is
//! your service's). The whole HTTP contract (fields, status codes, error bodies, pages, cookies) is
//! written down in the repository's `docs/http-api.md`.
//!
//! # Embedding it
//!
//! Bring three things, each a trait with a ready implementation for configuration files and tests:
//!
//! * [`ApiAuth`]: who a `/v1` request speaks for. It sees the request head, so keys can live in your
//!   database and your own auth middleware's extensions can be reused. [`StaticApiKeys`] is the
//!   `mf_sk_...` keys of a config file.
//! * [`PortalData`]: an organisation's branding and a session's billing data. [`StaticPortalData`].
//! * a [`CustomerDirectory`](portal_sessions::CustomerDirectory) inside the
//!   `Engine`: who a customer is.
//!
//! Then nest [`PortalService::router`] wherever you like, in a router with your own state, and add
//! your own portal pages behind the [`Viewer`] extractor:
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::extract::FromRef;
//! use axum::routing::get;
//! use portal_sessions::{Engine, StaticDirectory};
//! use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData, Viewer, ViewerCheck};
//! use portal_sessions_memory::MemoryStore;
//!
//! #[derive(Clone)]
//! struct AppState {
//!     greeting: &'static str,
//!     viewers: ViewerCheck,
//! }
//!
//! impl FromRef<AppState> for ViewerCheck {
//!     fn from_ref(state: &AppState) -> ViewerCheck {
//!         state.viewers.clone()
//!     }
//! }
//!
//! async fn statement(viewer: Viewer) -> String {
//!     format!("Statement for {}", viewer.session().customer.name)
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = Arc::new(Engine::new(MemoryStore::new(), StaticDirectory::default()));
//! let portal = PortalService::new(engine, StaticApiKeys::default(), StaticPortalData::default())
//!     .public_url("https://app.example.com");
//! let state = AppState { greeting: "hello", viewers: portal.viewer_check() };
//! let app = axum::Router::new()
//!     .route("/", get(|| async { "my app" }))
//!     .route("/healthz", get(|| async { "ok" }))
//!     .nest("/billing", portal.router().route("/portal/statement", get(statement)))
//!     .with_state(state);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # }
//! ```
//!
//! Serve it with `into_make_service_with_connect_info::<SocketAddr>()` to record the redeemer's IP
//! address and to limit failed link attempts per client; without it neither happens. The crate's
//! `host_app` example is a complete host service (`cargo run -p portal-sessions-axum --example
//! host_app`).
//!
//! # Running it in production
//!
//! Beside the router, four parts that a host would otherwise write by reading
//! `portal-sessions-server` (which is built from them):
//!
//! * [`webhooks::Deliverer`]: every session event, signed, POSTed to the organisation's webhooks
//!   at least once and in order per session, with backoff, surviving restarts. It takes a
//!   [`webhooks::WebhookEndpoints`] (which URL and secret an organisation's events go to;
//!   [`webhooks::StaticEndpoints`] is a map) and a [`webhooks::WebhookClient`] (the feature
//!   `webhook-client` gives [`webhooks::HyperClient`][hyper-client]; implement the trait over your own reqwest
//!   client to compile no other), and reports every POST to [`webhooks::Deliverer::on_delivery`]
//!   for your metrics.
//! * [`Purger`]: purges sessions that expired more than a day ago, every ten minutes (both can be
//!   changed), until its [`PurgeTask`] is stopped.
//! * [`RequestLogLayer`]: logs method, path, status and duration of every request through
//!   `tracing`, with link tokens redacted (`/billing/r/<link>`) and the path cut to a bounded
//!   length. Links are bearer secrets in the path: a host that logs `/billing/r/mgl_...` itself
//!   leaks every link it serves to whoever reads its logs, so log with this layer instead (or
//!   through [`loggable_path`]).
//! * [`health_check`]: a `/healthz` route answering 200 while the store can take a write and 503
//!   when it cannot ([`store_health`]), for a supervisor to restart on.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use portal_sessions::{Engine, StaticDirectory};
//! use portal_sessions_axum::webhooks::{Deliverer, HyperClient, StaticEndpoints, Webhook};
//! use portal_sessions_axum::{
//!     PortalService, Purger, RequestLogLayer, StaticApiKeys, StaticPortalData, health_check,
//! };
//! use portal_sessions_memory::MemoryStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new().with_event_feed();
//! let engine = Arc::new(Engine::new(store, StaticDirectory::default()));
//! let portal = PortalService::new(engine.clone(), StaticApiKeys::default(), StaticPortalData::default())
//!     .public_url("https://app.example.com");
//! let app = axum::Router::new()
//!     .route("/healthz", health_check(engine.clone()))
//!     .nest("/billing", portal.router())
//!     .layer(RequestLogLayer::new());
//!
//! let mut endpoints = StaticEndpoints::default();
//! let org = "9b2f6a4e-1c3d-4e5f-8a7b-6c5d4e3f2a1b".parse()?;
//! endpoints.add(org, Webhook::new("https://hooks.example.com/portal", "whsec_3a9c1f0e5b7d2a4c6e8f0b1d")?);
//! let deliveries = Deliverer::new(engine.clone(), endpoints, HyperClient::new(Duration::from_secs(10))?)?
//!     .on_delivery(|delivery| tracing::debug!(accepted = delivery.accepted(), "webhook POST"))
//!     .spawn();
//! let purger = Purger::new(engine).spawn();
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
//!     .with_graceful_shutdown(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! deliveries.shutdown().await;
//! purger.stop();
//! # Ok(())
//! # }
//! ```
//!
#![cfg_attr(
    feature = "webhook-client",
    doc = "\n[hyper-client]: webhooks::HyperClient\n"
)]
#![cfg_attr(
    not(feature = "webhook-client"),
    doc = "\n[hyper-client]: webhooks::WebhookClient\n"
)]
//!
//! # Languages
//!
//! Pages speak English, French, German or Spanish: the session's `locale` (set when it is minted),
//! else what the browser's `Accept-Language` asks for, else [`PortalService::default_locale`].
//! Amounts, quantities and dates are written for the locale and its region, from glibc's locale
//! data (the `pure-rust-locales` crate); each page says its language in `<html lang>` and
//! `Content-Language`, with `Vary: Accept-Language`.
//!
//! # Security
//!
//! Each client may fail 20 times a minute at each of three things: opening a link (a malformed or
//! unknown token), presenting a viewer cookie (forged, malformed or signed out), and
//! authenticating to `/v1`. Past
//! that its *failing* requests get `429 Too Many Requests` with `Retry-After`; a request with a
//! valid link, cookie or key is never refused because of others' failures. Clients are counted by
//! address (IPv6 by /64), behind the proxies you trust ([`PortalService::trusted_proxies`]);
//! every limit can be changed or turned off ([`PortalService::link_attempt_limit`] and its
//! siblings). A cross-site `POST` to a link or to sign-out (`Sec-Fetch-Site: cross-site`, or an
//! `Origin` other than the public URL's) is refused with 403. Request bodies are bounded to
//! [`MAX_BODY_BYTES`].
//!
//! `/v1` responses carry `Cache-Control: no-store` (the create response holds the link token) and
//! `X-Content-Type-Options: nosniff`; a create body that names a key twice in one object is refused.
//! Pages and `/v1` answers carry `Strict-Transport-Security` when the host asks
//! ([`PortalService::strict_transport_security`]).
//! Responses on `/r` and `/portal` carry `Cache-Control: no-store`, `Referrer-Policy: no-referrer`
//! and a strict Content-Security-Policy ([`page_headers`]; the [`Viewer`] extractor's refusal carries
//! them too). The viewer cookie is `HttpOnly`, `SameSite=Lax`, its `Path` is the mount, and when the
//! public URL is https it is `Secure` and named `__Host-portal_session` at the root or
//! `__Secure-portal_session` under a prefix (`__Host-` requires `Path=/`). Error messages and logs
//! never contain a token or an API key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod auth;
mod client;
mod cookie;
mod data;
mod error;
mod event;
mod frame_ancestor;
mod framing;
mod headers;
mod health;
mod host_link;
mod html;
mod https_url;
mod json;
mod limit;
pub mod mail;
mod mount;
mod openapi;
mod pages;
mod purge;
mod recovery;
mod refusal;
mod request_log;
mod state;
#[cfg(feature = "suite")]
pub mod suite;
mod text;
mod viewer;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use portal_sessions::{Engine, LinkToken, Locale, SessionStore};

pub use crate::api::MAX_BODY_BYTES;
pub use crate::auth::{ApiAuth, AuthError, KeyLookup, StaticApiKeys, api_key};
pub use crate::client::TrustedProxies;
pub use crate::data::{
    BillingInterval, Branding, CustomerBilling, Invoice, InvoiceStatus, OrgRecovery, PortalData,
    PortalDataError, StaticPortalData, Subscription, SubscriptionStatus, UsageLine,
};
pub use crate::event::{WebhookEvent, event_body, event_type};
pub use crate::frame_ancestor::{FrameAncestor, InvalidFrameAncestor};
pub use crate::framing::Framing;
pub use crate::headers::page_headers;
pub use crate::health::{health_check, store_health};
pub use crate::host_link::HostLink;
pub use crate::https_url::{HttpsUrl, NotHttps};
pub use crate::limit::{AttemptLimit, ClientKey};
pub use crate::openapi::openapi_document;
pub use crate::purge::{PURGE_EVERY, PURGE_GRACE, PurgeTask, Purger};
pub use crate::recovery::{LoginOutcome, RecoveryOutcome};
pub use crate::refusal::Refusal;
pub use crate::request_log::{
    LOGGED_PATH_BYTES, RequestLog, RequestLogFuture, RequestLogLayer, loggable_path,
};
pub use crate::viewer::{Viewer, ViewerCheck, ViewerRejection};
/// The attribute macro for implementing [`ApiAuth`] and [`PortalData`], re-exported so that an
/// implementation needs no dependency of its own: `#[portal_sessions_axum::async_trait]`.
pub use async_trait::async_trait;
/// An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), for
/// [`PortalService::trusted_proxies`].
pub use ipnet::IpNet;

use crate::cookie::ViewerCookies;
use crate::headers::{api_headers, api_headers_and_hsts, dress, dress_page, dress_page_and_hsts};
use crate::limit::{LimitSettings, Limits};
use crate::state::Shared;

/// How many login posts may be sending their links at once; a post beyond is answered as usual
/// and sends nothing (logged, and counted as `LoginOutcome::Busy`).
const MAX_LOGIN_TASKS: usize = 64;

/// The portal service: an engine, `/v1` authentication, portal data and the public URL links are
/// minted under. Cheap to clone; [`router`](Self::router) can be called more than once.
pub struct PortalService<S> {
    shared: Shared<S>,
}

impl<S> Clone for PortalService<S> {
    fn clone(&self) -> PortalService<S> {
        PortalService {
            shared: self.shared.clone(),
        }
    }
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
        auth: impl ApiAuth,
        data: impl PortalData,
    ) -> PortalService<S> {
        PortalService {
            shared: Shared {
                engine,
                auth: Arc::new(auth),
                data: Arc::new(data),
                public_url: "http://127.0.0.1:8080".to_owned(),
                origin: "http://127.0.0.1:8080".to_owned(),
                cookies: ViewerCookies::default(),
                limits: Arc::new(Limits::new(LimitSettings::default())),
                show_all_sections: false,
                default_locale: Locale::ENGLISH,
                hsts: false,
                pages_mount: None,
                host_links: Arc::from([]),
                mailer: None,
                mail_tasks: Arc::new(tokio::sync::Semaphore::new(MAX_LOGIN_TASKS)),
            },
        }
    }

    /// The URL customers reach your service's root at: links are `{public_url}{mount}/r/{token}`,
    /// where `{mount}` is wherever the router is nested. An `https` URL (in any case) makes the
    /// viewer cookie `Secure`. Its origin is the only one whose `POST`s to a link or to sign-out
    /// are taken (a cross-site `POST` is refused with 403).
    pub fn public_url(mut self, url: &str) -> PortalService<S> {
        let url = url.trim_end_matches('/');
        self.shared.cookies.secure = url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        self.shared.public_url = url.to_owned();
        let after_scheme = url.find("://").map_or(0, |at| at + 3);
        let origin_end = url[after_scheme..]
            .find('/')
            .map_or(url.len(), |at| after_scheme + at);
        self.shared.origin = url[..origin_end].to_ascii_lowercase();
        self
    }

    fn with_limits(mut self, change: impl FnOnce(&mut LimitSettings)) -> PortalService<S> {
        let mut settings = self.shared.limits.settings.clone();
        change(&mut settings);
        self.shared.limits = Arc::new(Limits::new(settings));
        self
    }

    /// Limits failed link attempts (malformed or unknown tokens) per client; `None` turns the
    /// limit off. On by default, at [`AttemptLimit::default`]. A valid link is never refused.
    pub fn link_attempt_limit(self, limit: Option<AttemptLimit>) -> PortalService<S> {
        self.with_limits(|settings| settings.links = limit)
    }

    /// Limits failed viewer cookies (forged, malformed, or signed out) on the portal, sign-out
    /// and the host's [`Viewer`] pages, per client; `None` turns the limit off. On by default. A
    /// valid cookie is never refused, and a revoked or expired session's cookie is not a failure.
    pub fn cookie_attempt_limit(self, limit: Option<AttemptLimit>) -> PortalService<S> {
        self.with_limits(|settings| settings.cookies = limit)
    }

    /// Limits failed `/v1` authentications per client; `None` turns the limit off. On by default.
    /// A valid key is never refused.
    pub fn api_key_attempt_limit(self, limit: Option<AttemptLimit>) -> PortalService<S> {
        self.with_limits(|settings| settings.api_keys = limit)
    }

    /// The reverse proxies in front of the service: when a connection comes from one of these
    /// networks, the client is the right-most address of `X-Forwarded-For` (or `Forwarded`) that is
    /// not itself a trusted proxy. Empty by default: the client is the connection's peer, and
    /// forwarding headers are ignored.
    pub fn trusted_proxies(self, networks: impl IntoIterator<Item = IpNet>) -> PortalService<S> {
        let networks: Vec<IpNet> = networks.into_iter().collect();
        self.with_limits(|settings| settings.proxies = networks)
    }

    /// Shows all four portal sections whatever a session's `features` say (the reference product's
    /// first version did). Off by default: the portal shows the session's features only.
    pub fn show_all_sections(mut self, all: bool) -> PortalService<S> {
        self.shared.show_all_sections = all;
        self
    }

    /// The locale of a page that knows no better: [`Locale::ENGLISH`] by default.
    ///
    /// A page speaks the `locale` of the session it is about (the portal, the link page, the pages
    /// of a used, expired or revoked link, "session ended" for a genuine cookie, "signed out").
    /// When the session has none, or the page knows no session (an unknown link, a 429), it speaks
    /// the best language the browser's `Accept-Language` asks for ([`Locale::negotiate`]), region
    /// included, and only when that names none of the four this one. Amounts and dates follow the
    /// locale's region where glibc's locale data has it (`fr-CA`, `de-CH`).
    pub fn default_locale(mut self, locale: Locale) -> PortalService<S> {
        self.shared.default_locale = locale;
        self
    }

    /// Sends `Strict-Transport-Security: max-age=31536000` on every link and portal page and every
    /// `/v1` answer: browsers that saw it reach the host over https only, for a year. Off by
    /// default, because the header binds the whole host, not only the router: turn it on when the
    /// host is served over https alone (the `portal-sessions-server` does when its public URL is
    /// https). It never says `includeSubDomains` (other hosts of the domain are not this
    /// service's to bind), and browsers ignore it over plain http.
    pub fn strict_transport_security(mut self, on: bool) -> PortalService<S> {
        self.shared.hsts = on;
        self
    }

    /// How recovery and login pages send links: your provider's [`Mailer`](mail::Mailer), or the
    /// [`SmtpMailer`](mail::SmtpMailer) of the `smtp` feature. Without one (the default), used and
    /// expired links offer no new link and organisations have no login page, whatever
    /// [`PortalData::recovery`] says.
    pub fn mailer(mut self, mailer: impl mail::Mailer) -> PortalService<S> {
        self.shared.mailer = Some(Arc::new(mailer));
        self
    }

    /// Adds a link to one of your own portal pages to the portal's navigation, shown when the
    /// session's features allow it ([`HostLink::for_feature`]). Links appear in the order added.
    pub fn host_link(mut self, link: HostLink) -> PortalService<S> {
        let mut links = self.shared.host_links.to_vec();
        links.push(link);
        self.shared.host_links = Arc::from(links);
        self
    }

    /// Limits posts to login pages per client, found or not (the answer never says which);
    /// `None` turns the limit off. On by default: 10 a minute.
    pub fn login_post_limit(self, limit: Option<AttemptLimit>) -> PortalService<S> {
        self.with_limits(|settings| settings.login_posts = limit)
    }

    /// What the [`Viewer`] extractor needs from your router's state: put it in your state and
    /// implement [`FromRef`](axum::extract::FromRef) for it.
    pub fn viewer_check(&self) -> ViewerCheck {
        ViewerCheck::new(Arc::new(self.shared.clone()))
    }

    /// Where the pages router is nested (`/billing`), for link URLs minted where the request does
    /// not say it: by [`link_url`](Self::link_url), and by `/v1` when the API is mounted apart
    /// from the pages ([`api_router`](Self::api_router) under `/api`, [`pages_router`](Self::pages_router)
    /// under `/billing`). Without it, `/v1` mints links under its own mount, which is right when
    /// both are nested together ([`router`](Self::router)).
    pub fn pages_mount(mut self, prefix: &str) -> PortalService<S> {
        self.shared.pages_mount = Some(mount::Mount::new(prefix));
        self
    }

    /// The URL of a session's link, `{public_url}{pages mount}/r/{token}`: what to send, or to
    /// redirect to, when a host mints from its own routes ("View my billing" in its app) instead
    /// of through `/v1`. The pages mount is [`pages_mount`](Self::pages_mount)'s, else the root.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use portal_sessions::{CreateRequest, Engine, StaticDirectory};
    /// # use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
    /// # use portal_sessions_memory::MemoryStore;
    /// # async fn mint(engine: Arc<Engine<MemoryStore>>, org: portal_sessions::OrgId) -> Result<(), portal_sessions::EngineError> {
    /// let portal = PortalService::new(engine.clone(), StaticApiKeys::default(), StaticPortalData::default())
    ///     .public_url("https://app.example.com")
    ///     .pages_mount("/billing");
    /// let created = engine.create(org, CreateRequest::for_external_id("acme-001")).await?;
    /// let url = portal.link_url(&created.link);
    /// assert!(url.starts_with("https://app.example.com/billing/r/mgl_"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn link_url(&self, link: &LinkToken) -> String {
        let mount = self.shared.pages_mount.clone().unwrap_or_default();
        self.shared.link_url(&mount, link)
    }

    /// The router, for a host router whose state is `T` (`()` when it has none): the `/v1` API,
    /// the pages and `/openapi.json` together. Nest it, merge it or serve it as it is; it registers
    /// only the routes in the table above.
    pub fn router<T: Clone + Send + Sync + 'static>(&self) -> Router<T> {
        Router::new()
            .merge(self.api_router())
            .merge(self.pages_router())
    }

    /// The `/v1` API and `/openapi.json` alone, to mount apart from the pages (say, under `/api`
    /// on an internal listener); tell the service where the pages are
    /// ([`pages_mount`](Self::pages_mount)) so that the links it mints point there.
    pub fn api_router<T: Clone + Send + Sync + 'static>(&self) -> Router<T> {
        let shared = Arc::new(self.shared.clone());
        let api = Router::new()
            .route(
                "/v1/portal-sessions",
                post(api::create::<S>)
                    .get(api::list::<S>)
                    .delete(api::revoke_customer::<S>),
            )
            .route(
                "/v1/portal-sessions/{id}",
                get(api::get::<S>).delete(api::revoke::<S>),
            )
            // No body limit here: a create reads its body itself, bounded
            // (`api::request_body`), and no other route reads one.
            .layer(dress(if self.shared.hsts {
                api_headers_and_hsts
            } else {
                api_headers
            }));
        let description = Router::new().route("/openapi.json", get(openapi::serve::<S>));
        Router::new()
            .merge(api)
            .merge(description)
            .with_state(shared)
    }

    /// The customer's pages alone: links, recovery, login pages and the portal.
    pub fn pages_router<T: Clone + Send + Sync + 'static>(&self) -> Router<T> {
        let shared = Arc::new(self.shared.clone());
        let pages = Router::new()
            .route(
                "/r/{token}",
                get(pages::open_link::<S>).post(pages::redeem_link::<S>),
            )
            .route("/r/{token}/recover", post(recovery::recover::<S>))
            // The one form read with axum's `Form`, which this limit bounds; no other page route
            // reads a body, and a layer over them all would cost each request an extension.
            .route(
                "/login/{org}",
                get(recovery::login_page::<S>)
                    .post(recovery::login_post::<S>)
                    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
            )
            .route("/portal", get(pages::portal::<S>))
            .route("/portal/invoices/{number}", get(pages::invoice::<S>))
            .route("/portal/logout", post(pages::logout::<S>))
            // One layer over every page route, the headers': each layer a router is given wraps
            // every route in a service of its own, which each request clones (a box) and calls
            // again (under callgrind, two layers made one took about 1,000 instructions off a
            // redeem).
            .layer(dress(if self.shared.hsts {
                dress_page_and_hsts
            } else {
                dress_page
            }));
        pages.with_state(shared)
    }
}
