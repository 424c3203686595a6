//! [`MailError`]: why an email was not sent.

use portal_sessions::BoxError;

/// Why a [`Mailer`](super::Mailer) did not send an email.
///
/// No variant holds an address, a link or a mail server's reply text, so the error and its
/// sources can be logged as they are. Each keeps its cause either in its message or as its
/// [`source`](std::error::Error::source), never both.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::mail::MailError;
///
/// let refused = MailError::Rejected { code: Some(550) };
/// assert_eq!(refused.to_string(), "the mail server refused the message (code 550)");
/// assert!(!refused.is_temporary());
/// assert!(MailError::Rejected { code: Some(451) }.is_temporary());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The mail server or provider refused the message.
    ///
    /// It keeps the SMTP reply code only (550, or 451 for a transient refusal; `None` from a
    /// provider that gives none), and deliberately no source: a server's rejection text usually
    /// repeats the recipient's address (`550 5.1.1 <ada@example.com>: Recipient address
    /// rejected`), and no address or link may reach an error or a log.
    #[error(
        "the mail server refused the message{}",
        .code.map(|code| format!(" (code {code})")).unwrap_or_default()
    )]
    Rejected {
        /// The SMTP reply code, when there was one.
        code: Option<u16>,
    },
    /// The mail server or provider could not be reached, did not answer in time, or the TLS
    /// connection to it failed. The source says which, without the server's reply text.
    #[error("the mail server is unavailable")]
    Unavailable(#[source] BoxError),
    /// The recipient's or the sender's address is not an email address. Which one, and what it
    /// was, are not said: the address is not to be logged.
    #[error("an email address is not valid")]
    InvalidAddress,
    /// Anything else: the message could not be built, or the conversation with the server went
    /// wrong.
    #[error("the email could not be sent")]
    Other(#[source] BoxError),
}

impl MailError {
    /// Whether sending again later may work: the server was unavailable, or refused with a
    /// transient (4xx) SMTP code.
    pub fn is_temporary(&self) -> bool {
        match self {
            MailError::Unavailable(_) => true,
            MailError::Rejected { code: Some(code) } => (400..500).contains(code),
            MailError::Rejected { code: None }
            | MailError::InvalidAddress
            | MailError::Other(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn messages_name_the_cause_once() {
        let unavailable = MailError::Unavailable("connection refused".into());
        assert_eq!(unavailable.to_string(), "the mail server is unavailable");
        assert_eq!(
            unavailable.source().map(ToString::to_string).as_deref(),
            Some("connection refused")
        );
        let rejected = MailError::Rejected { code: None };
        assert_eq!(rejected.to_string(), "the mail server refused the message");
        assert!(rejected.source().is_none());
        assert!(MailError::Unavailable("timeout".into()).is_temporary());
        assert!(!MailError::InvalidAddress.is_temporary());
    }
}
