//! The query plans: get is a primary-key lookup, every list an index scan that stops at its limit
//! (no sequential scan, no sort), on a table of 20 000 sessions.

mod common;

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
         customer_name, features, verifier_hash, created_at, expires_at, used_at, version)
         SELECT decode(md5(i::text), 'hex'), md5('org' || (i % 50))::uuid, md5('c' || (i % 500))::uuid,
                'ext-' || i, 'Customer ' || i, 15, decode(md5(i::text) || md5((i + 1)::text), 'hex'),
                now() - i * interval '1 second', now() - i * interval '1 second' + interval '1 hour',
                CASE WHEN i % 3 = 0 THEN now() END, 0
         FROM generate_series(1, 20000) AS i;
         ANALYZE \"{schema}\".portal_sessions;"
    );
    if let Err(error) = client.batch_execute(&fill).await {
        panic!("{error}");
    }
    let table = format!("\"{schema}\".portal_sessions");
    let org = "SELECT md5('org7')::uuid";
    let customer = "SELECT md5('c7')::uuid";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "get",
            format!("SELECT * FROM {table} WHERE id = decode(md5('77'), 'hex')"),
            "portal_sessions_pkey",
        ),
        (
            "list all",
            format!(
                "SELECT * FROM {table} WHERE org_id = ({org}) ORDER BY created_at DESC, id DESC LIMIT 10"
            ),
            "portal_sessions_org_list",
        ),
        (
            "list all, customer",
            format!(
                "SELECT * FROM {table} WHERE org_id = ({org}) AND customer_id = ({customer}) \
                 ORDER BY created_at DESC, id DESC LIMIT 10"
            ),
            "portal_sessions_customer_list",
        ),
        (
            "list open",
            format!(
                "SELECT * FROM {table} WHERE org_id = ({org}) AND used_at IS NULL AND revoked_at IS NULL \
                 AND expires_at > now() AND created_at > now() - interval '1 day' \
                 ORDER BY created_at DESC, id DESC LIMIT 10"
            ),
            "portal_sessions_open_list",
        ),
        (
            "list open, customer",
            format!(
                "SELECT * FROM {table} WHERE org_id = ({org}) AND customer_id = ({customer}) \
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() \
                 AND created_at > now() - interval '1 day' ORDER BY created_at DESC, id DESC LIMIT 10"
            ),
            "portal_sessions_open_customer_list",
        ),
    ];
    let no_params: &[&(dyn ToSql + Sync)] = &[];
    for (name, sql, index) in cases {
        let rows = match client.query(&format!("EXPLAIN {sql}"), no_params).await {
            Ok(rows) => rows,
            Err(error) => panic!("{name}: {error}"),
        };
        let plan: Vec<String> = rows.iter().filter_map(|row| row.try_get(0).ok()).collect();
        let plan = plan.join("\n");
        println!("{name}:\n{plan}\n");
        assert!(plan.contains(index), "{name} does not use {index}:\n{plan}");
        assert!(
            !plan.contains("Seq Scan"),
            "{name} scans the table:\n{plan}"
        );
        assert!(
            !plan.contains("Sort"),
            "{name} sorts instead of reading the index in order:\n{plan}"
        );
    }
    common::drop_schema(&store).await;
}
