//! [`Shared`]: what every handler of one service shares, and the questions every page asks of it
//! (how to speak, how long a session lives).

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use portal_sessions::{Engine, Locale, SessionStore};

use crate::auth::ApiAuth;
use crate::cookie::ViewerCookies;
use crate::data::PortalData;
use crate::limit::Limits;
use crate::text::Speech;

/// What every handler shares.
pub(crate) struct Shared<S> {
    pub(crate) engine: Arc<Engine<S>>,
    pub(crate) auth: Arc<dyn ApiAuth>,
    pub(crate) data: Arc<dyn PortalData>,
    pub(crate) public_url: String,
    /// `scheme://host[:port]` of the public URL, lower-cased: what a same-origin `Origin` header is.
    pub(crate) origin: String,
    /// The viewer cookie's names and attributes (secure over https).
    pub(crate) cookies: ViewerCookies,
    pub(crate) limits: Arc<Limits>,
    pub(crate) show_all_sections: bool,
    /// What a page speaks when neither its session nor the browser says.
    pub(crate) default_locale: Locale,
    /// Whether pages and `/v1` answers carry `Strict-Transport-Security`.
    pub(crate) hsts: bool,
    /// Where the pages are nested, when the service was told ([`crate::PortalService::pages_mount`]).
    pub(crate) pages_mount: Option<crate::mount::Mount>,
    /// The host's own pages in the portal's navigation.
    pub(crate) host_links: Arc<[crate::host_link::HostLink]>,
    /// How recovery and login pages send links; `None`: they do not exist.
    pub(crate) mailer: Option<Arc<dyn crate::mail::Mailer>>,
    /// Login posts whose links are being sent after their answer: a bound on that work.
    pub(crate) mail_tasks: Arc<tokio::sync::Semaphore>,
}

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Shared<S> {
        Shared {
            engine: Arc::clone(&self.engine),
            auth: Arc::clone(&self.auth),
            data: Arc::clone(&self.data),
            public_url: self.public_url.clone(),
            origin: self.origin.clone(),
            cookies: self.cookies,
            limits: Arc::clone(&self.limits),
            show_all_sections: self.show_all_sections,
            default_locale: self.default_locale,
            hsts: self.hsts,
            pages_mount: self.pages_mount.clone(),
            host_links: Arc::clone(&self.host_links),
            mailer: self.mailer.clone(),
            mail_tasks: Arc::clone(&self.mail_tasks),
        }
    }
}

impl<S: SessionStore> Shared<S> {
    /// A session's lifetime in words: the one it was minted with, or the configured one when the
    /// page knows no session.
    pub(crate) fn lifetime(&self, speech: &Speech, session: Option<std::time::Duration>) -> String {
        speech.lifetime(session.unwrap_or(self.engine.ttl()))
    }

    /// How a page speaks: in the locale of the session it is about, else in the best language the
    /// request's `Accept-Language` asks for, else in the service's default.
    pub(crate) fn speech(&self, session: Option<Locale>, headers: &HeaderMap) -> Speech {
        let locale = session
            .or_else(|| {
                headers
                    .get_all(header::ACCEPT_LANGUAGE)
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .find_map(Locale::negotiate)
            })
            .unwrap_or(self.default_locale);
        Speech::new(locale)
    }
}
