//! A plain model of the engine, and a runner that compares the two answer by answer.
//!
//! The model is a list of sessions with five timestamps each and no cleverness: no indexes, no
//! compare-and-swap, no hashes. [`check_sequence`] runs one list of [`Op`]s against a real
//! [`Engine`](portal_sessions::Engine) over the store under test and against the model, and panics at
//! the first answer on which they differ. Property tests (proptest, in this crate's tests) and the
//! differential fuzz target generate the operation lists.

use std::sync::Arc;
use std::time::Duration;

use portal_sessions::{
    ClientInfo, Clock, CreateRequest, CustomerRef, EngineError, InvalidRequest, LinkToken,
    ListOptions, MIN_REQUESTED_TTL, Rejection, SessionId, SessionStore, StatusFilter, Timestamp,
    ViewerToken,
};

use crate::fixture::{EngineFixture, plus_ms};

/// The session lifetime the model runs with: two minutes, so that clock steps (up to two
/// minutes) reach expiry and a create may ask for anything from one minute to two.
pub const MODEL_TTL: Duration = Duration::from_secs(120);

/// One operation. Indexes pick among the sessions created so far (modulo their number), so every
/// sequence of operations is valid input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Mint a session for customer `customer % 3` of the fixture's organisation, or for the other
    /// organisation's customer when `other_org`.
    Create {
        /// Which customer.
        customer: u8,
        /// Mint for the other organisation instead.
        other_org: bool,
        /// Ask for this lifetime in seconds (50..=129: some below the minimum, some above
        /// [`MODEL_TTL`]).
        lifetime: Option<u8>,
        /// Revoke the customer's other live sessions first.
        invalidate_existing: bool,
    },
    /// Revoke every live session of customer `customer % 4` of the fixture's organisation (the
    /// fourth is one the organisation does not have), named by id or by external id.
    RevokeCustomer {
        /// Which customer.
        customer: u8,
        /// Name it by its external id.
        by_external_id: bool,
    },
    /// Inspect session `session`'s link.
    Inspect {
        /// Which session.
        session: u8,
    },
    /// Redeem session `session`'s link.
    Redeem {
        /// Which session.
        session: u8,
    },
    /// Revoke session `session`, as its own organisation or as the other one.
    Revoke {
        /// Which session.
        session: u8,
        /// Ask as the organisation that does not own it.
        wrong_org: bool,
    },
    /// Authenticate the viewer token of session `session` (when it was redeemed).
    Authenticate {
        /// Which session.
        session: u8,
    },
    /// Log out the viewer of session `session` (when it was redeemed).
    Logout {
        /// Which session.
        session: u8,
    },
    /// List the fixture organisation's sessions.
    List {
        /// Filter by customer `customer % 3`.
        customer: Option<u8>,
        /// Include used, revoked and expired sessions.
        include_expired: bool,
        /// The limit, 1..=100 after `% 100 + 1`.
        limit: u8,
        /// Only sessions of status `status % 5` (openable, active, used, expired, revoked).
        status: Option<u8>,
        /// Start after session `cursor` (of any organisation, purged or not).
        cursor: Option<u8>,
    },
    /// Purge sessions that expired `grace_ms` or more ago.
    Purge {
        /// The grace period in milliseconds.
        grace_ms: u16,
    },
    /// Move the clock forward.
    Advance {
        /// Milliseconds to move, times two (up to about two minutes).
        ms: u16,
    },
}

/// A small deterministic generator of operation lists (splitmix64), for callers without proptest.
pub fn random_ops(seed: &mut u64, len: usize) -> Vec<Op> {
    let mut next = || {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..len)
        .map(|_| {
            let [kind, a, b, ..] = next().to_le_bytes();
            Op::decode(kind, a, b)
        })
        .collect()
}

impl Op {
    /// The operation that three bytes name: `kind` picks it (creates twice as often as the rest, so
    /// sequences have sessions to work on), `a` and `b` are its arguments. Every three bytes are an
    /// operation, which is what a fuzzer needs.
    pub fn decode(kind: u8, a: u8, b: u8) -> Op {
        match kind % 11 {
            0 | 1 => Op::Create {
                customer: a,
                other_org: b.is_multiple_of(5),
                lifetime: (b % 3 == 1).then_some(50 + b % 80),
                invalidate_existing: b % 7 == 3,
            },
            10 => Op::RevokeCustomer {
                customer: a,
                by_external_id: b.is_multiple_of(2),
            },
            2 => Op::Inspect { session: a },
            3 => Op::Redeem { session: a },
            4 => Op::Revoke {
                session: a,
                wrong_org: b.is_multiple_of(5),
            },
            5 => Op::Authenticate { session: a },
            6 => Op::Logout { session: a },
            7 => Op::List {
                customer: b.is_multiple_of(2).then_some(a),
                include_expired: b.is_multiple_of(3),
                limit: b,
                status: (b % 5 < 3).then_some(a / 7),
                cursor: (b % 4 == 1).then_some(a / 3),
            },
            8 => Op::Purge {
                grace_ms: u16::from_be_bytes([a, b]) % 60_000,
            },
            _ => Op::Advance {
                ms: u16::from_be_bytes([a, b]) % 60_000,
            },
        }
    }
}

/// What one operation answered, in a form both sides can produce.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Done,
    Skipped,
    Failed(String),
    Listed(Vec<SessionId>),
    Purged(u64),
    Revoked(u64),
}

fn failure(error: &EngineError) -> Answer {
    Answer::Failed(match error {
        EngineError::ViewerRejected(rejection) => format!("viewer {rejection:?}"),
        other => format!("{other}"),
    })
}

#[derive(Debug, Clone)]
struct ModelSession {
    id: SessionId,
    other_org: bool,
    customer: usize,
    created_at: Timestamp,
    expires_at: Timestamp,
    used: bool,
    revoked: bool,
    viewer_live: bool,
    purged: bool,
    link: LinkToken,
    viewer: Option<ViewerToken>,
}

impl ModelSession {
    /// Whether a customer-wide revocation at `now` revokes it: openable or active.
    fn live(&self, now: Timestamp) -> bool {
        !self.purged && !self.revoked && now < self.expires_at
    }

    /// Whether a list with status `status` at `now` holds it.
    fn has_status(&self, status: StatusFilter, now: Timestamp) -> bool {
        match status {
            StatusFilter::Openable => self.link_answer(now).is_ok(),
            StatusFilter::Active => self.used && self.live(now),
            StatusFilter::Used => self.used,
            StatusFilter::Expired => !self.revoked && now >= self.expires_at,
            StatusFilter::Revoked => self.revoked,
        }
    }

    fn link_answer(&self, now: Timestamp) -> Result<(), &'static str> {
        if self.purged {
            Err("unknown link")
        } else if self.revoked {
            Err("link revoked")
        } else if self.used {
            Err("link already used")
        } else if now >= self.expires_at {
            Err("link expired")
        } else {
            Ok(())
        }
    }

    fn viewer_answer(&self, now: Timestamp) -> Result<(), Rejection> {
        if self.purged || !self.viewer_live {
            Err(Rejection::WrongSecret)
        } else if self.revoked {
            Err(Rejection::Revoked)
        } else if now >= self.expires_at {
            Err(Rejection::Expired)
        } else {
            Ok(())
        }
    }
}

/// Runs `ops` against an engine over `store` and against the model, with the clock starting at
/// `start`; panics at the first difference.
///
/// The model knows only the sessions of this run, so the store must hold no other session that a
/// purge during the run could reach: use a fresh store, or start each run on a shared store earlier
/// than the last (sessions of a later-starting run then expire after anything this run purges).
pub async fn check_sequence<S: SessionStore>(store: Arc<S>, ops: &[Op], start: Timestamp) {
    let fx = EngineFixture::new(store);
    fx.clock.set(start);
    let engine = match Arc::try_unwrap(fx.engine) {
        Ok(engine) => engine,
        Err(_) => panic!("the fixture's engine is shared"),
    };
    let engine = match engine.with_ttl(MODEL_TTL) {
        Ok(engine) => engine,
        Err(error) => panic!("{error}"),
    };
    let mut model: Vec<ModelSession> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let now = fx.clock.now();
        let pick = |session: u8| -> Option<usize> {
            (!model.is_empty()).then(|| usize::from(session) % model.len())
        };
        let (actual, expected) = match op {
            Op::Create {
                customer,
                other_org,
                lifetime,
                invalidate_existing,
            } => {
                let index = usize::from(*customer) % fx.customers.len();
                let (org, who) = if *other_org {
                    (fx.other_org, &fx.other_customer)
                } else {
                    (fx.org, &fx.customers[index])
                };
                let lifetime = lifetime.map(|seconds| Duration::from_secs(u64::from(seconds)));
                let mut request = CreateRequest::for_customer_id(who.id);
                request.expires_in = lifetime;
                request.invalidate_existing = *invalidate_existing;
                let lifetime_ok =
                    lifetime.is_none_or(|l| (MIN_REQUESTED_TTL..=MODEL_TTL).contains(&l));
                let expected = if lifetime_ok {
                    Answer::Done
                } else {
                    Answer::Failed(EngineError::from(InvalidRequest::Lifetime).to_string())
                };
                if lifetime_ok && *invalidate_existing {
                    // The other organisation has one customer, whatever index its sessions carry.
                    for session in model.iter_mut().filter(|s| {
                        s.other_org == *other_org
                            && (*other_org || s.customer == index)
                            && s.live(now)
                    }) {
                        session.revoked = true;
                    }
                }
                // A replacing session is dated after the customer's newest (see Engine::create).
                let newest = model
                    .iter()
                    .filter(|s| {
                        !s.purged
                            && s.other_org == *other_org
                            && (*other_org || s.customer == index)
                    })
                    .map(|s| s.created_at)
                    .max();
                let created_at = match newest {
                    Some(newest) if lifetime_ok && *invalidate_existing && newest >= now => {
                        plus_ms(newest, 1)
                    }
                    _ => now,
                };
                match engine.create(org, request).await {
                    Ok(created) => {
                        model.push(ModelSession {
                            id: created.record.id,
                            other_org: *other_org,
                            customer: index,
                            created_at,
                            expires_at: created_at
                                .checked_add(lifetime.unwrap_or(MODEL_TTL))
                                .unwrap_or(Timestamp::UNIX_EPOCH),
                            used: false,
                            revoked: false,
                            viewer_live: false,
                            purged: false,
                            link: created.link,
                            viewer: None,
                        });
                        let stored = (created.record.created_at, created.record.expires_at);
                        let last = &model[model.len() - 1];
                        assert_eq!(stored, (last.created_at, last.expires_at), "step {step}");
                        (Answer::Done, expected)
                    }
                    Err(error) => (failure(&error), expected),
                }
            }
            Op::RevokeCustomer {
                customer,
                by_external_id,
            } => {
                let index = usize::from(*customer) % (fx.customers.len() + 1);
                let known = fx.customers.get(index);
                let by = match (known, by_external_id) {
                    (Some(who), false) => CustomerRef::Id(who.id),
                    (Some(who), true) => CustomerRef::ExternalId(who.external_id.clone()),
                    (None, false) => CustomerRef::Id(fx.other_customer.id),
                    (None, true) => CustomerRef::ExternalId("nobody-in-the-model".into()),
                };
                let expected = match known {
                    None => Answer::Failed(EngineError::CustomerNotFound.to_string()),
                    Some(_) => {
                        let mut revoked = 0;
                        for session in model
                            .iter_mut()
                            .filter(|s| !s.other_org && s.customer == index && s.live(now))
                        {
                            session.revoked = true;
                            revoked += 1;
                        }
                        Answer::Revoked(revoked)
                    }
                };
                let actual = match engine.revoke_customer(fx.org, by).await {
                    Ok(revoked) => Answer::Revoked(revoked),
                    Err(error) => failure(&error),
                };
                (actual, expected)
            }
            Op::Inspect { session } => match pick(*session) {
                None => (Answer::Skipped, Answer::Skipped),
                Some(i) => {
                    let actual = match engine.inspect(&model[i].link).await {
                        Ok(_) => Answer::Done,
                        Err(error) => failure(&error),
                    };
                    let expected = match model[i].link_answer(now) {
                        Ok(()) => Answer::Done,
                        Err(message) => Answer::Failed(message.into()),
                    };
                    (actual, expected)
                }
            },
            Op::Redeem { session } => match pick(*session) {
                None => (Answer::Skipped, Answer::Skipped),
                Some(i) => {
                    let expected = match model[i].link_answer(now) {
                        Ok(()) => Answer::Done,
                        Err(message) => Answer::Failed(message.into()),
                    };
                    let actual = match engine.redeem(&model[i].link, ClientInfo::default()).await {
                        Ok(redemption) => {
                            model[i].used = true;
                            model[i].viewer_live = true;
                            model[i].viewer = Some(redemption.viewer);
                            Answer::Done
                        }
                        Err(error) => failure(&error),
                    };
                    (actual, expected)
                }
            },
            Op::Revoke { session, wrong_org } => match pick(*session) {
                None => (Answer::Skipped, Answer::Skipped),
                Some(i) => {
                    // The organisation that asks: the owner, or the other one when `wrong_org`.
                    let asks_as_other = model[i].other_org != *wrong_org;
                    let org = if asks_as_other { fx.other_org } else { fx.org };
                    let expected = if model[i].purged || *wrong_org {
                        Answer::Failed("no such portal session".into())
                    } else {
                        model[i].revoked = true;
                        Answer::Done
                    };
                    let actual = match engine.revoke(org, &model[i].id).await {
                        Ok(_) => Answer::Done,
                        Err(error) => failure(&error),
                    };
                    (actual, expected)
                }
            },
            Op::Authenticate { session } | Op::Logout { session } => {
                match pick(*session).and_then(|i| model[i].viewer.clone().map(|v| (i, v))) {
                    None => (Answer::Skipped, Answer::Skipped),
                    Some((i, viewer)) => {
                        let expected = match model[i].viewer_answer(now) {
                            Ok(()) => Answer::Done,
                            Err(rejection) => Answer::Failed(format!("viewer {rejection:?}")),
                        };
                        let result = if matches!(op, Op::Logout { .. }) {
                            engine.logout(&viewer).await
                        } else {
                            engine.authenticate(&viewer).await.map(|_| ())
                        };
                        if result.is_ok() && matches!(op, Op::Logout { .. }) {
                            model[i].viewer_live = false;
                        }
                        let actual = match result {
                            Ok(()) => Answer::Done,
                            Err(error) => failure(&error),
                        };
                        (actual, expected)
                    }
                }
            }
            Op::List {
                customer,
                include_expired,
                limit,
                status,
                cursor,
            } => {
                const STATUSES: [StatusFilter; 5] = [
                    StatusFilter::Openable,
                    StatusFilter::Active,
                    StatusFilter::Used,
                    StatusFilter::Expired,
                    StatusFilter::Revoked,
                ];
                let limit = usize::from(*limit) % 100 + 1;
                let customer = customer.map(|c| usize::from(c) % fx.customers.len());
                let status = status.map(|s| STATUSES[usize::from(s) % STATUSES.len()]);
                let cursor = cursor.and_then(pick).map(|i| &model[i]);
                let options = ListOptions {
                    customer_id: customer.map(|c| fx.customers[c].id),
                    limit,
                    include_expired: *include_expired,
                    status,
                    starting_after: cursor.map(|s| s.id),
                    ..ListOptions::default()
                };
                let actual = match engine.list(fx.org, options).await {
                    Ok(records) => Answer::Listed(records.iter().map(|r| r.id).collect()),
                    Err(error) => failure(&error),
                };
                let order =
                    |s: &ModelSession| (std::cmp::Reverse(s.created_at), std::cmp::Reverse(s.id));
                let expected = if cursor.is_some_and(|c| c.purged || c.other_org) {
                    Answer::Failed(EngineError::from(InvalidRequest::StartingAfter).to_string())
                } else {
                    let mut expected: Vec<&ModelSession> = model
                        .iter()
                        .filter(|s| !s.purged && !s.other_org)
                        .filter(|s| customer.is_none_or(|c| s.customer == c))
                        .filter(|s| match status {
                            Some(status) => s.has_status(status, now),
                            None => *include_expired || s.link_answer(now).is_ok(),
                        })
                        .filter(|s| cursor.is_none_or(|c| order(s) > order(c)))
                        .collect();
                    expected.sort_by_key(|s| order(s));
                    Answer::Listed(expected.iter().take(limit).map(|s| s.id).collect())
                };
                (actual, expected)
            }
            Op::Purge { grace_ms } => {
                let grace = Duration::from_millis(u64::from(*grace_ms));
                let cutoff = now.checked_sub(grace).unwrap_or(Timestamp::UNIX_EPOCH);
                let mut count = 0;
                for session in model.iter_mut().filter(|s| !s.purged) {
                    if session.expires_at <= cutoff {
                        session.purged = true;
                        count += 1;
                    }
                }
                let actual = match engine.purge_expired(grace).await {
                    Ok(purged) => Answer::Purged(purged),
                    Err(error) => failure(&error),
                };
                (actual, Answer::Purged(count))
            }
            Op::Advance { ms } => {
                fx.clock.advance(Duration::from_millis(u64::from(*ms) * 2));
                (Answer::Done, Answer::Done)
            }
        };
        assert_eq!(
            actual,
            expected,
            "step {step} ({op:?}) differs from the model; operations so far: {:?}",
            &ops[..=step]
        );
    }
}
