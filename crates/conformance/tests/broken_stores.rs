//! The suite must catch broken stores. A deliberately naive store passes it when it has no bug, and
//! fails the named checks with each bug switched on: that is the evidence that the checks can fail.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use portal_sessions::{
    CasOutcome, DurableStepFault, ListQuery, SessionId, SessionRecord, SessionStore, StoreError,
    Timestamp, WriteVisibility, list_order_key,
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
    /// After a failed durable step, the store goes on reading and writing as if nothing happened.
    stays_open_after_failure: bool,
    /// The store says a read proves durability, though it applies a write before its durable step.
    claims_reads_prove_durability: bool,
}

/// The simplest store there is: one mutex over one map, lists by full scan. Its "durable step"
/// comes after a write is applied, and fails when its fault is armed; it then fails closed.
#[derive(Default)]
struct NaiveStore {
    records: Mutex<HashMap<SessionId, SessionRecord>>,
    bugs: Bugs,
    fault: DurableStepFault,
    failed: AtomicBool,
}

impl NaiveStore {
    fn with(bugs: Bugs) -> NaiveStore {
        NaiveStore {
            bugs,
            ..NaiveStore::default()
        }
    }

    fn failed_closed(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::SeqCst) && !self.bugs.stays_open_after_failure {
            return Err(StoreError::Unavailable("failed closed".into()));
        }
        Ok(())
    }

    /// The durable step of a write already applied.
    fn durable_step(&self) -> Result<(), StoreError> {
        if self.fault.take() {
            self.failed.store(true, Ordering::SeqCst);
            return Err(StoreError::Unavailable("the durable step failed".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for NaiveStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.failed_closed()?;
        let mut records = self.records.lock();
        if records.contains_key(&record.id) && !self.bugs.overwrite_on_insert {
            return Err(StoreError::Duplicate);
        }
        records.insert(record.id, record.clone());
        self.durable_step()
    }

    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.failed_closed()?;
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
        self.failed_closed()?;
        let mut records = self.records.lock();
        match records.get_mut(&next.id) {
            Some(stored) if stored.version == expected_version || self.bugs.cas_ignores_version => {
                *stored = next.clone();
                self.durable_step()?;
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

    fn write_visibility(&self) -> WriteVisibility {
        if self.bugs.claims_reads_prove_durability {
            WriteVisibility::DurableOnly
        } else {
            WriteVisibility::BeforeDurable
        }
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        self.failed_closed()
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
    assert!(passes(ok, failed_durable_steps).await);
    assert!(passes(ok, suite::lost_write_replies_are_settled_by_reading_back).await);
}

/// The durability check, with the naive store's own fault.
async fn failed_durable_steps(store: Arc<NaiveStore>) {
    let fault = store.fault.clone();
    suite::failed_durable_steps_are_never_acknowledged(store, Some(fault)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_acknowledges_writes_that_are_not_durable_is_caught() {
    // It claims that reads prove durability, so the engine settles the failed write by reading
    // it back; after a crash the redeemed link would open again.
    let lies = Bugs {
        claims_reads_prove_durability: true,
        stays_open_after_failure: true,
        ..Bugs::default()
    };
    assert!(!passes(lies, failed_durable_steps).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_goes_on_after_a_failed_durable_step_is_caught() {
    let bugs = Bugs {
        stays_open_after_failure: true,
        ..Bugs::default()
    };
    assert!(!passes(bugs, failed_durable_steps).await);
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
