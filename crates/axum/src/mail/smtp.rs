//! [`SmtpMailer`]: a [`Mailer`] over any SMTP server, on lettre with rustls.

mod config;
mod failure;
mod message;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub use config::SmtpConfigError;

use self::config::{Endpoint, Security};
use self::failure::{Failure, mail_error};
use crate::mail::{Email, MailError, Mailer};

/// A [`Mailer`] that sends over SMTP, from a URL:
///
/// | URL | connection | port when not given |
/// |---|---|---|
/// | `smtps://user:password@smtp.example.com` | TLS from the first byte | 465 |
/// | `smtp://user:password@smtp.example.com?tls=required` | STARTTLS, or nothing is sent | 587 |
/// | `smtp://127.0.0.1:2525` | plain SMTP, for a relay on this machine | 25 |
///
/// Certificates are checked against the Mozilla roots (webpki-roots); a user name and password in
/// the URL are percent-decoded, and are refused on a plain `smtp://` URL to another machine.
/// `tls=opportunistic` is refused: it would send in the clear whenever an attacker hides the
/// server's STARTTLS. A path (`smtps://host/mail.example.com`) is the name said in `EHLO`, which is
/// `[127.0.0.1]` otherwise.
///
/// Each email is one connection, one message and `QUIT`, within [`timeout`](Self::timeout) (30
/// seconds unless set), so a silent server cannot hold a request. Messages are
/// `multipart/alternative` (text, then HTML), UTF-8 and quoted-printable, with `Content-Language`,
/// `Auto-Submitted: auto-generated`, and a `Message-ID` at the sender's domain.
///
/// Neither its `Debug` nor its errors show the password, the URL or an address: `Debug` shows the
/// server, the security and whether there are credentials.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions_axum::mail::SmtpMailer;
///
/// let mailer = SmtpMailer::from_url(
///     "smtps://apikey:s3cret@smtp.example.com",
///     "Billing <billing@example.com>",
/// )?
/// .timeout(Duration::from_secs(10));
/// let printed = format!("{mailer:?}");
/// assert!(printed.contains("smtp.example.com:465") && !printed.contains("s3cret"));
///
/// // A password would cross the network in the clear:
/// let plain = SmtpMailer::from_url("smtp://apikey:s3cret@smtp.example.com", "a@example.com");
/// assert!(plain.is_err());
/// # Ok::<(), portal_sessions_axum::mail::SmtpConfigError>(())
/// ```
///
/// Then give it to the service that emails links, or send an [`Email`] yourself with
/// [`Mailer::send`].
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The URL's server and security, for `Debug`.
    endpoint: Endpoint,
    /// The default sender.
    from: Mailbox,
    timeout: Duration,
    /// What the transport was built from, to build it again with another timeout.
    builder: AsyncSmtpTransportBuilder,
}

impl SmtpMailer {
    /// How long one email may take, connecting included, unless [`timeout`](Self::timeout) says
    /// otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A mailer that sends through the server of `url` (see the table above), from `from`
    /// (`Billing <billing@example.com>` or a bare address) unless an [`Email`] names its own
    /// sender. Nothing is connected until the first email.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError`] when the URL cannot be read, asks for something refused (an unknown
    /// scheme, `tls=opportunistic`, credentials without TLS to another machine), or `from` is not
    /// a mailbox. The error never repeats the URL or the sender.
    pub fn from_url(url: &str, from: &str) -> Result<SmtpMailer, SmtpConfigError> {
        let endpoint = Endpoint::read(url)?;
        let from =
            message::mailbox(from).map_err(|error| SmtpConfigError::Sender(Box::new(error)))?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| SmtpConfigError::Transport(Box::new(Failure::of_setup(&error))))?;
        Ok(SmtpMailer {
            transport: builder.clone().timeout(Some(Self::DEFAULT_TIMEOUT)).build(),
            endpoint,
            from,
            timeout: Self::DEFAULT_TIMEOUT,
            builder,
        })
    }

    /// The longest one email may take, from connecting to the server's answer to the message:
    /// past it, [`send`](Mailer::send) gives up with [`MailError::Unavailable`]. Also each
    /// connection attempt's limit.
    pub fn timeout(mut self, timeout: Duration) -> SmtpMailer {
        self.transport = self.builder.clone().timeout(Some(timeout)).build();
        self.timeout = timeout;
        self
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = self.endpoint.port.unwrap_or(match self.endpoint.security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::Plain => 25,
        });
        f.debug_struct("SmtpMailer")
            .field("server", &format_args!("{}:{port}", self.endpoint.host))
            .field("security", &format_args!("{}", self.endpoint.security))
            .field("credentials", &self.endpoint.credentials)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::message(email, &self.from)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => {
                tracing::debug!(locale = %email.locale, "email sent over SMTP");
                Ok(())
            }
            Ok(Err(error)) => Err(mail_error(&error, self.timeout)),
            Err(_) => Err(MailError::Unavailable(Box::new(Failure::Timeout(
                self.timeout,
            )))),
        }
    }
}
