//! Request bodies as JSON, with every object's keys unique.
//!
//! RFC 8259 leaves a repeated key's meaning to the parser: one takes the first value, another the
//! last, a proxy or a WAF in front of the service may read the other one than this service does.
//! So a body that names a key twice, at any depth, whether this service knows the key or not, is
//! refused rather than read one way. [`check`] is the one place that decides it: whatever reads a
//! body (`serde_json::from_slice` into a struct) reads only a body it accepted.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The longest part of a repeated key a message shows, in characters.
const SHOWN_KEY_CHARS: usize = 64;

/// Why a body is not a JSON value [`check`] accepts.
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

/// What a body is at its top, once [`check`] has accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Top {
    /// A JSON object.
    Object,
    /// Any other JSON value.
    Other,
}

/// Reads `bytes` as one JSON value, refusing any object (at any depth) that repeats a key. It
/// builds no value (only each object's list of keys, borrowed from the body where a key has no
/// escapes): a body that passes is then read into its typed struct straight from the bytes.
///
/// # Errors
///
/// [`JsonError::DuplicateKey`] with the first repeated key met; [`JsonError::Syntax`] for anything
/// else that is not JSON.
pub(crate) fn check(bytes: &[u8]) -> Result<Top, JsonError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let checked = Unique {
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|top| deserializer.end().map(|()| top));
    match (checked, duplicate.into_inner()) {
        (Ok(top), _) => Ok(top),
        (Err(_), Some(key)) => Err(JsonError::DuplicateKey(key)),
        (Err(_), None) => Err(JsonError::Syntax),
    }
}

/// How many keys of one object are compared one by one before they go into a hash set: most
/// bodies have a few, and a body of many must not cost a comparison of every pair.
const KEYS_COMPARED_IN_TURN: usize = 16;

/// The keys of one object met so far: the first [`KEYS_COMPARED_IN_TURN`] in place (no
/// allocation for an object of a few keys), then all of them in a hash set.
struct Keys<'de> {
    few: [Option<Cow<'de, str>>; KEYS_COMPARED_IN_TURN],
    many: HashSet<Cow<'de, str>>,
}

impl Default for Keys<'_> {
    fn default() -> Self {
        Keys {
            few: [const { None }; KEYS_COMPARED_IN_TURN],
            many: HashSet::new(),
        }
    }
}

impl<'de> Keys<'de> {
    fn contains(&self, key: &str) -> bool {
        self.few
            .iter()
            .map_while(Option::as_ref)
            .any(|seen| seen == key)
            || self.many.contains(key)
    }

    fn insert(&mut self, key: Cow<'de, str>) {
        if !self.many.is_empty() {
            self.many.insert(key);
            return;
        }
        match self.few.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(key),
            None => {
                self.many
                    .extend(self.few.iter_mut().filter_map(Option::take));
                self.many.insert(key);
            }
        }
    }
}

/// A key, borrowed from the body where it has no escapes.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object's key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// A JSON value, read through and dropped, except that a repeated key stops the read and is
/// recorded in `duplicate`.
#[derive(Clone, Copy)]
struct Unique<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_unit<E>(self) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_none<E>(self) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(Top::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut keys = Keys::default();
        while let Some(key) = map.next_key_seed(KeyText)? {
            if keys.contains(&key) {
                *self.duplicate.borrow_mut() = Some(key.into_owned());
                return Err(de::Error::custom("a repeated key"));
            }
            keys.insert(key);
            map.next_value_seed(self)?;
        }
        Ok(Top::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_accepted_and_its_top_told() {
        for (text, top) in [
            (
                r#"{"a":1,"b":[true,null,-2,2.5,"x"],"c":{"d":{}},"e":18446744073709551615}"#,
                Top::Object,
            ),
            ("[]", Top::Other),
            ("\"text\"", Top::Other),
            ("null", Top::Other),
            (" {\"a\" : [ {\"a\": 1}, {\"a\": 2} ] } ", Top::Object),
            (r#"{"a":{"a":{"a":1}}}"#, Top::Object),
            (r#"{"\u0061":1,"b":2}"#, Top::Object),
        ] {
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_ok(),
                "{text} is JSON"
            );
            assert_eq!(check(text.as_bytes()), Ok(top), "{text}");
        }
        // Many keys, past those compared in turn, all different; then one repeated.
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let many = format!("{{{}}}", keys.join(","));
        assert_eq!(check(many.as_bytes()), Ok(Top::Object));
        let repeated = format!("{{{},\"k33\":0}}", keys.join(","));
        assert_eq!(
            check(repeated.as_bytes()),
            Err(JsonError::DuplicateKey("k33".to_owned()))
        );
        // Around the last key compared in turn: the first and the last key met, repeated.
        for n in [1, 15, 16, 17, 18] {
            let keys = &keys[..n];
            for again in [0, n - 1] {
                let text = format!("{{{},\"k{again}\":0}}", keys.join(","));
                assert_eq!(
                    check(text.as_bytes()),
                    Err(JsonError::DuplicateKey(format!("k{again}"))),
                    "{n} keys, then k{again}"
                );
            }
        }
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
                check(text.as_bytes()),
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
                check(text),
                Err(JsonError::Syntax),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
