//! Customers never dead-end, through the real binary and a real SMTP server on loopback (the axum
//! crate's `SmtpSink`): a used link asks for a new one by email (in the customer's language, to the
//! address on file, masked on the page), the login page sends one without waiting for the mail
//! server and answers the same whatever the address, every refusal sends nothing, a mail server
//! that refuses the message leaves no live link behind and no address or link in the logs,
//! `/metrics` counts it all, and `check-config` refuses recovery without `[email]` and a window of
//! zero days without printing the SMTP password.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use portal_sessions_axum::suite::smtp_sink::{ReceivedMail, SinkOptions, SinkReply, SmtpSink};
use serde_json::{Value, json};
use support::{Reply, Server, http, run, said, start_configured};

const ORG: &str = "11111111-2222-4333-8444-555555555555";
const KEY: &str = "mf_sk_test_recovery_0123456789";
const FRENCH: &str = "compta@dupont.test";
const ENGLISH: &str = "billing@acme.test";
/// How long a test waits for the sink to receive a mail.
const MAIL_WAIT: Duration = Duration::from_secs(20);

/// The configuration: `[email]` through `smtp_url`, one organisation with recovery and a login
/// page (three emails an hour per customer), and three customers: a French one with an address, an
/// English one with an address, and one without.
fn recovery_config(port: u16, smtp_url: &str) -> String {
    format!(
        r##"
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
session_ttl_seconds = 600
store = "memory"

# This test posts to the recovery button and the login page more often than a customer would in
# a minute (10 by default): its limit is not what it checks.
[limits]
login_posts = 200

[email]
smtp_url = "{smtp_url}"
from = "Billing <billing@example.test>"

[[orgs]]
id = "{ORG}"
name = "Recovery Test Co"
secret_keys = ["{KEY}"]
brand_color = "#0f766e"

[orgs.recovery]
enabled = true
login_page = true
max_emails_per_hour = 3

[[orgs.customers]]
id = "66666666-7777-4888-9999-000000000001"
external_id = "client-fr"
name = "Dupont SARL"
email = "{FRENCH}"
locale = "fr"

[orgs.customers.subscription]
plan = "Scale"
status = "active"
amount_cents = 12900
currency = "EUR"
interval = "month"

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
email = "{ENGLISH}"

[[orgs.customers.invoices]]
number = "INV-EN-1"
issued_on = "2026-11-01"
amount_cents = 4900
currency = "USD"
status = "open"

[[orgs.customers]]
id = "66666666-7777-4888-9999-000000000003"
external_id = "client-none"
name = "No Address Inc"
"##
    )
}

/// A tokio runtime for the sink (the rest of the test is blocking), and the sink on it. The sink
/// is dropped before the runtime (fields drop in order).
struct Mail {
    sink: SmtpSink,
    runtime: tokio::runtime::Runtime,
}

impl Mail {
    fn start(options: SinkOptions) -> Mail {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sink = runtime.block_on(SmtpSink::start(options));
        Mail { sink, runtime }
    }

    fn count(&self) -> usize {
        self.sink.messages().len()
    }

    fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        self.runtime.block_on(self.sink.wait_for(count, MAIL_WAIT))
    }
}

fn start(mail: &Mail) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = mail.sink.url();
    let server = start_configured(|port| recovery_config(port, &url), &[], &[], dir.path());
    (server, dir)
}

fn create(port: u16, body: Value) -> Value {
    let created = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        &body.to_string(),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()
}

/// A URL of this server as a path.
fn path_of(port: u16, url: &str) -> String {
    url.strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("not a URL of this server: {url}"))
        .to_owned()
}

/// Opens a link (its POST): the portal's redirect.
fn redeem(port: u16, link: &str) {
    let opened = http(port, "POST", link, &[], "");
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_eq!(opened.header("location"), Some("/portal"));
}

/// A session minted with `body` and opened: its link no longer opens.
fn used_link(port: u16, body: Value) -> (Value, String) {
    let created = create(port, body);
    let link = path_of(port, created["url"].as_str().unwrap());
    redeem(port, &link);
    (created, link)
}

fn post(port: u16, path: &str, headers: &[(&str, &str)], form: &str) -> Reply {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    http(port, "POST", path, &all, form)
}

/// The link a mail carries (in its text and its HTML), as a path of this server.
fn link_in(port: u16, mail: &ReceivedMail) -> String {
    let text = mail.text_body().unwrap();
    let base = format!("http://127.0.0.1:{port}/r/mgl_");
    let start = text
        .find(&base)
        .unwrap_or_else(|| panic!("no link in {text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        mail.html_body().unwrap().contains(&url),
        "the HTML part has the link too"
    );
    path_of(port, &url)
}

/// A page with its nonces blanked, to compare two answers.
fn without_nonces(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("nonce=\"") {
        out.push_str(&rest[..at + 7]);
        rest = &rest[at + 7..];
        let end = rest.find('"').unwrap();
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The value of the sample `series` (name and labels, as written) in `/metrics`.
fn metric(port: u16, series: &str) -> f64 {
    let scraped = http(port, "GET", "/metrics", &[], "");
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    let line = scraped
        .body
        .lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{}", scraped.body));
    line[series.len()..].trim().parse().unwrap()
}

/// The customer's sessions, expired ones too.
fn sessions_of(port: u16, external_id: &str) -> Vec<Value> {
    let listed = http(
        port,
        "GET",
        &format!("/v1/portal-sessions?customerExternalId={external_id}&includeExpired=true"),
        &[("x-api-key", KEY)],
        "",
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json().as_array().unwrap().clone()
}

/// Stops a server with SIGTERM; what it wrote on standard output and standard error.
fn stop(mut server: Server) -> String {
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
        .read_to_string(&mut out)
        .unwrap();
    out
}

/// The whole flow, the login page, the refusals and the metrics, against a mail server that takes
/// 0.4 s to accept each message.
#[test]
fn a_used_link_and_the_login_page_email_a_new_link() {
    let mail = Mail::start(SinkOptions::default().delay(Duration::from_millis(400)));
    let (server, _dir) = start(&mail);
    let port = server.port;

    // A French customer's link, used: its page offers a new one.
    let (created, link) = used_link(port, json!({"customerExternalId": "client-fr"}));
    assert_eq!(created["locale"], "fr", "the customer's locale");
    assert_eq!(created["recovery"], true);
    let used = http(port, "GET", &link, &[], "");
    assert_eq!(used.status, 410, "{}", used.body);
    assert!(
        used.body.contains(&format!("action=\"{link}/recover\"")),
        "{}",
        used.body
    );
    assert!(
        used.body.contains("M’envoyer un nouveau lien"),
        "{}",
        used.body
    );

    // The button: a new link is emailed, the page names the address masked, in French.
    let sent = http(port, "POST", &format!("{link}/recover"), &[], "");
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body.contains("Consultez votre messagerie"),
        "{}",
        sent.body
    );
    assert!(sent.body.contains("c•••@dupont.test"), "{}", sent.body);
    assert!(!sent.body.contains(FRENCH), "the address is masked");
    assert_eq!(sent.header("content-language"), Some("fr"));
    let mails = mail.wait_for(1);
    let french = &mails[0];
    assert_eq!(french.to(), [FRENCH], "the address on file");
    assert!(
        french
            .header("from")
            .unwrap()
            .contains("billing@example.test")
    );
    assert_eq!(french.header("content-language").as_deref(), Some("fr"));
    let subject = french.subject().unwrap();
    assert!(
        subject.contains("Votre lien") && subject.contains("Recovery Test Co"),
        "{subject}"
    );
    let text = french.text_body().unwrap();
    for words in [
        "Bonjour",
        "Voici votre nouveau lien",
        "ne fonctionne qu’une fois",
    ] {
        assert!(text.contains(words), "{words:?} missing from {text}");
    }

    // The new link opens the portal, once.
    let new_link = link_in(port, french);
    assert_ne!(new_link, link);
    assert_eq!(http(port, "GET", &new_link, &[], "").status, 200);
    let opened = http(port, "POST", &new_link, &[], "");
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_eq!(opened.header("location"), Some("/portal"));
    let cookie = opened
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let portal = http(port, "GET", "/portal", &[("Cookie", &cookie)], "");
    assert_eq!(portal.status, 200);
    assert!(portal.body.contains("INV-FR-1") && portal.body.contains("Dupont SARL"));
    assert_eq!(http(port, "POST", &new_link, &[], "").status, 410);
    let sessions = sessions_of(port, "client-fr");
    let recovered: Vec<&Value> = sessions
        .iter()
        .filter(|session| session["recoveredFrom"] != Value::Null)
        .collect();
    assert_eq!(recovered.len(), 1, "{sessions:?}");
    assert_eq!(recovered[0]["recoveredFrom"], created["id"]);
    assert_eq!(recovered[0]["locale"], "fr");

    // The login page, in English, for the English customer.
    let login = format!("/login/{ORG}");
    let page = http(port, "GET", &login, &[], "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"email\"") && page.body.contains("Recovery Test Co"));
    let french_page = http(port, "GET", &format!("{login}?locale=fr"), &[], "");
    assert!(
        french_page.body.contains("M’envoyer un lien"),
        "{}",
        french_page.body
    );
    let known = post(port, &login, &[], "email=billing%40acme.test&locale=en");
    // The answer came before the mail server (0.4 s a message) took the login mail.
    assert_eq!(
        mail.count(),
        1,
        "the login page's answer waited for the mail server"
    );
    assert_eq!(known.status, 200, "{}", known.body);
    assert!(known.body.contains("Check your email"), "{}", known.body);
    let unknown = post(port, &login, &[], "email=nobody%40acme.test&locale=en");
    assert_eq!(unknown.status, 200);
    assert_eq!(without_nonces(&unknown.body), without_nonces(&known.body));
    let mails = mail.wait_for(2);
    let english = &mails[1];
    assert_eq!(english.to(), [ENGLISH]);
    assert_eq!(english.header("content-language").as_deref(), Some("en"));
    assert!(
        english
            .text_body()
            .unwrap()
            .contains("You asked for a link")
    );
    let login_link = link_in(port, english);
    assert_eq!(http(port, "GET", &login_link, &[], "").status, 200);
    redeem(port, &login_link);
    assert_eq!(http(port, "POST", &login_link, &[], "").status, 410);

    // Refusals send nothing. Revoked:
    let (revoked, revoked_link) = used_link(port, json!({"customerExternalId": "client-en"}));
    let id = revoked["id"].as_str().unwrap();
    let deleted = http(
        port,
        "DELETE",
        &format!("/v1/portal-sessions/{id}"),
        &[("x-api-key", KEY)],
        "",
    );
    assert_eq!(deleted.status, 204);
    let page = http(port, "GET", &revoked_link, &[], "");
    assert!(
        !page.body.contains("/recover"),
        "a revoked link offers no form"
    );
    assert!(
        page.body.contains(&format!("href=\"{login}\"")),
        "{}",
        page.body
    );
    let refused = http(port, "POST", &format!("{revoked_link}/recover"), &[], "");
    assert_eq!(refused.status, 410, "{}", refused.body);
    // Opted out at create:
    let (_, opted_out) = used_link(
        port,
        json!({"customerExternalId": "client-en", "recovery": false}),
    );
    assert!(
        !http(port, "GET", &opted_out, &[], "")
            .body
            .contains("/recover")
    );
    let refused = http(port, "POST", &format!("{opted_out}/recover"), &[], "");
    assert_eq!(refused.status, 410, "{}", refused.body);
    // No address on file:
    let (_, no_address) = used_link(port, json!({"customerExternalId": "client-none"}));
    assert!(
        !http(port, "GET", &no_address, &[], "")
            .body
            .contains("/recover")
    );
    let refused = http(port, "POST", &format!("{no_address}/recover"), &[], "");
    assert_eq!(refused.status, 410, "{}", refused.body);
    // An unknown link (well formed, and not):
    let unknown_token = portal_sessions::LinkToken::generate()
        .unwrap()
        .expose_secret();
    for path in [
        format!("/r/{unknown_token}/recover"),
        "/r/mgl_nope/recover".to_owned(),
    ] {
        assert_eq!(http(port, "POST", &path, &[], "").status, 404, "{path}");
    }
    // From another site (the recovery button and the login form):
    let (_, english_used) = used_link(port, json!({"customerExternalId": "client-en"}));
    let cross = http(
        port,
        "POST",
        &format!("{english_used}/recover"),
        &[("Sec-Fetch-Site", "cross-site")],
        "",
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    let cross = post(
        port,
        &login,
        &[("Sec-Fetch-Site", "cross-site")],
        "email=billing%40acme.test",
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    // A link that still opens: back to it.
    let open = create(port, json!({"customerExternalId": "client-en"}));
    let open_link = path_of(port, open["url"].as_str().unwrap());
    let back = http(port, "POST", &format!("{open_link}/recover"), &[], "");
    assert_eq!(back.status, 303);
    assert_eq!(back.header("location"), Some(open_link.as_str()));
    // Give a mail that should not have been sent the time to arrive, then count.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(mail.count(), 2, "a refusal sent mail");

    // The hourly limit (three here): the French customer's used link asks twice more, then 429.
    for expected in [3, 4] {
        let again = http(port, "POST", &format!("{link}/recover"), &[], "");
        assert_eq!(again.status, 200, "{}", again.body);
        mail.wait_for(expected);
    }
    let over = http(port, "POST", &format!("{link}/recover"), &[], "");
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.header("retry-after").is_some());
    assert!(over.body.contains("Trop d’e-mails"), "{}", over.body);
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(mail.count(), 4, "over the limit, mail was sent");

    // What /metrics counted.
    assert!(
        metric(
            port,
            "portal_sessions_recovery_requests_total{outcome=\"sent\"}"
        ) >= 3.0
    );
    assert!(
        metric(
            port,
            "portal_sessions_recovery_requests_total{outcome=\"revoked\"}"
        ) >= 1.0
    );
    assert!(
        metric(
            port,
            "portal_sessions_recovery_requests_total{outcome=\"over_limit\"}"
        ) >= 1.0
    );
    assert!(
        metric(
            port,
            "portal_sessions_login_requests_total{outcome=\"accepted\"}"
        ) >= 2.0
    );
    assert!(metric(port, "portal_sessions_emails_total{outcome=\"sent\"}") >= 4.0);
    assert_eq!(
        metric(port, "portal_sessions_emails_total{outcome=\"failed\"}"),
        0.0
    );
}

/// A mail server that refuses the recipient: the button answers 503 and the new session is
/// revoked; a login post still answers as usual and its session is revoked too; neither the
/// address (which the mail server's refusal repeats) nor a link is logged.
#[test]
fn a_refused_mail_leaves_no_live_link_and_no_address_in_the_logs() {
    let mail = Mail::start(SinkOptions::default().reply(SinkReply::Reject));
    let (server, _dir) = start(&mail);
    let port = server.port;

    let (created, link) = used_link(port, json!({"customerExternalId": "client-en"}));
    let failed = http(port, "POST", &format!("{link}/recover"), &[], "");
    assert_eq!(failed.status, 503, "{}", failed.body);
    assert!(
        failed.body.contains("We could not send the email"),
        "{}",
        failed.body
    );
    assert!(!failed.body.contains(ENGLISH) && !failed.body.contains("b•••"));
    let sessions = sessions_of(port, "client-en");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let recovered = sessions
        .iter()
        .find(|session| session["recoveredFrom"] == created["id"])
        .unwrap_or_else(|| panic!("no recovered session: {sessions:?}"));
    assert_eq!(recovered["isRevoked"], true, "{recovered}");

    // The login page answers as usual; the session it minted is revoked once the mail failed.
    let answered = post(
        port,
        &format!("/login/{ORG}"),
        &[],
        "email=billing%40acme.test",
    );
    assert_eq!(answered.status, 200, "{}", answered.body);
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let sessions = sessions_of(port, "client-en");
        let login: Vec<&Value> = sessions
            .iter()
            .filter(|session| session["id"] != created["id"] && session["id"] != recovered["id"])
            .collect();
        if login.len() == 1 && login[0]["isRevoked"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the login session was not revoked: {sessions:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(mail.count(), 0);
    assert_eq!(
        metric(
            port,
            "portal_sessions_recovery_requests_total{outcome=\"not_sent\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(port, "portal_sessions_emails_total{outcome=\"failed\"}"),
        2.0
    );
    assert_eq!(
        metric(port, "portal_sessions_emails_total{outcome=\"sent\"}"),
        0.0
    );

    let logs = stop(server);
    assert!(
        logs.contains("could not be emailed; it is revoked"),
        "the failure was not logged:\n{logs}"
    );
    assert!(logs.contains("/r/<link>/recover"), "{logs}");
    for secret in [ENGLISH, "acme.test", "mgl_", &link["/r/mgl_".len()..]] {
        assert!(!logs.contains(secret), "{secret:?} was logged:\n{logs}");
    }
}

/// `check-config` refuses recovery without `[email]` and a window of zero days, each with its key
/// and line, and never prints the SMTP URL's password; a plain URL with a password to another
/// machine is refused too.
#[test]
fn check_config_refuses_recovery_without_email_and_a_zero_window() {
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str| {
        let file = dir.path().join("portal.toml");
        std::fs::write(&file, text).unwrap();
        let output = run(
            &["--config", file.to_str().unwrap(), "check-config"],
            &[],
            dir.path(),
        );
        let printed = said(&output);
        assert_eq!(output.status.code(), Some(2), "{printed}");
        assert!(
            !printed.contains("hunter2pw"),
            "the password was printed: {printed}"
        );
        printed
    };
    let line_of = |text: &str, key: &str| text.lines().position(|line| line == key).unwrap() + 1;
    let secret_url = "smtps://user:hunter2pw@smtp.example.test:465";
    let valid = recovery_config(1, secret_url);

    // No [email] at all.
    let no_email = valid.replace(
        &format!(
            "[email]\nsmtp_url = \"{secret_url}\"\nfrom = \"Billing <billing@example.test>\"\n"
        ),
        "",
    );
    assert!(!no_email.contains("[email]"));
    let printed = check(&no_email);
    let line = line_of(&no_email, "enabled = true");
    assert!(
        printed.contains(&format!(
            "line {line}: orgs[0].recovery.enabled: needs [email]"
        )),
        "{printed}"
    );

    // A window of zero days, with [email] and its password.
    let zero = valid.replace("enabled = true\n", "enabled = true\nwindow_days = 0\n");
    let printed = check(&zero);
    let line = line_of(&zero, "window_days = 0");
    assert!(
        printed.contains(&format!("line {line}: orgs[0].recovery.window_days")),
        "{printed}"
    );

    // A password over plain SMTP to another machine.
    let plain = valid.replace(secret_url, "smtp://user:hunter2pw@smtp.example.test");
    let printed = check(&plain);
    let line = line_of(
        &plain,
        "smtp_url = \"smtp://user:hunter2pw@smtp.example.test\"",
    );
    assert!(
        printed.contains(&format!("line {line}: email.smtp_url")),
        "{printed}"
    );

    // The valid one passes (nothing is connected to).
    let file = dir.path().join("valid.toml");
    std::fs::write(&file, &valid).unwrap();
    let output = run(
        &["--config", file.to_str().unwrap(), "check-config"],
        &[],
        dir.path(),
    );
    assert!(output.status.success(), "{}", said(&output));
    assert!(!said(&output).contains("hunter2pw"));
}
