//! Links and the portal they open: showing a link, redeeming it once, the viewer cookie, expiry,
//! revocation and sign-out, the branded pages about a used, revoked or expired link, and a used
//! link opened again in the browser that holds its live portal.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portal_sessions::SessionStore;
use serde_json::json;

use super::fixture::{KEY_A, is_timestamp};
use super::host::{Mounted, app};

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

    app.revoke(&created).await;
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
    app.revoke(&revoked_link).await;
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

/// Pages about a genuine link or session carry its organisation's branding; pages about a link
/// nobody minted do not.
pub async fn message_pages_are_branded<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let used = app.create(json!({"customerExternalId": "acme-001"})).await;
    app.redeem(&used).await;
    let revoked = app.create(json!({"customerExternalId": "acme-001"})).await;
    app.revoke(&revoked).await;
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
