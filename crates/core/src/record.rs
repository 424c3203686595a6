//! The session record and its pure state machine.
//!
//! ```text
//! Issued --redeem--> Active --(expires_at)--> Expired
//!   |  \--(expires_at)--> Expired
//!   \--revoke--> Revoked          Active --revoke--> Revoked (cuts the portal off at once)
//! ```
//!
//! Status is derived from the timestamps, never stored, so there is no status column to drift out of
//! step with them. Every change is [`SessionRecord::apply`]: a pure function of the record, an
//! [`Change`] and `now`, with no clock, no randomness and no I/O (the design of quinn-proto's
//! connection state machine). The [`Engine`](crate::Engine) loads a record, applies an event and commits
//! the result with the store's compare-and-swap; a lost race is re-read and re-decided, never
//! overwritten.

use std::net::IpAddr;
use std::sync::Arc;

use crate::feature::{Feature, Features};
use crate::id::{CustomerId, OrgId, SessionId};
use crate::locale::Locale;
use crate::timestamp::Timestamp;
use crate::token::SecretHash;

/// The most characters a customer's external id may have.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;
/// The most bytes of a customer's name kept in a session.
pub const MAX_NAME_BYTES: usize = 512;
/// The most bytes of a customer's email kept in a session.
pub const MAX_EMAIL_BYTES: usize = 320;
/// The most characters a return URL may have.
pub const MAX_RETURN_URL_CHARS: usize = 2048;
/// The most bytes of a redeemer's user agent kept (longer ones are cut at a character boundary).
pub const MAX_USER_AGENT_BYTES: usize = 512;

/// Who the session is for, as the customer directory described them when the session was minted.
///
/// A snapshot, not a reference: renaming the customer later does not rewrite history.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CustomerSnapshot {
    /// The customer's internal id.
    pub id: CustomerId,
    /// The embedding application's own id for the customer (1 to 255 characters).
    pub external_id: String,
    /// The customer's display name (at most [`MAX_NAME_BYTES`]).
    pub name: String,
    /// The customer's billing email, if they have one (at most [`MAX_EMAIL_BYTES`]). Recovery and
    /// the login page send new links to it, and only to it.
    pub email: Option<String>,
    /// The language the customer's pages and emails speak when a mint does not name one (a
    /// create's `locale` wins over it, and it wins over the browser's `Accept-Language`).
    pub locale: Option<Locale>,
}

/// What minted a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MintedBy {
    /// The API: [`Engine::create`](crate::Engine::create).
    #[default]
    Api,
    /// A recovery of the session `from`, whose link was used or expired.
    Recovery {
        /// The session that asked for a new link.
        from: SessionId,
    },
    /// The organisation's login page, for a customer who typed their address.
    LoginPage,
}

impl MintedBy {
    /// The session this one was recovered from, when recovery minted it.
    pub fn recovered_from(&self) -> Option<SessionId> {
        match *self {
            MintedBy::Recovery { from } => Some(from),
            MintedBy::Api | MintedBy::LoginPage => None,
        }
    }

    /// Whether the session's link was sent by email: what
    /// [`RecoveryPolicy::max_emails_per_hour`](crate::RecoveryPolicy::max_emails_per_hour) counts.
    pub fn is_emailed(&self) -> bool {
        !matches!(self, MintedBy::Api)
    }
}

/// What the browser that redeemed a link looked like, kept for audit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ClientInfo {
    /// The client's IP address, as the embedding service saw it.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`, cut to [`MAX_USER_AGENT_BYTES`].
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Client information with the user agent cut to [`MAX_USER_AGENT_BYTES`] at a character
    /// boundary, so one record's memory stays bounded whatever a client sends.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> ClientInfo {
        let user_agent = user_agent.map(|agent| {
            let mut end = agent.len().min(MAX_USER_AGENT_BYTES);
            while !agent.is_char_boundary(end) {
                end -= 1;
            }
            agent[..end].to_owned()
        });
        ClientInfo { ip, user_agent }
    }
}

/// A portal session, as every store keeps it.
///
/// The fields are public so that a store can take a record apart and put it back together; only
/// [`SessionRecord::apply`] should ever produce a changed record. Fields that never change after
/// creation: `id`, `org_id`, `customer`, `features`, `return_url`, `locale`, `verifier_hash`,
/// `created_at`, `expires_at`, `recovery`, `minted_by`, `chain_started_at` (stores may index them).
/// Fields that [`apply`](Self::apply) changes: `viewer_hash`, `used_at`, `logged_out_at`,
/// `revoked_at`, `redeemed_by`, `recovery_ended_at`, `version`.
///
/// # Memory
///
/// Strings are bounded ([`MAX_EXTERNAL_ID_CHARS`], [`MAX_NAME_BYTES`], [`MAX_EMAIL_BYTES`],
/// [`MAX_RETURN_URL_CHARS`], [`MAX_USER_AGENT_BYTES`]), so a record costs at most about 4.6 KiB of
/// heap beyond its fixed part, whatever the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (its selector is the link token's first part).
    pub id: SessionId,
    /// The organisation that minted the session.
    pub org_id: OrgId,
    /// Who the session is for. Shared, because it never changes after creation: cloning a record
    /// (every store's `get` returns an owned one) copies a pointer, not three strings, and a store
    /// that keeps records in memory keeps one snapshot for all the sessions minted from it.
    pub customer: Arc<CustomerSnapshot>,
    /// The features the session was minted with: the portal sections it shows.
    pub features: Features,
    /// Where the customer came from: the portal offers a link back to it.
    pub return_url: Option<String>,
    /// The language the session's pages speak; `None` leaves it to the visitor's browser.
    pub locale: Option<Locale>,
    /// The hash of the link's verifier.
    pub verifier_hash: SecretHash,
    /// The hash of the viewer token's secret: set by a redeem, cleared by a logout.
    pub viewer_hash: Option<SecretHash>,
    /// When the session was minted.
    pub created_at: Timestamp,
    /// When the link, and any portal opened with it, stop working.
    pub expires_at: Timestamp,
    /// When the link was redeemed.
    pub used_at: Option<Timestamp>,
    /// When the session was revoked.
    pub revoked_at: Option<Timestamp>,
    /// When the portal opened with the link was signed out of (at most once: a logout clears the
    /// viewer, and a link is redeemed only once).
    pub logged_out_at: Option<Timestamp>,
    /// Who redeemed the link.
    pub redeemed_by: Option<ClientInfo>,
    /// Whether the session was minted with recovery allowed: once its link is used or expired, it
    /// may ask for a new link by email ([`crate::recovery`]). A create's `recovery: false` opts out.
    pub recovery: bool,
    /// When a customer-wide revocation ended recovery for this session (it was already used or
    /// expired, so there was nothing else to revoke).
    pub recovery_ended_at: Option<Timestamp>,
    /// What minted the session: the API, a recovery of another session, or the login page.
    pub minted_by: MintedBy,
    /// When the first session of this chain of recoveries was minted: `created_at` for a session
    /// that was not recovered, the recovered session's own `chain_started_at` otherwise. The
    /// recovery window counts from it, so that recovering cannot extend itself.
    pub chain_started_at: Timestamp,
    /// Where the portal opens when the link is redeemed: an invoice's page or a section, else the
    /// portal's top.
    pub deep_link: Option<DeepLink>,
    /// Bumped by one on every change; the store's compare-and-swap guards on it.
    pub version: u64,
}

/// The most characters an invoice number in a [`DeepLink`] may have.
pub const MAX_INVOICE_NUMBER_CHARS: usize = 64;

/// Where a link opens the portal: what the email it came in was about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DeepLink {
    /// The page of this invoice (1 to [`MAX_INVOICE_NUMBER_CHARS`] characters, no control
    /// characters); the session needs the `invoices` feature.
    Invoice(String),
    /// This section of the portal; the session needs the feature.
    Section(Feature),
}

impl DeepLink {
    /// Checks the link against the session's features.
    ///
    /// # Errors
    ///
    /// [`InvalidRequest::DeepLinkInvoice`](crate::InvalidRequest::DeepLinkInvoice) for an invoice
    /// number of the wrong length or with control characters, or a session without invoices;
    /// [`InvalidRequest::DeepLinkSection`](crate::InvalidRequest::DeepLinkSection) for a section the
    /// session does not show.
    pub fn validate(&self, features: Features) -> Result<(), crate::InvalidRequest> {
        match self {
            DeepLink::Invoice(number) => {
                let chars = number.chars().count();
                if (1..=MAX_INVOICE_NUMBER_CHARS).contains(&chars)
                    && !number.chars().any(char::is_control)
                    && features.contains(Feature::Invoices)
                {
                    Ok(())
                } else {
                    Err(crate::InvalidRequest::DeepLinkInvoice)
                }
            }
            DeepLink::Section(feature) if features.contains(*feature) => Ok(()),
            DeepLink::Section(_) => Err(crate::InvalidRequest::DeepLinkSection),
        }
    }
}

/// What a session shows to whoever may see it: everything but its hashes and version.
///
/// [`SessionRecord::view`] makes one; it is what an embedding application hands to its own pages and
/// serializes (with the `serde` feature) where it needs a session in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SessionView {
    /// The session id.
    pub id: SessionId,
    /// The organisation that minted the session.
    pub org_id: OrgId,
    /// Who the session is for.
    pub customer: Arc<CustomerSnapshot>,
    /// The portal sections the session shows.
    pub features: Features,
    /// Where the customer came from, when the session was minted with it.
    pub return_url: Option<String>,
    /// The language the session's pages speak, when the session was minted with one.
    pub locale: Option<Locale>,
    /// When the session was minted.
    pub created_at: Timestamp,
    /// When the link, and any portal opened with it, stop working.
    pub expires_at: Timestamp,
    /// When the link was redeemed.
    pub used_at: Option<Timestamp>,
    /// When the session was revoked.
    pub revoked_at: Option<Timestamp>,
    /// Who redeemed the link.
    pub redeemed_by: Option<ClientInfo>,
    /// Whether the session was minted with recovery allowed.
    pub recovery: bool,
    /// The session this one was recovered from, when recovery minted it.
    pub recovered_from: Option<SessionId>,
    /// Where the portal opens when the link is redeemed.
    pub deep_link: Option<DeepLink>,
    /// The status at the instant the view was made.
    pub status: Status,
}

/// The derived status of a session at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The link can be opened.
    Issued,
    /// The link was used; the portal is open to the holder of the viewer token.
    Active,
    /// The session was revoked: neither the link nor the portal works.
    Revoked,
    /// The session's hour is over: neither the link nor the portal works.
    Expired,
}

/// A change requested of a session: what [`SessionRecord::apply`] decides on. Not to be confused
/// with what happened to a session ([`SessionEvent`](crate::SessionEvent)), which a committed
/// change produces.
#[derive(Debug, Clone)]
pub enum Change {
    /// Consume the link: requires the verifier's hash, installs the viewer token's hash.
    Redeem {
        /// The hash of the verifier presented with the link.
        verifier: SecretHash,
        /// The hash of the freshly minted viewer token.
        viewer: SecretHash,
        /// Who is redeeming.
        client: ClientInfo,
    },
    /// Revoke the session: the link stops working and an open portal is cut off.
    Revoke,
    /// End the portal opened with a viewer token; the session stays redeemed.
    Logout {
        /// The hash of the viewer token presented.
        viewer: SecretHash,
    },
    /// End the session's recovery: a customer-wide revocation's mark on a session that is already
    /// used or expired, so that its link can no longer ask for a new one.
    EndRecovery,
}

/// Why a change was refused or a credential did not pass. A rejection changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Rejection {
    /// The presented secret is not this session's (or the viewer has logged out).
    #[error("the presented secret does not match")]
    WrongSecret,
    /// The link was already redeemed.
    #[error("the link was already used")]
    AlreadyUsed,
    /// The session is past its expiry.
    #[error("the session has expired")]
    Expired,
    /// The session was revoked.
    #[error("the session was revoked")]
    Revoked,
}

impl SessionRecord {
    /// The status at `now`.
    ///
    /// Revocation wins over expiry, expiry over use: a revoked session reads as revoked forever, and
    /// a session is expired from `expires_at` on (a record at 59:59.999 is still open, at 60:00.000 it
    /// is not).
    pub fn status(&self, now: Timestamp) -> Status {
        if self.revoked_at.is_some() {
            Status::Revoked
        } else if self.is_expired(now) {
            Status::Expired
        } else if self.used_at.is_some() {
            Status::Active
        } else {
            Status::Issued
        }
    }

    /// The session as it may be shown, with its status at `now`.
    pub fn view(&self, now: Timestamp) -> SessionView {
        SessionView {
            id: self.id,
            org_id: self.org_id,
            customer: Arc::clone(&self.customer),
            features: self.features,
            return_url: self.return_url.clone(),
            locale: self.locale,
            created_at: self.created_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
            revoked_at: self.revoked_at,
            redeemed_by: self.redeemed_by.clone(),
            recovery: self.recovery,
            recovered_from: self.minted_by.recovered_from(),
            deep_link: self.deep_link.clone(),
            status: self.status(now),
        }
    }

    /// Whether `now` is at or past `expires_at`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Whether the link can still be opened at `now`: not used, not revoked, not expired.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.status(now) == Status::Issued
    }

    /// Whether the session still grants anything at `now`: its link can be opened, or a portal
    /// opened with it is still open ([`Status::Issued`] or [`Status::Active`]). What a
    /// customer-wide revocation revokes.
    pub fn is_live(&self, now: Timestamp) -> bool {
        matches!(self.status(now), Status::Issued | Status::Active)
    }

    /// How long the session was minted to last.
    pub fn lifetime(&self) -> std::time::Duration {
        self.expires_at.saturating_duration_since(self.created_at)
    }

    /// Checks a presented link verifier without changing anything: what opening (not consuming) a
    /// link decides.
    ///
    /// The hashes are compared first and in constant time, so a wrong secret learns nothing of the
    /// session's state. Then revocation, then use, then expiry: a link used once reads as "already
    /// used" even after its hour, which is what the customer who clicks it twice needs to hear.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] that a redeem at `now` would meet.
    pub fn check_link(&self, verifier: &SecretHash, now: Timestamp) -> Result<(), Rejection> {
        if !self.verifier_hash.matches(verifier) {
            Err(Rejection::WrongSecret)
        } else if self.revoked_at.is_some() {
            Err(Rejection::Revoked)
        } else if self.used_at.is_some() {
            Err(Rejection::AlreadyUsed)
        } else if self.is_expired(now) {
            Err(Rejection::Expired)
        } else {
            Ok(())
        }
    }

    /// Checks a presented viewer token: the portal's per-request check.
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongSecret`] for a token that is not this session's current viewer (forged, or
    /// logged out), else [`Rejection::Revoked`] or [`Rejection::Expired`].
    pub fn check_viewer(&self, viewer: &SecretHash, now: Timestamp) -> Result<(), Rejection> {
        let matches = self
            .viewer_hash
            .as_ref()
            .is_some_and(|stored| stored.matches(viewer));
        if !matches {
            Err(Rejection::WrongSecret)
        } else if self.revoked_at.is_some() {
            Err(Rejection::Revoked)
        } else if self.is_expired(now) {
            Err(Rejection::Expired)
        } else {
            Ok(())
        }
    }

    /// Applies `event` at `now`: the record as it must be stored next, with `version` bumped.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] when the change is not allowed in the current state; nothing changes. Revoking
    /// a revoked session is [`Rejection::Revoked`], which callers that want idempotent revocation
    /// treat as success.
    ///
    /// # Examples
    ///
    /// ```
    /// # use portal_sessions::*;
    /// # fn record(now: Timestamp) -> SessionRecord {
    /// #     let token = LinkToken::generate().unwrap();
    /// #     SessionRecord {
    /// #         id: token.session_id(), org_id: OrgId::from_bytes([1; 16]),
    /// #         customer: std::sync::Arc::new(CustomerSnapshot { id: CustomerId::from_bytes([2; 16]),
    /// #             external_id: "acme-001".into(), name: "Acme".into(), email: None, locale: None }),
    /// #         features: Features::ALL, return_url: None, locale: None, verifier_hash: token.secret_hash(),
    /// #         viewer_hash: None, created_at: now,
    /// #         expires_at: now.checked_add(std::time::Duration::from_secs(3600)).unwrap(),
    /// #         used_at: None, revoked_at: None, logged_out_at: None, redeemed_by: None,
    /// #         recovery: true, recovery_ended_at: None, minted_by: MintedBy::Api,
    /// #         chain_started_at: now, deep_link: None, version: 0 }
    /// # }
    /// let now = Timestamp::from_millis(1_778_693_400_000).unwrap();
    /// let issued = record(now);
    /// let revoked = issued.apply(Change::Revoke, now).unwrap();
    /// assert_eq!(revoked.status(now), Status::Revoked);
    /// assert_eq!(revoked.version, issued.version + 1);
    /// assert_eq!(revoked.apply(Change::Revoke, now), Err(Rejection::Revoked));
    /// ```
    pub fn apply(&self, change: Change, now: Timestamp) -> Result<SessionRecord, Rejection> {
        let mut next = self.clone();
        match change {
            Change::Redeem {
                verifier,
                viewer,
                client,
            } => {
                self.check_link(&verifier, now)?;
                next.used_at = Some(now);
                next.viewer_hash = Some(viewer);
                next.redeemed_by = Some(client);
            }
            Change::Revoke => {
                if self.revoked_at.is_some() {
                    return Err(Rejection::Revoked);
                }
                next.revoked_at = Some(now);
            }
            Change::Logout { viewer } => {
                self.check_viewer(&viewer, now)?;
                next.viewer_hash = None;
                next.logged_out_at = Some(now);
            }
            Change::EndRecovery => {
                if self.revoked_at.is_some() {
                    return Err(Rejection::Revoked);
                }
                // Ending an ended recovery keeps its first instant (the engine does not ask).
                next.recovery_ended_at = self.recovery_ended_at.or(Some(now));
            }
        }
        next.version = self.version + 1;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::token::{LinkToken, ViewerToken};

    struct Fixture {
        link: LinkToken,
        record: SessionRecord,
        t0: Timestamp,
    }

    fn fixture() -> Fixture {
        let link = LinkToken::generate().unwrap_or_else(|e| panic!("{e}"));
        let t0 = Timestamp::from_millis(1_778_693_400_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let record = SessionRecord {
            id: link.session_id(),
            org_id: OrgId::from_bytes([1; 16]),
            customer: Arc::new(CustomerSnapshot {
                id: CustomerId::from_bytes([2; 16]),
                external_id: "acme-001".into(),
                name: "Acme Corp".into(),
                email: Some("billing@acme.test".into()),
                locale: None,
            }),
            features: Features::ALL,
            return_url: None,
            locale: None,
            verifier_hash: link.secret_hash(),
            viewer_hash: None,
            created_at: t0,
            expires_at: at(t0, 3_600_000),
            used_at: None,
            revoked_at: None,
            logged_out_at: None,
            redeemed_by: None,
            recovery: true,
            recovery_ended_at: None,
            minted_by: MintedBy::Api,
            chain_started_at: t0,
            deep_link: None,
            version: 0,
        };
        Fixture { link, record, t0 }
    }

    fn at(t: Timestamp, plus_ms: u64) -> Timestamp {
        t.checked_add(Duration::from_millis(plus_ms))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn redeem(f: &Fixture, viewer: &ViewerToken) -> Change {
        Change::Redeem {
            verifier: f.link.secret_hash(),
            viewer: viewer.secret_hash(),
            client: ClientInfo::new(None, Some("test")),
        }
    }

    fn viewer(f: &Fixture) -> ViewerToken {
        ViewerToken::generate(f.record.id).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn expiry_is_decided_to_the_millisecond() {
        let f = fixture();
        let last_open = at(f.t0, 3_599_999);
        let expiry = at(f.t0, 3_600_000);
        assert_eq!(f.record.status(last_open), Status::Issued);
        assert_eq!(f.record.status(expiry), Status::Expired);
        assert!(f.record.apply(redeem(&f, &viewer(&f)), last_open).is_ok());
        assert_eq!(
            f.record.apply(redeem(&f, &viewer(&f)), expiry),
            Err(Rejection::Expired)
        );
    }

    #[test]
    fn redeem_then_view_then_revoke() {
        let f = fixture();
        let v = viewer(&f);
        let t1 = at(f.t0, 1_000);
        let active = f
            .record
            .apply(redeem(&f, &v), t1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(active.status(t1), Status::Active);
        assert_eq!(active.used_at, Some(t1));
        assert_eq!(active.version, 1);
        assert_eq!(active.check_viewer(&v.secret_hash(), t1), Ok(()));
        assert_eq!(
            active.apply(redeem(&f, &viewer(&f)), t1),
            Err(Rejection::AlreadyUsed)
        );
        let other = viewer(&f);
        assert_eq!(
            active.check_viewer(&other.secret_hash(), t1),
            Err(Rejection::WrongSecret)
        );
        let revoked = active
            .apply(Change::Revoke, t1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            revoked.check_viewer(&v.secret_hash(), t1),
            Err(Rejection::Revoked)
        );
        assert_eq!(revoked.status(at(f.t0, 7_200_000)), Status::Revoked);
    }

    #[test]
    fn a_wrong_verifier_learns_nothing_about_state() {
        let f = fixture();
        let stranger = LinkToken::generate().unwrap_or_else(|e| panic!("{e}"));
        let revoked = f
            .record
            .apply(Change::Revoke, f.t0)
            .unwrap_or_else(|e| panic!("{e}"));
        for record in [&f.record, &revoked] {
            assert_eq!(
                record.check_link(&stranger.secret_hash(), f.t0),
                Err(Rejection::WrongSecret)
            );
        }
    }

    #[test]
    fn logout_ends_the_viewer_but_not_the_record() {
        let f = fixture();
        let v = viewer(&f);
        let active = f
            .record
            .apply(redeem(&f, &v), f.t0)
            .unwrap_or_else(|e| panic!("{e}"));
        let out = active
            .apply(
                Change::Logout {
                    viewer: v.secret_hash(),
                },
                f.t0,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.check_viewer(&v.secret_hash(), f.t0),
            Err(Rejection::WrongSecret)
        );
        assert_eq!(out.used_at, active.used_at);
        assert_eq!(out.logged_out_at, Some(f.t0));
        assert_eq!(
            f.record.check_viewer(&v.secret_hash(), f.t0),
            Err(Rejection::WrongSecret),
            "an unredeemed session has no viewer"
        );
    }

    #[test]
    fn user_agents_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_USER_AGENT_BYTES);
        let info = ClientInfo::new(None, Some(&long));
        let kept = info.user_agent.unwrap_or_default();
        assert!(kept.len() <= MAX_USER_AGENT_BYTES && kept.len() >= MAX_USER_AGENT_BYTES - 1);
        assert!(kept.chars().all(|c| c == 'é'));
    }
}
