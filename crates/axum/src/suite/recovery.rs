//! Customers never dead-end: a used or expired link that asks for a new one by email, and the
//! organisation's login page, against a real SMTP server on loopback ([`SmtpSink`]) through the
//! library's [`SmtpMailer`](crate::mail::SmtpMailer). Every refusal is followed by a check that
//! nothing was sent.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portal_sessions::{RecoveryPolicy, SessionStore};
use serde_json::{Value, json};

use super::fixture::{KEY_A, PUBLIC_URL, org_a, org_b};
use super::host::{App, Mounted, Reply, app_with_mail};
use super::smtp_sink::{ReceivedMail, SinkOptions, SmtpSink};
use crate::OrgRecovery;
use crate::mail::SmtpMailer;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const MAIL_WAIT: Duration = Duration::from_secs(20);

fn recovery(max_emails_per_hour: u32) -> OrgRecovery {
    OrgRecovery {
        policy: RecoveryPolicy {
            window: 7 * DAY,
            max_emails_per_hour,
        },
        login_page: true,
        from: Some("Demo Co Billing <billing@democo.test>".into()),
    }
}

async fn app_and_sink<S: SessionStore>(
    store: S,
    mounted: Mounted,
    sink: SinkOptions,
    max_emails_per_hour: u32,
) -> (App, SmtpSink) {
    let sink = SmtpSink::start(sink).await;
    let mailer = SmtpMailer::from_url(&sink.url(), "Portal <portal@example.test>")
        .unwrap()
        .timeout(Duration::from_secs(10));
    let app = app_with_mail(store, mounted, mailer, recovery(max_emails_per_hour));
    (app, sink)
}

/// The link a mail carries, as a path under the mount.
fn link_in(app: &App, mail: &ReceivedMail) -> String {
    let text = mail.text_body().unwrap();
    let start = text
        .find(PUBLIC_URL)
        .unwrap_or_else(|| panic!("no link in {text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        mail.html_body().unwrap().contains(&url),
        "the HTML part has the link too"
    );
    app.path_of(&url)
}

async fn post(app: &App, path: &str, extra: Option<(&str, &str)>, body: Option<&str>) -> Reply {
    let mut request = Request::builder().method("POST").uri(path);
    if let Some((name, value)) = extra {
        request = request.header(name, value);
    }
    let body = match body {
        Some(form) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).unwrap()).await
}

async fn used_link(app: &App, body: Value) -> (Value, String) {
    let created = app.create(body).await;
    app.redeem(&created).await;
    let link = app.path_of(created["url"].as_str().unwrap());
    (created, link)
}

/// A page with its nonces blanked, to compare two answers.
fn without_nonces(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("nonce=\"") {
        out.push_str(&rest[..at + 7]);
        rest = &rest[at + 7..];
        let end = rest.find('"').unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A used link's page offers "Email me a new link"; the button mints a new session and emails its
/// link to the customer's address on file (in French for a French customer), which opens the
/// portal once; the recovered session says where it came from. Every refusal (revoked, opted out,
/// outside the window, no address, after a customer-wide revocation, over the hourly limit,
/// cross-site, unknown or malformed link, a link that still opens) sends nothing.
pub async fn recovery_by_email<S: SessionStore>(store: S, mounted: Mounted) {
    let (app, sink) = app_and_sink(store, mounted, SinkOptions::default(), 4).await;
    // A French customer: the session speaks the customer's default locale.
    let (created, link) = used_link(&app, json!({"customerExternalId": "societe-004"})).await;
    assert_eq!(created["locale"], "fr");
    assert_eq!(created["recovery"], true);
    let page = app.page("GET", &link, None).await;
    assert_eq!(page.status, StatusCode::GONE);
    let action = format!("action=\"{}\"", app.mounted(&format!("{link}/recover")));
    assert!(page.body.contains(&action), "{}", page.body);
    assert!(page.body.contains("M’envoyer un nouveau lien"));

    let sent = post(&app, &format!("{link}/recover"), None, None).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.body.contains("C•••@Societe.test"), "{}", sent.body);
    assert!(sent.body.contains("Consultez votre messagerie"));
    assert!(
        !sent.body.contains("Compta@Societe.test"),
        "the address is masked"
    );
    let mails = sink.wait_for(1, MAIL_WAIT).await;
    let mail = &mails[0];
    assert_eq!(mail.to(), ["Compta@Societe.test"], "the address on file");
    assert!(mail.header("from").unwrap().contains("billing@democo.test"));
    assert_eq!(mail.header("content-language").as_deref(), Some("fr"));
    let subject = mail.subject().unwrap();
    assert!(
        subject.contains("facturation") && subject.contains("Demo Co"),
        "{subject}"
    );
    let text = mail.text_body().unwrap();
    for words in ["ne fonctionne qu’une fois", "1 heure", "ignorer"] {
        assert!(text.contains(words), "{words} missing from {text}");
    }
    assert!(mail.html_body().unwrap().contains("#0e7490"), "branded");

    // The new link opens the portal once.
    let new_link = link_in(&app, mail);
    assert_ne!(new_link, link);
    assert_eq!(
        app.page("GET", &new_link, None).await.status,
        StatusCode::OK
    );
    let opened = app.page("POST", &new_link, None).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.header("location"), app.mounted("/portal"));
    assert_eq!(
        app.page("POST", &new_link, None).await.status,
        StatusCode::GONE
    );
    let listed = app
        .call(
            "GET",
            "/v1/portal-sessions?customerExternalId=societe-004&includeExpired=true",
            Some(KEY_A),
            None,
        )
        .await
        .json();
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 2);
    // Minted in the same millisecond of the test's clock: in either order.
    let (new, old): (Vec<&Value>, Vec<&Value>) = items
        .iter()
        .partition(|item| item["recoveredFrom"] != Value::Null);
    assert_eq!((new.len(), old.len()), (1, 1), "{listed}");
    assert_eq!(new[0]["recoveredFrom"], created["id"]);
    assert_eq!(new[0]["locale"], "fr");
    assert_eq!(new[0]["recovery"], true);
    assert_eq!(old[0]["id"], created["id"]);
    let mut expected_mails = 1;

    // A link that still opens: back to it, nothing sent.
    let open = app.create(json!({"customerExternalId": "acme-001"})).await;
    let open_link = app.path_of(open["url"].as_str().unwrap());
    let back = post(&app, &format!("{open_link}/recover"), None, None).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(back.header("location"), app.mounted(&open_link));

    // Cross-site: 403.
    let (_, acme_link) = used_link(&app, json!({"customerExternalId": "acme-001"})).await;
    let cross = post(
        &app,
        &format!("{acme_link}/recover"),
        Some(("sec-fetch-site", "cross-site")),
        None,
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    // Unknown and malformed links: 404.
    let unknown = portal_sessions::LinkToken::generate()
        .unwrap()
        .expose_secret();
    for path in [
        format!("/r/{unknown}/recover"),
        "/r/mgl_nope/recover".to_owned(),
    ] {
        assert_eq!(
            post(&app, &path, None, None).await.status,
            StatusCode::NOT_FOUND
        );
    }

    // Revoked: no form, the login page instead; 410 and nothing sent.
    let (revoked, revoked_link) = used_link(&app, json!({"customerExternalId": "acme-001"})).await;
    app.revoke(&revoked).await;
    let page = app.page("GET", &revoked_link, None).await;
    assert!(
        !page.body.contains("/recover"),
        "a revoked link offers no form"
    );
    let login = format!("href=\"{}\"", app.mounted(&format!("/login/{}", org_a())));
    assert!(page.body.contains(&login), "{}", page.body);
    let refused = post(&app, &format!("{revoked_link}/recover"), None, None).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(refused.body.contains(&login));

    // Opted out.
    let (_, opted_out) = used_link(
        &app,
        json!({"customerExternalId": "acme-001", "recovery": false}),
    )
    .await;
    assert!(
        !app.page("GET", &opted_out, None)
            .await
            .body
            .contains("/recover")
    );
    let refused = post(&app, &format!("{opted_out}/recover"), None, None).await;
    assert_eq!(refused.status, StatusCode::GONE);

    // No address on file.
    let (_, no_address) = used_link(&app, json!({"customerExternalId": "plain-002"})).await;
    let page = app.page("GET", &no_address, None).await;
    assert!(!page.body.contains("/recover") && page.body.contains(&login));
    let refused = post(&app, &format!("{no_address}/recover"), None, None).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert_eq!(sink.messages().len(), expected_mails, "nothing sent so far");

    // The hourly limit: four emails an hour for a customer, then 429.
    for _ in 0..4 {
        let (_, link) = used_link(&app, json!({"customerExternalId": "acme-001"})).await;
        let sent = post(&app, &format!("{link}/recover"), None, None).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        expected_mails += 1;
    }
    assert_eq!(sink.messages().len(), expected_mails);
    let over = post(&app, &format!("{acme_link}/recover"), None, None).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!over.header("retry-after").is_empty());
    assert_eq!(sink.messages().len(), expected_mails, "over the limit");

    // A day later: the limit has passed, and an expired link recovers too.
    app.clock.advance(DAY);
    let recovered = post(&app, &format!("{acme_link}/recover"), None, None).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.body);
    expected_mails += 1;
    sink.wait_for(expected_mails, MAIL_WAIT).await;

    // A customer-wide revocation ends recovery of every session before it.
    let (_, before) = used_link(&app, json!({"customerExternalId": "acme-001"})).await;
    app.clock.advance(Duration::from_secs(2 * 60 * 60));
    let revoked = app
        .call(
            "DELETE",
            "/v1/portal-sessions?customerExternalId=acme-001",
            Some(KEY_A),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let page = app.page("GET", &before, None).await;
    assert!(!page.body.contains("/recover") && page.body.contains(&login));
    let refused = post(&app, &format!("{before}/recover"), None, None).await;
    assert_eq!(refused.status, StatusCode::GONE);

    // Outside the window: eight days after the French session's chain began.
    app.clock.advance(7 * DAY);
    let refused = post(&app, &format!("{new_link}/recover"), None, None).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert_eq!(
        sink.messages().len(),
        expected_mails,
        "every refusal sent nothing"
    );
}

/// The login page: a branded form (in the language the query or the browser asks for); a post
/// answers the same page whatever the address, before the mail server took anything (a sink that
/// takes 0.4 s), and each matching customer (case-insensitively) gets a link in their language,
/// within the hourly limit; a cross-site post, an address that is not one, an organisation
/// without a login page: refused, nothing sent.
pub async fn login_page<S: SessionStore>(store: S, mounted: Mounted) {
    let slow = SinkOptions::default().delay(Duration::from_millis(400));
    let (app, sink) = app_and_sink(store, mounted, slow, 2).await;
    let login = format!("/login/{}", org_a());
    let page = app.page("GET", &login, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"email\"") && page.body.contains("Demo Co"));
    assert_eq!(page.header("content-language"), "en");
    let french = app.page("GET", &format!("{login}?locale=fr"), None).await;
    assert_eq!(french.header("content-language"), "fr");
    assert!(french.body.contains("Recevoir un lien"));
    for missing in [
        format!("/login/{}", org_b()),
        "/login/not-an-org".to_owned(),
    ] {
        assert_eq!(
            app.page("GET", &missing, None).await.status,
            StatusCode::NOT_FOUND
        );
    }

    let known = post(
        &app,
        &login,
        None,
        Some("email=billing%40acme.test&locale=en"),
    )
    .await;
    assert!(
        sink.messages().is_empty(),
        "the answer came before the mail server took the message"
    );
    let unknown = post(
        &app,
        &login,
        None,
        Some("email=nobody%40acme.test&locale=en"),
    )
    .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, known.status);
    assert_eq!(without_nonces(&unknown.body), without_nonces(&known.body));
    let mails = sink.wait_for(1, MAIL_WAIT).await;
    assert_eq!(mails[0].to(), ["billing@acme.test"]);
    assert_eq!(mails[0].header("content-language").as_deref(), Some("en"));
    assert!(
        mails[0]
            .text_body()
            .unwrap()
            .contains("You asked for a link")
    );
    let link = link_in(&app, &mails[0]);
    assert_eq!(
        app.page("POST", &link, None).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.page("POST", &link, None).await.status, StatusCode::GONE);

    // Any case; the customer's own language.
    let upper = post(
        &app,
        &login,
        None,
        Some("email=COMPTA%40societe.TEST&locale=en"),
    )
    .await;
    assert_eq!(upper.status, StatusCode::OK);
    let mails = sink.wait_for(2, MAIL_WAIT).await;
    let french = mails
        .iter()
        .find(|mail| mail.to() == ["Compta@Societe.test"])
        .unwrap();
    assert_eq!(french.header("content-language").as_deref(), Some("fr"));

    // Refused: not an address (400), cross-site (403). Nothing sent.
    let invalid = post(&app, &login, None, Some("email=not-an-address")).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body.contains("name=\"email\""), "the form again");
    // A form past the body limit is not read, however good the address at its start.
    let padded = format!(
        "email=billing%40acme.test&pad={}",
        "x".repeat(crate::MAX_BODY_BYTES)
    );
    let oversized = post(&app, &login, None, Some(&padded)).await;
    assert_eq!(oversized.status, StatusCode::BAD_REQUEST);
    let cross = post(
        &app,
        &login,
        Some(("sec-fetch-site", "cross-site")),
        Some("email=billing%40acme.test"),
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    // The hourly limit (two here) holds silently: the same answer, no third email.
    let again = post(
        &app,
        &login,
        None,
        Some("email=billing%40acme.test&locale=en"),
    )
    .await;
    let held = post(
        &app,
        &login,
        None,
        Some("email=billing%40acme.test&locale=en"),
    )
    .await;
    assert_eq!(without_nonces(&again.body), without_nonces(&held.body));
    sink.wait_for(3, MAIL_WAIT).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let to_acme = sink
        .messages()
        .iter()
        .filter(|mail| mail.to() == ["billing@acme.test"])
        .count();
    assert_eq!(to_acme, 2, "two an hour for this customer");
}
