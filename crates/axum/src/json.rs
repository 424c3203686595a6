//! Request bodies as JSON, with every object's keys unique.
//!
//! RFC 8259 leaves a repeated key's meaning to the parser: one takes the first value, another the
//! last, a proxy or a WAF in front of the service may read the other one than this service does.
//! So a body that names a key twice, at any depth, whether this service knows the key or not, is
//! refused rather than read one way. [`parse`] is the one place that decides it: whatever reads a
//! body (a walk over the [`Value`], or `serde_json::from_value` into a struct) starts from it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The longest part of a repeated key a message shows, in characters.
const SHOWN_KEY_CHARS: usize = 64;

/// Why a body is not a JSON value [`parse`] accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON (or nested deeper than the parser goes, or a number out of range).
    Syntax,
    /// An object names this key more than once.
    DuplicateKey(String),
}

impl JsonError {
    /// What a client is told: never a value of the body, only a key it sent twice (cut to
    /// [`SHOWN_KEY_CHARS`]).
    pub(crate) fn message(&self) -> String {
        match self {
            JsonError::Syntax => "the request body is not valid JSON".to_owned(),
            JsonError::DuplicateKey(key) => {
                let mut shown: String = key.chars().take(SHOWN_KEY_CHARS).collect();
                if shown.len() < key.len() {
                    shown.push('…');
                }
                format!("the request body names the key {shown:?} more than once in one object")
            }
        }
    }
}

/// Parses `bytes` as one JSON value, refusing any object (at any depth) that repeats a key.
///
/// # Errors
///
/// [`JsonError::DuplicateKey`] with the first repeated key met; [`JsonError::Syntax`] for anything
/// else that is not JSON.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Unique {
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(key)) => Err(JsonError::DuplicateKey(key)),
        (Err(_), None) => Err(JsonError::Syntax),
    }
}

/// A JSON value, built as `serde_json::Value` builds itself, except that a repeated key stops the
/// parse and is recorded in `duplicate`.
#[derive(Clone, Copy)]
struct Unique<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.duplicate.borrow_mut() = Some(key);
                return Err(de::Error::custom("a repeated key"));
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_parse_as_serde_json_parses_them() {
        for text in [
            r#"{"a":1,"b":[true,null,-2,2.5,"x"],"c":{"d":{}},"e":18446744073709551615}"#,
            "[]",
            "\"text\"",
            "null",
            " {\"a\" : [ {\"a\": 1}, {\"a\": 2} ] } ",
        ] {
            let expected: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parse(text.as_bytes()), Ok(expected), "{text}");
        }
        assert_eq!(
            parse(br#"{"a":{"a":{"a":1}}}"#),
            Ok(json!({"a": {"a": {"a": 1}}})),
            "the same key in different objects is fine"
        );
    }

    #[test]
    fn a_repeated_key_at_any_depth_is_named() {
        for (text, key) in [
            (r#"{"features":["usage"],"features":[]}"#, "features"),
            (r#"{"unknown":1,"unknown":1}"#, "unknown"),
            (r#"{"a":{"b":1,"c":2,"b":3}}"#, "b"),
            (r#"{"a":[{"x":1},{"y":1,"y":2}]}"#, "y"),
            (r#"{"\u0061":1,"a":2}"#, "a"),
        ] {
            assert_eq!(
                parse(text.as_bytes()),
                Err(JsonError::DuplicateKey(key.to_owned())),
                "{text}"
            );
        }
        let message = JsonError::DuplicateKey("returnUrl".into()).message();
        assert!(message.contains("\"returnUrl\""), "{message}");
        let long = JsonError::DuplicateKey("k".repeat(10_000)).message();
        assert!(long.len() < 200, "{long}");
    }

    #[test]
    fn anything_else_that_is_not_json_is_a_syntax_error() {
        for text in [
            &b""[..],
            b"{",
            b"{} {}",
            b"{\"a\":1,}",
            b"\xff",
            b"1e400",
            &"[".repeat(300).into_bytes(),
        ] {
            assert_eq!(
                parse(text),
                Err(JsonError::Syntax),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
