//! The [`Engine`]: the thin async shell around the pure state machine.
//!
//! Every operation reads the clock once, loads what it needs from the store, decides with
//! [`SessionRecord::apply`] (or a pure check), and commits with the store's compare-and-swap. When the
//! swap loses a race, the engine re-reads and decides again against the record as it now is, so two
//! redeems of one link can never both succeed, and a redeem racing a revoke can never both succeed.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::directory::{CustomerDirectory, DirectoryError};
use crate::event::EventListener;
use crate::id::{OrgId, SessionId};
use crate::record::{Change, ClientInfo, CustomerSnapshot, Rejection, SessionRecord};
use crate::recovery::{MAX_RECOVERY_WINDOW, MintedBy};
use crate::request::{
    CreateRequest, CustomerRef, InvalidRequest, ListOptions, MAX_LIST_LIMIT, MIN_REQUESTED_TTL,
    StatusFilter, validate_external_id, validate_return_url,
};
use crate::store::{
    CasOutcome, ListFilter, ListPosition, ListQuery, MAX_TTL, SessionStore, StoreError,
    WriteVisibility,
};
use crate::timestamp::Timestamp;
use crate::token::{LinkToken, TokenError, ViewerToken};

mod recovery;

pub use recovery::{MAX_LOGIN_MATCHES, Recovered, RecoveryError};

/// How long a session lasts unless configured otherwise: one hour.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60 * 60);
/// The shortest configurable session lifetime: one second.
pub const MIN_TTL: Duration = Duration::from_secs(1);

/// How many times an operation re-reads after losing a compare-and-swap before giving up. Each lost
/// race means another writer changed the record, and a record changes at most a handful of times
/// (redeem, logout, revoke), so this is never reached by honest contention.
const MAX_CAS_ATTEMPTS: u32 = 16;

/// Why an [`Engine`] operation failed.
///
/// Each variant is a distinct answer an API gives (see the axum crate for the HTTP mapping). Messages
/// never contain a token, a secret or a customer's data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The request was refused before anything happened. The message includes the reason, so the
    /// reason is not also returned as the [`source`](std::error::Error::source).
    #[error("invalid request: {0}")]
    InvalidRequest(InvalidRequest),
    /// No customer of the caller's organisation matches the request.
    #[error("no customer in this organisation matches the request")]
    CustomerNotFound,
    /// No session of the caller's organisation has this id.
    #[error("no such portal session")]
    SessionNotFound,
    /// The link token is not well-formed (wrong prefix, length, alphabet or checksum).
    #[error("malformed link")]
    LinkMalformed(#[source] TokenError),
    /// The link token is well-formed but names no session, or its verifier is wrong.
    #[error("unknown link")]
    LinkUnknown,
    /// The link was already redeemed.
    #[error("link already used")]
    LinkUsed,
    /// The link's session has expired.
    #[error("link expired")]
    LinkExpired,
    /// The link's session was revoked.
    #[error("link revoked")]
    LinkRevoked,
    /// The viewer token does not open a portal: forged, logged out, revoked or expired.
    #[error("portal session ended")]
    ViewerRejected(Rejection),
    /// The session store failed.
    #[error("session store failure")]
    Store(#[from] StoreError),
    /// The customer directory failed.
    #[error("customer directory failure")]
    Directory(#[from] DirectoryError),
    /// A token could not be minted (the operating system's randomness failed).
    #[error("could not mint a token")]
    Token(#[source] TokenError),
    /// The clock is so far in the future that the session's expiry cannot be represented.
    #[error("the clock is out of range")]
    ClockOutOfRange,
    /// The record kept changing under this operation; it gave up rather than loop.
    #[error("too much concurrent contention on one session")]
    Contention,
}

impl From<InvalidRequest> for EngineError {
    fn from(invalid: InvalidRequest) -> EngineError {
        EngineError::InvalidRequest(invalid)
    }
}

impl EngineError {
    /// Whether this is a genuine link's state: used, expired or revoked.
    fn is_link_state(&self) -> bool {
        matches!(
            self,
            EngineError::LinkUsed | EngineError::LinkExpired | EngineError::LinkRevoked
        )
    }

    fn from_link_rejection(rejection: Rejection) -> EngineError {
        match rejection {
            Rejection::WrongSecret => EngineError::LinkUnknown,
            Rejection::AlreadyUsed => EngineError::LinkUsed,
            Rejection::Expired => EngineError::LinkExpired,
            Rejection::Revoked => EngineError::LinkRevoked,
        }
    }
}

/// A link that did not open: why, and, when the link is genuine (its verifier matched, so it was
/// used, expired or revoked), the session the refusal was decided on.
///
/// A forged or unknown link carries no session: holding a wrong secret shows nothing of the
/// session it names.
#[derive(Debug)]
pub struct LinkRefusal {
    /// Why: [`EngineError::LinkUnknown`], `LinkUsed`, `LinkExpired`, `LinkRevoked`, or a store
    /// failure.
    pub error: EngineError,
    /// The session, for a used, expired or revoked genuine link.
    pub session: Option<SessionRecord>,
}

impl LinkRefusal {
    fn without_session(error: EngineError) -> LinkRefusal {
        LinkRefusal {
            error,
            session: None,
        }
    }

    fn of(rejection: Rejection, record: SessionRecord) -> LinkRefusal {
        let error = EngineError::from_link_rejection(rejection);
        LinkRefusal {
            session: error.is_link_state().then_some(record),
            error,
        }
    }
}

/// The TTL given to [`Engine::with_ttl`] is outside 1 second ..= 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session lifetime must be between 1 second and 24 hours")]
pub struct InvalidTtl;

/// A freshly minted session: the only time its link token exists outside the customer's hands.
#[derive(Debug)]
pub struct CreatedSession {
    /// The stored record.
    pub record: SessionRecord,
    /// The link token. Show it once, to the caller that minted it; it cannot be recovered.
    pub link: LinkToken,
    /// How many of the customer's other sessions this call revoked
    /// ([`CreateRequest::invalidate_existing`]); 0 when it was not asked to.
    pub revoked_existing: u64,
}

/// How many sessions one page of a customer-wide revocation reads.
const REVOKE_PAGE: usize = MAX_LIST_LIMIT;

/// How many locks order the announcements of an engine with a listener (see [`Announcer`]).
const ANNOUNCE_STRIPES: usize = 64;

/// How many locks serialise mints by email (one customer's at a time; customers spread over them
/// by a hash of their id).
const EMAIL_MINT_STRIPES: usize = 64;

/// What an engine with an [`EventListener`] keeps: the listener, and striped locks that make one
/// session's commit and its announcement one step, so that two changes of one session are
/// announced in the order they were committed.
struct Announcer {
    listener: Arc<dyn EventListener>,
    stripes: Box<[tokio::sync::Mutex<()>]>,
}

impl Announcer {
    /// The lock that orders `id`'s announcements, when the listener needs them in order.
    async fn order(&self, id: &SessionId) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.listener.needs_order() {
            Some(self.stripe(id).lock().await)
        } else {
            None
        }
    }

    fn stripe(&self, id: &SessionId) -> &tokio::sync::Mutex<()> {
        // The selector is uniformly random: any byte of it spreads sessions evenly.
        &self.stripes[usize::from(id.as_bytes()[0]) % self.stripes.len()]
    }

    /// Announces the events `after` has and `before` had not.
    fn announce(&self, before: Option<&SessionRecord>, after: &SessionRecord) {
        let had = before.map(SessionRecord::event_kinds).unwrap_or_default();
        for event in after.events().filter(|event| !had.contains(event.kind)) {
            self.listener.on_event(&event);
        }
    }
}

/// A redeemed link: the record as it now is, and the viewer token for the portal cookie.
#[derive(Debug)]
pub struct Redemption {
    /// The record after the redeem.
    pub record: SessionRecord,
    /// The viewer token. Set it as the portal cookie; it cannot be recovered.
    pub viewer: ViewerToken,
}

/// Mints, lists, revokes and redeems portal sessions over a [`SessionStore`].
///
/// Cheap to share: wrap it in an [`Arc`] (its only locks order announcements and serialise one
/// customer's mints by email within the process; all other coordination is the
/// store's compare-and-swap).
///
/// # Examples
///
/// The whole life of a link, on the in-memory store:
///
/// ```
/// use portal_sessions::*;
/// use portal_sessions_memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let org = OrgId::from_bytes([1; 16]);
/// let mut customers = StaticDirectory::default();
/// customers.insert(org, CustomerSnapshot {
///     id: CustomerId::from_bytes([2; 16]),
///     external_id: "acme-001".into(),
///     name: "Acme Corp".into(),
///     email: Some("billing@acme.test".into()),
///     locale: None,
/// })?;
/// let engine = Engine::new(MemoryStore::new(), customers);
///
/// // The backend mints a link and sends its text to the customer.
/// let created = engine.create(org, CreateRequest::for_external_id("acme-001")).await?;
/// let url = format!("https://portal.example.com/r/{}", created.link.expose_secret());
///
/// // The customer opens it: looking does not consume it, redeeming does, once.
/// let link: LinkToken = url.rsplit('/').next().unwrap_or_default().parse()?;
/// engine.inspect(&link).await?;
/// let redemption = engine.redeem(&link, ClientInfo::default()).await?;
/// assert!(matches!(
///     engine.redeem(&link, ClientInfo::default()).await,
///     Err(EngineError::LinkUsed)
/// ));
///
/// // Each portal request authenticates the viewer token from the cookie.
/// let session = engine.authenticate(&redemption.viewer).await?;
/// assert_eq!(session.customer.name, "Acme Corp");
///
/// // Revoking cuts the portal off at once.
/// engine.revoke(org, &created.record.id).await?;
/// assert!(matches!(
///     engine.authenticate(&redemption.viewer).await,
///     Err(EngineError::ViewerRejected(Rejection::Revoked))
/// ));
/// # Ok(())
/// # }
/// ```
pub struct Engine<S> {
    store: S,
    directory: Arc<dyn CustomerDirectory>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    announcer: Option<Announcer>,
    /// Mints by email of one customer, one at a time in this process (striped by customer), so
    /// that the hourly limit's count and the mint it allows are one step here.
    email_mints: Box<[tokio::sync::Mutex<()>]>,
    /// How far back a customer-wide revocation ends recovery ([`Engine::with_recovery_horizon`]).
    recovery_horizon: Duration,
}

impl<S> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("ttl", &self.ttl)
            .field("listening", &self.announcer.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> Engine<S> {
    /// An engine over `store` that resolves customers in `directory`, with a one-hour session
    /// lifetime, reading time from the store's own clock when it has one
    /// ([`SessionStore::clock`]: PostgreSQL's is the database's), else from the system clock.
    pub fn new(store: S, directory: impl CustomerDirectory) -> Engine<S> {
        let clock = store.clock().unwrap_or_else(|| Arc::new(SystemClock));
        Engine {
            store,
            directory: Arc::new(directory),
            clock,
            ttl: DEFAULT_TTL,
            announcer: None,
            email_mints: (0..EMAIL_MINT_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            recovery_horizon: MAX_RECOVERY_WINDOW,
        }
    }

    /// The same engine announcing every change it commits to `listener`, in process (see
    /// [`EventListener`] for the guarantees). Without one, the engine does no work for events.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use portal_sessions::*;
    /// use portal_sessions_memory::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let org = OrgId::from_bytes([1; 16]);
    /// let mut customers = StaticDirectory::default();
    /// customers.insert(org, CustomerSnapshot {
    ///     id: CustomerId::from_bytes([2; 16]),
    ///     external_id: "acme-001".into(),
    ///     name: "Acme Corp".into(),
    ///     email: None,
    ///     locale: None,
    /// })?;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let engine = Engine::new(MemoryStore::new(), customers).with_listener(move |event: &SessionEvent| {
    ///     log.lock().unwrap().push(event.kind);
    /// });
    /// let created = engine.create(org, CreateRequest::for_external_id("acme-001")).await?;
    /// engine.redeem(&created.link, ClientInfo::default()).await?;
    /// engine.revoke(org, &created.record.id).await?;
    /// assert_eq!(*seen.lock().unwrap(), [EventKind::Created, EventKind::Redeemed, EventKind::Revoked]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_listener(mut self, listener: impl EventListener) -> Engine<S> {
        self.announcer = Some(Announcer {
            listener: Arc::new(listener),
            stripes: (0..ANNOUNCE_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        });
        self
    }

    /// The same engine reading time from `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(mut self, clock: impl Clock) -> Engine<S> {
        self.clock = Arc::new(clock);
        self
    }

    /// The same engine minting sessions that live for `ttl` (whole milliseconds).
    ///
    /// # Errors
    ///
    /// [`InvalidTtl`] unless `ttl` is between 1 second and 24 hours.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use portal_sessions::{Engine, InvalidTtl, StaticDirectory};
    /// use portal_sessions_memory::MemoryStore;
    ///
    /// let engine = || Engine::new(MemoryStore::new(), StaticDirectory::default());
    /// assert_eq!(engine().ttl(), Duration::from_secs(3600));
    /// assert_eq!(engine().with_ttl(Duration::from_secs(1)).map(|e| e.ttl()), Ok(Duration::from_secs(1)));
    /// assert_eq!(engine().with_ttl(Duration::from_secs(86_400)).map(|e| e.ttl()), Ok(Duration::from_secs(86_400)));
    /// assert_eq!(engine().with_ttl(Duration::from_millis(999)).err(), Some(InvalidTtl));
    /// assert_eq!(engine().with_ttl(Duration::from_secs(86_401)).err(), Some(InvalidTtl));
    /// ```
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Engine<S>, InvalidTtl> {
        if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
            return Err(InvalidTtl);
        }
        self.ttl = Duration::from_millis(u64::try_from(ttl.as_millis()).map_err(|_| InvalidTtl)?);
        Ok(self)
    }

    /// How far back a customer-wide revocation reaches to end the recovery of sessions that are
    /// no longer live: the longest recovery window of the organisations this engine serves
    /// ([`MAX_RECOVERY_WINDOW`] by default, the longest there can be). A service without recovery
    /// sets it to zero: the revocation then reads only the sessions of the last [`MAX_TTL`], the
    /// ones that can still be live, as it did before recovery existed.
    pub fn with_recovery_horizon(mut self, horizon: Duration) -> Engine<S> {
        self.recovery_horizon = horizon.min(MAX_RECOVERY_WINDOW);
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The session lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The engine clock's current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Mints a session for a customer of `org` and returns its one-time link.
    ///
    /// # Errors
    ///
    /// [`EngineError::InvalidRequest`] for a request without a customer, with a bad external id or
    /// return URL, with two ids that name different customers, or with a lifetime outside
    /// [`MIN_REQUESTED_TTL`] ..= [`ttl`](Self::ttl); [`EngineError::CustomerNotFound`] when `org`
    /// has no such customer; store, directory and randomness failures otherwise. Nothing is stored
    /// unless it returns `Ok`, except with
    /// [`invalidate_existing`](CreateRequest::invalidate_existing): the new session is stored first
    /// and then every live session of the customer older than it is revoked, so a failure of that
    /// revocation leaves a new session nobody has the link to (harmless, and revoked by the
    /// retry's own revocation) and some older ones perhaps still live; a retry is safe. Of two
    /// replacing creates that race, the newer stays live, and the older too only when it was
    /// stored after the newer's revocation ran.
    pub async fn create(
        &self,
        org: OrgId,
        request: CreateRequest,
    ) -> Result<CreatedSession, EngineError> {
        if let Some(external_id) = &request.customer_external_id {
            validate_external_id(external_id)?;
        }
        if let Some(url) = &request.return_url {
            validate_return_url(url)?;
        }
        let lifetime = match request.expires_in {
            None => self.ttl,
            Some(lifetime) if (MIN_REQUESTED_TTL..=self.ttl).contains(&lifetime) => {
                Duration::from_millis(
                    u64::try_from(lifetime.as_millis()).map_err(|_| InvalidRequest::Lifetime)?,
                )
            }
            Some(_) => return Err(InvalidRequest::Lifetime.into()),
        };
        let customer = self.resolve_customer(org, &request).await?;
        customer.validate()?;

        let invalidate_existing = request.invalidate_existing;

        let mut now = self.clock.now();
        if invalidate_existing {
            // A replacing session must come after every session of the customer in list order,
            // so that revoking those before it revokes them all: one minted in this same
            // millisecond would otherwise come before or after it by the ids' luck. So it is
            // dated a millisecond after the newest when that is not already in the past.
            let newest = self
                .store
                .list(&ListQuery {
                    org_id: org,
                    customer_id: Some(customer.id),
                    limit: 1,
                    filter: ListFilter::All,
                    after: None,
                    max_lifetime: MAX_TTL,
                })
                .await?;
            if let Some(newest) = newest.first().filter(|newest| newest.created_at >= now) {
                now = newest
                    .created_at
                    .checked_add(Duration::from_millis(1))
                    .ok_or(EngineError::ClockOutOfRange)?;
            }
        }
        let expires_at = now
            .checked_add(lifetime)
            .ok_or(EngineError::ClockOutOfRange)?;
        let link = LinkToken::generate().map_err(EngineError::Token)?;
        let features = request.features.unwrap_or_default();
        if let Some(link) = &request.deep_link {
            link.validate(features)?;
        }
        let locale = request.locale.or(customer.locale);
        let record = SessionRecord {
            id: link.session_id(),
            org_id: org,
            customer,
            features,
            return_url: request.return_url,
            locale,
            verifier_hash: link.secret_hash(),
            viewer_hash: None,
            created_at: now,
            expires_at,
            used_at: None,
            revoked_at: None,
            logged_out_at: None,
            redeemed_by: None,
            recovery: request.recovery,
            recovery_ended_at: None,
            minted_by: MintedBy::Api,
            chain_started_at: now,
            deep_link: request.deep_link,
            version: 0,
        };
        self.store_new(&record).await?;
        // Every live session older than this one (in list order) is revoked: every session the
        // customer had when the call was made, and a racing replacing create's if it is older.
        let revoked_existing = if invalidate_existing {
            self.revoke_customer_sessions(org, record.customer.id, Some(ListPosition::of(&record)))
                .await?
        } else {
            0
        };
        tracing::info!(session = %record.id, org = %org, customer = %record.customer.id, "portal session created");
        Ok(CreatedSession {
            record,
            link,
            revoked_existing,
        })
    }

    /// Stores a new session and announces it to the listener: the last step of every mint.
    async fn store_new(&self, record: &SessionRecord) -> Result<(), EngineError> {
        // With a listener, the insert and its announcement are one step for this session.
        let _announcing = match &self.announcer {
            Some(announcer) => announcer.order(&record.id).await,
            None => None,
        };
        if let Err(error) = self.store.insert(record).await {
            // The insert may have committed with its reply lost: the verifier hash, which only this
            // call knows, settles it.
            let stored = self.read_back(&record.id, &error).await;
            if !stored.is_some_and(|stored| stored.verifier_hash.matches(&record.verifier_hash)) {
                return Err(error.into());
            }
            tracing::info!(session = %record.id, "a create's lost reply was settled by reading back");
        }
        if let Some(announcer) = &self.announcer {
            announcer.announce(None, record);
        }
        Ok(())
    }

    async fn resolve_customer(
        &self,
        org: OrgId,
        request: &CreateRequest,
    ) -> Result<Arc<CustomerSnapshot>, EngineError> {
        let found = match (request.customer_id, &request.customer_external_id) {
            (None, None) => return Err(InvalidRequest::MissingCustomer.into()),
            (Some(id), external_id) => {
                let found = self.directory.find_by_id(org, id).await?;
                if let (Some(customer), Some(external_id)) = (&found, external_id) {
                    if &customer.external_id != external_id {
                        return Err(InvalidRequest::CustomerMismatch.into());
                    }
                }
                found
            }
            (None, Some(external_id)) => {
                self.directory.find_by_external_id(org, external_id).await?
            }
        };
        found.ok_or(EngineError::CustomerNotFound)
    }

    /// The session `id` of `org`.
    ///
    /// # Errors
    ///
    /// [`EngineError::SessionNotFound`] when there is none, including when the session belongs to
    /// another organisation (the two are indistinguishable to the caller).
    pub async fn get(&self, org: OrgId, id: &SessionId) -> Result<SessionRecord, EngineError> {
        match self.store.get(id).await? {
            Some(record) if record.org_id == org => Ok(record),
            _ => Err(EngineError::SessionNotFound),
        }
    }

    /// The sessions of `org`, newest first: by default those whose link can still be opened, with
    /// [`ListOptions::status`] those of one status, and with
    /// [`ListOptions::starting_after`] the page after a session from an earlier page.
    ///
    /// Paging by `starting_after` lists every session exactly once, in order, while sessions are
    /// created, redeemed and revoked between pages: the cursor is the position of the session it
    /// names, and a new session is always newer than any cursor.
    ///
    /// # Errors
    ///
    /// [`EngineError::InvalidRequest`] when the limit is outside 1..=100, both customer ids are
    /// given, the external id is malformed, or `starting_after` is not a session of `org`;
    /// [`EngineError::CustomerNotFound`] when no customer of `org` has the external id; store and
    /// directory failures otherwise.
    ///
    /// # Examples
    ///
    /// Every used link of an organisation, a page at a time:
    ///
    /// ```
    /// # use portal_sessions::*;
    /// # async fn all_used<S: SessionStore>(engine: &Engine<S>, org: OrgId) -> Result<Vec<SessionRecord>, EngineError> {
    /// let mut options = ListOptions { status: Some(StatusFilter::Used), limit: 100, ..ListOptions::default() };
    /// let mut used = Vec::new();
    /// loop {
    ///     let page = engine.list(org, options.clone()).await?;
    ///     let Some(last) = page.last() else { break };
    ///     options.starting_after = Some(last.id);
    ///     used.extend(page);
    /// }
    /// # Ok(used)
    /// # }
    /// ```
    pub async fn list(
        &self,
        org: OrgId,
        options: ListOptions,
    ) -> Result<Vec<SessionRecord>, EngineError> {
        if !(1..=MAX_LIST_LIMIT).contains(&options.limit) {
            return Err(InvalidRequest::Limit.into());
        }
        let customer = CustomerRef::from_parts(options.customer_id, options.customer_external_id)?;
        let customer_id = match customer {
            None => None,
            Some(customer) => Some(self.customer_id(org, customer).await?),
        };
        let after = match options.starting_after {
            None => None,
            Some(id) => match self.store.get(&id).await? {
                Some(record) if record.org_id == org => Some(ListPosition::of(&record)),
                _ => return Err(InvalidRequest::StartingAfter.into()),
            },
        };
        let now = self.clock.now();
        let filter = match options.status {
            Some(StatusFilter::Openable) => ListFilter::OpenAt(now),
            Some(StatusFilter::Active) => ListFilter::ActiveAt(now),
            Some(StatusFilter::Used) => ListFilter::Used,
            Some(StatusFilter::Expired) => ListFilter::ExpiredAt(now),
            Some(StatusFilter::Revoked) => ListFilter::Revoked,
            None if options.include_expired => ListFilter::All,
            None => ListFilter::OpenAt(now),
        };
        let query = ListQuery {
            // Not this engine's lifetime: other engines sharing the store may mint longer sessions.
            // Stores bound the walk by what they hold (see `ListQuery::max_lifetime`).
            max_lifetime: MAX_TTL,
            org_id: org,
            customer_id,
            limit: options.limit,
            filter,
            after,
        };
        Ok(self.store.list(&query).await?)
    }

    /// The internal id of a customer of `org`: an id as given (a list by an id the directory no
    /// longer knows still finds its sessions), an external id through the directory.
    async fn customer_id(
        &self,
        org: OrgId,
        customer: CustomerRef,
    ) -> Result<crate::id::CustomerId, EngineError> {
        match customer {
            CustomerRef::Id(id) => Ok(id),
            CustomerRef::ExternalId(external_id) => self
                .directory
                .find_by_external_id(org, &external_id)
                .await?
                .map(|customer| customer.id)
                .ok_or(EngineError::CustomerNotFound),
        }
    }

    /// Revokes every live session of one customer of `org`: each link that can still be opened,
    /// and each portal still open. Returns how many it revoked.
    ///
    /// It is the customer-wide "cut them off" after a compromise or an offboarding. Each session
    /// is revoked on its own, through [`SessionRecord::apply`] and the store's compare-and-swap,
    /// exactly as [`revoke`](Self::revoke) does, so it races correctly with redeems: a link
    /// redeemed concurrently ends redeemed and then revoked, and once this returns, no session of
    /// the customer that existed when it was called can be redeemed or viewed. Sessions minted
    /// while it runs may or may not be revoked.
    ///
    /// # Errors
    ///
    /// [`EngineError::InvalidRequest`] for a malformed external id;
    /// [`EngineError::CustomerNotFound`] when `org` has no customer with the external id, or the
    /// directory has no customer with the id and no session of it is live (a customer the
    /// directory forgot can still be cut off by id); store and directory failures otherwise.
    /// Sessions revoked before a failure stay revoked; calling it again finishes the job.
    ///
    /// # Examples
    ///
    /// ```
    /// # use portal_sessions::*;
    /// # async fn offboard<S: SessionStore>(engine: &Engine<S>, org: OrgId) -> Result<(), EngineError> {
    /// let revoked = engine
    ///     .revoke_customer(org, CustomerRef::ExternalId("acme-001".into()))
    ///     .await?;
    /// println!("{revoked} links and portals of acme-001 revoked");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke_customer(
        &self,
        org: OrgId,
        customer: CustomerRef,
    ) -> Result<u64, EngineError> {
        let id = match customer {
            CustomerRef::Id(id) => {
                if self.directory.find_by_id(org, id).await?.is_none() {
                    let revoked = self.revoke_customer_sessions(org, id, None).await?;
                    return if revoked == 0 {
                        Err(EngineError::CustomerNotFound)
                    } else {
                        Ok(revoked)
                    };
                }
                id
            }
            CustomerRef::ExternalId(external_id) => {
                validate_external_id(&external_id)?;
                self.customer_id(org, CustomerRef::ExternalId(external_id))
                    .await?
            }
        };
        self.revoke_customer_sessions(org, id, None).await
    }

    /// Revokes the live sessions of `customer` and ends the recovery of its other sessions, one
    /// compare-and-swap each; returns how many it revoked.
    ///
    /// It walks every session of the customer, newest first, with [`ListFilter::All`]: a session
    /// never leaves that list, so a redeem or an expiry racing the walk cannot move a session out
    /// of what it walks. A live session (its link can be opened, or its portal is open) is
    /// revoked; one already used or expired has its recovery ended
    /// ([`Change::EndRecovery`]), so that its link can no longer ask for a new one. That is a
    /// durable fact in the record, on every store and for every instance. The walk stops at
    /// sessions older than [`MAX_RECOVERY_WINDOW`], which are neither live nor recoverable: its
    /// cost is the customer's sessions of that period, of which only those that change are
    /// written. It pages by position, so sessions minted meanwhile (newer than the first page) do
    /// not keep it going; with `after`, it starts after that position (only sessions older than
    /// it).
    async fn revoke_customer_sessions(
        &self,
        org: OrgId,
        customer: crate::id::CustomerId,
        after: Option<ListPosition>,
    ) -> Result<u64, EngineError> {
        let mut revoked = 0;
        let mut ended = 0_u64;
        let mut after = after;
        let started = self.clock.now();
        let horizon = started
            .checked_sub(self.recovery_horizon.max(MAX_TTL))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        'walk: loop {
            let page = self
                .store
                .list(&ListQuery {
                    org_id: org,
                    customer_id: Some(customer),
                    limit: REVOKE_PAGE,
                    filter: ListFilter::All,
                    after,
                    max_lifetime: MAX_TTL,
                })
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(ListPosition::of(last));
            for session in &page {
                if session.created_at < horizon {
                    break 'walk;
                }
                let now = self.clock.now();
                if session.is_live(now) {
                    if self.revoke_record(org, &session.id, true).await?.1 {
                        revoked += 1;
                    } else if self.end_recovery(&session.id).await? {
                        // It expired between the list and the swap: its recovery ends instead.
                        ended += 1;
                    }
                } else if session.needs_recovery_ended(now)
                    && self.end_recovery(&session.id).await?
                {
                    ended += 1;
                }
            }
            if page.len() < REVOKE_PAGE {
                break;
            }
        }
        tracing::info!(org = %org, customer = %customer, revoked, recovery_ended = ended, "a customer's live portal sessions revoked");
        Ok(revoked)
    }

    /// Ends the recovery of session `id` (a customer-wide revocation's mark on a session that is
    /// no longer live); says whether this call ended it. A session that became live again cannot
    /// exist, and one revoked meanwhile needs nothing.
    async fn end_recovery(&self, id: &SessionId) -> Result<bool, EngineError> {
        let mut changed = false;
        self.update(
            id,
            |record| {
                changed = false;
                let now = self.clock.now();
                if !record.needs_recovery_ended(now) {
                    return Ok(None);
                }
                match record.apply(Change::EndRecovery, now) {
                    Ok(next) => {
                        changed = true;
                        Ok(Some(next))
                    }
                    Err(_) => Ok(None),
                }
            },
            EngineError::SessionNotFound,
            |record| record.recovery_ended_at.is_some() || record.revoked_at.is_some(),
        )
        .await?;
        Ok(changed)
    }

    /// Revokes session `id` of `org` at once: its link stops working and a portal opened with it
    /// ends on its next request. Revoking a revoked session succeeds and changes nothing.
    ///
    /// # Errors
    ///
    /// [`EngineError::SessionNotFound`] when `org` has no such session; store failures otherwise.
    pub async fn revoke(&self, org: OrgId, id: &SessionId) -> Result<SessionRecord, EngineError> {
        let (revoked, changed) = self.revoke_record(org, id, false).await?;
        if changed {
            tracing::info!(session = %id, org = %org, "portal session revoked");
        }
        Ok(revoked)
    }

    /// Revokes one session (with `only_live`, only if it is still live, not expired); says whether
    /// this call revoked it.
    async fn revoke_record(
        &self,
        org: OrgId,
        id: &SessionId,
        only_live: bool,
    ) -> Result<(SessionRecord, bool), EngineError> {
        let now = self.clock.now();
        let mut changed = false;
        let revoked = self
            .update(
                id,
                |record| {
                    changed = false;
                    if record.org_id != org {
                        return Err(EngineError::SessionNotFound);
                    }
                    if only_live && !record.is_live(now) {
                        return Ok(None);
                    }
                    match record.apply(Change::Revoke, now) {
                        Ok(next) => {
                            changed = true;
                            Ok(Some(next))
                        }
                        Err(_) => Ok(None),
                    }
                },
                EngineError::SessionNotFound,
                |record| record.revoked_at.is_some(),
            )
            .await?;
        Ok((revoked, changed))
    }

    /// Checks a link without consuming it: what showing the "open your portal" page needs. Mail
    /// scanners that prefetch links land here, and leave the link usable.
    ///
    /// # Errors
    ///
    /// [`EngineError::LinkUnknown`], [`EngineError::LinkUsed`], [`EngineError::LinkExpired`] or
    /// [`EngineError::LinkRevoked`]; store failures otherwise.
    pub async fn inspect(&self, link: &LinkToken) -> Result<SessionRecord, EngineError> {
        self.inspect_or_refuse(link)
            .await
            .map_err(|refusal| refusal.error)
    }

    /// [`inspect`](Self::inspect), whose refusal carries the session it was decided on when the
    /// link is genuine: what a page that explains why a link no longer works needs (its
    /// organisation's branding, its locale, its lifetime), without reading the session again.
    ///
    /// # Errors
    ///
    /// As [`inspect`](Self::inspect), in a [`LinkRefusal`].
    pub async fn inspect_or_refuse(&self, link: &LinkToken) -> Result<SessionRecord, LinkRefusal> {
        let now = self.clock.now();
        let record = self
            .store
            .get(&link.session_id())
            .await
            .map_err(|error| LinkRefusal::without_session(error.into()))?
            .ok_or(LinkRefusal::without_session(EngineError::LinkUnknown))?;
        match record.check_link(&link.secret_hash(), now) {
            Ok(()) => Ok(record),
            Err(rejection) => Err(LinkRefusal::of(rejection, record)),
        }
    }

    /// The session of a genuine link (its verifier matches), whatever the session's state: what a
    /// page that explains why a link no longer works needs (the organisation's branding, the return
    /// URL). `None` for a link that names no session or whose verifier is wrong.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn link_session(
        &self,
        link: &LinkToken,
    ) -> Result<Option<SessionRecord>, EngineError> {
        let record = self.store.get(&link.session_id()).await?;
        Ok(record.filter(|record| record.verifier_hash.matches(&link.secret_hash())))
    }

    /// The session of a genuine viewer token (the session's current viewer), even when the session
    /// is revoked or expired: what the "session ended" page needs to be branded. `None` for a forged
    /// or logged-out viewer token.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn viewer_session(
        &self,
        viewer: &ViewerToken,
    ) -> Result<Option<SessionRecord>, EngineError> {
        let record = self.store.get(&viewer.session_id()).await?;
        let hash = viewer.secret_hash();
        Ok(record.filter(|record| {
            record
                .viewer_hash
                .as_ref()
                .is_some_and(|stored| stored.matches(&hash))
        }))
    }

    /// Consumes a link: records who redeemed it and mints the viewer token. Exactly one redeem of a
    /// link ever succeeds, however many race, on however many engines share the store.
    ///
    /// # Errors
    ///
    /// As [`inspect`](Self::inspect); a link that loses a race reads [`EngineError::LinkUsed`].
    pub async fn redeem(
        &self,
        link: &LinkToken,
        client: ClientInfo,
    ) -> Result<Redemption, EngineError> {
        self.redeem_or_refuse(link, client)
            .await
            .map_err(|refusal| refusal.error)
    }

    /// [`redeem`](Self::redeem), whose refusal carries the session it was decided on when the link
    /// is genuine (see [`inspect_or_refuse`](Self::inspect_or_refuse)).
    ///
    /// # Errors
    ///
    /// As [`redeem`](Self::redeem), in a [`LinkRefusal`].
    pub async fn redeem_or_refuse(
        &self,
        link: &LinkToken,
        client: ClientInfo,
    ) -> Result<Redemption, LinkRefusal> {
        let mut decided_on = None;
        let redeemed = self.redeem_deciding(link, client, &mut decided_on).await;
        redeemed.map_err(|error| LinkRefusal {
            session: decided_on.filter(|_| error.is_link_state()),
            error,
        })
    }

    /// The redeem; `decided_on` is left holding the record a refusal was decided on.
    async fn redeem_deciding(
        &self,
        link: &LinkToken,
        client: ClientInfo,
        decided_on: &mut Option<SessionRecord>,
    ) -> Result<Redemption, EngineError> {
        let now = self.clock.now();
        let id = link.session_id();
        let verifier = link.secret_hash();
        let viewer = ViewerToken::generate(id).map_err(EngineError::Token)?;
        let viewer_hash = viewer.secret_hash();
        let record = self
            .update(
                &id,
                |record| {
                    let change = Change::Redeem {
                        verifier,
                        viewer: viewer_hash,
                        client: client.clone(),
                    };
                    record.apply(change, now).map(Some).map_err(|rejection| {
                        *decided_on = Some(record.clone());
                        EngineError::from_link_rejection(rejection)
                    })
                },
                EngineError::LinkUnknown,
                // Only this call knows the viewer secret: its hash in the store proves the win.
                |record| {
                    record
                        .viewer_hash
                        .as_ref()
                        .is_some_and(|stored| stored.matches(&viewer_hash))
                },
            )
            .await?;
        tracing::info!(session = %id, org = %record.org_id, "portal link redeemed");
        Ok(Redemption { record, viewer })
    }

    /// Checks a viewer token against the store: the per-request check of the portal. Revocation and
    /// expiry take effect on the very next request.
    ///
    /// # Errors
    ///
    /// [`EngineError::ViewerRejected`] for a forged, logged-out, revoked or expired viewer; store
    /// failures otherwise.
    pub async fn authenticate(&self, viewer: &ViewerToken) -> Result<SessionRecord, EngineError> {
        let now = self.clock.now();
        let record = self
            .store
            .get(&viewer.session_id())
            .await?
            .ok_or(EngineError::ViewerRejected(Rejection::WrongSecret))?;
        record
            .check_viewer(&viewer.secret_hash(), now)
            .map_err(EngineError::ViewerRejected)?;
        Ok(record)
    }

    /// Ends the portal opened with `viewer`. The session stays redeemed, so its link stays used.
    ///
    /// # Errors
    ///
    /// [`EngineError::ViewerRejected`] when the viewer token does not open a portal; store failures
    /// otherwise.
    pub async fn logout(&self, viewer: &ViewerToken) -> Result<(), EngineError> {
        let now = self.clock.now();
        let hash = viewer.secret_hash();
        self.update(
            &viewer.session_id(),
            |record| {
                record
                    .apply(Change::Logout { viewer: hash }, now)
                    .map(Some)
                    .map_err(EngineError::ViewerRejected)
            },
            EngineError::ViewerRejected(Rejection::WrongSecret),
            |record| {
                !record
                    .viewer_hash
                    .as_ref()
                    .is_some_and(|stored| stored.matches(&hash))
            },
        )
        .await?;
        Ok(())
    }

    /// Deletes every session that expired `grace` or longer ago; returns how many.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn purge_expired(&self, grace: Duration) -> Result<u64, EngineError> {
        let before = self
            .clock
            .now()
            .checked_sub(grace)
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let purged = self.store.purge_expired(before).await?;
        tracing::debug!(purged, "expired portal sessions purged");
        Ok(purged)
    }

    /// The load → decide → compare-and-swap loop shared by every change.
    ///
    /// `decide` sees the current record and returns the next one, `None` for "nothing to change"
    /// (the operation succeeds with the current record), or an error. A lost race re-reads and
    /// decides again.
    ///
    /// A swap that fails with a store error may still have committed (the connection died between
    /// the commit and its reply). The record is then read back, and `settled` says whether what it
    /// holds is this change's doing: if so the change succeeded, and the caller hears so instead of
    /// an error for something that happened.
    async fn update<F, D>(
        &self,
        id: &SessionId,
        mut decide: F,
        missing: EngineError,
        settled: D,
    ) -> Result<SessionRecord, EngineError>
    where
        F: FnMut(&SessionRecord) -> Result<Option<SessionRecord>, EngineError> + Send,
        D: Fn(&SessionRecord) -> bool + Send,
    {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(current) = self.store.get(id).await? else {
                return Err(missing);
            };
            let Some(next) = decide(&current)? else {
                return Ok(current);
            };
            // With a listener, the swap and its announcement are one step for this session, so a
            // later change of it is announced after this one.
            let _announcing = match &self.announcer {
                Some(announcer) => announcer.order(id).await,
                None => None,
            };
            match self.store.compare_and_swap(current.version, &next).await {
                Ok(CasOutcome::Swapped) => {
                    if let Some(announcer) = &self.announcer {
                        announcer.announce(Some(&current), &next);
                    }
                    return Ok(next);
                }
                Ok(CasOutcome::Conflict) => {
                    tracing::debug!(session = %id, "lost a compare-and-swap race, re-reading");
                }
                Err(error) => {
                    return match self.read_back(id, &error).await {
                        Some(stored) if stored.version > current.version && settled(&stored) => {
                            tracing::info!(session = %id, "a change's lost reply was settled by reading back");
                            if let Some(announcer) = &self.announcer {
                                announcer.announce(Some(&current), &stored);
                            }
                            Ok(stored)
                        }
                        _ => Err(error.into()),
                    };
                }
            }
        }
        Err(EngineError::Contention)
    }

    /// The record as it now is, after a write failed with `error`; `None` when it cannot be read
    /// either (then the write's outcome stays unknown, and `error` is the answer), and `None` from a
    /// store whose reads may show writes that are not durable
    /// ([`WriteVisibility::BeforeDurable`]): there, finding the write proves it was applied, not
    /// that it will survive a crash, so the failure stands.
    async fn read_back(&self, id: &SessionId, error: &StoreError) -> Option<SessionRecord> {
        if self.store.write_visibility() == WriteVisibility::BeforeDurable {
            tracing::debug!(session = %id, error = %crate::ErrorChain(error), "a write's durable step failed; not reading back");
            return None;
        }
        tracing::debug!(session = %id, error = %crate::ErrorChain(error), "a write failed; reading back");
        self.store.get(id).await.ok().flatten()
    }
}
