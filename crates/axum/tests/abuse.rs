//! Hostile clients against the memory store: failed links, forged cookies and bad API keys are
//! limited per client (IPv4 address or IPv6 /64), directly and behind trusted proxies, and never at
//! the expense of a valid link, cookie or key; cross-site POSTs are refused and change nothing.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use portal_sessions::{Engine, ManualClock, SessionStore, StaticDirectory};
use portal_sessions_axum::suite::{App, KEY_A, PUBLIC_URL, acme, org_a};
use portal_sessions_axum::{AttemptLimit, PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_conformance::fixture::{new_link, start_time};
use portal_sessions_memory::MemoryStore;
use serde_json::{Value, json};

struct Abuse {
    app: App,
    store: Arc<MemoryStore>,
}

fn service(store: Arc<MemoryStore>) -> PortalService<Arc<MemoryStore>> {
    let mut directory = StaticDirectory::default();
    directory.insert(org_a(), acme()).unwrap();
    let mut keys = StaticApiKeys::default();
    keys.add_secret(KEY_A, org_a());
    PortalService::new(
        Arc::new(Engine::new(store, directory)),
        keys,
        StaticPortalData::default(),
    )
    .public_url(PUBLIC_URL)
}

fn abuse(
    configure: impl FnOnce(PortalService<Arc<MemoryStore>>) -> PortalService<Arc<MemoryStore>>,
) -> Abuse {
    let store = Arc::new(MemoryStore::new());
    let router: Router = configure(service(store.clone())).router();
    Abuse {
        app: App::from_router(router, ManualClock::new(start_time())),
        store,
    }
}

/// A request from `peer`, with extra headers.
fn from(peer: &str, method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let ip: IpAddr = peer.parse().unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
    request
}

impl Abuse {
    async fn mint(&self) -> (String, String) {
        let created = self
            .app
            .call(
                "POST",
                "/v1/portal-sessions",
                Some(KEY_A),
                Some(json!({"customerExternalId": "acme-001"})),
            )
            .await
            .json();
        (
            self.app.path_of(created["url"].as_str().unwrap()),
            created["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Every record, to show a refused request changed nothing.
    async fn records(&self) -> Vec<portal_sessions::SessionRecord> {
        let query = portal_sessions::ListQuery {
            max_lifetime: portal_sessions::MAX_TTL,
            org_id: org_a(),
            customer_id: None,
            limit: 1_000,
            filter: portal_sessions::ListFilter::All,
            after: None,
        };
        self.store.list(&query).await.unwrap()
    }

    /// Sends `count` requests; returns their statuses.
    async fn statuses(&self, count: usize, make: impl Fn(usize) -> Request<Body>) -> Vec<u16> {
        let mut statuses = Vec::new();
        for n in 0..count {
            statuses.push(self.app.send(make(n)).await.status.as_u16());
        }
        statuses
    }
}

fn bad_link(n: usize) -> String {
    if n.is_multiple_of(2) {
        format!("/r/{}", new_link().expose_secret())
    } else {
        format!("/r/mgl_garbage{n}")
    }
}

/// 20 failures are answered as failures, the next 5 with 429.
fn assert_limited_after_20(statuses: &[u16], failure: u16) {
    assert_eq!(statuses.len(), 25);
    assert!(statuses[..20].iter().all(|s| *s == failure), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
}

#[tokio::test]
async fn failed_links_never_lock_a_valid_link_out() {
    let a = abuse(|service| service);
    let statuses = a
        .statuses(25, |n| from("198.51.100.7", "POST", &bad_link(n), &[]))
        .await;
    assert_limited_after_20(&statuses, 404);
    let limited = a
        .app
        .send(from("198.51.100.7", "GET", &bad_link(1), &[]))
        .await;
    assert_eq!(limited.header("retry-after"), "60");
    assert_eq!(limited.header("cache-control"), "no-store");

    // The customer behind the same address: their link opens, GET and POST.
    let (link, _) = a.mint().await;
    assert_eq!(
        a.app
            .send(from("198.51.100.7", "GET", &link, &[]))
            .await
            .status,
        StatusCode::OK
    );
    let redeemed = a.app.send(from("198.51.100.7", "POST", &link, &[])).await;
    assert_eq!(redeemed.status, StatusCode::SEE_OTHER, "{}", redeemed.body);
    // Used links are not guesses: they are answered 410, never 429.
    for _ in 0..3 {
        let again = a.app.send(from("198.51.100.7", "POST", &link, &[])).await;
        assert_eq!(again.status, StatusCode::GONE);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_counts_for_itself() {
    let a = abuse(|service| service.trusted_proxies(["10.0.0.0/8".parse().unwrap()]));
    let statuses = a
        .statuses(25, |n| {
            from(
                "10.0.0.1",
                "POST",
                &bad_link(n),
                &[("x-forwarded-for", "198.51.100.7")],
            )
        })
        .await;
    assert_limited_after_20(&statuses, 404);
    // Another customer behind the same proxy is not slowed.
    let other = a
        .app
        .send(from(
            "10.0.0.1",
            "POST",
            &bad_link(2),
            &[("x-forwarded-for", "198.51.100.8")],
        ))
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // The limited client's own valid link still opens, and its address is the one recorded.
    let (link, id) = a.mint().await;
    let redeemed = a
        .app
        .send(from(
            "10.0.0.1",
            "POST",
            &link,
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.7")],
        ))
        .await;
    assert_eq!(redeemed.status, StatusCode::SEE_OTHER);
    let record = a.store.get(&id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        record.redeemed_by.and_then(|by| by.ip),
        Some("198.51.100.7".parse().unwrap())
    );
}

#[tokio::test]
async fn an_untrusted_peer_cannot_forward_its_way_out_of_the_limit() {
    let a = abuse(|service| service.trusted_proxies(["10.0.0.0/8".parse().unwrap()]));
    let statuses = a
        .statuses(25, |n| {
            let forged = format!("192.0.2.{n}");
            from(
                "203.0.113.66",
                "POST",
                &bad_link(n),
                &[("x-forwarded-for", forged.as_str())],
            )
        })
        .await;
    assert_limited_after_20(&statuses, 404);
}

#[tokio::test]
async fn ipv6_clients_count_per_64() {
    let a = abuse(|service| service);
    let statuses = a
        .statuses(25, |n| {
            from(
                &format!("2001:db8:7:7::{:x}", n + 1),
                "GET",
                &bad_link(n),
                &[],
            )
        })
        .await;
    assert_limited_after_20(&statuses, 404);
    let neighbour = a
        .app
        .send(from("2001:db8:7:8::1", "GET", &bad_link(1), &[]))
        .await;
    assert_eq!(
        neighbour.status,
        StatusCode::NOT_FOUND,
        "another /64 is another client"
    );
}

#[tokio::test]
async fn forged_cookies_are_limited_and_a_valid_cookie_is_not() {
    let a = abuse(|service| service);
    let (link, _) = a.mint().await;
    let cookie = {
        let redeemed = a.app.send(from("198.51.100.9", "POST", &link, &[])).await;
        redeemed
            .header("set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    let forged = |n: usize| {
        if n.is_multiple_of(2) {
            // A well-formed viewer token with a valid checksum, minted offline for a session that
            // does not exist.
            format!("__Host-portal_session={}", forged_viewer())
        } else {
            "__Host-portal_session=mgv_nonsense".to_owned()
        }
    };
    let statuses = a
        .statuses(25, |n| {
            let path = if n.is_multiple_of(3) {
                "/portal/logout"
            } else {
                "/portal"
            };
            let method = if n.is_multiple_of(3) { "POST" } else { "GET" };
            from(
                "198.51.100.9",
                method,
                path,
                &[("cookie", forged(n).as_str())],
            )
        })
        .await;
    assert!(
        statuses[..20].iter().all(|s| *s == 401 || *s == 200),
        "{statuses:?}"
    );
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    let portal = a
        .app
        .send(from(
            "198.51.100.9",
            "GET",
            "/portal",
            &[("cookie", cookie.as_str())],
        ))
        .await;
    assert_eq!(
        portal.status,
        StatusCode::OK,
        "the valid cookie still opens the portal"
    );
    // No cookie at all is not a guess.
    let none = a
        .app
        .send(from("198.51.100.9", "GET", "/portal", &[]))
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}

/// A viewer token for a session nobody minted, with a valid checksum.
fn forged_viewer() -> String {
    portal_sessions::ViewerToken::generate(new_link().session_id())
        .unwrap()
        .expose_secret()
}

#[tokio::test]
async fn bad_api_keys_are_limited_and_a_valid_key_is_not() {
    let a = abuse(|service| service);
    let statuses = a
        .statuses(25, |n| {
            let key = format!("mf_sk_guess_{n:04}");
            from(
                "198.51.100.10",
                "GET",
                "/v1/portal-sessions",
                &[("x-api-key", key.as_str())],
            )
        })
        .await;
    assert_limited_after_20(&statuses, 401);
    let limited = a
        .app
        .send(from(
            "198.51.100.10",
            "GET",
            "/v1/portal-sessions",
            &[("x-api-key", "mf_sk_nope")],
        ))
        .await;
    assert_eq!(limited.error_type(), "rate_limited");
    assert_eq!(limited.header("retry-after"), "60");
    let valid = a
        .app
        .send(from(
            "198.51.100.10",
            "GET",
            "/v1/portal-sessions",
            &[("x-api-key", KEY_A)],
        ))
        .await;
    assert_eq!(valid.status, StatusCode::OK);
}

#[tokio::test]
async fn limits_can_be_turned_off() {
    let a = abuse(|service| {
        service
            .link_attempt_limit(None)
            .cookie_attempt_limit(None)
            .api_key_attempt_limit(Some(AttemptLimit {
                max_failures: 1_000,
                ..AttemptLimit::default()
            }))
    });
    let statuses = a
        .statuses(30, |n| from("198.51.100.11", "POST", &bad_link(n), &[]))
        .await;
    assert!(statuses.iter().all(|s| *s == 404), "{statuses:?}");
    let cookies = a
        .statuses(30, |_| {
            from(
                "198.51.100.11",
                "GET",
                "/portal",
                &[("cookie", "__Host-portal_session=mgv_x")],
            )
        })
        .await;
    assert!(cookies.iter().all(|s| *s == 401), "{cookies:?}");
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let a = abuse(|service| service);
    let (link, _) = a.mint().await;
    let before = a.records().await;
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null"), ("sec-fetch-site", "same-site")],
        vec![("origin", "http://billing.example.test")],
    ] {
        let reply = a
            .app
            .send(from("198.51.100.12", "POST", &link, &headers))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(a.records().await, before, "{headers:?} changed the store");
    }
    let same_site = a
        .app
        .send(from(
            "198.51.100.12",
            "POST",
            &link,
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        ))
        .await;
    assert_eq!(same_site.status, StatusCode::SEE_OTHER);
    let cookie = same_site
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // A hidden origin without Sec-Fetch-Site (a browser on plain http): let through.
    let (hidden, _) = a.mint().await;
    let plain_http = a
        .app
        .send(from(
            "198.51.100.12",
            "POST",
            &hidden,
            &[("origin", "null")],
        ))
        .await;
    assert_eq!(plain_http.status, StatusCode::SEE_OTHER);
    // The origin of the public URL, in any case, is ours.
    let (second, _) = a.mint().await;
    let ours = a
        .app
        .send(from(
            "198.51.100.12",
            "POST",
            &second,
            &[("origin", "HTTPS://billing.example.test")],
        ))
        .await;
    assert_eq!(ours.status, StatusCode::SEE_OTHER);
    let logout = a
        .app
        .send(from(
            "198.51.100.12",
            "POST",
            "/portal/logout",
            &[
                ("cookie", cookie.as_str()),
                ("sec-fetch-site", "cross-site"),
            ],
        ))
        .await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    let portal = a
        .app
        .send(from(
            "198.51.100.12",
            "GET",
            "/portal",
            &[("cookie", cookie.as_str())],
        ))
        .await;
    assert_eq!(
        portal.status,
        StatusCode::OK,
        "a cross-site sign-out signed the viewer out"
    );
}

#[tokio::test]
async fn an_https_public_url_in_any_case_makes_the_cookie_secure() {
    let store = Arc::new(MemoryStore::new());
    let router: Router = service(store)
        .public_url("HTTPS://Billing.Example.Test")
        .router();
    let app = App::from_router(router, ManualClock::new(start_time()));
    let created: Value = app
        .call(
            "POST",
            "/v1/portal-sessions",
            Some(KEY_A),
            Some(json!({"customerExternalId": "acme-001"})),
        )
        .await
        .json();
    let url = created["url"].as_str().unwrap();
    let link = &url[url.find("/r/").unwrap()..];
    let redeemed = app
        .send(
            Request::builder()
                .method("POST")
                .uri(link)
                .header(header::ORIGIN, "https://billing.example.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let cookie = redeemed.header("set-cookie");
    assert!(
        cookie.starts_with("__Host-portal_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn pages_allow_their_own_inline_code_only_by_a_fresh_nonce() {
    let a = abuse(|service| service);
    let (link, _) = a.mint().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = a.app.send(from("198.51.100.13", "GET", &link, &[])).await;
        let policy = page.header("content-security-policy").to_owned();
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap()
            .to_owned();
        assert_eq!(nonce.len(), 32, "{policy}");
        assert!(page.body.contains(&format!("<style nonce=\"{nonce}\">")));
        assert!(page.body.contains(&format!("<script nonce=\"{nonce}\">")));
        assert!(
            !page.body.contains("<script>") && !page.body.contains("<style>"),
            "inline code without the nonce"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a nonce is never reused");
    let ended = a
        .app
        .send(from("198.51.100.13", "GET", "/portal", &[]))
        .await;
    assert!(
        ended
            .header("content-security-policy")
            .contains("script-src 'nonce-"),
        "the session-ended page has its own policy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_cannot_slip_between_check_and_count() {
    let a = Arc::new(abuse(|service| service));
    let mut tasks = Vec::new();
    for n in 0..50 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            a.app
                .send(from("198.51.100.14", "POST", &bad_link(n), &[]))
                .await
                .status
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        30,
        "{statuses:?}"
    );
}
