//! An organisation whose pages other sites may frame (`Branding::frame_ancestors`): exactly those
//! ancestors in the Content-Security-Policy and no `X-Frame-Options`, the frame told its height,
//! a link page that does not consume the link in a frame that cannot keep the cookie, and a
//! cookie a cross-site frame keeps; every other organisation's pages stay unframable.

use axum::http::StatusCode;
use portal_sessions::SessionStore;
use serde_json::json;

use super::fixture::KEY_B;
use super::host::{FRAMING_APP, Mounted, app};

/// Organisation B may be framed, organisation A may not: their pages, cookies and scripts say so.
pub async fn framed_pages_and_their_cookie<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app
        .call(
            "POST",
            "/v1/portal-sessions",
            Some(KEY_B),
            Some(json!({"customerExternalId": "umbrella-003"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = created.json();
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
    let out = app.page("POST", "/portal/logout", Some(&cookie)).await;
    assert!(
        out.header("set-cookie").contains("Partitioned"),
        "cleared as it was set"
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
}
