//! What the deliverer tells its observer about each POST: [`Delivery`].

use axum::http::StatusCode;
use portal_sessions::{OrgId, SessionId};

use super::PostError;

/// One POST of one event to one webhook, as [`Deliverer::on_delivery`](super::Deliverer::on_delivery)
/// sees it once it has an outcome. Holds no secret, no URL beyond its host, and no body.
#[derive(Debug)]
#[non_exhaustive]
pub struct Delivery<'a> {
    /// The event's id, `evt_...` (the same on every attempt).
    pub event_id: &'a str,
    /// The event's wire type, `portal_session.<kind>`.
    pub event_type: &'static str,
    /// The session the event is about.
    pub session: SessionId,
    /// The session's organisation.
    pub org: OrgId,
    /// The webhook URL's host.
    pub host: &'a str,
    /// Which attempt at this event this is, from 1.
    pub attempt: u32,
    /// What came of it.
    pub outcome: Outcome<'a>,
}

impl Delivery<'_> {
    /// Whether the webhook accepted the event (answered `2xx`).
    pub fn accepted(&self) -> bool {
        matches!(self.outcome, Outcome::Accepted(_))
    }
}

/// What came of one POST.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// A `2xx`: accepted.
    Accepted(StatusCode),
    /// Another status: the event is sent again later.
    Refused(StatusCode),
    /// No status: the event is sent again later.
    Failed(&'a PostError),
}
