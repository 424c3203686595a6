//! What a host that embeds the router brings of its own, against the memory store: an async
//! `ApiAuth` that sees the request (its messages, its outages, the host middleware's extensions),
//! a `PortalData` that fails, and the switch back to the reference's all-sections portal.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use portal_sessions::{Engine, OrgId, SessionView, StaticDirectory};
use portal_sessions_axum::suite::{App, PUBLIC_URL, acme, org_a};
use portal_sessions_axum::{
    ApiAuth, AuthError, Branding, CustomerBilling, PortalData, PortalDataError, PortalService,
    StaticPortalData, async_trait,
};
use portal_sessions_conformance::fixture::start_time;
use portal_sessions_memory::MemoryStore;
use serde_json::json;

/// The host's tenant, as the host's own authentication middleware decided it.
#[derive(Clone, Copy)]
struct Tenant(OrgId);

/// The host's middleware: `Bearer tenant-a` is tenant A; `Bearer down` stands for a key store that
/// does not answer. It only records what it found; the portal's `ApiAuth` decides.
async fn host_auth(mut request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    if bearer.as_deref() == Some("tenant-a") {
        request.extensions_mut().insert(Tenant(org_a()));
    }
    next.run(request).await
}

/// Reads the tenant the host middleware put in the request, after an await (a database would be
/// here).
struct FromHostMiddleware;

#[async_trait]
impl ApiAuth for FromHostMiddleware {
    async fn authenticate(&self, request: &Parts) -> Result<OrgId, AuthError> {
        tokio::task::yield_now().await;
        if request.headers.get(header::AUTHORIZATION)
            == Some(&HeaderValue::from_static("Bearer down"))
        {
            return Err(AuthError::unavailable(std::io::Error::other(
                "tenant database refused the connection",
            )));
        }
        match request.extensions.get::<Tenant>() {
            Some(Tenant(org)) => Ok(*org),
            None => Err(AuthError::unauthenticated(
                "sign in to the host first: send `Authorization: Bearer <tenant token>`",
            )),
        }
    }
}

/// Branding that loads, billing that does not.
struct BillingDown;

#[async_trait]
impl PortalData for BillingDown {
    async fn branding(&self, _org: OrgId) -> Result<Option<Branding>, PortalDataError> {
        Ok(Some(Branding::new("Down Co").with_brand_color("#123456")))
    }

    async fn billing(&self, _session: &SessionView) -> Result<CustomerBilling, PortalDataError> {
        Err(PortalDataError(Box::new(std::io::Error::other(
            "billing service timed out",
        ))))
    }
}

fn engine() -> Arc<Engine<MemoryStore>> {
    let mut directory = StaticDirectory::default();
    directory.insert(org_a(), acme()).unwrap();
    Arc::new(Engine::new(MemoryStore::new(), directory))
}

fn app(service: PortalService<MemoryStore>) -> App {
    let router: Router = service
        .public_url(PUBLIC_URL)
        .router()
        .layer(middleware::from_fn(host_auth));
    App::from_router(router, portal_sessions::ManualClock::new(start_time()))
}

fn bearer(token: &str) -> Request<Body> {
    axum::http::Request::builder()
        .uri("/v1/portal-sessions")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_host_auth_sees_the_request_and_speaks_for_itself() {
    let app = app(PortalService::new(
        engine(),
        FromHostMiddleware,
        StaticPortalData::default(),
    ));
    let ok = app.send(bearer("tenant-a")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body, "[]");

    let refused = app.send(bearer("someone-else")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.error_type(), "authentication_error");
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        message,
        "sign in to the host first: send `Authorization: Bearer <tenant token>`"
    );
    assert!(
        !message.contains("mf_sk_"),
        "the message names another scheme's keys"
    );

    let down = app.send(bearer("down")).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.error_type(), "unavailable");
    assert!(
        !down.body.contains("refused the connection"),
        "the cause is logged, not sent"
    );
}

#[tokio::test]
async fn billing_that_fails_is_a_branded_503_and_all_sections_can_be_forced() {
    let engine = engine();
    let mut keys = portal_sessions_axum::StaticApiKeys::default();
    keys.add_secret("mf_sk_test_embedding_0001", org_a());
    let down = app(PortalService::new(
        engine.clone(),
        keys.clone(),
        BillingDown,
    ));
    let created = down
        .call(
            "POST",
            "/v1/portal-sessions",
            Some("mf_sk_test_embedding_0001"),
            Some(json!({"customerExternalId": "acme-001", "features": ["usage"]})),
        )
        .await
        .json();
    let cookie = down.redeem(&created).await;
    let page = down.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("Billing data unavailable"));
    assert!(page.body.contains("Down Co") && page.body.contains("#123456"));
    assert!(!page.body.contains("timed out"));

    // The same session through a service that shows every section, as the reference's v1 did.
    let all =
        app(PortalService::new(engine, keys, StaticPortalData::default()).show_all_sections(true));
    let full = all.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(full.status, StatusCode::OK);
    for section in [
        "id=\"subscriptions\"",
        "id=\"invoices\"",
        "id=\"usage\"",
        "id=\"profile\"",
    ] {
        assert!(
            full.body.contains(section),
            "{section} missing with show_all_sections"
        );
    }
}

/// `Strict-Transport-Security` binds the whole host, so the router sends it only when the host
/// asks: then on every `/v1` answer and every page (errors included), a year, this host only.
#[tokio::test]
async fn strict_transport_security_is_sent_only_when_the_host_asks() {
    let engine = engine();
    let mut keys = portal_sessions_axum::StaticApiKeys::default();
    keys.add_secret("mf_sk_test_embedding_0001", org_a());
    let service = PortalService::new(engine, keys, StaticPortalData::default());
    let key = Some("mf_sk_test_embedding_0001");
    let body = json!({"customerExternalId": "acme-001"});
    for asked in [false, true] {
        let app = app(service.clone().strict_transport_security(asked));
        let created = app
            .call("POST", "/v1/portal-sessions", key, Some(body.clone()))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let link = app.path_of(created.json()["url"].as_str().unwrap());
        let replies = [
            created,
            app.call("GET", "/v1/portal-sessions", key, None).await,
            app.call("GET", "/v1/portal-sessions", None, None).await,
            app.page("GET", &link, None).await,
            app.page("GET", "/r/mgl_nope", None).await,
            app.page("GET", "/portal", None).await,
        ];
        for reply in replies {
            let hsts = reply.headers.get("strict-transport-security");
            if asked {
                assert_eq!(
                    hsts.map(|v| v.to_str().unwrap()),
                    Some("max-age=31536000"),
                    "{}: {}",
                    reply.status,
                    reply.body
                );
            } else {
                assert!(hsts.is_none(), "{}: sent unasked", reply.status);
            }
        }
    }
}

/// The API and the pages mounted apart (`/api` and `/billing`), with the service told where the
/// pages are: `/v1` mints links under the pages' mount, `link_url` (a mint from the host's own
/// route) gives the same form, and the link opens under `/billing` only. The API router has no
/// pages and the pages router no API.
#[tokio::test]
async fn the_api_and_the_pages_mounted_apart_mint_links_to_the_pages() {
    let engine = engine();
    let mut keys = portal_sessions_axum::StaticApiKeys::default();
    keys.add_secret(portal_sessions_axum::suite::KEY_A, org_a());
    let portal = PortalService::new(engine.clone(), keys, StaticPortalData::default())
        .public_url(PUBLIC_URL)
        .pages_mount("/billing");
    let router: Router = Router::new()
        .nest("/api", portal.api_router())
        .nest("/billing", portal.pages_router());
    let app = App::from_router(router, portal_sessions::ManualClock::new(start_time()));

    let created = app
        .call(
            "POST",
            "/api/v1/portal-sessions",
            Some(portal_sessions_axum::suite::KEY_A),
            Some(json!({"customerExternalId": "acme-001"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let url = created.json()["url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(PUBLIC_URL).unwrap().to_owned();
    assert!(path.starts_with("/billing/r/mgl_"), "{url}");
    assert_eq!(app.page("GET", &path, None).await.status, StatusCode::OK);
    let elsewhere = path.replacen("/billing", "/api", 1);
    assert_eq!(
        app.page("GET", &elsewhere, None).await.status,
        StatusCode::NOT_FOUND,
        "the API router has no pages"
    );
    let no_api = app
        .call(
            "GET",
            "/billing/v1/portal-sessions",
            Some(portal_sessions_axum::suite::KEY_A),
            None,
        )
        .await;
    assert_eq!(
        no_api.status,
        StatusCode::NOT_FOUND,
        "the pages router has no API"
    );

    // A mint from the host's own route, and its URL.
    let minted = engine
        .create(
            org_a(),
            portal_sessions::CreateRequest::for_external_id("acme-001"),
        )
        .await
        .unwrap();
    let url = portal.link_url(&minted.link);
    assert_eq!(
        url,
        format!("{PUBLIC_URL}/billing/r/{}", minted.link.expose_secret())
    );
    let path = url.strip_prefix(PUBLIC_URL).unwrap();
    let opened = app.page("POST", path, None).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.header("location"), "/billing/portal");
}
