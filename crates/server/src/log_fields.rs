//! The fields of a text log line, written exactly as `tracing_subscriber`'s `DefaultFields`
//! writes them (`name=value`, a space between, the message bare), but with integers, booleans,
//! plain strings and a message given as a string of printable ASCII written straight into the
//! line instead of through `core::fmt`, and other values formatted after a name written plainly:
//! the request log's fields were the largest part of what the server's layers cost a request
//! (`hot_paths layers-empty` under callgrind). Everything else (a message given as format
//! arguments, or as a string with anything but printable ASCII in it; errors; a string that
//! needs escaping; a field other than the message when the line is coloured) is handed to
//! `DefaultFields`' own visitor, so the line is the same byte for byte; a test holds the two side
//! by side.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// The [`FormatFields`] of the server's text log lines: see the module's documentation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LineFields;

impl<'writer> FormatFields<'writer> for LineFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = LineVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes one line's fields.
struct LineVisitor<'a> {
    writer: Writer<'a>,
    /// No field written yet (none is preceded by a space).
    is_empty: bool,
    result: fmt::Result,
}

impl LineVisitor<'_> {
    /// Starts a field `DefaultFields` would write as plain `name=value`: the separating space and
    /// the name. `false`, having written nothing, for the fields it writes otherwise (the
    /// message, raw identifiers, names styled with ANSI colours, the `log.` fields the
    /// `tracing-log` feature skips), and after an error.
    fn start(&mut self, field: &Field) -> bool {
        let name = field.name();
        if self.result.is_err()
            || name == "message"
            || name.starts_with("r#")
            || name.starts_with("log.")
            || self.writer.has_ansi_escapes()
        {
            return false;
        }
        if !self.is_empty {
            self.result = self.writer.write_char(' ');
        }
        self.is_empty = false;
        self.result = self
            .result
            .and_then(|()| self.writer.write_str(name))
            .and_then(|()| self.writer.write_char('='));
        true
    }

    /// Writes one field through `DefaultFields`' own visitor.
    fn by_default(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut visitor);
        self.result = visitor.finish();
        self.is_empty = false;
    }

    fn write(&mut self, text: &str) {
        self.result = self.result.and_then(|()| self.writer.write_str(text));
    }
}

/// Printable ASCII: a message `DefaultFields` writes as it is.
fn is_printable(text: &str) -> bool {
    text.bytes().all(|byte| (b' '..=b'~').contains(&byte))
}

/// A string `Debug` writes as it is, between quotes: printable ASCII but the quote and the
/// backslash.
fn is_plain(text: &str) -> bool {
    text.bytes()
        .all(|byte| (b' '..=b'~').contains(&byte) && byte != b'"' && byte != b'\\')
}

impl Visit for LineVisitor<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start(field) {
            self.write(itoa::Buffer::new().format(value));
        } else {
            self.by_default(|visitor| visitor.record_u64(field, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.start(field) {
            self.write(itoa::Buffer::new().format(value));
        } else {
            self.by_default(|visitor| visitor.record_i64(field, value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.start(field) {
            self.write(if value { "true" } else { "false" });
        } else {
            self.by_default(|visitor| visitor.record_bool(field, value));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" && self.result.is_ok() && is_printable(value) {
            // `DefaultFields` writes a message bare, through a writer that escapes only control
            // characters, which printable ASCII holds none of.
            if !self.is_empty {
                self.write(" ");
            }
            self.is_empty = false;
            self.write(value);
        } else if is_plain(value) && self.start(field) {
            self.write("\"");
            self.write(value);
            self.write("\"");
        } else {
            self.by_default(|visitor| visitor.record_str(field, value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.by_default(|visitor| visitor.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.start(field) {
            // What `DefaultFields` writes after a plain name and `=`, without its styling.
            self.result = self.result.and_then(|()| write!(self.writer, "{value:?}"));
        } else {
            self.by_default(|visitor| visitor.record_debug(field, value));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// A writer into a shared buffer: what a test's subscriber wrote, to read back (the event
    /// format's tests use it too).
    #[derive(Clone, Default)]
    pub(crate) struct Lines(pub(crate) Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[derive(Debug)]
    struct Failure;

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("it \"failed\"")
        }
    }

    impl std::error::Error for Failure {}

    /// Every kind of field, each where the fast path applies and where it must not.
    fn events() {
        let error = Failure;
        let span = tracing::info_span!("outer", id = 7u64, name = "a b", flag = true);
        let _entered = span.enter();
        tracing::info!(
            method = %"GET",
            path = "/r/[redacted]/recover?x=1",
            status = 200u16,
            micros = 1234u64,
            "request"
        );
        tracing::warn!(
            quoted = "say \"hi\"",
            slash = "a\\b",
            tab = "a\tb",
            accented = "café",
            empty = "",
            negative = -42i64,
            zero = 0u64,
            max = u64::MAX,
            min = i64::MIN,
            yes = true,
            no = false,
            ratio = 0.5f64,
            big = u128::MAX,
            debugged = ?Some("x"),
            error = &error as &(dyn std::error::Error + 'static),
            r#type = "raw",
            "a message with \"quotes\" and {} braces",
            3
        );
        tracing::error!(message = "only a message string");
        let long = "x".repeat(300);
        tracing::info!(message = long.as_str(), long = long.as_str(), n = 2u64);
        tracing::info!(
            message = "a \"plain\" message \\ given as a string",
            n = 1u64
        );
        tracing::info!(message = "a bell\x07, a delete\x7f and an escape\x1b[31m", shown = %"x\ty");
        tracing::info!(
            after = 1u64,
            message = "a message after a field",
            before = "b"
        );
    }

    fn log_with<F>(fields: F) -> String
    where
        F: for<'w> FormatFields<'w> + Send + Sync + 'static,
    {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .without_time()
            .fmt_fields(fields)
            .finish();
        tracing::subscriber::with_default(subscriber, events);
        let bytes = lines.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn lines_are_those_of_tracing_subscribers_default_fields_byte_for_byte() {
        let ours = log_with(LineFields);
        let theirs = log_with(tracing_subscriber::fmt::format::DefaultFields::new());
        assert_eq!(ours.lines().count(), 7, "{ours}");
        assert!(ours.contains("status=200 micros=1234"), "{ours}");
        assert!(
            ours.contains("outer{id=7 name=\"a b\" flag=true}"),
            "{ours}"
        );
        assert_eq!(ours, theirs);
    }
}
