//! Every `/v1` response the suite sees, checked against the OpenAPI document
//! ([`openapi_document`](crate::openapi_document)): [`App::send_unmounted`](super::App), where every
//! request of the suite goes, hands each `/v1` answer to [`Contract::check`] and panics on a
//! mismatch.
//!
//! A response matches when the document lists its status for the operation, it carries every
//! header the document requires (each valid against its schema), and its body is valid against the
//! operation's schema for that status (JSON Schema 2020-12 with formats, `$ref`s resolved within
//! the document): JSON of the declared content type, or empty where the document declares no
//! content. A request whose method the document does not define on a documented path must be
//! answered `405`, and one whose path the document does not have `404`. `HEAD` is checked as the
//! `GET` it stands for, without a body.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value};

use super::host::Reply;

/// One documented operation.
struct Operation {
    /// `listPortalSessions`.
    id: String,
    /// `GET`.
    method: String,
    /// `/v1/portal-sessions/{id}`.
    path: String,
    /// What each listed status must look like.
    responses: BTreeMap<u16, Expected>,
}

/// What a response of one status must look like.
struct Expected {
    headers: Vec<ExpectedHeader>,
    /// The body's media type and schema; `None` for a response without content.
    body: Option<(String, Validator)>,
}

struct ExpectedHeader {
    name: String,
    required: bool,
    /// The schema says `integer`: the value is parsed as one before it is validated.
    integer: bool,
    schema: Validator,
}

/// The document's operations, compiled for checking responses.
pub struct Contract {
    operations: Vec<Operation>,
}

/// The contract of the crate's own document, compiled once per test binary.
pub fn contract() -> &'static Contract {
    static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
        let document: Value = serde_json::from_str(crate::openapi::openapi_document())
            .unwrap_or_else(|e| panic!("openapi.json is not JSON: {e}"));
        Contract::new(&document).unwrap_or_else(|e| panic!("openapi.json: {e}"))
    });
    &CONTRACT
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Follows `$ref`s (to `#/...` pointers) until a value that is not one.
fn resolve<'a>(document: &'a Value, mut value: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Ok(value);
        };
        value = reference
            .strip_prefix('#')
            .and_then(|pointer| document.pointer(pointer))
            .ok_or_else(|| format!("unresolved $ref {reference}"))?;
    }
    Err("a $ref chain longer than 16".to_owned())
}

/// A validator for `schema`, a schema object of the document: its `$ref`s to
/// `#/components/...` resolve within the document's components, nothing is fetched, and formats
/// (`uuid`, `date-time`, `uri`) are asserted.
fn compile(document: &Value, schema: &Value, what: &str) -> Result<Validator, String> {
    let Value::Object(schema) = schema else {
        return Err(format!("{what}: the schema is not an object"));
    };
    let mut root: Map<String, Value> = schema.clone();
    root.insert("components".to_owned(), document["components"].clone());
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .map_err(|e| format!("{what}: the schema does not compile: {e}"))
}

impl Contract {
    /// Compiles every operation of `document`.
    ///
    /// # Errors
    ///
    /// A document this checker cannot read: a `$ref` that resolves to nothing, a schema that does
    /// not compile, a status that is not a number.
    pub fn new(document: &Value) -> Result<Contract, String> {
        let paths = document["paths"]
            .as_object()
            .ok_or("the document has no paths")?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let item = resolve(document, item)?;
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let id = operation["operationId"]
                    .as_str()
                    .unwrap_or(method)
                    .to_owned();
                let responses = operation["responses"]
                    .as_object()
                    .ok_or_else(|| format!("{id} has no responses"))?;
                let mut expected = BTreeMap::new();
                for (status, response) in responses {
                    let what = format!("{id} {status}");
                    let code: u16 = status
                        .parse()
                        .map_err(|_| format!("{what}: only numeric statuses are checked"))?;
                    expected.insert(code, Expected::new(document, response, &what)?);
                }
                operations.push(Operation {
                    id,
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    responses: expected,
                });
            }
        }
        Ok(Contract { operations })
    }

    /// Checks the answer `reply` to `method path` (`path` relative to the mount, without the
    /// query).
    ///
    /// # Errors
    ///
    /// What does not match, with the operation, the status, where in the body and the schema's
    /// complaint.
    pub fn check(&self, method: &str, path: &str, reply: &Reply) -> Result<(), String> {
        let status = reply.status.as_u16();
        let seen = if method == "HEAD" { "GET" } else { method };
        let on_path: Vec<&Operation> = self
            .operations
            .iter()
            .filter(|operation| template_matches(&operation.path, path))
            .collect();
        let Some(operation) = on_path.iter().find(|operation| operation.method == seen) else {
            let (expected, why) = if on_path.is_empty() {
                (404, "the document has no such path")
            } else {
                (405, "the document defines no such operation on this path")
            };
            return if status == expected {
                Ok(())
            } else {
                Err(format!(
                    "{method} {path} answered {status}: {why}, so it must be {expected}"
                ))
            };
        };
        let failure = |problem: String| {
            let body: String = reply.body.chars().take(2_000).collect();
            format!(
                "{method} {path} ({id}) answered {status}, which the OpenAPI document does not \
                 allow: {problem}\nbody: {body}",
                id = operation.id
            )
        };
        let Some(expected) = operation.responses.get(&status) else {
            let listed: Vec<String> = operation.responses.keys().map(u16::to_string).collect();
            return Err(failure(format!(
                "the document lists only {}",
                listed.join(", ")
            )));
        };
        for header in &expected.headers {
            let Some(value) = reply.headers.get(header.name.as_str()) else {
                if header.required {
                    return Err(failure(format!("no {} header", header.name)));
                }
                continue;
            };
            let text = value
                .to_str()
                .map_err(|_| failure(format!("{} is not text", header.name)))?;
            let instance = if header.integer {
                text.parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| failure(format!("{}: {text:?} is not an integer", header.name)))?
            } else {
                Value::String(text.to_owned())
            };
            let errors = schema_errors(&header.schema, &instance);
            if !errors.is_empty() {
                return Err(failure(format!("header {}: {errors}", header.name)));
            }
        }
        match &expected.body {
            None if reply.body.is_empty() => Ok(()),
            None => Err(failure(
                "the document declares no content, yet there is a body".to_owned(),
            )),
            Some(_) if method == "HEAD" => Ok(()),
            Some((media_type, validator)) => {
                let content_type = reply.header("content-type");
                let essence = content_type.split(';').next().unwrap_or_default().trim();
                if !essence.eq_ignore_ascii_case(media_type) {
                    return Err(failure(format!(
                        "Content-Type {content_type:?}, where the document says {media_type}"
                    )));
                }
                let instance: Value = serde_json::from_str(&reply.body)
                    .map_err(|e| failure(format!("the body is not JSON: {e}")))?;
                let errors = schema_errors(validator, &instance);
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(failure(errors))
                }
            }
        }
    }

    /// Every documented operation, as `(method, path template)`: `("DELETE",
    /// "/v1/portal-sessions/{id}")`.
    pub fn operations(&self) -> Vec<(&str, &str)> {
        self.operations
            .iter()
            .map(|operation| (operation.method.as_str(), operation.path.as_str()))
            .collect()
    }
}

impl Expected {
    fn new(document: &Value, response: &Value, what: &str) -> Result<Expected, String> {
        let response = resolve(document, response)?;
        let mut headers = Vec::new();
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let header = resolve(document, header)?;
            let schema = &header["schema"];
            let integer = resolve(document, schema)?["type"] == "integer";
            headers.push(ExpectedHeader {
                name: name.to_ascii_lowercase(),
                required: header["required"] == true,
                integer,
                schema: compile(document, schema, &format!("{what} header {name}"))?,
            });
        }
        let content = response["content"].as_object().filter(|c| !c.is_empty());
        let body = match content {
            None => None,
            Some(content) if content.len() == 1 => {
                let (media_type, media) = content
                    .iter()
                    .next()
                    .ok_or_else(|| format!("{what}: empty content"))?;
                let schema = compile(document, &media["schema"], what)?;
                Some((media_type.clone(), schema))
            }
            Some(_) => {
                return Err(format!(
                    "{what}: only one media type per response is checked"
                ));
            }
        };
        Ok(Expected { headers, body })
    }
}

/// Every complaint of `validator` about `instance`, one per line with where it is in the instance;
/// empty when it is valid.
fn schema_errors(validator: &Validator, instance: &Value) -> String {
    validator
        .iter_errors(instance)
        .map(|error| {
            let at = error.instance_path().to_string();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            format!("\n  at {at}: {error}")
        })
        .collect()
}

/// Whether `path` (a request path) is an instance of `template` (`/v1/portal-sessions/{id}`): the
/// same segments, a `{parameter}` standing for any non-empty one.
fn template_matches(template: &str, path: &str) -> bool {
    let mut actual = path.split('/');
    for expected in template.split('/') {
        match actual.next() {
            Some(segment) if expected.starts_with('{') && expected.ends_with('}') => {
                if segment.is_empty() {
                    return false;
                }
            }
            Some(segment) if segment == expected => {}
            _ => return false,
        }
    }
    actual.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_segments() {
        let item = "/v1/portal-sessions/{id}";
        assert!(template_matches(item, "/v1/portal-sessions/ps_x"));
        assert!(template_matches(item, "/v1/portal-sessions/%FF"));
        assert!(!template_matches(item, "/v1/portal-sessions/"));
        assert!(!template_matches(item, "/v1/portal-sessions"));
        assert!(!template_matches(item, "/v1/portal-sessions/a/b"));
        assert!(template_matches(
            "/v1/portal-sessions",
            "/v1/portal-sessions"
        ));
        assert!(!template_matches(
            "/v1/portal-sessions",
            "/v1/portal-sessions/"
        ));
    }
}
