//! Every malformed input we can name, as one table ([`cases`]): each request and the status it must
//! be answered with. One loop ([`bad_input_sweep`]) sends each and checks, for every case, the
//! same things:
//!
//! - the status;
//! - for a `/v1` answer other than `405`, the API's error shape, and neither the API key nor the
//!   link token echoed;
//! - every store record of both organisations exactly as it was before the first case.

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use portal_sessions::{ListFilter, ListQuery, MAX_TTL, SessionRecord, SessionStore};
use serde_json::{Value, json};

use super::fixture::{KEY_A, KEY_B, PUB_A, acme, fixture_session_id, org_a, org_b};
use super::host::{Mounted, app};

/// One malformed request, relative to the portal's mount, and the status it must get.
struct Case {
    method: &'static str,
    uri: String,
    /// Names and raw values: a value need not be valid UTF-8.
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    status: u16,
}

/// A JSON body, with org A's secret key.
const JSON: &[(&str, &[u8])] = &[
    ("content-type", b"application/json"),
    ("x-api-key", KEY_A.as_bytes()),
];
/// Org A's secret key, and nothing else.
const KEY: &[(&str, &[u8])] = &[("x-api-key", KEY_A.as_bytes())];
/// No header at all.
const NONE: &[(&str, &[u8])] = &[];
/// No body at all.
const NO_BODY: &[u8] = &[];
/// Sessions, for creating, listing and customer-wide revocation.
const SESSIONS: &str = "/v1/portal-sessions";

fn case(
    method: &'static str,
    uri: impl Into<String>,
    headers: &[(&'static str, &[u8])],
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    Case {
        method,
        uri: uri.into(),
        headers: headers
            .iter()
            .map(|(name, value)| (*name, value.to_vec()))
            .collect(),
        body: body.into(),
        status,
    }
}

/// `POST /v1/portal-sessions` with a JSON body.
fn create(body: impl Into<Vec<u8>>, status: u16) -> Case {
    case("POST", SESSIONS, JSON, body, status)
}

/// `GET /v1/portal-sessions?{query}`.
fn list(query: &str, status: u16) -> Case {
    case("GET", format!("{SESSIONS}?{query}"), KEY, NO_BODY, status)
}

/// `DELETE /v1/portal-sessions?{query}`: the customer-wide revocation.
fn revoke_all(query: &str, headers: &[(&'static str, &[u8])], status: u16) -> Case {
    case(
        "DELETE",
        format!("{SESSIONS}?{query}"),
        headers,
        NO_BODY,
        status,
    )
}

/// What the table's requests name: a session of org A's, one of org B's, and org B's customer.
struct Seen {
    /// The link token of org A's session.
    token: String,
    my_id: String,
    their_id: String,
    their_customer: String,
}

/// The table: every case, in the order it is sent.
fn cases(seen: &Seen) -> Vec<Case> {
    let Seen {
        token,
        my_id,
        their_id,
        their_customer,
    } = seen;
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap_or_default();
    let acme_id = acme().id.to_string();
    let overlong_key = format!("mf_sk_{}", "a".repeat(10_000));
    let token_cookie = format!("__Host-portal_session={token}");

    // Create parameters of the second round, each bad value alone and beside
    // `invalidateExisting: true`, which must not revoke anything when the request is refused.
    let second_round = [
        json!({"locale": "pt"}),
        json!({"locale": "fr_CA"}),
        json!({"locale": "fr-"}),
        json!({"locale": ""}),
        json!({"locale": "en-US-x-private"}),
        json!({"locale": 5}),
        json!({"locale": ["fr"]}),
        json!({"expiresInSeconds": 59}),
        json!({"expiresInSeconds": 0}),
        json!({"expiresInSeconds": -60}),
        json!({"expiresInSeconds": 3_601}),
        json!({"expiresInSeconds": 600.5}),
        json!({"expiresInSeconds": "600"}),
        json!({"expiresInSeconds": true}),
        json!({"expiresInSeconds": u64::MAX}),
        json!({"invalidateExisting": "true"}),
        json!({"invalidateExisting": 1}),
        json!({"invalidateExisting": {}}),
    ];
    let mut cases: Vec<Case> = second_round
        .iter()
        .flat_map(|bad| [false, true].map(|invalidate| create(with(bad, invalidate), 400)))
        .collect();
    cases.extend([
        create(
            br#"{"customerExternalId":"acme-001","expiresInSeconds":1e400,"invalidateExisting":true}"#,
            400,
        ),
        create(
            br#"{"customerExternalId":"nobody-404","invalidateExisting":true}"#,
            404,
        ),
        // List parameters of the second round.
        list("status=open", 400),
        list("status=", 400),
        list("status=USED", 400),
        list("status=used&status=revoked", 400),
        list("status=used%00", 400),
        list("startingAfter=nope", 400),
        list("startingAfter=", 400),
        list("startingAfter=ps_AAAAAAAAAAAAAAAAAAAAA", 400),
        list(&format!("startingAfter={their_id}"), 400),
        list(&format!("startingAfter={}", fixture_session_id()), 400),
        list(&format!("startingAfter={my_id}&startingAfter={my_id}"), 400),
        list("customerExternalId=", 400),
        list("customerExternalId=a%00b", 400),
        list(&format!("customerExternalId={}", "x".repeat(256)), 400),
        list(
            &format!("customerId={acme_id}&customerExternalId=acme-001"),
            400,
        ),
        list(
            "customerExternalId=acme-001&customerExternalId=acme-001",
            400,
        ),
        list("customerExternalId=nobody-404", 404),
        list("customerExternalId=umbrella-003", 404),
        // Customer-wide revocation: every refusal revokes nothing.
        revoke_all("", KEY, 400),
        revoke_all("limit=5", KEY, 400),
        revoke_all("customerId=nope", KEY, 400),
        revoke_all("customerId=", KEY, 400),
        revoke_all("customerExternalId=", KEY, 400),
        revoke_all("customerExternalId=a%00b", KEY, 400),
        revoke_all("customerExternalId=%FF", KEY, 400),
        revoke_all(
            &format!("customerId={acme_id}&customerExternalId=acme-001"),
            KEY,
            400,
        ),
        revoke_all(
            &format!("customerId={acme_id}&customerId={acme_id}"),
            KEY,
            400,
        ),
        revoke_all("customerExternalId=nobody-404", KEY, 404),
        revoke_all("customerExternalId=umbrella-003", KEY, 404),
        revoke_all(&format!("customerId={their_customer}"), KEY, 404),
        revoke_all("customerId=6f1c1f9e-0000-4000-8000-00000000beef", KEY, 404),
        revoke_all("customerExternalId=acme-001", NONE, 401),
        revoke_all(
            "customerExternalId=acme-001",
            &[("x-api-key", PUB_A.as_bytes())],
            401,
        ),
        revoke_all(
            "customerExternalId=acme-001",
            &[("x-api-key", KEY_B.as_bytes())],
            404,
        ),
        // Bodies.
        create(
            format!(r#"{{"customerExternalId":"{}"}}"#, "x".repeat(10_000)),
            400,
        ),
        create(
            format!(
                r#"{{"customerExternalId":"acme-001","pad":"{}"}}"#,
                "x".repeat(100_000)
            ),
            400,
        ),
        create(br#"{"customerExternalId":"a\u0000b"}"#, 400),
        create(
            br#"{"customerExternalId":"acme-001","returnUrl":"https://a.test/\u0000"}"#,
            400,
        ),
        create(b"{\"customerExternalId\":\"\xff\xfe\"}", 400),
        create(br#"{"customerId":1e400}"#, 400),
        create(br#"{"customerId":99999999999999999999999}"#, 400),
        create(br#"{"customerExternalId":"acme-001","features":[1]}"#, 400),
        create(br#"{"customerExternalId":"acme-001","features":[]}"#, 400),
        create(
            br#"{"customerExternalId":"acme-001","features":[],"invalidateExisting":true}"#,
            400,
        ),
        // Duplicate keys, known or not, at the top level or nested: whichever copy another parser
        // would take, this one takes neither.
        create(
            br#"{"customerExternalId":"acme-001","customerExternalId":"plain-002"}"#,
            400,
        ),
        create(
            br#"{"customerExternalId":"acme-001","invalidateExisting":false,"invalidateExisting":true}"#,
            400,
        ),
        create(
            br#"{"customerExternalId":"acme-001","invalidateExisting":true,"pad":1,"pad":1}"#,
            400,
        ),
        create(
            br#"{"customerExternalId":"acme-001","invalidateExisting":true,"meta":{"a":1,"a":2}}"#,
            400,
        ),
        create(
            br#"{"customerExternalId":"acme-001","meta":[{"a":1},{"b":[{"c":1,"c":1}]}]}"#,
            400,
        ),
        create("[".repeat(300), 400),
        create(NO_BODY, 400),
        create(b"null", 400),
        // Content types.
        case(
            "POST",
            SESSIONS,
            KEY,
            br#"{"customerExternalId":"acme-001"}"#,
            400,
        ),
        case(
            "POST",
            SESSIONS,
            &[
                ("content-type", b"application/jsonx"),
                ("x-api-key", KEY_A.as_bytes()),
            ],
            br#"{"customerExternalId":"acme-001"}"#,
            400,
        ),
        case(
            "POST",
            SESSIONS,
            &[
                ("content-type", b"multipart/form-data"),
                ("x-api-key", KEY_A.as_bytes()),
            ],
            br#"{"customerExternalId":"acme-001"}"#,
            400,
        ),
        // Methods.
        case(
            "PUT",
            SESSIONS,
            JSON,
            br#"{"customerExternalId":"acme-001"}"#,
            405,
        ),
        case("PATCH", SESSIONS, KEY, NO_BODY, 405),
        case("PATCH", format!("{SESSIONS}/{my_id}"), KEY, NO_BODY, 405),
        case("POST", format!("{SESSIONS}/{my_id}"), KEY, NO_BODY, 405),
        case("PUT", format!("/r/{token}"), NONE, NO_BODY, 405),
        case("DELETE", "/portal", NONE, NO_BODY, 405),
        case("GET", "/portal/logout", NONE, NO_BODY, 405),
        // Query strings.
        list("limit=-1", 400),
        list("limit=0", 400),
        list("limit=101", 400),
        list("limit=18446744073709551616", 400),
        list("limit=1.5", 400),
        list("limit=%00", 400),
        list("includeExpired=1", 400),
        list("includeExpired=true&includeExpired=false", 400),
        list(&format!("customerId={acme_id}&customerId={acme_id}"), 400),
        list("customerId=%FF", 400),
        // Keys.
        case("GET", SESSIONS, &[("x-api-key", b"mf_sk_\xff\xfe")], NO_BODY, 401),
        case(
            "GET",
            SESSIONS,
            &[("x-api-key", overlong_key.as_bytes())],
            NO_BODY,
            401,
        ),
        case("GET", SESSIONS, &[("authorization", b"Bearer")], NO_BODY, 401),
        case(
            "DELETE",
            format!("{SESSIONS}/{my_id}"),
            &[("x-api-key", PUB_A.as_bytes())],
            NO_BODY,
            401,
        ),
        // Ids.
        case("GET", format!("{SESSIONS}/{their_id}"), KEY, NO_BODY, 404),
        case("DELETE", format!("{SESSIONS}/{their_id}"), KEY, NO_BODY, 404),
        case("DELETE", format!("{SESSIONS}/%FF"), KEY, NO_BODY, 404),
        case("DELETE", format!("{SESSIONS}/ps_%00"), KEY, NO_BODY, 404),
        case(
            "DELETE",
            format!("{SESSIONS}/ps_{}", "A".repeat(5_000)),
            KEY,
            NO_BODY,
            404,
        ),
        case(
            "DELETE",
            format!("{SESSIONS}/{}", my_id.to_uppercase()),
            KEY,
            NO_BODY,
            404,
        ),
        // Tokens.
        case("POST", format!("/r/mgl_{}", "A".repeat(69)), NONE, NO_BODY, 404),
        case("POST", format!("/r/mgl_{}", "A".repeat(71)), NONE, NO_BODY, 404),
        case("POST", format!("/r/mgl_{}", "!".repeat(70)), NONE, NO_BODY, 404),
        case("POST", format!("/r/{flipped}"), NONE, NO_BODY, 404),
        case("POST", format!("/r/MGL_{}", &token[4..]), NONE, NO_BODY, 404),
        case("POST", format!("/r/mgv_{}", &token[4..]), NONE, NO_BODY, 404),
        case("POST", "/r/%FF%FE", NONE, NO_BODY, 404),
        case("POST", "/r/mgl_%00", NONE, NO_BODY, 404),
        case("GET", format!("/r/{}", "x".repeat(5_000)), NONE, NO_BODY, 404),
        // Cookies.
        case(
            "GET",
            "/portal",
            &[("cookie", b"__Host-portal_session=\xff\xfe")],
            NO_BODY,
            401,
        ),
        case(
            "GET",
            "/portal",
            &[("cookie", token_cookie.as_bytes())],
            NO_BODY,
            401,
        ),
        case(
            "POST",
            "/portal/logout",
            &[("cookie", b"__Host-portal_session=mgv_nope")],
            NO_BODY,
            200,
        ),
    ]);
    cases
}

/// A create body for acme-001 with the fields of `bad`, beside `invalidateExisting: true` or not.
fn with(bad: &Value, invalidate: bool) -> Vec<u8> {
    let mut body = json!({"customerExternalId": "acme-001"});
    if invalidate {
        body["invalidateExisting"] = json!(true);
    }
    for (key, value) in bad.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    body.to_string().into_bytes()
}

/// Every store record of both organisations: what "the store did not change" compares.
async fn snapshot<S: SessionStore>(store: &S) -> Vec<SessionRecord> {
    let mut all = Vec::new();
    for org in [org_a(), org_b()] {
        let query = ListQuery {
            max_lifetime: MAX_TTL,
            org_id: org,
            customer_id: None,
            limit: 1_000,
            filter: ListFilter::All,
            after: None,
        };
        all.extend(store.list(&query).await.unwrap_or_else(|e| panic!("{e}")));
    }
    all
}

/// Every case of the table, each with its answer, and the store unchanged after each.
pub async fn bad_input_sweep<S: SessionStore + Clone>(store: S, mounted: Mounted) {
    let app = app(store.clone(), mounted);
    let mine = app.create(json!({"customerExternalId": "acme-001"})).await;
    let theirs = app
        .call(
            "POST",
            SESSIONS,
            Some(KEY_B),
            Some(json!({"customerExternalId": "umbrella-003"})),
        )
        .await
        .json();
    let seen = Seen {
        token: mine["token"].as_str().unwrap_or_default().to_owned(),
        my_id: mine["id"].as_str().unwrap_or_default().to_owned(),
        their_id: theirs["id"].as_str().unwrap_or_default().to_owned(),
        their_customer: theirs["customerId"].as_str().unwrap_or_default().to_owned(),
    };
    let before = snapshot(&store).await;
    assert_eq!(before.len(), 2);

    for Case {
        method,
        uri,
        headers,
        body,
        status,
    } in cases(&seen)
    {
        let mut request = Request::builder().method(method).uri(&uri);
        for (name, value) in &headers {
            request = request.header(
                *name,
                HeaderValue::from_bytes(value).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        let request = request
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        let reply = app.send(request).await;
        let shown: String = uri.chars().take(80).collect();
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {shown}: {}",
            reply.body.chars().take(200).collect::<String>()
        );
        if reply.status.as_u16() != 405 && uri.starts_with("/v1") {
            assert!(
                !reply.error_type().is_empty(),
                "{method} {shown}: not the error shape"
            );
            assert!(
                !reply.body.contains(KEY_A) && !reply.body.contains(&seen.token),
                "{method} {shown} echoed a secret"
            );
        }
        assert_eq!(
            snapshot(&store).await,
            before,
            "{method} {shown} changed the store"
        );
    }
}
