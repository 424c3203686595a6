//! The first pass, over the values as parsed: every unknown key at any depth (with the key that
//! was probably meant), every value of the wrong type and every value a syntax error touched, each
//! reported and left out, so that what remains deserializes into the [schema](super::schema)
//! whatever was wrong with the rest. serde's own `deny_unknown_fields` would stop at the first
//! unknown key, and its type errors quote the value; these checks do neither.

use toml::Spanned;
use toml::de::{DeArray, DeString, DeTable, DeValue};

use super::report::{Report, join};
use super::shape::Shape;

/// Checks `table` (at `at`, `""` for the top) against `shape`, leaving out what is wrong: first
/// its unknown keys (the table's own mistakes), then its values, in the order the schema declares
/// them.
pub(super) fn check_table(r: &Report<'_>, at: &str, table: &mut DeTable<'_>, shape: &Shape) {
    let Shape::Table(fields) = shape else {
        return;
    };
    let known = shape.keys();
    let mut wrong = Vec::new();
    for key in table.keys() {
        let name: &str = key.get_ref();
        if shape.field(name).is_none() {
            let path = join(at, name);
            r.record(&path, &key.span());
            r.error(&path, unknown_key(name, &known));
            wrong.push(name.to_owned());
        }
    }
    for (name, field) in fields {
        let Some(value) = table.get_mut(*name) else {
            continue;
        };
        let path = join(at, name);
        r.record(&path, &value.span());
        if !check_value(r, &path, value, field) {
            r.left_out(&path);
            wrong.push((*name).to_owned());
        }
    }
    for name in wrong {
        table.remove(name.as_str());
    }
}

/// Whether the value at `path` is of its shape (its own wrong parts left out); when it is not,
/// why is reported.
fn check_value(
    r: &Report<'_>,
    path: &str,
    value: &mut Spanned<DeValue<'_>>,
    shape: &Shape,
) -> bool {
    let is_leaf = !matches!(value.get_ref(), DeValue::Array(_) | DeValue::Table(_));
    if is_leaf && r.touched(path, &value.span()) {
        return false;
    }
    let reason = match (shape, value.get_mut()) {
        (Shape::Table(_), DeValue::Table(table)) => {
            check_table(r, path, table, shape);
            return true;
        }
        (Shape::List(item), DeValue::Array(items)) => {
            check_items(r, path, items, item);
            return true;
        }
        (Shape::Text, DeValue::String(_)) | (Shape::Boolean, DeValue::Boolean(_)) => return true,
        (Shape::OneOf(names), DeValue::String(text)) => {
            if names.contains(&text.as_ref()) {
                return true;
            }
            format!("must be one of {}", names.join(", "))
        }
        (Shape::Integer | Shape::Number, DeValue::Integer(integer)) => {
            if i64::from_str_radix(integer.as_str(), integer.radix()).is_ok() {
                return true;
            }
            "must be an integer that fits in 64 bits".to_owned()
        }
        (Shape::Number, DeValue::Float(float)) => {
            if float.as_str().parse::<f64>().is_ok() {
                return true;
            }
            "must be a number".to_owned()
        }
        (_, found) => format!(
            "must be {}, not {}",
            shape.expected(),
            with_article(found.type_str())
        ),
    };
    r.error(path, reason);
    false
}

/// Checks each item of a list; one that is wrong is replaced by an empty value of its shape (and
/// left out), so that the items after it keep their places (`orgs[2]` stays `orgs[2]`).
fn check_items(r: &Report<'_>, at: &str, items: &mut DeArray<'_>, shape: &Shape) {
    for (i, item) in items.iter_mut().enumerate() {
        let path = format!("{at}[{i}]");
        r.record(&path, &item.span());
        if !check_value(r, &path, item, shape) {
            r.left_out(&path);
            *item = Spanned::new(item.span(), placeholder(shape));
        }
    }
}

/// An empty value of a shape, that deserializes.
fn placeholder(shape: &Shape) -> DeValue<'static> {
    match shape {
        Shape::Boolean => DeValue::Boolean(false),
        Shape::Integer | Shape::Number => DeValue::parse("0")
            .map(Spanned::into_inner)
            .unwrap_or(DeValue::Boolean(false)),
        Shape::Text => DeValue::String(DeString::Borrowed("")),
        Shape::OneOf(names) => DeValue::String(DeString::Borrowed(
            names.first().copied().unwrap_or_default(),
        )),
        Shape::List(_) => DeValue::Array(DeArray::new()),
        Shape::Table(_) => DeValue::Table(DeTable::new()),
    }
}

fn unknown_key(name: &str, known: &[&str]) -> String {
    match super::report::closest(name, known.iter().copied()) {
        Some(meant) => format!("unknown key (did you mean {meant}?)"),
        None => format!("unknown key (the keys here: {})", known.join(", ")),
    }
}

fn with_article(type_name: &str) -> &'static str {
    match type_name {
        "string" => "a string",
        "integer" => "an integer",
        "float" => "a number with a fraction",
        "boolean" => "true or false",
        "datetime" => "a date or time",
        "array" => "a list",
        _ => "a table",
    }
}
