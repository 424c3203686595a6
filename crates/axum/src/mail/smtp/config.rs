//! An SMTP URL read before lettre reads it: which security it asks for, and whether it is safe
//! ([`Endpoint::read`]); [`SmtpConfigError`] when it is not. No error repeats the URL, which may
//! hold a password.

use std::fmt;
use std::net::IpAddr;

use portal_sessions::BoxError;
use url::{Host, Url};

/// Why an [`SmtpMailer`](super::SmtpMailer) could not be made. No message repeats the URL (it may
/// hold a password) or the sender.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpConfigError {
    /// The URL cannot be read; the source says why (such as "invalid port number") without
    /// repeating it.
    #[error("the SMTP URL is not a valid URL")]
    Url(#[source] BoxError),
    /// The scheme is neither `smtps` nor `smtp`.
    #[error(
        "the SMTP URL's scheme must be smtps (TLS, port 465) or smtp (with ?tls=required for \
         STARTTLS, port 587; without it, plain SMTP for a local relay)"
    )]
    Scheme,
    /// The URL names no host.
    #[error("the SMTP URL has no host")]
    NoHost,
    /// The `tls` parameter is not `required` on `smtp://`. `opportunistic` is refused too: it
    /// sends in the clear whenever the server does not offer STARTTLS, and anyone on the network
    /// can make it not offer it.
    #[error(
        "the SMTP URL's tls parameter must be `required` (STARTTLS) or absent; `opportunistic` \
         is refused, since anyone on the network could turn the encryption off"
    )]
    Tls,
    /// The URL has no TLS to a host other than this machine: the messages (which carry login
    /// links) and any credentials would cross the network in the clear.
    #[error(
        "the SMTP URL has no TLS to another machine: use smtps://, or smtp:// with \
         ?tls=required (plain smtp:// is for a relay on this machine only)"
    )]
    PlainToAnotherMachine,
    /// lettre could not set the transport up (its TLS configuration); the source says in which
    /// part, without its text.
    #[error("the SMTP transport could not be set up")]
    Transport(#[source] BoxError),
    /// The default sender is not a mailbox; the source says what is wrong with it, without
    /// repeating it.
    #[error(
        "the sender is not a mailbox (expected `Name <user@example.com>` or `user@example.com`)"
    )]
    Sender(#[source] BoxError),
}

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    /// TLS from the first byte (`smtps://`).
    Tls,
    /// Plain, then STARTTLS before anything else, or no sending at all (`smtp://...?tls=required`).
    StartTls,
    /// Plain throughout (`smtp://`): for a relay on this machine only.
    Plain,
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
            Security::Plain => "plain",
        })
    }
}

/// What an SMTP URL says, except its credentials: where the mailer connects, and how.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    /// The server's host, as the URL writes it (IPv6 in brackets).
    pub(super) host: String,
    /// The port, when the URL names one (else lettre's default for the scheme).
    pub(super) port: Option<u16>,
    /// How the connection is protected.
    pub(super) security: Security,
    /// Whether the URL has a user name or a password.
    pub(super) credentials: bool,
}

impl Endpoint {
    /// The endpoint of `url`, or why it is refused.
    pub(super) fn read(url: &str) -> Result<Endpoint, SmtpConfigError> {
        let parsed = Url::parse(url).map_err(|error| SmtpConfigError::Url(Box::new(error)))?;
        let tls = parsed
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let security = match (parsed.scheme(), tls.as_deref()) {
            ("smtps", None | Some("required")) => Security::Tls,
            ("smtp", Some("required")) => Security::StartTls,
            ("smtp", None) => Security::Plain,
            ("smtp" | "smtps", Some(_)) => return Err(SmtpConfigError::Tls),
            _ => return Err(SmtpConfigError::Scheme),
        };
        let host = parsed.host().ok_or(SmtpConfigError::NoHost)?;
        let credentials = !parsed.username().is_empty() || parsed.password().is_some();
        // The messages carry login links: in the clear only to a relay on this machine.
        if security == Security::Plain && !is_loopback(&host) {
            return Err(SmtpConfigError::PlainToAnotherMachine);
        }
        Ok(Endpoint {
            host: host.to_string(),
            port: parsed.port(),
            security,
            credentials,
        })
    }
}

/// Whether `host` is this machine: `localhost` or a loopback address.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        // `smtp` is not one of the URL standard's special schemes, so an IPv4 address stays a
        // name.
        Host::Domain(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Host::Ipv4(address) => IpAddr::V4(*address).is_loopback(),
        Host::Ipv6(address) => IpAddr::V6(*address).is_loopback(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_are_read() {
        let tls = Endpoint::read("smtps://user:secretpw@smtp.example.com:465").unwrap();
        assert_eq!(
            (tls.security, tls.host.as_str(), tls.port, tls.credentials),
            (Security::Tls, "smtp.example.com", Some(465), true)
        );
        let starttls = Endpoint::read("smtp://u:p@smtp.example.com?tls=required").unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (Security::StartTls, None)
        );
        let plain = Endpoint::read("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (plain.security, plain.credentials),
            (Security::Plain, false)
        );
        let local = Endpoint::read("smtp://relay:pw@[::1]:25").unwrap();
        assert_eq!((local.host.as_str(), local.credentials), ("[::1]", true));
    }

    #[test]
    fn unsafe_or_unreadable_urls_are_refused_without_being_repeated() {
        for (url, expected) in [
            ("smtp://u:secretpw@host:99999", "not a valid URL"),
            ("secretpw", "not a valid URL"),
            ("http://u:secretpw@host", "scheme"),
            (
                "smtp://u:secretpw@host:587?tls=opportunistic",
                "tls parameter",
            ),
            ("smtp://u:secretpw@host:587?tls=secretpw", "tls parameter"),
            (
                "smtp://u:secretpw@smtp.example.com:25",
                "no TLS to another machine",
            ),
            ("smtp://u:secretpw@10.0.0.1:25", "no TLS to another machine"),
            ("smtp://10.0.0.1:25", "no TLS to another machine"),
        ] {
            let error = Endpoint::read(url).unwrap_err();
            let printed = format!(
                "{error} {error:?} {}",
                std::error::Error::source(&error)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            assert!(printed.contains(expected), "{url}: {printed}");
            assert!(!printed.contains("secretpw"), "{url}: {printed}");
        }
    }
}
