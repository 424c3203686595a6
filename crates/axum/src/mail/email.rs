//! [`Email`]: one message to one customer, ready for a [`Mailer`](super::Mailer).

use std::fmt;

use portal_sessions::Locale;

/// One email to one recipient, with a plain-text and an HTML body saying the same thing.
///
/// Its fields are public for the [`Mailer`](super::Mailer) that sends it; build one with
/// [`Email::new`] or [`link_email`](super::link_email). Its `Debug` shows the subject, the locale
/// and the bodies' sizes only: the address and the bodies (which hold a link that signs the
/// customer in) never reach a log through it.
///
/// # Examples
///
/// ```
/// use portal_sessions::Locale;
/// use portal_sessions_axum::mail::Email;
///
/// let email = Email::new(
///     "ada@example.com",
///     "Your statement",
///     "Hello,\n\nyour statement is ready.",
///     "<p>Hello,</p><p>your statement is ready.</p>",
///     Locale::ENGLISH,
/// )
/// .with_from("Acme Billing <billing@acme.example>");
/// assert_eq!(email.from.as_deref(), Some("Acme Billing <billing@acme.example>"));
/// let printed = format!("{email:?}");
/// assert!(printed.contains("Your statement"));
/// assert!(!printed.contains("ada@example.com") && !printed.contains("ready"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Email {
    /// The recipient's address: `ada@example.com` or `Ada Lovelace <ada@example.com>`.
    pub to: String,
    /// The sender, when it is not the mailer's default: an organisation with a sender of its own,
    /// such as `Acme Billing <billing@acme.example>`.
    pub from: Option<String>,
    /// The subject line, on one line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body: a whole document, with inline styles only (mail readers drop style sheets).
    pub html: String,
    /// The language it is written in, for `Content-Language`.
    pub locale: Locale,
}

impl Email {
    /// An email to `to` from the mailer's default sender; [`with_from`](Self::with_from) changes
    /// the sender.
    pub fn new(
        to: impl Into<String>,
        subject: impl Into<String>,
        text: impl Into<String>,
        html: impl Into<String>,
        locale: Locale,
    ) -> Email {
        Email {
            to: to.into(),
            from: None,
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
            locale,
        }
    }

    /// The same email sent from `from` (`Name <address>` or a bare address) instead of the
    /// mailer's default sender.
    pub fn with_from(mut self, from: impl Into<String>) -> Email {
        self.from = Some(from.into());
        self
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .field("locale", &self.locale)
            .field("own_sender", &self.from.is_some())
            .field("text_bytes", &self.text.len())
            .field("html_bytes", &self.html.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_address_and_no_body() {
        let email = Email::new(
            "ada@example.com",
            "Your link",
            "https://app.example/r/secret-token",
            "<a href=\"https://app.example/r/secret-token\">open</a>",
            Locale::ENGLISH,
        )
        .with_from("Billing <billing@acme.example>");
        let printed = format!("{email:?} {email:#?}");
        for hidden in ["ada@", "secret-token", "billing@acme"] {
            assert!(!printed.contains(hidden), "{printed}");
        }
        assert!(printed.contains("Your link") && printed.contains("text_bytes"));
    }
}
