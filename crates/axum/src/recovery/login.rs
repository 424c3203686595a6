//! `GET` and `POST /login/{org id}`: an organisation's login page, a URL a host can put in every
//! dunning email. A customer types an address; every customer of the organisation with that
//! address gets a fresh link.
//!
//! The answer to a post is the same page whatever the address: whether it matched, and whether a
//! limit held the mail back. The lookup, the minting and the sending all happen after the answer,
//! in a task of their own, so the answer's timing does not depend on the address or on the mail
//! server either.

use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest as _, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portal_sessions::{Locale, MAX_EMAIL_BYTES, OrgId, RecoveryBlock, RecoveryError, SessionStore};
use serde::Deserialize;

use super::LoginOutcome;
use crate::data::OrgRecovery;
use crate::html::{self, Chrome, NextStep};
use crate::limit::Limits;
use crate::mail::LinkEmailKind;
use crate::mount::Mount;
use crate::pages::{cross_site_refused, page, too_many};
use crate::refusal::Refusal;
use crate::state::Shared;
use crate::text::Speech;

/// The login page's query: the language it speaks.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    locale: Option<String>,
}

/// The login form. Not `Debug`: it holds the address typed.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    locale: Option<String>,
}

/// A page's language: a valid `locale` named by the page, else the browser's.
fn speech_of<S: SessionStore>(
    shared: &Shared<S>,
    named: Option<&str>,
    headers: &HeaderMap,
) -> Speech {
    let named = named.and_then(|tag| tag.parse::<Locale>().ok());
    shared.speech(named, headers)
}

/// Whether `email` can be an address: one `@` with something on each side, no space or control
/// character, and no longer than an address may be. The directory decides whether it is one.
fn is_address(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// The organisation a login URL names, with its settings, when it has a login page.
async fn login_org<S: SessionStore>(shared: &Shared<S>, raw: &str) -> Option<(OrgId, OrgRecovery)> {
    let org: OrgId = raw.parse().ok()?;
    let recovery = shared.has_login_page(org).await?;
    Some((org, recovery))
}

/// 404: no such login page (an unknown organisation, or one without a login page).
fn not_found(speech: &Speech) -> Response {
    let message = &speech.texts.invalid_link;
    Refusal::NotFound.mark(page(
        StatusCode::NOT_FOUND,
        html::message(message.title, message.text, &Chrome::default(), speech),
    ))
}

/// `GET /login/{org id}`: the page with the address field.
pub(crate) async fn login_page<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    Path(raw): Path<String>,
    query: Result<Query<LoginQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // A query that is not one speaks the browser's language, as a page without one does.
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let speech = speech_of(&shared, query.locale.as_deref(), &headers);
    let Some((org, _)) = login_org(&shared, &raw).await else {
        return not_found(&speech);
    };
    let branding = shared.branding(org).await;
    let chrome = Chrome {
        branding: branding.as_ref(),
        return_url: None,
    };
    page(StatusCode::OK, html::login(&chrome, &speech, None))
}

/// `POST /login/{org id}`: answers at once, the same whatever the address; the links are sent
/// afterwards.
pub(crate) async fn login_post<S: SessionStore>(
    State(shared): State<Arc<Shared<S>>>,
    mount: Mount,
    Path(raw): Path<String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    if shared.is_cross_site(headers) {
        return cross_site_refused(&shared.speech(None, headers));
    }
    let client = shared.limits.proxies.client_of(&parts);
    if let Some(over) = Limits::fail(shared.limits.login_posts.as_ref(), "login post", client) {
        return too_many(over, &shared.speech(None, headers), Refusal::LoginLimit);
    }
    let form = match Form::<LoginForm>::from_request(Request::from_parts(parts.clone(), body), &())
        .await
    {
        Ok(Form(form)) => Some(form),
        Err(_) => None,
    };
    let speech = speech_of(
        &shared,
        form.as_ref().and_then(|form| form.locale.as_deref()),
        headers,
    );
    let Some((org, recovery)) = login_org(&shared, &raw).await else {
        return not_found(&speech);
    };
    let branding = shared.branding(org).await;
    let chrome = Chrome {
        branding: branding.as_ref(),
        return_url: None,
    };
    let email = form
        .map(|form| form.email.trim().to_owned())
        .unwrap_or_default();
    if !is_address(&email) {
        let invalid = &speech.texts.recovery.login_invalid;
        return LoginOutcome::Invalid.mark(page(
            StatusCode::BAD_REQUEST,
            html::login(&chrome, &speech, Some(invalid.text)),
        ));
    }
    let outcome = match Arc::clone(&shared.mail_tasks).try_acquire_owned() {
        Ok(permit) => {
            let task = LoginTask {
                shared: Arc::clone(&shared),
                org,
                recovery,
                mount,
                email,
                locale: speech.locale,
            };
            tokio::spawn(async move {
                task.run().await;
                drop(permit);
            });
            LoginOutcome::Accepted
        }
        Err(_) => {
            tracing::warn!(org = %org, "too many login emails in progress: a login post was answered and nothing sent");
            LoginOutcome::Busy
        }
    };
    let texts = &speech.texts.recovery;
    let lifetime = shared.lifetime(&speech, None);
    let text = crate::text::fill(texts.login_sent.text, &[("lifetime", &lifetime)]);
    outcome.mark(page(
        StatusCode::OK,
        html::message_with_step(
            texts.login_sent.title,
            &text,
            &NextStep::Nothing,
            &chrome,
            &speech,
        ),
    ))
}

/// What a login post does after its answer: find the customers, mint, send.
struct LoginTask<S> {
    shared: Arc<Shared<S>>,
    org: OrgId,
    recovery: OrgRecovery,
    mount: Mount,
    email: String,
    locale: Locale,
}

impl<S: SessionStore> LoginTask<S> {
    async fn run(self) {
        let customers = match self
            .shared
            .engine
            .customers_by_email(self.org, &self.email)
            .await
        {
            Ok(customers) => customers,
            Err(error) => {
                crate::error::log_failure(&error);
                return;
            }
        };
        if customers.is_empty() {
            tracing::debug!(org = %self.org, "a login post matched no customer");
        }
        for customer in customers {
            let minted = match self
                .shared
                .engine
                .mint_for_login(self.org, customer, self.locale, &self.recovery.policy)
                .await
            {
                Ok(minted) => minted,
                Err(RecoveryError::Blocked(RecoveryBlock::OverLimit)) => {
                    tracing::info!(org = %self.org, "a login post was held back by the customer's hourly limit");
                    continue;
                }
                Err(error) => {
                    crate::error::log_failure(&error);
                    continue;
                }
            };
            let record = &minted.created.record;
            let url = self.shared.link_url(&self.mount, &minted.created.link);
            let sent = self
                .shared
                .send_link(
                    LinkEmailKind::Login,
                    record,
                    &url,
                    &minted.address,
                    &self.recovery,
                )
                .await;
            match sent {
                Ok(()) => {
                    tracing::info!(session = %record.id, org = %self.org, "a login link was emailed");
                }
                Err(error) => {
                    tracing::warn!(session = %record.id, error = %portal_sessions::ErrorChain(&error), "a login link could not be emailed; it is revoked");
                    if let Err(revoke) = self.shared.engine.revoke(self.org, &record.id).await {
                        crate::error::log_failure(&revoke);
                    }
                }
            }
        }
    }
}
