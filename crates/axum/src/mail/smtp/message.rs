//! An [`Email`] as the MIME message [`SmtpMailer`](super::SmtpMailer) sends.
//!
//! One `multipart/alternative` message: the plain text first, then the HTML (readers show the last
//! alternative they can), each `charset=utf-8` and **quoted-printable**. Quoted-printable rather
//! than base64 because these bodies are mostly ASCII in every language the portal speaks: it keeps
//! them near their own size and legible in the raw message (an accent is `=C3=A9`), and keeps every
//! line under SMTP's limit with soft breaks (`=` at a line's end), which a reader joins back. The
//! top level says the language (`Content-Language`) and that the message is automatic
//! (`Auto-Submitted: auto-generated`, RFC 3834), so that vacation responders stay quiet.

use lettre::Message;
use lettre::address::AddressError;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use portal_sessions::{BoxError, Locale};

use super::failure::Failure;
use crate::mail::{Email, MailError};

/// `text` as a mailbox (`Name <user@example.com>` or `user@example.com`), refused when it holds a
/// control character (lettre would read the first address of `a@x.test\r\nb@y.test` and ignore the
/// rest).
pub(super) fn mailbox(text: &str) -> Result<Mailbox, AddressError> {
    if text.chars().any(char::is_control) {
        return Err(AddressError::InvalidInput);
    }
    text.trim().parse()
}

/// The message that sends `email`, from `default_from` unless the email names its own sender.
///
/// # Errors
///
/// [`MailError::InvalidAddress`] when the recipient or the email's own sender is not a mailbox.
pub(super) fn message(email: &Email, default_from: &Mailbox) -> Result<Message, MailError> {
    let to = mailbox(&email.to).map_err(|_| MailError::InvalidAddress)?;
    let from = match &email.from {
        Some(from) => mailbox(from).map_err(|_| MailError::InvalidAddress)?,
        None => default_from.clone(),
    };
    let subject: String = email
        .subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut builder = Message::builder();
    if let Some(id) = message_id(from.email.domain()) {
        builder = builder.message_id(Some(id));
    }
    let builder = builder
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentLanguage(email.locale))
        .header(AutoSubmitted);
    let alternatives = MultiPart::alternative()
        .singlepart(part(ContentType::TEXT_PLAIN, &email.text)?)
        .singlepart(part(ContentType::TEXT_HTML, &email.html)?);
    builder
        .multipart(alternatives)
        .map_err(|_| MailError::Other(Box::new(Failure::Message)))
}

/// One alternative: `body` as `content_type`, quoted-printable.
fn part(content_type: ContentType, body: &str) -> Result<SinglePart, MailError> {
    let body = Body::new_with_encoding(body.to_owned(), ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| MailError::Other(Box::new(Failure::Message)))?;
    Ok(SinglePart::builder().header(content_type).body(body))
}

/// A fresh `Message-ID` at the sender's domain (lettre would say `localhost`), 128 random bits;
/// `None`, leaving it to the relay, when the system's randomness fails.
fn message_id(domain: &str) -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    let id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Some(format!("<{id}@{domain}>"))
}

/// `Content-Language`: the locale the message is written in.
#[derive(Debug, Clone)]
struct ContentLanguage(Locale);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(text: &str) -> Result<ContentLanguage, BoxError> {
        Ok(ContentLanguage(text.trim().parse()?))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_string())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no human wrote it, so no responder should answer.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_text: &str) -> Result<AutoSubmitted, BoxError> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::new(
            "Ada <ada@example.com>",
            "Votre lien\r\nBcc: eve@example.com",
            "Voilà",
            "<p>Voilà</p>",
            "fr-CA".parse().unwrap(),
        )
    }

    #[test]
    fn a_message_is_two_quoted_printable_alternatives_in_its_language() {
        let default_from: Mailbox = "Billing <billing@example.com>".parse().unwrap();
        let raw = String::from_utf8(message(&email(), &default_from).unwrap().formatted()).unwrap();
        assert!(raw.contains("Content-Language: fr-CA\r\n"), "{raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated\r\n"), "{raw}");
        assert!(
            raw.contains("From: Billing <billing@example.com>\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("@example.com>\r\n") && raw.contains("Message-ID: <"),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert_eq!(
            raw.matches("Content-Transfer-Encoding: quoted-printable")
                .count(),
            2
        );
        assert!(raw.contains("Voil=C3=A0"), "{raw}");
        assert!(!raw.contains("\r\nBcc:"), "{raw}");

        let own = email().with_from("Acme <billing@acme.example>");
        let raw = String::from_utf8(message(&own, &default_from).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("From: Acme <billing@acme.example>\r\n"),
            "{raw}"
        );
        assert!(raw.contains("@acme.example>\r\n"), "{raw}");
    }

    #[test]
    fn bad_addresses_are_refused_without_saying_them() {
        let default_from: Mailbox = "billing@example.com".parse().unwrap();
        for (to, from) in [
            ("not an address", None),
            ("ada@example.com\r\nbcc@example.com", None),
            ("ada@example.com", Some("nobody")),
        ] {
            let mut email = email();
            email.to = to.to_owned();
            email.from = from.map(str::to_owned);
            let error = message(&email, &default_from).unwrap_err();
            assert!(matches!(error, MailError::InvalidAddress), "{error:?}");
        }
    }
}
