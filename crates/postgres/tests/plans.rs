//! The query plans: get is a primary-key lookup, every list the store sends an index scan that
//! stops at its limit (no sequential scan, no sort), on a table of 20 000 sessions, and a page
//! after a cursor seeks to it in the index.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use portal_sessions::{
    Clock, CustomerId, ListFilter, ListPosition, ListQuery, MAX_TTL, OrgId, SessionId, SystemClock,
};
use tokio_postgres::types::ToSql;

#[tokio::test]
async fn query_plans_use_the_indexes() {
    let Some(store) = common::migrated(common::test_config()).await else {
        return;
    };
    let schema = store.schema().as_str().to_owned();
    let client = common::admin_client().await;
    let fill = format!(
        "INSERT INTO \"{schema}\".portal_sessions (id, org_id, customer_id, customer_external_id, \
         customer_name, features, verifier_hash, created_at, expires_at, used_at, revoked_at, version)
         SELECT decode(md5(i::text), 'hex'), md5('org' || (i % 50))::uuid, md5('c' || (i % 500))::uuid,
                'ext-' || i, 'Customer ' || i, 15, decode(md5(i::text) || md5((i + 1)::text), 'hex'),
                now() - i * interval '1 second',
                now() - i * interval '1 second' + CASE WHEN i % 2 = 0 THEN interval '1 day' ELSE interval '1 hour' END,
                CASE WHEN i % 3 = 0 THEN now() END, CASE WHEN i % 7 = 0 THEN now() END, 0
         FROM generate_series(1, 20000) AS i;
         ANALYZE \"{schema}\".portal_sessions;"
    );
    if let Err(error) = client.batch_execute(&fill).await {
        panic!("{error}");
    }
    let table = format!("\"{schema}\".portal_sessions");
    let get = format!("EXPLAIN SELECT * FROM {table} WHERE id = decode(md5('77'), 'hex')");
    let no_params: &[&(dyn ToSql + Sync)] = &[];
    let rows = client.query(&get, no_params).await.unwrap();
    let plan: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert!(plan.join("\n").contains("portal_sessions_pkey"), "{plan:?}");

    // Every list the store sends, by its own statement: each filter, with and without a customer,
    // from the start and after a cursor deep in the list.
    let ids = client
        .query_one("SELECT md5('org7')::uuid, md5('c7')::uuid", no_params)
        .await
        .unwrap();
    let org = OrgId::from_uuid(ids.get(0));
    let customer = CustomerId::from_uuid(ids.get(1));
    let now = SystemClock.now();
    let cursor = ListPosition {
        created_at: now.checked_sub(Duration::from_secs(5_000)).unwrap(),
        id: SessionId::from_bytes([0x80; 16]),
    };
    // The partial indexes each filter may walk, in list order: its own first. A customer's few
    // active sessions may be walked in the used index (a superset, in the same order): the planner
    // picks whichever is smaller, and either stops at the limit.
    let filters: [(ListFilter, &[&str]); 7] = [
        (ListFilter::All, &["org_list"]),
        (ListFilter::OpenAt(now), &["open_list"]),
        (ListFilter::ActiveAt(now), &["active_list", "used_list"]),
        (ListFilter::LiveAt(now), &["unrevoked_list"]),
        (ListFilter::ExpiredAt(now), &["unrevoked_list"]),
        (ListFilter::Used, &["used_list"]),
        (ListFilter::Revoked, &["revoked_list"]),
    ];
    let mut failures = Vec::new();
    for (filter, indexes) in filters {
        for customer_id in [None, Some(customer)] {
            for after in [None, Some(cursor)] {
                let query = ListQuery {
                    org_id: org,
                    customer_id,
                    limit: 10,
                    filter,
                    after,
                    max_lifetime: MAX_TTL,
                };
                let name = format!(
                    "{filter:?}, customer {}, cursor {}",
                    customer_id.is_some(),
                    after.is_some()
                );
                let plan = store.explain_list(&query).await.unwrap();
                println!("{name}:\n{plan}\n");
                let scans = |index: &&str| {
                    let index = match (customer_id, *index) {
                        (None, index) => index.to_owned(),
                        (Some(_), "org_list") => "customer_list".to_owned(),
                        (Some(_), index) => index.replace("_list", "_customer_list"),
                    };
                    plan.contains(&format!("Index Scan using portal_sessions_{index} "))
                };
                if !indexes.iter().any(scans) {
                    failures.push(format!("{name} does not use one of {indexes:?}:\n{plan}"));
                }
                if !plan.starts_with("Limit") || plan.contains("Seq Scan") || plan.contains("Sort")
                {
                    failures.push(format!(
                        "{name} is not an index scan in order that stops at its limit:\n{plan}"
                    ));
                }
                let seeks = plan.lines().any(|line| {
                    line.trim_start().starts_with("Index Cond:")
                        && line.contains("ROW(created_at, id) <")
                });
                if after.is_some() && !seeks {
                    failures.push(format!(
                        "{name} does not seek to its cursor in the index:\n{plan}"
                    ));
                }
            }
        }
    }
    // The event feed's claim: the oldest undelivered rows, from the partial index, in order.
    let fill_feed = format!(
        "UPDATE {table} SET events_delivered = 0 WHERE used_at IS NULL AND revoked_at IS NULL; \
         ANALYZE {table};"
    );
    client.batch_execute(&fill_feed).await.unwrap();
    let claim = format!(
        "EXPLAIN SELECT id FROM {table} WHERE events_delivered IS NOT NULL \
         AND (1 | CASE WHEN used_at IS NOT NULL THEN 2 ELSE 0 END \
             | CASE WHEN logged_out_at IS NOT NULL THEN 4 ELSE 0 END \
             | CASE WHEN revoked_at IS NOT NULL THEN 8 ELSE 0 END) <> events_delivered \
         AND (events_not_before IS NULL OR events_not_before <= now()) \
         ORDER BY created_at, id LIMIT 32 FOR UPDATE SKIP LOCKED"
    );
    let rows = client.query(&claim, no_params).await.unwrap();
    let plan: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    let plan = plan.join("\n");
    println!("claim:\n{plan}\n");
    if !plan.contains("Index Scan using portal_sessions_undelivered") || plan.contains("Sort") {
        failures.push(format!(
            "the feed's claim does not walk its partial index in order:\n{plan}"
        ));
    }
    common::drop_schema(&store).await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
