//! One-time, one-hour customer portal links.
//!
//! A backend mints a link with a secret API key; the customer opens it once and sees only their own
//! billing; the link can be revoked at any moment; its secret is never shown twice. This crate is the
//! engine that does that inside your process, over a storage backend of your choice:
//!
//! | backend | crate | for |
//! |---|---|---|
//! | in memory | `portal-sessions-memory` | tests, single-process services that may lose sessions on restart |
//! | sled | `portal-sessions-sled` | one process, durable on local disk |
//! | PostgreSQL | `portal-sessions-postgres` | many app instances sharing one database |
//!
//! # How it fits together
//!
//! * [`SessionRecord`] is the state of one session, and [`SessionRecord::apply`] its pure state
//!   machine: `(record, event, now) -> record'`, no clock, no I/O.
//! * [`SessionStore`] is the storage contract: insert-if-absent, get, list, compare-and-swap, purge.
//! * [`Engine`] is the async shell: it reads the [`Clock`], asks the [`CustomerDirectory`] who a
//!   customer is, applies events and commits them with compare-and-swap, re-deciding on a lost race.
//! * Tokens follow the split-token pattern (see [`token`]): the link's selector finds the record, only
//!   a BLAKE3 hash of its verifier is stored, and hashes are compared in constant time.
//! * Events (created, redeemed, logged out, revoked) are derived from the records
//!   ([`SessionRecord::events`]): an [`EventListener`] hears an engine's committed changes in
//!   process, and a store's [`EventFeed`] hands out the events not yet delivered, durably and to
//!   one of several processes at a time (see the [`feed`] module for why there is no outbox).
//!
//! # Examples
//!
//! Mint a link, open it, view the portal, revoke it:
//!
//! ```
//! use portal_sessions::*;
//! use portal_sessions_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let org = OrgId::from_bytes([7; 16]);
//! let acme = CustomerId::from_bytes([8; 16]);
//! let mut customers = StaticDirectory::default();
//! customers.insert(org, CustomerSnapshot {
//!     id: acme,
//!     external_id: "acme-001".into(),
//!     name: "Acme Corp".into(),
//!     email: None,
//!     locale: None,
//! })?;
//! let engine = Engine::new(MemoryStore::new(), customers);
//!
//! let created = engine
//!     .create(org, CreateRequest::for_customer_id(acme).with_return_url("https://app.test/billing"))
//!     .await?;
//! // `created.link.expose_secret()` goes into the URL you send; it is never retrievable again.
//! let redemption = engine.redeem(&created.link, ClientInfo::default()).await?;
//! let viewing = engine.authenticate(&redemption.viewer).await?;
//! assert_eq!(viewing.customer.id, acme);
//!
//! engine.revoke(org, &created.record.id).await?;
//! assert!(engine.authenticate(&redemption.viewer).await.is_err());
//! # Ok(())
//! # }
//! ```
//!
//! # Implementing your own store
//!
//! See the [`store`] module: five atomic methods, a written contract, and the conformance suite in
//! `portal-sessions-conformance` that proves an implementation keeps it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod directory;
mod engine;
mod error_chain;
mod event;
mod feature;
pub mod feed;
mod id;
mod locale;
mod record;
pub mod recovery;
mod request;
mod serialize;
pub mod store;
mod timestamp;
pub mod token;
#[cfg(feature = "webhook")]
pub mod webhook;

/// The attribute macro that implements this crate's async traits ([`SessionStore`],
/// [`CustomerDirectory`]), re-exported so that an implementation needs no dependency of its own:
/// `#[portal_sessions::async_trait]`.
pub use async_trait::async_trait;
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use directory::{CustomerDirectory, DirectoryError, DirectoryInsertError, StaticDirectory};
pub use engine::{
    CreatedSession, DEFAULT_TTL, Engine, EngineError, InvalidTtl, LinkRefusal, MAX_LOGIN_MATCHES,
    MIN_TTL, Recovered, RecoveryError, Redemption,
};
pub use error_chain::ErrorChain;
pub use event::{EventKind, EventKinds, EventListener, SessionEvent};
pub use feature::{Feature, Features, UnknownFeature};
pub use feed::{Claim, EventFeed, Undelivered};
pub use id::{CustomerId, IdError, OrgId, SELECTOR_LEN, SessionId};
pub use locale::{InvalidLocale, Language, Locale, MAX_LOCALE_BYTES, Region};
pub use record::{
    Change, ClientInfo, CustomerSnapshot, DeepLink, MAX_EMAIL_BYTES, MAX_EXTERNAL_ID_CHARS,
    MAX_INVOICE_NUMBER_CHARS, MAX_NAME_BYTES, MAX_RETURN_URL_CHARS, MAX_USER_AGENT_BYTES,
    Rejection, SessionRecord, SessionView, Status,
};
pub use recovery::{MAX_RECOVERY_WINDOW, MintedBy, RecoveryBlock, RecoveryPolicy};
pub use request::{
    CreateRequest, CustomerRef, DEFAULT_LIST_LIMIT, InvalidRequest, ListOptions, MAX_LIST_LIMIT,
    MIN_REQUESTED_TTL, StatusFilter, validate_external_id, validate_return_url,
};
pub use store::{
    BoxError, CasOutcome, DurableStepFault, ListFilter, ListPosition, ListQuery, MAX_TTL,
    SessionStore, StoreError, WriteVisibility, list_order_key,
};
pub use timestamp::{InvalidTimestamp, Timestamp};
pub use token::{LinkToken, SecretHash, TokenError, ViewerToken};

/// The README's code, compiled as a doctest so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
