//! What the portal shows: branding and a customer's billing data.

use std::collections::HashMap;

use async_trait::async_trait;

use portal_sessions::{CustomerId, OrgId, RecoveryPolicy, SessionView};

use crate::frame_ancestor::FrameAncestor;
use crate::framing::Framing;
use crate::https_url::HttpsUrl;
use serde::Deserialize;

/// How an organisation's portal looks. `#[non_exhaustive]`: made with [`Branding::new`] and its
/// `with_` methods, so that fields can be added without breaking hosts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[non_exhaustive]
pub struct Branding {
    /// The organisation's name, shown at the top of the portal.
    pub name: String,
    /// An `https` URL of the organisation's logo.
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb`.
    pub brand_color: Option<String>,
    /// The origins whose pages may show the organisation's link and portal pages in a frame
    /// (none by default: no page may frame them). With any, those pages allow exactly these
    /// ancestors, tell them their height, and the portal cookie is `SameSite=None; Secure;
    /// Partitioned`, which a cross-site frame keeps.
    #[serde(default)]
    pub frame_ancestors: Vec<FrameAncestor>,
}

impl Branding {
    /// The branding of an organisation called `name`, without a logo or a colour.
    pub fn new(name: impl Into<String>) -> Branding {
        Branding {
            name: name.into(),
            logo_url: None,
            brand_color: None,
            frame_ancestors: Vec::new(),
        }
    }

    /// With this logo (an `https` URL; pages show no other).
    pub fn with_logo_url(mut self, url: impl Into<String>) -> Branding {
        self.logo_url = Some(url.into());
        self
    }

    /// Whether `color` is a colour pages and emails use: exactly `#rrggbb`. Any other text never
    /// reaches a `style` (they use their own accent instead); a configuration refuses it.
    ///
    /// # Examples
    ///
    /// ```
    /// use portal_sessions_axum::Branding;
    ///
    /// assert!(Branding::is_hex_color("#0e7490"));
    /// assert!(!Branding::is_hex_color("red"));
    /// assert!(!Branding::is_hex_color("#0e7490;}</style>"));
    /// ```
    pub fn is_hex_color(color: &str) -> bool {
        color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// The name pages and emails show, trimmed; `None` when it is blank, and they say "the
    /// organisation" or "your billing portal" in the customer's language instead.
    pub(crate) fn shown_name(&self) -> Option<&str> {
        Some(self.name.trim()).filter(|name| !name.is_empty())
    }

    /// With this accent colour (`#rrggbb`; pages use their own otherwise).
    pub fn with_brand_color(mut self, color: impl Into<String>) -> Branding {
        self.brand_color = Some(color.into());
        self
    }

    /// Framed by these origins' pages only (see [`Branding::frame_ancestors`]).
    pub fn with_frame_ancestors(
        mut self,
        origins: impl IntoIterator<Item = FrameAncestor>,
    ) -> Branding {
        self.frame_ancestors = origins.into_iter().collect();
        self
    }

    /// Whether some page may frame the organisation's pages.
    pub fn is_framable(&self) -> bool {
        !self.frame_ancestors.is_empty()
    }

    /// Who may frame the organisation's pages.
    pub(crate) fn framing(&self) -> Framing {
        Framing::new(self.frame_ancestors.iter().cloned())
    }
}

/// One invoice. `#[non_exhaustive]`: made with [`Invoice::new`] and its `with_` methods.
///
/// # Examples
///
/// ```
/// use portal_sessions_axum::{HttpsUrl, Invoice, InvoiceStatus};
///
/// let invoice = Invoice::new("INV-0042", "2026-11-01", 4_900, "EUR", InvoiceStatus::Open)
///     .with_pay_url(HttpsUrl::new("https://pay.example.com/inv/42")?)
///     .with_pdf_url(HttpsUrl::new("https://files.example.com/inv/42.pdf")?);
/// assert!(invoice.is_due());
/// # Ok::<(), portal_sessions_axum::NotHttps>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Invoice {
    /// The invoice number, e.g. `INV-0001`.
    pub number: String,
    /// The issue date, `YYYY-MM-DD`.
    pub issued_on: String,
    /// The amount in the currency's minor unit (cents).
    pub amount_cents: i64,
    /// The ISO 4217 currency code.
    pub currency: String,
    /// Whether it is paid.
    pub status: InvoiceStatus,
    /// Where the customer pays it online: an open invoice shows "Pay", a link that opens outside
    /// the portal (and outside any frame).
    #[serde(default)]
    pub pay_url: Option<HttpsUrl>,
    /// Its PDF: "PDF" on the portal, opened outside it.
    #[serde(default)]
    pub pdf_url: Option<HttpsUrl>,
}

impl Invoice {
    /// An invoice without a payment page or a PDF.
    pub fn new(
        number: impl Into<String>,
        issued_on: impl Into<String>,
        amount_cents: i64,
        currency: impl Into<String>,
        status: InvoiceStatus,
    ) -> Invoice {
        Invoice {
            number: number.into(),
            issued_on: issued_on.into(),
            amount_cents,
            currency: currency.into(),
            status,
            pay_url: None,
            pdf_url: None,
        }
    }

    /// With the page where the customer pays it.
    pub fn with_pay_url(mut self, url: HttpsUrl) -> Invoice {
        self.pay_url = Some(url);
        self
    }

    /// With its PDF.
    pub fn with_pdf_url(mut self, url: HttpsUrl) -> Invoice {
        self.pdf_url = Some(url);
        self
    }

    /// Whether it is still to pay: open (a paid or void invoice is not).
    pub fn is_due(&self) -> bool {
        self.status == InvoiceStatus::Open
    }
}

/// A closed set of names: an enum read from its wire names, each written once, with `as_str`
/// giving the name back (what the pages colour and translate a status by).
macro_rules! wire_names {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Its wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_names! {
    /// Whether an invoice is paid.
    InvoiceStatus {
        /// Paid.
        Paid = "paid",
        /// Issued and not paid yet.
        Open = "open",
        /// Cancelled: nothing is owed.
        Void = "void",
    }
}

wire_names! {
    /// Where a subscription stands.
    SubscriptionStatus {
        /// Running and paid for.
        Active = "active",
        /// In its trial.
        Trialing = "trialing",
        /// A payment is late.
        PastDue = "past_due",
        /// Ended.
        Canceled = "canceled",
    }
}

wire_names! {
    /// How often a subscription is billed.
    BillingInterval {
        /// Every month.
        Month = "month",
        /// Every year.
        Year = "year",
    }
}

/// The customer's subscription. `#[non_exhaustive]`: made with [`Subscription::new`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Subscription {
    /// The plan's name.
    pub plan: String,
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// The price per interval, in minor units.
    pub amount_cents: i64,
    /// The ISO 4217 currency code.
    pub currency: String,
    /// How often it is billed.
    pub interval: BillingInterval,
    /// The next renewal date, `YYYY-MM-DD`.
    pub renews_on: Option<String>,
}

impl Subscription {
    /// A subscription without a renewal date.
    pub fn new(
        plan: impl Into<String>,
        status: SubscriptionStatus,
        amount_cents: i64,
        currency: impl Into<String>,
        interval: BillingInterval,
    ) -> Subscription {
        Subscription {
            plan: plan.into(),
            status,
            amount_cents,
            currency: currency.into(),
            interval,
            renews_on: None,
        }
    }

    /// Renewing on this date (`YYYY-MM-DD`).
    pub fn renewing_on(mut self, date: impl Into<String>) -> Subscription {
        self.renews_on = Some(date.into());
        self
    }
}

/// One line of metered usage. `#[non_exhaustive]`: made with [`UsageLine::new`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UsageLine {
    /// What was measured, e.g. `API calls`.
    pub metric: String,
    /// How much.
    pub quantity: i64,
    /// The unit, e.g. `calls`.
    pub unit: String,
    /// The billing period, e.g. `May 2026`.
    pub period: String,
}

impl UsageLine {
    /// A line of usage.
    pub fn new(
        metric: impl Into<String>,
        quantity: i64,
        unit: impl Into<String>,
        period: impl Into<String>,
    ) -> UsageLine {
        UsageLine {
            metric: metric.into(),
            quantity,
            unit: unit.into(),
            period: period.into(),
        }
    }
}

/// Everything the portal shows for one customer. `#[non_exhaustive]`: made with
/// [`CustomerBilling::new`] (or `default()`, then its fields set).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CustomerBilling {
    /// The subscription, if any.
    #[serde(default)]
    pub subscription: Option<Subscription>,
    /// Invoices, newest first.
    #[serde(default)]
    pub invoices: Vec<Invoice>,
    /// Usage lines for the current period.
    #[serde(default)]
    pub usage: Vec<UsageLine>,
}

impl CustomerBilling {
    /// A customer's billing data.
    pub fn new(
        subscription: Option<Subscription>,
        invoices: Vec<Invoice>,
        usage: Vec<UsageLine>,
    ) -> CustomerBilling {
        CustomerBilling {
            subscription,
            invoices,
            usage,
        }
    }

    /// The invoice numbered `number`, when the customer has it.
    pub fn invoice(&self, number: &str) -> Option<&Invoice> {
        self.invoices
            .iter()
            .find(|invoice| invoice.number == number)
    }

    /// The invoices still to pay.
    pub fn due(&self) -> impl Iterator<Item = &Invoice> {
        self.invoices.iter().filter(|invoice| invoice.is_due())
    }
}

/// The portal data failed to load. Keeps its source.
#[derive(Debug, thiserror::Error)]
#[error("portal data could not be loaded")]
pub struct PortalDataError(#[source] pub portal_sessions::BoxError);

/// Where the portal's branding and billing data come from. Implement it over your billing system.
///
/// Branding is asked for on every page that knows the session's organisation (the portal, and the
/// pages that say a genuine link or session no longer works); billing data only for the portal.
#[async_trait]
pub trait PortalData: Send + Sync + 'static {
    /// The organisation's branding; `None` shows a plain portal.
    ///
    /// # Errors
    ///
    /// [`PortalDataError`] when it cannot be loaded: the page is then shown unbranded.
    async fn branding(&self, org: OrgId) -> Result<Option<Branding>, PortalDataError>;

    /// The billing data of the session's customer (`session.customer`, of `session.org_id`).
    ///
    /// The portal shows only the sections named in `session.features` (unless the service shows
    /// all), so an implementation may leave the others empty and skip loading them.
    ///
    /// # Errors
    ///
    /// [`PortalDataError`] when it cannot be loaded: the customer sees a "billing data
    /// unavailable" page (503), branded.
    async fn billing(&self, session: &SessionView) -> Result<CustomerBilling, PortalDataError>;

    /// The organisation's recovery settings: `None` (the default) leaves its used and expired
    /// links as they were, pages that say so, and gives it no login page. Recovery also needs a
    /// [`Mailer`](crate::mail::Mailer) ([`PortalService::mailer`](crate::PortalService::mailer)).
    ///
    /// # Errors
    ///
    /// [`PortalDataError`] when they cannot be loaded: it is logged, and the organisation is
    /// treated as without recovery for that request (the page offers none; a recovery request is
    /// answered 410).
    async fn recovery(&self, org: OrgId) -> Result<Option<OrgRecovery>, PortalDataError> {
        let _ = org;
        Ok(None)
    }
}

/// A shared source is one: the host can keep its billing system in its own state too.
#[async_trait]
impl<D: PortalData + ?Sized> PortalData for std::sync::Arc<D> {
    async fn branding(&self, org: OrgId) -> Result<Option<Branding>, PortalDataError> {
        (**self).branding(org).await
    }

    async fn billing(&self, session: &SessionView) -> Result<CustomerBilling, PortalDataError> {
        (**self).billing(session).await
    }

    async fn recovery(&self, org: OrgId) -> Result<Option<OrgRecovery>, PortalDataError> {
        (**self).recovery(org).await
    }
}

/// Fixed branding and billing data, for configuration files and tests.
#[derive(Debug, Clone, Default)]
pub struct StaticPortalData {
    branding: HashMap<OrgId, Branding>,
    billing: HashMap<(OrgId, CustomerId), CustomerBilling>,
    recovery: HashMap<OrgId, OrgRecovery>,
}

impl StaticPortalData {
    /// Sets an organisation's branding.
    pub fn set_branding(&mut self, org: OrgId, branding: Branding) {
        self.branding.insert(org, branding);
    }

    /// Sets a customer's billing data.
    pub fn set_billing(&mut self, org: OrgId, customer: CustomerId, billing: CustomerBilling) {
        self.billing.insert((org, customer), billing);
    }

    /// Turns recovery on for `org`, with these settings.
    pub fn set_recovery(&mut self, org: OrgId, recovery: OrgRecovery) {
        self.recovery.insert(org, recovery);
    }
}

#[async_trait]
impl PortalData for StaticPortalData {
    async fn branding(&self, org: OrgId) -> Result<Option<Branding>, PortalDataError> {
        Ok(self.branding.get(&org).cloned())
    }

    async fn billing(&self, session: &SessionView) -> Result<CustomerBilling, PortalDataError> {
        Ok(self
            .billing
            .get(&(session.org_id, session.customer.id))
            .cloned()
            .unwrap_or_default())
    }

    async fn recovery(&self, org: OrgId) -> Result<Option<OrgRecovery>, PortalDataError> {
        Ok(self.recovery.get(&org).cloned())
    }
}

/// An organisation's recovery settings, as [`PortalData::recovery`](crate::PortalData::recovery)
/// gives them.
///
/// Recovery reads sessions that expired up to the window ago: keep them that long. A
/// [`Purger`](crate::Purger) whose grace is shorter than the longest window deletes them first,
/// and their links then answer 404 instead of offering a new one. Tell the engine the longest
/// window too ([`Engine::with_recovery_horizon`](portal_sessions::Engine::with_recovery_horizon)),
/// so that a customer-wide revocation reads back no further than it must.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use portal_sessions::RecoveryPolicy;
/// use portal_sessions_axum::OrgRecovery;
///
/// let acme = OrgRecovery {
///     policy: RecoveryPolicy { window: Duration::from_secs(14 * 86_400), max_emails_per_hour: 3 },
///     login_page: true,
///     from: Some("Acme Billing <billing@acme.example>".into()),
/// };
/// # let _ = acme;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgRecovery {
    /// The window and the hourly limit per customer.
    pub policy: RecoveryPolicy,
    /// Whether `{mount}/login/{org id}` lets a customer ask for a link by address (it also needs a
    /// directory that finds customers by address).
    pub login_page: bool,
    /// The organisation's own sender (`Acme Billing <billing@acme.example>`), else the mailer's.
    pub from: Option<String>,
}
