//! Lifecycle events: what happened to a session, derived from the session itself.
//!
//! A session goes through at most four events, always in this order: [`Created`], [`Redeemed`],
//! [`LoggedOut`], [`Revoked`] (a revoked session cannot be logged out, and a session is redeemed
//! before it is logged out). Each leaves its instant in the record (`created_at`, `used_at`,
//! `logged_out_at`, `revoked_at`) and never changes afterwards, so the events of a session are a
//! pure function of its record: [`SessionRecord::events`].
//!
//! That is what makes events durable without an outbox. A store that keeps its records keeps their
//! events; all it adds is which of them were delivered ([`EventKinds`], a byte per session, written
//! after delivery). A process that dies right after a commit loses nothing: the next one finds the
//! record's events that are not marked delivered and delivers them. The price is at-least-once: a
//! process that dies after delivering and before marking delivers again, and receivers deduplicate
//! by [`SessionEvent::id`], which is the same on every delivery.
//!
//! [`Created`]: EventKind::Created
//! [`Redeemed`]: EventKind::Redeemed
//! [`LoggedOut`]: EventKind::LoggedOut
//! [`Revoked`]: EventKind::Revoked

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::record::{SessionRecord, SessionView};
use crate::timestamp::Timestamp;

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// The session was minted.
    Created,
    /// Its link was redeemed: the portal was opened.
    Redeemed,
    /// The portal opened with it was signed out of.
    LoggedOut,
    /// It was revoked.
    Revoked,
}

impl EventKind {
    /// Every kind, in the order a session goes through them.
    pub const ALL: [EventKind; 4] = [
        EventKind::Created,
        EventKind::Redeemed,
        EventKind::LoggedOut,
        EventKind::Revoked,
    ];

    /// The kind in words: `created`, `redeemed`, `logged_out` or `revoked`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Redeemed => "redeemed",
            EventKind::LoggedOut => "logged_out",
            EventKind::Revoked => "revoked",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of event kinds, stored as one byte: which events a session has had, or which of them
/// were delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventKinds(u8);

impl EventKinds {
    /// No event.
    pub const EMPTY: EventKinds = EventKinds(0);

    /// The set with `kind` added.
    #[must_use]
    pub const fn with(self, kind: EventKind) -> EventKinds {
        EventKinds(self.0 | kind.bit())
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: EventKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Whether every kind of `other` is in the set.
    pub const fn covers(self, other: EventKinds) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets together.
    #[must_use]
    pub const fn union(self, other: EventKinds) -> EventKinds {
        EventKinds(self.0 | other.0)
    }

    /// The set as a byte, for storage.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The set a byte from [`bits`](Self::bits) stands for; `None` for a byte no set has.
    pub const fn from_bits(bits: u8) -> Option<EventKinds> {
        if bits & !0b1111 == 0 {
            Some(EventKinds(bits))
        } else {
            None
        }
    }
}

/// One event of one session, as it is announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    pub at: Timestamp,
    /// The session as it was right after the event (its status decided at `at`).
    pub session: SessionView,
}

impl SessionEvent {
    /// The event's id: `evt_` and 22 base64url characters, the same every time the event is
    /// derived or delivered, different for every session and kind. Receivers deduplicate by it.
    pub fn id(&self) -> String {
        let mut hasher = blake3::Hasher::new_derive_key("portal-sessions 2026 event id");
        hasher.update(self.session.id.as_bytes());
        hasher.update(&[self.kind as u8]);
        let digest = hasher.finalize();
        format!("evt_{}", URL_SAFE_NO_PAD.encode(&digest.as_bytes()[..16]))
    }
}

impl SessionRecord {
    /// The kinds of event this session has had, from its timestamps.
    pub fn event_kinds(&self) -> EventKinds {
        let mut kinds = EventKinds::EMPTY.with(EventKind::Created);
        if self.used_at.is_some() {
            kinds = kinds.with(EventKind::Redeemed);
        }
        if self.logged_out_at.is_some() {
            kinds = kinds.with(EventKind::LoggedOut);
        }
        if self.revoked_at.is_some() {
            kinds = kinds.with(EventKind::Revoked);
        }
        kinds
    }

    /// When the event of `kind` happened, if it did.
    pub fn event_at(&self, kind: EventKind) -> Option<Timestamp> {
        match kind {
            EventKind::Created => Some(self.created_at),
            EventKind::Redeemed => self.used_at,
            EventKind::LoggedOut => self.logged_out_at,
            EventKind::Revoked => self.revoked_at,
        }
    }

    /// Every event of this session, in the order they happened, each with the session as it was
    /// right after it: what a later event changed is not yet in an earlier event's session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use portal_sessions::*;
    /// # fn events(record: &SessionRecord) {
    /// for event in record.events() {
    ///     println!("{} {} at {}", event.id(), event.kind, event.at);
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> impl Iterator<Item = SessionEvent> + '_ {
        EventKind::ALL.into_iter().filter_map(|kind| {
            let at = self.event_at(kind)?;
            Some(SessionEvent {
                kind,
                at,
                session: self.as_of(kind).view(at),
            })
        })
    }

    /// The record as it was right after its event of `kind`: the later events' fields cleared.
    fn as_of(&self, kind: EventKind) -> SessionRecord {
        let mut then = self.clone();
        if kind < EventKind::Redeemed {
            then.used_at = None;
            then.redeemed_by = None;
            then.viewer_hash = None;
        }
        if kind < EventKind::LoggedOut {
            then.logged_out_at = None;
        }
        if kind < EventKind::Revoked {
            then.revoked_at = None;
        }
        then
    }
}

/// Observes, in process, every change an [`Engine`](crate::Engine) commits: set one with
/// [`Engine::with_listener`](crate::Engine::with_listener).
///
/// It is called after the change is committed, never for a change that lost its race, and, for one
/// session, in the order the changes were committed (the engine holds a lock of that session's
/// stripe from the commit to the end of the call, so keep it short: hand the event to a channel or
/// a task; a listener that does not need the order says so with [`needs_order`](Self::needs_order)).
/// It is in-process and best effort: an operation whose future is dropped between its commit and
/// the call (a client that disconnects at that instant) is not announced. The store's durable
/// feed ([`EventFeed`](crate::EventFeed)) is what never misses a committed change. It sees the changes this engine makes; changes made by other processes sharing the
/// store reach them through the store's durable feed, not here. An engine without a listener does
/// none of this work.
pub trait EventListener: Send + Sync + 'static {
    /// One committed event.
    fn on_event(&self, event: &SessionEvent);

    /// Whether this listener needs one session's events in commit order (the default). A
    /// listener that only counts returns `false`, and the engine then takes no lock for it.
    fn needs_order(&self) -> bool {
        true
    }
}

impl<F: Fn(&SessionEvent) + Send + Sync + 'static> EventListener for F {
    fn on_event(&self, event: &SessionEvent) {
        self(event);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_a_byte() {
        let set = EventKinds::EMPTY
            .with(EventKind::Revoked)
            .with(EventKind::Created);
        assert!(set.contains(EventKind::Revoked) && !set.contains(EventKind::Redeemed));
        assert_eq!(EventKinds::from_bits(set.bits()), Some(set));
        assert_eq!(EventKinds::from_bits(0x10), None);
        assert!(set.covers(EventKinds::EMPTY.with(EventKind::Created)));
        assert!(!EventKinds::EMPTY.covers(set));
    }

    #[test]
    fn names() {
        let names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["created", "redeemed", "logged_out", "revoked"]);
    }
}
