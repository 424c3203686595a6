//! Every word the pages say, in each language the portal speaks, and how they write amounts,
//! numbers and dates.
//!
//! Each language is one [`Texts`] value in a file of its own (`en.rs`, `fr.rs`, `de.rs`, `es.rs`):
//! no page holds a sentence of its own, so a translation is reviewed in one place. Templates name
//! their values in braces (`Back to {org}`), filled by [`fill`] and escaped by the page afterwards.
//!
//! Month names, decimal and thousands separators and where a currency symbol goes come from glibc's
//! locale data through the `pure-rust-locales` crate ([`Conventions`]), for the page's language and
//! region (`de-CH` writes `CHF 1’234.50`, `de` writes `1.234,50 €`).

mod de;
mod email;
mod en;
mod es;
mod format;
mod fr;
mod invoice;
mod recovery;

use std::time::Duration;

use portal_sessions::{Language, Locale, Timestamp};

pub(crate) use email::EmailTexts;
pub(crate) use format::Conventions;
pub(crate) use invoice::InvoiceTexts;
pub(crate) use recovery::RecoveryTexts;

/// A message page: its title and its one sentence.
#[derive(Debug)]
pub(crate) struct Message {
    /// The page's title and heading.
    pub(crate) title: &'static str,
    /// What it says.
    pub(crate) text: &'static str,
}

/// A unit of time, as in "1 hour" and "2 hours".
#[derive(Debug)]
pub(crate) struct Unit {
    /// With 1.
    pub(crate) one: &'static str,
    /// With any other number.
    pub(crate) many: &'static str,
}

/// The status pills: an invoice's and a subscription's status, in words.
#[derive(Debug)]
pub(crate) struct Statuses {
    /// An invoice that is paid.
    pub(crate) paid: &'static str,
    /// An invoice that is still to pay.
    pub(crate) open: &'static str,
    /// A cancelled invoice.
    pub(crate) void: &'static str,
    /// A subscription that runs.
    pub(crate) active: &'static str,
    /// A subscription in its trial.
    pub(crate) trialing: &'static str,
    /// A subscription whose payment is late.
    pub(crate) past_due: &'static str,
    /// A subscription that was cancelled.
    pub(crate) canceled: &'static str,
}

/// Everything the pages say, in one language.
#[derive(Debug)]
pub(crate) struct Texts {
    /// The header's name when the organisation is not known.
    pub(crate) billing_portal: &'static str,
    /// The header's tag line.
    pub(crate) secure_billing_portal: &'static str,
    /// The way back to the return URL, when the organisation has no name.
    pub(crate) back: &'static str,
    /// The way back to the return URL: `{org}`.
    pub(crate) back_to: &'static str,

    /// The link page's title.
    pub(crate) open_title: &'static str,
    /// The link page's heading.
    pub(crate) opening: &'static str,
    /// The link page's sentence: `{lifetime}`.
    pub(crate) open_text: &'static str,
    /// The link page's button.
    pub(crate) open_button: &'static str,
    /// In a frame that cannot keep the portal's cookie: the way to open the portal in a new tab.
    pub(crate) open_in_new_tab: &'static str,

    /// A malformed or unknown link.
    pub(crate) invalid_link: Message,
    /// A link already used.
    pub(crate) link_used: Message,
    /// An expired link: `{lifetime}`.
    pub(crate) link_expired: Message,
    /// A revoked link.
    pub(crate) link_revoked: Message,
    /// The portal without a session that opens it.
    pub(crate) session_ended: Message,
    /// After signing out.
    pub(crate) signed_out: Message,
    /// The billing data failed to load.
    pub(crate) billing_unavailable: Message,
    /// The store failed.
    pub(crate) something_went_wrong: Message,
    /// Past a failed-attempt limit.
    pub(crate) too_many_attempts: Message,
    /// A cross-site `POST`.
    pub(crate) request_refused: Message,

    /// The portal's title.
    pub(crate) portal_title: &'static str,
    /// The portal's first sentence: `{org}` and `{time}`, an instant as [`Texts::instant`] writes
    /// it.
    pub(crate) portal_intro: &'static str,
    /// `{org}` in [`Texts::portal_intro`] when the organisation has no name.
    pub(crate) portal_intro_us: &'static str,
    /// The subscription card's heading.
    pub(crate) subscription: &'static str,
    /// Its plan's label.
    pub(crate) plan: &'static str,
    /// Its status's label (and the invoices' column).
    pub(crate) status: &'static str,
    /// Its renewal date's label.
    pub(crate) renews_on: &'static str,
    /// Without a subscription.
    pub(crate) no_subscription: &'static str,
    /// `month` after a price: `/ month`.
    pub(crate) per_month: &'static str,
    /// `year` after a price.
    pub(crate) per_year: &'static str,
    /// The invoices card's heading.
    pub(crate) invoices: &'static str,
    /// Its number column.
    pub(crate) invoice: &'static str,
    /// Its date column.
    pub(crate) date: &'static str,
    /// Its amount column.
    pub(crate) amount: &'static str,
    /// Without invoices.
    pub(crate) no_invoices: &'static str,
    /// The usage card's heading.
    pub(crate) usage: &'static str,
    /// Its metric column.
    pub(crate) metric: &'static str,
    /// Its period column.
    pub(crate) period: &'static str,
    /// Its quantity column.
    pub(crate) quantity: &'static str,
    /// Without usage.
    pub(crate) no_usage: &'static str,
    /// The profile card's heading.
    pub(crate) profile: &'static str,
    /// The customer's name.
    pub(crate) name: &'static str,
    /// The customer's email.
    pub(crate) email: &'static str,
    /// The customer's own id.
    pub(crate) customer_id: &'static str,
    /// Without an email address.
    pub(crate) none_on_file: &'static str,
    /// The portal's footer: `{lifetime}`.
    pub(crate) portal_footer: &'static str,
    /// The sign-out button.
    pub(crate) sign_out: &'static str,
    /// The status pills.
    pub(crate) statuses: Statuses,

    /// Hours, in a lifetime.
    pub(crate) hour: Unit,
    /// Minutes, in a lifetime.
    pub(crate) minute: Unit,
    /// Seconds, in a lifetime.
    pub(crate) second: Unit,
    /// Between the last two parts of a lifetime: `1 hour and 30 minutes`.
    pub(crate) and: &'static str,
    /// A lifetime under a second.
    pub(crate) less_than_a_second: &'static str,

    /// A date: `{d}` the day of the month, `{B}` the month's name, `{b}` its abbreviation, `{Y}`
    /// the year.
    pub(crate) date_pattern: &'static str,
    /// An instant, in UTC: `{date}` as [`Texts::date_pattern`] writes it and `{time}` as `HH:MM`.
    pub(crate) instant: &'static str,

    /// The email that carries a link to the portal.
    pub(crate) link_email: EmailTexts,
    /// The pages that lead a customer whose link no longer works to a new one.
    pub(crate) recovery: RecoveryTexts,
    /// Invoice links, the invoice page and the summary of what is due.
    pub(crate) invoice_page: InvoiceTexts,
}

/// The texts of `language`.
pub(crate) fn texts(language: Language) -> &'static Texts {
    match language {
        Language::English => &en::TEXTS,
        Language::French => &fr::TEXTS,
        Language::German => &de::TEXTS,
        Language::Spanish => &es::TEXTS,
    }
}

/// `template` with each `{name}` of `values` replaced by its value, in one pass (a value is never
/// read as a template); any other brace is kept as it is.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How one page speaks: its locale, that language's [`Texts`], and the locale's [`Conventions`].
#[derive(Debug)]
pub(crate) struct Speech {
    /// The locale, for `<html lang>` and `Content-Language`.
    pub(crate) locale: Locale,
    /// What the page says.
    pub(crate) texts: &'static Texts,
    conventions: Conventions,
}

impl Speech {
    /// The speech of `locale`.
    pub(crate) fn new(locale: Locale) -> Speech {
        Speech {
            locale,
            texts: texts(locale.language()),
            conventions: Conventions::of(locale),
        }
    }

    /// A lifetime as people say it: `1 hour`, `10 minutes`, `1 hour and 30 minutes`.
    pub(crate) fn lifetime(&self, duration: Duration) -> String {
        let texts = self.texts;
        let total = duration.as_secs();
        let parts: Vec<String> = [
            (total / 3_600, &texts.hour),
            (total % 3_600 / 60, &texts.minute),
            (total % 60, &texts.second),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| {
            let word = if n == 1 { unit.one } else { unit.many };
            format!("{n} {word}")
        })
        .collect();
        match parts.as_slice() {
            [] => texts.less_than_a_second.to_owned(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} {} {last}", init.join(", "), texts.and),
        }
    }

    /// `cents` of `currency` (an ISO 4217 code), as the locale writes money: `$1,234.50`,
    /// `1 234,50 €`.
    pub(crate) fn money(&self, cents: i64, currency: &str) -> String {
        self.conventions.money(cents, currency)
    }

    /// A whole number with the locale's thousands separators: `182,340`, `182.340`.
    pub(crate) fn number(&self, n: i64) -> String {
        self.conventions.number(n)
    }

    /// A `YYYY-MM-DD` date as the language writes it (`13 May 2026`, `13. Mai 2026`); any other
    /// text as it is.
    pub(crate) fn date(&self, text: &str) -> String {
        match parse_date(text) {
            Some((year, month, day)) => self.write_date(year, month, day),
            None => text.to_owned(),
        }
    }

    fn write_date(&self, year: &str, month: u8, day: u8) -> String {
        fill(
            self.texts.date_pattern,
            &[
                ("d", &day.to_string()),
                ("B", self.conventions.month(month)),
                ("b", self.conventions.abbreviated_month(month)),
                ("Y", year),
            ],
        )
    }

    /// An instant, to the minute, in UTC: `25 Nov 2026, 04:06 UTC`, `25 novembre 2026 à 04:06 UTC`.
    pub(crate) fn instant(&self, time: Timestamp) -> String {
        // Timestamp's Display is fixed-width: YYYY-MM-DDTHH:MM:SS.mmmZ.
        let text = time.to_string();
        let date = text
            .get(..10)
            .map(|date| self.date(date))
            .unwrap_or_default();
        fill(
            self.texts.instant,
            &[("date", &date), ("time", text.get(11..16).unwrap_or("?"))],
        )
    }

    /// An invoice's or a subscription's status in words; an unknown one as it is.
    pub(crate) fn status<'a>(&self, status: &'a str) -> &'a str {
        let statuses = &self.texts.statuses;
        match status {
            "paid" => statuses.paid,
            "open" => statuses.open,
            "void" => statuses.void,
            "active" => statuses.active,
            "trialing" => statuses.trialing,
            "past_due" => statuses.past_due,
            "canceled" => statuses.canceled,
            other => other,
        }
    }

    /// A subscription's interval in words; an unknown one as it is.
    pub(crate) fn interval<'a>(&self, interval: &'a str) -> &'a str {
        match interval {
            "month" => self.texts.per_month,
            "year" => self.texts.per_year,
            other => other,
        }
    }
}

/// `YYYY-MM-DD` as its year (as written), month and day, when it is one.
fn parse_date(text: &str) -> Option<(&str, u8, u8)> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    let month: u8 = text.get(5..7)?.parse().ok()?;
    let day: u8 = text.get(8..10)?.parse().ok()?;
    let year = text.get(..4)?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some((year, month, day))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn speech(tag: &str) -> Speech {
        Speech::new(tag.parse().unwrap())
    }

    /// Every string of `texts`: the destructuring names every field, so a new one cannot be left
    /// out of the check.
    fn every_string(texts: &'static Texts) -> Vec<(&'static str, &'static str)> {
        let Texts {
            billing_portal,
            secure_billing_portal,
            back,
            back_to,
            open_title,
            opening,
            open_text,
            open_button,
            open_in_new_tab,
            invalid_link,
            link_used,
            link_expired,
            link_revoked,
            session_ended,
            signed_out,
            billing_unavailable,
            something_went_wrong,
            too_many_attempts,
            request_refused,
            portal_title,
            portal_intro,
            portal_intro_us,
            subscription,
            plan,
            status,
            renews_on,
            no_subscription,
            per_month,
            per_year,
            invoices,
            invoice,
            date,
            amount,
            no_invoices,
            usage,
            metric,
            period,
            quantity,
            no_usage,
            profile,
            name,
            email,
            customer_id,
            none_on_file,
            portal_footer,
            sign_out,
            statuses,
            hour,
            minute,
            second,
            and,
            less_than_a_second,
            date_pattern,
            instant,
            link_email,
            recovery,
            invoice_page,
        } = texts;
        let Statuses {
            paid,
            open,
            void,
            active,
            trialing,
            past_due,
            canceled,
        } = statuses;
        let mut all = vec![
            ("billing_portal", *billing_portal),
            ("secure_billing_portal", *secure_billing_portal),
            ("back", *back),
            ("back_to", *back_to),
            ("open_title", *open_title),
            ("opening", *opening),
            ("open_text", *open_text),
            ("open_button", *open_button),
            ("open_in_new_tab", *open_in_new_tab),
            ("portal_title", *portal_title),
            ("portal_intro", *portal_intro),
            ("portal_intro_us", *portal_intro_us),
            ("subscription", *subscription),
            ("plan", *plan),
            ("status", *status),
            ("renews_on", *renews_on),
            ("no_subscription", *no_subscription),
            ("per_month", *per_month),
            ("per_year", *per_year),
            ("invoices", *invoices),
            ("invoice", *invoice),
            ("date", *date),
            ("amount", *amount),
            ("no_invoices", *no_invoices),
            ("usage", *usage),
            ("metric", *metric),
            ("period", *period),
            ("quantity", *quantity),
            ("no_usage", *no_usage),
            ("profile", *profile),
            ("name", *name),
            ("email", *email),
            ("customer_id", *customer_id),
            ("none_on_file", *none_on_file),
            ("portal_footer", *portal_footer),
            ("sign_out", *sign_out),
            ("paid", *paid),
            ("open", *open),
            ("void", *void),
            ("active", *active),
            ("trialing", *trialing),
            ("past_due", *past_due),
            ("canceled", *canceled),
            ("hour.one", hour.one),
            ("hour.many", hour.many),
            ("minute.one", minute.one),
            ("minute.many", minute.many),
            ("second.one", second.one),
            ("second.many", second.many),
            ("and", *and),
            ("less_than_a_second", *less_than_a_second),
            ("date_pattern", *date_pattern),
            ("instant", *instant),
        ];
        for (key, message) in [
            ("invalid_link", invalid_link),
            ("link_used", link_used),
            ("link_expired", link_expired),
            ("link_revoked", link_revoked),
            ("session_ended", session_ended),
            ("signed_out", signed_out),
            ("billing_unavailable", billing_unavailable),
            ("something_went_wrong", something_went_wrong),
            ("too_many_attempts", too_many_attempts),
            ("request_refused", request_refused),
        ] {
            all.push((key, message.title));
            all.push((key, message.text));
        }
        all.extend(link_email.every_string());
        all.extend(recovery.every_string());
        all.extend(invoice_page.every_string());
        all
    }

    #[test]
    fn every_language_says_everything() {
        let english = every_string(texts(Language::English));
        for language in Language::ALL {
            let all = every_string(texts(language));
            for ((key, text), (_, english)) in all.iter().zip(&english) {
                assert!(!text.trim().is_empty(), "{language:?} {key} is empty");
                assert_eq!(text.trim(), *text, "{language:?} {key} has outer spaces");
                for placeholder in [
                    "{org}",
                    "{lifetime}",
                    "{time}",
                    "{date}",
                    "{portal}",
                    "{address}",
                    "{number}",
                    "{amount}",
                ] {
                    assert_eq!(
                        text.contains(placeholder),
                        english.contains(placeholder),
                        "{language:?} {key}: {placeholder}"
                    );
                }
            }
            let pattern = texts(language).date_pattern;
            for placeholder in ["{d}", "{Y}"] {
                assert!(pattern.contains(placeholder), "{language:?}: {pattern}");
            }
        }
    }

    #[test]
    fn the_languages_differ() {
        let english = texts(Language::English);
        for language in [Language::French, Language::German, Language::Spanish] {
            let other = texts(language);
            assert_ne!(other.session_ended.title, english.session_ended.title);
            assert_ne!(other.open_button, english.open_button);
            assert_ne!(other.portal_footer, english.portal_footer);
        }
    }

    #[test]
    fn templates_are_filled_once() {
        assert_eq!(
            fill("Back to {org}", &[("org", "Demo Co")]),
            "Back to Demo Co"
        );
        assert_eq!(
            fill("{a}{b} {c} {", &[("a", "{b}"), ("b", "x")]),
            "{b}x {c} {"
        );
    }

    #[test]
    fn lifetimes_read_like_speech() {
        let cases: [(&str, u64, &str); 12] = [
            ("en", 3_600, "1 hour"),
            ("en", 600, "10 minutes"),
            ("en", 5_400, "1 hour and 30 minutes"),
            ("en", 86_400, "24 hours"),
            ("en", 3_661, "1 hour, 1 minute and 1 second"),
            ("en", 1, "1 second"),
            ("en", 0, "less than a second"),
            ("fr", 5_400, "1 heure et 30 minutes"),
            ("fr", 3_661, "1 heure, 1 minute et 1 seconde"),
            ("de", 5_400, "1 Stunde und 30 Minuten"),
            ("de-CH", 7_322, "2 Stunden, 2 Minuten und 2 Sekunden"),
            ("es-419", 5_400, "1 hora y 30 minutos"),
        ];
        for (tag, seconds, said) in cases {
            assert_eq!(
                speech(tag).lifetime(Duration::from_secs(seconds)),
                said,
                "{tag} {seconds}"
            );
        }
    }

    #[test]
    fn dates_read_like_dates() {
        for (tag, said) in [
            ("en", "13 May 2026"),
            ("en-GB", "13 May 2026"),
            ("fr", "13 mai 2026"),
            ("fr-CA", "13 mai 2026"),
            ("de", "13. Mai 2026"),
            ("de-AT", "13. Mai 2026"),
            ("es", "13 de mayo de 2026"),
            ("es-419", "13 de mayo de 2026"),
        ] {
            assert_eq!(speech(tag).date("2026-05-13"), said, "{tag}");
        }
        assert_eq!(speech("fr").date("2026-02-01"), "1 février 2026");
        assert_eq!(speech("en").date("2026-11-05"), "5 Nov 2026");
        for odd in [
            "",
            "2026-13-01",
            "2026-00-10",
            "2026-05-32",
            "13/05/2026",
            "2026-5-13",
            "２０２６-05-13",
        ] {
            assert_eq!(speech("de").date(odd), odd, "{odd:?}");
        }
    }

    #[test]
    fn instants_read_like_dates_in_utc() {
        let t = Timestamp::parse_rfc3339("2026-11-05T04:06:20.905Z").unwrap();
        for (tag, said) in [
            ("en", "5 Nov 2026, 04:06 UTC"),
            ("fr", "5 novembre 2026 à 04:06 UTC"),
            ("de", "5. November 2026 um 04:06 UTC"),
            ("es", "5 de noviembre de 2026, 04:06 UTC"),
        ] {
            assert_eq!(speech(tag).instant(t), said, "{tag}");
        }
    }

    #[test]
    fn statuses_and_intervals_are_translated_and_unknown_ones_kept() {
        assert_eq!(speech("en").status("past_due"), "past_due");
        assert_eq!(speech("fr").status("paid"), "payée");
        assert_eq!(speech("de").status("open"), "offen");
        assert_eq!(speech("es").status("canceled"), "cancelada");
        assert_eq!(speech("de").status("frozen"), "frozen");
        assert_eq!(speech("fr").interval("month"), "mois");
        assert_eq!(speech("es").interval("decade"), "decade");
    }
}
