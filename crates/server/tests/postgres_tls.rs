//! The real binary against the local PostgreSQL, whose cluster offers TLS with a self-signed
//! certificate: `sslmode=require` connects encrypted (as `pg_stat_ssl` shows for the server's own
//! connections), `sslmode=disable` does not, `verify-ca` with that certificate as the root works,
//! and `verify-full` refuses it (it names another host) with a clear error.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portal_sessions_postgres::testing;
use support::{http, start_with};

/// The cluster's certificate (Debian's snakeoil), as a root.
const CLUSTER_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Whether a PostgreSQL answers (skipping loudly, or failing when it is required).
fn postgres_here(runtime: &tokio::runtime::Runtime) -> bool {
    runtime
        .block_on(testing::connect(
            testing::test_config().ssl_mode(portal_sessions_postgres::SslMode::Disable),
        ))
        .is_some()
}

/// `url` with query parameters added.
fn with_params(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

/// Whether each of the server's connections (by application name) is encrypted.
fn encrypted(runtime: &tokio::runtime::Runtime, application: &str) -> Vec<bool> {
    runtime.block_on(async {
        let client = testing::admin_client().await;
        client
            .query(
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.application_name = $1",
                &[&application],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<_, bool>(0))
            .collect()
    })
}

fn drop_schema(runtime: &tokio::runtime::Runtime, schema: &str) {
    runtime.block_on(async {
        let client = testing::admin_client().await;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .unwrap();
    });
}

/// Starts the binary on `sslmode` (and `extra` `[postgres]` keys), checks that it serves, and
/// returns whether its connections are encrypted.
fn serve_with(runtime: &tokio::runtime::Runtime, sslmode: &str, extra: &str) -> Vec<bool> {
    let schema = testing::fresh_schema();
    let application = format!("tls_{schema}");
    let url = with_params(
        &testing::database_url(),
        &format!("sslmode={sslmode}&application_name={application}"),
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(
        &format!("[postgres]\nschema = \"{schema}\"\n{extra}"),
        &["--store", &url],
        dir.path(),
    );
    let listed = http(
        server.port,
        "GET",
        "/v1/portal-sessions",
        &[("x-api-key", support::KEY)],
        "",
    );
    assert_eq!(listed.status, 200, "{sslmode}: {}", listed.body);
    let found = encrypted(runtime, &application);
    println!("sslmode={sslmode}: encrypted connections {found:?}");
    drop(server);
    drop_schema(runtime, &schema);
    found
}

#[test]
fn sslmode_decides_whether_the_server_talks_tls_to_postgres() {
    let runtime = runtime();
    if !postgres_here(&runtime) {
        return;
    }
    let required = serve_with(&runtime, "require", "");
    assert!(
        !required.is_empty() && required.iter().all(|ssl| *ssl),
        "require: {required:?}"
    );
    let disabled = serve_with(&runtime, "disable", "");
    assert!(
        !disabled.is_empty() && disabled.iter().all(|ssl| !*ssl),
        "disable: {disabled:?}"
    );
    let preferred = serve_with(&runtime, "prefer", "");
    assert!(
        preferred.iter().all(|ssl| *ssl),
        "prefer, on a server that offers TLS: {preferred:?}"
    );
    if std::path::Path::new(CLUSTER_CERT).is_file() {
        let roots = format!("root_certificates = \"{CLUSTER_CERT}\"\n");
        let checked = serve_with(&runtime, "verify-ca", &roots);
        assert!(
            !checked.is_empty() && checked.iter().all(|ssl| *ssl),
            "verify-ca: {checked:?}"
        );
    }
}

#[test]
fn verify_full_refuses_a_certificate_for_another_host() {
    let runtime = runtime();
    if !postgres_here(&runtime) || !std::path::Path::new(CLUSTER_CERT).is_file() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portal.toml");
    let schema = testing::fresh_schema();
    std::fs::write(
        &path,
        format!(
            "{}\n[postgres]\nschema = \"{schema}\"\nroot_certificates = \"{CLUSTER_CERT}\"\n",
            support::config(support::free_port())
        ),
    )
    .unwrap();
    let url = with_params(&testing::database_url(), "sslmode=verify-full");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
        .arg("--config")
        .arg(&path)
        .args(["--store", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        !output.status.success(),
        "verify-full accepted a certificate for another host"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open the session store") && stderr.contains("certificate"),
        "{stderr}"
    );
}
