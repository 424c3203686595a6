//! Mounting the portal in your own axum app, with your own API keys and your own billing data.
//!
//! `cargo run -p portal-sessions-axum --example embed`, then:
//!
//! ```sh
//! curl -s -X POST http://127.0.0.1:3000/v1/portal-sessions -H 'x-api-key: mf_sk_live_example_4c1d9e' \
//!   -H 'Content-Type: application/json' -d '{"customerExternalId": "cust-42"}'
//! ```
//!
//! and open the returned `url`. The app's own routes (`/`) live beside the portal's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::routing::get;
use portal_sessions::{CustomerSnapshot, Engine, OrgId, StaticDirectory};
use portal_sessions_axum::{
    ApiKeys, Branding, CustomerBilling, Invoice, KeyLookup, PortalData, PortalDataError,
    PortalService, UsageLine,
};
use portal_sessions_memory::MemoryStore;

/// Your key store: here, digests of issued keys, as a real one would keep them in its database.
struct MyKeys {
    by_digest: HashMap<[u8; 32], OrgId>,
}

impl MyKeys {
    fn digest(key: &str) -> [u8; 32] {
        blake3::derive_key("my-app api keys", key.as_bytes())
    }
}

impl ApiKeys for MyKeys {
    fn lookup(&self, key: &str) -> KeyLookup {
        if key.starts_with("mf_pk_") {
            return KeyLookup::Publishable;
        }
        match self.by_digest.get(&Self::digest(key)) {
            Some(org) => KeyLookup::Secret(*org),
            None => KeyLookup::Unknown,
        }
    }
}

/// Your billing system: here, orders in memory, turned into invoices and usage on each request.
struct MyBilling {
    orders: HashMap<String, Vec<(String, i64)>>,
}

#[async_trait]
impl PortalData for MyBilling {
    async fn branding(&self, _org: OrgId) -> Result<Option<Branding>, PortalDataError> {
        Ok(Some(Branding {
            name: "Example SaaS".into(),
            logo_url: None,
            brand_color: Some("#b45309".into()),
        }))
    }

    async fn billing(
        &self,
        _org: OrgId,
        customer: &CustomerSnapshot,
    ) -> Result<CustomerBilling, PortalDataError> {
        let orders = self
            .orders
            .get(&customer.external_id)
            .cloned()
            .unwrap_or_default();
        Ok(CustomerBilling {
            subscription: None,
            invoices: orders
                .iter()
                .enumerate()
                .map(|(i, (month, cents))| Invoice {
                    number: format!("EX-{:04}", i + 1),
                    issued_on: format!("{month}-01"),
                    amount_cents: *cents,
                    currency: "USD".into(),
                    status: if i + 1 == orders.len() {
                        "open"
                    } else {
                        "paid"
                    }
                    .into(),
                })
                .rev()
                .collect(),
            usage: vec![UsageLine {
                metric: "Orders".into(),
                quantity: i64::try_from(orders.len()).unwrap_or(i64::MAX),
                unit: "orders".into(),
                period: "2026".into(),
            }],
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let org: OrgId = "9b2f6a4e-1c3d-4e5f-8a7b-6c5d4e3f2a1b".parse()?;
    let mut customers = StaticDirectory::default();
    customers.insert(
        org,
        CustomerSnapshot {
            id: "0d6f1a2b-3c4d-4e5f-9a8b-7c6d5e4f3a2b".parse()?,
            external_id: "cust-42".into(),
            name: "Forty-Two Ltd".into(),
            email: Some("ap@fortytwo.test".into()),
        },
    )?;
    let keys = MyKeys {
        by_digest: HashMap::from([(MyKeys::digest("mf_sk_live_example_4c1d9e"), org)]),
    };
    let billing = MyBilling {
        orders: HashMap::from([(
            "cust-42".to_owned(),
            vec![
                ("2026-09".into(), 1_900),
                ("2026-10".into(), 2_450),
                ("2026-11".into(), 3_100),
            ],
        )]),
    };
    let engine = Arc::new(Engine::new(MemoryStore::new(), customers));
    let portal = PortalService::new(engine, keys, billing).public_url("http://127.0.0.1:3000");
    let app = Router::new()
        .route("/", get(|| async { "my app's own home page" }))
        .merge(portal.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
