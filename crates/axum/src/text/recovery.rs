//! What the pages of recovery and of the login page say: [`RecoveryTexts`], one value in each
//! language's [`Texts`](super::Texts).

use super::Message;

/// The sentences of the pages that lead a customer whose link no longer works to a new one.
#[derive(Debug)]
pub(crate) struct RecoveryTexts {
    /// The offer under a used or expired link's message.
    pub(crate) offer: &'static str,
    /// The button that asks for a new link.
    pub(crate) email_me: &'static str,
    /// The way to the organisation's login page, when the link cannot ask itself.
    pub(crate) login_link: &'static str,
    /// When there is neither: `{org}` (the organisation's name, or [`Self::the_org`]).
    pub(crate) contact: &'static str,
    /// The organisation, when it has no name.
    pub(crate) the_org: &'static str,
    /// The page after a new link was sent: `{address}` (masked) and `{lifetime}`.
    pub(crate) sent: Message,
    /// The page when the mail server did not take the message.
    pub(crate) not_sent: Message,
    /// The page when this link cannot ask for a new one (revoked, opted out, outside the window,
    /// no address).
    pub(crate) refused: Message,
    /// The page when the customer already asked for too many links this hour.
    pub(crate) too_many: Message,
    /// The login page's title.
    pub(crate) login_title: &'static str,
    /// The login page's sentence: `{org}`.
    pub(crate) login_text: &'static str,
    /// The label of the address field.
    pub(crate) address_label: &'static str,
    /// The login page's button.
    pub(crate) login_button: &'static str,
    /// The page after a login post, whatever the address: `{lifetime}`.
    pub(crate) login_sent: Message,
    /// The page for a post whose address is not one (empty, too long, no `@`).
    pub(crate) login_invalid: Message,
}

impl RecoveryTexts {
    /// Every string, named, for the tests that check each language says everything: the
    /// destructuring names every field, so a new one cannot be left out.
    #[cfg(test)]
    pub(crate) fn every_string(&'static self) -> Vec<(&'static str, &'static str)> {
        let RecoveryTexts {
            offer,
            email_me,
            login_link,
            contact,
            the_org,
            sent,
            not_sent,
            refused,
            too_many,
            login_title,
            login_text,
            address_label,
            login_button,
            login_sent,
            login_invalid,
        } = self;
        vec![
            ("recovery.offer", *offer),
            ("recovery.email_me", *email_me),
            ("recovery.login_link", *login_link),
            ("recovery.contact", *contact),
            ("recovery.the_org", *the_org),
            ("recovery.sent.title", sent.title),
            ("recovery.sent.text", sent.text),
            ("recovery.not_sent.title", not_sent.title),
            ("recovery.not_sent.text", not_sent.text),
            ("recovery.refused.title", refused.title),
            ("recovery.refused.text", refused.text),
            ("recovery.too_many.title", too_many.title),
            ("recovery.too_many.text", too_many.text),
            ("recovery.login_title", *login_title),
            ("recovery.login_text", *login_text),
            ("recovery.address_label", *address_label),
            ("recovery.login_button", *login_button),
            ("recovery.login_sent.title", login_sent.title),
            ("recovery.login_sent.text", login_sent.text),
            ("recovery.login_invalid.title", login_invalid.title),
            ("recovery.login_invalid.text", login_invalid.text),
        ]
    }
}
