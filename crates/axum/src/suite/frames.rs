//! An organisation whose pages other sites may frame (`Branding::frame_ancestors`): exactly those
//! ancestors in the Content-Security-Policy and no `X-Frame-Options`, the frame told its height,
//! a link page that does not consume the link in a frame that cannot keep the cookie, a cookie
//! a cross-site frame keeps, and the host's own page framed alike when it passes the framing on;
//! every other organisation's pages stay unframable.

use axum::http::StatusCode;
use portal_sessions::SessionStore;
use serde_json::json;

use super::fixture::KEY_B;
use super::host::{FRAMING_APP, Mounted, app};

/// Organisation B may be framed, organisation A may not: their pages, cookies and scripts say so.
pub async fn framed_pages_and_their_cookie<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app
        .create_as(KEY_B, json!({"customerExternalId": "umbrella-003"}))
        .await;
    let link = app.path_of(created["url"].as_str().unwrap());
    let shown = app.page("GET", &link, None).await;
    assert_eq!(shown.status, StatusCode::OK);
    let policy = shown.header("content-security-policy").to_owned();
    assert!(
        policy.contains(&format!(
            "frame-ancestors {FRAMING_APP} http://localhost:3000;"
        )),
        "{policy}"
    );
    assert!(
        shown.header("x-frame-options").is_empty(),
        "no DENY for a framable page"
    );
    assert!(
        shown.body.contains("portal-sessions:height"),
        "the frame is told its height"
    );
    assert!(
        shown
            .body
            .contains("data-portal-frame-ancestors=\"[&quot;https://app.umbrella.test&quot;,&quot;http://localhost:3000&quot;]\""),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("id=\"new-tab\" hidden"),
        "the new-tab way, hidden until needed"
    );
    assert!(
        shown.body.contains("Partitioned"),
        "the script probes a partitioned cookie"
    );

    let redeemed = app.page("POST", &link, None).await;
    assert_eq!(redeemed.status, StatusCode::SEE_OTHER);
    let cookie = redeemed.header("set-cookie").to_owned();
    for part in ["SameSite=None", "Secure", "Partitioned", "HttpOnly"] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    assert!(!cookie.contains("SameSite=Lax"));
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(portal.header("x-frame-options").is_empty());
    assert!(
        portal
            .header("content-security-policy")
            .contains(FRAMING_APP)
    );
    // The host's own page, given the session's framing: framed by the same origins, and the one
    // script it may run (by hash) tells the frame its height.
    let statement = app.page("GET", "/portal/statement", Some(&cookie)).await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    assert!(statement.header("x-frame-options").is_empty());
    let policy = statement.header("content-security-policy");
    assert!(
        policy.contains(&format!(
            "frame-ancestors {FRAMING_APP} http://localhost:3000;"
        )) && policy.contains("script-src 'sha256-")
            && !policy.contains("script-src 'unsafe"),
        "{policy}"
    );
    assert!(
        statement.body.contains("portal-sessions:height")
            && statement.body.contains("data-portal-frame-ancestors="),
        "{}",
        statement.body
    );
    let out = app.page("POST", "/portal/logout", Some(&cookie)).await;
    assert!(
        out.header("set-cookie").contains("Partitioned"),
        "cleared as it was set"
    );
    // The host page's "session ended" (of a revoked session, still known by its cookie), under
    // `page_headers` too, is framed as the portal's is.
    let revoked = app
        .create_as(KEY_B, json!({"customerExternalId": "umbrella-003"}))
        .await;
    let revoked_cookie = app.redeem(&revoked).await;
    app.revoke_as(KEY_B, &revoked).await;
    let ended = app
        .page("GET", "/portal/statement", Some(&revoked_cookie))
        .await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "{}", ended.body);
    assert!(ended.header("x-frame-options").is_empty());
    assert!(
        ended
            .header("content-security-policy")
            .contains(&format!("frame-ancestors {FRAMING_APP} "))
    );

    // Organisation A: no page may frame it.
    let other = app.create(json!({"customerExternalId": "acme-001"})).await;
    let link = app.path_of(other["url"].as_str().unwrap());
    let shown = app.page("GET", &link, None).await;
    assert_eq!(shown.header("x-frame-options"), "DENY");
    assert!(
        shown
            .header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert!(!shown.body.contains("portal-sessions:height"));
    let redeemed = app.page("POST", &link, None).await;
    let cookie = redeemed.header("set-cookie");
    assert!(
        cookie.contains("SameSite=Lax") && !cookie.contains("Partitioned"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let statement = app.page("GET", "/portal/statement", Some(&cookie)).await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    assert_eq!(statement.header("x-frame-options"), "DENY");
    assert!(
        statement
            .header("content-security-policy")
            .contains("script-src 'none'; form-action 'self'; frame-ancestors 'none'")
    );
    assert!(!statement.body.contains("portal-sessions:height"));
}
