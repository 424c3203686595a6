//! Customers never dead-end: a used or expired link asks for a new one by email, and an
//! organisation's login page sends one to a customer who types their address.
//!
//! | route | what |
//! |---|---|
//! | `POST /r/{token}/recover` | mint a new session for the link's customer and email its link to their address on file |
//! | `GET /login/{org id}` | the organisation's login page (`?locale=fr`, else `Accept-Language`) |
//! | `POST /login/{org id}` | form field `email`: the same answer whatever the address; links are sent after it |
//!
//! Both need a [`Mailer`](crate::mail::Mailer) ([`PortalService::mailer`](crate::PortalService::mailer))
//! and the organisation's [`OrgRecovery`](crate::OrgRecovery) from [`PortalData::recovery`](crate::PortalData::recovery).
//! What may recover is the engine's decision ([`portal_sessions::recovery`]); this module words it,
//! sends the mail, and counts what happened on the response ([`RecoveryOutcome`]).

mod login;
mod recover;

use axum::response::Response;
use portal_sessions::{OrgId, RecoveryBlock, RecoveryError, SessionRecord, SessionStore};

pub(crate) use login::{login_page, login_post};
pub(crate) use recover::recover;

use crate::data::OrgRecovery;
use crate::html::NextStep;
use crate::mail::{Email, LinkEmailKind, link_email};
use crate::mount::Mount;
use crate::state::Shared;

/// What a recovery request came to, on its response (as an extension) for a host's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecoveryOutcome {
    /// A new link was minted and the mail server took the email (200).
    Sent,
    /// The mail server did not take it: the new session was revoked (503).
    NotSent,
    /// The link may not ask (410, or 429 over the hourly limit, or 303 for a link that still
    /// opens); nothing was minted or sent.
    Refused(RecoveryBlock),
    /// The organisation has recovery off, or the service has no mailer (410); nothing was sent.
    Off,
    /// The link names no session (404), or the request came from another site (403).
    Rejected,
    /// The store, the directory or the portal data failed (503); nothing was sent.
    Failed,
}

impl RecoveryOutcome {
    /// A short name, for metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecoveryOutcome::Sent => "sent",
            RecoveryOutcome::NotSent => "not_sent",
            RecoveryOutcome::Refused(block) => block.as_str(),
            RecoveryOutcome::Off => "off",
            RecoveryOutcome::Rejected => "rejected",
            RecoveryOutcome::Failed => "failed",
        }
    }

    /// Every label [`as_str`](Self::as_str) gives, for metrics that show them at zero.
    pub const LABELS: [&'static str; 12] = [
        "sent",
        "not_sent",
        "opted_out",
        "revoked",
        "ended",
        "outside_window",
        "still_open",
        "no_address",
        "over_limit",
        "off",
        "rejected",
        "failed",
    ];

    pub(crate) fn mark(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// What a login page post came to, on its response, for a host's metrics. The sending happens
/// after the answer and is counted by the mailer the host gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// The address was taken: links go to every matching customer, within their limits.
    Accepted,
    /// The address was not one (400).
    Invalid,
    /// The service was already sending as many login emails as it takes at once: the post was
    /// answered as usual and nothing was sent (logged).
    Busy,
}

impl LoginOutcome {
    /// A short name, for metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Accepted => "accepted",
            LoginOutcome::Invalid => "invalid",
            LoginOutcome::Busy => "busy",
        }
    }

    /// Every label [`as_str`](Self::as_str) gives.
    pub const LABELS: [&'static str; 3] = ["accepted", "invalid", "busy"];

    pub(crate) fn mark(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// `b•••@acme.test`: enough for the customer to recognise their address, not enough to learn it.
pub(crate) fn mask(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let first: String = local.chars().take(1).collect();
    if domain.is_empty() {
        format!("{first}•••")
    } else {
        format!("{first}•••@{domain}")
    }
}

/// The longest a mailer may take to take one message: past it, the send counts as failed (the
/// SMTP mailer's own default deadline is the same).
const MAIL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

impl<S: SessionStore> Shared<S> {
    /// The organisation's recovery settings, when it has recovery on and the service can send
    /// mail; a failure to load them is logged and reads as off.
    pub(crate) async fn org_recovery(&self, org: OrgId) -> Option<OrgRecovery> {
        self.mailer.as_ref()?;
        match self.data.recovery(org).await {
            Ok(recovery) => recovery,
            Err(error) => {
                crate::error::log_failure(&error);
                None
            }
        }
    }

    /// Whether `org` has a login page: recovery on with `login_page`, and a directory that finds
    /// customers by address.
    pub(crate) async fn has_login_page(&self, org: OrgId) -> Option<OrgRecovery> {
        if !self.engine.finds_customers_by_email() {
            return None;
        }
        self.org_recovery(org)
            .await
            .filter(|recovery| recovery.login_page)
    }

    /// What the page of a link that no longer opens offers: "Email me a new link" when this
    /// session may ask for one, else the organisation's login page when it has one, else to
    /// contact the organisation. A revoked link never offers the form.
    pub(crate) async fn next_step(
        &self,
        record: Option<&SessionRecord>,
        token: Option<&str>,
        mount: &Mount,
    ) -> NextStep {
        let Some(record) = record else {
            return NextStep::Nothing;
        };
        let Some(recovery) = self.org_recovery(record.org_id).await else {
            return NextStep::Contact;
        };
        if let Some(token) = token {
            match self.engine.recovery_offer(record, &recovery.policy).await {
                Ok(_) => {
                    return NextStep::EmailMe {
                        action: mount.path(&format!("/r/{token}/recover")),
                    };
                }
                Err(RecoveryError::Blocked(_)) => {}
                Err(error) => crate::error::log_failure(&error),
            }
        }
        if recovery.login_page && self.engine.finds_customers_by_email() {
            NextStep::LoginPage {
                href: mount.path(&format!("/login/{}", record.org_id)),
            }
        } else {
            NextStep::Contact
        }
    }

    /// Renders and sends the email that carries `link` to `address`.
    pub(crate) async fn send_link(
        &self,
        kind: LinkEmailKind,
        record: &SessionRecord,
        link: &str,
        address: &str,
        recovery: &OrgRecovery,
    ) -> Result<(), crate::mail::MailError> {
        let Some(mailer) = self.mailer.as_ref() else {
            return Err(crate::mail::MailError::Unavailable(
                "no mailer configured".into(),
            ));
        };
        let branding = self.branding(record.org_id).await;
        let locale = record.locale.unwrap_or(self.default_locale);
        let mut email: Email = link_email(
            kind,
            locale,
            branding.as_ref(),
            link,
            record.lifetime(),
            address,
        );
        if let Some(from) = &recovery.from {
            email = email.with_from(from.clone());
        }
        // A provider's client that never answers must not hold a customer's page (or a login
        // task) forever.
        match tokio::time::timeout(MAIL_DEADLINE, mailer.send(&email)).await {
            Ok(sent) => sent,
            Err(elapsed) => Err(crate::mail::MailError::Unavailable(Box::new(elapsed))),
        }
    }

    /// The full URL of a session's link.
    pub(crate) fn link_url(&self, mount: &Mount, link: &portal_sessions::LinkToken) -> String {
        format!(
            "{}{}",
            self.public_url,
            mount.path(&format!("/r/{}", link.expose_secret()))
        )
    }
}
