//! Builders for the records, customers and engines the suite works with.

use std::sync::Arc;
use std::time::Duration;

use portal_sessions::{
    ClientInfo, CustomerId, CustomerSnapshot, Engine, Features, LinkToken, ManualClock, MintedBy,
    OrgId, SessionRecord, SessionStore, StaticDirectory, Timestamp,
};

/// The instant the suite's manual clocks start at: 2026-05-13T16:30:00.000Z.
pub fn start_time() -> Timestamp {
    Timestamp::from_millis(1_778_689_800_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `t` plus `ms` milliseconds.
pub fn plus_ms(t: Timestamp, ms: u64) -> Timestamp {
    t.checked_add(Duration::from_millis(ms))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A fresh organisation id (random, so suites can share one database).
pub fn new_org() -> OrgId {
    OrgId::from_bytes(*fresh_id().as_bytes())
}

/// A fresh customer snapshot with the given name, no email.
pub fn new_customer(name: &str) -> CustomerSnapshot {
    let id = CustomerId::from_bytes(*fresh_id().as_bytes());
    CustomerSnapshot {
        id,
        external_id: format!("ext-{id}"),
        name: name.to_owned(),
        email: None,
        locale: None,
    }
}

fn fresh_id() -> portal_sessions::SessionId {
    match portal_sessions::SessionId::generate() {
        Ok(id) => id,
        Err(error) => panic!("the OS random number generator failed: {error}"),
    }
}

/// A fresh link token.
pub fn new_link() -> LinkToken {
    match LinkToken::generate() {
        Ok(link) => link,
        Err(error) => panic!("the OS random number generator failed: {error}"),
    }
}

/// An issued record for `customer` of `org`, created at `created_at`, living one hour, with its link.
pub fn issued_record(
    org: OrgId,
    customer: &CustomerSnapshot,
    created_at: Timestamp,
) -> (SessionRecord, LinkToken) {
    let link = new_link();
    let record = SessionRecord {
        id: link.session_id(),
        org_id: org,
        customer: Arc::new(customer.clone()),
        features: Features::ALL,
        return_url: None,
        locale: None,
        verifier_hash: link.secret_hash(),
        viewer_hash: None,
        created_at,
        expires_at: plus_ms(created_at, 3_600_000),
        used_at: None,
        revoked_at: None,
        logged_out_at: None,
        redeemed_by: None,
        recovery: true,
        recovery_ended_at: None,
        minted_by: MintedBy::Api,
        chain_started_at: created_at,
        deep_link: None,
        version: 0,
    };
    (record, link)
}

/// The record as a redeem at `at` would leave it (version bumped).
pub fn redeemed(record: &SessionRecord, at: Timestamp) -> SessionRecord {
    let viewer = match portal_sessions::ViewerToken::generate(record.id) {
        Ok(viewer) => viewer,
        Err(error) => panic!("the OS random number generator failed: {error}"),
    };
    SessionRecord {
        used_at: Some(at),
        viewer_hash: Some(viewer.secret_hash()),
        redeemed_by: Some(ClientInfo::new(
            Some(
                "203.0.113.9"
                    .parse()
                    .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
            ),
            Some("Mozilla/5.0 (conformance)"),
        )),
        version: record.version + 1,
        ..record.clone()
    }
}

/// An organisation with customers, an engine over a shared store, and the clock that drives it.
pub struct EngineFixture<S: SessionStore> {
    /// The engine, over the store under test.
    pub engine: Arc<Engine<Arc<S>>>,
    /// The engine's clock, starting at [`start_time`].
    pub clock: ManualClock,
    /// The organisation the customers belong to.
    pub org: OrgId,
    /// A second organisation, with a customer of its own.
    pub other_org: OrgId,
    /// Customers of `org`: the first has a unicode name and an email, the others neither.
    pub customers: Vec<CustomerSnapshot>,
    /// The customer of `other_org`.
    pub other_customer: CustomerSnapshot,
}

impl<S: SessionStore> EngineFixture<S> {
    /// A fixture over `store` with three customers in one organisation and one in another.
    pub fn new(store: Arc<S>) -> EngineFixture<S> {
        let org = new_org();
        let other_org = new_org();
        let mut first = new_customer("Acme Corp — Zürich 株式会社 🚀");
        first.email = Some("billing@acme.test".into());
        let customers = vec![first, new_customer("Globex"), new_customer("Initech")];
        let other_customer = new_customer("Umbrella");
        let mut directory = StaticDirectory::default();
        for customer in &customers {
            if let Err(error) = directory.insert(org, customer.clone()) {
                panic!("fixture directory: {error}");
            }
        }
        if let Err(error) = directory.insert(other_org, other_customer.clone()) {
            panic!("fixture directory: {error}");
        }
        let clock = ManualClock::new(start_time());
        let engine = Engine::new(store, directory).with_clock(clock.clone());
        EngineFixture {
            engine: Arc::new(engine),
            clock,
            org,
            other_org,
            customers,
            other_customer,
        }
    }
}

/// Whether a [`LosesReplies`] store carries out the write whose reply it loses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The write commits, then the caller sees [`StoreError::Unavailable`](portal_sessions::StoreError):
    /// a connection that died between the server's commit and the client's read.
    AfterCommit,
    /// The write never happens, and the caller sees the same error: a connection that died first.
    BeforeCommit,
}

/// The store under test, except that the next insert and the next compare-and-swap each fail with
/// [`StoreError::Unavailable`](portal_sessions::StoreError), after or before they commit (see
/// [`Loss`]). Every later write goes through untouched.
pub struct LosesReplies<S> {
    store: Arc<S>,
    loss: Loss,
    insert_armed: std::sync::atomic::AtomicBool,
    swap_armed: std::sync::atomic::AtomicBool,
}

impl<S> LosesReplies<S> {
    /// Wraps `store`.
    pub fn new(store: Arc<S>, loss: Loss) -> LosesReplies<S> {
        LosesReplies {
            store,
            loss,
            insert_armed: std::sync::atomic::AtomicBool::new(true),
            swap_armed: std::sync::atomic::AtomicBool::new(true),
        }
    }

    fn lost() -> portal_sessions::StoreError {
        portal_sessions::StoreError::Unavailable("the connection died around the write".into())
    }
}

#[async_trait::async_trait]
impl<S: SessionStore> SessionStore for LosesReplies<S> {
    async fn insert(
        &self,
        record: &portal_sessions::SessionRecord,
    ) -> Result<(), portal_sessions::StoreError> {
        if !self
            .insert_armed
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return self.store.insert(record).await;
        }
        if self.loss == Loss::AfterCommit {
            self.store.insert(record).await?;
        }
        Err(Self::lost())
    }

    async fn get(
        &self,
        id: &portal_sessions::SessionId,
    ) -> Result<Option<portal_sessions::SessionRecord>, portal_sessions::StoreError> {
        self.store.get(id).await
    }

    async fn list(
        &self,
        query: &portal_sessions::ListQuery,
    ) -> Result<Vec<portal_sessions::SessionRecord>, portal_sessions::StoreError> {
        self.store.list(query).await
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &portal_sessions::SessionRecord,
    ) -> Result<portal_sessions::CasOutcome, portal_sessions::StoreError> {
        if !self
            .swap_armed
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return self.store.compare_and_swap(expected_version, next).await;
        }
        if self.loss == Loss::AfterCommit {
            let outcome = self.store.compare_and_swap(expected_version, next).await?;
            if outcome == portal_sessions::CasOutcome::Conflict {
                return Ok(outcome);
            }
        }
        Err(Self::lost())
    }

    async fn purge_expired(
        &self,
        before: portal_sessions::Timestamp,
    ) -> Result<u64, portal_sessions::StoreError> {
        self.store.purge_expired(before).await
    }

    fn clock(&self) -> Option<Arc<dyn portal_sessions::Clock>> {
        self.store.clock()
    }

    fn write_visibility(&self) -> portal_sessions::WriteVisibility {
        self.store.write_visibility()
    }

    async fn check_writable(&self) -> Result<(), portal_sessions::StoreError> {
        self.store.check_writable().await
    }
}

/// The store under test, except that right after the first [`list`](SessionStore::list) it is
/// asked, it redeems the link given to [`arm`](Self::arm), directly in the store (as another
/// instance would): a redeem that lands in the middle of whatever is listing, deterministically.
pub struct RedeemsAfterFirstList<S> {
    store: Arc<S>,
    slot: std::sync::Mutex<Option<LinkToken>>,
}

impl<S> RedeemsAfterFirstList<S> {
    /// Wraps `store`, with no link armed.
    pub fn new(store: Arc<S>) -> RedeemsAfterFirstList<S> {
        RedeemsAfterFirstList {
            store,
            slot: std::sync::Mutex::new(None),
        }
    }

    /// Arms the wrapper: the next list is followed by a redeem of `link`.
    pub fn arm(&self, link: LinkToken) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(link);
        }
    }
}

#[async_trait::async_trait]
impl<S: SessionStore> SessionStore for RedeemsAfterFirstList<S> {
    async fn insert(&self, record: &SessionRecord) -> Result<(), portal_sessions::StoreError> {
        self.store.insert(record).await
    }

    async fn get(
        &self,
        id: &portal_sessions::SessionId,
    ) -> Result<Option<SessionRecord>, portal_sessions::StoreError> {
        self.store.get(id).await
    }

    async fn list(
        &self,
        query: &portal_sessions::ListQuery,
    ) -> Result<Vec<SessionRecord>, portal_sessions::StoreError> {
        let listed = self.store.list(query).await?;
        let armed = self.slot.lock().ok().and_then(|mut slot| slot.take());
        if let Some(link) = armed {
            let Some(record) = self.store.get(&link.session_id()).await? else {
                panic!("the armed link names no session");
            };
            let viewer = match portal_sessions::ViewerToken::generate(record.id) {
                Ok(viewer) => viewer,
                Err(error) => panic!("{error}"),
            };
            let change = portal_sessions::Change::Redeem {
                verifier: link.secret_hash(),
                viewer: viewer.secret_hash(),
                client: ClientInfo::default(),
            };
            let next = match record.apply(change, plus_ms(record.created_at, 1)) {
                Ok(next) => next,
                Err(rejection) => panic!("the armed link cannot be redeemed: {rejection}"),
            };
            let outcome = self.store.compare_and_swap(record.version, &next).await?;
            assert_eq!(outcome, portal_sessions::CasOutcome::Swapped);
        }
        Ok(listed)
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<portal_sessions::CasOutcome, portal_sessions::StoreError> {
        self.store.compare_and_swap(expected_version, next).await
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, portal_sessions::StoreError> {
        self.store.purge_expired(before).await
    }

    fn clock(&self) -> Option<Arc<dyn portal_sessions::Clock>> {
        self.store.clock()
    }

    fn write_visibility(&self) -> portal_sessions::WriteVisibility {
        self.store.write_visibility()
    }

    async fn check_writable(&self) -> Result<(), portal_sessions::StoreError> {
        self.store.check_writable().await
    }
}
