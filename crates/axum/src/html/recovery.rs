//! The pages that lead a customer whose link no longer works to a new one: the refusal page's next
//! step, and the organisation's login page.

use maud::{Markup, html};

use super::{Chrome, Page, layout, nonce};
use crate::data::Branding;
use crate::text::{Speech, fill};

/// What a page that cannot open the portal offers instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NextStep {
    /// "Email me a new link": a form that posts to `action` (`{mount}/r/{token}/recover`).
    EmailMe {
        /// Where the form posts.
        action: String,
    },
    /// A link to the organisation's login page.
    LoginPage {
        /// `{mount}/login/{org id}`.
        href: String,
    },
    /// Neither: contact the organisation.
    Contact,
    /// Nothing (a page about no organisation).
    Nothing,
}

impl NextStep {
    /// The step, as the refusal page shows it under its message.
    pub(crate) fn markup(&self, chrome: &Chrome<'_>, speech: &Speech) -> Markup {
        let texts = &speech.texts.recovery;
        match self {
            NextStep::EmailMe { action } => html! {
                p.muted { (texts.offer) }
                form method="post" action=(action) { button type="submit" { (texts.email_me) } }
            },
            NextStep::LoginPage { href } => html! {
                p { a.action href=(href) { (texts.login_link) } }
            },
            NextStep::Contact => {
                let org = chrome
                    .branding
                    .and_then(Branding::shown_name)
                    .unwrap_or(texts.the_org);
                html! { p.muted { (fill(texts.contact, &[("org", org)])) } }
            }
            NextStep::Nothing => html! {},
        }
    }
}

/// A page with one message and what to do next.
pub(crate) fn message_with_step(
    title: &str,
    text: &str,
    step: &NextStep,
    chrome: &Chrome<'_>,
    speech: &Speech,
) -> Page {
    let body = html! {
        div.card.center {
            h1 { (title) }
            p.muted { (text) }
            (step.markup(chrome, speech))
            (chrome.back_link(speech))
        }
    };
    layout(title, chrome, speech, body, html! {}, nonce())
}

/// The organisation's login page: one address field, posted to the same URL; `locale` rides along
/// so that the answer speaks the page's language.
pub(crate) fn login(chrome: &Chrome<'_>, speech: &Speech, error: Option<&str>) -> Page {
    let texts = &speech.texts.recovery;
    let org = chrome
        .branding
        .and_then(Branding::shown_name)
        .unwrap_or(texts.the_org);
    let body = html! {
        div.card.center {
            h1 { (texts.login_title) }
            p.muted { (fill(texts.login_text, &[("org", org)])) }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.login method="post" {
                input type="hidden" name="locale" value=(speech.locale);
                label for="email" { (texts.address_label) }
                input #email type="email" name="email" required autocomplete="email"
                    maxlength=(portal_sessions::MAX_EMAIL_BYTES) inputmode="email";
                button type="submit" { (texts.login_button) }
            }
        }
    };
    layout(texts.login_title, chrome, speech, body, html! {}, nonce())
}
