//! [`link_email`]: the email that carries a link to the billing portal, in the customer's language.
//!
//! Both parts say the same sentences, from the language's text table (`crate::text`): the plain
//! text part writes the link out, the HTML part shows it as a button in the organisation's colour
//! and writes it out under the button for mail readers that show no buttons. The HTML is a
//! [`maud`] template, so every value (the organisation's name, the link) is escaped for where it
//! stands; its styles are inline, since mail readers drop style sheets.

use std::time::Duration;

use maud::{DOCTYPE, Markup, html};
use portal_sessions::Locale;

use super::Email;
use crate::data::Branding;
use crate::text::{Speech, fill};

/// Why a link is emailed: what the email's first sentence says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkEmailKind {
    /// A new link in place of one that was already used or has expired: "Here is your new link to
    /// the Acme billing portal."
    Recovery,
    /// A link the customer asked for on the organisation's login page: "You asked for a link to the
    /// Acme billing portal: here it is."
    Login,
}

/// The email that sends `link` to `to`: a recovery or a login-page request (`kind`), in `locale`'s
/// language, branded with the organisation's name and colour (`branding`, `None` for a plain one),
/// saying that the link works once and expires in `lifetime` (in words: "1 hour and 30 minutes").
///
/// It comes from the mailer's default sender; [`Email::with_from`] sends it from the
/// organisation's own. The subject is kept on one line (control characters in the organisation's
/// name become spaces).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions::Locale;
/// use portal_sessions_axum::Branding;
/// use portal_sessions_axum::mail::{LinkEmailKind, link_email};
///
/// let acme = Branding::new("Acme").with_brand_color("#0e7490");
/// let email = link_email(
///     LinkEmailKind::Recovery,
///     "fr-CA".parse()?,
///     Some(&acme),
///     "https://app.example.com/r/abc",
///     Duration::from_secs(3_600),
///     "ada@example.com",
/// )
/// .with_from("Acme Billing <billing@acme.example>");
/// assert_eq!(email.subject, "Votre lien vers votre portail de facturation chez Acme");
/// assert!(email.text.contains("https://app.example.com/r/abc"));
/// assert!(email.text.contains("expire dans 1 heure"));
/// assert!(email.html.contains("background:#0e7490"));
/// # Ok::<(), portal_sessions::InvalidLocale>(())
/// ```
pub fn link_email(
    kind: LinkEmailKind,
    locale: Locale,
    branding: Option<&Branding>,
    link: &str,
    lifetime: Duration,
    to: impl Into<String>,
) -> Email {
    let speech = Speech::new(locale);
    let texts = &speech.texts.link_email;
    let org = branding.and_then(Branding::shown_name);
    let portal = match org {
        Some(org) => fill(texts.portal_of, &[("org", org)]),
        None => texts.portal.to_owned(),
    };
    let reason = match kind {
        LinkEmailKind::Recovery => texts.recovery,
        LinkEmailKind::Login => texts.login,
    };
    let lines = Lines {
        subject: one_line(&fill(texts.subject, &[("portal", &portal)])),
        greeting: texts.greeting,
        reason: fill(reason, &[("portal", &portal)]),
        button: speech.texts.open_button,
        fallback: texts.fallback,
        expiry: fill(texts.expiry, &[("lifetime", &speech.lifetime(lifetime))]),
        ignore: texts.ignore,
    };
    let text = plain_text(&lines, link);
    let html = document(&lines, link, locale, org, crate::html::accent(branding)).into_string();
    Email::new(to, lines.subject, text, html, locale)
}

/// What one email says, filled in.
struct Lines {
    subject: String,
    greeting: &'static str,
    reason: String,
    button: &'static str,
    fallback: &'static str,
    expiry: String,
    ignore: &'static str,
}

/// `text` with each control character (a line break in an organisation's name) as a space.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The plain-text part: the sentences as paragraphs, the link on a line of its own.
fn plain_text(lines: &Lines, link: &str) -> String {
    [
        lines.greeting,
        &lines.reason,
        link,
        &lines.expiry,
        lines.ignore,
    ]
    .join("\n\n")
        + "\n"
}

/// The pages' fonts.
const FONT: &str = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,\
                    Arial,sans-serif;";
/// The card the email is written on (its top rule, in the accent, follows).
const CARD: &str = "max-width:560px;background:#ffffff;border:1px solid #e4e7ec;\
                    border-radius:10px;border-top:4px solid ";
/// The organisation's name, over the sentences.
const NAME: &str = "padding:20px 24px 0;font-size:18px;font-weight:600;color:#1f2430;";
/// The sentences' cell.
const SENTENCES: &str = "padding:20px 24px 8px;font-size:15px;line-height:1.5;color:#1f2430;";
/// A paragraph.
const PARAGRAPH: &str = "margin:0 0 16px;";
/// A paragraph in small print.
const SMALL: &str = "margin:0 0 16px;font-size:13px;color:#667085;";
/// The link written out (its colour, the accent, follows).
const WRITTEN_LINK: &str = "word-break:break-all;color:";
/// The button (its background, the accent, follows).
const BUTTON: &str = "display:inline-block;color:#ffffff;text-decoration:none;font-weight:600;\
                      padding:12px 20px;border-radius:8px;background:";

/// The HTML part: a card with the organisation's name over a rule in its colour, the sentences, and
/// the link as a button and written out.
fn document(lines: &Lines, link: &str, locale: Locale, org: Option<&str>, accent: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(locale) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (lines.subject) }
            }
            body style="margin:0;padding:0;background:#f5f6f8;" {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0"
                    style="background:#f5f6f8;" {
                    tr { td align="center" style="padding:24px 12px;" {
                        table role="presentation" width="100%" cellpadding="0" cellspacing="0"
                            style={ (CARD) (accent) } {
                            @if let Some(org) = org {
                                tr { td style={ (FONT) (NAME) } { (org) } }
                            }
                            tr { td style={ (FONT) (SENTENCES) } {
                                p style=(PARAGRAPH) { (lines.greeting) }
                                p style=(PARAGRAPH) { (lines.reason) }
                                p style="margin:24px 0;" {
                                    a href=(link) style={ (BUTTON) (accent) } { (lines.button) }
                                }
                                p style=(PARAGRAPH) { (lines.expiry) }
                                p style=(SMALL) {
                                    (lines.fallback) br;
                                    a href=(link) style={ (WRITTEN_LINK) (accent) } { (link) }
                                }
                                p style=(SMALL) { (lines.ignore) }
                            } }
                        }
                    } }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use portal_sessions::Language;

    use super::*;

    const LINK: &str = "https://app.example.com/billing/r/ps_live_abc123";

    fn acme() -> Branding {
        Branding {
            name: "Acme".into(),
            logo_url: None,
            brand_color: Some("#0e7490".into()),
            frame_ancestors: Vec::new(),
        }
    }

    fn email(kind: LinkEmailKind, tag: &str, branding: Option<&Branding>) -> Email {
        link_email(
            kind,
            tag.parse().unwrap(),
            branding,
            LINK,
            Duration::from_secs(5_400),
            "ada@example.com",
        )
    }

    #[test]
    fn every_language_renders_both_kinds_with_the_link_and_the_lifetime() {
        let lifetimes = [
            (Language::English, "1 hour and 30 minutes"),
            (Language::French, "1 heure et 30 minutes"),
            (Language::German, "1 Stunde und 30 Minuten"),
            (Language::Spanish, "1 hora y 30 minutos"),
        ];
        for (language, lifetime) in lifetimes {
            let locale = Locale::of(language);
            let recovery = email(LinkEmailKind::Recovery, &locale.to_string(), Some(&acme()));
            let login = email(LinkEmailKind::Login, &locale.to_string(), Some(&acme()));
            assert_ne!(recovery.text, login.text, "{language:?}");
            for email in [&recovery, &login] {
                assert_eq!(email.locale, locale);
                assert_eq!(email.to, "ada@example.com");
                assert_eq!(email.from, None);
                assert!(
                    email.subject.contains("Acme"),
                    "{language:?}: {}",
                    email.subject
                );
                for body in [&email.text, &email.html] {
                    assert!(body.contains(LINK), "{language:?}: {body}");
                    assert!(body.contains(lifetime), "{language:?}: {body}");
                    assert!(body.contains("Acme"), "{language:?}: {body}");
                    assert!(
                        !body.contains('{'),
                        "{language:?}: an unfilled template: {body}"
                    );
                }
                assert!(
                    email.html.contains(&format!("<html lang=\"{locale}\">")),
                    "{}",
                    email.html
                );
                assert!(email.html.contains(&format!("href=\"{LINK}\"")));
            }
        }
    }

    #[test]
    fn english_reads_as_written() {
        let recovery = email(LinkEmailKind::Recovery, "en", Some(&acme()));
        assert_eq!(recovery.subject, "Your link to the Acme billing portal");
        assert_eq!(
            recovery.text,
            format!(
                "Hello,\n\nHere is your new link to the Acme billing portal.\n\n{LINK}\n\nThe link \
                 works once and expires in 1 hour and 30 minutes.\n\nIf you did not ask for this, \
                 you can ignore this email: nobody can use the link without access to your \
                 inbox.\n"
            )
        );
        let login = email(LinkEmailKind::Login, "en", None);
        assert_eq!(login.subject, "Your link to your billing portal");
        assert!(
            login
                .text
                .contains("You asked for a link to your billing portal: here it is.")
        );
    }

    #[test]
    fn values_are_escaped_in_html() {
        let evil = Branding {
            name: "<b>&\"".into(),
            logo_url: None,
            brand_color: Some("red;}</style><script>".into()),
            frame_ancestors: Vec::new(),
        };
        let link = "https://app.example.com/r/x?a=1&b=\"><script>alert(1)</script>";
        let email = link_email(
            LinkEmailKind::Login,
            Locale::ENGLISH,
            Some(&evil),
            link,
            Duration::from_secs(600),
            "ada@example.com",
        );
        let html = &email.html;
        assert!(html.contains("&lt;b&gt;&amp;&quot;"), "{html}");
        assert!(
            !html.contains("<b>") && !html.contains("<script>"),
            "{html}"
        );
        assert!(
            html.contains("x?a=1&amp;b=&quot;&gt;&lt;script&gt;"),
            "{html}"
        );
        assert!(
            !html.contains("red;") && html.contains(crate::html::DEFAULT_ACCENT),
            "{html}"
        );
        // The text part is not HTML: it says the name and the link as they are.
        assert!(email.text.contains("<b>&\"") && email.text.contains(link));
        assert!(email.subject.contains("<b>&\""));
    }

    #[test]
    fn the_subject_stays_on_one_line() {
        let branding = Branding {
            name: "Acme\r\nBcc: eve@example.com".into(),
            ..Branding::default()
        };
        let email = email(LinkEmailKind::Recovery, "de", Some(&branding));
        assert!(!email.subject.contains(['\r', '\n']), "{}", email.subject);
        assert_eq!(
            email.subject,
            "Ihr Link zu Ihrem Abrechnungsportal bei Acme  Bcc: eve@example.com"
        );
    }

    #[test]
    fn an_unnamed_organisation_gets_a_plain_email() {
        let unnamed = Branding {
            name: "  ".into(),
            ..Branding::default()
        };
        for branding in [None, Some(&unnamed)] {
            let email = email(LinkEmailKind::Recovery, "fr", branding);
            assert_eq!(
                email.subject,
                "Votre lien vers votre portail de facturation"
            );
            assert!(email.html.contains(crate::html::DEFAULT_ACCENT));
            assert!(
                email
                    .text
                    .contains("Voici votre nouveau lien vers votre portail de facturation.")
            );
        }
    }
}
