//! [`ErrorChain`]: an error and its sources, printed once each.

use std::error::Error;
use std::fmt;

/// Displays an error followed by its chain of sources, `outer: cause: root cause`, for a log line or
/// a command's last words.
///
/// Every error of this workspace either prints its cause or returns it from
/// [`source`](Error::source), never both, so its chain reads like a sentence. Errors of other crates
/// do not all keep that rule (a driver error may print its I/O cause and also return it), so a
/// source whose text the line already ends with is skipped rather than printed twice.
///
/// # Examples
///
/// ```
/// use portal_sessions::{ErrorChain, StoreError};
///
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let error = StoreError::Unavailable(Box::new(refused));
/// assert_eq!(
///     ErrorChain(&error).to_string(),
///     "the session store is unavailable: connection refused"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !last.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A foreign-style error that prints its cause and also returns it.
    #[derive(Debug)]
    struct Echoing(std::io::Error);

    impl fmt::Display for Echoing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "error connecting to server: {}", self.0)
        }
    }

    impl Error for Echoing {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_the_line_already_ends_with_is_not_repeated() {
        let io = std::io::Error::other("Connection refused (os error 111)");
        let error = crate::StoreError::Unavailable(Box::new(Echoing(io)));
        assert_eq!(
            ErrorChain(&error).to_string(),
            "the session store is unavailable: error connecting to server: Connection refused (os error 111)"
        );
    }
}
