//! The errors of a configuration: each with where it is (the file and its line, the variable or
//! the flag), the key and the reason, and never the value.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// What the environment is called in errors (as their `file`).
pub const ENVIRONMENT: &str = "environment";

/// A configuration that cannot be used: where, which key, and why. Never contains a key's value.
///
/// Shown as `{file}: line {line}: {key}: {reason}`, or `{file}: {key}: {reason}` without a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{key}: {reason}", line_prefix(*.line))]
pub struct ConfigError {
    /// The file (or `<built-in demo>`), `environment` for a variable, or `--listen` / `--store`
    /// for a flag.
    pub file: String,
    /// The line of the file, from 1, when the error is in a file and its line is known.
    pub line: Option<usize>,
    /// The key, as a path: `orgs[0].customers[2].email`; for a variable, the variable's name in
    /// place of the top-level key: `PORTAL_SESSIONS_ORGS[0].name`; `syntax` for a file that is not
    /// TOML.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|line| format!("line {line}: "))
        .unwrap_or_default()
}

impl ConfigError {
    /// An error without a line.
    pub fn new(
        file: impl Into<String>,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: file.into(),
            line: None,
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Every error of a configuration (at least one), in the order of the file's lines, then the
/// environment's, then the flags'. Shown one error a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", one_a_line(.errors))]
pub struct ConfigErrors {
    pub(super) errors: Vec<ConfigError>,
}

fn one_a_line(errors: &[ConfigError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

impl ConfigErrors {
    /// Every error (never empty).
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// The first error.
    pub fn first(&self) -> &ConfigError {
        &self.errors[0]
    }

    /// The first error, for a caller that reports one.
    pub fn into_first(self) -> ConfigError {
        self.errors
            .into_iter()
            .next()
            .unwrap_or_else(|| ConfigError::new("<configuration>", "(none)", "is invalid"))
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> ConfigErrors {
        ConfigErrors {
            errors: vec![error],
        }
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// A parser's message without the values it quotes: a type error on `secret_keys` must not print
/// the key. Every `"..."` becomes `"…"`; what is between backticks (the tokens the parser expected,
/// like `` `"` ``) is kept.
pub(super) fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '`' {
            for inner in chars.by_ref() {
                out.push(inner);
                if inner == '`' {
                    break;
                }
            }
        } else if c == '"' {
            let mut escaped = false;
            for inner in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if inner == '\\' {
                    escaped = true;
                } else if inner == '"' {
                    break;
                }
            }
            out.push_str("…\"");
        }
    }
    out
}

/// The edit distance between two strings, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The known name closest to `name`, when it is close enough to be what was meant (a typo or
/// two, or the start of it).
pub(super) fn closest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    known
        .into_iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance * 3 <= candidate.chars().count()
                || (name.len() >= 4 && candidate.starts_with(name))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Where a top-level key's value comes from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Origin<'s> {
    File,
    Env(&'s str),
    Flag(&'static str),
}

/// A value was wrong, and the error is in the report.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reported;

/// A value read: `Ok(None)` when the key is absent, `Err(Reported)` when it was given but wrong.
pub(super) type Read<T> = Result<Option<T>, Reported>;

/// The rank of an error: the file's come first, then the environment's, then the flags'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rank {
    File,
    Environment,
    Flag,
}

/// The errors found so far, and what is needed to say where they are: a value is named by its
/// path (`orgs[0].webhooks[1].url`), and the path gives its line (a missing value's is the line
/// of the table it is missing from).
pub(super) struct Report<'s> {
    /// The file's name.
    pub(super) file: &'s str,
    /// The file's text (the lines).
    text: &'s str,
    /// The spans of the file's syntax errors: a value they touch is already reported.
    syntax: Vec<Range<usize>>,
    /// Where each top-level key's value comes from, when not from the file.
    origins: HashMap<String, Origin<'s>>,
    /// The paths of the values that were given but wrong, and were left out once reported.
    reported: RefCell<HashSet<String>>,
    /// Where the file's values are: a path's byte offset.
    spans: RefCell<HashMap<String, usize>>,
    /// The errors, with their rank and line, to be sorted.
    errors: RefCell<Vec<(Rank, usize, ConfigError)>>,
}

/// `at.key`, or `key` at the top.
pub(super) fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

impl<'s> Report<'s> {
    pub(super) fn new(file: &'s str, text: &'s str) -> Report<'s> {
        Report {
            file,
            text,
            syntax: Vec::new(),
            origins: HashMap::new(),
            reported: RefCell::new(HashSet::new()),
            spans: RefCell::new(HashMap::new()),
            errors: RefCell::new(Vec::new()),
        }
    }

    /// Reports a syntax error of the file; a value it touches is left out.
    pub(super) fn syntax_error(&mut self, span: Option<Range<usize>>, message: &str) {
        let line = span.as_ref().map(|span| self.line_at(span.start));
        if let Some(span) = span {
            self.syntax.push(span);
        }
        self.push(
            Rank::File,
            ConfigError {
                file: self.file.to_owned(),
                line,
                key: "syntax".to_owned(),
                reason: without_values(message),
            },
        );
    }

    /// The top-level key's value now comes from `origin`: a value it replaces is forgotten, and
    /// what is wrong with it no longer counts.
    pub(super) fn set_origin(&mut self, key: &str, origin: Origin<'s>) {
        self.origins.insert(key.to_owned(), origin);
        self.reported.get_mut().remove(key);
    }

    fn origin(&self, path: &str) -> Origin<'s> {
        let top = path.split(['.', '[']).next().unwrap_or(path);
        self.origins.get(top).copied().unwrap_or(Origin::File)
    }

    /// The line of a byte offset of the file, from 1.
    fn line_at(&self, offset: usize) -> usize {
        self.text
            .get(..offset)
            .unwrap_or(self.text)
            .matches('\n')
            .count()
            + 1
    }

    /// The line of a path's value, or of its nearest ancestor's when the value is not in the file
    /// (a default).
    fn line_of(&self, path: &str) -> Option<usize> {
        let spans = self.spans.borrow();
        let mut path = path;
        loop {
            if let Some(offset) = spans.get(path) {
                return Some(self.line_at(*offset));
            }
            path = &path[..path.rfind(['.', '['])?];
        }
    }

    /// Where the value at `path` is in the file.
    pub(super) fn record(&self, path: &str, span: &Range<usize>) {
        self.spans.borrow_mut().insert(path.to_owned(), span.start);
    }

    /// The value at `path` was given but is wrong (and reported): it is left out, and what
    /// depends on it is not checked.
    pub(super) fn left_out(&self, path: &str) {
        self.reported.borrow_mut().insert(path.to_owned());
    }

    /// Whether a value is given at `path` (rightly or not).
    pub(super) fn is_given(&self, path: &str) -> bool {
        self.spans.borrow().contains_key(path)
    }

    /// Whether the value at `path` was given but left out.
    pub(super) fn is_left_out(&self, path: &str) -> bool {
        self.reported.borrow().contains(path)
    }

    pub(super) fn push(&self, rank: Rank, error: ConfigError) {
        let line = error.line.unwrap_or(usize::MAX);
        self.errors.borrow_mut().push((rank, line, error));
    }

    /// Whether a syntax error of the file touches this value (and so already reported it).
    pub(super) fn touched(&self, path: &str, span: &Range<usize>) -> bool {
        matches!(self.origin(path), Origin::File)
            && self
                .syntax
                .iter()
                .any(|error| error.start <= span.end && span.start <= error.end)
    }

    /// Reports an error about the value at `path`, named after where the value comes from.
    pub(super) fn error(&self, path: &str, reason: impl Into<String>) -> Reported {
        let reason = reason.into();
        match self.origin(path) {
            Origin::File => self.push(
                Rank::File,
                ConfigError {
                    file: self.file.to_owned(),
                    line: self.line_of(path),
                    key: path.to_owned(),
                    reason,
                },
            ),
            Origin::Env(variable) => {
                let below = path.find(['.', '[']).map_or("", |at| &path[at..]);
                self.push(
                    Rank::Environment,
                    ConfigError::new(ENVIRONMENT, format!("{variable}{below}"), reason),
                );
            }
            Origin::Flag(flag) => self.push(Rank::Flag, ConfigError::new(flag, path, reason)),
        }
        Reported
    }

    /// [`Report::error`], as a value that is left out.
    pub(super) fn fail<T>(&self, path: &str, reason: impl Into<String>) -> Option<T> {
        self.error(path, reason);
        None
    }

    /// A value as read: given, absent, or given but left out.
    pub(super) fn read<T>(&self, path: &str, value: Option<T>) -> Read<T> {
        match value {
            Some(value) => Ok(Some(value)),
            None if self.is_left_out(path) => Err(Reported),
            None => Ok(None),
        }
    }

    /// A value that must be there.
    pub(super) fn required<T>(&self, path: &str, value: Option<T>) -> Option<T> {
        match self.read(path, value) {
            Ok(Some(value)) => Some(value),
            Ok(None) => self.fail(path, "is required"),
            Err(Reported) => None,
        }
    }

    /// A value, or `default` when it is absent; `None` when it was left out.
    pub(super) fn or<T>(&self, path: &str, value: Option<T>, default: T) -> Option<T> {
        self.read(path, value)
            .ok()
            .map(|value| value.unwrap_or(default))
    }

    /// The items of a list, each with its path; `None` for one that was left out.
    pub(super) fn items<T>(&self, path: &str, items: Vec<T>) -> Vec<(String, Option<T>)> {
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{path}[{i}]");
                let item = (!self.is_left_out(&path)).then_some(item);
                (path, item)
            })
            .collect()
    }

    /// Every error, in order: the file's by line, then the environment's, then the flags'.
    pub(super) fn into_errors(self) -> Vec<ConfigError> {
        let mut errors = self.errors.into_inner();
        errors.sort_by_key(|(rank, line, _)| (*rank, *line));
        errors.into_iter().map(|(_, _, error)| error).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_lose_their_quoted_values() {
        assert_eq!(
            without_values(r#"invalid type: string "mf_sk_live_TOPSECRET", expected a sequence"#),
            r#"invalid type: string "…", expected a sequence"#
        );
        assert_eq!(without_values(r#"a "b\"c" d"#), r#"a "…" d"#);
        assert_eq!(
            without_values(r#"invalid basic string, expected `"`"#),
            r#"invalid basic string, expected `"`"#
        );
    }
}
