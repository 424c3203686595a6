//! What operators use, against the real binary: `/metrics` after every route was driven (checked by
//! `promtool check metrics` and by exact counts), metrics on their own address, JSON log lines, a
//! server configured only through the environment, and each subcommand against sled and
//! PostgreSQL.
//!
//! `promtool` is Debian's `prometheus` package, which `.ci/run` installs. Without it the promtool
//! check skips with a loud message, unless `PORTAL_SESSIONS_REQUIRE_PROMTOOL=1`, where it fails.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    KEY, config, free_port, http, run, said, start, start_configured, wait_until_healthy,
};

const BINARY: &str = env!("CARGO_BIN_EXE_portal-sessions-server");

/// The samples of a scrape: `name{labels}` to value.
fn samples(scrape: &str) -> HashMap<String, f64> {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn sample(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in the scrape"))
}

fn promtool_checks(scrape: &str) {
    let required = std::env::var("PORTAL_SESSIONS_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1");
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if !required => {
            eprintln!(
                "\n!!! SKIPPING the promtool check: promtool is not installed ({error}); \
                 `apt-get install prometheus`, or set PORTAL_SESSIONS_REQUIRE_PROMTOOL=1 to fail\n"
            );
            return;
        }
        Err(error) => panic!("promtool is required and cannot run: {error}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("promtool check metrics: {:?} {said}", output.status.code());
    assert!(
        output.status.success(),
        "promtool refused the scrape: {said}"
    );
}

#[test]
fn metrics_count_every_route_and_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&[], dir.path());
    let port = server.port;
    let json = [("x-api-key", KEY), ("Content-Type", "application/json")];
    let key = [("x-api-key", KEY)];

    // /v1: three creates, a list, a get, a revoke, a customer-wide revocation, refusals.
    let mut created = Vec::new();
    for _ in 0..3 {
        let reply = http(
            port,
            "POST",
            "/v1/portal-sessions",
            &json,
            r#"{"customerExternalId":"cust-1"}"#,
        );
        assert_eq!(reply.status, 201);
        created.push(reply.json());
    }
    assert_eq!(
        http(port, "GET", "/v1/portal-sessions", &key, "").status,
        200
    );
    let id = created[0]["id"].as_str().unwrap();
    assert_eq!(
        http(port, "GET", &format!("/v1/portal-sessions/{id}"), &key, "").status,
        200
    );
    assert_eq!(
        http(port, "GET", "/v1/portal-sessions", &[], "").status,
        401
    );
    assert_eq!(
        http(port, "GET", "/v1/portal-sessions?limit=0", &key, "").status,
        400
    );
    assert_eq!(
        http(port, "GET", "/v1/portal-sessions/ps_nope", &key, "").status,
        404
    );
    // The link, the portal, sign-out.
    let path = |created: &Value| {
        created["url"]
            .as_str()
            .unwrap()
            .trim_start_matches(&format!("http://127.0.0.1:{port}"))
            .to_owned()
    };
    let link = path(&created[1]);
    assert_eq!(http(port, "GET", &link, &[], "").status, 200);
    let redeemed = http(port, "POST", &link, &[], "");
    assert_eq!(redeemed.status, 303);
    let cookie = redeemed
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        http(port, "GET", "/portal", &[("Cookie", &cookie)], "").status,
        200
    );
    assert_eq!(http(port, "POST", &link, &[], "").status, 410);
    assert_eq!(
        http(port, "POST", "/portal/logout", &[("Cookie", &cookie)], "").status,
        200
    );
    assert_eq!(http(port, "GET", "/portal", &[], "").status, 401);
    assert_eq!(http(port, "GET", "/r/not-a-link", &[], "").status, 404);
    assert_eq!(
        http(
            port,
            "DELETE",
            &format!("/v1/portal-sessions/{id}"),
            &key,
            ""
        )
        .status,
        204
    );
    assert_eq!(
        http(
            port,
            "DELETE",
            "/v1/portal-sessions?customerExternalId=cust-1",
            &key,
            ""
        )
        .status,
        200
    );
    assert_eq!(http(port, "GET", "/openapi.json", &[], "").status, 200);
    assert_eq!(http(port, "GET", "/no/such/page", &[], "").status, 404);

    let scrape = http(port, "GET", "/metrics", &[], "");
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        scrape.header("content-type")
    );
    let samples = samples(&scrape.body);
    let count = |series: &str| sample(&samples, series);
    // Requests, by route template, method and status.
    let requests = |route: &str, method: &str, status: u16| {
        count(&format!(
            "portal_sessions_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
        ))
    };
    assert_eq!(requests("/v1/portal-sessions", "POST", 201), 3.0);
    assert_eq!(requests("/v1/portal-sessions", "GET", 200), 1.0);
    assert_eq!(requests("/v1/portal-sessions", "GET", 401), 1.0);
    assert_eq!(requests("/v1/portal-sessions", "GET", 400), 1.0);
    assert_eq!(requests("/v1/portal-sessions/{id}", "GET", 200), 1.0);
    assert_eq!(requests("/v1/portal-sessions/{id}", "GET", 404), 1.0);
    assert_eq!(requests("/v1/portal-sessions/{id}", "DELETE", 204), 1.0);
    assert_eq!(requests("/v1/portal-sessions", "DELETE", 200), 1.0);
    assert_eq!(requests("/r/{token}", "GET", 200), 1.0);
    assert_eq!(requests("/r/{token}", "POST", 303), 1.0);
    assert_eq!(requests("/r/{token}", "POST", 410), 1.0);
    assert_eq!(requests("/r/{token}", "GET", 404), 1.0);
    assert_eq!(requests("/portal", "GET", 200), 1.0);
    assert_eq!(requests("/portal", "GET", 401), 1.0);
    assert_eq!(requests("/portal/logout", "POST", 200), 1.0);
    assert_eq!(requests("/openapi.json", "GET", 200), 1.0);
    assert_eq!(requests("unmatched", "GET", 404), 1.0);
    assert!(requests("/healthz", "GET", 200) >= 1.0);
    // Latency histograms count the same requests.
    assert_eq!(
        count(
            "portal_sessions_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/portal-sessions\"}"
        ),
        3.0
    );
    // Sessions from committed changes: 3 created, 1 redeemed, 1 logged out, 2 revoked (one by id,
    // one by the customer-wide revocation: the third session; the second was logged out but
    // still live until then, so it is revoked too).
    let sessions = |event: &str| {
        count(&format!(
            "portal_sessions_sessions_total{{event=\"{event}\"}}"
        ))
    };
    assert_eq!(sessions("created"), 3.0);
    assert_eq!(sessions("redeemed"), 1.0);
    assert_eq!(sessions("logged_out"), 1.0);
    assert_eq!(sessions("revoked"), 3.0);
    // Refusals, by reason.
    let refused = |reason: &str| {
        count(&format!(
            "portal_sessions_refusals_total{{reason=\"{reason}\"}}"
        ))
    };
    assert_eq!(refused("unauthenticated"), 1.0);
    assert_eq!(refused("invalid_request"), 1.0);
    assert_eq!(refused("not_found"), 1.0);
    assert_eq!(refused("link_used"), 1.0);
    assert_eq!(refused("link_malformed"), 1.0);
    assert_eq!(refused("viewer_rejected"), 1.0);
    assert_eq!(
        count("portal_sessions_rate_limited_total{limit=\"link\"}"),
        0.0
    );
    // The store, timed by operation.
    assert_eq!(
        count("portal_sessions_store_operation_duration_seconds_count{operation=\"insert\"}"),
        3.0
    );
    assert!(
        count("portal_sessions_store_operation_duration_seconds_count{operation=\"get\"}") > 0.0
    );
    // No label that grows with traffic: no session id, token or address anywhere.
    for created in &created {
        assert!(!scrape.body.contains(created["id"].as_str().unwrap()));
        assert!(!scrape.body.contains(created["token"].as_str().unwrap()));
    }
    assert!(!scrape.body.contains("127.0.0.1"));
    promtool_checks(&scrape.body);
}

#[test]
fn metrics_can_have_an_address_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let server = start_configured(
        |port| {
            format!(
                "metrics_listen = \"127.0.0.1:{metrics_port}\"\n{}",
                config(port)
            )
        },
        &[],
        &[],
        dir.path(),
    );
    assert_eq!(http(server.port, "GET", "/metrics", &[], "").status, 404);
    let scrape = http(metrics_port, "GET", "/metrics", &[], "");
    assert_eq!(scrape.status, 200);
    assert!(scrape.body.contains("portal_sessions_http_requests_total"));
}

/// Stops a server with SIGTERM and returns what it wrote to standard error.
fn stop_and_read_stderr(mut server: support::Server) -> String {
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut logs = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    logs
}

#[test]
fn json_log_lines_parse_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_configured(
        |port| format!("log_format = \"json\"\n{}", config(port)),
        &[],
        &[],
        dir.path(),
    );
    let port = server.port;
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        r#"{"customerExternalId":"cust-1"}"#,
    )
    .json();
    let token = created["token"].as_str().unwrap().to_owned();
    let link = format!("/r/{token}");
    assert_eq!(http(port, "POST", &link, &[], "").status, 303);
    let logs = stop_and_read_stderr(server);
    let lines: Vec<Value> = logs
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
        })
        .collect();
    assert!(lines.len() >= 3, "{logs}");
    let request = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "request" && line["fields"]["path"] == "/r/<link>"
        })
        .unwrap_or_else(|| panic!("no request line for the link: {logs}"));
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["fields"]["status"], 303);
    assert!(request["timestamp"].is_string());
    assert!(!logs.contains(&token) && !logs.contains(&token[4..]) && !logs.contains(KEY));
}

#[test]
fn the_environment_alone_configures_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(BINARY)
        .env("PORTAL_SESSIONS_LISTEN", &listen)
        .env("PORTAL_SESSIONS_STORE", "memory")
        .env("PORTAL_SESSIONS_SESSION_TTL_SECONDS", "900")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = support::Server { child, port };
    wait_until_healthy(port);
    // The demo's published key (loopback, memory), its customer, the environment's lifetime.
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[
            ("x-api-key", "mf_sk_test_demo_5f1e8c2a9b7d4e63"),
            ("Content-Type", "application/json"),
        ],
        r#"{"customerExternalId":"acme-001"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["expiresInSeconds"], 900);
    assert!(
        created.json()["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{listen}/r/"))
    );
    let _ = server.child.kill();
    assert!(
        !dir.path().join("portal-data").exists(),
        "the memory store wrote nothing"
    );
}

#[test]
fn subcommands_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled:{}", dir.path().join("data").display());
    let file = dir.path().join("portal.toml");
    std::fs::write(&file, config(free_port())).unwrap();
    let file = file.to_str().unwrap();

    let output = run(
        &["--config", file, "--store", &store, "check-config"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    let output = run(
        &["--config", file, "--store", &store, "migrate"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        said(&output).contains("current layout"),
        "{}",
        said(&output)
    );
    // Sessions to purge: a server on the same store mints one that lives a second, and stops.
    let server = start_configured(
        |port| {
            config(port)
                .replace("store = \"memory\"", &format!("store = \"{store}\""))
                .replace("session_ttl_seconds = 600", "session_ttl_seconds = 1")
        },
        &[],
        &[],
        dir.path(),
    );
    let minted = http(
        server.port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        r#"{"customerExternalId":"cust-1"}"#,
    );
    assert_eq!(minted.status, 201);
    stop_and_read_stderr(server);
    std::thread::sleep(Duration::from_millis(1_100));
    // Expired, but not a day ago: the default grace keeps it; no grace purges it.
    let output = run(
        &["--config", file, "--store", &store, "purge"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        said(&output).contains("purged 0 session"),
        "{}",
        said(&output)
    );
    let output = run(
        &[
            "--config",
            file,
            "--store",
            &store,
            "purge",
            "--grace-seconds",
            "0",
        ],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        said(&output).contains("purged 1 session"),
        "{}",
        said(&output)
    );
    let output = run(
        &["--config", file, "--store", &store, "compact"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    // compact refuses a store it does not apply to, naming it.
    let output = run(
        &["--config", file, "--store", "memory", "compact"],
        &[],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(said(&output).contains("compact does not apply to a memory store"));
    // gen-key: strong keys the configuration accepts.
    let output = run(&["gen-key"], &[], dir.path());
    let key = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        portal_sessions_server::config::is_strong_secret_key(&key),
        "{key}"
    );
    let output = run(&["gen-key", "--webhook"], &[], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("whsec_"));
    // --version and --help.
    let output = run(&["--version"], &[], dir.path());
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
    let output = run(&["--help"], &[], dir.path());
    assert!(output.status.success());
    for command in [
        "serve",
        "migrate",
        "purge",
        "compact",
        "check-config",
        "gen-key",
    ] {
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(command),
            "{command}"
        );
    }
}

#[test]
fn subcommands_on_postgres() {
    let url = std::env::var("PORTAL_SESSIONS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let required = std::env::var("PORTAL_SESSIONS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let reachable = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok();
    if !reachable && !required {
        eprintln!(
            "\n!!! SKIPPING subcommands_on_postgres: no PostgreSQL answers at 127.0.0.1:5432\n"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("ops_{}", std::process::id());
    let url = if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    };
    let text = format!(
        "{}\n[postgres]\nschema = \"{schema}\"\n",
        config(free_port()).replace("store = \"memory\"", &format!("store = \"{url}\""))
    );
    let file = dir.path().join("portal.toml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    let output = run(&["--config", file, "check-config"], &[], dir.path());
    assert!(output.status.success(), "{}", said(&output));
    let output = run(&["--config", file, "migrate"], &[], dir.path());
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        said(&output).contains("applied 3 migration(s)"),
        "{}",
        said(&output)
    );
    let output = run(&["--config", file, "migrate"], &[], dir.path());
    assert!(
        said(&output).contains("applied 0 migration(s)"),
        "{}",
        said(&output)
    );
    let output = run(
        &["--config", file, "purge", "--grace-seconds", "0"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        said(&output).contains("purged 0 session"),
        "{}",
        said(&output)
    );
    let output = run(&["--config", file, "compact"], &[], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(said(&output).contains("compact does not apply to a PostgreSQL store"));
    let dropped = Command::new("psql")
        .args([
            url.as_str(),
            "-qc",
            &format!("DROP SCHEMA \"{schema}\" CASCADE"),
        ])
        .status();
    assert!(dropped.is_ok_and(|status| status.success()));
}

#[test]
fn check_config_reports_every_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    // `storr` on line 2, a lifetime out of range on line 3, a bad proxy on line 4.
    let text = format!(
        "listen = \"127.0.0.1:1\"\nstorr = \"memory\"\nsession_ttl_seconds = 0\ntrusted_proxies = [\"nope\"]\n{}",
        config(1)
            .replace("listen = \"127.0.0.1:1\"\n", "")
            .replace("session_ttl_seconds = 600\n", "")
    );
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();
    let output = run(
        &["--config", file, "check-config"],
        &[("PORTAL_SESSIONS_LOG_FORMT", "json")],
        dir.path(),
    );
    let printed = said(&output);
    assert_eq!(output.status.code(), Some(2), "{printed}");
    for expected in [
        "line 2: storr",
        "line 3: session_ttl_seconds",
        "line 4: trusted_proxies[0]",
        "environment: PORTAL_SESSIONS_LOG_FORMT",
    ] {
        assert!(
            printed.contains(expected),
            "{expected:?} missing from:\n{printed}"
        );
    }
    // A valid one says so.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, config(1)).unwrap();
    let output = run(
        &["--config", good.to_str().unwrap(), "check-config"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    // A bad flag is blamed on the flag.
    let output = run(
        &[
            "--config",
            good.to_str().unwrap(),
            "--store",
            "bogus",
            "check-config",
        ],
        &[],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        said(&output).contains("--store: store:"),
        "{}",
        said(&output)
    );
}
