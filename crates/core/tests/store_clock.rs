//! One clock per store: an engine reads the clock its store names, unless told otherwise.

use std::sync::Arc;

use portal_sessions::{
    CasOutcome, Clock, Engine, ListQuery, ManualClock, SessionId, SessionRecord, SessionStore,
    StaticDirectory, StoreError, Timestamp, async_trait,
};
use portal_sessions_memory::MemoryStore;

/// The memory store, with a clock of its own (as a shared database has).
struct WithClock {
    store: MemoryStore,
    clock: ManualClock,
}

#[async_trait]
impl SessionStore for WithClock {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.store.insert(record).await
    }
    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.store.get(id).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        self.store.list(query).await
    }
    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError> {
        self.store.compare_and_swap(expected_version, next).await
    }
    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.store.purge_expired(before).await
    }
    fn clock(&self) -> Option<Arc<dyn Clock>> {
        Some(Arc::new(self.clock.clone()))
    }
    fn write_visibility(&self) -> portal_sessions::WriteVisibility {
        self.store.write_visibility()
    }
    async fn check_writable(&self) -> Result<(), StoreError> {
        self.store.check_writable().await
    }
}

#[test]
fn the_engine_reads_its_stores_clock() {
    let at = Timestamp::from_millis(1_000_000_000_000).unwrap_or_else(|| panic!("range"));
    let clock = ManualClock::new(at);
    let store = WithClock {
        store: MemoryStore::new(),
        clock: clock.clone(),
    };
    let engine = Engine::new(Arc::new(store), StaticDirectory::default());
    assert_eq!(engine.now(), at, "through the Arc, the store's clock");
    clock.advance(std::time::Duration::from_secs(5));
    assert_eq!(engine.now().as_millis(), at.as_millis() + 5_000);
    let overridden = Engine::new(MemoryStore::new(), StaticDirectory::default())
        .with_clock(ManualClock::new(Timestamp::UNIX_EPOCH));
    assert_eq!(overridden.now(), Timestamp::UNIX_EPOCH);
}
