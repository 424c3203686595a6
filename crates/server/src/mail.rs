//! The server's mail: the SMTP mailer of `[email]`, checked when the configuration is read, and
//! counted in `/metrics`.

use portal_sessions_axum::mail::{Email, MailError, Mailer, SmtpConfigError, SmtpMailer};

use crate::metrics::Metrics;

/// An address the SMTP URL check builds a transport to: it is never connected to.
const PROBE_URL: &str = "smtp://127.0.0.1:25";
/// A sender the URL check builds with, to check the URL alone.
const PROBE_SENDER: &str = "probe@example.invalid";

/// Whether `url` is an SMTP URL the server can send through. The reason never repeats the URL.
///
/// # Errors
///
/// Why not, as a sentence for the configuration's report.
pub(crate) fn check_smtp_url(url: &str) -> Result<(), String> {
    SmtpMailer::from_url(url, PROBE_SENDER)
        .map(drop)
        .map_err(|error| reason(&error))
}

/// Whether `from` is a sender (`Name <user@example.com>` or `user@example.com`). The reason never
/// repeats it.
///
/// # Errors
///
/// Why not.
pub(crate) fn check_sender(from: &str) -> Result<(), String> {
    SmtpMailer::from_url(PROBE_URL, from)
        .map(drop)
        .map_err(|error| reason(&error))
}

/// An SMTP configuration error as a sentence, with its source's words (which never repeat the
/// URL or the sender either).
fn reason(error: &SmtpConfigError) -> String {
    portal_sessions::ErrorChain(error).to_string()
}

/// The mailer of `[email]`: its `smtp_url` and `from`.
///
/// # Errors
///
/// As [`check_smtp_url`], for a configuration that was not checked.
pub(crate) fn smtp_mailer(url: &str, from: &str) -> Result<SmtpMailer, String> {
    SmtpMailer::from_url(url, from).map_err(|error| reason(&error))
}

/// A mailer that counts what it sends in the server's metrics.
pub(crate) struct MeteredMailer<M> {
    pub(crate) inner: M,
    pub(crate) metrics: Metrics,
}

#[portal_sessions_axum::async_trait]
impl<M: Mailer> Mailer for MeteredMailer<M> {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let sent = self.inner.send(email).await;
        self.metrics.email(sent.is_ok());
        sent
    }
}
