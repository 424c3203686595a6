//! The suite must catch broken stores. A deliberately naive store passes it when it has no bug, and
//! fails the named checks with each bug switched on: that is the evidence that the checks can fail.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use portal_sessions::{
    CasOutcome, ListQuery, SessionId, SessionRecord, SessionStore, StoreError, Timestamp,
    list_order_key,
};
use portal_sessions_conformance as suite;

#[derive(Debug, Clone, Copy, Default)]
struct Bugs {
    /// `insert` replaces an existing record instead of refusing.
    overwrite_on_insert: bool,
    /// `compare_and_swap` ignores the version, so two redeems can both win.
    cas_ignores_version: bool,
    /// `list` ignores the organisation.
    list_ignores_org: bool,
}

/// The simplest store there is: one mutex over one map, lists by full scan.
#[derive(Default)]
struct NaiveStore {
    records: Mutex<HashMap<SessionId, SessionRecord>>,
    bugs: Bugs,
}

impl NaiveStore {
    fn with(bugs: Bugs) -> NaiveStore {
        NaiveStore {
            records: Mutex::default(),
            bugs,
        }
    }
}

#[async_trait]
impl SessionStore for NaiveStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut records = self.records.lock();
        if records.contains_key(&record.id) && !self.bugs.overwrite_on_insert {
            return Err(StoreError::Duplicate);
        }
        records.insert(record.id, record.clone());
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let found = self.records.lock().get(id).cloned();
        // A real backend answers after a round trip; without one, racing tasks would run one after
        // another on this store and a missing version check could go unnoticed by the race checks.
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(found)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let records = self.records.lock();
        let mut found: Vec<SessionRecord> = records
            .values()
            .filter(|record| {
                let mut query = query.clone();
                if self.bugs.list_ignores_org {
                    query.org_id = record.org_id;
                }
                query.matches(record)
            })
            .cloned()
            .collect();
        found.sort_by_key(list_order_key);
        found.truncate(query.limit);
        Ok(found)
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        next: &SessionRecord,
    ) -> Result<CasOutcome, StoreError> {
        let mut records = self.records.lock();
        match records.get_mut(&next.id) {
            Some(stored) if stored.version == expected_version || self.bugs.cas_ignores_version => {
                *stored = next.clone();
                Ok(CasOutcome::Swapped)
            }
            _ => Ok(CasOutcome::Conflict),
        }
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut records = self.records.lock();
        let count = records.len();
        records.retain(|_, record| record.expires_at > before);
        Ok((count - records.len()) as u64)
    }
}

/// Runs one check against a store with `bugs`; true when it passed.
async fn passes<C, F>(bugs: Bugs, check: C) -> bool
where
    C: FnOnce(Arc<NaiveStore>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(check(Arc::new(NaiveStore::with(bugs))))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_naive_store_without_bugs_passes_the_checks_used_below() {
    let ok = Bugs::default();
    assert!(passes(ok, suite::insert_is_insert_if_absent).await);
    assert!(passes(ok, suite::compare_and_swap_wins_once).await);
    assert!(passes(ok, suite::racing_compare_and_swaps_have_one_winner).await);
    assert!(passes(ok, suite::racing_redeems_have_one_winner).await);
    assert!(passes(ok, suite::redeem_racing_revoke_never_both_win).await);
    assert!(passes(ok, suite::list_orders_limits_filters_and_isolates).await);
    assert!(passes(ok, suite::engine_list_matches_its_options).await);
    assert!(passes(ok, suite::round_trips_every_field).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_overwrites_on_insert_is_caught() {
    let bugs = Bugs {
        overwrite_on_insert: true,
        ..Bugs::default()
    };
    assert!(!passes(bugs, suite::insert_is_insert_if_absent).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_lets_two_redeems_win_is_caught() {
    let bugs = Bugs {
        cas_ignores_version: true,
        ..Bugs::default()
    };
    assert!(!passes(bugs, suite::compare_and_swap_wins_once).await);
    assert!(!passes(bugs, suite::racing_compare_and_swaps_have_one_winner).await);
    assert!(!passes(bugs, suite::racing_redeems_have_one_winner).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_shows_another_orgs_sessions_is_caught() {
    let bugs = Bugs {
        list_ignores_org: true,
        ..Bugs::default()
    };
    assert!(!passes(bugs, suite::list_orders_limits_filters_and_isolates).await);
    assert!(!passes(bugs, suite::engine_list_matches_its_options).await);
}
