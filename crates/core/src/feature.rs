//! Portal features: which sections a session was minted for.

use std::fmt;
use std::str::FromStr;

/// One section of the customer portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// The customer's invoices.
    Invoices,
    /// The customer's subscription.
    Subscriptions,
    /// The customer's metered usage.
    Usage,
    /// The customer's profile.
    Profile,
}

impl Feature {
    /// All features, in their canonical order.
    pub const ALL: [Feature; 4] = [
        Feature::Invoices,
        Feature::Subscriptions,
        Feature::Usage,
        Feature::Profile,
    ];

    /// The API spelling: `invoices`, `subscriptions`, `usage` or `profile`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Feature::Invoices => "invoices",
            Feature::Subscriptions => "subscriptions",
            Feature::Usage => "usage",
            Feature::Profile => "profile",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the four features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown feature (expected one of invoices, subscriptions, usage, profile)")]
pub struct UnknownFeature;

impl FromStr for Feature {
    type Err = UnknownFeature;

    /// Accepts exactly the API spelling (lower case).
    fn from_str(text: &str) -> Result<Feature, UnknownFeature> {
        Feature::ALL
            .into_iter()
            .find(|feature| feature.as_str() == text)
            .ok_or(UnknownFeature)
    }
}

/// A set of features, stored as one byte.
///
/// Duplicates fold; iteration is always in the canonical order of [`Feature::ALL`].
///
/// # Examples
///
/// ```
/// use portal_sessions::{Feature, Features};
///
/// let set: Features = [Feature::Usage, Feature::Invoices, Feature::Usage].into_iter().collect();
/// assert_eq!(set.iter().collect::<Vec<_>>(), [Feature::Invoices, Feature::Usage]);
/// assert_eq!(Features::from_bits(set.bits()), Some(set));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features(u8);

impl Features {
    /// All four features: the default for a new session.
    pub const ALL: Features = Features(0b1111);
    /// No features.
    pub const EMPTY: Features = Features(0);

    /// Whether `feature` is in the set.
    pub const fn contains(self, feature: Feature) -> bool {
        self.0 & feature.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with `feature` added.
    pub const fn with(self, feature: Feature) -> Features {
        Features(self.0 | feature.bit())
    }

    /// The set as a bit mask, for storage.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Rebuilds a set from [`bits`](Self::bits), or `None` if unknown bits are set.
    pub const fn from_bits(bits: u8) -> Option<Features> {
        if bits & !Features::ALL.0 == 0 {
            Some(Features(bits))
        } else {
            None
        }
    }

    /// The features in the set, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Feature> {
        Feature::ALL
            .into_iter()
            .filter(move |feature| self.contains(*feature))
    }
}

impl Default for Features {
    fn default() -> Features {
        Features::ALL
    }
}

impl FromIterator<Feature> for Features {
    fn from_iter<I: IntoIterator<Item = Feature>>(iter: I) -> Features {
        iter.into_iter().fold(Features::EMPTY, Features::with)
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
