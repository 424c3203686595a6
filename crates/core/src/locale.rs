//! The language a session's pages speak: [`Locale`].
//!
//! A session may be minted with a locale (`fr`, `de-AT`, `es-419`): a language this crate has page
//! texts for, and optionally a region, kept as given so that a page can format for it and an API can
//! echo it. A session without one is shown in the language its visitor's browser asks for
//! ([`Locale::negotiate`] over `Accept-Language`), else in English.

use std::fmt;
use std::str::FromStr;

/// A language the portal's pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    /// English, the default.
    English,
    /// French.
    French,
    /// German.
    German,
    /// Spanish.
    Spanish,
}

impl Language {
    /// Every language, in a fixed order.
    pub const ALL: [Language; 4] = [
        Language::English,
        Language::French,
        Language::German,
        Language::Spanish,
    ];

    /// The ISO 639-1 code: `en`, `fr`, `de` or `es`.
    pub const fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::French => "fr",
            Language::German => "de",
            Language::Spanish => "es",
        }
    }

    fn from_code(code: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.code().eq_ignore_ascii_case(code))
    }
}

/// A region subtag: two ASCII letters (`CA`, stored upper case) or three digits (`419`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region {
    bytes: [u8; 3],
    len: u8,
}

impl Region {
    fn parse(text: &str) -> Option<Region> {
        let bytes = text.as_bytes();
        let letters = bytes.len() == 2 && bytes.iter().all(u8::is_ascii_alphabetic);
        let digits = bytes.len() == 3 && bytes.iter().all(u8::is_ascii_digit);
        if !letters && !digits {
            return None;
        }
        let mut stored = [0u8; 3];
        for (slot, byte) in stored.iter_mut().zip(bytes) {
            *slot = byte.to_ascii_uppercase();
        }
        Some(Region {
            bytes: stored,
            // Two or three, checked above.
            len: if letters { 2 } else { 3 },
        })
    }

    /// The subtag: `CA` or `419`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters and digits are ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// A session's locale: one of the four [`Language`]s, optionally with a region.
///
/// It prints and parses as a BCP 47 tag of exactly those two parts, `fr` or `fr-CA`: the language
/// in lower case, the region in upper case (parsing accepts either case). Anything else (another
/// language, a script or variant subtag, `fr_CA`) is [`InvalidLocale`].
///
/// # Examples
///
/// ```
/// use portal_sessions::{Language, Locale};
///
/// let locale: Locale = "FR-ca".parse()?;
/// assert_eq!(locale.to_string(), "fr-CA");
/// assert_eq!(locale.language(), Language::French);
/// assert!("pt-BR".parse::<Locale>().is_err());
/// assert!("fr_CA".parse::<Locale>().is_err());
///
/// // A session minted without a locale speaks what the browser asks for, if it can.
/// let asked = Locale::negotiate("pt-BR, de-CH;q=0.8, en;q=0.5");
/// assert_eq!(asked.map(|l| l.to_string()).as_deref(), Some("de-CH"));
/// # Ok::<(), portal_sessions::InvalidLocale>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Locale {
    language: Language,
    region: Option<Region>,
}

/// The most bytes a locale tag has when printed (`es-419`).
pub const MAX_LOCALE_BYTES: usize = 6;

impl Locale {
    /// English without a region: what a page speaks when nothing says otherwise.
    pub const ENGLISH: Locale = Locale::of(Language::English);

    /// The locale of `language`, without a region.
    pub const fn of(language: Language) -> Locale {
        Locale {
            language,
            region: None,
        }
    }

    /// The language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The region, when the tag has one.
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// The best locale this crate speaks for an `Accept-Language` header: the supported tag with
    /// the highest `q` (ties go to the earlier), a region kept as asked; `None` when the header
    /// names no supported language (then a page speaks English).
    ///
    /// A tag this crate cannot take whole, such as `de-Latn-CH` or `fr-x-private`, still counts
    /// for its language. `q=0` means "not this one". The header is a hint from the browser, not
    /// input to validate: what cannot be read is skipped.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(u16, Locale)> = None;
        for item in accept_language.split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = parts
                .find_map(|param| {
                    let (name, value) = param.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| parse_quality(value.trim()))
                })
                .unwrap_or(Some(1000));
            let Some(quality) = quality.filter(|q| *q > 0) else {
                continue;
            };
            let locale = tag.parse::<Locale>().ok().or_else(|| {
                let language = tag.split('-').next().and_then(Language::from_code)?;
                Some(Locale::of(language))
            });
            if let Some(locale) = locale {
                if best.is_none_or(|(best_quality, _)| quality > best_quality) {
                    best = Some((quality, locale));
                }
            }
        }
        best.map(|(_, locale)| locale)
    }
}

/// A `q` value in thousandths: `1`, `0.8`, `0.125`; `None` when it is not one.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl Default for Locale {
    /// [`Locale::ENGLISH`].
    fn default() -> Locale {
        Locale::ENGLISH
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.language.code())?;
        if let Some(region) = &self.region {
            write!(f, "-{}", region.as_str())?;
        }
        Ok(())
    }
}

/// A text that is not a supported locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported locale (expected en, fr, de or es, optionally with a region such as fr-CA)")]
pub struct InvalidLocale;

impl FromStr for Locale {
    type Err = InvalidLocale;

    fn from_str(text: &str) -> Result<Locale, InvalidLocale> {
        let (language, region) = match text.split_once('-') {
            Some((language, region)) => (language, Some(region)),
            None => (text, None),
        };
        let language = Language::from_code(language).ok_or(InvalidLocale)?;
        let region = region
            .map(|region| Region::parse(region).ok_or(InvalidLocale))
            .transpose()?;
        Ok(Locale { language, region })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_strictly_and_print_canonically() {
        for (text, printed) in [
            ("en", "en"),
            ("FR", "fr"),
            ("fr-ca", "fr-CA"),
            ("de-AT", "de-AT"),
            ("es-419", "es-419"),
        ] {
            let locale: Locale = text.parse().unwrap();
            assert_eq!(locale.to_string(), printed);
            assert_eq!(printed.parse::<Locale>(), Ok(locale));
            assert!(printed.len() <= MAX_LOCALE_BYTES);
        }
        for bad in [
            "", "e", "eng", "pt", "pt-BR", "fr_CA", "fr-", "-CA", "fr-C", "fr-CAN", "fr-41",
            "fr-4199", "fr-CA-x", "fr-Latn", " fr", "fr ", "fr-ÇA", "zz",
        ] {
            assert_eq!(bad.parse::<Locale>(), Err(InvalidLocale), "{bad:?}");
        }
    }

    #[test]
    fn negotiation_takes_the_best_supported_tag() {
        let negotiate = |header: &str| Locale::negotiate(header).map(|l| l.to_string());
        assert_eq!(
            negotiate("fr-CH, fr;q=0.9, en;q=0.8").as_deref(),
            Some("fr-CH")
        );
        assert_eq!(negotiate("pt-BR,pt;q=0.9,es;q=0.8").as_deref(), Some("es"));
        assert_eq!(negotiate("en;q=0.5, de;q=0.7").as_deref(), Some("de"));
        assert_eq!(negotiate("de;q=0, es;q=0.1").as_deref(), Some("es"));
        assert_eq!(negotiate("de-Latn-CH").as_deref(), Some("de"));
        assert_eq!(negotiate("*").as_deref(), None);
        assert_eq!(negotiate("ja, zh;q=0.9").as_deref(), None);
        assert_eq!(negotiate("").as_deref(), None);
        assert_eq!(negotiate("fr;q=2, es;q=abc, de").as_deref(), Some("de"));
        assert_eq!(negotiate("es;q=0.8, fr;q=0.8").as_deref(), Some("es"));
    }

    #[test]
    fn quality_values() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.125"), Some(125));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality("-1"), None);
    }
}
