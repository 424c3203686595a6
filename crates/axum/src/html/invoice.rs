//! Invoices beyond the portal's table: their Pay and PDF links, the summary of what is due at the
//! top of the portal, and the page of one invoice.
//!
//! Links that leave the portal (Pay, PDF) open outside it, and outside any frame it is in:
//! `target="_blank" rel="noopener noreferrer"`. Their URLs are [`HttpsUrl`](crate::HttpsUrl)s,
//! checked when the invoice was made.

use maud::{Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Chrome, Page, layout, nonce, pill};
use crate::data::{CustomerBilling, Invoice};
use crate::text::{Speech, fill};

/// What a path segment keeps unencoded: the unreserved characters of RFC 3986.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path of an invoice's page under `invoices_path` (`/billing/portal/invoices`), its number
/// percent-encoded.
pub(crate) fn invoice_path(invoices_path: &str, number: &str) -> String {
    format!("{invoices_path}/{}", utf8_percent_encode(number, SEGMENT))
}

/// "Pay" (for an open invoice with a payment page) and "PDF" (where there is one), as links that
/// open outside the portal.
pub(crate) fn invoice_links(invoice: &Invoice, speech: &Speech) -> Markup {
    let texts = &speech.texts.invoice_page;
    html! {
        @if let Some(pay) = invoice.pay_url.as_ref().filter(|_| invoice.is_due()) {
            a.action.pay href=(pay.as_str()) target="_blank" rel="noopener noreferrer" { (texts.pay) }
            " "
        }
        @if let Some(pdf) = &invoice.pdf_url {
            a.action href=(pdf.as_str()) target="_blank" rel="noopener noreferrer" { (texts.pdf) }
        }
    }
}

/// The summary of what is due, at the top of the portal: each open invoice with its amount and
/// its Pay link. Nothing when none is open.
pub(crate) fn due_summary(
    billing: &CustomerBilling,
    invoices_path: &str,
    speech: &Speech,
) -> Markup {
    let texts = &speech.texts.invoice_page;
    let due: Vec<&Invoice> = billing.due().collect();
    html! {
        @if !due.is_empty() {
            div.card.due #due {
                h2 { (texts.to_pay) }
                @for invoice in due {
                    p {
                        a href=(invoice_path(invoices_path, &invoice.number)) {
                            (fill(texts.due_line, &[
                                ("number", &invoice.number),
                                ("amount", &speech.money(invoice.amount_cents, &invoice.currency)),
                            ]))
                        }
                        " "
                        (invoice_links(invoice, speech))
                    }
                }
            }
        }
    }
}

/// The page of one invoice: number, date, amount, status, Pay and PDF, and the way back to the
/// portal.
pub(crate) fn invoice_page(
    invoice: &Invoice,
    portal_path: &str,
    chrome: &Chrome<'_>,
    speech: &Speech,
) -> Page {
    let texts = speech.texts;
    let title = fill(texts.invoice_page.title, &[("number", &invoice.number)]);
    let body = html! {
        div.card #invoice {
            h1 { (title) }
            dl {
                dt { (texts.invoice_page.issued) } dd { (speech.date(&invoice.issued_on)) }
                dt { (texts.amount) } dd.big { (speech.money(invoice.amount_cents, &invoice.currency)) }
                dt { (texts.status) } dd { (pill(invoice.status.as_str(), speech)) }
            }
            p { (invoice_links(invoice, speech)) }
            p.back { a href=(portal_path) { (texts.invoice_page.back_to_portal) } }
        }
    };
    layout(&title, chrome, speech, body, html! {}, nonce())
}

/// The page of an invoice the customer does not have (404), with the way back to the portal.
pub(crate) fn invoice_not_found(portal_path: &str, chrome: &Chrome<'_>, speech: &Speech) -> Page {
    let texts = &speech.texts.invoice_page;
    let body = html! {
        div.card.center {
            h1 { (texts.not_found.title) }
            p.muted { (texts.not_found.text) }
            p.back { a href=(portal_path) { (texts.back_to_portal) } }
        }
    };
    layout(
        texts.not_found.title,
        chrome,
        speech,
        body,
        html! {},
        nonce(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_one_encoded_segment() {
        assert_eq!(
            invoice_path("/p/invoices", "INV-0042"),
            "/p/invoices/INV-0042"
        );
        assert_eq!(
            invoice_path("/p/invoices", "A/B ?#é"),
            "/p/invoices/A%2FB%20%3F%23%C3%A9"
        );
    }
}
