//! The OpenAPI 3.1 description of the `/v1` API: `openapi.json` beside this module, written by hand
//! next to the handlers and checked against them. Its create schema and query parameters are
//! compared with the names [`api`](crate::api) reads (this module's tests), its operations with the
//! router's routes (`tests/openapi.rs`, which also runs a real validator over it), and every `/v1`
//! response the HTTP suite sees is validated against its schema (`suite::openapi`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portal_sessions::SessionStore;
use serde_json::{Value, json};

use crate::error::log_failure;
use crate::mount::Mount;
use crate::state::Shared;

/// The document as kept in the crate, its one server relative (`/`, the mount).
const DOCUMENT: &str = include_str!("openapi.json");

/// The OpenAPI 3.1 description of the `/v1` API, as JSON: every operation, its parameters, request
/// body, responses (errors included) and security schemes. Its one server is `/`, that is wherever
/// the router is mounted; `GET <mount>/openapi.json` on the router answers the same document with
/// the service's public URL and mount as its server.
///
/// ```
/// let document: serde_json::Value = serde_json::from_str(portal_sessions_axum::openapi_document())?;
/// assert_eq!(document["openapi"], "3.1.0");
/// assert!(document["paths"]["/v1/portal-sessions/{id}"]["delete"].is_object());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn openapi_document() -> &'static str {
    DOCUMENT
}

/// The document with `url` as its one server.
pub(crate) fn with_server(url: &str) -> Result<Value, serde_json::Error> {
    let mut document: Value = serde_json::from_str(DOCUMENT)?;
    if let Some(document) = document.as_object_mut() {
        document.insert("servers".to_owned(), json!([{ "url": url }]));
    }
    Ok(document)
}

/// `GET /openapi.json`: the document, its server the public URL and the mount the request came
/// through.
pub(crate) async fn serve<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
) -> Response {
    match with_server(&format!("{}{}", shared.public_url, mount.prefix())) {
        Ok(document) => Json(document).into_response(),
        Err(error) => {
            log_failure(&error);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::{CreateBody, create_fields, list_parameters, revoke_customer_parameters};

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).unwrap_or_else(|e| panic!("openapi.json: {e}"))
    }

    /// Follows `$ref`s within the document.
    fn resolve<'a>(document: &'a Value, mut value: &'a Value) -> &'a Value {
        while let Some(pointer) = value["$ref"].as_str() {
            value = document
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("unresolved $ref {pointer}"));
        }
        value
    }

    fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
        names.into_iter().collect()
    }

    /// The names of an operation's query parameters, its path's own included.
    fn query_parameters<'a>(document: &'a Value, path: &str, method: &str) -> BTreeSet<&'a str> {
        let item = &document["paths"][path];
        let shared = item["parameters"].as_array().into_iter().flatten();
        let own = item[method]["parameters"].as_array().into_iter().flatten();
        shared
            .chain(own)
            .map(|parameter| resolve(document, parameter))
            .filter(|parameter| parameter["in"] == "query")
            .filter_map(|parameter| parameter["name"].as_str())
            .collect()
    }

    #[test]
    fn the_document_is_openapi_3_1_with_a_relative_server() {
        let document = document();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["servers"][0]["url"], "/");
        let served = with_server("https://billing.example/app").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            served["servers"],
            json!([{"url": "https://billing.example/app"}])
        );
        assert_eq!(served["paths"], document["paths"]);
    }

    /// The create schema's properties are exactly the fields of the typed create body, as its
    /// serde derive declares them; each is read (a value of no field's type is refused).
    #[test]
    fn the_create_schema_is_what_the_handler_reads() {
        let document = document();
        let schema = resolve(
            &document,
            &document["paths"]["/v1/portal-sessions"]["post"]["requestBody"]["content"]["application/json"]
                ["schema"],
        );
        let properties = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("the create schema has no properties"));
        assert_eq!(
            set(properties.keys().map(String::as_str)),
            set(create_fields().iter().copied()),
            "the create schema's properties are not the create body's fields"
        );
        let ttl = std::time::Duration::from_secs(3_600);
        let read = |body: &Value| {
            CreateBody::parse(body.to_string().as_bytes()).and_then(|body| body.into_request(ttl))
        };
        let customer = "550e8400-e29b-41d4-a716-446655440000";
        let both = json!({"customerId": customer, "customerExternalId": "acme-001"});
        assert!(read(&both).is_ok());
        for field in create_fields() {
            let mut body = both.clone();
            body[field] = json!({"not": "a value of any field"});
            assert!(
                read(&body).is_err(),
                "the create body does not read {field}"
            );
        }
    }

    #[test]
    fn query_parameters_are_what_the_handlers_read() {
        let document = document();
        assert_eq!(
            query_parameters(&document, "/v1/portal-sessions", "get"),
            set(list_parameters().iter().copied())
        );
        assert_eq!(
            query_parameters(&document, "/v1/portal-sessions", "delete"),
            set(revoke_customer_parameters().iter().copied())
        );
        for (path, method) in [
            ("/v1/portal-sessions", "post"),
            ("/v1/portal-sessions/{id}", "get"),
            ("/v1/portal-sessions/{id}", "delete"),
        ] {
            assert!(
                query_parameters(&document, path, method).is_empty(),
                "{method} {path} reads no query parameter"
            );
        }
    }
}
