//! The engine's half of recovery: minting a new link for a customer whose link no longer works, or
//! who asked on the login page. Sending it is the embedding service's (the axum crate's `Mailer`).

use std::sync::Arc;
use std::time::Duration;

use super::{CreatedSession, Engine, EngineError};
use crate::id::{CustomerId, OrgId};
use crate::locale::Locale;
use crate::record::{CustomerSnapshot, SessionRecord};
use crate::recovery::{MintedBy, RecoveryBlock, RecoveryPolicy};
use crate::store::{ListFilter, ListPosition, ListQuery, MAX_TTL, SessionStore};
use crate::token::LinkToken;

/// The most sessions of one customer the hourly count reads. A customer with more sessions than
/// this in the last hour (minted by the API: emailed ones stop the count far earlier) is treated as
/// over the limit, so the count's cost stays bounded whatever the API mints.
const MAX_COUNTED: usize = 1_000;

/// The most customers the login page sends links to for one address.
pub const MAX_LOGIN_MATCHES: usize = 5;

/// Why a recovery or a login mint did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// The session, customer or limit does not allow it; nothing was minted.
    #[error("recovery refused: {0}")]
    Blocked(RecoveryBlock),
    /// The link, the store or the directory failed, as for any other operation.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<RecoveryBlock> for RecoveryError {
    fn from(block: RecoveryBlock) -> RecoveryError {
        RecoveryError::Blocked(block)
    }
}

impl From<crate::store::StoreError> for RecoveryError {
    fn from(error: crate::store::StoreError) -> RecoveryError {
        RecoveryError::Engine(error.into())
    }
}

/// A session minted by recovery or the login page, and where its link must go.
pub struct Recovered {
    /// The new session and its link, shown once.
    pub created: CreatedSession,
    /// The customer's address, from the directory at the time of the mint: the only address the
    /// link may be sent to.
    pub address: String,
}

impl std::fmt::Debug for Recovered {
    /// Neither the link nor the address.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovered")
            .field("session", &self.created.record.id)
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> Engine<S> {
    /// Whether the link of `record` (a used or expired session, as a
    /// [`LinkRefusal`](super::LinkRefusal) carries it) may ask for a new link under `policy`:
    /// what its page needs to decide whether to offer "Email me a new link". Returns the
    /// customer as the directory has them now, with an address.
    ///
    /// It does not count the hourly limit, which only the request itself can meet.
    ///
    /// # Errors
    ///
    /// [`RecoveryError::Blocked`] with the reason; directory failures.
    pub async fn recovery_offer(
        &self,
        record: &SessionRecord,
        policy: &RecoveryPolicy,
    ) -> Result<Arc<CustomerSnapshot>, RecoveryError> {
        record.check_recovery(self.now(), policy)?;
        let customer = self
            .directory
            .find_by_id(record.org_id, record.customer.id)
            .await
            .map_err(EngineError::from)?;
        customer
            .filter(|customer| {
                customer
                    .email
                    .as_deref()
                    .is_some_and(|email| !email.is_empty())
            })
            .ok_or(RecoveryError::Blocked(RecoveryBlock::NoAddress))
    }

    /// Mints a new session for the customer of a used or expired `link`, to be emailed to the
    /// customer's current address, which it returns.
    ///
    /// The new session takes the customer fresh from the directory and inherits the old one's
    /// features, return URL, locale, recovery flag, deep link and lifetime; it records which session it was
    /// recovered from, and its chain of recoveries starts where the old one's did, so the window
    /// does not move. Send its link to [`Recovered::address`] and nowhere else; when the mail
    /// cannot be sent, [`revoke`](Self::revoke) it.
    ///
    /// # Errors
    ///
    /// [`EngineError::LinkUnknown`] for a link that names no session; [`RecoveryBlock::StillOpen`] for a link that still opens; the other
    /// [`RecoveryBlock`]s as [`recovery_offer`](Self::recovery_offer) and
    /// [`RecoveryBlock::OverLimit`] when recovery and the login page already minted
    /// `policy.max_emails_per_hour` sessions for the customer in the last hour; store, directory
    /// and randomness failures. Nothing is minted unless it returns `Ok`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use portal_sessions::*;
    /// # async fn recover<S: SessionStore>(engine: &Engine<S>, link: &LinkToken) -> Result<(), RecoveryError> {
    /// let recovered = engine.recover(link, &RecoveryPolicy::default()).await?;
    /// // Email `recovered.created.link` to `recovered.address`, and to no other address.
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recover(
        &self,
        link: &LinkToken,
        policy: &RecoveryPolicy,
    ) -> Result<Recovered, RecoveryError> {
        let old = match self.inspect_or_refuse(link).await {
            Ok(_) => return Err(RecoveryBlock::StillOpen.into()),
            Err(refusal) => refusal
                .session
                .ok_or(RecoveryError::Engine(refusal.error))?,
        };
        self.recover_session(&old, policy).await
    }

    /// [`recover`](Self::recover) for a session whose link was already checked: the session a
    /// [`LinkRefusal`](super::LinkRefusal) carries (a genuine link, used, expired or revoked),
    /// when the caller needed it first to find the organisation's policy.
    ///
    /// The record is read again once this process serialises the customer's mints, so a
    /// revocation that ran meanwhile is seen; one running on another instance at the same moment
    /// can still leave a session minted after it, which revoking the customer again ends.
    ///
    /// # Errors
    ///
    /// As [`recover`](Self::recover).
    pub async fn recover_session(
        &self,
        old: &SessionRecord,
        policy: &RecoveryPolicy,
    ) -> Result<Recovered, RecoveryError> {
        let customer = self.recovery_offer(old, policy).await?;
        let _one_at_a_time = self.email_mint_stripe(customer.id).lock().await;
        // Decided again on the record as it is now: a revocation (of the session, or of the
        // customer) that ran while this waited for the lock ends it here.
        let current = self
            .store
            .get(&old.id)
            .await?
            .ok_or(RecoveryBlock::Revoked)?;
        current.check_recovery(self.now(), policy)?;
        self.check_hourly_limit(old.org_id, customer.id, policy)
            .await?;
        let fields = NewSession {
            customer,
            features: old.features,
            return_url: old.return_url.clone(),
            locale: old.locale,
            lifetime: old.lifetime(),
            recovery: old.recovery,
            minted_by: MintedBy::Recovery { from: old.id },
            chain_started_at: Some(old.chain_started_at),
            deep_link: old.deep_link.clone(),
        };
        let recovered = self.mint_emailed(old.org_id, fields).await?;
        tracing::info!(session = %recovered.created.record.id, from = %old.id, org = %old.org_id, "a portal session recovered");
        Ok(recovered)
    }

    /// Whether the directory can find customers by address: whether login pages can exist.
    pub fn finds_customers_by_email(&self) -> bool {
        self.directory.finds_by_email()
    }

    /// The customers of `org` whose address is `email` (case-insensitively), at most
    /// [`MAX_LOGIN_MATCHES`]: whom a login page request sends links to. Empty when the directory
    /// cannot find customers by address ([`CustomerDirectory::finds_by_email`](crate::CustomerDirectory::finds_by_email)).
    ///
    /// # Errors
    ///
    /// Directory failures.
    pub async fn customers_by_email(
        &self,
        org: OrgId,
        email: &str,
    ) -> Result<Vec<Arc<CustomerSnapshot>>, EngineError> {
        let mut found = self.directory.find_by_email(org, email).await?;
        found.retain(|customer| {
            customer
                .email
                .as_deref()
                .is_some_and(|address| address.eq_ignore_ascii_case(email))
        });
        found.truncate(MAX_LOGIN_MATCHES);
        Ok(found)
    }

    /// Mints a session for `customer`, who asked for a link on `org`'s login page: all the
    /// default features, no return URL, the customer's own locale or else the page's, the
    /// configured lifetime. Its link goes to the customer's address, which it returns.
    ///
    /// # Errors
    ///
    /// [`RecoveryBlock::NoAddress`] for a customer without an address; [`RecoveryBlock::OverLimit`]
    /// as for [`recover`](Self::recover); store and randomness failures.
    pub async fn mint_for_login(
        &self,
        org: OrgId,
        customer: Arc<CustomerSnapshot>,
        page_locale: Locale,
        policy: &RecoveryPolicy,
    ) -> Result<Recovered, RecoveryError> {
        if customer.email.as_deref().is_none_or(str::is_empty) {
            return Err(RecoveryBlock::NoAddress.into());
        }
        let _one_at_a_time = self.email_mint_stripe(customer.id).lock().await;
        self.check_hourly_limit(org, customer.id, policy).await?;
        let locale = customer.locale.unwrap_or(page_locale);
        let fields = NewSession {
            customer,
            features: crate::feature::Features::default(),
            return_url: None,
            locale: Some(locale),
            lifetime: self.ttl,
            recovery: true,
            minted_by: MintedBy::LoginPage,
            chain_started_at: None,
            deep_link: None,
        };
        let minted = self.mint_emailed(org, fields).await?;
        tracing::info!(session = %minted.created.record.id, org = %org, "a portal session minted from the login page");
        Ok(minted)
    }

    /// How many sessions recovery and the login page minted for `customer` in the hour before
    /// now, as the store holds them (so every instance counts the same ones); stops counting at
    /// `cap`. More than a thousand sessions in the hour (minted by the API: emailed ones stop the
    /// count far earlier) count as `cap`, so that the count's cost stays bounded.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn emails_in_last_hour(
        &self,
        org: OrgId,
        customer: CustomerId,
        cap: u32,
    ) -> Result<u32, EngineError> {
        let since = self
            .now()
            .checked_sub(Duration::from_secs(60 * 60))
            .unwrap_or(crate::timestamp::Timestamp::UNIX_EPOCH);
        let mut counted = 0;
        let mut read = 0;
        let mut after = None;
        loop {
            let page = self
                .store
                .list(&ListQuery {
                    org_id: org,
                    customer_id: Some(customer),
                    limit: super::REVOKE_PAGE,
                    filter: ListFilter::All,
                    after,
                    max_lifetime: MAX_TTL,
                })
                .await?;
            for session in &page {
                if session.created_at <= since {
                    return Ok(counted);
                }
                read += 1;
                if session.minted_by.is_emailed() {
                    counted += 1;
                }
                if counted >= cap || read >= MAX_COUNTED {
                    return Ok(cap);
                }
            }
            match page.last() {
                Some(last) if page.len() == super::REVOKE_PAGE => {
                    after = Some(ListPosition::of(last));
                }
                _ => return Ok(counted),
            }
        }
    }

    /// The lock that makes a customer's count and mint one step in this process. Instances over
    /// one store are not serialised: two answering at the same instant can each mint one more.
    fn email_mint_stripe(&self, customer: CustomerId) -> &tokio::sync::Mutex<()> {
        // Every byte of the id counts: hosts choose their ids, and some share long runs of bytes.
        let hash = customer
            .as_uuid()
            .as_bytes()
            .iter()
            .fold(0_usize, |hash, byte| {
                hash.wrapping_mul(31).wrapping_add(usize::from(*byte))
            });
        &self.email_mints[hash % self.email_mints.len()]
    }

    async fn check_hourly_limit(
        &self,
        org: OrgId,
        customer: CustomerId,
        policy: &RecoveryPolicy,
    ) -> Result<(), RecoveryError> {
        let cap = policy.max_emails_per_hour;
        if cap == 0 || self.emails_in_last_hour(org, customer, cap).await? >= cap {
            return Err(RecoveryBlock::OverLimit.into());
        }
        Ok(())
    }

    async fn mint_emailed(
        &self,
        org: OrgId,
        fields: NewSession,
    ) -> Result<Recovered, RecoveryError> {
        let address = fields
            .customer
            .email
            .clone()
            .filter(|address| !address.is_empty())
            .ok_or(RecoveryBlock::NoAddress)?;
        let now = self.now();
        let expires_at = now
            .checked_add(fields.lifetime)
            .ok_or(EngineError::ClockOutOfRange)?;
        let link = LinkToken::generate().map_err(EngineError::Token)?;
        let record = SessionRecord {
            id: link.session_id(),
            org_id: org,
            customer: fields.customer,
            features: fields.features,
            return_url: fields.return_url,
            locale: fields.locale,
            verifier_hash: link.secret_hash(),
            viewer_hash: None,
            created_at: now,
            expires_at,
            used_at: None,
            revoked_at: None,
            logged_out_at: None,
            redeemed_by: None,
            recovery: fields.recovery,
            recovery_ended_at: None,
            minted_by: fields.minted_by,
            chain_started_at: fields.chain_started_at.unwrap_or(now),
            deep_link: fields.deep_link,
            version: 0,
        };
        self.store_new(&record).await?;
        Ok(Recovered {
            created: CreatedSession {
                record,
                link,
                revoked_existing: 0,
            },
            address,
        })
    }
}

/// What a mint by email decides before the engine dates and stores it.
struct NewSession {
    customer: Arc<CustomerSnapshot>,
    features: crate::feature::Features,
    return_url: Option<String>,
    locale: Option<Locale>,
    lifetime: Duration,
    recovery: bool,
    minted_by: MintedBy,
    /// `None`: the new session starts its own chain.
    chain_started_at: Option<crate::timestamp::Timestamp>,
    deep_link: Option<crate::record::DeepLink>,
}
