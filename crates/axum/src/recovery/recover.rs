//! `POST /r/{token}/recover`: the "Email me a new link" button of a used or expired link's page.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use portal_sessions::{
    EngineError, LinkRefusal, RecoveryBlock, RecoveryError, SessionRecord, SessionStore,
};

use super::{RecoveryOutcome, mask};
use crate::html::{self, Chrome, NextStep};
use crate::limit::Limits;
use crate::mail::LinkEmailKind;
use crate::mount::Mount;
use crate::pages::{
    cross_site_refused, failure_page, page, parse_link, redirect, something_went_wrong, too_many,
};
use crate::refusal::Refusal;
use crate::state::Shared;
use crate::text::{Message, Speech, fill};

/// How long a customer over the hourly limit is told to wait.
const RETRY_AFTER_LIMIT: &str = "3600";

/// Mints a new session for the link's customer and emails its link to their address on file;
/// answers once the mail server took it (or did not).
pub(crate) async fn recover<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
    raw: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let headers = &parts.headers;
    if shared.is_cross_site(headers) {
        return RecoveryOutcome::Rejected.mark(cross_site_refused(&shared.speech(None, headers)));
    }
    let client = shared.limits.proxies.client_of(&parts);
    // Every post that may send mail counts per client, as the login page's do: a loop on a
    // genuine link is stopped here, before any store or directory work.
    if let Some(over) = Limits::fail(shared.limits.login_posts.as_ref(), "recovery post", client) {
        return RecoveryOutcome::Rejected.mark(too_many(
            over,
            &shared.speech(None, headers),
            Refusal::LoginLimit,
        ));
    }
    let link = match parse_link(raw) {
        Ok(link) => link,
        Err(malformed) => {
            let refusal = LinkRefusal {
                error: malformed,
                session: None,
            };
            let answer = match shared.refused_link_failure(client, &refusal, headers) {
                Some(limited) => limited,
                None => shared.link_refusal(refusal, None, headers, &mount).await,
            };
            return RecoveryOutcome::Rejected.mark(answer);
        }
    };
    let outcome = shared.engine.inspect_or_refuse(&link).await;
    if let Some(limited) = shared.link_failure(client, &outcome, headers) {
        return RecoveryOutcome::Rejected.mark(limited);
    }
    let old = match outcome {
        // A link that still opens has nothing to recover: back to it, nothing sent.
        Ok(_) => {
            let back = mount.path(&format!("/r/{}", link.expose_secret()));
            return RecoveryOutcome::Refused(RecoveryBlock::StillOpen)
                .mark(redirect(back, || shared.speech(None, headers)));
        }
        Err(LinkRefusal {
            session: Some(old), ..
        }) => old,
        // Unknown (404, counted above) or a store failure (503): the link's own page says which.
        Err(refusal) => {
            let outcome = if matches!(refusal.error, EngineError::LinkUnknown) {
                RecoveryOutcome::Rejected
            } else {
                RecoveryOutcome::Failed
            };
            return outcome.mark(shared.link_refusal(refusal, None, headers, &mount).await);
        }
    };
    let speech = shared.speech(old.locale, headers);
    let Some(recovery) = shared.org_recovery(old.org_id).await else {
        // The organisation has recovery off (or the service no mailer): the same 410 as a
        // session opted out, counted apart.
        let response = refused(&shared, &old, RecoveryBlock::OptedOut, &speech, &mount).await;
        return RecoveryOutcome::Off.mark(response);
    };
    let recovered = match shared.engine.recover_session(&old, &recovery.policy).await {
        Ok(recovered) => recovered,
        Err(RecoveryError::Blocked(block)) => {
            return refused(&shared, &old, block, &speech, &mount).await;
        }
        Err(RecoveryError::Engine(error)) => {
            return RecoveryOutcome::Failed.mark(failure_page(&error, &speech));
        }
        Err(error) => {
            crate::error::log_failure(&error);
            return RecoveryOutcome::Failed.mark(something_went_wrong(
                StatusCode::SERVICE_UNAVAILABLE,
                &speech,
            ));
        }
    };
    let new = &recovered.created.record;
    let url = shared.link_url(&mount, &recovered.created.link);
    let sent = shared
        .send_link(
            LinkEmailKind::Recovery,
            new,
            &url,
            &recovered.address,
            &recovery,
        )
        .await;
    match sent {
        Ok(()) => {
            tracing::info!(session = %new.id, from = %old.id, "a new link was emailed");
            let lifetime = shared.lifetime(&speech, Some(new.lifetime()));
            let text = fill(
                speech.texts.recovery.sent.text,
                &[
                    ("address", &mask(&recovered.address)),
                    ("lifetime", &lifetime),
                ],
            );
            let response = shared
                .message_page(
                    StatusCode::OK,
                    speech.texts.recovery.sent.title,
                    &text,
                    Some(&old),
                    &NextStep::Nothing,
                    &speech,
                )
                .await;
            RecoveryOutcome::Sent.mark(response)
        }
        Err(error) => {
            // The error never holds the address or the server's text (which repeats it).
            tracing::warn!(session = %new.id, error = %portal_sessions::ErrorChain(&error), "a new link could not be emailed; it is revoked");
            if let Err(revoke) = shared.engine.revoke(new.org_id, &new.id).await {
                crate::error::log_failure(&revoke);
            }
            let message: &Message = &speech.texts.recovery.not_sent;
            let response = shared
                .message_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    message.title,
                    message.text,
                    Some(&old),
                    &NextStep::Nothing,
                    &speech,
                )
                .await;
            RecoveryOutcome::NotSent.mark(response)
        }
    }
}

/// The page of a link that may not ask: 429 over the hourly limit, else 410, with what the
/// customer can do instead (the login page, or contacting the organisation). Nothing was sent.
async fn refused<S: SessionStore>(
    shared: &Shared<S>,
    old: &SessionRecord,
    block: RecoveryBlock,
    speech: &Speech,
    mount: &Mount,
) -> Response {
    let texts = &speech.texts.recovery;
    let (status, message) = match block {
        RecoveryBlock::OverLimit => (StatusCode::TOO_MANY_REQUESTS, &texts.too_many),
        _ => (StatusCode::GONE, &texts.refused),
    };
    let step = match block {
        RecoveryBlock::OverLimit => NextStep::Nothing,
        _ => shared.next_step(Some(old), None, mount).await,
    };
    let branding = shared.branding(old.org_id).await;
    let chrome = Chrome {
        branding: branding.as_ref(),
        return_url: old.return_url.as_deref(),
    };
    let mut response = page(
        status,
        html::message_with_step(message.title, message.text, &step, &chrome, speech),
    );
    if block == RecoveryBlock::OverLimit {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_LIMIT),
        );
    }
    RecoveryOutcome::Refused(block).mark(response)
}
