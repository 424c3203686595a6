//! The HTTP contract as reusable async checks: every endpoint, page, cookie and error of
//! `docs/http-api.md`, written once and run by every store, with the router mounted at the root of
//! a host app and nested under `/billing` inside it.
//!
//! **Not a stable API**: it exists for this workspace's tests (the memory store runs it from this
//! crate, PostgreSQL from its own) and for anyone proving their own
//! [`SessionStore`](portal_sessions::SessionStore) behind the HTTP layer. Enable the `suite`
//! feature, then:
//!
//! ```ignore
//! portal_sessions_axum::http_tests!(my_store, Some(MyStore::new()), |_| async {});
//! ```
//!
//! Each check builds a host app ([`app`]) with its own state, its own `/healthz`, its own portal
//! page (`/portal/statement`, behind the [`Viewer`](crate::Viewer) extractor) and the portal
//! router, either merged at the root ([`Mounted::Root`]) or nested under `/billing`
//! ([`Mounted::Nested`]). Every refused request is followed by a check that nothing changed, and
//! every `/v1` response is checked against the OpenAPI document ([`openapi`]).
//!
//! The checks, by what they cover: the `/v1` API and its document (`api`), the customer-wide
//! additions of the second round (`customers`), links and the portal they open (`links`), the
//! portal inside its host (`portal`), languages (`locale`), new links by email and the login page
//! against a real SMTP server on loopback (`recovery`, `smtp_sink`), and every malformed input as
//! one table (`sweep`). What they run against is in `fixture` (keys, organisations, customers) and `host`
//! (the host app, and the harness that talks to it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    missing_docs
)]

mod api;
mod customers;
mod fixture;
mod frames;
mod host;
mod links;
mod locale;
pub mod openapi;
mod portal;
mod recovery;
pub mod smtp_sink;
mod sweep;

pub use api::{
    authentication, create_refuses_bad_input_and_changes_nothing,
    create_returns_the_contract_shape, list_get_and_revoke, openapi_document_is_served,
};
pub use customers::customers_are_listed_paged_and_cut_off;
pub use fixture::{KEY_A, KEY_B, PUB_A, PUBLIC_URL, acme, org_a, org_b, plain, societe, umbrella};
pub use frames::framed_pages_and_their_cookie;
pub use host::{App, FRAMING_APP, Mounted, PREFIX, Reply, app, app_with_mail, app_with_ttl};
pub use links::{
    a_used_link_with_its_live_cookie_goes_to_the_portal, expiry_and_logout, links_and_the_portal,
    message_pages_are_branded,
};
pub use locale::localized_pages;
pub use portal::{
    deep_links_open_an_invoice_or_a_section, features_return_url_and_host_pages,
    invoice_pages_pay_and_pdf, lifetimes_come_from_the_configuration, mounting_and_caching,
};
pub use recovery::{login_page, recovery_by_email};
pub use sweep::bad_input_sweep;

/// Runs every check of this suite against a store, mounted at the root and nested, as
/// `#[tokio::test]`s in a module named `$module`: `$store` is an `Option` of the store (`None`
/// skips, for a backend that is not there), `$teardown` an async closure given the store after each.
#[macro_export]
macro_rules! http_tests {
    ($module:ident, $store:expr, $teardown:expr) => {
        mod $module {
            $crate::http_tests!(@each $store, $teardown; authentication, create_returns_the_contract_shape,
                create_refuses_bad_input_and_changes_nothing, list_get_and_revoke,
                links_and_the_portal, expiry_and_logout, bad_input_sweep, mounting_and_caching,
                features_return_url_and_host_pages, message_pages_are_branded,
                lifetimes_come_from_the_configuration,
                a_used_link_with_its_live_cookie_goes_to_the_portal,
                customers_are_listed_paged_and_cut_off, localized_pages,
                openapi_document_is_served, recovery_by_email, login_page,
                invoice_pages_pay_and_pdf, framed_pages_and_their_cookie,
                deep_links_open_an_invoice_or_a_section);
        }
    };
    (@each $store:expr, $teardown:expr; $($name:ident),*) => {$(
        mod $name {
            #[tokio::test]
            async fn at_the_root() {
                let Some(store) = $store else { return };
                let store = ::std::sync::Arc::new(store);
                $crate::suite::$name(store.clone(), $crate::suite::Mounted::Root).await;
                ($teardown)(store).await;
            }

            #[tokio::test]
            async fn nested_in_a_host_app() {
                let Some(store) = $store else { return };
                let store = ::std::sync::Arc::new(store);
                $crate::suite::$name(store.clone(), $crate::suite::Mounted::Nested).await;
                ($teardown)(store).await;
            }
        }
    )*};
}
