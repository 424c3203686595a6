//! The server's TOML configuration: parsed, then validated whole before anything starts.
//!
//! ```toml
//! listen = "127.0.0.1:8080"               # overridden by --listen
//! public_url = "http://127.0.0.1:8080"    # links are {public_url}/r/{token}
//! session_ttl_seconds = 3600              # 1..=86400
//! store = "sled:./portal-data"            # or "memory", or "postgres://user@host:5432/db"
//! show_all_sections = false               # true: the portal shows all four sections, whatever
//!                                         # a session's features say (the reference's v1)
//! trusted_proxies = ["10.0.0.0/8"]        # CIDRs whose X-Forwarded-For / Forwarded is believed;
//!                                         # empty (the default): the peer address is the client
//! default_locale = "en"                   # en, fr, de or es, optionally with a region (fr-CA):
//!                                         # the pages' language when neither the session's
//!                                         # locale nor the browser's Accept-Language names one
//!
//! [limits]                                # failed attempts per client (IPv4 address, IPv6 /64)
//! enabled = true                          # false turns every limit off
//! window_seconds = 60                     # 1..=86400
//! max_clients = 100000                    # clients tracked at once, per limit (memory bound)
//! link_failures = 20                      # malformed or unknown links per window; 0: no limit
//! cookie_failures = 20                    # forged portal cookies per window; 0: no limit
//! api_key_failures = 20                   # failed /v1 authentications per window; 0: no limit
//!
//! [http]                                  # how long and how many (seconds may be fractions)
//! header_timeout_seconds = 10             # to send a request head, or to idle between requests
//! body_timeout_seconds = 30               # to send a request body (and have it answered) in full
//! max_connections = 1024                  # open at once; past it, new ones wait to be accepted
//! shutdown_grace_seconds = 10             # after SIGTERM, the wait for open connections
//!
//! [events]                                # webhook delivery (seconds may be fractions)
//! poll_interval_seconds = 1               # the wait when no event is due
//! lease_seconds = 60                      # how long a claimed session is this server's
//! max_in_flight = 32                      # sessions delivered at once (the bounded queue)
//! request_timeout_seconds = 10            # for a receiver to answer; less than lease_seconds
//! retry_base_seconds = 5                  # the first retry's ceiling, doubled per attempt,
//! retry_max_seconds = 3600                # up to this; each delay is drawn below its ceiling
//!
//! [postgres]                              # only with a postgres:// store
//! schema = "portal_sessions"              # the schema that holds the tables
//! max_connections = 16                    # the pool's size
//! root_certificates = "/etc/ssl/db-ca.pem" # PEM roots for sslmode=verify-ca/verify-full (and
//!                                         # require); without it, the Mozilla roots
//!
//! [[orgs]]
//! id = "<uuid>"
//! name = "Demo Co"
//! secret_keys = ["mf_sk_test_..."]        # at least one; mf_sk_ and 20 or more characters
//!                                         # after it, at least 10 of them different
//! publishable_keys = ["mf_pk_test_..."]   # optional; always refused by the API
//! logo_url = "https://..."                # optional, https only
//! brand_color = "#4f46e5"                 # optional, #rrggbb
//!
//! [[orgs.webhooks]]                       # any number: every session event is POSTed to each
//! url = "https://hooks.example.com/portal" # absolute http or https, no user:password@
//! secret = "whsec_..."                    # whsec_ and 24 or more characters after it, at least
//!                                         # 10 of them different; signs Portal-Signature
//!
//! [[orgs.customers]]
//! id = "<uuid>"
//! external_id = "acme-001"
//! name = "Acme Corp"
//! email = "billing@acme.test"             # optional
//!
//! [orgs.customers.subscription]           # optional
//! plan = "Growth"
//! status = "active"                       # active | trialing | past_due | canceled
//! amount_cents = 4900
//! currency = "USD"                        # three letters
//! interval = "month"                      # month | year
//! renews_on = "2026-12-13"                # optional, YYYY-MM-DD
//!
//! [[orgs.customers.invoices]]             # any number, newest first
//! number = "INV-2026-0011"
//! issued_on = "2026-11-13"                # YYYY-MM-DD
//! amount_cents = 6120
//! currency = "USD"
//! status = "open"                         # paid | open | void
//!
//! [[orgs.customers.usage]]                # any number
//! metric = "API calls"
//! quantity = 182340
//! unit = "calls"
//! period = "November 2026"
//! ```
//!
//! Unknown keys are errors (a typo must not silently fall back to a default). Every error names the
//! file, the key and the reason; the server starts only with a configuration that is valid whole.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use portal_sessions::{CustomerId, CustomerSnapshot, Locale, OrgId};
use portal_sessions_axum::{
    AttemptLimit, Branding, CustomerBilling, Invoice, Subscription, UsageLine,
};

use crate::http::HttpLimits;
use crate::webhooks::{EventSettings, Webhook};
use serde::Deserialize;

/// The built-in demo configuration.
pub const DEMO: &str = include_str!("demo.toml");

/// A configuration that cannot be used: where, which key, and why. Never contains a key's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {reason}")]
pub struct ConfigError {
    /// The file (or `<built-in demo>`, or `--listen` / `--store` for flags).
    pub file: String,
    /// The key, as a path: `orgs[0].customers[2].email`.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    public_url: Option<String>,
    session_ttl_seconds: Option<i64>,
    store: Option<String>,
    show_all_sections: Option<bool>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    default_locale: Option<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    postgres: RawPostgres,
    #[serde(default)]
    events: RawEvents,
    #[serde(default)]
    orgs: Vec<RawOrg>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    enabled: Option<bool>,
    window_seconds: Option<f64>,
    max_clients: Option<i64>,
    link_failures: Option<i64>,
    cookie_failures: Option<i64>,
    api_key_failures: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    header_timeout_seconds: Option<f64>,
    body_timeout_seconds: Option<f64>,
    max_connections: Option<i64>,
    shutdown_grace_seconds: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    poll_interval_seconds: Option<f64>,
    lease_seconds: Option<f64>,
    max_in_flight: Option<i64>,
    request_timeout_seconds: Option<f64>,
    retry_base_seconds: Option<f64>,
    retry_max_seconds: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPostgres {
    schema: Option<String>,
    max_connections: Option<i64>,
    root_certificates: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrg {
    id: String,
    name: String,
    #[serde(default)]
    secret_keys: Vec<String>,
    #[serde(default)]
    publishable_keys: Vec<String>,
    logo_url: Option<String>,
    brand_color: Option<String>,
    #[serde(default)]
    customers: Vec<RawCustomer>,
    #[serde(default)]
    webhooks: Vec<RawWebhook>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomer {
    id: String,
    external_id: String,
    name: String,
    email: Option<String>,
    subscription: Option<Subscription>,
    #[serde(default)]
    invoices: Vec<Invoice>,
    #[serde(default)]
    usage: Vec<UsageLine>,
}

/// Where sessions are stored. Its `Debug` hides a PostgreSQL URL's password.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// In memory: lost on restart.
    Memory,
    /// sled at this path.
    Sled(String),
    /// PostgreSQL at this URL.
    Postgres(String),
}

impl std::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreSpec::Memory => f.write_str("Memory"),
            StoreSpec::Sled(path) => f.debug_tuple("Sled").field(path).finish(),
            StoreSpec::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

/// A connection URL as it may be shown: the password of `user:password@` and of a
/// `password=` parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut shown = url.to_owned();
    if let Some(scheme_end) = shown.find("://") {
        let authority_end = shown[scheme_end + 3..]
            .find(['/', '?'])
            .map_or(shown.len(), |at| scheme_end + 3 + at);
        if let Some(at) = shown[..authority_end].rfind('@') {
            if let Some(colon) = shown[scheme_end + 3..at].find(':') {
                shown.replace_range(scheme_end + 3 + colon + 1..at, "***");
            }
        }
    }
    if let Some(start) = shown.find("password=") {
        let value_start = start + "password=".len();
        let value_end = shown[value_start..]
            .find('&')
            .map_or(shown.len(), |at| value_start + at);
        shown.replace_range(value_start..value_end, "***");
    }
    shown
}

/// A parser's message without the values it quotes: a type error on `secret_keys` must not print
/// the key. Every `"..."` becomes `"…"`.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            let mut escaped = false;
            for inner in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if inner == '\\' {
                    escaped = true;
                } else if inner == '"' {
                    break;
                }
            }
            out.push_str("…\"");
        }
    }
    out
}

impl StoreSpec {
    /// Parses `memory`, `sled:<path>` or a `postgres://` / `postgresql://` URL.
    ///
    /// # Errors
    ///
    /// The reason, for a [`ConfigError`].
    pub fn parse(text: &str) -> Result<StoreSpec, String> {
        if text == "memory" {
            Ok(StoreSpec::Memory)
        } else if let Some(path) = text.strip_prefix("sled:") {
            if path.is_empty() {
                Err("sled: needs a path, as in sled:./portal-data".to_owned())
            } else {
                Ok(StoreSpec::Sled(path.to_owned()))
            }
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(StoreSpec::Postgres(text.to_owned()))
        } else {
            Err("must be \"memory\", \"sled:<path>\" or a postgres:// URL".to_owned())
        }
    }
}

/// One organisation, validated. Its `Debug` shows how many keys it has, never the keys.
#[derive(Clone)]
pub struct Org {
    /// Its id.
    pub id: OrgId,
    /// Its branding.
    pub branding: Branding,
    /// Its secret API keys.
    pub secret_keys: Vec<String>,
    /// Its publishable keys.
    pub publishable_keys: Vec<String>,
    /// Its customers and their billing data.
    pub customers: Vec<(CustomerSnapshot, CustomerBilling)>,
    /// Where its sessions' events are delivered.
    pub webhooks: Vec<Webhook>,
}

impl std::fmt::Debug for Org {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Org")
            .field("id", &self.id)
            .field("branding", &self.branding)
            .field("secret_keys", &self.secret_keys.len())
            .field("publishable_keys", &self.publishable_keys.len())
            .field("customers", &self.customers.len())
            .field("webhooks", &self.webhooks)
            .finish()
    }
}

/// The failed-attempt limits (`[limits]`), each `None` when off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Malformed or unknown links.
    pub links: Option<AttemptLimit>,
    /// Forged portal cookies.
    pub cookies: Option<AttemptLimit>,
    /// Failed `/v1` authentications.
    pub api_keys: Option<AttemptLimit>,
}

/// The PostgreSQL settings (`[postgres]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostgresSettings {
    /// The schema, when not the default.
    pub schema: Option<String>,
    /// The pool size, when not the default.
    pub max_connections: Option<usize>,
    /// A PEM file of root certificates to verify the server with.
    pub root_certificates: Option<String>,
}

/// A valid configuration. Its `Debug` never shows a key or a database password.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The public URL links are minted under.
    pub public_url: String,
    /// How long sessions live.
    pub session_ttl: Duration,
    /// Where sessions are stored.
    pub store: StoreSpec,
    /// Whether the portal shows all four sections whatever a session's features say.
    pub show_all_sections: bool,
    /// The reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The pages' language when neither a session nor the browser names one.
    pub default_locale: Locale,
    /// The failed-attempt limits.
    pub limits: Limits,
    /// The connection limits.
    pub http: HttpLimits,
    /// The PostgreSQL settings.
    pub postgres: PostgresSettings,
    /// How events are delivered to webhooks.
    pub events: EventSettings,
    /// The organisations.
    pub orgs: Vec<Org>,
}

struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn error(&self, key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            key: key.into(),
            reason: reason.into(),
        }
    }

    fn text(&self, key: &str, value: &str, max: usize) -> Result<(), ConfigError> {
        if value.trim().is_empty() {
            Err(self.error(key, "must not be empty"))
        } else if value.len() > max {
            Err(self.error(key, format!("must be at most {max} bytes")))
        } else if value.chars().any(char::is_control) {
            Err(self.error(key, "must not contain control characters"))
        } else {
            Ok(())
        }
    }

    fn date(&self, key: &str, value: &str) -> Result<(), ConfigError> {
        let ok = value.len() == 10
            && portal_sessions::Timestamp::parse_rfc3339(&format!("{value}T00:00:00.000Z"))
                .is_some();
        if ok {
            Ok(())
        } else {
            Err(self.error(key, "must be a date, YYYY-MM-DD"))
        }
    }

    fn currency(&self, key: &str, value: &str) -> Result<(), ConfigError> {
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(())
        } else {
            Err(self.error(
                key,
                "must be a three-letter ISO 4217 code in capitals, like USD",
            ))
        }
    }

    fn one_of(&self, key: &str, value: &str, allowed: &[&str]) -> Result<(), ConfigError> {
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(self.error(key, format!("must be one of {}", allowed.join(", "))))
        }
    }

    /// A number of seconds in `range`, as a duration.
    fn seconds(
        &self,
        key: &str,
        value: Option<f64>,
        default: f64,
        range: std::ops::RangeInclusive<f64>,
    ) -> Result<Duration, ConfigError> {
        let value = value.unwrap_or(default);
        if !value.is_finite() || !range.contains(&value) {
            return Err(self.error(
                key,
                format!(
                    "must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(Duration::from_secs_f64(value))
    }

    /// A whole number in `range`.
    fn count(
        &self,
        key: &str,
        value: Option<i64>,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<u64, ConfigError> {
        let value = value.unwrap_or(default);
        if !range.contains(&value) {
            return Err(self.error(
                key,
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
        Ok(value.unsigned_abs())
    }

    fn limits(&self, raw: &RawLimits) -> Result<Limits, ConfigError> {
        let window = self.seconds(
            "limits.window_seconds",
            raw.window_seconds,
            60.0,
            1.0..=86_400.0,
        )?;
        let max_clients = self.count(
            "limits.max_clients",
            raw.max_clients,
            100_000,
            1..=10_000_000,
        )?;
        let enabled = raw.enabled.unwrap_or(true);
        let limit = |key: &str, value: Option<i64>| -> Result<Option<AttemptLimit>, ConfigError> {
            let failures = self.count(key, value, 20, 0..=1_000_000)?;
            Ok((enabled && failures > 0).then(|| AttemptLimit {
                max_failures: u32::try_from(failures).unwrap_or(u32::MAX),
                window,
                max_clients: usize::try_from(max_clients).unwrap_or(usize::MAX),
            }))
        };
        Ok(Limits {
            links: limit("limits.link_failures", raw.link_failures)?,
            cookies: limit("limits.cookie_failures", raw.cookie_failures)?,
            api_keys: limit("limits.api_key_failures", raw.api_key_failures)?,
        })
    }

    fn http(&self, raw: &RawHttp) -> Result<HttpLimits, ConfigError> {
        Ok(HttpLimits {
            header_timeout: self.seconds(
                "http.header_timeout_seconds",
                raw.header_timeout_seconds,
                10.0,
                0.05..=3_600.0,
            )?,
            body_timeout: self.seconds(
                "http.body_timeout_seconds",
                raw.body_timeout_seconds,
                30.0,
                0.05..=3_600.0,
            )?,
            max_connections: usize::try_from(self.count(
                "http.max_connections",
                raw.max_connections,
                1024,
                1..=1_000_000,
            )?)
            .unwrap_or(usize::MAX),
            shutdown_grace: self.seconds(
                "http.shutdown_grace_seconds",
                raw.shutdown_grace_seconds,
                10.0,
                0.0..=3_600.0,
            )?,
        })
    }

    fn events(&self, raw: &RawEvents) -> Result<EventSettings, ConfigError> {
        let defaults = EventSettings::default();
        let seconds = |key: &str, value: Option<f64>, default: Duration, range| {
            self.seconds(
                &format!("events.{key}"),
                value,
                default.as_secs_f64(),
                range,
            )
        };
        let settings = EventSettings {
            poll_interval: seconds(
                "poll_interval_seconds",
                raw.poll_interval_seconds,
                defaults.poll_interval,
                0.01..=3_600.0,
            )?,
            lease: seconds(
                "lease_seconds",
                raw.lease_seconds,
                defaults.lease,
                0.1..=86_400.0,
            )?,
            max_in_flight: usize::try_from(self.count(
                "events.max_in_flight",
                raw.max_in_flight,
                32,
                1..=10_000,
            )?)
            .unwrap_or(usize::MAX),
            request_timeout: seconds(
                "request_timeout_seconds",
                raw.request_timeout_seconds,
                defaults.request_timeout,
                0.05..=3_600.0,
            )?,
            retry_base: seconds(
                "retry_base_seconds",
                raw.retry_base_seconds,
                defaults.retry_base,
                0.01..=86_400.0,
            )?,
            retry_max: seconds(
                "retry_max_seconds",
                raw.retry_max_seconds,
                defaults.retry_max,
                0.01..=86_400.0,
            )?,
        };
        if settings.request_timeout >= settings.lease {
            return Err(self.error(
                "events.request_timeout_seconds",
                "must be less than events.lease_seconds (a delivery must end while its session \
                 is still this server's)",
            ));
        }
        if settings.retry_max < settings.retry_base {
            return Err(self.error(
                "events.retry_max_seconds",
                "must be at least events.retry_base_seconds",
            ));
        }
        Ok(settings)
    }

    fn postgres(
        &self,
        raw: &RawPostgres,
        store: &StoreSpec,
    ) -> Result<PostgresSettings, ConfigError> {
        let given = raw.schema.is_some()
            || raw.max_connections.is_some()
            || raw.root_certificates.is_some();
        if given && !matches!(store, StoreSpec::Postgres(_)) {
            return Err(self.error("postgres", "is only for a postgres:// store"));
        }
        if let Some(schema) = &raw.schema {
            portal_sessions_postgres::SchemaName::new(schema)
                .map_err(|error| self.error("postgres.schema", error.to_string()))?;
        }
        let max_connections = match raw.max_connections {
            Some(max) => Some(
                usize::try_from(self.count(
                    "postgres.max_connections",
                    Some(max),
                    16,
                    1..=10_000,
                )?)
                .unwrap_or(usize::MAX),
            ),
            None => None,
        };
        if let Some(path) = &raw.root_certificates {
            if !std::path::Path::new(path).is_file() {
                return Err(self.error("postgres.root_certificates", "must be a readable PEM file"));
            }
        }
        Ok(PostgresSettings {
            schema: raw.schema.clone(),
            max_connections,
            root_certificates: raw.root_certificates.clone(),
        })
    }

    fn billing(&self, at: &str, customer: &RawCustomer) -> Result<CustomerBilling, ConfigError> {
        if let Some(sub) = &customer.subscription {
            let key = format!("{at}.subscription");
            self.text(&format!("{key}.plan"), &sub.plan, 200)?;
            self.one_of(
                &format!("{key}.status"),
                &sub.status,
                &["active", "trialing", "past_due", "canceled"],
            )?;
            self.currency(&format!("{key}.currency"), &sub.currency)?;
            self.one_of(
                &format!("{key}.interval"),
                &sub.interval,
                &["month", "year"],
            )?;
            if sub.amount_cents < 0 {
                return Err(self.error(format!("{key}.amount_cents"), "must not be negative"));
            }
            if let Some(date) = &sub.renews_on {
                self.date(&format!("{key}.renews_on"), date)?;
            }
        }
        for (i, invoice) in customer.invoices.iter().enumerate() {
            let key = format!("{at}.invoices[{i}]");
            self.text(&format!("{key}.number"), &invoice.number, 100)?;
            self.date(&format!("{key}.issued_on"), &invoice.issued_on)?;
            self.currency(&format!("{key}.currency"), &invoice.currency)?;
            self.one_of(
                &format!("{key}.status"),
                &invoice.status,
                &["paid", "open", "void"],
            )?;
        }
        for (i, line) in customer.usage.iter().enumerate() {
            let key = format!("{at}.usage[{i}]");
            self.text(&format!("{key}.metric"), &line.metric, 200)?;
            self.text(&format!("{key}.unit"), &line.unit, 50)?;
            self.text(&format!("{key}.period"), &line.period, 100)?;
            if line.quantity < 0 {
                return Err(self.error(format!("{key}.quantity"), "must not be negative"));
            }
        }
        Ok(CustomerBilling {
            subscription: customer.subscription.clone(),
            invoices: customer.invoices.clone(),
            usage: customer.usage.clone(),
        })
    }
}

/// Values given on the command line, which win over the file's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--store`.
    pub store: Option<String>,
}

/// Whether `key` is a secret key worth the name: `mf_sk_`, then at least 20 printable characters
/// without spaces, at least 10 of them different (so `mf_sk_aaaaaaaaaaaaaaaaaaaa` is refused).
pub fn is_strong_secret_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("mf_sk_") else {
        return false;
    };
    let distinct: HashSet<u8> = rest.bytes().collect();
    rest.len() >= 20 && rest.bytes().all(|b| b.is_ascii_graphic()) && distinct.len() >= 10
}

/// Parses and validates a configuration; `file` names it in errors.
///
/// # Errors
///
/// The first problem found, with its key and reason.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    parse_with(file, text, &Overrides::default())
}

/// [`parse`], with command-line overrides applied before validation.
///
/// # Errors
///
/// The first problem found, with its key and reason.
pub fn parse_with(file: &str, text: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
    let check = Checker { file };
    let mut raw: RawConfig = toml::from_str(text).map_err(|error| {
        let key = error
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].lines().count().max(1);
                format!("line {line}")
            })
            .unwrap_or_else(|| "(document)".to_owned());
        check.error(key, without_values(error.message()))
    })?;
    if let Some(listen) = &overrides.listen {
        raw.listen = Some(listen.clone());
    }
    if let Some(store) = &overrides.store {
        raw.store = Some(store.clone());
    }

    let listen = raw.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| check.error("listen", "must be an address and port, like 127.0.0.1:8080"))?;
    let public_url = raw
        .public_url
        .unwrap_or_else(|| format!("http://{listen}"))
        .trim_end_matches('/')
        .to_owned();
    if portal_sessions::validate_return_url(&public_url).is_err() || public_url.contains(['?', '#'])
    {
        return Err(check.error(
            "public_url",
            "must be an absolute http or https URL without a query",
        ));
    }
    let ttl = raw.session_ttl_seconds.unwrap_or(3600);
    if !(1..=86_400).contains(&ttl) {
        return Err(check.error("session_ttl_seconds", "must be between 1 and 86400"));
    }
    let store = StoreSpec::parse(raw.store.as_deref().unwrap_or("sled:./portal-data"))
        .map_err(|reason| check.error("store", reason))?;
    let mut trusted_proxies = Vec::new();
    for (i, text) in raw.trusted_proxies.iter().enumerate() {
        let network = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                check.error(
                    format!("trusted_proxies[{i}]"),
                    "must be an IP address or a network in CIDR form, like 10.0.0.0/8",
                )
            })?;
        trusted_proxies.push(network);
    }
    let default_locale = match raw.default_locale.as_deref() {
        None => Locale::ENGLISH,
        Some(text) => text.parse().map_err(|_| {
            check.error(
                "default_locale",
                "must be en, fr, de or es, optionally with a region such as fr-CA",
            )
        })?,
    };
    let limits = check.limits(&raw.limits)?;
    let http = check.http(&raw.http)?;
    let postgres = check.postgres(&raw.postgres, &store)?;
    let events = check.events(&raw.events)?;

    if raw.orgs.is_empty() {
        return Err(check.error("orgs", "at least one organisation is needed"));
    }
    let mut org_ids = HashSet::new();
    let mut all_keys = HashSet::new();
    let mut orgs = Vec::new();
    for (i, org) in raw.orgs.iter().enumerate() {
        let at = format!("orgs[{i}]");
        let id: OrgId = org
            .id
            .parse()
            .map_err(|_| check.error(format!("{at}.id"), "must be a UUID"))?;
        if !org_ids.insert(id) {
            return Err(check.error(format!("{at}.id"), "is used by another organisation"));
        }
        check.text(&format!("{at}.name"), &org.name, 200)?;
        if org.secret_keys.is_empty() {
            return Err(check.error(
                format!("{at}.secret_keys"),
                "at least one secret key is needed",
            ));
        }
        for (k, key) in org.secret_keys.iter().enumerate() {
            let path = format!("{at}.secret_keys[{k}]");
            if !is_strong_secret_key(key) {
                return Err(check.error(
                    path,
                    "must be mf_sk_ followed by at least 20 printable characters without spaces, \
                     at least 10 of them different (generate one; never reuse a published key)",
                ));
            }
            if !all_keys.insert(key.clone()) {
                return Err(check.error(path, "is configured twice"));
            }
        }
        for (k, key) in org.publishable_keys.iter().enumerate() {
            let path = format!("{at}.publishable_keys[{k}]");
            if !key.starts_with("mf_pk_") || key.bytes().any(|b| !b.is_ascii_graphic()) {
                return Err(check.error(path, "must start with mf_pk_ and have no spaces"));
            }
            if !all_keys.insert(key.clone()) {
                return Err(check.error(path, "is configured twice"));
            }
        }
        if let Some(url) = &org.logo_url {
            if !url.starts_with("https://") || portal_sessions::validate_return_url(url).is_err() {
                return Err(check.error(format!("{at}.logo_url"), "must be an https URL"));
            }
        }
        if let Some(color) = &org.brand_color {
            let ok = color.len() == 7
                && color.starts_with('#')
                && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(check.error(format!("{at}.brand_color"), "must be a colour as #rrggbb"));
            }
        }
        let mut webhooks = Vec::new();
        let mut webhook_urls = HashSet::new();
        for (w, raw_webhook) in org.webhooks.iter().enumerate() {
            let at = format!("{at}.webhooks[{w}]");
            let webhook = Webhook::new(&raw_webhook.url, &raw_webhook.secret).map_err(|error| {
                let key = match error {
                    crate::webhooks::WebhookError::Url => "url",
                    crate::webhooks::WebhookError::Secret => "secret",
                };
                check.error(format!("{at}.{key}"), error.to_string())
            })?;
            if !webhook_urls.insert(webhook.url().clone()) {
                return Err(check.error(
                    format!("{at}.url"),
                    "is configured twice for this organisation",
                ));
            }
            webhooks.push(webhook);
        }
        let mut customer_ids = HashSet::new();
        let mut external_ids = HashSet::new();
        let mut customers = Vec::new();
        for (c, raw_customer) in org.customers.iter().enumerate() {
            let at = format!("{at}.customers[{c}]");
            let id: CustomerId = raw_customer
                .id
                .parse()
                .map_err(|_| check.error(format!("{at}.id"), "must be a UUID"))?;
            if !customer_ids.insert(id) {
                return Err(check.error(
                    format!("{at}.id"),
                    "is used by another customer of this organisation",
                ));
            }
            portal_sessions::validate_external_id(&raw_customer.external_id)
                .map_err(|error| check.error(format!("{at}.external_id"), error.to_string()))?;
            if !external_ids.insert(raw_customer.external_id.clone()) {
                return Err(check.error(
                    format!("{at}.external_id"),
                    "is used by another customer of this organisation",
                ));
            }
            check.text(
                &format!("{at}.name"),
                &raw_customer.name,
                portal_sessions::MAX_NAME_BYTES,
            )?;
            if let Some(email) = &raw_customer.email {
                check.text(
                    &format!("{at}.email"),
                    email,
                    portal_sessions::MAX_EMAIL_BYTES,
                )?;
                if !email.contains('@') {
                    return Err(check.error(format!("{at}.email"), "must be an email address"));
                }
            }
            let snapshot = CustomerSnapshot {
                id,
                external_id: raw_customer.external_id.clone(),
                name: raw_customer.name.clone(),
                email: raw_customer.email.clone(),
            };
            customers.push((snapshot, check.billing(&at, raw_customer)?));
        }
        orgs.push(Org {
            id,
            branding: Branding {
                name: org.name.clone(),
                logo_url: org.logo_url.clone(),
                brand_color: org.brand_color.clone(),
            },
            secret_keys: org.secret_keys.clone(),
            publishable_keys: org.publishable_keys.clone(),
            customers,
            webhooks,
        });
    }
    Ok(Config {
        listen,
        public_url,
        session_ttl: Duration::from_secs(ttl.unsigned_abs()),
        show_all_sections: raw.show_all_sections.unwrap_or(false),
        trusted_proxies,
        default_locale,
        limits,
        http,
        postgres,
        events,
        store,
        orgs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_key_or_a_password() {
        let text = DEMO.replace(
            "store = \"sled:./portal-data\"",
            "store = \"postgres://app:hunter2hunter2@db.internal/billing?password=hunter3\"",
        );
        let config = parse("<demo>", &text).unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{config:?}");
        assert!(shown.contains("db.internal"), "{shown}");
        for secret in ["hunter2", "hunter3", "mf_sk_test_demo", "mf_pk_"] {
            assert!(!shown.contains(secret), "Debug shows {secret}: {shown}");
        }
        assert_eq!(
            redact_url("postgres://app:pw@db/x?sslmode=require&password=p2&user=u"),
            "postgres://app:***@db/x?sslmode=require&password=***&user=u"
        );
    }

    #[test]
    fn parser_messages_lose_their_quoted_values() {
        assert_eq!(
            without_values(r#"invalid type: string "mf_sk_live_TOPSECRET", expected a sequence"#),
            r#"invalid type: string "…", expected a sequence"#
        );
        assert_eq!(without_values(r#"a "b\"c" d"#), r#"a "…" d"#);
    }

    #[test]
    fn the_demo_is_valid() {
        let config = parse("<demo>", DEMO).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.orgs.len(), 1);
        assert_eq!(config.store, StoreSpec::Sled("./portal-data".into()));
        assert_eq!(config.orgs[0].customers[0].1.invoices.len(), 3);
    }

    #[test]
    fn the_default_locale_is_english_unless_configured() {
        let config = parse("<demo>", DEMO).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.default_locale, Locale::ENGLISH);
        let text = format!("default_locale = \"de-ch\"\n{DEMO}");
        let config = parse("x.toml", &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.default_locale.to_string(), "de-CH");
    }

    #[test]
    fn webhooks_and_events_are_checked_and_never_echo_a_secret() {
        let secret = "whsec_7f3a9c1e5b0d2f4a6c8e1b3d5f7a";
        let with = |webhooks: &str, events: &str| format!("{DEMO}\n{webhooks}\n{events}");
        let hook = format!(
            "[[orgs.webhooks]]\nurl = \"https://hooks.example.com/portal\"\nsecret = \"{secret}\"\n"
        );
        let config = parse("x.toml", &with(&hook, "")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.orgs[0].webhooks.len(), 1);
        assert_eq!(config.orgs[0].webhooks[0].host(), "hooks.example.com");
        assert_eq!(config.events, EventSettings::default());
        let shown = format!("{config:?}");
        assert!(
            shown.contains("hooks.example.com") && !shown.contains(secret),
            "{shown}"
        );

        let events = "[events]\npoll_interval_seconds = 0.05\nlease_seconds = 2\nmax_in_flight = 4\n\
                      request_timeout_seconds = 0.5\nretry_base_seconds = 0.05\nretry_max_seconds = 0.5";
        let config = parse("x.toml", &with(&hook, events)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.events.poll_interval, Duration::from_millis(50));
        assert_eq!(config.events.max_in_flight, 4);
        assert_eq!(config.events.retry_max, Duration::from_millis(500));

        let cases: &[(String, &str, &str, &str)] = &[
            (
                hook.replace("https://hooks.example.com/portal", "ftp://x"),
                "",
                "orgs[0].webhooks[0].url",
                "http",
            ),
            (
                hook.replace(secret, "whsec_tooshort"),
                "",
                "orgs[0].webhooks[0].secret",
                "24",
            ),
            (
                hook.replace(secret, &secret.replace("whsec_", "wh_")),
                "",
                "orgs[0].webhooks[0].secret",
                "whsec_",
            ),
            (
                format!("{hook}{hook}"),
                "",
                "orgs[0].webhooks[1].url",
                "twice",
            ),
            (
                hook.replace("secret = ", "secrt = "),
                "",
                "line 1",
                "unknown field",
            ),
            (
                hook.clone(),
                "[events]\nlease_seconds = 5\nrequest_timeout_seconds = 5",
                "events.request_timeout_seconds",
                "less than",
            ),
            (
                hook.clone(),
                "[events]\nretry_base_seconds = 10\nretry_max_seconds = 5",
                "events.retry_max_seconds",
                "at least",
            ),
            (
                hook.clone(),
                "[events]\nmax_in_flight = 0",
                "events.max_in_flight",
                "between",
            ),
            (
                hook.clone(),
                "[events]\npoll_interval_seconds = -1",
                "events.poll_interval_seconds",
                "between",
            ),
            (
                hook.clone(),
                "[events]\nbatch = 3",
                "line 2",
                "unknown field",
            ),
        ];
        for (webhooks, events, key, reason) in cases {
            let error = parse("x.toml", &with(webhooks, events))
                .err()
                .unwrap_or_else(|| panic!("{webhooks} {events} was accepted"));
            if key.starts_with("line") {
                assert!(error.key.starts_with("line"), "{webhooks}: {error}");
            } else {
                assert_eq!(error.key, *key, "{webhooks} {events}: {error}");
            }
            assert!(
                error.reason.contains(reason),
                "{webhooks} {events}: {error}"
            );
            assert!(
                !error.to_string().contains(&secret[6..]),
                "an error echoed the secret: {error}"
            );
        }
    }

    #[test]
    fn every_mistake_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("listen = \"nowhere\"", "listen", "address"),
            ("session_ttl_seconds = 0", "session_ttl_seconds", "between"),
            (
                "session_ttl_seconds = 86401",
                "session_ttl_seconds",
                "between",
            ),
            ("store = \"mysql://x\"", "store", "memory"),
            ("store = \"sled:\"", "store", "path"),
            ("public_url = \"ftp://x\"", "public_url", "http"),
            ("colour = \"red\"", "line 1", "unknown field"),
            ("default_locale = \"pt-BR\"", "default_locale", "fr-CA"),
            (
                "default_locale = \"fr_CA\"",
                "default_locale",
                "en, fr, de or es",
            ),
            (
                "session_ttl_seconds = \"an hour\"",
                "line 1",
                "invalid type",
            ),
        ];
        for (line, key, reason) in cases {
            let text = format!("{line}\n{}", &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..]);
            let error = parse("x.toml", &text)
                .err()
                .unwrap_or_else(|| panic!("{line} was accepted"));
            assert_eq!(error.file, "x.toml");
            assert_eq!(error.key, *key, "{line}: {error}");
            assert!(error.reason.contains(reason), "{line}: {error}");
        }
        let org_cases: &[(&str, &str, &str, &str)] = &[
            (
                "id = \"3f1c2a9e-4b7d-4e21-9a55-0c6d8e7f1a23\"",
                "id = \"nope\"",
                "orgs[0].id",
                "UUID",
            ),
            (
                "secret_keys = [\"mf_sk_test_demo_5f1e8c2a9b7d4e63\"]",
                "secret_keys = [\"sk_short\"]",
                "orgs[0].secret_keys[0]",
                "mf_sk_",
            ),
            (
                "secret_keys = [\"mf_sk_test_demo_5f1e8c2a9b7d4e63\"]",
                "secret_keys = []",
                "orgs[0].secret_keys",
                "at least one",
            ),
            (
                "brand_color = \"#4f46e5\"",
                "brand_color = \"blue\"",
                "orgs[0].brand_color",
                "#rrggbb",
            ),
            (
                "external_id = \"acme-001\"",
                "external_id = \"\"",
                "orgs[0].customers[0].external_id",
                "between 1 and 255",
            ),
            (
                "email = \"billing@acme.test\"",
                "email = \"nobody\"",
                "orgs[0].customers[0].email",
                "email",
            ),
            (
                "status = \"active\"",
                "status = \"sleeping\"",
                "orgs[0].customers[0].subscription.status",
                "one of",
            ),
            (
                "issued_on = \"2026-11-13\"",
                "issued_on = \"13/11/2026\"",
                "orgs[0].customers[0].invoices[0].issued_on",
                "YYYY-MM-DD",
            ),
            (
                "currency = \"USD\"\nstatus = \"open\"",
                "currency = \"usd\"\nstatus = \"open\"",
                "orgs[0].customers[0].invoices[0].currency",
                "ISO 4217",
            ),
            (
                "quantity = 42",
                "quantity = -42",
                "orgs[0].customers[0].usage[1].quantity",
                "negative",
            ),
        ];
        for (from, to, key, reason) in org_cases {
            let text = DEMO.replacen(from, to, 1);
            assert_ne!(text, DEMO, "{from} is not in the demo");
            let error = parse("x.toml", &text)
                .err()
                .unwrap_or_else(|| panic!("{to} was accepted"));
            assert_eq!(error.key, *key, "{to}: {error}");
            assert!(error.reason.contains(reason), "{to}: {error}");
            assert!(
                !error.to_string().contains("mf_sk_test_demo"),
                "an error echoed a key"
            );
        }
        let doubled = format!("{DEMO}\n{}", &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..]);
        let error = parse("x.toml", &doubled).err().map(|e| e.key);
        assert_eq!(error.as_deref(), Some("orgs[1].id"));
    }
}
