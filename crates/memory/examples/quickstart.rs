//! Mints a portal link, opens it, views the portal, and revokes it, printing each step.
//!
//! Run it with `cargo run --example quickstart`.

use std::error::Error;

use portal_sessions::{
    ClientInfo, CreateRequest, CustomerId, CustomerSnapshot, Engine, EngineError, OrgId,
    StaticDirectory,
};
use portal_sessions_memory::MemoryStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let org: OrgId = "3f1c2a9e-4b7d-4e21-9a55-0c6d8e7f1a23".parse()?;
    let customer: CustomerId = "550e8400-e29b-41d4-a716-446655440000".parse()?;
    let mut directory = StaticDirectory::default();
    directory.insert(
        org,
        CustomerSnapshot {
            id: customer,
            external_id: "acme-001".into(),
            name: "Acme Corp".into(),
            email: Some("billing@acme.test".into()),
            locale: None,
        },
    )?;
    let engine = Engine::new(MemoryStore::new(), directory);

    println!("1. mint a link for customer acme-001");
    let created = engine
        .create(
            org,
            CreateRequest::for_external_id("acme-001")
                .with_return_url("https://your-app.example/billing"),
        )
        .await?;
    let record = &created.record;
    println!("   session {} for {}", record.id, record.customer.name);
    println!(
        "   created {}, expires {}",
        record.created_at, record.expires_at
    );
    println!(
        "   url: https://portal.example/r/{}  (shown once, never stored)",
        created.link.expose_secret()
    );

    println!("2. the customer's mail scanner previews the link: it is not consumed");
    let seen = engine.inspect(&created.link).await?;
    println!("   status: {:?}", seen.status(engine.now()));

    println!("3. the customer opens it");
    let client = ClientInfo::new("203.0.113.7".parse().ok(), Some("Mozilla/5.0 (quickstart)"));
    let redemption = engine.redeem(&created.link, client).await?;
    println!(
        "   redeemed at {}; the portal cookie carries a fresh viewer token",
        redemption.record.used_at.unwrap_or(record.created_at)
    );

    println!("4. opening it again");
    match engine.redeem(&created.link, ClientInfo::default()).await {
        Err(error @ EngineError::LinkUsed) => println!("   refused: {error}"),
        other => return Err(format!("a second redeem must fail, got {other:?}").into()),
    }

    println!("5. the portal checks the viewer on each request");
    let viewing = engine.authenticate(&redemption.viewer).await?;
    println!("   showing the billing of {}", viewing.customer.name);

    println!("6. support revokes the session");
    engine.revoke(org, &record.id).await?;
    match engine.authenticate(&redemption.viewer).await {
        Err(error) => println!("   the open portal is cut off: {error}"),
        Ok(_) => return Err("a revoked session must not authenticate".into()),
    }
    let listed = engine.get(org, &record.id).await?;
    println!("   status now: {:?}", listed.status(engine.now()));
    Ok(())
}
