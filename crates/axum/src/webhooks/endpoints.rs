//! Where an organisation's events go: [`WebhookEndpoints`], and [`StaticEndpoints`] from a map.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use portal_sessions::OrgId;

use super::Webhook;

/// Which webhooks an organisation's events are POSTed to. Implement it over your database to let
/// customers register their own endpoints; [`StaticEndpoints`] is a fixed map.
///
/// It is asked once per event delivery (not per request to your service), so an implementation
/// over a database sees a change at the next delivery; cache as you see fit.
///
/// # Examples
///
/// ```
/// use portal_sessions::OrgId;
/// use portal_sessions_axum::async_trait;
/// use portal_sessions_axum::webhooks::{EndpointsError, Webhook, WebhookEndpoints};
///
/// /// One endpoint per organisation, in the host's own table.
/// struct HostEndpoints;
///
/// #[async_trait]
/// impl WebhookEndpoints for HostEndpoints {
///     async fn webhooks(&self, org: OrgId) -> Result<Vec<Webhook>, EndpointsError> {
///         // SELECT url, secret FROM webhook_endpoints WHERE org_id = $1 ...
///         let (url, secret) = ("https://hooks.example.com/portal", "whsec_3a9c1f0e5b7d2a4c6e8f0b1d");
///         let webhook = Webhook::new(url, secret).map_err(|error| EndpointsError(Box::new(error)))?;
///         Ok(vec![webhook])
///     }
/// }
/// ```
#[async_trait]
pub trait WebhookEndpoints: Send + Sync + 'static {
    /// The webhooks `org`'s events go to: each event is POSTed to every one of them. Empty when
    /// the organisation has none: its events are then marked delivered without being sent.
    ///
    /// # Errors
    ///
    /// [`EndpointsError`] when they cannot be loaded now: the delivery counts as failed and is
    /// retried with backoff, like a receiver that did not answer.
    async fn webhooks(&self, org: OrgId) -> Result<Vec<Webhook>, EndpointsError>;
}

/// A shared source is one: the host can keep it in its own state too.
#[async_trait]
impl<E: WebhookEndpoints + ?Sized> WebhookEndpoints for Arc<E> {
    async fn webhooks(&self, org: OrgId) -> Result<Vec<Webhook>, EndpointsError> {
        (**self).webhooks(org).await
    }
}

/// An organisation's webhooks could not be loaded. Keeps its source, which must not name the
/// secret.
#[derive(Debug, thiserror::Error)]
#[error("the organisation's webhooks could not be loaded")]
pub struct EndpointsError(#[source] pub portal_sessions::BoxError);

/// Fixed webhooks per organisation, for configuration files and tests.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use portal_sessions::OrgId;
/// use portal_sessions_axum::webhooks::{StaticEndpoints, Webhook};
///
/// let org = OrgId::from_bytes([7; 16]);
/// let hook = Webhook::new("https://hooks.example.com/portal", "whsec_3a9c1f0e5b7d2a4c6e8f0b1d")?;
/// let mut endpoints = StaticEndpoints::default();
/// endpoints.add(org, hook.clone());
/// assert_eq!(endpoints.len(), 1);
/// // Or all at once, from the map a configuration file gave.
/// let endpoints = StaticEndpoints::from(HashMap::from([(org, vec![hook])]));
/// assert_eq!(endpoints.len(), 1);
/// # Ok::<(), portal_sessions_axum::webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticEndpoints {
    by_org: HashMap<OrgId, Vec<Webhook>>,
}

impl StaticEndpoints {
    /// Adds a webhook to `org`'s.
    pub fn add(&mut self, org: OrgId, webhook: Webhook) {
        self.by_org.entry(org).or_default().push(webhook);
    }

    /// How many webhooks there are, over every organisation.
    pub fn len(&self) -> usize {
        self.by_org.values().map(Vec::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<HashMap<OrgId, Vec<Webhook>>> for StaticEndpoints {
    fn from(by_org: HashMap<OrgId, Vec<Webhook>>) -> StaticEndpoints {
        StaticEndpoints { by_org }
    }
}

#[async_trait]
impl WebhookEndpoints for StaticEndpoints {
    async fn webhooks(&self, org: OrgId) -> Result<Vec<Webhook>, EndpointsError> {
        Ok(self.by_org.get(&org).cloned().unwrap_or_default())
    }
}
