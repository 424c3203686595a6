//! A JSON object written straight into a buffer, for the one answer the API writes most: the
//! create answer ([`CreatedView`](super::item::CreatedView)).
//!
//! Why not serde: through `serde_json`, a third of a create's instructions went to its answer
//! (callgrind of `hot_paths http-create`: 9,800 of 41,500), most of it escaping, byte by byte,
//! twenty keys that are constants and values that are ids, instants and URLs. Here the parts that
//! cannot vary cost nothing to check, and what varies is still escaped:
//!
//! * a key is a [`Key`], made by [`key!`](crate::api::json_object::key) when the program is
//!   compiled, which refuses any name that would need escaping: writing one is one copy of `,"name":`;
//! * a value is written by its type, through [`JsonValue`]: text (any `str`) is always escaped,
//!   exactly as `serde_json` escapes it, after a check for anything to escape that reads the text
//!   sixteen bytes at a time; an id or an instant is written from its fixed-size text.
//!
//! The tests hold the escaping to `serde_json`'s byte for byte, and the create answer to the same
//! answer written by `serde_json`.

use portal_sessions::{CustomerId, Feature, Features, Locale, SessionId, Timestamp};

/// A key of an answer's object, with its punctuation: `"name":`. Made only by [`key!`], whose
/// name is checked when the program is compiled.
#[derive(Clone, Copy)]
pub(crate) struct Key(&'static str);

impl Key {
    /// The key `"name":`, given as that text. Meant for [`key!`], which calls it in a constant,
    /// so that the check runs when the program is compiled.
    ///
    /// # Panics
    ///
    /// When the name is empty or has a character other than an ASCII letter, digit or `_` (which
    /// would need escaping, or be a surprising key).
    pub(crate) const fn new(quoted: &'static str) -> Key {
        let bytes = quoted.as_bytes();
        assert!(bytes.len() > 3, "a key has a name");
        assert!(
            bytes[0] == b'"' && bytes[bytes.len() - 2] == b'"' && bytes[bytes.len() - 1] == b':',
            "a key is written \"name\":"
        );
        let mut i = 1;
        while i < bytes.len() - 2 {
            let b = bytes[i];
            assert!(
                b.is_ascii_alphanumeric() || b == b'_',
                "a key's name is ASCII letters, digits and _"
            );
            i += 1;
        }
        Key(quoted)
    }
}

/// The [`Key`] `name`, checked when the program is compiled.
macro_rules! key {
    ($name:literal) => {{
        const KEY: $crate::api::json_object::Key =
            $crate::api::json_object::Key::new(concat!("\"", $name, "\":"));
        KEY
    }};
}
pub(crate) use key;

/// A JSON object being written into a buffer: [`field`](Self::field) by field, then
/// [`end`](Self::end).
pub(crate) struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    /// Opens an object at the end of `out`.
    pub(crate) fn start(out: &'a mut Vec<u8>) -> JsonObject<'a> {
        out.push(b'{');
        JsonObject { out, empty: true }
    }

    /// Writes `key: value`.
    pub(crate) fn field<V: JsonValue + ?Sized>(&mut self, key: Key, value: &V) -> &mut Self {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.extend_from_slice(key.0.as_bytes());
        value.write_json(self.out);
        self
    }

    /// Closes the object.
    pub(crate) fn end(self) {
        self.out.push(b'}');
    }
}

/// A value that writes itself as JSON.
pub(crate) trait JsonValue {
    /// Appends the value's JSON to `out`.
    fn write_json(&self, out: &mut Vec<u8>);
}

impl JsonValue for str {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_string(out, self);
    }
}

impl JsonValue for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_string(out, self);
    }
}

impl JsonValue for bool {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl JsonValue for u64 {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
    }
}

impl<T: JsonValue> JsonValue for Option<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl JsonValue for SessionId {
    fn write_json(&self, out: &mut Vec<u8>) {
        // `ps_` and base64url.
        write_plain(out, self.encode(&mut [0; SessionId::TEXT_LEN]));
    }
}

impl JsonValue for CustomerId {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut buf = [0; 36];
        // Hexadecimal digits and hyphens.
        write_plain(out, self.as_uuid().hyphenated().encode_lower(&mut buf));
    }
}

impl JsonValue for Timestamp {
    fn write_json(&self, out: &mut Vec<u8>) {
        // Digits, `-`, `:`, `.`, `T` and `Z`.
        write_plain(out, self.encode_rfc3339(&mut [0; Timestamp::RFC3339_LEN]));
    }
}

impl JsonValue for Feature {
    fn write_json(&self, out: &mut Vec<u8>) {
        // A lower-case name.
        write_plain(out, self.as_str());
    }
}

/// The features as a list of their wire names.
impl JsonValue for Features {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, feature) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            feature.write_json(out);
        }
        out.push(b']');
    }
}

impl JsonValue for Locale {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_string(out, &self.to_string());
    }
}

impl<T: JsonValue + ?Sized> JsonValue for &T {
    fn write_json(&self, out: &mut Vec<u8>) {
        (**self).write_json(out);
    }
}

/// Whether a byte must be escaped in a JSON string: the control characters, `"` and `\`
/// (RFC 8259, section 7; what `serde_json` escapes, and nothing more).
const fn must_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Writes `text` as a JSON string. Text with nothing to escape (every id, instant and URL this
/// service makes, and most names) is copied whole, after a check that reads it sixteen bytes at a
/// time without stopping early, which the compiler turns into vector instructions.
fn write_string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let chunks = bytes.chunks_exact(16);
    let clean = chunks
        .clone()
        .all(|chunk| !chunk.iter().fold(false, |seen, &b| seen | must_escape(b)))
        && !chunks.remainder().iter().any(|&b| must_escape(b));
    if clean {
        write_plain(out, text);
    } else {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        write_escaped(out, bytes);
        out.push(b'"');
    }
}

/// Writes `text`, which has nothing to escape by how its type makes it (an id's, an instant's, a
/// feature's name), as a JSON string without looking for anything to escape: the check was a
/// tenth of what writing the create answer cost. Tests hold each such type's text against
/// `serde_json`.
fn write_plain(out: &mut Vec<u8>, text: &str) {
    debug_assert!(!text.bytes().any(must_escape), "{text:?} needs escaping");
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// The slow path of [`write_string`]: `serde_json`'s escapes, byte by byte (a multi-byte UTF-8
/// character's bytes are never escaped, all being 0x80 or above).
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        if !must_escape(b) {
            out.push(b);
            continue;
        }
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn written<V: JsonValue + ?Sized>(value: &V) -> String {
        let mut out = Vec::new();
        value.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = (0u32..0x80)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .collect();
        cases.extend(
            [
                "",
                "plain",
                "Zoë \"Q\" O'Brien \\ <script>",
                "line\nbreak\ttab\r\u{8}\u{c}\u{1f}\u{7f}",
                "日本語 and 🦀",
                "\u{2028}\u{2029}",
                // Longer than a chunk, with the character to escape in each place of one.
                "0123456789abcdef0123456789abcdef\"",
            ]
            .map(String::from),
        );
        // Each byte near the ones to escape, in each place of a sixteen-byte chunk and a tail.
        for byte in [0x00, 0x1f, 0x20, 0x21, b'"', 0x23, 0x5b, b'\\', 0x5d, 0x7f] {
            for at in 0..20 {
                let mut text = "x".repeat(20);
                text.replace_range(at..=at, char::from(byte).encode_utf8(&mut [0; 4]));
                cases.push(text);
            }
        }
        for at in 0..20 {
            let mut text = "x".repeat(20);
            text.replace_range(at..=at, "é");
            cases.push(text);
        }
        for text in &cases {
            assert_eq!(written(text.as_str()), serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn plainly_written_types_write_what_serde_json_writes_of_their_text() {
        for feature in Feature::ALL {
            assert_eq!(
                written(&feature),
                serde_json::to_string(feature.as_str()).unwrap()
            );
        }
        for byte in [0x00, 0x3e, 0x3f, 0x7f, 0xfb, 0xff] {
            let id = SessionId::from_bytes([byte; 16]);
            assert_eq!(
                written(&id),
                serde_json::to_string(&id.to_string()).unwrap()
            );
            let customer = CustomerId::from_bytes([byte; 16]);
            let text = customer.as_uuid().hyphenated().to_string();
            assert_eq!(written(&customer), serde_json::to_string(&text).unwrap());
        }
        for millis in [0, 1, 999, 1_778_693_400_123, Timestamp::MAX.as_millis()] {
            let at = Timestamp::from_millis(millis).unwrap();
            assert_eq!(
                written(&at),
                serde_json::to_string(&at.to_string()).unwrap()
            );
        }
    }

    #[test]
    fn values_are_written_by_type() {
        // Spelled out, not through `Display`, which writes with the same `encode`.
        let id = SessionId::from_bytes([0xfb; 16]);
        assert_eq!(written(&id), "\"ps_-_v7-_v7-_v7-_v7-_v7-w\"");
        let customer = CustomerId::from_bytes([0xab; 16]);
        assert_eq!(
            written(&customer),
            "\"abababab-abab-abab-abab-abababababab\""
        );
        let at = Timestamp::from_millis(1_778_693_400_123).unwrap();
        assert_eq!(written(&at), "\"2026-05-13T17:30:00.123Z\"");
        assert_eq!(written(&Some(true)), "true");
        assert_eq!(written(&None::<bool>), "null");
        assert_eq!(written(&u64::MAX), u64::MAX.to_string());
        assert_eq!(
            written(&Features::EMPTY.with(Feature::Usage).with(Feature::Invoices)),
            "[\"invoices\",\"usage\"]"
        );
        let locale: Locale = "fr-ca".parse().unwrap();
        assert_eq!(written(&locale), "\"fr-CA\"");
    }

    #[test]
    fn an_object_is_its_fields_in_order() {
        let mut out = Vec::new();
        JsonObject::start(&mut out).end();
        assert_eq!(out, b"{}");
        out.clear();
        let mut object = JsonObject::start(&mut out);
        object
            .field(key!("a"), "x\"y")
            .field(key!("b_2"), &7u64)
            .field(key!("c"), &None::<String>);
        object.end();
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"a": "x\"y", "b_2": 7, "c": null})
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":"x\"y","b_2":7,"c":null}"#
        );
    }

    #[test]
    #[should_panic(expected = "ASCII letters")]
    fn a_key_that_would_need_escaping_is_refused() {
        // In a constant (as `key!` writes it) this fails the build; here it panics.
        let name = String::from("\"a\\\"b\":");
        let _ = Key::new(name.leak());
    }
}
