//! Numbers, amounts and month names as a locale writes them, from glibc's locale data (`LC_NUMERIC`,
//! `LC_MONETARY`, `LC_TIME`) through the `pure-rust-locales` crate.
//!
//! A locale with a region uses glibc's locale of that language and territory when there is one
//! (`fr-CA` is `fr_CA`, `de-CH` is `de_CH`); otherwise, and without a region, the language's main
//! one: `en_US`, `fr_FR`, `de_DE`, `es_ES` (so `es-419`, which glibc has no locale for, writes as
//! Spain does).
//!
//! Amounts are in minor units with two decimals. The currency's symbol is placed as the locale
//! places its own (before or after, with or without a space, a no-break one); the symbol is the
//! locale's own for its own currency, glibc's symbol for the dollar, the euro and the pound
//! elsewhere (`$` from `en_US`, `€` from `de_DE`, `£` from `en_GB`) unless the locale's own currency
//! has that same symbol (`fr-CA` writes US dollars as `49,00 USD`, not `49,00 $`), and any other
//! currency is its ISO code after the amount: `1,000.00 SEK`.

use portal_sessions::{Language, Locale};
use pure_rust_locales::{Locale as Glibc, locale_match};

/// The no-break space between an amount and its currency.
const NO_BREAK_SPACE: &str = "\u{a0}";

/// How one locale writes numbers, amounts and months.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conventions {
    thousands_sep: &'static str,
    grouping: &'static [i64],
    mon_decimal_point: &'static str,
    mon_thousands_sep: &'static str,
    mon_grouping: &'static [i64],
    /// The locale's own currency, its ISO code (`EUR`).
    own_currency: &'static str,
    /// Its symbol (`€`).
    own_symbol: &'static str,
    positive: Placement,
    negative: Placement,
    positive_sign: &'static str,
    negative_sign: &'static str,
    months: &'static [&'static str],
    abbreviated_months: &'static [&'static str],
}

/// Where a currency symbol and a sign go (POSIX `cs_precedes`, `sep_by_space`, `sign_posn`).
#[derive(Debug, Clone, Copy)]
struct Placement {
    symbol_first: bool,
    spaced: bool,
    sign_position: i64,
}

/// glibc's locale for `locale`.
fn glibc(locale: Locale) -> Glibc {
    let main = match locale.language() {
        Language::English => Glibc::en_US,
        Language::French => Glibc::fr_FR,
        Language::German => Glibc::de_DE,
        Language::Spanish => Glibc::es_ES,
    };
    locale
        .region()
        .and_then(|region| {
            let name = format!("{}_{}", locale.language().code(), region.as_str());
            Glibc::try_from(name.as_str()).ok()
        })
        .unwrap_or(main)
}

impl Conventions {
    /// The conventions of `locale`.
    pub(crate) fn of(locale: Locale) -> Conventions {
        let glibc = glibc(locale);
        Conventions {
            thousands_sep: locale_match!(glibc => LC_NUMERIC::THOUSANDS_SEP),
            grouping: locale_match!(glibc => LC_NUMERIC::GROUPING),
            mon_decimal_point: locale_match!(glibc => LC_MONETARY::MON_DECIMAL_POINT),
            mon_thousands_sep: locale_match!(glibc => LC_MONETARY::MON_THOUSANDS_SEP),
            mon_grouping: locale_match!(glibc => LC_MONETARY::MON_GROUPING),
            own_currency: locale_match!(glibc => LC_MONETARY::INT_CURR_SYMBOL).trim(),
            own_symbol: locale_match!(glibc => LC_MONETARY::CURRENCY_SYMBOL),
            positive: Placement {
                symbol_first: locale_match!(glibc => LC_MONETARY::P_CS_PRECEDES) == 1,
                spaced: locale_match!(glibc => LC_MONETARY::P_SEP_BY_SPACE) == 1,
                sign_position: locale_match!(glibc => LC_MONETARY::P_SIGN_POSN),
            },
            negative: Placement {
                symbol_first: locale_match!(glibc => LC_MONETARY::N_CS_PRECEDES) == 1,
                spaced: locale_match!(glibc => LC_MONETARY::N_SEP_BY_SPACE) == 1,
                sign_position: locale_match!(glibc => LC_MONETARY::N_SIGN_POSN),
            },
            positive_sign: locale_match!(glibc => LC_MONETARY::POSITIVE_SIGN),
            negative_sign: locale_match!(glibc => LC_MONETARY::NEGATIVE_SIGN),
            months: locale_match!(glibc => LC_TIME::MON),
            abbreviated_months: locale_match!(glibc => LC_TIME::ABMON),
        }
    }

    /// The name of `month` (1 to 12): `mai`, `November`.
    pub(crate) fn month(&self, month: u8) -> &'static str {
        self.months
            .get(usize::from(month).wrapping_sub(1))
            .copied()
            .unwrap_or("?")
    }

    /// The abbreviated name of `month` (1 to 12): `Nov`.
    pub(crate) fn abbreviated_month(&self, month: u8) -> &'static str {
        self.abbreviated_months
            .get(usize::from(month).wrapping_sub(1))
            .copied()
            .unwrap_or("?")
    }

    /// A whole number: `1,204,511`, `1.204.511`.
    pub(crate) fn number(&self, n: i64) -> String {
        let digits = grouped(n.unsigned_abs(), self.thousands_sep, self.grouping);
        if n < 0 { format!("-{digits}") } else { digits }
    }

    /// `cents` of `currency` (ISO 4217, any case).
    pub(crate) fn money(&self, cents: i64, currency: &str) -> String {
        let magnitude = cents.unsigned_abs();
        let amount = format!(
            "{}{}{:02}",
            grouped(magnitude / 100, self.mon_thousands_sep, self.mon_grouping),
            self.mon_decimal_point,
            magnitude % 100
        );
        let negative = cents < 0;
        let sign = if negative {
            if self.negative_sign.is_empty() {
                "-"
            } else {
                self.negative_sign
            }
        } else {
            self.positive_sign
        };
        let code = currency.to_ascii_uppercase();
        let Some(symbol) = self.symbol(&code) else {
            return format!("{sign}{amount}{NO_BREAK_SPACE}{code}");
        };
        let placement = if negative {
            self.negative
        } else {
            self.positive
        };
        let symbol = match placement.sign_position {
            3 => format!("{sign}{symbol}"),
            4 => format!("{symbol}{sign}"),
            _ => symbol.to_owned(),
        };
        let space = if placement.spaced { NO_BREAK_SPACE } else { "" };
        let body = if placement.symbol_first {
            format!("{symbol}{space}{amount}")
        } else {
            format!("{amount}{space}{symbol}")
        };
        match placement.sign_position {
            0 if negative => format!("({body})"),
            2 => format!("{body}{sign}"),
            3 | 4 => body,
            _ => format!("{sign}{body}"),
        }
    }

    /// The symbol of `code` in this locale, or `None` to write the code itself.
    fn symbol(&self, code: &str) -> Option<&'static str> {
        if code == self.own_currency {
            return Some(self.own_symbol);
        }
        let home = match code {
            "USD" => pure_rust_locales::en_US::LC_MONETARY::CURRENCY_SYMBOL,
            "EUR" => pure_rust_locales::de_DE::LC_MONETARY::CURRENCY_SYMBOL,
            "GBP" => pure_rust_locales::en_GB::LC_MONETARY::CURRENCY_SYMBOL,
            _ => return None,
        };
        // Another currency's symbol that reads as this locale's own would mislead.
        (home != self.own_symbol).then_some(home)
    }
}

/// `n`'s digits with `separator` between groups, sized as POSIX `grouping` says: from the right,
/// each entry the size of the next group, the last repeated; `-1` (or anything past 126) ends the
/// grouping, and so does a first entry of `0`.
fn grouped(n: u64, separator: &str, grouping: &[i64]) -> String {
    let digits = n.to_string();
    let mut groups: Vec<&str> = Vec::new();
    let mut end = digits.len();
    let mut sizes = grouping.iter().copied();
    let mut size = 0;
    while end > 0 {
        size = match sizes.next() {
            Some(0) if size > 0 => size,
            Some(next) => next,
            None => size,
        };
        let Ok(width) = usize::try_from(size) else {
            break;
        };
        if width == 0 || width > 126 || width >= end {
            break;
        }
        groups.push(&digits[end - width..end]);
        end -= width;
    }
    groups.push(&digits[..end]);
    groups.reverse();
    groups.join(separator)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn of(tag: &str) -> Conventions {
        Conventions::of(tag.parse().unwrap())
    }

    #[test]
    fn grouping_follows_posix() {
        assert_eq!(grouped(1_234_567, ",", &[3, 3]), "1,234,567");
        assert_eq!(grouped(1_234_567, ",", &[3]), "1,234,567");
        assert_eq!(grouped(123, ",", &[3]), "123");
        assert_eq!(grouped(0, ",", &[3]), "0");
        assert_eq!(grouped(12_345_678, ",", &[3, 2]), "1,23,45,678");
        assert_eq!(grouped(1_234_567, ",", &[-1]), "1234567");
        assert_eq!(grouped(1_234_567, ",", &[0, 0]), "1234567");
        assert_eq!(grouped(1_234_567, ",", &[]), "1234567");
        assert_eq!(grouped(u64::MAX, ".", &[3]), "18.446.744.073.709.551.615");
    }

    #[test]
    fn amounts_per_language_and_region() {
        let nbsp = NO_BREAK_SPACE;
        let narrow = "\u{202f}";
        for (tag, cents, currency, written) in [
            ("en", 123_456, "EUR", "€1,234.56".to_owned()),
            ("en", 12_345_678, "usd", "$123,456.78".to_owned()),
            ("en", -5, "EUR", "-€0.05".to_owned()),
            ("en", 0, "GBP", "£0.00".to_owned()),
            ("en", 100_000, "SEK", format!("1,000.00{nbsp}SEK")),
            ("en-GB", 4_900, "USD", "$49.00".to_owned()),
            ("en-CA", 4_900, "USD", format!("49.00{nbsp}USD")),
            ("fr", 123_456, "EUR", format!("1{narrow}234,56{nbsp}€")),
            ("fr", 4_900, "USD", format!("49,00{nbsp}$")),
            ("fr-CA", 123_456, "CAD", format!("1{narrow}234,56{nbsp}$")),
            ("fr-CA", 4_900, "USD", format!("49,00{nbsp}USD")),
            ("de", 123_456, "EUR", format!("1.234,56{nbsp}€")),
            ("de", -123_456, "EUR", format!("-1.234,56{nbsp}€")),
            ("de-CH", 123_456, "CHF", format!("CHF{nbsp}1’234.56")),
            ("es", 123_456, "EUR", format!("1.234,56{nbsp}€")),
            ("es-MX", 123_456, "MXN", format!("${nbsp}1,234.56")),
            ("es-419", 123_456, "EUR", format!("1.234,56{nbsp}€")),
        ] {
            assert_eq!(
                of(tag).money(cents, currency),
                written,
                "{tag} {cents} {currency}"
            );
        }
    }

    #[test]
    fn numbers_per_language_and_region() {
        for (tag, written) in [
            ("en", "1,204,511"),
            ("fr", "1\u{202f}204\u{202f}511"),
            ("de", "1.204.511"),
            ("de-CH", "1’204’511"),
            ("es", "1.204.511"),
        ] {
            assert_eq!(of(tag).number(1_204_511), written, "{tag}");
        }
        assert_eq!(of("en").number(-42), "-42");
    }

    #[test]
    fn months_come_from_the_locale() {
        assert_eq!(of("fr").month(5), "mai");
        assert_eq!(of("de-AT").month(1), "Jänner");
        assert_eq!(of("es").month(12), "diciembre");
        assert_eq!(of("en").abbreviated_month(11), "Nov");
        assert_eq!(of("en").month(13), "?");
        assert_eq!(of("en").month(0), "?");
    }
}
