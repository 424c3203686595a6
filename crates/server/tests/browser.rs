//! A real headless Chromium, driven through ChromeDriver's WebDriver API, against the real binary:
//! open the link, pass the interstitial (submitted by the page's script), see the customer's name and
//! invoices on the portal, revoke through the API, reload, see "session ended". Then against the
//! `host_app` example, where a host service nests the portal under `/billing`: the link, the portal
//! at `/billing/portal`, the host's own invoice page, the email link opened again, revocation, sign
//! out, all branded. Then recovery, with a real SMTP server on loopback: a used French link asks for
//! a new one by email, whose link opens the portal, and the login page sends links in English and
//! German. Screenshots go to `target/browser/` to be looked at.
//!
//! Needs Debian's `chromium` and `chromium-driver` (which `.ci/run` installs). Without them the test
//! skips with a loud message, unless `PORTAL_SESSIONS_REQUIRE_BROWSER=1`, where it fails.

mod support;

/// The `host_app` example of `portal-sessions-axum`, compiled into this test: the same code that
/// `cargo run -p portal-sessions-axum --example host_app` runs.
#[path = "../../axum/examples/host_app.rs"]
#[allow(dead_code, unreachable_pub)]
mod host_app;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use portal_sessions_axum::suite::smtp_sink::{ReceivedMail, SinkOptions, SmtpSink};
use serde_json::{Value, json};
use support::{KEY, config, free_port, http, http_within, start, start_configured};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a WebDriver call may take to answer: starting Chromium on two cores busy with the
/// rest of the test suite took longer than the support client's usual 10 s.
const WEBDRIVER_WAIT: Duration = Duration::from_secs(60);

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
        let reply = http_within(
            WEBDRIVER_WAIT,
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
    launch_with(profile, json!({}), json!({}))
}

/// [`launch`], with `options` merged into `goog:chromeOptions` (its `args` appended to the usual
/// ones) and `capabilities` added beside it.
fn launch_with(profile: &Path, options: Value, capabilities: Value) -> Driver {
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
    let mut chrome_options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1200,1500",
            format!("--user-data-dir={}", profile.display()),
        ]
    });
    if let Value::Object(options) = options {
        for (key, value) in options {
            match (key.as_str(), value, &mut chrome_options["args"]) {
                ("args", Value::Array(extra), Value::Array(args)) => args.extend(extra),
                (_, value, _) => chrome_options[key] = value,
            }
        }
    }
    let mut always_match = json!({
        "browserName": "chrome",
        "goog:chromeOptions": chrome_options,
    });
    if let Value::Object(capabilities) = capabilities {
        for (key, value) in capabilities {
            always_match[key] = value;
        }
    }
    let capabilities = json!({"capabilities": {"alwaysMatch": always_match}});
    let reply = http_within(
        WEBDRIVER_WAIT,
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

impl Driver {
    fn go(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    fn current_url(&self) -> String {
        self.command("GET", "/url", json!({}))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn click(&self, css: &str) {
        let found = self.command(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        let id = found["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        self.command("POST", &format!("/element/{id}/click"), json!({}));
    }
}

/// The host app served on a loopback port from a thread of its own, until dropped.
struct HostApp {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for HostApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start_host_app() -> HostApp {
    start_host_app_at("127.0.0.1", Vec::new())
}

/// The host app on a loopback port, minting links under `http://{public_host}:{port}`, its portal
/// framed by the pages of `frame_ancestors`.
fn start_host_app_at(
    public_host: &'static str,
    frame_ancestors: Vec<portal_sessions_axum::FrameAncestor>,
) -> HostApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async move {
            let app = host_app::host_app_framed_by(
                &format!("http://{public_host}:{port}"),
                frame_ancestors,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let listener =
                tokio::net::TcpListener::from_std(listener).unwrap_or_else(|e| panic!("{e}"));
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        });
    });
    HostApp {
        port,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn host_mint(port: u16, body: &str) -> Value {
    let created = http(
        port,
        "POST",
        "/billing/v1/portal-sessions",
        &[
            ("authorization", &format!("Bearer {}", host_app::HOST_KEY)),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()
}

#[test]
fn a_host_app_with_the_portal_nested_under_billing() {
    if !browser_available() {
        return;
    }
    let host = start_host_app();
    let port = host.port;
    let base = format!("http://127.0.0.1:{port}");
    let body = format!(
        r#"{{"customerExternalId":"{}","returnUrl":"https://example.test/account"}}"#,
        host_app::CUSTOMER
    );
    let created = host_mint(port, &body);
    let url = created["url"].as_str().unwrap_or_default().to_owned();
    assert!(url.starts_with(&format!("{base}/billing/r/mgl_")), "{url}");
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let shots = screenshots_dir();

    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = launch(profile.path());
    driver.go(&url);
    let portal = driver.wait_for("EX-0003");
    assert_eq!(driver.current_url(), format!("{base}/billing/portal"));
    for text in [
        "Forty-Two Ltd",
        "Example SaaS",
        "#b45309",
        "Back to Example SaaS",
        "Orders (CSV)",
        "/billing/portal/orders.csv",
        "/billing/portal/invoices/EX-0003",
    ] {
        assert!(
            portal.contains(text),
            "{text} missing from the nested portal"
        );
    }
    driver.screenshot(&shots.join("host-portal.png"));

    // The library's page of one invoice, then the host's page in the portal's navigation.
    driver.go(&format!("{base}/billing/portal/invoices/EX-0003"));
    let invoice = driver.wait_for("Invoice EX-0003");
    assert!(invoice.contains("$31.00") && invoice.contains("Back to your billing portal"));
    driver.screenshot(&shots.join("host-library-invoice.png"));
    let csv = http(port, "GET", "/billing/portal/orders.csv", &[], "");
    assert_eq!(
        csv.status, 401,
        "the host's page is behind the portal cookie"
    );

    // The host's own page under the portal, behind the Viewer extractor.
    driver.go(&format!("{base}/billing/portal/print/EX-0003"));
    let invoice = driver.wait_for("Invoice EX-0003");
    assert!(invoice.contains("Forty-Two Ltd") && invoice.contains("$31.00"));
    driver.screenshot(&shots.join("host-invoice.png"));

    // The email link clicked again in the same browser: back to the portal, not "already used".
    driver.go(&url);
    driver.wait_for("EX-0003");
    assert_eq!(driver.current_url(), format!("{base}/billing/portal"));

    // Revoked by the host's backend: the portal and the host's page end, branded.
    let revoked = http(
        port,
        "DELETE",
        &format!("/billing/v1/portal-sessions/{id}"),
        &[("authorization", &format!("Bearer {}", host_app::HOST_KEY))],
        "",
    );
    assert_eq!(revoked.status, 204);
    driver.go(&format!("{base}/billing/portal/print/EX-0003"));
    let ended = driver.wait_for("Session ended");
    assert!(ended.contains("Example SaaS") && ended.contains("Back to Example SaaS"));
    assert!(
        !ended.contains("Forty-Two Ltd"),
        "an ended session shows the customer"
    );
    driver.screenshot(&shots.join("host-session-ended.png"));
    driver.go(&url);
    let link_revoked = driver.wait_for("Link revoked");
    assert!(link_revoked.contains("Example SaaS"));
    driver.screenshot(&shots.join("host-link-revoked.png"));

    // A second link, opened and signed out of with the portal's own button.
    let second = host_mint(port, &body);
    driver.go(second["url"].as_str().unwrap_or_default());
    driver.wait_for("EX-0003");
    driver.click("footer button");
    let signed_out = driver.wait_for("Signed out");
    assert!(signed_out.contains("Example SaaS") && signed_out.contains("Back to Example SaaS"));
    assert_eq!(
        driver.current_url(),
        format!("{base}/billing/portal/logout")
    );
    driver.screenshot(&shots.join("host-signed-out.png"));
    driver.go(&format!("{base}/billing/portal"));
    driver.wait_for("Session ended");

    // "View my billing" in the host's own app: a link minted by the host's route
    // (`PortalService::link_url`), opened at once.
    driver.go(&format!("{base}/account/billing"));
    driver.wait_for("EX-0003");
    assert_eq!(driver.current_url(), format!("{base}/billing/portal"));
    drop(driver);
    drop(host);
}

impl Driver {
    /// The page's visible text, its no-break spaces (U+00A0, U+202F) read as spaces.
    fn visible_text(&self) -> String {
        let body = self.command(
            "POST",
            "/element",
            json!({"using": "css selector", "value": "body"}),
        );
        let id = body["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.command("GET", &format!("/element/{id}/text"), json!({}))
            .as_str()
            .unwrap_or_default()
            .replace(['\u{a0}', '\u{202f}'], " ")
    }
}

/// Mints a session of the test configuration's customer in `locale` through the API.
fn mint_in(port: u16, locale: &str) -> (String, String) {
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        &format!(r#"{{"customerExternalId":"cust-1","locale":"{locale}"}}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    assert_eq!(created["locale"].as_str(), Some(locale));
    (
        created["url"].as_str().unwrap_or_default().to_owned(),
        created["id"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Sessions minted in French and in German show their portal in that language, with amounts, dates
/// and quantities written for it, whatever language the browser asks for; a revoked one ends in its
/// language too.
#[test]
fn a_french_and_a_german_customer_read_their_portal_in_their_language() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = start(&[], dir.path());
    let port = server.port;
    let shots = screenshots_dir();
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = launch(profile.path());

    let (french, _) = mint_in(port, "fr");
    driver.go(&french);
    // The interstitial submits itself, in French; the portal follows.
    let source = driver.wait_for("INV-BIN-1");
    assert!(source.contains("<html lang=\"fr\">"), "{source}");
    assert_eq!(
        driver.current_url(),
        format!("http://127.0.0.1:{port}/portal")
    );
    let text = driver.visible_text();
    for shown in [
        "Portail de facturation sécurisé",
        "Votre facturation chez Binary Test Co.",
        "Abonnement",
        "129,00 € / mois",
        "Renouvellement le",
        "1 décembre 2026",
        "Factures",
        "Montant",
        "1 novembre 2026",
        "142,30 €",
        "12,50 €",
        "à payer",
        "payée",
        "Consommation",
        "1 204 511 messages",
        "expirent au bout de 10 minutes",
        "Se déconnecter",
    ] {
        assert!(
            text.contains(shown),
            "{shown:?} not shown on the French portal:\n{text}"
        );
    }
    driver.screenshot(&shots.join("portal-fr.png"));

    let (german, german_id) = mint_in(port, "de");
    driver.go(&german);
    let source = driver.wait_for("<h2>Rechnungen</h2>");
    assert!(source.contains("<html lang=\"de\">"), "{source}");
    let text = driver.visible_text();
    for shown in [
        "Sicheres Abrechnungsportal",
        "Ihre Abrechnung bei Binary Test Co.",
        "129,00 € / Monat",
        "Verlängerung am",
        "1. Dezember 2026",
        "Rechnungen",
        "Betrag",
        "1. November 2026",
        "142,30 €",
        "offen",
        "bezahlt",
        "Nutzung",
        "1.204.511 messages",
        "laufen nach 10 Minuten ab",
        "Abmelden",
    ] {
        assert!(
            text.contains(shown),
            "{shown:?} not shown on the German portal:\n{text}"
        );
    }
    driver.screenshot(&shots.join("portal-de.png"));

    // Revoked through the API: the German session ends in German.
    let revoked = http(
        port,
        "DELETE",
        &format!("/v1/portal-sessions/{german_id}"),
        &[("x-api-key", KEY)],
        "",
    );
    assert_eq!(revoked.status, 204);
    driver.command("POST", "/refresh", json!({}));
    driver.wait_for("Sitzung beendet");
    let text = driver.visible_text();
    assert!(
        text.contains("Ihre Sitzung im Abrechnungsportal ist beendet") && !text.contains("INV-BIN"),
        "{text}"
    );
    driver.screenshot(&shots.join("session-ended-de.png"));

    // The French link, opened again, is used: said in French.
    driver.go(&french);
    driver.wait_for("Lien déjà utilisé");
    drop(driver);
    drop(server);
}

impl Driver {
    /// Types `text` into the element `css` finds.
    fn type_into(&self, css: &str, text: &str) {
        let found = self.command(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        let id = found["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }
}

/// The organisation of the test configuration.
const ORG: &str = "11111111-2222-4333-8444-555555555555";
const FRENCH_ADDRESS: &str = "compta@dupont.test";
const ENGLISH_ADDRESS: &str = "billing@acme.test";

/// The test configuration with `[email]` through `smtp_url`, recovery and the login page on, and
/// two customers with an address: a French one and one without a locale of their own.
fn recovery_config(port: u16, smtp_url: &str) -> String {
    format!(
        r##"{}
[email]
smtp_url = "{smtp_url}"
from = "Billing <billing@example.test>"

[orgs.recovery]
enabled = true
login_page = true

[[orgs.customers]]
id = "66666666-7777-4888-9999-000000000001"
external_id = "client-fr"
name = "Dupont SARL"
email = "{FRENCH_ADDRESS}"
locale = "fr"

[[orgs.customers.invoices]]
number = "INV-FR-1"
issued_on = "2026-11-01"
amount_cents = 12900
currency = "EUR"
status = "paid"

[[orgs.customers]]
id = "66666666-7777-4888-9999-000000000002"
external_id = "client-en"
name = "Acme Ltd"
email = "{ENGLISH_ADDRESS}"

[[orgs.customers.invoices]]
number = "INV-EN-1"
issued_on = "2026-11-01"
amount_cents = 4900
currency = "USD"
status = "open"
"##,
        config(port)
    )
}

/// The link a mail carries, whole.
fn link_in(mail: &ReceivedMail, base: &str) -> String {
    let text = mail.text_body().unwrap_or_default();
    let start = text
        .find(&format!("{base}/r/mgl_"))
        .unwrap_or_else(|| panic!("no link in {text}"));
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// A French customer's used link, opened in another browser (no cookie), offers "M’envoyer un
/// nouveau lien"; the button sends it and says where, masked; the mailed link opens the portal.
/// The login page, in English and in German, takes an address and answers; the German one mails
/// a customer without a locale of their own in German.
#[test]
fn a_used_link_asks_for_a_new_one_and_the_login_page_sends_one() {
    if !browser_available() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let sink = runtime.block_on(SmtpSink::start(SinkOptions::default()));
    let mail_wait = Duration::from_secs(20);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let smtp_url = sink.url();
    let server = start_configured(
        |port| recovery_config(port, &smtp_url),
        &[],
        &[],
        dir.path(),
    );
    let port = server.port;
    let base = format!("http://127.0.0.1:{port}");
    let shots = screenshots_dir();
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = launch(profile.path());

    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        r#"{"customerExternalId":"client-fr"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.json()["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    driver.go(&url);
    driver.wait_for("INV-FR-1");
    assert_eq!(driver.current_url(), format!("{base}/portal"));
    // Opened again in the same browser, which holds the session's live cookie: the portal again.
    driver.go(&url);
    driver.wait_for("INV-FR-1");
    assert_eq!(driver.current_url(), format!("{base}/portal"));

    // Opened again in another browser (no cookie): used, and a new one can be asked for.
    driver.command("DELETE", "/cookie", json!({}));
    driver.go(&url);
    let used = driver.wait_for("M’envoyer un nouveau lien");
    assert!(used.contains("<html lang=\"fr\">"), "{used}");
    let text = driver.visible_text();
    assert!(text.contains("Lien déjà utilisé"), "{text}");
    driver.screenshot(&shots.join("recovery-used-fr.png"));
    driver.click("form[action$=\"/recover\"] button");
    driver.wait_for("Consultez votre messagerie");
    assert_eq!(driver.current_url(), format!("{url}/recover"));
    let text = driver.visible_text();
    assert!(text.contains("c•••@dupont.test"), "{text}");
    assert!(!text.contains(FRENCH_ADDRESS), "{text}");
    driver.screenshot(&shots.join("recovery-sent-fr.png"));

    let mails = runtime.block_on(sink.wait_for(1, mail_wait));
    assert_eq!(mails[0].to(), [FRENCH_ADDRESS]);
    assert_eq!(mails[0].header("content-language").as_deref(), Some("fr"));
    let new_link = link_in(&mails[0], &base);
    assert_ne!(new_link, url);
    driver.go(&new_link);
    let portal = driver.wait_for("INV-FR-1");
    assert!(portal.contains("Dupont SARL"));
    assert_eq!(driver.current_url(), format!("{base}/portal"));
    driver.screenshot(&shots.join("recovery-portal-fr.png"));

    // The login page in the browser's language (English here).
    let login = format!("{base}/login/{ORG}");
    driver.go(&login);
    driver.wait_for("Get a link to your billing portal");
    let text = driver.visible_text();
    assert!(text.contains("Binary Test Co"), "{text}");
    driver.screenshot(&shots.join("login-en.png"));
    driver.type_into("input[name=email]", ENGLISH_ADDRESS);
    driver.click("form.login button[type=submit]");
    driver.wait_for("Check your email");
    assert!(
        driver
            .visible_text()
            .contains("If this address belongs to an account")
    );
    driver.screenshot(&shots.join("login-sent-en.png"));
    let mails = runtime.block_on(sink.wait_for(2, mail_wait));
    assert_eq!(mails[1].to(), [ENGLISH_ADDRESS]);
    // In the browser's language, region included (Chromium asks for en-US).
    let language = mails[1].header("content-language").unwrap_or_default();
    assert!(
        language == "en" || language.starts_with("en-"),
        "{language}"
    );

    // In German: the same customer (no locale of their own) is mailed in German, and the link
    // opens their portal in German.
    driver.go(&format!("{login}?locale=de"));
    let page = driver.wait_for("Link zu Ihrem Abrechnungsportal anfordern");
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    driver.screenshot(&shots.join("login-de.png"));
    driver.type_into("input[name=email]", ENGLISH_ADDRESS);
    driver.click("form.login button[type=submit]");
    driver.wait_for("Sehen Sie in Ihr Postfach");
    assert!(
        driver
            .visible_text()
            .contains("Gehört diese Adresse zu einem Konto")
    );
    driver.screenshot(&shots.join("login-sent-de.png"));
    let mails = runtime.block_on(sink.wait_for(3, mail_wait));
    assert_eq!(mails[2].to(), [ENGLISH_ADDRESS]);
    assert_eq!(mails[2].header("content-language").as_deref(), Some("de"));
    driver.go(&link_in(&mails[2], &base));
    driver.wait_for("INV-EN-1");
    assert!(driver.visible_text().contains("Rechnungen"));
    assert_eq!(driver.current_url(), format!("{base}/portal"));
    drop(driver);
    drop(server);
    drop(sink);
}

impl Driver {
    /// The page's title (of the top-level page, whatever frame the driver is in).
    fn title(&self) -> String {
        self.command("GET", "/title", json!({}))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` (a function body) in the current frame and returns what it returns.
    fn execute(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Switches into the frame the element `css` finds.
    fn enter_frame(&self, css: &str) {
        let found = self.command(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        assert!(
            found["element-6066-11e4-a52e-4f735466cecf"].is_string(),
            "no frame {css}: {found}"
        );
        self.command("POST", "/frame", json!({ "id": found }));
    }

    /// Switches back to the page that holds the current frame.
    fn leave_frame(&self) {
        self.command("POST", "/frame/parent", json!({}));
    }

    /// Waits, 15 s at most, for the top-level page's title to read `h=<height>`: the framing test
    /// pages put there the height their frame last posted. `framed` names the framed page in the
    /// failure, which shows the console too.
    fn wait_for_frame_height(&self, height: u64, framed: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.title() != format!("h={height}") {
            assert!(
                Instant::now() < deadline,
                "{framed} did not size the frame ({height} px): title {:?}; console: {:#?}",
                self.title(),
                self.browser_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The browser's console since the last call, one line an entry (empty when the driver keeps
    /// no log: the session must ask for `goog:loggingPrefs`).
    fn browser_log(&self) -> Vec<String> {
        let reply = http_within(
            WEBDRIVER_WAIT,
            self.port,
            "POST",
            &format!("/session/{}/se/log", self.session),
            &[("Content-Type", "application/json")],
            r#"{"type":"browser"}"#,
        );
        if reply.status != 200 {
            return Vec::new();
        }
        reply.json()["value"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| {
                        format!(
                            "{} {}",
                            entry["level"].as_str().unwrap_or_default(),
                            entry["message"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A host app's pages on `127.0.0.1`, another site than the portal's `localhost`: each GET of a
/// path [`HostPages::serve`] was given answers its HTML, anything else 404. Served from threads of
/// their own, for at most two minutes and 200 connections, until dropped.
struct HostPages {
    port: u16,
    pages: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostPages {
    fn start() -> HostPages {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let pages = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (served, stopped) = (pages.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut connections = 0;
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline && connections < 200
            {
                let mut stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                connections += 1;
                let pages = served.clone();
                // A thread a connection: a browser's preconnected socket that sends nothing
                // must not hold up the next request.
                std::thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or_default();
                    let page = pages
                        .lock()
                        .unwrap_or_else(|e| panic!("{e}"))
                        .iter()
                        .find(|(at, _)| at == path)
                        .map(|(_, html)| html.clone());
                    let (status, body) = match page {
                        Some(html) => ("200 OK", html),
                        None => ("404 Not Found", "not here".to_owned()),
                    };
                    let _ = stream.write_all(
                        format!(
                            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                             Cache-Control: no-store\r\nContent-Length: {}\r\n\
                             Connection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                });
            }
        });
        HostPages {
            port,
            pages,
            stop,
            thread: Some(thread),
        }
    }

    fn serve(&self, path: &str, html: String) {
        self.pages
            .lock()
            .unwrap_or_else(|e| panic!("{e}"))
            .push((path.to_owned(), html));
    }
}

impl Drop for HostPages {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The host's page: the portal's link in an 800 × 100 frame, which the frame's height messages
/// (from `portal_origin` only) resize; the last height is written in the title, `h=<px>`.
fn host_page(link: &str, portal_origin: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>host page</title></head>
<body style="margin:0;padding:16px;background:#fef3c7;font-family:sans-serif">
<p>The host app at 127.0.0.1, framing the billing portal at {portal_origin}:</p>
<iframe id="portal" src="{link}" style="width:800px;height:100px;border:3px solid #92400e"></iframe>
<script>
window.addEventListener('message', function (event) {{
  if (event.origin === "{portal_origin}" && event.data && event.data.type === "portal-sessions:height") {{
    document.getElementById('portal').style.height = event.data.height + 'px';
    document.title = 'h=' + event.data.height;
  }}
}});
</script>
</body></html>"#
    )
}

/// A browser that blocks third-party cookies (as browsers are moving to) and keeps its console's
/// lines for [`Driver::browser_log`].
fn launch_blocking_third_party_cookies(profile: &Path) -> Driver {
    launch_with(
        profile,
        json!({
            "prefs": {
                "profile.cookie_controls_mode": 1,
                "profile.block_third_party_cookies": true,
            },
        }),
        json!({ "goog:loggingPrefs": { "browser": "ALL" } }),
    )
}

const FRAMED_KEY: &str = "mf_sk_framed_org_0123456789abc";
const UNFRAMED_KEY: &str = "mf_sk_unframed_org_9876543210zyx";

/// Two organisations on `http://localhost:{port}`: "Framed Co", whose pages `host_origin` may
/// frame, and "Unframed Co", whose pages no one may.
fn framed_config(port: u16, host_origin: &str) -> String {
    format!(
        r##"
listen = "127.0.0.1:{port}"
public_url = "http://localhost:{port}"
session_ttl_seconds = 600
store = "memory"

[[orgs]]
id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee1"
name = "Framed Co"
secret_keys = ["{FRAMED_KEY}"]
brand_color = "#7c3aed"
frame_ancestors = ["{host_origin}"]

[[orgs.customers]]
id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee2"
external_id = "framed-1"
name = "Framed Customer"

[[orgs.customers.invoices]]
number = "INV-F-2"
issued_on = "2026-11-01"
amount_cents = 4200
currency = "EUR"
status = "open"

[[orgs.customers.invoices]]
number = "INV-F-1"
issued_on = "2026-10-01"
amount_cents = 3900
currency = "EUR"
status = "paid"

[[orgs]]
id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee3"
name = "Unframed Co"
secret_keys = ["{UNFRAMED_KEY}"]

[[orgs.customers]]
id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee4"
external_id = "plain-1"
name = "Unframed Customer"

[[orgs.customers.invoices]]
number = "INV-N-1"
issued_on = "2026-11-01"
amount_cents = 1000
currency = "USD"
status = "open"
"##
    )
}

/// Mints a session of `customer` with `key`: (link, session id).
fn mint_with(port: u16, key: &str, customer: &str) -> (String, String) {
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", key), ("Content-Type", "application/json")],
        &format!(r#"{{"customerExternalId":"{customer}"}}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    (
        created["url"].as_str().unwrap_or_default().to_owned(),
        created["id"].as_str().unwrap_or_default().to_owned(),
    )
}

fn is_used(port: u16, key: &str, id: &str) -> Value {
    let reply = http(
        port,
        "GET",
        &format!("/v1/portal-sessions/{id}"),
        &[("x-api-key", key)],
        "",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["isUsed"].clone()
}

/// The portal of an organisation that lists `frame_ancestors`, in a frame of a host page on
/// another site, in a browser that blocks third-party cookies: the link page's probe finds that a
/// partitioned cookie works, redeems the link, and the portal and an invoice page show in the
/// frame, which the pages' height messages size. Another organisation's link in a frame is
/// refused by the browser and never consumed; and in a browser that keeps no cookie at all, the
/// framed link is not consumed either: the page offers to open the portal in a new tab.
#[test]
fn the_portal_in_a_cross_site_frame_with_third_party_cookies_blocked() {
    if !browser_available() {
        return;
    }
    let host = HostPages::start();
    let host_origin = format!("http://127.0.0.1:{}", host.port);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = start_configured(
        |port| framed_config(port, &host_origin),
        &[],
        &[],
        dir.path(),
    );
    let port = server.port;
    let portal_origin = format!("http://localhost:{port}");
    let (framed_link, framed_id) = mint_with(port, FRAMED_KEY, "framed-1");
    let (refused_link, refused_id) = mint_with(port, UNFRAMED_KEY, "plain-1");
    assert!(
        framed_link.starts_with(&format!("{portal_origin}/r/")),
        "{framed_link}"
    );

    // What the browser will be told (a GET of a link does not consume it).
    let framed_page = http(port, "GET", &framed_link[portal_origin.len()..], &[], "");
    assert_eq!(framed_page.status, 200, "{}", framed_page.body);
    let policy = framed_page
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(
        policy.contains(&format!("frame-ancestors {host_origin};")),
        "{policy}"
    );
    assert_eq!(framed_page.header("x-frame-options"), None);
    let refused_page = http(port, "GET", &refused_link[portal_origin.len()..], &[], "");
    assert_eq!(refused_page.status, 200, "{}", refused_page.body);
    let policy = refused_page
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(refused_page.header("x-frame-options"), Some("DENY"));

    host.serve("/", host_page(&framed_link, &portal_origin));
    host.serve("/refused", host_page(&refused_link, &portal_origin));
    let shots = screenshots_dir();
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = launch_blocking_third_party_cookies(profile.path());

    // The host page; the frame's pages tell it their height.
    driver.go(&format!("{host_origin}/"));
    let height = |title: &str| {
        title
            .strip_prefix("h=")
            .and_then(|px| px.parse::<u32>().ok())
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let title = driver.title();
        if height(&title).is_some_and(|px| px > 100) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the frame never told its height (title {title:?}); console: {:#?}",
            driver.browser_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The portal, in the frame: the link was redeemed there, its cookie kept in the partition.
    driver.enter_frame("#portal");
    let portal = driver.wait_for("INV-F-2");
    assert!(
        portal.contains("Framed Customer") && portal.contains("INV-F-1"),
        "{portal}"
    );
    assert_eq!(
        driver.execute("return location.href").as_str(),
        Some(format!("{portal_origin}/portal").as_str())
    );
    // Third-party cookies are blocked here: an unpartitioned one is not kept, a partitioned one is.
    let cookies = driver.execute(
        "document.cookie = 'unpartitioned_check=1; Path=/; SameSite=None; Secure';\
         document.cookie = 'partitioned_check=1; Path=/; SameSite=None; Secure; Partitioned';\
         var seen = document.cookie;\
         document.cookie = 'partitioned_check=; Path=/; SameSite=None; Secure; Partitioned; Max-Age=0';\
         return seen;",
    );
    let cookies = cookies.as_str().unwrap_or_default();
    assert!(
        cookies.contains("partitioned_check=1") && !cookies.contains("unpartitioned_check"),
        "third-party cookies are not blocked as expected: {cookies:?}"
    );
    let content_height = driver
        .execute("return Math.ceil(document.documentElement.scrollHeight)")
        .as_u64()
        .unwrap_or_default();
    driver.leave_frame();
    driver.wait_for_frame_height(content_height, "the portal");
    assert!(content_height > 300, "{content_height}");
    driver.screenshot(&shots.join("frame-portal.png"));
    assert_eq!(is_used(port, FRAMED_KEY, &framed_id), Value::Bool(true));

    // An invoice's page, in the frame, on the same partitioned cookie.
    driver.enter_frame("#portal");
    driver.click("a[href$=\"/portal/invoices/INV-F-2\"]");
    let invoice = driver.wait_for("Invoice INV-F-2");
    assert!(invoice.contains("Framed Co"), "{invoice}");
    assert_eq!(
        driver.execute("return location.href").as_str(),
        Some(format!("{portal_origin}/portal/invoices/INV-F-2").as_str())
    );
    driver.leave_frame();
    // The shorter page shrinks the frame to its own height: no gap below it, nothing to scroll.
    let deadline = Instant::now() + Duration::from_secs(15);
    let invoice_height = loop {
        let title = driver.title();
        if let Some(px) = height(&title).filter(|&px| u64::from(px) < content_height) {
            break u64::from(px);
        }
        assert!(
            Instant::now() < deadline,
            "the frame kept the portal's height ({content_height} px) for the invoice: {title:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    driver.enter_frame("#portal");
    let scroll_height = driver
        .execute("return Math.ceil(document.documentElement.scrollHeight)")
        .as_u64()
        .unwrap_or_default();
    driver.leave_frame();
    assert_eq!(
        scroll_height, invoice_height,
        "the frame is not the invoice's height"
    );
    driver.screenshot(&shots.join("frame-invoice.png"));
    let _ = driver.browser_log();

    // The other organisation's link: the browser refuses the frame, the link page's script never
    // runs, and the link stays unused.
    driver.go(&format!("{host_origin}/refused"));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        driver.title(),
        "host page",
        "the refused frame sent a height"
    );
    let console = driver.browser_log();
    assert!(
        console
            .iter()
            .any(|line| line.contains("frame-ancestors 'none'") && line.contains(&portal_origin)),
        "the browser did not say it refused the frame: {console:#?}"
    );
    assert_eq!(is_used(port, UNFRAMED_KEY, &refused_id), Value::Bool(false));
    driver.screenshot(&shots.join("frame-refused.png"));
    drop(driver);

    // A browser that keeps no cookie at all, not even a partitioned one: the link page's probe
    // fails in the frame, so the link is not consumed, and the page offers a new tab instead.
    let (kept_link, kept_id) = mint_with(port, FRAMED_KEY, "framed-1");
    host.serve("/no-cookies", host_page(&kept_link, &portal_origin));
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = launch_with(
        profile.path(),
        json!({ "prefs": { "profile.default_content_setting_values.cookies": 2 } }),
        json!({}),
    );
    driver.go(&format!("{host_origin}/no-cookies"));
    driver.enter_frame("#portal");
    let deadline = Instant::now() + Duration::from_secs(15);
    while driver.execute("return document.getElementById('new-tab').hidden") != Value::Bool(false) {
        assert!(
            Instant::now() < deadline,
            "the new-tab way never showed: {}",
            driver.source()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        driver.execute("return document.getElementById('open').hidden"),
        Value::Bool(true),
        "the form that would consume the link is still offered"
    );
    let new_tab = driver.execute(
        "var a = document.querySelector('#new-tab a');\
         return [a.href, a.target, a.textContent];",
    );
    assert_eq!(new_tab[0].as_str(), Some(kept_link.as_str()), "{new_tab}");
    assert_eq!(new_tab[1].as_str(), Some("_blank"), "{new_tab}");
    assert!(
        new_tab[2]
            .as_str()
            .is_some_and(|text| text.contains("new tab")),
        "{new_tab}"
    );
    driver.leave_frame();
    driver.screenshot(&shots.join("frame-new-tab.png"));
    assert_eq!(is_used(port, FRAMED_KEY, &kept_id), Value::Bool(false));
    drop(driver);
    drop(server);
    drop(host);
}

/// The host's own portal page (the example's printable invoice, behind `Viewer`) inside a portal
/// that a page of another site frames, in a browser that blocks third-party cookies: the page is
/// framed as the portal is (`Viewer::framing` passed on under `page_headers`), and its height
/// script, which its policy allows by hash and nothing else, sizes the frame.
#[test]
fn a_host_page_inside_a_framed_portal() {
    if !browser_available() {
        return;
    }
    let host = HostPages::start();
    let host_origin = format!("http://127.0.0.1:{}", host.port);
    let ancestor =
        portal_sessions_axum::FrameAncestor::new(&host_origin).unwrap_or_else(|e| panic!("{e}"));
    let app = start_host_app_at("localhost", vec![ancestor]);
    let portal_origin = format!("http://localhost:{}", app.port);
    let created = host_mint(
        app.port,
        &format!(r#"{{"customerExternalId":"{}"}}"#, host_app::CUSTOMER),
    );
    let link = created["url"].as_str().unwrap_or_default().to_owned();
    assert!(
        link.starts_with(&format!("{portal_origin}/billing/r/mgl_")),
        "{link}"
    );
    host.serve("/", host_page(&link, &portal_origin));
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let driver = launch_blocking_third_party_cookies(profile.path());
    driver.go(&format!("{host_origin}/"));
    driver.enter_frame("#portal");
    driver.wait_for("EX-0003");
    driver.execute("location.href = '/billing/portal/print/EX-0003'; return null;");
    let page = driver.wait_for("Back to your billing portal");
    assert!(page.contains("Forty-Two Ltd"), "{page}");
    assert_eq!(
        driver.execute("return location.href").as_str(),
        Some(format!("{portal_origin}/billing/portal/print/EX-0003").as_str())
    );
    let page_height = driver
        .execute("return Math.ceil(document.documentElement.getBoundingClientRect().height)")
        .as_u64()
        .unwrap_or_default();
    driver.leave_frame();
    driver.wait_for_frame_height(page_height, "the host page");
    let refused: Vec<String> = driver
        .browser_log()
        .into_iter()
        .filter(|line| line.contains("Content Security Policy"))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    driver.screenshot(&screenshots_dir().join("frame-host-page.png"));
    drop(driver);
    drop(app);
    drop(host);
}
