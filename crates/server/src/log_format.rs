//! The head of a text log line (the time, the level, the target), written as
//! `tracing_subscriber`'s `Full` format writes it, but straight into the line rather than through
//! `core::fmt`: the head's three formatted writes were, after the fields, the largest part of what
//! the request log costs a request (`hot_paths layers-empty` under callgrind).
//!
//! Only lines `Full` writes as `time level target: fields` are written here: a line inside a span
//! (which `Full` heads with the span's name and fields), a coloured line, and an event the `log`
//! crate sent through `tracing-log` (whose level and target `Full` reads from its fields) are
//! handed to `Full` itself, so every line is the same byte for byte; a test holds the two side by
//! side.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The [`FormatEvent`] of the server's text log lines: see the module's documentation.
#[derive(Debug, Clone)]
pub(crate) struct LineFormat<T> {
    timer: T,
    /// What writes the lines this format does not.
    full: Format<Full, T>,
}

impl<T: FormatTime + Clone> LineFormat<T> {
    /// Lines headed by `timer`'s time.
    pub(crate) fn new(timer: T) -> LineFormat<T> {
        LineFormat {
            full: Format::default().with_timer(timer.clone()),
            timer,
        }
    }
}

/// The level as `Full` writes it without colour: five characters, right-aligned.
fn level_text(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

impl<S, N, T> FormatEvent<S, N> for LineFormat<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // `tracing-log` gives every event from the `log` crate this target.
        if writer.has_ansi_escapes() || meta.target() == "log" || ctx.event_scope().is_some() {
            return self.full.format_event(ctx, writer, event);
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_char(' ')?;
        writer.write_str(level_text(*meta.level()))?;
        writer.write_char(' ')?;
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::log_fields::LineFields;
    use crate::log_fields::tests::Lines;

    /// The same time on every line, so that two runs compare.
    #[derive(Debug, Clone, Copy)]
    struct FixedTime;

    impl FormatTime for FixedTime {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            w.write_str("2026-12-04T01:02:03.456789Z")
        }
    }

    /// A timer that fails, which `Full` writes as `<unknown time>`.
    #[derive(Debug, Clone, Copy)]
    struct NoTime;

    impl FormatTime for NoTime {
        fn format_time(&self, _: &mut Writer<'_>) -> fmt::Result {
            Err(fmt::Error)
        }
    }

    /// Every level, a line inside spans and one after them, targets of two kinds.
    fn events() {
        tracing::trace!(n = 1u64, "trace");
        tracing::debug!("debug");
        tracing::info!(message = "request", method = %"GET", path = "/healthz", status = 200u16);
        tracing::warn!(target: "elsewhere::module", "warned");
        tracing::error!(error = "it failed", "failed");
        {
            let outer = tracing::info_span!("outer", id = 7u64);
            let _outer = outer.enter();
            let inner = tracing::info_span!("inner");
            let _inner = inner.enter();
            tracing::info!("inside two spans");
        }
        tracing::info!("after the spans");
    }

    fn log_with<E>(format: E) -> String
    where
        E: FormatEvent<tracing_subscriber::Registry, LineFields> + Send + Sync + 'static,
    {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .with_max_level(Level::TRACE)
            .fmt_fields(LineFields)
            .event_format(format)
            .finish();
        tracing::subscriber::with_default(subscriber, events);
        let bytes = lines.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn lines_are_those_of_tracing_subscribers_full_format_byte_for_byte() {
        let ours = log_with(LineFormat::new(FixedTime));
        let theirs = log_with(Format::default().with_timer(FixedTime));
        assert_eq!(ours.lines().count(), 7, "{ours}");
        assert!(
            ours.contains(
                "2026-12-04T01:02:03.456789Z  INFO portal_sessions_server::log_format::tests: \
                 request method=GET path=\"/healthz\" status=200\n"
            ),
            "{ours}"
        );
        assert!(ours.contains("outer{id=7}:inner: "), "{ours}");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_time_that_cannot_be_told_is_written_as_full_writes_it() {
        let ours = log_with(LineFormat::new(NoTime));
        assert!(ours.starts_with("<unknown time> TRACE "), "{ours}");
        assert_eq!(ours, log_with(Format::default().with_timer(NoTime)));
    }
}
