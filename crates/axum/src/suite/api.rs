//! The `/v1` API of the first round: who may call it, what a created session looks like, what a
//! create refuses, listing, reading and revoking one session; and the OpenAPI document it serves.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portal_sessions::SessionStore;
use serde_json::{Value, json};

use super::fixture::{KEY_A, KEY_B, PUB_A, PUBLIC_URL, acme, is_timestamp, plain, umbrella};
use super::host::{Mounted, app};

pub async fn authentication<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    for (key, message) in [
        (None, "missing"),
        (Some("mf_sk_nope"), "invalid"),
        (Some(PUB_A), "publishable"),
    ] {
        let reply = app.call("GET", "/v1/portal-sessions", key, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(reply.error_type(), "authentication_error");
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message)
        );
        if let Some(key) = key {
            assert!(!reply.body.contains(key), "an error echoed the key");
        }
    }
    let reply = app
        .call(
            "POST",
            "/v1/portal-sessions",
            Some(PUB_A),
            Some(json!({"customerExternalId": "acme-001"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let bearer = Request::builder()
        .uri("/v1/portal-sessions")
        .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
        .body(Body::empty())
        .unwrap_or_default();
    assert_eq!(app.send(bearer).await.status, StatusCode::OK);
    let lower = Request::builder()
        .uri("/v1/portal-sessions")
        .header(header::AUTHORIZATION, format!("bearer {KEY_A}"))
        .body(Body::empty())
        .unwrap_or_default();
    assert_eq!(app.send(lower).await.status, StatusCode::OK);
    let basic = Request::builder()
        .uri("/v1/portal-sessions")
        .header(header::AUTHORIZATION, format!("Basic {KEY_A}"))
        .body(Body::empty())
        .unwrap_or_default();
    assert_eq!(app.send(basic).await.status, StatusCode::UNAUTHORIZED);
    assert!(
        app.everything().await.is_empty(),
        "refused requests created nothing"
    );
}

pub async fn create_returns_the_contract_shape<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let created = app
        .create(json!({"customerExternalId": "acme-001", "returnUrl": "https://your-app.test/billing", "unknown": 1}))
        .await;
    let token = created["token"].as_str().unwrap_or_default();
    assert!(token.starts_with("mgl_"));
    assert_eq!(
        created["url"],
        json!(format!("{PUBLIC_URL}{}/r/{token}", app.prefix))
    );
    assert!(
        created["id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ps_")
    );
    assert_eq!(created["object"], "portal_session");
    assert_eq!(created["customerId"], json!(acme().id.to_string()));
    assert_eq!(created["customerName"], "Acme Corp");
    assert_eq!(created["customerEmail"], "billing@acme.test");
    assert_eq!(created["returnUrl"], "https://your-app.test/billing");
    assert_eq!(
        created["features"],
        json!(["invoices", "subscriptions", "usage", "profile"])
    );
    assert_eq!(created["createdAt"], json!("2026-05-13T16:30:00.000Z"));
    assert_eq!(created["expiresAt"], json!("2026-05-13T17:30:00.000Z"));

    let by_id = app
        .create(json!({"customerId": plain().id.to_string(), "features": ["usage", "invoices", "usage"]}))
        .await;
    assert_eq!(by_id["customerEmail"], Value::Null);
    assert_eq!(by_id["returnUrl"], Value::Null);
    assert_eq!(by_id["features"], json!(["invoices", "usage"]));
    let both = app
        .create(json!({"customerId": acme().id.to_string(), "customerExternalId": "acme-001"}))
        .await;
    assert_eq!(both["customerName"], "Acme Corp");
}

pub async fn create_refuses_bad_input_and_changes_nothing<S: SessionStore>(
    store: S,
    mounted: Mounted,
) {
    let app = app(store, mounted);
    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "invalid_request"),
        (
            json!({"returnUrl": "https://x.test"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (json!([]), StatusCode::BAD_REQUEST, "invalid_request"),
        (
            json!("acme-001"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "x".repeat(256)}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": 42}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerId": "not-a-uuid"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "features": ["billing"]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "features": "usage"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "returnUrl": "javascript:alert(1)"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "acme-001", "returnUrl": format!("https://a.test/{}", "x".repeat(2048))}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerId": acme().id.to_string(), "customerExternalId": "plain-002"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"customerExternalId": "umbrella-003"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"customerId": umbrella().id.to_string()}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"customerExternalId": "nobody"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (body, status, kind) in cases {
        let reply = app
            .call(
                "POST",
                "/v1/portal-sessions",
                Some(KEY_A),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (reply.status, reply.error_type().as_str()),
            (status, kind),
            "{body}: {}",
            reply.body
        );
        assert!(
            !reply.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
    }
    let raw = |content_type: &str, body: Vec<u8>| {
        Request::builder()
            .method("POST")
            .uri("/v1/portal-sessions")
            .header("x-api-key", KEY_A)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap_or_default()
    };
    let oversized = format!(
        "{{\"customerExternalId\":\"acme-001\",\"pad\":\"{}\"}}",
        "x".repeat(70_000)
    );
    for request in [
        raw("application/json", b"{not json".to_vec()),
        raw("application/json", vec![0xFF, 0xFE, b'{', b'}']),
        raw("application/json", oversized.into_bytes()),
        raw(
            "text/plain",
            br#"{"customerExternalId":"acme-001"}"#.to_vec(),
        ),
        raw(
            "application/x-www-form-urlencoded",
            b"customerExternalId=acme-001".to_vec(),
        ),
    ] {
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.error_type(), "invalid_request");
    }
    // A repeated key is named, never its values; an empty `features` says what it needs.
    for (body, named, hidden) in [
        (
            &br#"{"customerExternalId":"acme-001","returnUrl":"https://a.test/one","returnUrl":"https://a.test/two"}"#[..],
            "\"returnUrl\"",
            "a.test",
        ),
        (
            br#"{"customerExternalId":"acme-001","host":{"secretish":"v-1","secretish":"v-2"}}"#,
            "\"secretish\"",
            "v-",
        ),
        (
            br#"{"customerExternalId":"acme-001","features":[]}"#,
            "features",
            "acme-001",
        ),
    ] {
        let reply = app.send(raw("application/json", body.to_vec())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.error_type(), "invalid_request");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains(named) && !message.contains(hidden),
            "{message}"
        );
    }
    assert!(
        app.everything().await.is_empty(),
        "a refused create stored a session"
    );
}

pub async fn list_get_and_revoke<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let mut ids = Vec::new();
    for i in 0..4 {
        let customer = if i % 2 == 0 { "acme-001" } else { "plain-002" };
        ids.push(app.create(json!({"customerExternalId": customer})).await["id"].clone());
        app.clock.advance(Duration::from_millis(1_000));
    }
    let other = {
        let reply = app
            .call(
                "POST",
                "/v1/portal-sessions",
                Some(KEY_B),
                Some(json!({"customerExternalId": "umbrella-003"})),
            )
            .await;
        reply.json()["id"].as_str().unwrap_or_default().to_owned()
    };
    let listed = app
        .call("GET", "/v1/portal-sessions", Some(KEY_A), None)
        .await
        .json();
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(
        listed.iter().map(|s| s["id"].clone()).collect::<Vec<_>>(),
        ids.iter().rev().cloned().collect::<Vec<_>>()
    );
    for item in &listed {
        assert!(
            item.get("token").is_none() && item.get("url").is_none(),
            "a list leaked a token"
        );
        for field in ["expiresAt", "createdAt"] {
            assert!(is_timestamp(&item[field]), "{field}: {item}");
        }
        assert_eq!(
            (
                item["isUsed"].clone(),
                item["isExpired"].clone(),
                item["isRevoked"].clone()
            ),
            (json!(false), json!(false), json!(false))
        );
        assert_eq!(
            (item["usedAt"].clone(), item["revokedAt"].clone()),
            (Value::Null, Value::Null)
        );
    }
    let limited = app
        .call("GET", "/v1/portal-sessions?limit=2", Some(KEY_A), None)
        .await
        .json();
    assert_eq!(limited.as_array().map(Vec::len), Some(2));
    let filtered = app
        .call(
            "GET",
            &format!("/v1/portal-sessions?customerId={}", plain().id),
            Some(KEY_A),
            None,
        )
        .await
        .json();
    assert_eq!(filtered.as_array().map(Vec::len), Some(2));
    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-5",
        "includeExpired=maybe",
        "customerId=123",
        "limit=2&limit=3",
    ] {
        let reply = app
            .call(
                "GET",
                &format!("/v1/portal-sessions?{bad}"),
                Some(KEY_A),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.error_type(), "invalid_request");
    }

    let first = ids[0].as_str().unwrap_or_default();
    let got = app
        .call(
            "GET",
            &format!("/v1/portal-sessions/{first}"),
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["id"], ids[0]);
    assert!(got.json().get("token").is_none());
    for (id, key) in [
        ("ps_doesnotexist0000000000", KEY_A),
        ("nonsense", KEY_A),
        (other.as_str(), KEY_A),
        (first, KEY_B),
    ] {
        for method in ["GET", "DELETE"] {
            let reply = app
                .call(
                    method,
                    &format!("/v1/portal-sessions/{id}"),
                    Some(key),
                    None,
                )
                .await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {id}");
            assert_eq!(reply.error_type(), "not_found");
        }
    }
    for _ in 0..2 {
        let reply = app
            .call(
                "DELETE",
                &format!("/v1/portal-sessions/{first}"),
                Some(KEY_A),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply.body.is_empty());
    }
    let revoked = app
        .call(
            "GET",
            &format!("/v1/portal-sessions/{first}"),
            Some(KEY_A),
            None,
        )
        .await
        .json();
    assert_eq!(revoked["isRevoked"], json!(true));
    assert!(is_timestamp(&revoked["revokedAt"]));
    let open = app
        .call("GET", "/v1/portal-sessions", Some(KEY_A), None)
        .await
        .json();
    assert_eq!(
        open.as_array().map(Vec::len),
        Some(3),
        "a revoked session is not open"
    );
    assert_eq!(
        app.everything().await.len(),
        4,
        "includeExpired lists revoked sessions"
    );
}

/// `GET /openapi.json` answers the crate's OpenAPI document as JSON, its one server the public URL
/// and the mount: the base its paths are relative to.
pub async fn openapi_document_is_served<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let reply = app.page("GET", "/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/json");
    let served = reply.json();
    let kept: Value = serde_json::from_str(crate::openapi::openapi_document()).unwrap();
    assert_eq!(
        served["servers"],
        json!([{ "url": format!("{PUBLIC_URL}{}", app.prefix) }])
    );
    for part in ["openapi", "info", "security", "paths", "components"] {
        assert_eq!(served[part], kept[part], "{part}");
    }
    // The served server and a documented path make a URL the router answers.
    let base = served["servers"][0]["url"].as_str().unwrap_or_default();
    let list = format!("{base}/v1/portal-sessions");
    let path = list.strip_prefix(PUBLIC_URL).unwrap_or_default();
    let listed = app
        .send_unmounted(
            Request::builder()
                .uri(path)
                .header("x-api-key", KEY_A)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{path}: {}", listed.body);
}
