//! Emailing portal links: the [`Mailer`] the host sends mail through, the [`Email`] it is given,
//! and [`link_email`], which writes the email that carries a link.
//!
//! The library emails a customer in two cases: a link that was already used or has expired is
//! replaced by a new one ("Email me a new link" on the page that says so,
//! [`LinkEmailKind::Recovery`]), and a customer asks for a link on an organisation's login page
//! ([`LinkEmailKind::Login`]). Either way the link goes to the address the customer directory has
//! on file, never to an address the visitor typed, so only the owner of that inbox can open it.
//!
//! The host brings the delivery: implement [`Mailer`] over its provider's API (Postmark, SES, ...),
//! or, with the `smtp` feature, use `SmtpMailer` over any SMTP server.
//!
//! An email holds a login link and an address, so neither may leave it except towards the mail
//! server: [`Email`]'s `Debug` shows its subject and sizes only, and [`MailError`] carries no
//! address, link or server text.

mod email;
mod error;
mod link;
#[cfg(feature = "smtp")]
mod smtp;

use std::sync::Arc;

use async_trait::async_trait;

pub use email::Email;
pub use error::MailError;
pub use link::{LinkEmailKind, link_email};
#[cfg(feature = "smtp")]
pub use smtp::{SmtpConfigError, SmtpMailer};

/// Sends an [`Email`]: implement it over your mail provider, or use `SmtpMailer` (feature
/// `smtp`).
///
/// One call sends one email to [`Email::to`], from [`Email::from`] when it is set (an organisation
/// with a sender of its own) else from the mailer's default sender, with [`Email::text`] and
/// [`Email::html`] as the plain-text and HTML alternatives of one message and [`Email::locale`] as
/// its `Content-Language`.
///
/// An implementation must not log the recipient, the bodies or the provider's answer text (a
/// rejection usually repeats the address): the bodies hold a link that signs the customer in.
///
/// # Examples
///
/// A mailer over a provider's HTTP API, sketched:
///
/// ```
/// use portal_sessions_axum::async_trait;
/// use portal_sessions_axum::mail::{Email, MailError, Mailer};
///
/// struct Provider;
///
/// impl Provider {
///     /// Posts the message to the provider's API, returning its HTTP status.
///     async fn post(&self, _email: &Email) -> std::io::Result<u16> {
///         Ok(202)
///     }
/// }
///
/// #[async_trait]
/// impl Mailer for Provider {
///     async fn send(&self, email: &Email) -> Result<(), MailError> {
///         let status = self.post(email).await;
///         match status.map_err(|error| MailError::Unavailable(Box::new(error)))? {
///             200..=299 => Ok(()),
///             422 => Err(MailError::InvalidAddress),
///             _ => Err(MailError::Rejected { code: None }),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `email`, returning once the provider or mail server has taken it.
    ///
    /// # Errors
    ///
    /// [`MailError::Rejected`] when the server refused the message, [`MailError::Unavailable`]
    /// when it could not be reached in time, [`MailError::InvalidAddress`] when the recipient or
    /// sender is not an address, [`MailError::Other`] for anything else.
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

/// A shared mailer is one: the host can keep its mailer in its own state too.
#[async_trait]
impl<M: Mailer + ?Sized> Mailer for Arc<M> {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        (**self).send(email).await
    }
}

/// A boxed mailer is one, `Box<dyn Mailer>` included: a mailer chosen at run time.
#[async_trait]
impl<M: Mailer + ?Sized> Mailer for Box<M> {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        (**self).send(email).await
    }
}
