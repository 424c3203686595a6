//! The real binary against hostile clients and careless configurations: failed links, forged
//! cookies and bad API keys are limited per client, directly and through a trusted proxy, never
//! at the expense of a valid link, cookie or key; forged forwarding headers from an untrusted peer
//! count against the peer; cross-site posts are refused; nothing in the store changes after any
//! refusal. A config type error does not print the value, and the demo never serves its published
//! key where others could reach it.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::{KEY, Reply, config, free_port, http, start_with};

const PUBLISHED_DEMO_KEY: &str = "mf_sk_test_demo_5f1e8c2a9b7d4e63";

struct Client {
    port: u16,
    forwarded_for: Option<&'static str>,
}

impl Client {
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(forwarded) = self.forwarded_for {
            all.push(("X-Forwarded-For", forwarded));
        }
        http(self.port, method, path, &all, "")
    }
}

/// Every session of the test organisation, as the API lists them: what "nothing changed" compares.
fn everything(port: u16) -> Value {
    let reply = http(
        port,
        "GET",
        "/v1/portal-sessions?includeExpired=true&limit=100",
        &[("x-api-key", KEY)],
        "",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn mint(port: u16) -> String {
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        r#"{"customerExternalId":"cust-1"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.json()["url"].as_str().unwrap().to_owned();
    url[url.find("/r/").unwrap()..].to_owned()
}

/// 25 failing requests: the first 20 get `failure`, the rest 429; the store never changes.
fn assert_limited(port: u16, failure: u16, mut send: impl FnMut(usize) -> Reply) {
    let before = everything(port);
    let statuses: Vec<u16> = (0..25).map(|n| send(n).status).collect();
    assert!(statuses[..20].iter().all(|s| *s == failure), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        everything(port),
        before,
        "a refused request changed the store"
    );
}

fn bad_link(n: usize) -> String {
    format!("/r/mgl_{:A<70}", n)
}

#[test]
fn limits_never_lock_out_a_valid_link_cookie_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with("", &[], dir.path());
    let me = Client {
        port: server.port,
        forwarded_for: None,
    };
    assert_limited(server.port, 404, |n| me.send("POST", &bad_link(n), &[]));
    let link = mint(server.port);
    assert_eq!(me.send("GET", &link, &[]).status, 200);
    let redeemed = me.send("POST", &link, &[]);
    assert_eq!(redeemed.status, 303, "{}", redeemed.body);
    let cookie = redeemed
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    assert_limited(server.port, 401, |n| {
        let forged = format!("portal_session=mgv_{:B<70}", n);
        me.send("GET", "/portal", &[("Cookie", &forged)])
    });
    assert_eq!(
        me.send("GET", "/portal", &[("Cookie", &cookie)]).status,
        200
    );

    assert_limited(server.port, 401, |n| {
        let key = format!("mf_sk_guess_{n:04}_aaaaaaaaaaaaaaaaaaaa");
        me.send("GET", "/v1/portal-sessions", &[("x-api-key", &key)])
    });
    let limited = me.send("GET", "/v1/portal-sessions", &[("x-api-key", "mf_sk_x")]);
    assert_eq!(limited.json()["error"]["type"], "rate_limited");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(
        me.send("GET", "/v1/portal-sessions", &[("x-api-key", KEY)])
            .status,
        200
    );

    // A forwarding header from a peer that is not a trusted proxy is the peer's own writing: the
    // peer is already past the limit, whatever address it claims.
    let forger = Client {
        port: server.port,
        forwarded_for: Some("192.0.2.77"),
    };
    assert_eq!(forger.send("POST", &bad_link(99), &[]).status, 429);

    // Cross-site posts: 403, and nothing changes.
    let fresh = mint(server.port);
    let before = everything(server.port);
    for headers in [
        &[("Sec-Fetch-Site", "cross-site")][..],
        &[("Origin", "https://evil.example")],
    ] {
        assert_eq!(me.send("POST", &fresh, headers).status, 403, "{headers:?}");
        assert_eq!(
            me.send(
                "POST",
                "/portal/logout",
                &[headers, &[("Cookie", cookie.as_str())]].concat()
            )
            .status,
            403
        );
    }
    assert_eq!(everything(server.port), before);
    assert_eq!(
        me.send("GET", "/portal", &[("Cookie", &cookie)]).status,
        200
    );
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_counts_for_itself() {
    let dir = tempfile::tempdir().unwrap();
    // A top-level key, so it goes before the configuration's tables.
    let path = dir.path().join("proxied.toml");
    let port = free_port();
    std::fs::write(
        &path,
        format!("trusted_proxies = [\"127.0.0.0/8\"]\n{}", config(port)),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
        .arg("--config")
        .arg(&path)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    support::wait_until_healthy(port);
    let customer = Client {
        port,
        forwarded_for: Some("198.51.100.7"),
    };
    assert_limited(port, 404, |n| customer.send("POST", &bad_link(n), &[]));
    let link = mint(port);
    assert_eq!(customer.send("POST", &link, &[]).status, 303);
    let neighbour = Client {
        port,
        forwarded_for: Some("198.51.100.8"),
    };
    assert_eq!(neighbour.send("POST", &bad_link(1), &[]).status, 404);
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts the binary on a configuration `text` that it must refuse (exit code 2); returns what it
/// printed, standard output and error together.
fn refused_config(path: &std::path::Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    let dir = path.parent().unwrap_or(path);
    let output = support::run(&["--config", path.to_str().unwrap()], &[], dir);
    assert_eq!(output.status.code(), Some(2));
    support::said(&output)
}

#[test]
fn a_config_type_error_does_not_print_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    let secret = "mf_sk_live_TOPSECRET_0123456789abcdef";
    let text = config(1).replace(
        &format!("secret_keys = [\"{KEY}\"]"),
        &format!("secret_keys = \"{secret}\""),
    );
    assert!(text.contains(secret));
    let printed = refused_config(&path, &text);
    assert!(printed.contains("secret_keys: must be a list"), "{printed}");
    assert!(
        !printed.contains("TOPSECRET"),
        "the error printed the key: {printed}"
    );

    let weak = config(1).replace(KEY, "mf_sk_aaaaaaaaaaaaaaaaaaaaaaaa");
    let printed = refused_config(&path, &weak);
    assert!(
        printed.contains("secret_keys[0]") && !printed.contains("mf_sk_aaaa"),
        "{printed}"
    );
}

/// The demo server on every interface, and the secret key its banner prints. A port that
/// `free_port` gave can be taken again before the server binds it (by a client's ephemeral port,
/// with the other tests of this file connecting at the same time): then the server exits without
/// a banner, and the demo is started again on another port, three times at most.
fn demo_on_every_interface(
    dir: &std::path::Path,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    u16,
    String,
) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
            .args(["--listen", &format!("0.0.0.0:{port}"), "--store", "memory"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read the whole banner, and keep the pipe open while the server runs.
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut key = String::new();
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap() > 0 {
            if let Some(found) = line.trim_end().strip_prefix("Demo secret key: ") {
                key = found.to_owned();
            }
            if line.starts_with("then open") {
                return (child, stdout, port, key);
            }
            line.clear();
        }
        // No banner: the server ended. Say why, and try another port.
        let _ = child.wait();
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
        failures.push(format!("port {port}: {stderr}"));
    }
    panic!("the demo never started: {failures:#?}");
}

#[test]
fn the_demo_makes_a_fresh_key_when_others_could_reach_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, stdout, port, key) = demo_on_every_interface(dir.path());
    assert!(
        key.starts_with("mf_sk_demo_") && key != PUBLISHED_DEMO_KEY,
        "{key}"
    );
    support::wait_until_healthy(port);
    let list = |key: &str| {
        http(
            port,
            "GET",
            "/v1/portal-sessions",
            &[("x-api-key", key)],
            "",
        )
        .status
    };
    assert_eq!(
        list(PUBLISHED_DEMO_KEY),
        401,
        "the published key works on 0.0.0.0"
    );
    assert_eq!(list(&key), 200);
    let _ = child.kill();
    let _ = child.wait();
    drop(stdout);
}
