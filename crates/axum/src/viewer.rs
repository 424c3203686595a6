//! The portal's viewer session, as an extractor: [`Viewer`], for the host's own portal pages.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use portal_sessions::{CustomerSnapshot, Features, OrgId, SessionView};

use crate::framing::Framing;
use crate::mount::Mount;

/// Authenticates a request's viewer cookie: what a [`PortalService`](crate::PortalService) does
/// for its own portal, behind an object so that the host's state need not name the store type.
#[async_trait::async_trait]
pub(crate) trait ViewerSource: Send + Sync + 'static {
    /// The session a request mounted at `mount` views, or the complete answer to send instead.
    async fn viewer(&self, parts: &Parts, mount: &Mount) -> Result<SessionView, Response>;

    /// Who may frame the organisation's pages (nobody when its branding cannot be loaded).
    async fn framing(&self, org: OrgId) -> Framing;
}

/// What the [`Viewer`] extractor needs: made by
/// [`PortalService::viewer_check`](crate::PortalService::viewer_check), kept in the host router's
/// state, and found there through [`FromRef`].
#[derive(Clone)]
pub struct ViewerCheck(Arc<dyn ViewerSource>);

impl ViewerCheck {
    pub(crate) fn new(source: Arc<dyn ViewerSource>) -> ViewerCheck {
        ViewerCheck(source)
    }
}

impl std::fmt::Debug for ViewerCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerCheck").finish_non_exhaustive()
    }
}

/// The customer viewing the portal: an extractor that authenticates the request's viewer cookie
/// against the store, as the portal page itself does, so a host can add pages of its own under the
/// portal (an invoice PDF, a statement).
///
/// Revocation and expiry take effect on the very next request. When the cookie does not open a
/// portal (missing, forged, logged out, revoked, expired) the rejection is the portal's own
/// "session ended" page (401, branded when the session was genuine, the cookie cleared); when the
/// store fails, a 503 page. Either way nothing of the customer's is shown.
///
/// The host's state must provide a [`ViewerCheck`] (`ViewerCheck: FromRef<YourState>`), and the
/// page must be reachable with the cookie: under the router's mount, where its `Path` covers it
/// (add the route to the router [`PortalService::router`](crate::PortalService::router) returns, as
/// below).
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use axum::Router;
/// use portal_sessions::Feature;
/// use portal_sessions_axum::{Viewer, ViewerCheck};
///
/// async fn invoice_pdf(viewer: Viewer) -> Result<String, axum::http::StatusCode> {
///     if !viewer.session().features.contains(Feature::Invoices) {
///         return Err(axum::http::StatusCode::NOT_FOUND);
///     }
///     Ok(format!("invoices of {}", viewer.session().customer.external_id))
/// }
///
/// fn host_routes(portal: Router<ViewerCheck>) -> Router<ViewerCheck> {
///     portal.route("/portal/invoice.pdf", get(invoice_pdf))
/// }
/// # let _ = host_routes;
/// ```
#[derive(Debug, Clone)]
pub struct Viewer {
    session: SessionView,
    mount: Mount,
    check: ViewerCheck,
}

impl Viewer {
    /// Who may frame this page: the session's organisation's
    /// [`frame_ancestors`](crate::Branding::frame_ancestors), read from its branding now. Return it
    /// with the page's response, under [`page_headers`](crate::page_headers), and the page is
    /// framed as the organisation's portal is; write its
    /// [`height_script`](Framing::height_script) into the page so that the frame fits it.
    /// A page returned without it is never framed: an iframe of the portal that follows a link to
    /// it shows the browser's refusal. The branding is loaded on each call, through
    /// [`PortalData::branding`](crate::PortalData::branding); when it cannot be, the failure is
    /// logged and the page is framed by none.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use axum::response::{Html, IntoResponse, Response};
    /// use portal_sessions::Feature;
    /// use portal_sessions_axum::Viewer;
    ///
    /// // Framed as the portal is, its 404 included.
    /// async fn statement(viewer: Viewer) -> Response {
    ///     let framing = viewer.framing().await;
    ///     if !viewer.features().contains(Feature::Invoices) {
    ///         return (framing, StatusCode::NOT_FOUND).into_response();
    ///     }
    ///     let page = format!("<p>Your statement</p>{}", framing.height_script());
    ///     (framing, Html(page)).into_response()
    /// }
    /// # let _ = statement;
    /// ```
    pub async fn framing(&self) -> Framing {
        self.check.0.framing(self.session.org_id).await
    }

    /// The session being viewed: customer, features, organisation, return URL, expiry.
    pub fn session(&self) -> &SessionView {
        &self.session
    }

    /// The organisation the session belongs to.
    pub fn org_id(&self) -> OrgId {
        self.session.org_id
    }

    /// The customer the session is for.
    pub fn customer(&self) -> &CustomerSnapshot {
        &self.session.customer
    }

    /// The portal sections the session may see.
    pub fn features(&self) -> Features {
        self.session.features
    }

    /// The path of the portal page under the router's mount, such as `/billing/portal`, for a link
    /// back to it.
    pub fn portal_path(&self) -> String {
        self.mount.path("/portal")
    }

    /// `route` (which starts with `/`) under the portal's mount: `/billing/portal/usage.csv`.
    pub fn mount_path(&self, route: &str) -> String {
        self.mount.path(route)
    }
}

/// The answer a request gets when [`Viewer`] finds no open portal session: the "session ended"
/// page, or a page that says the store failed. Already a complete response.
#[derive(Debug)]
pub struct ViewerRejection(Response);

impl IntoResponse for ViewerRejection {
    fn into_response(self) -> Response {
        self.0
    }
}

impl<T> FromRequestParts<T> for Viewer
where
    ViewerCheck: FromRef<T>,
    T: Send + Sync,
{
    type Rejection = ViewerRejection;

    async fn from_request_parts(parts: &mut Parts, state: &T) -> Result<Viewer, ViewerRejection> {
        let check = ViewerCheck::from_ref(state);
        let mount = Mount::of(parts);
        match check.0.viewer(parts, &mount).await {
            Ok(session) => Ok(Viewer {
                session,
                mount,
                check,
            }),
            Err(mut response) => {
                let framing = response.extensions().get::<Framing>().cloned();
                crate::headers::set_page_headers(response.headers_mut(), framing.as_ref());
                Err(ViewerRejection(response))
            }
        }
    }
}
