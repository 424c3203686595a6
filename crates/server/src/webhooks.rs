//! Webhooks: every session event, signed, POSTed to each webhook of the session's organisation,
//! at least once and in order per session, surviving restarts.
//!
//! The server runs the library's [`Deliverer`] (how it claims, sends, marks and backs off, and
//! what it guarantees, is in [`portal_sessions_axum::webhooks`]) from `serve` ([`start`]): over
//! the `[[orgs.webhooks]]` of the configuration ([`StaticEndpoints`]), with the `[events]` table's
//! settings ([`EventSettings`]), POSTing with [`HyperClient`] (hyper-util's pooled client over
//! hyper-rustls, on the rustls (ring) and Mozilla roots the server already builds for
//! PostgreSQL), and counting every POST in the `/metrics` webhook deliveries. The server purges
//! sessions a day after they expire ([`PURGE_GRACE`](crate::PURGE_GRACE)), so an event is retried
//! for at least 24 hours.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use portal_sessions::{Engine, OrgId, SessionStore};
use portal_sessions_axum::webhooks::{Deliverer, HyperClient, StaticEndpoints};
use tokio::sync::watch;

use crate::ServerError;
use crate::metrics::Metrics;

pub use portal_sessions_axum::webhooks::{
    Deliveries, DeliverySettings as EventSettings, StartError, Webhook, WebhookError,
    is_strong_webhook_secret,
};

/// Starts delivering the events of `engine`'s store to `webhooks` (by organisation) until `stop`
/// turns true (or its sender is dropped); deliveries still running then get `drain` to finish.
///
/// # Errors
///
/// [`ServerError::Webhooks`] when the store keeps no feed, [`ServerError::WebhookClient`] when
/// the client cannot be built.
pub fn start(
    engine: Arc<Engine<Arc<dyn SessionStore>>>,
    webhooks: HashMap<OrgId, Vec<Webhook>>,
    settings: EventSettings,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
    metrics: Metrics,
) -> Result<Deliveries, ServerError> {
    let endpoints = StaticEndpoints::from(webhooks);
    tracing::info!(webhooks = endpoints.len(), "webhooks configured");
    let client = HyperClient::new(settings.request_timeout)?;
    Ok(Deliverer::new(engine, endpoints, client)?
        .settings(settings)
        .user_agent(HeaderValue::from_static(concat!(
            "portal-sessions-server/",
            env!("CARGO_PKG_VERSION")
        )))
        .on_delivery(move |delivery| metrics.webhook_delivery(delivery.accepted()))
        .shutdown_grace(drain)
        .stop_when(async move {
            let _ = stop.wait_for(|stop| *stop).await;
        })
        .spawn())
}
