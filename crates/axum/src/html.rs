//! Server-rendered pages: inline CSS, no external assets, readable at phone width.

use std::fmt::Write as _;

use portal_sessions::{Feature, Features, Locale, SessionView};

use crate::data::{Branding, CustomerBilling};
use crate::text::{Speech, fill};

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A brand colour if it is exactly `#rrggbb`, else the default indigo.
fn accent(branding: Option<&Branding>) -> &str {
    branding
        .and_then(|b| b.brand_color.as_deref())
        .filter(|c| {
            c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .unwrap_or("#4f46e5")
}

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
    fn back_link(&self, speech: &Speech) -> String {
        let Some(url) = self.return_url else {
            return String::new();
        };
        let texts = speech.texts;
        let label = match self.branding {
            Some(branding) if !branding.name.is_empty() => {
                fill(texts.back_to, &[("org", &branding.name)])
            }
            _ => texts.back.to_owned(),
        };
        format!(
            "<p class=\"back\"><a href=\"{}\" rel=\"noreferrer\">{}</a></p>",
            escape(url),
            escape(&label)
        )
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
}

impl Page {
    /// The Content-Security-Policy for this page.
    pub(crate) fn content_security_policy(&self) -> String {
        let inline = self
            .nonce
            .as_deref()
            .map(|nonce| format!("'nonce-{nonce}'"))
            .unwrap_or_else(|| "'none'".to_owned());
        format!(
            "default-src 'none'; style-src {inline}; script-src {inline}; img-src https: data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    }
}

/// A fresh nonce: 128 random bits, hex.
fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// ` nonce="…"`, or nothing without a nonce.
fn nonce_attribute(nonce: Option<&str>) -> String {
    nonce
        .map(|nonce| format!(" nonce=\"{nonce}\""))
        .unwrap_or_default()
}

fn layout(
    title: &str,
    chrome: &Chrome<'_>,
    speech: &Speech,
    body: &str,
    footer: &str,
    nonce: Option<String>,
) -> Page {
    let nonce_attribute = nonce_attribute(nonce.as_deref());
    let branding = chrome.branding;
    let org = branding
        .map(|b| b.name.as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or(speech.texts.billing_portal);
    let logo = branding
        .and_then(|b| b.logo_url.as_deref())
        .filter(|url| url.starts_with("https://"))
        .map(|url| format!("<img src=\"{}\" alt=\"\">", escape(url)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} · {org}</title>\
         <style{nonce_attribute}>:root{{--accent:{accent}}}{STYLE}</style></head><body>\
         <header><div class=\"inner\">{logo}<span class=\"org\">{org}</span>\
         <span class=\"tag\">{tag}</span></div></header>\
         <main>{body}</main>{footer}</body></html>",
        lang = speech.locale,
        title = escape(title),
        org = escape(org),
        tag = escape(speech.texts.secure_billing_portal),
        accent = accent(branding),
    );
    Page {
        html,
        locale: speech.locale,
        nonce,
    }
}

/// A page with one message: link errors, "session ended", "signed out".
pub(crate) fn message(title: &str, text: &str, chrome: &Chrome<'_>, speech: &Speech) -> Page {
    let body = format!(
        "<div class=\"card center\"><h1>{}</h1><p class=\"muted\">{}</p>{}</div>",
        escape(title),
        escape(text),
        chrome.back_link(speech)
    );
    layout(title, chrome, speech, &body, "", nonce())
}

/// The page a link's GET shows: a form that POSTs to the same URL, submitted by script at once, with
/// a visible button for browsers without script. Opening it does not consume the link, so mail
/// scanners that prefetch links leave it usable.
pub(crate) fn interstitial(chrome: &Chrome<'_>, speech: &Speech, lifetime: &str) -> Page {
    let nonce = nonce();
    let texts = speech.texts;
    let body = format!(
        "<div class=\"card center\"><h1>{}</h1><p class=\"muted\">{}</p>\
         <form method=\"post\" id=\"open\"><button type=\"submit\">{}</button></form>\
         <script{}>document.getElementById('open').submit()</script></div>",
        escape(texts.opening),
        escape(&fill(texts.open_text, &[("lifetime", lifetime)])),
        escape(texts.open_button),
        nonce_attribute(nonce.as_deref())
    );
    layout(texts.open_title, chrome, speech, &body, "", nonce)
}

/// A status pill: coloured by the status as given, labelled in the page's language.
fn pill(status: &str, speech: &Speech) -> String {
    let class: String = status
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!(
        "<span class=\"pill {class}\">{}</span>",
        escape(speech.status(status))
    )
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
        .map(|b| b.name.as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or(texts.portal_intro_us);
    let intro = fill(
        texts.portal_intro,
        &[("org", org), ("time", &speech.instant(session.expires_at))],
    );
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"card\"><h1>{}</h1><p class=\"muted\">{}</p>{}</div>",
        escape(&customer.name),
        escape(&intro),
        chrome.back_link(speech)
    );

    if page.sections.contains(Feature::Subscriptions) {
        subscription_card(&mut body, billing, speech);
    }
    if page.sections.contains(Feature::Invoices) {
        invoices_card(&mut body, billing, speech);
    }
    if page.sections.contains(Feature::Usage) {
        usage_card(&mut body, billing, speech);
    }
    if page.sections.contains(Feature::Profile) {
        let _ = write!(
            body,
            "<div class=\"card\" id=\"profile\"><h2>{}</h2><dl><dt>{}</dt><dd>{}</dd>\
             <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl></div>",
            escape(texts.profile),
            escape(texts.name),
            escape(&customer.name),
            escape(texts.email),
            customer
                .email
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| format!(
                    "<span class=\"muted\">{}</span>",
                    escape(texts.none_on_file)
                )),
            escape(texts.customer_id),
            escape(&customer.external_id)
        );
    }
    let footer = format!(
        "<footer><span>{}</span><form method=\"post\" action=\"{}\">\
         <button type=\"submit\">{}</button></form></footer>",
        escape(&fill(texts.portal_footer, &[("lifetime", page.lifetime)])),
        escape(page.logout_path),
        escape(texts.sign_out)
    );
    layout(texts.portal_title, chrome, speech, &body, &footer, nonce())
}

fn subscription_card(body: &mut String, billing: &CustomerBilling, speech: &Speech) {
    let texts = speech.texts;
    let _ = write!(
        body,
        "<div class=\"card\" id=\"subscription\"><h2>{}</h2>",
        escape(texts.subscription)
    );
    match &billing.subscription {
        Some(sub) => {
            let _ = write!(
                body,
                "<p><span class=\"big\">{}</span> <span class=\"muted\">/ {}</span></p>\
                 <dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>{}</dl>",
                escape(&speech.money(sub.amount_cents, &sub.currency)),
                escape(speech.interval(&sub.interval)),
                escape(texts.plan),
                escape(&sub.plan),
                escape(texts.status),
                pill(&sub.status, speech),
                sub.renews_on
                    .as_deref()
                    .map(|date| format!(
                        "<dt>{}</dt><dd>{}</dd>",
                        escape(texts.renews_on),
                        escape(&speech.date(date))
                    ))
                    .unwrap_or_default()
            );
        }
        None => {
            let _ = write!(
                body,
                "<p class=\"muted\">{}</p>",
                escape(texts.no_subscription)
            );
        }
    }
    body.push_str("</div>");
}

fn invoices_card(body: &mut String, billing: &CustomerBilling, speech: &Speech) {
    let texts = speech.texts;
    let _ = write!(
        body,
        "<div class=\"card\" id=\"invoices\"><h2>{}</h2>",
        escape(texts.invoices)
    );
    if billing.invoices.is_empty() {
        let _ = write!(body, "<p class=\"muted\">{}</p>", escape(texts.no_invoices));
    } else {
        let _ = write!(
            body,
            "<table><thead><tr><th>{}</th><th class=\"hide-sm\">{}</th>\
             <th>{}</th><th class=\"num\">{}</th></tr></thead><tbody>",
            escape(texts.invoice),
            escape(texts.date),
            escape(texts.status),
            escape(texts.amount)
        );
        for invoice in &billing.invoices {
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"hide-sm\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(&invoice.number),
                escape(&speech.date(&invoice.issued_on)),
                pill(&invoice.status, speech),
                escape(&speech.money(invoice.amount_cents, &invoice.currency))
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</div>");
}

fn usage_card(body: &mut String, billing: &CustomerBilling, speech: &Speech) {
    let texts = speech.texts;
    let _ = write!(
        body,
        "<div class=\"card\" id=\"usage\"><h2>{}</h2>",
        escape(texts.usage)
    );
    if billing.usage.is_empty() {
        let _ = write!(body, "<p class=\"muted\">{}</p>", escape(texts.no_usage));
    } else {
        let _ = write!(
            body,
            "<table><thead><tr><th>{}</th><th class=\"hide-sm\">{}</th>\
             <th class=\"num\">{}</th></tr></thead><tbody>",
            escape(texts.metric),
            escape(texts.period),
            escape(texts.quantity)
        );
        for line in &billing.usage {
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"hide-sm\">{}</td><td class=\"num\">{} {}</td></tr>",
                escape(&line.metric),
                escape(&line.period),
                escape(&speech.number(line.quantity)),
                escape(&line.unit)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_matters() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn only_a_hex_colour_reaches_the_stylesheet() {
        let evil = Branding {
            name: "x".into(),
            logo_url: Some("javascript:alert(1)".into()),
            brand_color: Some("red;}</style><script>".into()),
        };
        assert_eq!(accent(Some(&evil)), "#4f46e5");
        let chrome = Chrome {
            branding: Some(&evil),
            return_url: None,
        };
        let page = layout("t", &chrome, &Speech::new(Locale::ENGLISH), "", "", nonce()).html;
        assert!(!page.contains("<script>") && !page.contains("javascript:"));
    }
}
