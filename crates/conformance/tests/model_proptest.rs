//! Random operation sequences, with shrinking, against the memory store and the plain model.

use std::sync::Arc;

use portal_sessions_conformance::fixture::start_time;
use portal_sessions_conformance::model::{Op, check_sequence};
use portal_sessions_memory::MemoryStore;
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (
            any::<u8>(),
            prop::bool::weighted(0.2),
            prop::option::weighted(0.3, 50u8..130),
            prop::bool::weighted(0.15),
        )
            .prop_map(|(customer, other_org, lifetime, invalidate_existing)| Op::Create {
                customer,
                other_org,
                lifetime,
                invalidate_existing,
            }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(customer, by_external_id)| {
            Op::RevokeCustomer { customer, by_external_id }
        }),
        1 => any::<u8>().prop_map(|session| Op::Inspect { session }),
        2 => any::<u8>().prop_map(|session| Op::Redeem { session }),
        1 => (any::<u8>(), prop::bool::weighted(0.2))
            .prop_map(|(session, wrong_org)| Op::Revoke { session, wrong_org }),
        2 => any::<u8>().prop_map(|session| Op::Authenticate { session }),
        1 => any::<u8>().prop_map(|session| Op::Logout { session }),
        2 => (
            prop::option::of(any::<u8>()),
            any::<bool>(),
            any::<u8>(),
            prop::option::weighted(0.5, any::<u8>()),
            prop::option::weighted(0.3, any::<u8>()),
        )
            .prop_map(|(customer, include_expired, limit, status, cursor)| Op::List {
                customer,
                include_expired,
                limit,
                status,
                cursor,
            }),
        1 => (0u16..60_000).prop_map(|grace_ms| Op::Purge { grace_ms }),
        2 => prop_oneof![0u16..5, 0u16..60_000].prop_map(|ms| Op::Advance { ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn engine_over_memory_store_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build();
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(error) => panic!("tokio runtime: {error}"),
        };
        runtime.block_on(check_sequence(Arc::new(MemoryStore::new()), &ops, start_time()));
    }
}
