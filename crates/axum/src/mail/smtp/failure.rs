//! lettre's errors as [`MailError`]s that say what went wrong and nothing the server said.
//!
//! A lettre error prints the server's reply ("permanent error (550): 5.1.1 <ada@example.com>:
//! Recipient address rejected") and, for a reply it could not read, the reply itself. So no lettre
//! error is kept: a refusal keeps its reply code ([`MailError::Rejected`]), anything else becomes a
//! [`Failure`], which names the category and, for a network error, the kind of I/O error.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use lettre::transport::smtp;

use crate::mail::MailError;

/// What went wrong talking to the mail server, in words of this crate's own: never the server's
/// reply, an address or a host name.
#[derive(Debug, thiserror::Error)]
pub(super) enum Failure {
    /// The whole exchange, or connecting, took longer than the mailer's timeout.
    #[error("the mail server did not answer within {0:?}")]
    Timeout(Duration),
    /// The server could not be reached, or the connection broke.
    #[error(
        "the mail server could not be reached{}",
        .0.map(|kind| format!(" ({kind})")).unwrap_or_default()
    )]
    Network(Option<io::ErrorKind>),
    /// The TLS handshake or the TLS set-up failed.
    #[error("the TLS connection to the mail server failed")]
    Tls,
    /// The server's answers could not be read, or it offered nothing the mailer can go on with
    /// (no STARTTLS where it is required, no authentication mechanism in common).
    #[error("the conversation with the mail server failed")]
    Protocol,
    /// The message could not be put together.
    #[error("the message could not be built")]
    Message,
}

impl Failure {
    /// The category of a lettre error that is not a refusal.
    fn of(error: &smtp::Error, timeout: Duration) -> Failure {
        if error.is_timeout() {
            Failure::Timeout(timeout)
        } else if error.is_tls() {
            Failure::Tls
        } else if error.is_client() || error.is_response() || error.is_transport_shutdown() {
            Failure::Protocol
        } else {
            Failure::Network(io_kind(error))
        }
    }

    /// Why lettre could not set a transport up (its TLS configuration, when the URL was read).
    pub(super) fn of_setup(error: &smtp::Error) -> Failure {
        if error.is_tls() {
            Failure::Tls
        } else {
            Failure::Protocol
        }
    }
}

/// The kind of the first I/O error in `error`'s sources: "connection refused", "timed out".
fn io_kind(error: &smtp::Error) -> Option<io::ErrorKind> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// `error` as a [`MailError`]: a 4xx or 5xx reply is [`MailError::Rejected`] with its code, a
/// broken connection, a TLS failure or a timeout is [`MailError::Unavailable`], anything else
/// [`MailError::Other`].
pub(super) fn mail_error(error: &smtp::Error, timeout: Duration) -> MailError {
    if error.is_permanent() || error.is_transient() {
        return MailError::Rejected {
            code: error.status().map(u16::from),
        };
    }
    match Failure::of(error, timeout) {
        failure @ Failure::Protocol => MailError::Other(Box::new(failure)),
        failure => MailError::Unavailable(Box::new(failure)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_say_no_more_than_their_name() {
        assert_eq!(
            Failure::Network(Some(io::ErrorKind::ConnectionRefused)).to_string(),
            "the mail server could not be reached (connection refused)"
        );
        assert_eq!(
            Failure::Timeout(Duration::from_secs(30)).to_string(),
            "the mail server did not answer within 30s"
        );
        assert!(Failure::Network(None).source().is_none());
    }
}
