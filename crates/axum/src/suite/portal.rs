//! The portal inside a host app: links, redirects, forms and cookies that carry the mount, the
//! host's own routes beside the portal's, the sections a session's features show, the return URL,
//! the host's page behind [`Viewer`](crate::Viewer), and lifetimes stated as configured.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portal_sessions::SessionStore;
use serde_json::json;

use super::fixture::{KEY_A, PUBLIC_URL};
use super::host::{Mounted, app, app_with_ttl};

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
    assert_eq!(created.header("x-content-type-options"), "nosniff");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    for (method, uri, key) in [
        ("GET", "/v1/portal-sessions".to_owned(), Some(KEY_A)),
        ("GET", format!("/v1/portal-sessions/{id}"), Some(KEY_A)),
        ("GET", "/v1/portal-sessions".to_owned(), None),
        ("GET", "/v1/portal-sessions?limit=0".to_owned(), Some(KEY_A)),
        (
            "DELETE",
            "/v1/portal-sessions/ps_nope".to_owned(),
            Some(KEY_A),
        ),
    ] {
        let reply = app.call(method, &uri, key, None).await;
        assert_eq!(reply.header("cache-control"), "no-store", "{method} {uri}");
        assert_eq!(
            reply.header("x-content-type-options"),
            "nosniff",
            "{method} {uri}"
        );
        // Strict-Transport-Security binds the whole host: the router sends it only when asked.
        assert!(
            !reply.headers.contains_key("strict-transport-security"),
            "{method} {uri}"
        );
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
/// own page behind [`Viewer`](crate::Viewer) sees the session, and gets "session ended" once it is
/// revoked.
pub async fn features_return_url_and_host_pages<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let back = "https://app.example.test/account?tab=billing";
    let created = app
        .create(
            json!({"customerExternalId": "acme-001", "features": ["invoices"], "returnUrl": back}),
        )
        .await;
    let item = app.item(&created).await;
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
        "id=\"subscriptions\"",
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
            "<p>Host statement for Acme Corp (invoices); back to {}</p>",
            app.mounted("/portal")
        )
    );
    // A host page under `page_headers`: an organisation without frame ancestors is framed by none.
    assert_eq!(statement.header("x-frame-options"), "DENY");
    assert!(
        statement
            .header("content-security-policy")
            .contains("script-src 'none'; form-action 'self'; frame-ancestors 'none'"),
        "{}",
        statement.header("content-security-policy")
    );

    let everything = app.create(json!({"customerExternalId": "acme-001"})).await;
    let all_cookie = app.redeem(&everything).await;
    let full = app.page("GET", "/portal", Some(&all_cookie)).await;
    for section in [
        "id=\"subscriptions\"",
        "id=\"invoices\"",
        "id=\"usage\"",
        "id=\"profile\"",
    ] {
        assert!(full.body.contains(section), "{section} missing by default");
    }
    assert!(!full.body.contains("Back to"), "no return URL, no way back");
    let signed_out = app.page("POST", "/portal/logout", Some(&all_cookie)).await;
    assert!(signed_out.body.contains("Signed out") && signed_out.body.contains("Demo Co"));

    app.revoke(&created).await;
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

/// Invoices the customer can act on: an open invoice is summed up at the top of the portal with
/// its Pay link, every invoice with a PDF has one, and both open outside the portal and any frame;
/// each invoice has its own page behind the portal cookie (its number percent-encoded), with Pay,
/// PDF and the way back; a number the customer does not have, or a session without invoices, is a
/// branded 404 that leads back to the portal; without the cookie, "session ended".
pub async fn invoice_pages_pay_and_pdf<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app.create(json!({"customerExternalId": "acme-001"})).await;
    let cookie = app.redeem(&created).await;
    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(portal.status, StatusCode::OK);
    let pay =
        "href=\"https://pay.example.test/inv/43\" target=\"_blank\" rel=\"noopener noreferrer\"";
    assert_eq!(
        portal.body.matches(pay).count(),
        2,
        "in the summary and the table"
    );
    assert!(portal.body.contains("To pay"));
    let due_at = portal.body.find("id=\"due\"").unwrap();
    let table_at = portal.body.find("id=\"invoices\"").unwrap();
    assert!(due_at < table_at, "what is due comes first");
    for pdf in ["inv/43.pdf", "inv/42.pdf"] {
        assert!(
            portal.body.contains(&format!(
                "href=\"https://files.example.test/{pdf}\" target=\"_blank\" rel=\"noopener noreferrer\""
            )),
            "{pdf}"
        );
    }
    assert!(
        !portal.body.contains("https://pay.example.test/inv/42"),
        "a paid invoice has no Pay"
    );
    let page_link = format!("href=\"{}\"", app.mounted("/portal/invoices/INV-2026-0043"));
    assert!(portal.body.contains(&page_link), "{}", portal.body);
    let host_link = format!("href=\"{}\"", app.mounted("/portal/statement"));
    assert!(
        portal.body.contains(&host_link),
        "the host's page in the navigation"
    );

    for path in [
        "/portal/invoices/INV-2026-0043",
        "/portal/invoices/INV%2D2026%2D0043",
    ] {
        let invoice = app.page("GET", path, Some(&cookie)).await;
        assert_eq!(invoice.status, StatusCode::OK, "{path}");
        assert!(invoice.body.contains("Invoice INV-2026-0043"));
        assert!(invoice.body.contains("$61.20"));
        assert!(invoice.body.contains(pay));
        assert!(
            invoice
                .body
                .contains(&format!("href=\"{}\"", app.mounted("/portal")))
        );
        assert_eq!(invoice.header("cache-control"), "no-store");
    }
    let missing = app
        .page("GET", "/portal/invoices/INV-9999", Some(&cookie))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Invoice not found") && missing.body.contains("Demo Co"));
    assert!(
        missing
            .body
            .contains(&format!("href=\"{}\"", app.mounted("/portal")))
    );
    let ended = app
        .page("GET", "/portal/invoices/INV-2026-0043", None)
        .await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);

    // A session that shows usage only: no summary, no invoice page.
    let usage = app
        .create(json!({"customerExternalId": "acme-001", "features": ["usage"]}))
        .await;
    let cookie = app.redeem(&usage).await;
    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert!(!portal.body.contains("To pay") && !portal.body.contains("pay.example.test"));
    assert!(
        !portal.body.contains(&host_link),
        "a host link for invoices, hidden from a session without them"
    );
    let hidden = app
        .page("GET", "/portal/invoices/INV-2026-0043", Some(&cookie))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

/// A link opens where its email was about: create's `invoice` lands on that invoice's page (its
/// number percent-encoded), `section` on that section; both, an invoice for a session without
/// invoices, or a section the session does not show, are a 400 that mints nothing; items echo
/// them.
pub async fn deep_links_open_an_invoice_or_a_section<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app
        .create(json!({"customerExternalId": "acme-001", "invoice": "INV-2026-0043"}))
        .await;
    assert_eq!(created["invoice"], "INV-2026-0043");
    assert_eq!(created["section"], serde_json::Value::Null);
    let link = app.path_of(created["url"].as_str().unwrap());
    let redeemed = app.page("POST", &link, None).await;
    assert_eq!(redeemed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        redeemed.header("location"),
        app.mounted("/portal/invoices/INV-2026-0043")
    );
    let cookie = redeemed
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = app
        .page("GET", "/portal/invoices/INV-2026-0043", Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);

    let odd = app
        .create(json!({"customerExternalId": "acme-001", "invoice": "A/B ?é"}))
        .await;
    let redeemed = app
        .page("POST", &app.path_of(odd["url"].as_str().unwrap()), None)
        .await;
    assert_eq!(
        redeemed.header("location"),
        app.mounted("/portal/invoices/A%2FB%20%3F%C3%A9")
    );

    let section = app
        .create(json!({"customerExternalId": "acme-001", "section": "usage"}))
        .await;
    assert_eq!(section["section"], "usage");
    let redeemed = app
        .page("POST", &app.path_of(section["url"].as_str().unwrap()), None)
        .await;
    assert_eq!(redeemed.header("location"), app.mounted("/portal#usage"));
    let item = app.item(&section).await;
    assert_eq!(item["section"], "usage");

    let before = app.everything().await.len();
    for (body, words) in [
        (
            json!({"customerExternalId": "acme-001", "invoice": "INV-1", "section": "usage"}),
            "not both",
        ),
        (
            json!({"customerExternalId": "acme-001", "invoice": "INV-1", "features": ["usage"]}),
            "invoice",
        ),
        (
            json!({"customerExternalId": "acme-001", "section": "profile", "features": ["usage"]}),
            "section",
        ),
        (
            json!({"customerExternalId": "acme-001", "invoice": ""}),
            "invoice",
        ),
        (
            json!({"customerExternalId": "acme-001", "invoice": "x".repeat(65)}),
            "invoice",
        ),
        (
            json!({"customerExternalId": "acme-001", "invoice": "A\u{7}"}),
            "invoice",
        ),
        (
            json!({"customerExternalId": "acme-001", "section": "billing"}),
            "section",
        ),
        (
            json!({"customerExternalId": "acme-001", "invoice": 42}),
            "invoice",
        ),
    ] {
        let refused = app
            .call(
                "POST",
                "/v1/portal-sessions",
                Some(KEY_A),
                Some(body.clone()),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        let message = refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(words), "{body}: {message}");
    }
    assert_eq!(app.everything().await.len(), before, "nothing minted");
}
