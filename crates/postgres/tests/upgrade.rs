//! A schema at migration 1 (before locales and lists by status) is brought up to date with its
//! sessions intact: they read back without a locale, and every list by status finds them.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use portal_sessions::{ListFilter, ListQuery, MAX_TTL, SessionStore, Timestamp, list_order_key};
use portal_sessions_conformance::fixture::{
    issued_record, new_customer, new_org, plus_ms, redeemed, start_time,
};
use portal_sessions_postgres::MIGRATIONS;

#[tokio::test]
async fn a_version_one_schema_is_migrated_with_its_sessions() {
    let Some(store) = common::connect(common::test_config()).await else {
        return;
    };
    let schema = format!("\"{}\"", store.schema().as_str());
    let client = common::admin_client().await;
    // Version 1 exactly as it was applied: its SQL, and its row in the migrations table.
    let (version, name, sql) = MIGRATIONS[0];
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.portal_sessions_migrations (
                 version integer PRIMARY KEY, name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO {schema}.portal_sessions_migrations (version, name) VALUES ({version}, '{name}');
             {}",
            sql.replace("{schema}", &schema)
        ))
        .await
        .unwrap();
    // Sessions as version 1 stored them: no locale column.
    let (org, customer) = (new_org(), new_customer("Old"));
    let mut records = Vec::new();
    for i in 0..6 {
        let (record, _) = issued_record(org, &customer, plus_ms(start_time(), i * 1_000));
        let record = if i % 2 == 0 {
            redeemed(&record, plus_ms(record.created_at, 10))
        } else {
            record
        };
        client
            .execute(
                &format!(
                    "INSERT INTO {schema}.portal_sessions (id, org_id, customer_id, \
                     customer_external_id, customer_name, features, verifier_hash, viewer_hash, \
                     created_at, expires_at, used_at, redeemed, version) \
                     VALUES ($1, $2, $3, $4, $5, 15, $6, $7, $8, $9, $10, $11, $12)"
                ),
                &[
                    &record.id.as_bytes().to_vec(),
                    record.org_id.as_uuid(),
                    record.customer.id.as_uuid(),
                    &record.customer.external_id,
                    &record.customer.name,
                    &record.verifier_hash.to_bytes().to_vec(),
                    &record.viewer_hash.map(|hash| hash.to_bytes().to_vec()),
                    &record.created_at.to_system_time(),
                    &record.expires_at.to_system_time(),
                    &record.used_at.map(Timestamp::to_system_time),
                    &record.redeemed_by.is_some(),
                    &i64::try_from(record.version).unwrap(),
                ],
            )
            .await
            .unwrap();
        records.push(record);
    }

    assert!(
        store.verify_schema().await.is_err(),
        "version 1 is not current"
    );
    assert_eq!(
        store.migrate().await.unwrap(),
        u32::try_from(MIGRATIONS.len() - 1).unwrap()
    );
    store.verify_schema().await.unwrap();
    let store = Arc::new(store);
    for record in &records {
        let stored = store.get(&record.id).await.unwrap().unwrap();
        assert_eq!(stored.locale, None);
        // The sessions carried no redeemer detail in this fixture beyond the flag.
        assert_eq!(stored.used_at, record.used_at);
        assert_eq!(
            stored.verifier_hash.to_bytes(),
            record.verifier_hash.to_bytes()
        );
    }
    records.sort_by_key(list_order_key);
    let now = plus_ms(start_time(), 60_000);
    for filter in [
        ListFilter::Used,
        ListFilter::OpenAt(now),
        ListFilter::ActiveAt(now),
    ] {
        let query = ListQuery {
            org_id: org,
            customer_id: Some(customer.id),
            limit: 100,
            filter,
            after: None,
            max_lifetime: MAX_TTL,
        };
        let listed: Vec<_> = store
            .list(&query)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        let expected: Vec<_> = records
            .iter()
            .filter(|r| query.matches(r))
            .map(|r| r.id)
            .collect();
        assert_eq!(listed.len(), 3, "{filter:?}");
        assert_eq!(listed, expected, "{filter:?}");
    }
    common::drop_schema(&store).await;
}
