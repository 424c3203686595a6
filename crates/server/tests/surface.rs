//! What the real binary shows, and to whom: `/metrics` on the public listener only to the
//! clients of `metrics_allow` (resolved through `trusted_proxies`); `Strict-Transport-Security`
//! with an https public URL and `nosniff` on /v1; with `log_format = "json"` every line on
//! standard output and error is JSON, from the banner to a fatal error, and request paths are
//! logged bounded and without link tokens; `check-config` refuses a malformed PostgreSQL URL
//! without printing its password.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{KEY, Server, config, http, run, said, start_configured};

fn start(top: &str) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let top = top.to_owned();
    let server = start_configured(
        move |port| format!("{top}\n{}", config(port)),
        &[],
        &[],
        dir.path(),
    );
    (server, dir)
}

fn create(port: u16) -> support::Reply {
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        r#"{"customerExternalId":"cust-1"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created
}

#[test]
fn metrics_on_the_public_listener_answer_only_allowed_clients() {
    let scrape = |port: u16, forwarded: Option<&str>| {
        let headers: Vec<(&str, &str)> = forwarded
            .map(|ip| ("X-Forwarded-For", ip))
            .into_iter()
            .collect();
        http(port, "GET", "/metrics", &headers, "").status
    };
    // Behind a proxy on this machine: the client is the forwarded address, and the default
    // allow-list is loopback only.
    let (proxied, _dir) = start("trusted_proxies = [\"127.0.0.1\"]");
    assert_eq!(scrape(proxied.port, Some("198.51.100.7")), 403);
    assert_eq!(scrape(proxied.port, Some("2001:db8::7")), 403);
    assert_eq!(scrape(proxied.port, None), 200);
    assert_eq!(scrape(proxied.port, Some("127.0.0.9")), 200);
    // Without trusted proxies a forwarding header is not believed: the peer is loopback.
    let (direct, _dir) = start("");
    assert_eq!(scrape(direct.port, Some("198.51.100.7")), 200);
    // An allow-list of the host's own.
    let (own, _dir) =
        start("trusted_proxies = [\"127.0.0.1\"]\nmetrics_allow = [\"198.51.100.0/24\"]");
    assert_eq!(scrape(own.port, Some("198.51.100.7")), 200);
    assert_eq!(scrape(own.port, Some("198.51.101.7")), 403);
    assert_eq!(scrape(own.port, None), 403, "loopback is no longer allowed");
    // The API is not affected.
    create(own.port);
}

#[test]
fn https_public_urls_get_strict_transport_security_and_v1_nosniff() {
    let dir = tempfile::tempdir().unwrap();
    let https = start_configured(
        |port| {
            config(port).replace(
                &format!("public_url = \"http://127.0.0.1:{port}\""),
                "public_url = \"https://portal.example.test\"",
            )
        },
        &[],
        &[],
        dir.path(),
    );
    let created = create(https.port);
    let url = created.json()["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("https://portal.example.test/r/mgl_"),
        "{url}"
    );
    let link = &url["https://portal.example.test".len()..];
    let page = http(https.port, "GET", link, &[], "");
    let list = http(https.port, "GET", "/v1/portal-sessions", &[], "");
    for reply in [&created, &page, &list] {
        assert_eq!(
            reply.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{}",
            reply.status
        );
    }
    assert_eq!(created.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(list.header("x-content-type-options"), Some("nosniff"));

    let (plain, _dir) = start("");
    let created = create(plain.port);
    assert_eq!(created.header("strict-transport-security"), None);
    assert_eq!(created.header("x-content-type-options"), Some("nosniff"));
}

/// Stops a server with SIGTERM; what it wrote on standard output and standard error.
fn stop(mut server: Server) -> (String, String) {
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
    let mut out = String::new();
    let mut err = String::new();
    server
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (out, err)
}

/// Every line of `text` as JSON, failing on the first that is not.
fn json_lines(what: &str, text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a line of {what} is not JSON ({e}): {line:?}"))
        })
        .collect()
}

#[test]
fn json_logs_are_json_on_every_line_with_paths_bounded_and_tokens_hidden() {
    let (server, _dir) = start("log_format = \"json\"");
    let port = server.port;
    let token = create(port).json()["token"].as_str().unwrap().to_owned();
    let long = format!("/{}", "a".repeat(10_240));
    for path in [
        format!("/billing/r/{token}"),
        format!("/billing/portal/{token}/x"),
        format!("/r/{}", token.replace('_', "%5F")),
        long.clone(),
    ] {
        // The percent-encoded link opens its page; the others are not found.
        assert_ne!(http(port, "GET", &path, &[], "").status, 0, "{path}");
    }
    let (out, err) = stop(server);

    let banner = json_lines("standard output", &out);
    assert_eq!(banner.len(), 1, "{out}");
    assert_eq!(banner[0]["message"], "portal-sessions-server listening");
    assert_eq!(banner[0]["address"], format!("127.0.0.1:{port}"));
    assert_eq!(banner[0]["store"], "memory");
    assert!(banner[0].get("demo").is_none(), "not the demo: {out}");

    let lines = json_lines("standard error", &err);
    let paths: Vec<&str> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "request")
        .filter_map(|line| line["fields"]["path"].as_str())
        .collect();
    assert!(paths.contains(&"/v1/portal-sessions"), "{err}");
    assert!(paths.contains(&"/billing/r/<link>"), "{paths:?}");
    assert!(paths.contains(&"/billing/portal/<link>/x"), "{paths:?}");
    assert!(paths.contains(&"/r/<link>"), "{paths:?}");
    let cut = paths
        .iter()
        .find(|path| path.ends_with("<cut>"))
        .unwrap_or_else(|| panic!("the long path was not cut: {paths:?}"));
    assert!(cut.len() < 300, "{} bytes logged", cut.len());
    let secret = &token["mgl_".len()..];
    for text in [&out, &err] {
        assert!(!text.contains(secret), "the link token was logged");
        assert!(
            !text.contains(&long[..1_000]),
            "the long path was logged whole"
        );
        assert!(!text.contains(KEY), "the API key was logged");
    }
}

#[test]
fn a_fatal_error_is_a_json_line_too_and_check_config_stays_plain() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let file = dir.path().join("portal.toml");
    std::fs::write(&file, format!("log_format = \"json\"\n{}", config(port))).unwrap();
    let path = file.to_str().unwrap();

    // The listen address is taken: the server cannot start, and says so in JSON.
    let output = run(&["--config", path], &[], dir.path());
    assert!(!output.status.success(), "{}", said(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    json_lines("standard output", &stdout);
    let lines = json_lines("standard error", &stderr);
    let fatal = lines
        .iter()
        .find(|line| line["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    let message = fatal["fields"]["message"].as_str().unwrap();
    assert!(message.contains("cannot serve on"), "{message}");
    drop(taken);

    // A configuration that cannot be loaded, with log_format = "json": still JSON.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        format!(
            "log_format = \"json\"\nsession_ttl_seconds = 0\n{}",
            config(port)
        )
        .replacen("session_ttl_seconds = 600\n", "", 1),
    )
    .unwrap();
    let broken = broken.to_str().unwrap();
    let output = run(&["--config", broken], &[], dir.path());
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = json_lines("standard error", &stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    let message = lines[0]["fields"]["message"].as_str().unwrap();
    assert!(message.contains("line 2: session_ttl_seconds"), "{message}");
    // check-config prints its result as it is.
    let output = run(&["--config", broken, "check-config"], &[], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        said(&output).starts_with("error: invalid configuration:"),
        "{}",
        said(&output)
    );
    let output = run(&["--config", path, "check-config"], &[], dir.path());
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "the configuration is valid\n"
    );
}

#[test]
fn check_config_refuses_a_malformed_postgres_url_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://portal:s3cretPW@[bad",
        "postgres://portal:s3cretPW@db.internal:notaport/billing",
        "postgresql://portal:s3cretPW@db.internal/billing?sslmode=sometimes",
    ] {
        let text = config(1).replace("store = \"memory\"", &format!("store = \"{url}\""));
        let line = text
            .lines()
            .position(|line| line.starts_with("store = "))
            .unwrap()
            + 1;
        let file = dir.path().join("portal.toml");
        std::fs::write(&file, &text).unwrap();
        let output = run(
            &["--config", file.to_str().unwrap(), "check-config"],
            &[],
            dir.path(),
        );
        let printed = said(&output);
        assert_eq!(output.status.code(), Some(2), "{url}: {printed}");
        assert!(
            printed.contains(&format!("line {line}: store: ")),
            "{url}: {printed}"
        );
        assert!(
            !printed.contains("s3cretPW"),
            "the password was printed: {printed}"
        );
    }
    // A well-formed URL passes the check (nothing is connected to).
    let text = config(1).replace(
        "store = \"memory\"",
        "store = \"postgres://portal:s3cretPW@db.internal:5432/billing?sslmode=require\"",
    );
    let file = dir.path().join("good.toml");
    std::fs::write(&file, &text).unwrap();
    let output = run(
        &["--config", file.to_str().unwrap(), "check-config"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
}
