//! The HTTP API with arbitrary JSON bodies and query strings (creates, lists and customer-wide
//! revocations, over a store that holds one live session): every answer is 2xx or 4xx (never a
//! 5xx, never a panic), and a refused request changes nothing.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use portal_sessions::{
    CreateRequest, CustomerId, CustomerSnapshot, Engine, ListFilter, ListQuery, OrgId,
    SessionStore, StaticDirectory,
};
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_memory::MemoryStore;
use tower::ServiceExt;

const KEY: &str = "mf_sk_test_fuzz_0123456789";

fn org() -> OrgId {
    OrgId::from_bytes([0xF0; 16])
}

/// A fresh app per input, so that inputs do not see each other's sessions, holding one live
/// session that a wrongly accepted `invalidateExisting` or revocation would revoke.
fn app() -> (Router, Arc<MemoryStore>, Arc<Engine<Arc<MemoryStore>>>) {
    let store = Arc::new(MemoryStore::new());
    let mut directory = StaticDirectory::default();
    let customer = CustomerSnapshot {
        id: CustomerId::from_bytes([0xF1; 16]),
        external_id: "fuzz-1".into(),
        name: "Fuzz".into(),
        email: None,
        locale: None,
    };
    directory
        .insert(org(), customer)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut keys = StaticApiKeys::default();
    keys.add_secret(KEY, org());
    let engine = Arc::new(Engine::new(store.clone(), directory));
    (
        PortalService::new(engine.clone(), keys, StaticPortalData::default()).router(),
        store,
        engine,
    )
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (router, store, engine) = app();
    let (selector, rest) = data.split_first().unwrap_or((&0, &[]));
    runtime().block_on(async {
        engine
            .create(org(), CreateRequest::for_external_id("fuzz-1"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let query = ListQuery {
            max_lifetime: portal_sessions::MAX_TTL,
            org_id: org(),
            customer_id: None,
            limit: 100,
            filter: ListFilter::All,
            after: None,
        };
        let before = store.list(&query).await.unwrap_or_else(|e| panic!("{e}"));
        let query_string = || -> String {
            String::from_utf8_lossy(rest)
                .chars()
                .filter(|c| !c.is_control() && *c != ' ' && *c != '#')
                .collect()
        };
        let request = match selector % 3 {
            0 => Request::post("/v1/portal-sessions")
                .header("x-api-key", KEY)
                .header("content-type", "application/json")
                .body(Body::from(rest.to_vec())),
            1 => Request::get(format!("/v1/portal-sessions?{}", query_string()))
                .header("x-api-key", KEY)
                .body(Body::empty()),
            _ => Request::delete(format!("/v1/portal-sessions?{}", query_string()))
                .header("x-api-key", KEY)
                .body(Body::empty()),
        };
        let Ok(request) = request else { return };
        let response = match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        assert!((200..500).contains(&status), "status {status}");
        let after = store.list(&query).await.unwrap_or_else(|e| panic!("{e}"));
        if !(200..300).contains(&status) {
            assert_eq!(before, after, "a refused request changed the store");
        }
    });
});
