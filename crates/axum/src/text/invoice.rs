//! What the invoice links, the invoice page and the summary of what is due say: [`InvoiceTexts`],
//! one value in each language's [`Texts`](super::Texts).

use super::Message;

/// The sentences of invoices beyond the portal's table.
#[derive(Debug)]
pub(crate) struct InvoiceTexts {
    /// The link to an invoice's payment page.
    pub(crate) pay: &'static str,
    /// The link to an invoice's PDF.
    pub(crate) pdf: &'static str,
    /// The heading of the summary of open invoices, at the top of the portal.
    pub(crate) to_pay: &'static str,
    /// One open invoice in that summary: `{number}` and `{amount}`.
    pub(crate) due_line: &'static str,
    /// The invoice page's title: `{number}`.
    pub(crate) title: &'static str,
    /// The issue date's label.
    pub(crate) issued: &'static str,
    /// The way back from an invoice page to the portal.
    pub(crate) back_to_portal: &'static str,
    /// The page of an invoice the customer does not have.
    pub(crate) not_found: Message,
}

impl InvoiceTexts {
    /// Every string, named, for the tests that check each language says everything.
    #[cfg(test)]
    pub(crate) fn every_string(&'static self) -> Vec<(&'static str, &'static str)> {
        let InvoiceTexts {
            pay,
            pdf,
            to_pay,
            due_line,
            title,
            issued,
            back_to_portal,
            not_found,
        } = self;
        vec![
            ("invoice.pay", *pay),
            ("invoice.pdf", *pdf),
            ("invoice.to_pay", *to_pay),
            ("invoice.due_line", *due_line),
            ("invoice.title", *title),
            ("invoice.issued", *issued),
            ("invoice.back_to_portal", *back_to_portal),
            ("invoice.not_found.title", not_found.title),
            ("invoice.not_found.text", not_found.text),
        ]
    }
}
