//! The OpenAPI document (`portal_sessions_axum::openapi_document`, served at `/openapi.json`)
//! against a real validator, against the router's routes, and the suite's response check against
//! responses the document does not allow.
//!
//! The validator is Python's `openapi-spec-validator` (`pip install openapi-spec-validator`, which
//! `.ci/run` does). Without it the validator test skips with a loud message, unless
//! `PORTAL_SESSIONS_REQUIRE_OPENAPI_VALIDATOR=1`, where it fails.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use portal_sessions::{Engine, ManualClock, StaticDirectory};
use portal_sessions_axum::suite::openapi::contract;
use portal_sessions_axum::suite::{self, App, Mounted, Reply};
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData, openapi_document};
use portal_sessions_conformance::fixture::start_time;
use portal_sessions_memory::MemoryStore;
use serde_json::{Value, json};

fn validator_available() -> bool {
    let present = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !present {
        let required =
            std::env::var("PORTAL_SESSIONS_REQUIRE_OPENAPI_VALIDATOR").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "PORTAL_SESSIONS_REQUIRE_OPENAPI_VALIDATOR=1 but python3 cannot import \
             openapi_spec_validator"
        );
        eprintln!(
            "\n!!! SKIPPING the OpenAPI validator test: install Python's openapi-spec-validator \
             (pip install openapi-spec-validator), or run bash .ci/run.\n"
        );
    }
    present
}

/// Runs `python3 -m openapi_spec_validator` over `document`: whether it passed, and what it said.
fn validate(document: &str, name: &str) -> (bool, String) {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&file, document).unwrap();
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// The document as kept and as served under a prefix pass the validator, and a broken copy does
/// not (so the validator is really looking).
#[tokio::test]
async fn a_real_validator_accepts_the_document() {
    if !validator_available() {
        return;
    }
    let (ok, said) = validate(openapi_document(), "openapi.json");
    eprintln!("openapi-spec-validator, the document as kept: {said}");
    assert!(ok, "openapi-spec-validator refused the document:\n{said}");

    let app = suite::app(MemoryStore::new(), Mounted::Nested);
    let served = app.page("GET", "/openapi.json", None).await;
    assert_eq!(served.status, StatusCode::OK);
    let (ok, said) = validate(&served.body, "openapi-served.json");
    eprintln!("openapi-spec-validator, the document as served under /billing: {said}");
    assert!(
        ok,
        "openapi-spec-validator refused the served document:\n{said}"
    );

    let mut broken: Value = serde_json::from_str(openapi_document()).unwrap();
    broken["paths"]["/v1/portal-sessions/{id}"]["parameters"][0]["required"] = json!(false);
    broken["components"]["schemas"]["Revocation"]["type"] = json!("revocation");
    let (ok, said) = validate(&broken.to_string(), "openapi-broken.json");
    assert!(
        !ok,
        "openapi-spec-validator accepted a broken document:\n{said}"
    );
}

/// Every path the router registers under `/v1` is a path of the document and every documented
/// path is registered (the paths are read from the router's `Debug`, which lists them); on those
/// paths, every documented operation is routed (it answers 401 without a key) and every other
/// method is refused with 405. `HEAD` is axum's `GET` without the body.
#[tokio::test]
async fn every_v1_route_is_documented_and_every_operation_is_routed() {
    let engine = Arc::new(Engine::new(MemoryStore::new(), StaticDirectory::default()));
    let router = PortalService::new(
        engine,
        StaticApiKeys::default(),
        StaticPortalData::default(),
    )
    .router::<()>();
    let shown = format!("{router:?}");
    let registered: BTreeSet<&str> = shown
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.starts_with('/'))
        .collect();
    assert!(
        registered.contains("/portal/logout") && registered.contains("/openapi.json"),
        "the router's Debug no longer lists its paths: {shown}"
    );
    let routed: BTreeSet<&str> = registered
        .iter()
        .copied()
        .filter(|path| *path == "/v1" || path.starts_with("/v1/"))
        .collect();
    let contract = contract();
    let operations: BTreeSet<(&str, &str)> = contract.operations().into_iter().collect();
    let documented: BTreeSet<&str> = operations.iter().map(|(_, path)| *path).collect();
    assert_eq!(
        routed, documented,
        "the router's /v1 paths are not the document's"
    );

    let app = App::from_router(router, ManualClock::new(start_time()));
    for path in &documented {
        let concrete = path.replace("{id}", "ps_AAAAAAAAAAAAAAAAAAAAAA");
        assert!(!concrete.contains('{'), "a path parameter to fill: {path}");
        for method in [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
        ] {
            let request = Request::builder()
                .method(method)
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            // `send` checks the answer against the document too.
            let reply = app.send(request).await;
            let as_get = if method == "HEAD" { "GET" } else { method };
            let expected = if operations.contains(&(as_get, path)) {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::METHOD_NOT_ALLOWED
            };
            assert_eq!(reply.status, expected, "{method} {path}");
        }
    }
}

fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    Reply {
        status: StatusCode::from_u16(status).unwrap(),
        headers: map,
        body: body.to_owned(),
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");
const NO_STORE: (&str, &str) = ("cache-control", "no-store");

fn item() -> Value {
    json!({
        "id": "ps_3q2-7wAAAAAAAAAAAAAAAA",
        "object": "portal_session",
        "customerId": "550e8400-e29b-41d4-a716-446655440000",
        "customerName": "Acme Corp",
        "customerEmail": "billing@acme.test",
        "expiresAt": "2026-05-13T17:30:00.000Z",
        "isExpired": false,
        "isUsed": true,
        "isRevoked": false,
        "usedAt": "2026-05-13T16:45:12.000Z",
        "revokedAt": null,
        "createdAt": "2026-05-13T16:30:00.000Z",
        "returnUrl": null,
        "features": ["invoices", "usage"],
        "locale": null,
        "recovery": true,
        "recoveredFrom": "ps_AQEBAQEBAQEBAQEBAQEBAQ",
        "invoice": null,
        "section": "usage"
    })
}

/// The suite's check accepts what the document allows and refuses, naming the operation, the
/// status and where in the body, what it does not.
#[test]
fn the_suite_check_refuses_what_the_document_does_not_allow() {
    let contract = contract();
    let check = |method: &str, path: &str, reply: &Reply| contract.check(method, path, reply);
    let list = "/v1/portal-sessions";
    let one = "/v1/portal-sessions/ps_3q2-7wAAAAAAAAAAAAAAAA";
    let not_found = r#"{"error":{"type":"not_found","message":"no such portal session"}}"#;

    let good = [
        (
            "GET",
            list,
            reply(200, &[JSON, NO_STORE], &json!([item()]).to_string()),
        ),
        (
            "GET",
            one,
            reply(200, &[JSON, NO_STORE], &item().to_string()),
        ),
        ("GET", one, reply(404, &[JSON, NO_STORE], not_found)),
        ("DELETE", one, reply(204, &[NO_STORE], "")),
        ("HEAD", list, reply(200, &[JSON, NO_STORE], "")),
        ("PUT", list, reply(405, &[], "")),
        ("GET", "/v1/elsewhere", reply(404, &[], "")),
        (
            "GET",
            list,
            reply(
                429,
                &[JSON, NO_STORE, ("retry-after", "12")],
                r#"{"error":{"type":"rate_limited","message":"later"}}"#,
            ),
        ),
    ];
    for (method, path, reply) in &good {
        if let Err(failure) = check(method, path, reply) {
            panic!("refused a good answer: {failure}");
        }
    }

    let mut extra = item();
    extra["token"] = json!("mgl_leaked");
    let mut missing = item();
    missing.as_object_mut().unwrap().remove("locale");
    let mut nullable = item();
    nullable["customerName"] = Value::Null;
    let mut timestamp = item();
    timestamp["createdAt"] = json!("2026-05-13T16:30:00Z");
    let mut id = item();
    id["id"] = json!("ps_short");
    let bad = [
        (
            "GET",
            list,
            reply(200, &[JSON, NO_STORE], &json!([extra]).to_string()),
            "/0",
        ),
        (
            "GET",
            one,
            reply(200, &[JSON, NO_STORE], &missing.to_string()),
            "locale",
        ),
        (
            "GET",
            one,
            reply(200, &[JSON, NO_STORE], &nullable.to_string()),
            "/customerName",
        ),
        (
            "GET",
            one,
            reply(200, &[JSON, NO_STORE], &timestamp.to_string()),
            "/createdAt",
        ),
        (
            "GET",
            one,
            reply(200, &[JSON, NO_STORE], &id.to_string()),
            "/id",
        ),
        (
            "GET",
            one,
            reply(
                404,
                &[JSON, NO_STORE],
                r#"{"error":{"type":"invalid_request","message":"x"}}"#,
            ),
            "/error/type",
        ),
        (
            "GET",
            one,
            reply(400, &[JSON, NO_STORE], not_found),
            "lists only 200, 401, 404, 429, 500, 503",
        ),
        (
            "GET",
            one,
            reply(404, &[JSON], not_found),
            "no cache-control",
        ),
        (
            "GET",
            list,
            reply(
                429,
                &[JSON, NO_STORE],
                r#"{"error":{"type":"rate_limited","message":"later"}}"#,
            ),
            "no retry-after",
        ),
        (
            "DELETE",
            one,
            reply(204, &[NO_STORE], "{}"),
            "no content, yet there is a body",
        ),
        (
            "GET",
            one,
            reply(404, &[("content-type", "text/html"), NO_STORE], not_found),
            "Content-Type",
        ),
        ("PATCH", one, reply(200, &[], ""), "must be 405"),
        ("GET", "/v1/elsewhere", reply(200, &[], ""), "must be 404"),
    ];
    for (method, path, reply, mentions) in &bad {
        match check(method, path, reply) {
            Ok(()) => panic!("{method} {path} {}: accepted {}", reply.status, reply.body),
            Err(failure) => {
                assert!(
                    failure.contains(mentions) && failure.contains(&format!("{method} {path}")),
                    "{failure}\n(expected it to mention {mentions:?})"
                );
            }
        }
    }
}
