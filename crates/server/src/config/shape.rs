//! The shape of a serde-derived type, as its derive declares it: which keys each table has, and
//! what each value must be. The schema's structs are the one definition of the keys; the checks
//! (unknown keys, types), the environment's variables and the reference's test all read them
//! from here.

use serde::Deserialize;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// What a value must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shape {
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// A number, whole or with a fraction.
    Number,
    /// A string.
    Text,
    /// A string, one of these.
    OneOf(&'static [&'static str]),
    /// A list of values of one shape.
    List(Box<Shape>),
    /// A table with these keys, in their declared order.
    Table(Vec<(&'static str, Shape)>),
}

impl Shape {
    /// The shape of `T`, read from what its `Deserialize` asks for.
    ///
    /// A type the schema cannot describe (a map with free keys, an enum with data) has no shape:
    /// `Table(vec![])`, which refuses every key, so that a test catches it at once.
    pub(super) fn of<'de, T: Deserialize<'de>>() -> Shape {
        let mut recorder = Recorder::default();
        match T::deserialize(&mut recorder) {
            Ok(_) => recorder.shape.unwrap_or(Shape::Table(Vec::new())),
            Err(Unsupported) => Shape::Table(Vec::new()),
        }
    }

    /// The keys of a table (none for any other shape).
    pub(super) fn keys(&self) -> Vec<&'static str> {
        match self {
            Shape::Table(fields) => fields.iter().map(|(key, _)| *key).collect(),
            _ => Vec::new(),
        }
    }

    /// The shape of a table's key.
    pub(super) fn field(&self, key: &str) -> Option<&Shape> {
        match self {
            Shape::Table(fields) => fields
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, shape)| shape),
            _ => None,
        }
    }

    /// Whether a value of this shape is written as text (a string), rather than as a TOML value,
    /// in an environment variable.
    pub(super) fn is_text(&self) -> bool {
        matches!(self, Shape::Text | Shape::OneOf(_))
    }

    /// A TOML value of this shape, as an example.
    pub(super) fn example(&self) -> String {
        match self {
            Shape::Boolean => "true".to_owned(),
            Shape::Integer => "600".to_owned(),
            Shape::Number => "2.5".to_owned(),
            Shape::Text => "\"...\"".to_owned(),
            Shape::OneOf(names) => format!("\"{}\"", names.first().copied().unwrap_or_default()),
            Shape::List(item) => format!("[{}]", item.example()),
            Shape::Table(fields) => match fields.first() {
                Some((key, shape)) => format!("{{ {key} = {} }}", shape.example()),
                None => "{}".to_owned(),
            },
        }
    }

    /// What a value of this shape is called in an error: `must be {}`.
    pub(super) fn expected(&self) -> &'static str {
        match self {
            Shape::Boolean => "true or false",
            Shape::Integer => "an integer",
            Shape::Number => "a number",
            Shape::Text | Shape::OneOf(_) => "a string",
            Shape::List(_) => "a list",
            Shape::Table(_) => "a table",
        }
    }

    /// Every key's path below this shape, a list's items as `[]`: `orgs[].webhooks[].url`.
    #[cfg(test)]
    pub(super) fn paths(&self, at: &str) -> Vec<String> {
        match self {
            Shape::Table(fields) => fields
                .iter()
                .flat_map(|(key, shape)| {
                    let path = super::report::join(at, key);
                    let mut paths = vec![path.clone()];
                    paths.extend(shape.paths(&path));
                    paths
                })
                .collect(),
            Shape::List(item) => item.paths(&format!("{at}[]")),
            _ => Vec::new(),
        }
    }
}

/// The schema uses a type serde describes in a way this module does not follow.
#[derive(Debug)]
struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a shape the configuration schema describes")
    }
}

impl std::error::Error for Unsupported {}

impl de::Error for Unsupported {
    fn custom<M: std::fmt::Display>(_: M) -> Unsupported {
        Unsupported
    }
}

/// Methods of a deserializer that do what another does (a narrower number, the wider one).
macro_rules! forward_to {
    ($($($from:ident)+ => $to:ident,)+) => {
        $($(
            fn $from<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
                self.$to(visitor)
            }
        )+)+
    };
}

/// A deserializer that answers every request with the smallest value of the kind asked for
/// (`false`, `0`, `""`, one item, every field, the first variant) and records what was asked.
#[derive(Default)]
struct Recorder {
    shape: Option<Shape>,
}

impl Recorder {
    fn record(&mut self, shape: Shape) {
        self.shape = Some(shape);
    }
}

impl<'de> Deserializer<'de> for &mut Recorder {
    type Error = Unsupported;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Unsupported> {
        Err(Unsupported)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.record(Shape::Boolean);
        visitor.visit_bool(false)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.record(Shape::Integer);
        visitor.visit_i64(0)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.record(Shape::Integer);
        visitor.visit_u64(0)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.record(Shape::Number);
        visitor.visit_f64(0.0)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.record(Shape::Text);
        visitor.visit_borrowed_str("")
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        let mut item = Recorder::default();
        let value = visitor.visit_seq(OneItem {
            item: &mut item,
            given: false,
        })?;
        self.record(Shape::List(Box::new(item.shape.ok_or(Unsupported)?)));
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        let mut table = EveryField {
            fields,
            next: 0,
            shapes: Vec::new(),
        };
        let value = visitor.visit_map(&mut table)?;
        self.record(Shape::Table(table.shapes));
        Ok(value)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.record(Shape::OneOf(variants));
        let first = variants.first().ok_or(Unsupported)?;
        visitor.visit_enum(UnitVariant(first))
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct map identifier
        ignored_any
    }

    forward_to! {
        deserialize_i8 deserialize_i16 deserialize_i32 => deserialize_i64,
        deserialize_u8 deserialize_u16 deserialize_u32 => deserialize_u64,
        deserialize_f32 => deserialize_f64,
    }
}

/// A list of one item, whose shape is recorded.
struct OneItem<'r> {
    item: &'r mut Recorder,
    given: bool,
}

impl<'de> de::SeqAccess<'de> for OneItem<'_> {
    type Error = Unsupported;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unsupported> {
        if self.given {
            return Ok(None);
        }
        self.given = true;
        seed.deserialize(&mut *self.item).map(Some)
    }
}

/// A table with every declared field, each field's shape recorded.
struct EveryField {
    fields: &'static [&'static str],
    next: usize,
    shapes: Vec<(&'static str, Shape)>,
}

impl<'de> de::MapAccess<'de> for &mut EveryField {
    type Error = Unsupported;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unsupported> {
        let Some(field) = self.fields.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize(BorrowedStrDeserializer::new(field))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Unsupported> {
        let field = self.fields.get(self.next).ok_or(Unsupported)?;
        self.next += 1;
        let mut value = Recorder::default();
        let deserialized = seed.deserialize(&mut value)?;
        self.shapes.push((field, value.shape.ok_or(Unsupported)?));
        Ok(deserialized)
    }
}

/// An enum's variant without data.
struct UnitVariant(&'static str);

impl<'de> de::EnumAccess<'de> for UnitVariant {
    type Error = Unsupported;
    type Variant = UnitVariant;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitVariant), Unsupported> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.0))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant {
    type Error = Unsupported;

    fn unit_variant(self) -> Result<(), Unsupported> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, Unsupported> {
        Err(Unsupported)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Unsupported> {
        Err(Unsupported)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        on: Option<bool>,
        #[serde(default)]
        names: Vec<String>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "snake_case")]
    enum Colour {
        Red,
        DarkBlue,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        count: Option<i64>,
        seconds: f64,
        colour: Option<Colour>,
        inner: Option<Inner>,
        items: Option<Vec<Inner>>,
    }

    #[test]
    fn a_derive_declares_its_shape() {
        let inner = Shape::Table(vec![
            ("on", Shape::Boolean),
            ("names", Shape::List(Box::new(Shape::Text))),
        ]);
        assert_eq!(
            Shape::of::<Outer>(),
            Shape::Table(vec![
                ("count", Shape::Integer),
                ("seconds", Shape::Number),
                ("colour", Shape::OneOf(&["red", "dark_blue"])),
                ("inner", inner.clone()),
                ("items", Shape::List(Box::new(inner))),
            ])
        );
        assert_eq!(
            Shape::of::<Outer>().paths(""),
            [
                "count",
                "seconds",
                "colour",
                "inner",
                "inner.on",
                "inner.names",
                "items",
                "items[].on",
                "items[].names"
            ]
        );
        assert_eq!(
            Shape::of::<Outer>().example(),
            "{ count = 600 }",
            "an example for the environment"
        );
        // A map with free keys has no shape: every key would be refused, loudly.
        assert_eq!(
            Shape::of::<std::collections::HashMap<String, i64>>(),
            Shape::Table(Vec::new())
        );
    }
}
