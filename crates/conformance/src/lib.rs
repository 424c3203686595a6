//! The behavioural contract of a portal-sessions [`SessionStore`](portal_sessions::SessionStore), and of the
//! [`Engine`](portal_sessions::Engine) over it, written once and run by every backend.
//!
//! Every check is a `pub async fn` that takes the store under test and panics, with a message that
//! says which promise was broken, when the store does not keep the contract (object_store's
//! `integration.rs` is the model). [`store_tests!`] turns the whole suite into `#[tokio::test]`s in a
//! backend's own test module:
//!
//! ```ignore
//! portal_sessions_conformance::store_tests!(portal_sessions_memory::MemoryStore::new());
//! ```
//!
//! A backend that needs setup and teardown per test (a PostgreSQL schema, a temporary directory)
//! passes an async setup expression and a teardown function:
//!
//! ```ignore
//! portal_sessions_conformance::store_tests!(
//!     store = open_test_store().await,
//!     teardown = drop_test_store
//! );
//! ```
//!
//! Every organisation and customer the suite makes is random, so suites may share one database.
//!
//! [`model`] holds a second, randomised check: an operation sequence run against both the engine and
//! a plain in-memory model, comparing every answer.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod customers;
mod durability;
mod events;
pub mod fixture;
pub mod model;
mod recovery;
mod suite;

pub use customers::*;
pub use durability::*;
pub use events::*;
pub use recovery::*;
pub use suite::*;

/// Runs `check` on `store` in its own task, then `teardown`, then re-raises any panic of `check`.
///
/// This is what [`store_tests!`] expands to for each test; it is public so that backends can run a
/// single check the same way.
pub async fn run_check<S, C, F, T, TF>(store: S, check: C, teardown: T)
where
    S: portal_sessions::SessionStore,
    C: FnOnce(std::sync::Arc<S>) -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
    T: FnOnce(std::sync::Arc<S>) -> TF,
    TF: std::future::Future<Output = ()>,
{
    let store = std::sync::Arc::new(store);
    let outcome = tokio::spawn(check(store.clone())).await;
    teardown(store).await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("conformance check was cancelled: {error}"),
        }
    }
}

/// A teardown that does nothing, for stores that need none.
pub async fn no_teardown<S>(_store: std::sync::Arc<S>) {}

/// Expands to one `#[tokio::test]` per conformance check, each against a fresh store.
///
/// `store_tests!(EXPR)` evaluates `EXPR` (which may `.await`) once per test for a fresh store;
/// `store_tests!(store = EXPR, teardown = PATH)` also calls `PATH(Arc<Store>).await` after each test,
/// whether it passed or not. A store whose reads may show writes before they are durable
/// ([`WriteVisibility::BeforeDurable`](portal_sessions::WriteVisibility)) adds
/// `durable_step_fault = PATH`, a `fn(&Store) -> Option<DurableStepFault>` that gives the fault the
/// store was opened with (see [`failed_durable_steps_are_never_acknowledged`]).
#[macro_export]
macro_rules! store_tests {
    (store = $store:expr, teardown = $teardown:path, durable_step_fault = $fault:path $(,)?) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn failed_durable_steps_are_never_acknowledged() {
            let store = $store;
            let fault = $fault(&store);
            $crate::run_check(
                store,
                move |store| $crate::failed_durable_steps_are_never_acknowledged(store, fault),
                $teardown,
            )
            .await;
        }
        $crate::store_tests!(@each $store, $teardown;
            round_trips_every_field,
            insert_is_insert_if_absent,
            compare_and_swap_wins_once,
            racing_compare_and_swaps_have_one_winner,
            racing_redeems_have_one_winner,
            redeem_racing_revoke_never_both_win,
            list_orders_limits_filters_and_isolates,
            engine_list_matches_its_options,
            expiry_is_decided_to_the_millisecond,
            revoke_ends_the_viewer_and_is_idempotent,
            links_are_inspected_without_being_consumed,
            unknown_and_forged_links_change_nothing,
            bad_create_requests_change_nothing,
            logout_ends_the_viewer_only,
            purge_removes_only_expired_sessions,
            list_cost_does_not_grow_with_sessions,
            random_operation_sequences_match_the_model,
            lost_write_replies_are_settled_by_reading_back,
            engine_lists_by_status,
            cursor_pages_list_every_session_once,
            customer_revocation_races_redeems,
            create_replaces_and_shortens,
            recovery_mints_a_new_link_within_its_window_and_limit,
            customer_revocation_ends_recovery,
            listeners_hear_committed_changes_in_order,
            the_event_feed_hands_out_every_committed_event,
            racing_claims_take_each_session_once,
        );
    };
    (store = $store:expr, teardown = $teardown:path $(,)?) => {
        $crate::store_tests!(
            store = $store,
            teardown = $teardown,
            durable_step_fault = $crate::no_durable_step_fault
        );
    };
    (store = $store:expr, durable_step_fault = $fault:path $(,)?) => {
        $crate::store_tests!(
            store = $store,
            teardown = $crate::no_teardown,
            durable_step_fault = $fault
        );
    };
    ($store:expr $(,)?) => {
        $crate::store_tests!(store = $store, teardown = $crate::no_teardown);
    };
    (@each $store:expr, $teardown:path; $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let store = $store;
                $crate::run_check(store, |store| $crate::$check(store), $teardown).await;
            }
        )*
    };
}

/// A store that owns a guard, dropped after the store: a temporary directory, say.
///
/// It implements [`SessionStore`](portal_sessions::SessionStore) by passing every call to `store`.
///
/// ```ignore
/// portal_sessions_conformance::store_tests!(Guarded::new(open_store(dir.path()), dir));
/// ```
pub struct Guarded<S, G> {
    /// The store under test.
    pub store: S,
    /// Dropped after `store`.
    pub guard: G,
}

impl<S, G> Guarded<S, G> {
    /// Wraps `store`, keeping `guard` alive as long as it.
    pub fn new(store: S, guard: G) -> Guarded<S, G> {
        Guarded { store, guard }
    }
}

/// Implements [`SessionStore`](portal_sessions::SessionStore) for a wrapper by passing every method
/// to its field `$field`, except `compare_and_swap`, whose body the caller gives (with names for the
/// wrapper, the expected version and the next record).
macro_rules! forward_store {
    (
        impl[$($generics:tt)*] for $wrapper:ty,
        field = $field:ident,
        swap = |$this:ident, $expected:ident, $next:ident| $swap:block
    ) => {
        #[async_trait::async_trait]
        impl<$($generics)*> portal_sessions::SessionStore for $wrapper {
            async fn insert(
                &self,
                record: &portal_sessions::SessionRecord,
            ) -> Result<(), portal_sessions::StoreError> {
                self.$field.insert(record).await
            }

            async fn get(
                &self,
                id: &portal_sessions::SessionId,
            ) -> Result<Option<portal_sessions::SessionRecord>, portal_sessions::StoreError> {
                self.$field.get(id).await
            }

            async fn list(
                &self,
                query: &portal_sessions::ListQuery,
            ) -> Result<Vec<portal_sessions::SessionRecord>, portal_sessions::StoreError> {
                self.$field.list(query).await
            }

            async fn compare_and_swap(
                &self,
                $expected: u64,
                $next: &portal_sessions::SessionRecord,
            ) -> Result<portal_sessions::CasOutcome, portal_sessions::StoreError> {
                let $this = self;
                $swap
            }

            async fn purge_expired(
                &self,
                before: portal_sessions::Timestamp,
            ) -> Result<u64, portal_sessions::StoreError> {
                self.$field.purge_expired(before).await
            }

            fn clock(&self) -> Option<std::sync::Arc<dyn portal_sessions::Clock>> {
                self.$field.clock()
            }

            fn event_feed(&self) -> Option<&dyn portal_sessions::EventFeed> {
                self.$field.event_feed()
            }

            fn write_visibility(&self) -> portal_sessions::WriteVisibility {
                self.$field.write_visibility()
            }

            async fn check_writable(&self) -> Result<(), portal_sessions::StoreError> {
                self.$field.check_writable().await
            }
        }
    };
}

forward_store! {
    impl[S: portal_sessions::SessionStore, G: Send + Sync + 'static] for Guarded<S, G>,
    field = store,
    swap = |this, expected_version, next| {
        this.store.compare_and_swap(expected_version, next).await
    }
}
