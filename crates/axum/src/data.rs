//! What the portal shows: branding and a customer's billing data.

use std::collections::HashMap;

use async_trait::async_trait;
use portal_sessions::{CustomerId, OrgId, SessionView};
use serde::Deserialize;

/// How an organisation's portal looks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Branding {
    /// The organisation's name, shown at the top of the portal.
    pub name: String,
    /// An `https` URL of the organisation's logo.
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb`.
    pub brand_color: Option<String>,
}

/// One invoice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    /// The invoice number, e.g. `INV-0001`.
    pub number: String,
    /// The issue date, `YYYY-MM-DD`.
    pub issued_on: String,
    /// The amount in the currency's minor unit (cents).
    pub amount_cents: i64,
    /// The ISO 4217 currency code.
    pub currency: String,
    /// `paid`, `open` or `void`.
    pub status: String,
}

/// The customer's subscription.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// The plan's name.
    pub plan: String,
    /// `active`, `trialing`, `past_due` or `canceled`.
    pub status: String,
    /// The price per interval, in minor units.
    pub amount_cents: i64,
    /// The ISO 4217 currency code.
    pub currency: String,
    /// `month` or `year`.
    pub interval: String,
    /// The next renewal date, `YYYY-MM-DD`.
    pub renews_on: Option<String>,
}

/// One line of metered usage.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// Everything the portal shows for one customer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

/// Fixed branding and billing data, for configuration files and tests.
#[derive(Debug, Clone, Default)]
pub struct StaticPortalData {
    branding: HashMap<OrgId, Branding>,
    billing: HashMap<(OrgId, CustomerId), CustomerBilling>,
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
}
