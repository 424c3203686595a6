//! The configuration file as serde reads it: each key declared once, here, as a field. The
//! [module docs](super) describe each key; a test checks that they and `docs/http-api.md` name
//! exactly these.
//!
//! Every value is optional to serde: a missing key, a default and a key that must be there are told
//! apart by the validation ([`super::validate`]), which reports every missing key at once instead of
//! serde's first. Numbers are read as they are written (`i64`, `f64`) and their ranges checked
//! there too, so that a value out of range is named with its range. A closed set of names is an
//! enum, whose variants are the names the file may use.
//!
//! None of these is `Debug`: they hold keys and secrets as they were written.

use portal_sessions_axum::{BillingInterval, InvoiceStatus, SubscriptionStatus};
use serde::Deserialize;

use super::LogFormat;

/// The whole file: its top-level keys, each of which can also come from the environment.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) listen: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) session_ttl_seconds: Option<i64>,
    pub(super) store: Option<String>,
    pub(super) show_all_sections: Option<bool>,
    pub(super) trusted_proxies: Option<Vec<String>>,
    pub(super) default_locale: Option<String>,
    pub(super) log_format: Option<LogFormat>,
    pub(super) metrics_listen: Option<String>,
    pub(super) metrics_allow: Option<Vec<String>>,
    pub(super) limits: Option<Limits>,
    pub(super) http: Option<Http>,
    pub(super) sled: Option<Sled>,
    pub(super) postgres: Option<Postgres>,
    pub(super) events: Option<Events>,
    pub(super) email: Option<Email>,
    pub(super) orgs: Option<Vec<Org>>,
}

/// `[email]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Email {
    pub(super) smtp_url: Option<String>,
    pub(super) from: Option<String>,
}

/// `[limits]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Limits {
    pub(super) enabled: Option<bool>,
    pub(super) window_seconds: Option<f64>,
    pub(super) max_clients: Option<i64>,
    pub(super) link_failures: Option<i64>,
    pub(super) cookie_failures: Option<i64>,
    pub(super) api_key_failures: Option<i64>,
    pub(super) login_posts: Option<i64>,
}

/// `[http]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Http {
    pub(super) header_timeout_seconds: Option<f64>,
    pub(super) body_timeout_seconds: Option<f64>,
    pub(super) max_connections: Option<i64>,
    pub(super) max_connections_per_client: Option<i64>,
    pub(super) shutdown_grace_seconds: Option<f64>,
}

/// `[events]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Events {
    pub(super) poll_interval_seconds: Option<f64>,
    pub(super) lease_seconds: Option<f64>,
    pub(super) max_in_flight: Option<i64>,
    pub(super) request_timeout_seconds: Option<f64>,
    pub(super) retry_base_seconds: Option<f64>,
    pub(super) retry_max_seconds: Option<f64>,
}

/// `[sled]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Sled {
    pub(super) min_free_bytes: Option<i64>,
}

/// `[postgres]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Postgres {
    pub(super) schema: Option<String>,
    pub(super) max_connections: Option<i64>,
    pub(super) root_certificates: Option<String>,
    pub(super) startup_timeout_seconds: Option<f64>,
}

/// `[[orgs]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Org {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) secret_keys: Option<Vec<String>>,
    pub(super) publishable_keys: Option<Vec<String>>,
    pub(super) logo_url: Option<String>,
    pub(super) brand_color: Option<String>,
    pub(super) customers: Option<Vec<Customer>>,
    pub(super) webhooks: Option<Vec<Webhook>>,
    pub(super) recovery: Option<Recovery>,
    pub(super) frame_ancestors: Option<Vec<String>>,
}

/// `[orgs.recovery]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Recovery {
    pub(super) enabled: Option<bool>,
    pub(super) window_days: Option<i64>,
    pub(super) login_page: Option<bool>,
    pub(super) max_emails_per_hour: Option<i64>,
    pub(super) from: Option<String>,
}

/// `[[orgs.webhooks]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Webhook {
    pub(super) url: Option<String>,
    pub(super) secret: Option<String>,
}

/// `[[orgs.customers]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Customer {
    pub(super) id: Option<String>,
    pub(super) external_id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) email: Option<String>,
    pub(super) locale: Option<String>,
    pub(super) subscription: Option<Subscription>,
    pub(super) invoices: Option<Vec<Invoice>>,
    pub(super) usage: Option<Vec<Usage>>,
}

/// `[orgs.customers.subscription]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Subscription {
    pub(super) plan: Option<String>,
    pub(super) status: Option<SubscriptionStatus>,
    pub(super) amount_cents: Option<i64>,
    pub(super) currency: Option<String>,
    pub(super) interval: Option<BillingInterval>,
    pub(super) renews_on: Option<String>,
}

/// `[[orgs.customers.invoices]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Invoice {
    pub(super) number: Option<String>,
    pub(super) issued_on: Option<String>,
    pub(super) amount_cents: Option<i64>,
    pub(super) currency: Option<String>,
    pub(super) status: Option<InvoiceStatus>,
    pub(super) pay_url: Option<String>,
    pub(super) pdf_url: Option<String>,
}

/// `[[orgs.customers.usage]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Usage {
    pub(super) metric: Option<String>,
    pub(super) quantity: Option<i64>,
    pub(super) unit: Option<String>,
    pub(super) period: Option<String>,
}
