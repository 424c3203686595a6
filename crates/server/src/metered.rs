//! [`MeteredStore`]: the session store, timed and its errors counted, for `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use portal_sessions::{
    CasOutcome, Clock, EventFeed, ListQuery, SessionId, SessionRecord, SessionStore, StoreError,
    Timestamp, WriteVisibility,
};

use crate::metrics::Metrics;

/// A store that passes every call to the one it wraps and records how long it took and whether it
/// failed. The store's clock, event feed and write visibility are the wrapped store's own.
pub(crate) struct MeteredStore {
    store: Arc<dyn SessionStore>,
    metrics: Metrics,
}

impl MeteredStore {
    pub(crate) fn new(store: Arc<dyn SessionStore>, metrics: Metrics) -> MeteredStore {
        MeteredStore { store, metrics }
    }

    fn record<T>(&self, operation: &'static str, started: Instant, result: &Result<T, StoreError>) {
        self.metrics.store_operation(
            operation,
            started.elapsed().as_secs_f64(),
            result.as_ref().err(),
        );
    }
}

#[async_trait]
impl SessionStore for MeteredStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.store.insert(record).await;
        self.record("insert", started, &result);
        result
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let started = Instant::now();
        let result = self.store.get(id).await;
        self.record("get", started, &result);
        result
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let started = Instant::now();
        let result = self.store.list(query).await;
        self.record("list", started, &result);
        result
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError> {
        let started = Instant::now();
        let result = self.store.compare_and_swap(expected_version, next).await;
        self.record("compare_and_swap", started, &result);
        result
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let started = Instant::now();
        let result = self.store.purge_expired(before).await;
        self.record("purge_expired", started, &result);
        result
    }

    fn clock(&self) -> Option<Arc<dyn Clock>> {
        self.store.clock()
    }

    fn event_feed(&self) -> Option<&dyn EventFeed> {
        self.store.event_feed()
    }

    fn write_visibility(&self) -> WriteVisibility {
        self.store.write_visibility()
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.store.check_writable().await;
        self.record("check_writable", started, &result);
        result
    }
}
