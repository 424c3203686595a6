//! Server-rendered pages: inline CSS, no external assets, readable at phone width.
//!
//! Every page is a [`maud`] template: `(value)` escapes the value for where it stands, in element
//! content and in quoted attributes alike, so a name, a URL or an invoice number from the host can
//! never become markup. The only unescaped text is this module's own stylesheet and script
//! ([`PreEscaped`] of constants).

use maud::{DOCTYPE, Markup, PreEscaped, html};
use portal_sessions::{Feature, Features, Locale, SessionView};

use crate::data::{Branding, CustomerBilling};
use crate::framing::Framing;
use crate::text::{Speech, fill};

mod invoice;
mod recovery;

pub(crate) use invoice::{invoice_not_found, invoice_page, invoice_path};
pub(crate) use recovery::{NextStep, login, message_with_step};

/// A brand colour if it is exactly `#rrggbb`, else the default indigo: the only colour that
/// reaches a `style`, on pages and in emails alike.
pub(crate) fn accent(branding: Option<&Branding>) -> &str {
    branding
        .and_then(|b| b.brand_color.as_deref())
        .filter(|color| Branding::is_hex_color(color))
        .unwrap_or(DEFAULT_ACCENT)
}

/// The accent of a page or an email whose organisation has no colour: indigo.
pub(crate) const DEFAULT_ACCENT: &str = "#4f46e5";

const STYLE: &str = "
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;
background:#f5f6f8;color:#1f2430;line-height:1.5}
header{background:#fff;border-top:4px solid var(--accent);border-bottom:1px solid #e4e7ec;padding:16px 20px}
header .inner{max-width:880px;margin:0 auto;display:flex;align-items:center;gap:12px}
header img{height:32px;width:auto}
header .org{font-weight:600;font-size:18px}
header .tag{margin-left:auto;font-size:13px;color:#667085}
main{max-width:880px;margin:24px auto;padding:0 16px}
.card{background:#fff;border:1px solid #e4e7ec;border-radius:10px;padding:20px;margin-bottom:16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:0 0 12px;color:#344054}
.muted{color:#667085;font-size:14px}
table{width:100%;border-collapse:collapse;font-size:14px}
th{text-align:left;color:#667085;font-weight:500;border-bottom:1px solid #e4e7ec;padding:8px 6px}
td{border-bottom:1px solid #f0f1f3;padding:10px 6px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:600}
.paid,.active{background:#ecfdf3;color:#027a48}.open,.trialing{background:#eff8ff;color:#175cd3}
.void,.canceled,.past_due{background:#fef3f2;color:#b42318}
.big{font-size:28px;font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:0;font-size:14px}
dt{color:#667085}dd{margin:0}
button{background:var(--accent);color:#fff;border:0;border-radius:8px;padding:10px 18px;font-size:15px;cursor:pointer}
.center{text-align:center;padding:48px 20px}
a.action{color:var(--accent);font-weight:600}
a.pay{background:var(--accent);color:#fff;border-radius:6px;padding:2px 10px;text-decoration:none}
.due{border-left:4px solid var(--accent)}
.error{color:#b42318;font-weight:600}
form.login{display:flex;flex-direction:column;gap:8px;max-width:360px;margin:16px auto 0;text-align:left}
form.login input[type=email]{font-size:16px;padding:10px;border:1px solid #d0d5dd;border-radius:8px}
.back a{color:var(--accent);font-weight:600;text-decoration:none}
footer{max-width:880px;margin:0 auto 32px;padding:0 16px;font-size:12px;color:#98a2b3;display:flex;justify-content:space-between;align-items:center}
footer button{background:transparent;color:#667085;border:1px solid #d0d5dd;padding:6px 12px;font-size:13px}
@media (max-width:560px){header .tag{display:none}.hide-sm{display:none}td,th{padding:8px 4px}}
";

/// What every page shows around its body: the organisation's branding and, when the session came
/// with a return URL, a way back to it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Chrome<'a> {
    /// The organisation's branding, when the page knows the organisation.
    pub(crate) branding: Option<&'a Branding>,
    /// The session's return URL (validated absolute http or https when the session was minted).
    pub(crate) return_url: Option<&'a str>,
}

impl Chrome<'_> {
    /// "Back to Demo Co", as a link to the return URL, or nothing.
    fn back_link(&self, speech: &Speech) -> Markup {
        let Some(url) = self.return_url else {
            return html! {};
        };
        let texts = speech.texts;
        let label = match self.branding {
            Some(branding) if !branding.name.is_empty() => {
                fill(texts.back_to, &[("org", &branding.name)])
            }
            _ => texts.back.to_owned(),
        };
        // In a frame, a link that leaves the portal opens outside it.
        let framable = self.branding.is_some_and(Branding::is_framable);
        html! {
            p.back {
                @if framable {
                    a href=(url) target="_blank" rel="noopener noreferrer" { (label) }
                } @else {
                    a href=(url) rel="noreferrer" { (label) }
                }
            }
        }
    }
}

/// A rendered page and the nonce its inline `<style>` and `<script>` carry: the response's
/// Content-Security-Policy allows exactly those (and no other inline code), so neither needs
/// `'unsafe-inline'`.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) html: String,
    /// The locale the page is written in: its `Content-Language`.
    pub(crate) locale: Locale,
    /// `None` only when the operating system's randomness failed: then no inline code runs.
    pub(crate) nonce: Option<String>,
    /// Who may frame it.
    pub(crate) framing: Framing,
}

impl Page {
    /// The Content-Security-Policy for this page.
    pub(crate) fn content_security_policy(&self) -> String {
        let inline = self
            .nonce
            .as_deref()
            .map(|nonce| format!("'nonce-{nonce}'"))
            .unwrap_or_else(|| "'none'".to_owned());
        let ancestors = self.framing.directive();
        format!(
            "default-src 'none'; style-src {inline}; script-src {inline}; img-src https: data:; \
             form-action 'self'; frame-ancestors {ancestors}; base-uri 'none'"
        )
    }
}

/// A fresh nonce: 128 random bits, hex.
fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn layout(
    title: &str,
    chrome: &Chrome<'_>,
    speech: &Speech,
    body: Markup,
    footer: Markup,
    nonce: Option<String>,
) -> Page {
    let branding = chrome.branding;
    let org = branding
        .and_then(Branding::shown_name)
        .unwrap_or(speech.texts.billing_portal);
    let logo = branding
        .and_then(|b| b.logo_url.as_deref())
        .filter(|url| url.starts_with("https://"));
    let framing = branding.map(Branding::framing).unwrap_or_default();
    let markup = html! {
        (DOCTYPE)
        html lang=(speech.locale) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · " (org) }
                style nonce=[nonce.as_deref()] {
                    ":root{--accent:" (accent(branding)) "}" (PreEscaped(STYLE))
                }
            }
            body {
                header {
                    div.inner {
                        @if let Some(logo) = logo { img src=(logo) alt=""; }
                        span.org { (org) }
                        span.tag { (speech.texts.secure_billing_portal) }
                    }
                }
                main { (body) }
                (footer)
                (framing.height_script_markup(nonce.as_deref()))
            }
        }
    };
    Page {
        html: markup.into_string(),
        locale: speech.locale,
        nonce,
        framing,
    }
}

/// A page with one message: link errors, "session ended", "signed out".
pub(crate) fn message(title: &str, text: &str, chrome: &Chrome<'_>, speech: &Speech) -> Page {
    let body = html! {
        div.card.center {
            h1 { (title) }
            p.muted { (text) }
            (chrome.back_link(speech))
        }
    };
    layout(title, chrome, speech, body, html! {}, nonce())
}

/// The script that submits the link page's form at once: a constant, allowed by the page's nonce.
/// In a frame, it first checks that the frame can keep a cookie (a partitioned probe cookie, set
/// and read back): where it cannot, the link is not consumed, and the page offers to open the
/// portal in a new tab instead.
const SUBMIT_AT_ONCE: &str = "(function(){var f=document.getElementById('open');\
if(window.top===window){f.submit();return;}\
var p='portal_sessions_probe=1; Path=/; SameSite=None; Secure; Partitioned';\
document.cookie=p;\
if(document.cookie.indexOf('portal_sessions_probe=1')>=0){\
document.cookie=p.replace('=1;','=; Max-Age=0;');f.submit();}\
else{f.hidden=true;document.getElementById('new-tab').hidden=false;}})();";

/// The page a link's GET shows: a form that POSTs to the same URL, submitted by script at once, with
/// a visible button for browsers without script. Opening it does not consume the link, so mail
/// scanners that prefetch links leave it usable.
pub(crate) fn interstitial(chrome: &Chrome<'_>, speech: &Speech, lifetime: &str) -> Page {
    let nonce = nonce();
    let texts = speech.texts;
    let body = html! {
        div.card.center {
            h1 { (texts.opening) }
            p.muted { (fill(texts.open_text, &[("lifetime", lifetime)])) }
            form method="post" id="open" { button type="submit" { (texts.open_button) } }
            p #new-tab hidden {
                a.action href="" target="_blank" rel="noopener" { (texts.open_in_new_tab) }
            }
            script nonce=[nonce.as_deref()] { (PreEscaped(SUBMIT_AT_ONCE)) }
        }
    };
    layout(texts.open_title, chrome, speech, body, html! {}, nonce)
}

/// A status pill: coloured by the status as given, labelled in the page's language.
fn pill(status: &str, speech: &Speech) -> Markup {
    let class: String = status
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    html! { span class={ "pill " (class) } { (speech.status(status)) } }
}

/// What the portal page shows besides the billing data.
pub(crate) struct PortalPage<'a> {
    /// The session being viewed.
    pub(crate) session: &'a SessionView,
    /// The sections to show: the session's features, or all four.
    pub(crate) sections: Features,
    /// The session's lifetime, in words.
    pub(crate) lifetime: &'a str,
    /// Where the sign-out form posts.
    pub(crate) logout_path: &'a str,
    /// Where invoice pages are: `{mount}/portal/invoices`.
    pub(crate) invoices_path: &'a str,
    /// The host's own pages this session may see: (path under the mount, label).
    pub(crate) host_links: &'a [(String, &'a str)],
}

/// The portal: the sections of subscription, invoices, usage and profile that the session shows.
pub(crate) fn portal(
    page: &PortalPage<'_>,
    chrome: &Chrome<'_>,
    speech: &Speech,
    billing: &CustomerBilling,
) -> Page {
    let texts = speech.texts;
    let session = page.session;
    let customer = &session.customer;
    let org = chrome
        .branding
        .and_then(Branding::shown_name)
        .unwrap_or(texts.portal_intro_us);
    let intro = fill(
        texts.portal_intro,
        &[("org", org), ("time", &speech.instant(session.expires_at))],
    );
    let body = html! {
        div.card {
            h1 { (customer.name) }
            p.muted { (intro) }
            @if !page.host_links.is_empty() {
                nav.host-links {
                    @for (href, label) in page.host_links {
                        a.action href=(href) { (label) } " "
                    }
                }
            }
            (chrome.back_link(speech))
        }
        @if page.sections.contains(Feature::Invoices) {
            (invoice::due_summary(billing, page.invoices_path, speech))
        }
        @if page.sections.contains(Feature::Subscriptions) { (subscription_card(billing, speech)) }
        @if page.sections.contains(Feature::Invoices) {
            (invoices_card(billing, page.invoices_path, speech))
        }
        @if page.sections.contains(Feature::Usage) { (usage_card(billing, speech)) }
        @if page.sections.contains(Feature::Profile) {
            div.card #profile {
                h2 { (texts.profile) }
                dl {
                    dt { (texts.name) } dd { (customer.name) }
                    dt { (texts.email) }
                    dd {
                        @match customer.email.as_deref() {
                            Some(email) => (email),
                            None => span.muted { (texts.none_on_file) },
                        }
                    }
                    dt { (texts.customer_id) } dd { (customer.external_id) }
                }
            }
        }
    };
    let footer = html! {
        footer {
            span { (fill(texts.portal_footer, &[("lifetime", page.lifetime)])) }
            form method="post" action=(page.logout_path) {
                button type="submit" { (texts.sign_out) }
            }
        }
    };
    layout(texts.portal_title, chrome, speech, body, footer, nonce())
}

fn subscription_card(billing: &CustomerBilling, speech: &Speech) -> Markup {
    let texts = speech.texts;
    html! {
        div.card #subscriptions {
            h2 { (texts.subscription) }
            @match &billing.subscription {
                Some(sub) => {
                    p {
                        span.big { (speech.money(sub.amount_cents, &sub.currency)) }
                        " "
                        span.muted { "/ " (speech.interval(sub.interval.as_str())) }
                    }
                    dl {
                        dt { (texts.plan) } dd { (sub.plan) }
                        dt { (texts.status) } dd { (pill(sub.status.as_str(), speech)) }
                        @if let Some(date) = sub.renews_on.as_deref() {
                            dt { (texts.renews_on) } dd { (speech.date(date)) }
                        }
                    }
                }
                None => p.muted { (texts.no_subscription) },
            }
        }
    }
}

fn invoices_card(billing: &CustomerBilling, invoices_path: &str, speech: &Speech) -> Markup {
    let texts = speech.texts;
    html! {
        div.card #invoices {
            h2 { (texts.invoices) }
            @if billing.invoices.is_empty() {
                p.muted { (texts.no_invoices) }
            } @else {
                table {
                    thead {
                        tr {
                            th { (texts.invoice) }
                            th.hide-sm { (texts.date) }
                            th { (texts.status) }
                            th.num { (texts.amount) }
                            th { }
                        }
                    }
                    tbody {
                        @for invoice in &billing.invoices {
                            tr {
                                td {
                                    a href=(invoice::invoice_path(invoices_path, &invoice.number)) {
                                        (invoice.number)
                                    }
                                }
                                td.hide-sm { (speech.date(&invoice.issued_on)) }
                                td { (pill(invoice.status.as_str(), speech)) }
                                td.num { (speech.money(invoice.amount_cents, &invoice.currency)) }
                                td { (invoice::invoice_links(invoice, speech)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn usage_card(billing: &CustomerBilling, speech: &Speech) -> Markup {
    let texts = speech.texts;
    html! {
        div.card #usage {
            h2 { (texts.usage) }
            @if billing.usage.is_empty() {
                p.muted { (texts.no_usage) }
            } @else {
                table {
                    thead {
                        tr {
                            th { (texts.metric) }
                            th.hide-sm { (texts.period) }
                            th.num { (texts.quantity) }
                        }
                    }
                    tbody {
                        @for line in &billing.usage {
                            tr {
                                td { (line.metric) }
                                td.hide-sm { (line.period) }
                                td.num { (speech.number(line.quantity)) " " (line.unit) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_content_and_attributes() {
        let evil = Branding {
            name: "<script>alert(1)</script>".into(),
            logo_url: Some("https://x/\"><script>".into()),
            brand_color: None,
            frame_ancestors: Vec::new(),
        };
        let chrome = Chrome {
            branding: Some(&evil),
            return_url: Some("https://back/\"onmouseover=\"x"),
        };
        let page = message("t", "a & b", &chrome, &Speech::new(Locale::ENGLISH)).html;
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(page.contains("a &amp; b"), "{page}");
        assert!(!page.contains("\"onmouseover"), "{page}");
        assert!(!page.contains("\"><script>"), "{page}");
    }

    #[test]
    fn only_a_hex_colour_reaches_the_stylesheet() {
        let evil = Branding {
            name: "x".into(),
            logo_url: Some("javascript:alert(1)".into()),
            brand_color: Some("red;}</style><script>".into()),
            frame_ancestors: Vec::new(),
        };
        assert_eq!(accent(Some(&evil)), "#4f46e5");
        let chrome = Chrome {
            branding: Some(&evil),
            return_url: None,
        };
        let page = layout(
            "t",
            &chrome,
            &Speech::new(Locale::ENGLISH),
            html! {},
            html! {},
            nonce(),
        )
        .html;
        assert!(!page.contains("<script>") && !page.contains("javascript:"));
    }
}
