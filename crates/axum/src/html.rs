//! Server-rendered pages: inline CSS, no external assets, readable at phone width.

use std::fmt::Write as _;

use portal_sessions::{Feature, Features, SessionView};

use crate::data::{Branding, CustomerBilling};

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
    fn back_link(&self) -> String {
        let Some(url) = self.return_url else {
            return String::new();
        };
        let label = match self.branding {
            Some(branding) if !branding.name.is_empty() => format!("Back to {}", branding.name),
            _ => "Back".to_owned(),
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
    body: &str,
    footer: &str,
    nonce: Option<String>,
) -> Page {
    let nonce_attribute = nonce_attribute(nonce.as_deref());
    let branding = chrome.branding;
    let org = branding
        .map(|b| b.name.as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or("Billing portal");
    let logo = branding
        .and_then(|b| b.logo_url.as_deref())
        .filter(|url| url.starts_with("https://"))
        .map(|url| format!("<img src=\"{}\" alt=\"\">", escape(url)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} · {org}</title>\
         <style{nonce_attribute}>:root{{--accent:{accent}}}{STYLE}</style></head><body>\
         <header><div class=\"inner\">{logo}<span class=\"org\">{org}</span>\
         <span class=\"tag\">Secure billing portal</span></div></header>\
         <main>{body}</main>{footer}</body></html>",
        title = escape(title),
        org = escape(org),
        accent = accent(branding),
    );
    Page { html, nonce }
}

/// A page with one message: link errors, "session ended", "signed out".
pub(crate) fn message(title: &str, text: &str, chrome: &Chrome<'_>) -> Page {
    let body = format!(
        "<div class=\"card center\"><h1>{}</h1><p class=\"muted\">{}</p>{}</div>",
        escape(title),
        escape(text),
        chrome.back_link()
    );
    layout(title, chrome, &body, "", nonce())
}

/// The page a link's GET shows: a form that POSTs to the same URL, submitted by script at once, with
/// a visible button for browsers without script. Opening it does not consume the link, so mail
/// scanners that prefetch links leave it usable.
pub(crate) fn interstitial(chrome: &Chrome<'_>, lifetime: &str) -> Page {
    let nonce = nonce();
    let body = format!(
        "<div class=\"card center\"><h1>Opening your billing portal…</h1>\
         <p class=\"muted\">This link works once and signs you in for up to {}.</p>\
         <form method=\"post\" id=\"open\"><button type=\"submit\">Open my billing portal</button></form>\
         <script{}>document.getElementById('open').submit()</script></div>",
        escape(lifetime),
        nonce_attribute(nonce.as_deref())
    );
    layout("Open your billing portal", chrome, &body, "", nonce)
}

/// A lifetime as people say it: `1 hour`, `10 minutes`, `1 hour and 30 minutes`.
pub(crate) fn lifetime(duration: std::time::Duration) -> String {
    let total = duration.as_secs();
    let parts: Vec<String> = [
        (total / 3_600, "hour"),
        (total % 3_600 / 60, "minute"),
        (total % 60, "second"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, unit)| format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
    .collect();
    match parts.as_slice() {
        [] => "less than a second".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// An instant as people read it: `25 Nov 2026, 04:06 UTC`.
pub(crate) fn human_time(time: portal_sessions::Timestamp) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Timestamp's Display is fixed-width: YYYY-MM-DDTHH:MM:SS.mmmZ.
    let text = time.to_string();
    let month = text
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("?");
    format!(
        "{} {month} {}, {} UTC",
        text.get(8..10).unwrap_or("?").trim_start_matches('0'),
        text.get(0..4).unwrap_or("?"),
        text.get(11..16).unwrap_or("?")
    )
}

/// `n` with thousands separators: `1,234,567`.
pub(crate) fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `cents` of `currency`, written for people: `$1,234.50`, `€9.00`, `1,000.00 SEK`.
pub(crate) fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    let whole = i64::try_from(magnitude / 100).unwrap_or(i64::MAX);
    let amount = format!("{}.{:02}", grouped(whole), magnitude % 100);
    match currency.to_ascii_uppercase().as_str() {
        "USD" => format!("{sign}${amount}"),
        "EUR" => format!("{sign}€{amount}"),
        "GBP" => format!("{sign}£{amount}"),
        other => format!("{sign}{amount} {}", escape(other)),
    }
}

fn pill(status: &str) -> String {
    let class: String = status
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("<span class=\"pill {class}\">{}</span>", escape(status))
}

/// What the portal page shows besides the billing data.
pub(crate) struct PortalPage<'a> {
    /// The session being viewed.
    pub(crate) session: &'a SessionView,
    /// The sections to show: the session's features, or all four.
    pub(crate) sections: Features,
    /// The configured session lifetime, in words.
    pub(crate) lifetime: &'a str,
    /// Where the sign-out form posts.
    pub(crate) logout_path: &'a str,
}

/// The portal: the sections of subscription, invoices, usage and profile that the session shows.
pub(crate) fn portal(
    page: &PortalPage<'_>,
    chrome: &Chrome<'_>,
    billing: &CustomerBilling,
) -> Page {
    let session = page.session;
    let customer = &session.customer;
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"card\"><h1>{}</h1><p class=\"muted\">Your billing with {}. \
         For your security this page signs you out at {}.</p>{}</div>",
        escape(&customer.name),
        escape(
            chrome
                .branding
                .map(|b| b.name.as_str())
                .filter(|name| !name.is_empty())
                .unwrap_or("us")
        ),
        human_time(session.expires_at),
        chrome.back_link()
    );

    if page.sections.contains(Feature::Subscriptions) {
        subscription_card(&mut body, billing);
    }
    if page.sections.contains(Feature::Invoices) {
        invoices_card(&mut body, billing);
    }
    if page.sections.contains(Feature::Usage) {
        usage_card(&mut body, billing);
    }
    if page.sections.contains(Feature::Profile) {
        let _ = write!(
            body,
            "<div class=\"card\" id=\"profile\"><h2>Profile</h2><dl><dt>Name</dt><dd>{}</dd><dt>Email</dt><dd>{}</dd>\
             <dt>Customer ID</dt><dd>{}</dd></dl></div>",
            escape(&customer.name),
            customer
                .email
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| "<span class=\"muted\">none on file</span>".to_owned()),
            escape(&customer.external_id)
        );
    }
    let footer = format!(
        "<footer><span>Links to this portal work once and expire after {}.</span>\
         <form method=\"post\" action=\"{}\"><button type=\"submit\">Sign out</button></form></footer>",
        escape(page.lifetime),
        escape(page.logout_path)
    );
    layout("Billing", chrome, &body, &footer, nonce())
}

fn subscription_card(body: &mut String, billing: &CustomerBilling) {
    body.push_str("<div class=\"card\" id=\"subscription\"><h2>Subscription</h2>");
    match &billing.subscription {
        Some(sub) => {
            let _ = write!(
                body,
                "<p><span class=\"big\">{}</span> <span class=\"muted\">/ {}</span></p>\
                 <dl><dt>Plan</dt><dd>{}</dd><dt>Status</dt><dd>{}</dd>{}</dl>",
                money(sub.amount_cents, &sub.currency),
                escape(&sub.interval),
                escape(&sub.plan),
                pill(&sub.status),
                sub.renews_on
                    .as_deref()
                    .map(|date| format!("<dt>Renews on</dt><dd>{}</dd>", escape(date)))
                    .unwrap_or_default()
            );
        }
        None => body.push_str("<p class=\"muted\">No active subscription.</p>"),
    }
    body.push_str("</div>");
}

fn invoices_card(body: &mut String, billing: &CustomerBilling) {
    body.push_str("<div class=\"card\" id=\"invoices\"><h2>Invoices</h2>");
    if billing.invoices.is_empty() {
        body.push_str("<p class=\"muted\">No invoices yet.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>Invoice</th><th class=\"hide-sm\">Date</th>\
             <th>Status</th><th class=\"num\">Amount</th></tr></thead><tbody>",
        );
        for invoice in &billing.invoices {
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"hide-sm\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(&invoice.number),
                escape(&invoice.issued_on),
                pill(&invoice.status),
                money(invoice.amount_cents, &invoice.currency)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</div>");
}

fn usage_card(body: &mut String, billing: &CustomerBilling) {
    body.push_str("<div class=\"card\" id=\"usage\"><h2>Usage</h2>");
    if billing.usage.is_empty() {
        body.push_str("<p class=\"muted\">No metered usage this period.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>Metric</th><th class=\"hide-sm\">Period</th>\
             <th class=\"num\">Quantity</th></tr></thead><tbody>",
        );
        for line in &billing.usage {
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"hide-sm\">{}</td><td class=\"num\">{} {}</td></tr>",
                escape(&line.metric),
                escape(&line.period),
                grouped(line.quantity),
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
    fn times_read_like_dates() {
        let t = portal_sessions::Timestamp::parse_rfc3339("2026-11-05T04:06:20.905Z");
        assert_eq!(t.map(human_time).as_deref(), Some("5 Nov 2026, 04:06 UTC"));
    }

    #[test]
    fn lifetimes_read_like_speech() {
        use std::time::Duration;
        assert_eq!(lifetime(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(lifetime(Duration::from_secs(600)), "10 minutes");
        assert_eq!(
            lifetime(Duration::from_secs(5_400)),
            "1 hour and 30 minutes"
        );
        assert_eq!(lifetime(Duration::from_secs(86_400)), "24 hours");
        assert_eq!(
            lifetime(Duration::from_secs(3_661)),
            "1 hour, 1 minute and 1 second"
        );
        assert_eq!(lifetime(Duration::from_secs(1)), "1 second");
    }

    #[test]
    fn money_is_grouped_and_signed() {
        assert_eq!(money(12_345_678, "usd"), "$123,456.78");
        assert_eq!(money(-5, "EUR"), "-€0.05");
        assert_eq!(money(100_000, "SEK"), "1,000.00 SEK");
        assert_eq!(money(0, "GBP"), "£0.00");
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
        let page = layout("t", &chrome, "", "", nonce()).html;
        assert!(!page.contains("<script>") && !page.contains("javascript:"));
    }
}
