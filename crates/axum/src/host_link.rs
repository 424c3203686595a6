//! [`HostLink`]: a page of the host's own in the portal's navigation.

use portal_sessions::{Feature, Features};

/// A link from the portal to one of the host's own portal pages (a CSV of usage, a printable
/// statement behind the [`Viewer`](crate::Viewer) extractor), shown in the portal's navigation
/// when the session's features allow it.
///
/// # Examples
///
/// ```
/// use portal_sessions::Feature;
/// use portal_sessions_axum::HostLink;
///
/// // Shown to sessions that show usage; at `{mount}/portal/usage.csv`.
/// let csv = HostLink::new("Download usage (CSV)", "/portal/usage.csv").for_feature(Feature::Usage);
/// # let _ = csv;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLink {
    label: String,
    path: String,
    feature: Option<Feature>,
}

impl HostLink {
    /// A link labelled `label` to `path`, relative to where the portal is mounted (it starts with
    /// `/`; `/portal/usage.csv` under `/billing` is `/billing/portal/usage.csv`). Shown to every
    /// session until [`for_feature`](Self::for_feature) says otherwise.
    pub fn new(label: impl Into<String>, path: impl Into<String>) -> HostLink {
        let path = path.into();
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        HostLink {
            label: label.into(),
            path,
            feature: None,
        }
    }

    /// Shown only to sessions whose features include `feature`.
    pub fn for_feature(mut self, feature: Feature) -> HostLink {
        self.feature = Some(feature);
        self
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The path, relative to the mount.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether a session showing `sections` sees it.
    pub fn is_shown(&self, sections: Features) -> bool {
        self.feature
            .is_none_or(|feature| sections.contains(feature))
    }
}
