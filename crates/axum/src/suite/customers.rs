//! The `/v1` additions of the second round, end to end: per-session lifetimes and locales echoed,
//! `invalidateExisting`, lists by external id and status, paging by `startingAfter`, and the
//! customer-wide revocation.

use std::collections::HashSet;
use std::time::Duration;

use axum::http::StatusCode;
use portal_sessions::{SessionStore, Timestamp};
use serde_json::{Value, json};

use super::fixture::{KEY_A, KEY_B};
use super::host::{App, Mounted, app};

fn time(item: &Value, field: &str) -> Timestamp {
    item[field]
        .as_str()
        .and_then(Timestamp::parse_rfc3339)
        .unwrap_or_else(|| panic!("{field} is not a timestamp: {item}"))
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &App, query: &str) -> Value {
    let reply = app
        .call(
            "GET",
            &format!("/v1/portal-sessions?{query}"),
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
    reply.json()
}

/// A ten-minute `es-419` session echoes its lifetime and locale; a create with
/// `invalidateExisting` revokes the customer's live sessions (an open link and an open portal) and
/// nobody else's; lists by external id and status find each; paging by `startingAfter` lists every
/// session once, in order, while another is minted between pages; `DELETE
/// /v1/portal-sessions?customerExternalId=` revokes what is left and counts it, and the link then
/// answers "revoked".
pub async fn customers_are_listed_paged_and_cut_off<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let short = app
        .create(
            json!({"customerExternalId": "acme-001", "expiresInSeconds": 600, "locale": "es-419"}),
        )
        .await;
    assert_eq!(short["locale"], "es-419");
    assert_eq!(short["expiresInSeconds"], 600);
    assert_eq!(short["invalidateExisting"], false);
    let lifetime = time(&short, "expiresAt").saturating_duration_since(time(&short, "createdAt"));
    assert_eq!(lifetime, Duration::from_secs(600));
    assert_eq!(app.item(&short).await["locale"], "es-419");
    // Its pages speak of its own lifetime, in its own language.
    let link = app.path_of(short["url"].as_str().unwrap());
    let opening = app.page("GET", &link, None).await;
    assert!(opening.body.contains("10 minutos"), "{}", opening.body);
    app.clock.advance(Duration::from_millis(5));
    let opened = app.create(json!({"customerExternalId": "acme-001"})).await;
    assert_eq!(opened["expiresInSeconds"], 3_600);
    assert_eq!(opened["locale"], Value::Null);
    let cookie = app.redeem(&opened).await;
    app.clock.advance(Duration::from_millis(5));
    let neighbour = app.create(json!({"customerExternalId": "plain-002"})).await;
    let foreign = app
        .call(
            "POST",
            "/v1/portal-sessions",
            Some(KEY_B),
            Some(json!({"customerExternalId": "umbrella-003"})),
        )
        .await
        .json();
    app.clock.advance(Duration::from_millis(5));

    let replacement = app
        .create(json!({"customerExternalId": "acme-001", "invalidateExisting": true}))
        .await;
    assert_eq!(replacement["invalidateExisting"], true);
    assert_eq!(app.item(&short).await["isRevoked"], true);
    assert_eq!(app.item(&opened).await["isRevoked"], true);
    assert_eq!(app.item(&neighbour).await["isRevoked"], false);
    assert_eq!(app.item(&replacement).await["isRevoked"], false);
    let portal = app.page("GET", "/portal", Some(&cookie)).await;
    assert_eq!(
        portal.status,
        StatusCode::UNAUTHORIZED,
        "the open portal is cut off"
    );

    // Lists by external id and status.
    let by = |status: &str| format!("customerExternalId=acme-001&status={status}");
    assert_eq!(
        ids(&list(&app, &by("openable")).await),
        ids(&json!([replacement]))
    );
    assert_eq!(
        ids(&list(&app, &by("revoked")).await),
        ids(&json!([opened, short]))
    );
    assert_eq!(ids(&list(&app, &by("used")).await), ids(&json!([opened])));
    assert!(ids(&list(&app, &by("active")).await).is_empty());
    assert!(ids(&list(&app, &by("expired")).await).is_empty());
    let by_id = format!(
        "customerId={}&status=revoked&includeExpired=false",
        short["customerId"].as_str().unwrap()
    );
    assert_eq!(ids(&list(&app, &by_id).await), ids(&json!([opened, short])));
    // The other organisation's customer is not ours.
    let reply = app
        .call(
            "GET",
            "/v1/portal-sessions?customerExternalId=umbrella-003",
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);

    // Paging one at a time over everything, with a session minted between pages.
    let whole = ids(&list(&app, "includeExpired=true&limit=100").await);
    assert_eq!(whole.len(), 4);
    let mut paged = Vec::new();
    let mut query = "includeExpired=true&limit=1".to_owned();
    loop {
        let page = ids(&list(&app, &query).await);
        let Some(last) = page.last() else { break };
        query = format!("includeExpired=true&limit=1&startingAfter={last}");
        paged.extend(page);
        app.clock.advance(Duration::from_millis(1));
        app.create(json!({"customerExternalId": "plain-002"})).await;
    }
    assert_eq!(
        paged, whole,
        "every session once, in order, none minted later"
    );
    assert_eq!(paged.iter().collect::<HashSet<_>>().len(), paged.len());
    let reply = app
        .call(
            "GET",
            &format!(
                "/v1/portal-sessions?startingAfter={}",
                foreign["id"].as_str().unwrap()
            ),
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);

    // Cut the customer off.
    let reply = app
        .call(
            "DELETE",
            "/v1/portal-sessions?customerExternalId=acme-001",
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!({"object": "revocation", "revoked": 1}));
    assert_eq!(
        reply.header("cache-control"),
        "no-store",
        "/v1 answers are never cached"
    );
    assert!(ids(&list(&app, &by("openable")).await).is_empty());
    let link = app.path_of(replacement["url"].as_str().unwrap());
    let refused = app.page("POST", &link, None).await;
    assert_eq!(refused.status, StatusCode::GONE);
    // Again: nothing left to revoke. By id, the same.
    let again = app
        .call(
            "DELETE",
            &format!(
                "/v1/portal-sessions?customerId={}",
                short["customerId"].as_str().unwrap()
            ),
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(again.json(), json!({"object": "revocation", "revoked": 0}));
    assert_eq!(app.item(&neighbour).await["isRevoked"], false);
    let theirs = app
        .call(
            "GET",
            &format!("/v1/portal-sessions/{}", foreign["id"].as_str().unwrap()),
            Some(KEY_B),
            None,
        )
        .await
        .json();
    assert_eq!(theirs["isRevoked"], false);
}
