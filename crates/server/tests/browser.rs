//! A real headless Chromium, driven through ChromeDriver's WebDriver API, against the real binary:
//! open the link, pass the interstitial (submitted by the page's script), see the customer's name and
//! invoices on the portal, revoke through the API, reload, see "session ended". Screenshots go to
//! `target/browser/` to be looked at.
//!
//! Needs Debian's `chromium` and `chromium-driver` (which `.ci/run` installs). Without them the test
//! skips with a loud message, unless `PORTAL_SESSIONS_REQUIRE_BROWSER=1`, where it fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use support::{KEY, free_port, http, start};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: Child,
    port: u16,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                "",
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let reply = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            &[("Content-Type", "application/json")],
            &body,
        );
        assert_eq!(
            reply.status, 200,
            "WebDriver {method} {path}: {}",
            reply.body
        );
        reply.json()["value"].clone()
    }

    fn source(&self) -> String {
        self.command("GET", "/source", json!({}))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn screenshot(&self, file: &Path) {
        let png = self.command("GET", "/screenshot", json!({}));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(file, bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        println!("screenshot: {}", file.display());
    }

    /// Waits until the page's source contains `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let source = self.source();
            if source.contains(text) {
                return source;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {text:?}:\n{source}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn browser_available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        let required = std::env::var("PORTAL_SESSIONS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "PORTAL_SESSIONS_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!(
            "\n!!! SKIPPING the browser test: install Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver), or run bash .ci/run.\n"
        );
    }
    present
}

fn launch(profile: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver: {e}"));
    let mut driver = Driver {
        child,
        port,
        session: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|_| http(port, "GET", "/status", &[], "").status == 200)
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let capabilities = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1200,1500",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    }}});
    let reply = http(
        port,
        "POST",
        "/session",
        &[("Content-Type", "application/json")],
        &capabilities.to_string(),
    );
    assert_eq!(reply.status, 200, "new session: {}", reply.body);
    driver.session = reply.json()["value"]["sessionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    driver
}

fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser")
}

#[test]
fn a_customer_opens_the_link_sees_the_portal_and_is_cut_off_by_revoke() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = start(&[], dir.path());
    let port = server.port;
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        r#"{"customerExternalId":"cust-1","returnUrl":"https://example.test/billing"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let url = created["url"].as_str().unwrap_or_default().to_owned();
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = launch(profile.path());
    driver.command("POST", "/url", json!({ "url": url }));
    // The interstitial submits itself; the browser follows the 303 and keeps the cookie.
    let portal = driver.wait_for("INV-BIN-1");
    assert!(portal.contains("Binary Customer") && portal.contains("Binary Test Co"));
    let at = driver.command("GET", "/url", json!({}));
    assert_eq!(
        at.as_str(),
        Some(format!("http://127.0.0.1:{port}/portal").as_str())
    );
    driver.screenshot(&screenshots_dir().join("portal.png"));
    driver.command("POST", "/window/rect", json!({"width": 390, "height": 900}));
    driver.screenshot(&screenshots_dir().join("portal-phone.png"));

    let used = http(
        port,
        "GET",
        &format!("/v1/portal-sessions/{id}"),
        &[("x-api-key", KEY)],
        "",
    )
    .json();
    assert_eq!(used["isUsed"], Value::Bool(true));
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
    driver.command("POST", "/refresh", json!({}));
    let ended = driver.wait_for("Session ended");
    assert!(
        !ended.contains("INV-BIN-1"),
        "a revoked session still shows billing data"
    );
    driver.screenshot(&screenshots_dir().join("session-ended.png"));

    // Opening the link again in the browser says why it no longer works
    driver.command("POST", "/url", json!({ "url": url }));
    // (revocation outranks use: the link reads "revoked").
    driver.wait_for("Link revoked");
    drop(server);
}
