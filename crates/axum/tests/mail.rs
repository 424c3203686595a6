//! The SMTP mailer end to end: a link email rendered by `link_email`, sent by `SmtpMailer` over
//! lettre to the suite's SMTP sink on loopback, read back decoded; and what its refusals, outages
//! and `Debug` say (never an address, a link or a password).

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use portal_sessions_axum::Branding;
use portal_sessions_axum::mail::{Email, LinkEmailKind, MailError, Mailer, SmtpMailer, link_email};
use portal_sessions_axum::suite::smtp_sink::{SinkOptions, SinkReply, SmtpSink};

const LINK: &str = "https://app.example.com/billing/r/ps_live_Zx9=abc";
const WAIT: Duration = Duration::from_secs(10);

fn french_email() -> Email {
    let branding = Branding::new("Café Élégance").with_brand_color("#0e7490");
    link_email(
        LinkEmailKind::Recovery,
        "fr".parse().unwrap(),
        Some(&branding),
        LINK,
        Duration::from_secs(5_400),
        "Ada Lovelace <ada@example.com>",
    )
}

#[tokio::test]
async fn a_french_email_arrives_whole_and_decoded() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mailer = SmtpMailer::from_url(&sink.url(), "Portail <billing@example.com>").unwrap();
    let email = french_email().with_from("Café Élégance <factures@cafe.example>");
    mailer.send(&email).await.unwrap();

    let [mail] = <[_; 1]>::try_from(sink.wait_for(1, WAIT).await).unwrap();
    assert_eq!(mail.envelope_from(), "factures@cafe.example");
    assert_eq!(mail.to(), ["ada@example.com"]);
    assert_eq!(
        mail.subject().as_deref(),
        Some("Votre lien vers votre portail de facturation chez Café Élégance")
    );
    assert_eq!(mail.header("Content-Language").as_deref(), Some("fr"));
    assert_eq!(
        mail.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{}",
        mail.raw()
    );
    // Quoted-printable on the wire: the accents are escaped, not raw UTF-8.
    assert!(mail.raw().is_ascii(), "{}", mail.raw());

    let text = mail.text_body().unwrap();
    assert_eq!(text, email.text.replace("\r\n", "\n"));
    assert!(text.contains(
        "Voici votre nouveau lien vers votre portail de facturation chez Café Élégance."
    ));
    assert!(text.contains(LINK), "{text}");
    assert!(text.contains("expire dans 1 heure et 30 minutes"), "{text}");

    let html = mail.html_body().unwrap();
    assert_eq!(html, email.html);
    assert!(html.contains(&format!("href=\"{LINK}\"")), "{html}");
    assert!(html.contains("Café Élégance"), "{html}");
}

#[tokio::test]
async fn the_default_sender_is_used_when_the_email_names_none() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mailer = SmtpMailer::from_url(&sink.url(), "Portail <billing@example.com>").unwrap();
    mailer.send(&french_email()).await.unwrap();
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails[0].envelope_from(), "billing@example.com");
    assert_eq!(
        mails[0].header("From").as_deref(),
        Some("Portail <billing@example.com>")
    );
}

#[tokio::test]
async fn a_refusal_keeps_its_code_and_not_the_address() {
    for (reply, code) in [(SinkReply::Reject, 550), (SinkReply::Defer, 451)] {
        let sink = SmtpSink::start(SinkOptions::default().reply(reply)).await;
        let mailer = SmtpMailer::from_url(&sink.url(), "billing@example.com").unwrap();
        let error = mailer.send(&french_email()).await.unwrap_err();
        assert!(
            matches!(error, MailError::Rejected { code: Some(c) } if c == code),
            "{error:?}"
        );
        assert_eq!(error.is_temporary(), code == 451);
        let printed = format!("{error} {error:?} {error:#?}");
        assert!(printed.contains(&code.to_string()), "{printed}");
        for hidden in ["ada@", "example.com", "ps_live", "rejected", "lookup"] {
            assert!(!printed.contains(hidden), "{printed}");
        }
        assert!(std::error::Error::source(&error).is_none());
        assert!(sink.messages().is_empty());
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer =
        SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}"), "billing@example.com").unwrap();
    let error = mailer.send(&french_email()).await.unwrap_err();
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
    assert!(error.is_temporary());
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(source.contains("could not be reached"), "{source}");
    assert!(!source.contains("127.0.0.1"), "{source}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts the connection and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let (_stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mailer = SmtpMailer::from_url(&url, "billing@example.com")
        .unwrap()
        .timeout(Duration::from_millis(300));
    let started = Instant::now();
    let error = mailer.send(&french_email()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(source.contains("did not answer within 300ms"), "{source}");
    silent.abort();
}

#[tokio::test]
async fn the_sink_holds_a_message_when_asked() {
    let sink = SmtpSink::start(SinkOptions::default().delay(Duration::from_millis(400))).await;
    let mailer = SmtpMailer::from_url(&sink.url(), "billing@example.com").unwrap();
    let started = Instant::now();
    let sending = tokio::spawn(async move { mailer.send(&french_email()).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink.messages().is_empty());
    sink.wait_for(1, WAIT).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    sending.await.unwrap().unwrap();
}

#[test]
fn no_password_or_address_is_printed() {
    let mailer =
        SmtpMailer::from_url("smtp://user:secretpw@127.0.0.1:1", "billing@example.com").unwrap();
    let printed = format!("{mailer:?} {mailer:#?}");
    assert!(!printed.contains("secretpw"), "{printed}");
    assert!(!printed.contains("billing@"), "{printed}");
    assert!(
        printed.contains("127.0.0.1:1") && printed.contains("plain"),
        "{printed}"
    );

    let error = SmtpMailer::from_url("smtps://user:secretpw@smtp.example.com", "secret-sender")
        .unwrap_err();
    let printed = format!("{error} {error:?}");
    assert!(printed.contains("sender"), "{printed}");
    assert!(
        !printed.contains("secretpw") && !printed.contains("secret-sender"),
        "{printed}"
    );

    let error = SmtpMailer::from_url("smtp://user:secretpw@smtp.example.com:25", "a@b.example")
        .unwrap_err();
    let printed = format!("{error} {error:?}");
    assert!(printed.contains("no TLS to another machine"), "{printed}");
    assert!(!printed.contains("secretpw"), "{printed}");
    // Without credentials too: the messages carry login links.
    let error = SmtpMailer::from_url("smtp://mail.example.com:25", "a@b.example").unwrap_err();
    assert!(
        error.to_string().contains("no TLS to another machine"),
        "{error}"
    );
}

#[test]
fn tls_urls_are_taken_without_connecting() {
    for url in [
        "smtps://apikey:pw@smtp.example.com",
        "smtps://apikey:pw@smtp.example.com:2465",
        "smtp://apikey:pw@smtp.example.com:587?tls=required",
    ] {
        let mailer = SmtpMailer::from_url(url, "Billing <billing@example.com>").unwrap();
        let printed = format!("{mailer:?}");
        assert!(printed.contains("credentials: true"), "{printed}");
    }
}
