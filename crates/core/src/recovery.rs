//! Recovery: a used or expired link that asks for a new one by email.
//!
//! One-time, short-lived links are safe to send and useless a week later: the customer who opens a
//! used or expired link would otherwise meet a dead end and write to support. With recovery on, that
//! link's page offers "Email me a new link": the engine mints a new session for the same customer
//! and the embedding service emails its link to the customer's *current* address from the
//! directory, never to an address the request names. Holding an old link proves which customer it
//! is, not who is asking, so the new link goes where the customer's mail goes.
//!
//! What may recover is a pure function of the record and an organisation's
//! [`RecoveryPolicy`] ([`SessionRecord::check_recovery`]):
//!
//! * the session was minted with recovery allowed (`recovery`, on by default);
//! * it was never revoked, and no customer-wide revocation ended its recovery since
//!   ([`Change::EndRecovery`](crate::Change::EndRecovery));
//! * it is within the organisation's window, counted from the first session of its chain of
//!   recoveries ([`SessionRecord::chain_started_at`]), so a recovered session cannot extend the
//!   window by recovering again.
//!
//! The engine adds what needs the directory and the store
//! ([`Engine::recovery_offer`](crate::Engine::recovery_offer),
//! [`Engine::recover`](crate::Engine::recover)): the customer still has an address, and fewer than
//! [`RecoveryPolicy::max_emails_per_hour`] sessions were minted for them by email in the last hour,
//! counted from the sessions the store holds, so the limit holds across instances.

use std::time::Duration;

pub use crate::record::MintedBy;
use crate::record::SessionRecord;
use crate::timestamp::Timestamp;

/// The longest recovery window an organisation may have.
pub const MAX_RECOVERY_WINDOW: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// An organisation's recovery settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// How long after the first session of a chain of recoveries a link may still ask for a new
    /// one (at most [`MAX_RECOVERY_WINDOW`]).
    pub window: Duration,
    /// How many sessions recovery and the login page may mint for one customer in an hour.
    pub max_emails_per_hour: u32,
}

impl Default for RecoveryPolicy {
    /// Seven days, five emails an hour.
    fn default() -> RecoveryPolicy {
        RecoveryPolicy {
            window: Duration::from_secs(7 * 24 * 60 * 60),
            max_emails_per_hour: 5,
        }
    }
}

/// Why a session may not ask for a new link. The customer meets it as a page that says so (and
/// links to the organisation's login page, when it has one); nothing is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryBlock {
    /// The session was minted with `recovery: false`.
    #[error("the session was minted without recovery")]
    OptedOut,
    /// The session was revoked.
    #[error("the session was revoked")]
    Revoked,
    /// A customer-wide revocation ended the session's recovery.
    #[error("a revocation of the customer's sessions ended recovery")]
    Ended,
    /// The session's chain of recoveries began longer ago than the window.
    #[error("the session is outside its organisation's recovery window")]
    OutsideWindow,
    /// The link still opens: there is nothing to recover.
    #[error("the link still opens")]
    StillOpen,
    /// The directory no longer has the customer, or has no address for them.
    #[error("the customer has no email address")]
    NoAddress,
    /// The customer reached [`RecoveryPolicy::max_emails_per_hour`].
    #[error("the customer asked for too many links in the last hour")]
    OverLimit,
}

impl RecoveryBlock {
    /// A short name, for metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecoveryBlock::OptedOut => "opted_out",
            RecoveryBlock::Revoked => "revoked",
            RecoveryBlock::Ended => "ended",
            RecoveryBlock::OutsideWindow => "outside_window",
            RecoveryBlock::StillOpen => "still_open",
            RecoveryBlock::NoAddress => "no_address",
            RecoveryBlock::OverLimit => "over_limit",
        }
    }
}

impl SessionRecord {
    /// Whether this session's link may ask for a new one at `now` under `policy`, as far as the
    /// record alone can tell (the engine adds the directory's address and the hourly limit).
    ///
    /// # Errors
    ///
    /// The first [`RecoveryBlock`] that applies, in this order: revoked, opted out, ended by a
    /// customer-wide revocation, still open, outside the window.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use portal_sessions::*;
    /// # fn used(record: &SessionRecord) -> SessionRecord {
    /// #     let mut used = record.clone(); used.used_at = Some(record.created_at); used
    /// # }
    /// # fn check(record: &SessionRecord) {
    /// let policy = RecoveryPolicy::default();
    /// let day = Duration::from_secs(24 * 60 * 60);
    /// let used = used(record);
    /// let tomorrow = record.created_at.checked_add(day).unwrap();
    /// assert_eq!(used.check_recovery(tomorrow, &policy), Ok(()));
    /// let next_month = record.created_at.checked_add(30 * day).unwrap();
    /// assert_eq!(used.check_recovery(next_month, &policy), Err(RecoveryBlock::OutsideWindow));
    /// # }
    /// ```
    pub fn check_recovery(
        &self,
        now: Timestamp,
        policy: &RecoveryPolicy,
    ) -> Result<(), RecoveryBlock> {
        if self.revoked_at.is_some() {
            Err(RecoveryBlock::Revoked)
        } else if !self.recovery {
            Err(RecoveryBlock::OptedOut)
        } else if self.recovery_ended_at.is_some() {
            Err(RecoveryBlock::Ended)
        } else if self.is_open(now) {
            Err(RecoveryBlock::StillOpen)
        } else if self
            .chain_started_at
            .checked_add(policy.window.min(MAX_RECOVERY_WINDOW))
            .is_none_or(|end| now >= end)
        {
            Err(RecoveryBlock::OutsideWindow)
        } else {
            Ok(())
        }
    }

    /// Whether a customer-wide revocation at `now` must end this session's recovery: it is not
    /// live (a live one is revoked instead), not revoked, minted with recovery, and its recovery
    /// has not ended yet.
    pub fn needs_recovery_ended(&self, now: Timestamp) -> bool {
        !self.is_live(now)
            && self.revoked_at.is_none()
            && self.recovery
            && self.recovery_ended_at.is_none()
    }
}
