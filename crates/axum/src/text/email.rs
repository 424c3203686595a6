//! What an email that carries a portal link says: [`EmailTexts`], one value in each language's
//! [`Texts`](super::Texts).

/// The sentences of an email that carries a link to the billing portal (see `crate::mail`).
///
/// `{portal}` in a sentence is [`EmailTexts::portal_of`] (with `{org}` the organisation's name) or
/// [`EmailTexts::portal`] when the organisation has no name, so that every language can inflect the
/// portal's name for where the sentences put it (German writes the dative: `zu {portal}`).
#[derive(Debug)]
pub(crate) struct EmailTexts {
    /// The subject line: `{portal}`.
    pub(crate) subject: &'static str,
    /// The portal, named by its organisation: `{org}`.
    pub(crate) portal_of: &'static str,
    /// The portal, when the organisation has no name.
    pub(crate) portal: &'static str,
    /// The greeting, its own paragraph.
    pub(crate) greeting: &'static str,
    /// Why the email came, when a used or expired link was replaced: `{portal}`.
    pub(crate) recovery: &'static str,
    /// Why the email came, when the customer asked on the login page: `{portal}`.
    pub(crate) login: &'static str,
    /// Before the link written out under the button, for mail readers that show no button.
    pub(crate) fallback: &'static str,
    /// How long the link works: `{lifetime}`, as [`Speech::lifetime`](super::Speech::lifetime)
    /// says it.
    pub(crate) expiry: &'static str,
    /// What to do with an email one did not ask for.
    pub(crate) ignore: &'static str,
}

impl EmailTexts {
    /// Every string, named, for the tests that check each language says everything: the
    /// destructuring names every field, so a new one cannot be left out.
    #[cfg(test)]
    pub(crate) fn every_string(&'static self) -> Vec<(&'static str, &'static str)> {
        let EmailTexts {
            subject,
            portal_of,
            portal,
            greeting,
            recovery,
            login,
            fallback,
            expiry,
            ignore,
        } = self;
        vec![
            ("link_email.subject", *subject),
            ("link_email.portal_of", *portal_of),
            ("link_email.portal", *portal),
            ("link_email.greeting", *greeting),
            ("link_email.recovery", *recovery),
            ("link_email.login", *login),
            ("link_email.fallback", *fallback),
            ("link_email.expiry", *expiry),
            ("link_email.ignore", *ignore),
        ]
    }
}
