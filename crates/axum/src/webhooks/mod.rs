//! Webhooks: every session event, signed, POSTed to each webhook of the session's organisation,
//! at least once and in order per session, surviving restarts.
//!
//! A [`Deliverer`] is built from three things, and [spawned](Deliverer::spawn) once per process:
//!
//! * the [`Engine`](portal_sessions::Engine), whose store keeps an
//!   [`EventFeed`](portal_sessions::EventFeed) (sled, PostgreSQL, or the memory store
//!   `with_event_feed()`);
//! * a [`WebhookEndpoints`]: which [`Webhook`]s (URL and signing secret) an organisation's events
//!   go to. [`StaticEndpoints`] is a fixed map, for configuration files; implement the trait over
//!   your database to let customers register their own;
//! * a [`WebhookClient`]: what POSTs the bytes. [`HyperClient`][hyper-client] (feature `webhook-client`) is
//!   hyper-util's pooled client over hyper-rustls; implement the trait over the client your
//!   service already has (reqwest, for one) to compile no other.
//!
//! [`Deliverer::on_delivery`] sees every POST's [`Delivery`] (to count them in your metrics).
//!
//! # Examples
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use portal_sessions::{Engine, OrgId, StaticDirectory};
//! use portal_sessions_axum::webhooks::{Deliverer, HyperClient, StaticEndpoints, Webhook};
//! use portal_sessions_memory::MemoryStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new().with_event_feed();
//! let engine = Arc::new(Engine::new(store, StaticDirectory::default()));
//! let org: OrgId = "9b2f6a4e-1c3d-4e5f-8a7b-6c5d4e3f2a1b".parse()?;
//! let mut endpoints = StaticEndpoints::default();
//! endpoints.add(org, Webhook::new("https://hooks.example.com/portal", "whsec_3a9c1f0e5b7d2a4c6e8f0b1d")?);
//! let deliveries = Deliverer::new(engine, endpoints, HyperClient::new(Duration::from_secs(10))?)?
//!     .on_delivery(|delivery| println!("{} to {}: {}", delivery.event_type, delivery.host, delivery.accepted()))
//!     .spawn();
//! // ... serve until asked to stop, then let the deliveries in flight finish:
//! deliveries.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # How
//!
//! Events are not queued by the request that causes them: they are derived from the stored
//! records (see `portal_sessions::feed`), so an event exists exactly when its change was
//! committed, and a process that dies between a change and its delivery delivers it after it
//! restarts (sled, PostgreSQL; the memory store keeps nothing across restarts). The deliverer is
//! one task that loops:
//!
//! 1. It [claims](portal_sessions::EventFeed::claim) as many sessions with undelivered events as
//!    it has free places ([`DeliverySettings::max_in_flight`], 32 by default: the bounded queue;
//!    nothing waits in memory beyond it), under a claimant name unique to the process and a lease
//!    ([`DeliverySettings::lease`]). On PostgreSQL the lease is what lets several processes share
//!    delivery: a session is one claimant's at a time, and a dead process's sessions come back
//!    when its lease runs out.
//! 2. For each claimed session, concurrently, it takes the session's *next* undelivered event and
//!    POSTs its body ([`WebhookEvent`](crate::WebhookEvent)) to every webhook of the session's
//!    organisation at once, signed ([`portal_sessions::webhook::sign`], header
//!    `Portal-Signature`) with each webhook's secret. When every webhook answered `2xx`, the
//!    event is [marked delivered](portal_sessions::EventFeed::delivered); on the first failure
//!    (another status, a timeout, a connection error, endpoints that could not be loaded) the
//!    session is [put off](portal_sessions::EventFeed::retry_at) by a backoff ([`backoff`]).
//!    Marking releases the lease, so a claim delivers one event and the session's next event is
//!    the next claim's: an event is never sent before the one that precedes it was accepted, and
//!    retries follow the session from one process to another.
//! 3. A session whose organisation has no webhooks has all its events marked delivered at once.
//! 4. When nothing is claimable it sleeps [`DeliverySettings::poll_interval`]; as soon as a
//!    delivery ends it claims again.
//!
//! # Retries
//!
//! A failed event is retried after [`DeliverySettings::retry_base`] (5 s), doubling with each
//! failed attempt up to [`DeliverySettings::retry_max`] (an hour), each delay drawn uniformly below
//! that ceiling ("full jitter", so that receivers coming back are not hit by every process at
//! once). The attempts are counted by the store, so the backoff survives restarts and moves between
//! processes. Retrying goes on as long as the session exists: with the [`Purger`](crate::Purger)'s
//! default grace of a day ([`PURGE_GRACE`](crate::PURGE_GRACE)), an event is retried for at least
//! 24 hours, and for up to a day past the session's expiry.
//!
//! # Delivery is at least once
//!
//! An event accepted by some webhooks and not by another is sent again to all of them; a process
//! that dies after a `2xx` and before marking sends it again. Receivers deduplicate by the event's
//! `id`, which is the same on every delivery, and check the signature with
//! `portal_sessions::webhook::verify`. Within one session, events arrive in order: a repeat of an
//! event comes before the first delivery of the next.
//!
//! # Logs
//!
//! Every POST is logged through `tracing` with the event id, its type, the session id, the
//! webhook's host, the status or the error, and the attempt number. The secret, the URL's path
//! and query, and the body are never logged (events carry no token anyway).
//!
#![cfg_attr(feature = "webhook-client", doc = "\n[hyper-client]: HyperClient\n")]
#![cfg_attr(
    not(feature = "webhook-client"),
    doc = "\n[hyper-client]: WebhookClient\n"
)]

mod client;
mod deliverer;
mod delivery;
mod endpoints;
#[cfg(feature = "webhook-client")]
mod hyper_client;
mod settings;
mod webhook;

pub use self::client::{PostError, WebhookClient, WebhookRequest};
pub use self::deliverer::{Deliverer, Deliveries, StartError};
pub use self::delivery::{Delivery, Outcome};
pub use self::endpoints::{EndpointsError, StaticEndpoints, WebhookEndpoints};
#[cfg(feature = "webhook-client")]
pub use self::hyper_client::{ClientError, HyperClient};
pub use self::settings::{DeliverySettings, backoff};
pub use self::webhook::{Webhook, WebhookError, is_strong_webhook_secret};
