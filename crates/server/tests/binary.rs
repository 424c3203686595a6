//! The real binary, started with a config file and driven over HTTP on loopback.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{KEY, config, free_port, http, start};

#[test]
fn the_binary_serves_the_contract_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = start(&[], dir.path());
    let port = server.port;
    let auth = [("x-api-key", KEY), ("Content-Type", "application/json")];

    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &auth,
        r#"{"customerExternalId":"cust-1"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let url = created["url"].as_str().unwrap_or_default().to_owned();
    assert!(url.starts_with(&format!("http://127.0.0.1:{port}/r/mgl_")));
    let link = url
        .trim_start_matches(&format!("http://127.0.0.1:{port}"))
        .to_owned();
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    assert_eq!(
        http(port, "GET", "/v1/portal-sessions", &[], "").status,
        401
    );
    // Header sizes are bounded by the server (hyper): a huge header, or too many, is refused.
    let huge = "a".repeat(1_000_000);
    assert_eq!(
        http(port, "GET", "/healthz", &[("X-Big", &huge)], "").status,
        431
    );
    let names: Vec<String> = (0..200).map(|i| format!("X-Header-{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "y")).collect();
    assert_eq!(http(port, "GET", "/healthz", &many, "").status, 431);
    // A body over the limit is refused too (the API's own 64 KiB bound).
    let body = format!(
        r#"{{"customerExternalId":"cust-1","pad":"{}"}}"#,
        "x".repeat(100_000)
    );
    assert_eq!(
        http(port, "POST", "/v1/portal-sessions", &auth, &body).status,
        400
    );
    let page = http(port, "GET", &link, &[], "");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let redeemed = http(
        port,
        "POST",
        &link,
        &[("User-Agent", "binary-test/1.0")],
        "",
    );
    assert_eq!(redeemed.status, 303);
    let cookie = redeemed
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("portal_session=mgv_"), "{cookie}");
    let portal = http(port, "GET", "/portal", &[("Cookie", &cookie)], "");
    assert_eq!(portal.status, 200);
    assert!(
        portal.body.contains("Binary Customer")
            && portal.body.contains("INV-BIN-1")
            && portal.body.contains("€12.50")
    );
    assert_eq!(http(port, "POST", &link, &[], "").status, 410);

    let listed = http(
        port,
        "GET",
        "/v1/portal-sessions?includeExpired=true",
        &[("x-api-key", KEY)],
        "",
    )
    .json();
    assert_eq!(listed[0]["isUsed"], Value::Bool(true));
    assert_eq!(
        http(
            port,
            "DELETE",
            &format!("/v1/portal-sessions/{id}"),
            &[("x-api-key", KEY)],
            ""
        )
        .status,
        204
    );
    assert_eq!(
        http(port, "GET", "/portal", &[("Cookie", &cookie)], "").status,
        401
    );

    // SIGTERM: the server stops accepting, finishes, and exits 0.
    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    if let Some(stderr) = server.child.stderr.as_mut() {
        let _ = stderr.read_to_string(&mut logs);
    }
    assert!(
        logs.contains("path=\"/r/<link>\""),
        "link requests are logged, redacted:\n{logs}"
    );
    let token = url.rsplit('/').next().unwrap_or_default();
    let viewer = cookie.split('=').nth(1).unwrap_or_default();
    for secret in [token, viewer, KEY] {
        assert!(!logs.contains(secret), "a secret reached the logs:\n{logs}");
    }
    assert!(logs.contains("shutting down"));
}

#[test]
fn a_bad_config_is_refused_with_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bad.toml");
    let bad = config(1).replace("brand_color = \"#0f766e\"", "brand_color = \"teal\"");
    if let Err(error) = std::fs::write(&path, bad) {
        panic!("{error}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml")
            && stderr.contains("orgs[0].brand_color")
            && stderr.contains("#rrggbb"),
        "{stderr}"
    );

    for args in [&["--listen"][..], &["--bogus"], &["--store", "mysql://x"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&output.stderr).is_empty());
    }
}

#[test]
fn with_no_config_it_runs_the_demo_and_prints_the_key_and_a_curl_command() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.starts_with("then open");
            lines.push(line);
            if done {
                break;
            }
        }
    }
    let printed = lines.join("\n");
    let key = printed
        .lines()
        .find_map(|line| line.strip_prefix("Demo secret key: "))
        .unwrap_or_default()
        .to_owned();
    assert!(key.starts_with("mf_sk_"), "{printed}");
    assert!(printed.contains(&format!(
        "curl -s -X POST http://127.0.0.1:{port}/v1/portal-sessions"
    )));
    // The printed command works.
    let reply = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", &key), ("Content-Type", "application/json")],
        r#"{"customerExternalId": "acme-001"}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        dir.path().join("portal-data").is_dir(),
        "the demo keeps its sessions in ./portal-data"
    );
}
