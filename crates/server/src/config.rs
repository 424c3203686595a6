//! The server's TOML configuration: read from a file (or the built-in demo), the environment and
//! the command line, then validated whole before anything starts.
//!
//! ```toml
//! listen = "127.0.0.1:8080"               # overridden by --listen
//! public_url = "http://127.0.0.1:8080"    # links are {public_url}/r/{token}
//! session_ttl_seconds = 3600              # 1..=86400
//! store = "sled:./portal-data"            # or "memory", or "postgres://user@host:5432/db";
//!                                         # overridden by --store
//! show_all_sections = false               # true: the portal shows all four sections, whatever
//!                                         # a session's features say (the reference's v1)
//! trusted_proxies = ["10.0.0.0/8"]        # CIDRs whose X-Forwarded-For / Forwarded is believed;
//!                                         # empty (the default): the peer address is the client
//! default_locale = "en"                   # en, fr, de or es, optionally with a region (fr-CA):
//!                                         # the pages' language when neither the session's
//!                                         # locale nor the browser's Accept-Language names one
//! log_format = "text"                     # or "json": one JSON object a line
//! metrics_listen = "127.0.0.1:9090"       # optional: /metrics on its own address; without it,
//!                                         # /metrics is served on `listen`
//! metrics_allow = ["127.0.0.0/8", "::1"]  # CIDRs of the clients that may read /metrics on
//!                                         # `listen` (resolved as for [limits], through
//!                                         # trusted_proxies); others get 403. Not for
//!                                         # metrics_listen, which serves whoever reaches it
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
//! max_connections_per_client = 256        # open at once per client (IPv4 address, IPv6 /64;
//!                                         # trusted_proxies not counted); past it, a new one is
//!                                         # closed unanswered
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
//! [sled]                                  # only with a sled: store
//! min_free_bytes = 67108864               # writes answer 503 while the store's file system
//!                                         # has less free (64 MiB); 0 turns the check off
//!
//! [postgres]                              # only with a postgres:// store
//! schema = "portal_sessions"              # the schema that holds the tables
//! max_connections = 16                    # the pool's size
//! root_certificates = "/etc/ssl/db-ca.pem" # PEM roots for sslmode=verify-ca/verify-full (and
//!                                         # require); without it, the Mozilla roots
//! startup_timeout_seconds = 60            # 1..=86400: at start, how long to keep trying while
//!                                         # the database cannot be reached (refused, no answer,
//!                                         # name not resolved), with backoff and a log line per
//!                                         # attempt; then the server exits. A refused login, an
//!                                         # unknown database or a failed TLS handshake stops it
//!                                         # at once
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
//! # The environment
//!
//! Every top-level key can also come from the environment, as `PORTAL_SESSIONS_` followed by the
//! key in capitals: `PORTAL_SESSIONS_LISTEN`, `PORTAL_SESSIONS_PUBLIC_URL`,
//! `PORTAL_SESSIONS_SESSION_TTL_SECONDS`, `PORTAL_SESSIONS_STORE`,
//! `PORTAL_SESSIONS_SHOW_ALL_SECTIONS`, `PORTAL_SESSIONS_TRUSTED_PROXIES`,
//! `PORTAL_SESSIONS_DEFAULT_LOCALE`, `PORTAL_SESSIONS_LOG_FORMAT`, `PORTAL_SESSIONS_METRICS_LISTEN`,
//! `PORTAL_SESSIONS_METRICS_ALLOW`, and the tables `PORTAL_SESSIONS_LIMITS`, `PORTAL_SESSIONS_HTTP`,
//! `PORTAL_SESSIONS_SLED`, `PORTAL_SESSIONS_POSTGRES`, `PORTAL_SESSIONS_EVENTS` and
//! `PORTAL_SESSIONS_ORGS`. A variable replaces the file's value whole: a
//! table or a list from the environment is not merged with the file's.
//!
//! - A string key (`listen`, `public_url`, `store`, `default_locale`, `log_format`,
//!   `metrics_listen`) takes the variable's text as it is, without quotes:
//!   `PORTAL_SESSIONS_STORE=memory`.
//! - Every other key takes a TOML value: `PORTAL_SESSIONS_SESSION_TTL_SECONDS=600`,
//!   `PORTAL_SESSIONS_SHOW_ALL_SECTIONS=true`, `PORTAL_SESSIONS_TRUSTED_PROXIES='["10.0.0.0/8"]'`,
//!   `PORTAL_SESSIONS_LIMITS='{ enabled = false }'`,
//!   `PORTAL_SESSIONS_ORGS='[{ id = "...", name = "...", secret_keys = ["mf_sk_..."] }]'`.
//! - A variable set to the empty string is a value (an empty string, or not a TOML value), not an
//!   unset variable.
//! - Any other `PORTAL_SESSIONS_*` variable is an error, so that a typo is not silently ignored,
//!   except the ones the tests, the benchmarks and CI use for themselves ([`ENV_IGNORED`]).
//!
//! Precedence, highest first: a flag (`--listen`, `--store`), the environment, the file (or, without
//! `--config`, the built-in demo), the default.
//!
//! # Errors
//!
//! Unknown keys are errors (a typo must not silently fall back to a default). The whole
//! configuration is checked and every error reported, each with where it is (the file and its line,
//! `environment` and the variable, or the flag), the key and the reason, and never the value (it
//! may be a key or a password). A value that is wrong is left out, and what depends on it is not
//! checked, so that one mistake is reported once. The server starts only with a configuration that
//! is valid whole.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::ops::{Range, RangeInclusive};
use std::time::Duration;

use ipnet::IpNet;
use portal_sessions::{CustomerId, CustomerSnapshot, Locale, OrgId};
use portal_sessions_axum::{
    AttemptLimit, Branding, CustomerBilling, Invoice, Subscription, UsageLine,
};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::http::HttpLimits;
use crate::webhooks::{EventSettings, Webhook, WebhookError};

/// The built-in demo configuration.
pub const DEMO: &str = include_str!("demo.toml");

/// What the built-in demo is called in errors.
pub const DEMO_NAME: &str = "<built-in demo>";

/// What the environment is called in errors (as their `file`).
pub const ENVIRONMENT: &str = "environment";

/// The prefix of the environment variables that configure the server.
pub const ENV_PREFIX: &str = "PORTAL_SESSIONS_";

/// The `PORTAL_SESSIONS_*` variables that are not configuration, by prefix, and so are ignored:
/// the ones the tests, the benchmarks and CI use for themselves, which the server inherits when a
/// test runs it.
///
/// - `PORTAL_SESSIONS_TEST_*`: `PORTAL_SESSIONS_TEST_DATABASE_URL`, the tests' PostgreSQL.
/// - `PORTAL_SESSIONS_REQUIRE_*`: `PORTAL_SESSIONS_REQUIRE_POSTGRES`, `_BROWSER`,
///   `_OPENAPI_VALIDATOR`, `_PROMTOOL`: a test fails instead of skipping without its tool.
/// - `PORTAL_SESSIONS_BENCH_*`: `PORTAL_SESSIONS_BENCH_BACKENDS`, `_SIZES`, `_OPEN_N`,
///   `_OPEN_LIST_N`: what the benchmarks measure.
/// - `PORTAL_SESSIONS_SLED_*`: `PORTAL_SESSIONS_SLED_UPGRADE_CHILD_DB`, `_CRASH_CHILD_DB`,
///   `_HOLDER_DB`: the sled tests' child processes.
pub const ENV_IGNORED: &[&str] = &[
    "PORTAL_SESSIONS_TEST_",
    "PORTAL_SESSIONS_REQUIRE_",
    "PORTAL_SESSIONS_BENCH_",
    "PORTAL_SESSIONS_SLED_",
];

/// A configuration that cannot be used: where, which key, and why. Never contains a key's value.
///
/// Shown as `{file}: line {line}: {key}: {reason}`, or `{file}: {key}: {reason}` without a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{key}: {reason}", line_prefix(*.line))]
pub struct ConfigError {
    /// The file (or `<built-in demo>`), `environment` for a variable, or `--listen` / `--store`
    /// for a flag.
    pub file: String,
    /// The line of the file, from 1, when the error is in a file and its line is known.
    pub line: Option<usize>,
    /// The key, as a path: `orgs[0].customers[2].email`; for a variable, the variable's name in
    /// place of the top-level key: `PORTAL_SESSIONS_ORGS[0].name`; `syntax` for a file that is not
    /// TOML.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|line| format!("line {line}: "))
        .unwrap_or_default()
}

impl ConfigError {
    /// An error without a line.
    pub fn new(
        file: impl Into<String>,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: file.into(),
            line: None,
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Every error of a configuration (at least one), in the order of the file's lines, then the
/// environment's, then the flags'. Shown one error a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", one_a_line(.errors))]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
}

fn one_a_line(errors: &[ConfigError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

impl ConfigErrors {
    /// Every error (never empty).
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// The first error.
    pub fn first(&self) -> &ConfigError {
        &self.errors[0]
    }

    /// The first error, for a caller that reports one.
    pub fn into_first(self) -> ConfigError {
        self.errors
            .into_iter()
            .next()
            .unwrap_or_else(|| ConfigError::new("<configuration>", "(none)", "is invalid"))
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> ConfigErrors {
        ConfigErrors {
            errors: vec![error],
        }
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// Where the configuration's file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource<'a> {
    /// A file: its path (which names it in errors) and its text.
    File {
        /// The path.
        path: &'a str,
        /// The text.
        text: &'a str,
    },
    /// The built-in demo ([`DEMO`]), `<built-in demo>` in errors.
    Demo,
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
/// the key. Every `"..."` becomes `"…"`; what is between backticks (the tokens the parser expected,
/// like `` `"` ``) is kept.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '`' {
            for inner in chars.by_ref() {
                out.push(inner);
                if inner == '`' {
                    break;
                }
            }
        } else if c == '"' {
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
            // The reason never quotes the URL, nor the driver's message (either may hold the
            // password).
            portal_sessions_postgres::PostgresConfig::validate_url(text).map_err(|error| {
                let reason = match &error {
                    portal_sessions::StoreError::Config { reason, .. } => reason.as_str(),
                    _ => "malformed PostgreSQL connection string",
                };
                format!(
                    "must be a PostgreSQL URL like postgres://user:password@host:5432/db \
                     ({reason})"
                )
            })?;
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

/// The sled settings (`[sled]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SledSettings {
    /// Writes are refused while the store's file system has fewer bytes free.
    pub min_free_bytes: u64,
}

impl Default for SledSettings {
    fn default() -> SledSettings {
        SledSettings {
            min_free_bytes: portal_sessions_sled::SledConfig::DEFAULT_MIN_FREE_BYTES,
        }
    }
}

/// The PostgreSQL settings (`[postgres]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    /// The schema, when not the default.
    pub schema: Option<String>,
    /// The pool size, when not the default.
    pub max_connections: Option<usize>,
    /// A PEM file of root certificates to verify the server with.
    pub root_certificates: Option<String>,
    /// How long the server keeps trying, at start, while the database cannot be reached.
    pub startup_timeout: Duration,
}

/// The default of `[postgres] startup_timeout_seconds`.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for PostgresSettings {
    fn default() -> PostgresSettings {
        PostgresSettings {
            schema: None,
            max_connections: None,
            root_certificates: None,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
        }
    }
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
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Where `/metrics` is served on its own, when not on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// The clients that may read `/metrics` on `listen`.
    pub metrics_allow: Vec<IpNet>,
    /// The failed-attempt limits.
    pub limits: Limits,
    /// The connection limits.
    pub http: HttpLimits,
    /// The sled settings.
    pub sled: SledSettings,
    /// The PostgreSQL settings.
    pub postgres: PostgresSettings,
    /// How events are delivered to webhooks.
    pub events: EventSettings,
    /// The organisations.
    pub orgs: Vec<Org>,
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

/// How a top-level key is written in the environment: its text as it is, or a TOML value (like
/// the example).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    Toml(&'static str),
}

/// The top-level keys.
const TOP_LEVEL: &[(&str, Shape)] = &[
    ("listen", Shape::Text),
    ("public_url", Shape::Text),
    ("session_ttl_seconds", Shape::Toml("600")),
    ("store", Shape::Text),
    ("show_all_sections", Shape::Toml("true")),
    ("trusted_proxies", Shape::Toml("[\"10.0.0.0/8\"]")),
    ("default_locale", Shape::Text),
    ("log_format", Shape::Text),
    ("metrics_listen", Shape::Text),
    ("metrics_allow", Shape::Toml("[\"127.0.0.0/8\", \"::1\"]")),
    ("limits", Shape::Toml("{ enabled = false }")),
    ("http", Shape::Toml("{ max_connections = 256 }")),
    ("sled", Shape::Toml("{ min_free_bytes = 0 }")),
    ("postgres", Shape::Toml("{ schema = \"portal_sessions\" }")),
    ("events", Shape::Toml("{ max_in_flight = 8 }")),
    (
        "orgs",
        Shape::Toml("[{ id = \"<uuid>\", name = \"Demo Co\", secret_keys = [\"mf_sk_...\"] }]"),
    ),
];

const LIMITS_KEYS: &[&str] = &[
    "enabled",
    "window_seconds",
    "max_clients",
    "link_failures",
    "cookie_failures",
    "api_key_failures",
];
const HTTP_KEYS: &[&str] = &[
    "header_timeout_seconds",
    "body_timeout_seconds",
    "max_connections",
    "max_connections_per_client",
    "shutdown_grace_seconds",
];
const EVENTS_KEYS: &[&str] = &[
    "poll_interval_seconds",
    "lease_seconds",
    "max_in_flight",
    "request_timeout_seconds",
    "retry_base_seconds",
    "retry_max_seconds",
];
const POSTGRES_KEYS: &[&str] = &[
    "schema",
    "max_connections",
    "root_certificates",
    "startup_timeout_seconds",
];
const SLED_KEYS: &[&str] = &["min_free_bytes"];
const ORG_KEYS: &[&str] = &[
    "id",
    "name",
    "secret_keys",
    "publishable_keys",
    "logo_url",
    "brand_color",
    "customers",
    "webhooks",
];
const WEBHOOK_KEYS: &[&str] = &["url", "secret"];
const CUSTOMER_KEYS: &[&str] = &[
    "id",
    "external_id",
    "name",
    "email",
    "subscription",
    "invoices",
    "usage",
];
const SUBSCRIPTION_KEYS: &[&str] = &[
    "plan",
    "status",
    "amount_cents",
    "currency",
    "interval",
    "renews_on",
];
const INVOICE_KEYS: &[&str] = &["number", "issued_on", "amount_cents", "currency", "status"];
const USAGE_KEYS: &[&str] = &["metric", "quantity", "unit", "period"];

/// A webhook secret that passes the check, to check a webhook's URL on its own when its secret is
/// wrong or missing (so that both are reported). Never used to sign anything.
const PROBE_WEBHOOK_SECRET: &str = "whsec_0123456789abcdefghijklmn";

/// Where a top-level key's value comes from.
#[derive(Debug, Clone, Copy)]
enum Origin<'s> {
    File,
    Env(&'s str),
    Flag(&'static str),
}

/// A value was wrong, and the error is in the report.
#[derive(Debug, Clone, Copy)]
struct Reported;

/// A value read: `Ok(None)` when the key is absent.
type Read<T> = Result<Option<T>, Reported>;

/// The items of a list, each with its path; `None` for one a syntax error already reported.
type Items<'t, 'v> = Vec<(String, Option<&'t Spanned<DeValue<'v>>>)>;

/// The errors found so far, and what is needed to say where they are.
struct Report<'s> {
    /// The file's name.
    file: &'s str,
    /// The file's text (the lines).
    text: &'s str,
    /// The spans of the file's syntax errors: a value they touch is already reported.
    syntax: Vec<Range<usize>>,
    /// Where each top-level key's value comes from, when not from the file.
    origins: HashMap<&'static str, Origin<'s>>,
    /// The top-level keys whose value was refused whole (a variable that is not TOML).
    broken: HashSet<&'static str>,
    /// Where the file's values are: a path's byte offset.
    spans: RefCell<HashMap<String, usize>>,
    /// The errors, with their rank (file, environment, flags) and line, to be sorted.
    errors: RefCell<Vec<(u8, usize, ConfigError)>>,
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

fn is_leaf(value: &Spanned<DeValue<'_>>) -> bool {
    !matches!(value.get_ref(), DeValue::Array(_) | DeValue::Table(_))
}

fn with_article(type_name: &str) -> &'static str {
    match type_name {
        "string" => "a string",
        "integer" => "an integer",
        "float" => "a number with a fraction",
        "boolean" => "true or false",
        "datetime" => "a date or time",
        "array" => "a list",
        _ => "a table",
    }
}

/// The edit distance between two strings, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The known name closest to `name`, when it is close enough to be what was meant (a typo or
/// two, or the start of it).
fn closest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    known
        .into_iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance * 3 <= candidate.chars().count()
                || (name.len() >= 4 && candidate.starts_with(name))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn unknown_key(name: &str, known: &[&str]) -> String {
    match closest(name, known.iter().copied()) {
        Some(meant) => format!("unknown key (did you mean {meant}?)"),
        None => format!("unknown key (the keys here: {})", known.join(", ")),
    }
}

impl<'s> Report<'s> {
    fn origin(&self, path: &str) -> Origin<'s> {
        let top = path.split(['.', '[']).next().unwrap_or(path);
        self.origins.get(top).copied().unwrap_or(Origin::File)
    }

    /// The line of a byte offset of the file, from 1.
    fn line_at(&self, offset: usize) -> usize {
        self.text
            .get(..offset)
            .unwrap_or(self.text)
            .matches('\n')
            .count()
            + 1
    }

    /// The line of a path's value, or of its nearest ancestor's when the value is not in the file
    /// (a default).
    fn line_of(&self, path: &str) -> Option<usize> {
        let spans = self.spans.borrow();
        let mut path = path;
        loop {
            if let Some(offset) = spans.get(path) {
                return Some(self.line_at(*offset));
            }
            path = &path[..path.rfind(['.', '['])?];
        }
    }

    fn record(&self, path: &str, span: &Range<usize>) {
        self.spans.borrow_mut().insert(path.to_owned(), span.start);
    }

    fn push(&self, rank: u8, error: ConfigError) {
        let line = error.line.unwrap_or(usize::MAX);
        self.errors.borrow_mut().push((rank, line, error));
    }

    /// Reports an error about the value at `path`, named after where the value comes from.
    fn error(&self, path: &str, reason: impl Into<String>) -> Reported {
        let reason = reason.into();
        match self.origin(path) {
            Origin::File => self.push(
                0,
                ConfigError {
                    file: self.file.to_owned(),
                    line: self.line_of(path),
                    key: path.to_owned(),
                    reason,
                },
            ),
            Origin::Env(variable) => {
                let below = path.find(['.', '[']).map_or("", |at| &path[at..]);
                self.push(
                    1,
                    ConfigError::new(ENVIRONMENT, format!("{variable}{below}"), reason),
                );
            }
            Origin::Flag(flag) => self.push(2, ConfigError::new(flag, path, reason)),
        }
        Reported
    }

    /// [`Report::error`], as a value that is left out.
    fn fail<T>(&self, path: &str, reason: impl Into<String>) -> Option<T> {
        self.error(path, reason);
        None
    }

    /// Whether a syntax error of the file touches this value (and so already reported it).
    fn touched(&self, path: &str, value: &Spanned<DeValue<'_>>) -> bool {
        let span = value.span();
        is_leaf(value)
            && matches!(self.origin(path), Origin::File)
            && self
                .syntax
                .iter()
                .any(|error| error.start <= span.end && span.start <= error.end)
    }

    fn wrong(&self, path: &str, expected: &str, found: &DeValue<'_>) -> Reported {
        self.error(
            path,
            format!("must be {expected}, not {}", with_article(found.type_str())),
        )
    }

    /// Reports the keys of `table` that are not `known`.
    fn known(&self, table: &DeTable<'_>, at: &str, known: &[&str]) {
        for key in table.keys() {
            let name: &str = key.get_ref();
            if !known.contains(&name) {
                let path = join(at, name);
                self.record(&path, &key.span());
                self.error(&path, unknown_key(name, known));
            }
        }
    }

    /// The value of `key` in `table` (at `at`).
    fn get<'t, 'v>(
        &self,
        table: &'t DeTable<'v>,
        at: &str,
        key: &str,
    ) -> Read<&'t Spanned<DeValue<'v>>> {
        if at.is_empty() && self.broken.contains(key) {
            return Err(Reported);
        }
        let Some(value) = table.get(key) else {
            return Ok(None);
        };
        let path = join(at, key);
        self.record(&path, &value.span());
        if self.touched(&path, value) {
            return Err(Reported);
        }
        Ok(Some(value))
    }

    fn read<'t, 'v, T>(
        &self,
        table: &'t DeTable<'v>,
        at: &str,
        key: &str,
        convert: impl FnOnce(&str, &'t Spanned<DeValue<'v>>) -> Result<T, Reported>,
    ) -> Read<T> {
        match self.get(table, at, key)? {
            Some(value) => convert(&join(at, key), value).map(Some),
            None => Ok(None),
        }
    }

    /// A value that must be there.
    fn required<T>(&self, at: &str, key: &str, read: Read<T>) -> Option<T> {
        match read {
            Ok(Some(value)) => Some(value),
            Ok(None) => self.fail(&join(at, key), "is required"),
            Err(Reported) => None,
        }
    }

    fn as_string(&self, path: &str, value: &Spanned<DeValue<'_>>) -> Result<String, Reported> {
        match value.get_ref() {
            DeValue::String(text) => Ok(text.to_string()),
            other => Err(self.wrong(path, "a string", other)),
        }
    }

    fn as_integer(&self, path: &str, value: &Spanned<DeValue<'_>>) -> Result<i64, Reported> {
        match value.get_ref() {
            DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
                .map_err(|_| self.error(path, "must be an integer that fits in 64 bits")),
            other => Err(self.wrong(path, "an integer", other)),
        }
    }

    fn as_number(&self, path: &str, value: &Spanned<DeValue<'_>>) -> Result<f64, Reported> {
        match value.get_ref() {
            DeValue::Float(float) => float
                .as_str()
                .parse()
                .map_err(|_| self.error(path, "must be a number")),
            DeValue::Integer(_) => self.as_integer(path, value).map(|integer| integer as f64),
            other => Err(self.wrong(path, "a number", other)),
        }
    }

    fn as_bool(&self, path: &str, value: &Spanned<DeValue<'_>>) -> Result<bool, Reported> {
        match value.get_ref() {
            DeValue::Boolean(boolean) => Ok(*boolean),
            other => Err(self.wrong(path, "true or false", other)),
        }
    }

    fn as_table<'t, 'v>(
        &self,
        path: &str,
        value: &'t Spanned<DeValue<'v>>,
        known: &[&str],
    ) -> Result<&'t DeTable<'v>, Reported> {
        match value.get_ref() {
            DeValue::Table(table) => {
                self.known(table, path, known);
                Ok(table)
            }
            other => Err(self.wrong(path, "a table", other)),
        }
    }

    fn string(&self, table: &DeTable<'_>, at: &str, key: &str) -> Read<String> {
        self.read(table, at, key, |path, value| self.as_string(path, value))
    }

    fn integer(&self, table: &DeTable<'_>, at: &str, key: &str) -> Read<i64> {
        self.read(table, at, key, |path, value| self.as_integer(path, value))
    }

    fn number(&self, table: &DeTable<'_>, at: &str, key: &str) -> Read<f64> {
        self.read(table, at, key, |path, value| self.as_number(path, value))
    }

    fn boolean(&self, table: &DeTable<'_>, at: &str, key: &str) -> Read<bool> {
        self.read(table, at, key, |path, value| self.as_bool(path, value))
    }

    /// The table at `key`, its unknown keys reported.
    fn table<'t, 'v>(
        &self,
        table: &'t DeTable<'v>,
        at: &str,
        key: &str,
        known: &[&str],
    ) -> Read<&'t DeTable<'v>> {
        self.read(table, at, key, |path, value| {
            self.as_table(path, value, known)
        })
    }

    /// The items of the list at `key` (none when it is absent), each with its path; `None` for an
    /// item a syntax error already reported.
    fn list<'t, 'v>(
        &self,
        table: &'t DeTable<'v>,
        at: &str,
        key: &str,
    ) -> Result<Items<'t, 'v>, Reported> {
        let path = join(at, key);
        let Some(value) = self.get(table, at, key)? else {
            return Ok(Vec::new());
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong(&path, "a list", value.get_ref()));
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{path}[{i}]");
                self.record(&path, &item.span());
                let ok = !self.touched(&path, item);
                (path, ok.then_some(item))
            })
            .collect())
    }

    /// The strings of the list at `key`: `None` for one that is wrong.
    fn strings(
        &self,
        table: &DeTable<'_>,
        at: &str,
        key: &str,
    ) -> Result<Vec<(String, Option<String>)>, Reported> {
        Ok(self
            .list(table, at, key)?
            .into_iter()
            .map(|(path, item)| {
                let text = item.and_then(|item| self.as_string(&path, item).ok());
                (path, text)
            })
            .collect())
    }

    /// The tables of the list at `key`, their unknown keys reported: `None` for one that is wrong.
    fn tables<'t, 'v>(
        &self,
        table: &'t DeTable<'v>,
        at: &str,
        key: &str,
        known: &[&str],
    ) -> Result<Vec<(String, Option<&'t DeTable<'v>>)>, Reported> {
        Ok(self
            .list(table, at, key)?
            .into_iter()
            .map(|(path, item)| {
                let table = item.and_then(|item| self.as_table(&path, item, known).ok());
                (path, table)
            })
            .collect())
    }

    fn text(&self, path: &str, value: String, max: usize) -> Option<String> {
        if value.trim().is_empty() {
            self.fail(path, "must not be empty")
        } else if value.len() > max {
            self.fail(path, format!("must be at most {max} bytes"))
        } else if value.chars().any(char::is_control) {
            self.fail(path, "must not contain control characters")
        } else {
            Some(value)
        }
    }

    fn date(&self, path: &str, value: String) -> Option<String> {
        let ok = value.len() == 10
            && portal_sessions::Timestamp::parse_rfc3339(&format!("{value}T00:00:00.000Z"))
                .is_some();
        if ok {
            Some(value)
        } else {
            self.fail(path, "must be a date, YYYY-MM-DD")
        }
    }

    fn currency(&self, path: &str, value: String) -> Option<String> {
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
            Some(value)
        } else {
            self.fail(
                path,
                "must be a three-letter ISO 4217 code in capitals, like USD",
            )
        }
    }

    fn one_of(&self, path: &str, value: String, allowed: &[&str]) -> Option<String> {
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.fail(path, format!("must be one of {}", allowed.join(", ")))
        }
    }

    /// A number of seconds in `range` (`default` when absent), as a duration.
    fn seconds(
        &self,
        table: &DeTable<'_>,
        at: &str,
        key: &str,
        default: f64,
        range: RangeInclusive<f64>,
    ) -> Option<Duration> {
        let value = self.number(table, at, key).ok()?.unwrap_or(default);
        if value.is_finite() && range.contains(&value) {
            Some(Duration::from_secs_f64(value))
        } else {
            self.fail(
                &join(at, key),
                format!(
                    "must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            )
        }
    }

    /// A whole number in `range` (`default` when absent).
    fn count(
        &self,
        table: &DeTable<'_>,
        at: &str,
        key: &str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Option<u64> {
        let value = self.integer(table, at, key).ok()?.unwrap_or(default);
        self.in_range(&join(at, key), value, range)
    }

    fn in_range(&self, path: &str, value: i64, range: RangeInclusive<i64>) -> Option<u64> {
        if range.contains(&value) {
            Some(value.unsigned_abs())
        } else {
            self.fail(
                path,
                format!("must be between {} and {}", range.start(), range.end()),
            )
        }
    }

    fn not_negative(&self, path: &str, value: i64) -> Option<i64> {
        if value < 0 {
            self.fail(path, "must not be negative")
        } else {
            Some(value)
        }
    }
}

/// All of them, or `None` when one is missing (each is looked at: none is skipped).
fn all<T>(items: Vec<Option<T>>) -> Option<Vec<T>> {
    items.into_iter().collect()
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn read_config(r: &Report<'_>, top: &DeTable<'_>) -> Option<Config> {
    let listen = r.string(top, "", "listen").ok().and_then(|text| {
        let text = text.as_deref().unwrap_or("127.0.0.1:8080");
        text.parse::<SocketAddr>()
            .ok()
            .or_else(|| r.fail("listen", "must be an address and port, like 127.0.0.1:8080"))
    });
    let public_url = match r.string(top, "", "public_url") {
        Ok(Some(url)) => Some(url),
        Ok(None) => listen.map(|listen| format!("http://{listen}")),
        Err(Reported) => None,
    }
    .and_then(|url| {
        let url = url.trim_end_matches('/').to_owned();
        if portal_sessions::validate_return_url(&url).is_err() || url.contains(['?', '#']) {
            r.fail(
                "public_url",
                "must be an absolute http or https URL without a query",
            )
        } else {
            Some(url)
        }
    });
    let ttl = r.count(top, "", "session_ttl_seconds", 3600, 1..=86_400);
    let store = r.string(top, "", "store").ok().and_then(|text| {
        StoreSpec::parse(text.as_deref().unwrap_or("sled:./portal-data"))
            .map_err(|reason| r.error("store", reason))
            .ok()
    });
    let show_all_sections = r
        .boolean(top, "", "show_all_sections")
        .ok()
        .map(|show| show.unwrap_or(false));
    let trusted_proxies = networks(r, top, "trusted_proxies").map(Option::unwrap_or_default);
    let metrics_allow =
        networks(r, top, "metrics_allow").map(|allow| allow.unwrap_or_else(|| LOOPBACK.to_vec()));
    let default_locale = r
        .string(top, "", "default_locale")
        .ok()
        .and_then(|text| match text {
            None => Some(Locale::ENGLISH),
            Some(text) => text.parse().ok().or_else(|| {
                r.fail(
                    "default_locale",
                    "must be en, fr, de or es, optionally with a region such as fr-CA",
                )
            }),
        });
    let log_format = r
        .string(top, "", "log_format")
        .ok()
        .and_then(|text| match text.as_deref() {
            None | Some("text") => Some(LogFormat::Text),
            Some("json") => Some(LogFormat::Json),
            Some(_) => r.fail("log_format", "must be \"text\" or \"json\""),
        });
    let metrics_listen = r
        .string(top, "", "metrics_listen")
        .ok()
        .and_then(|text| match text {
            None => Some(None),
            Some(text) => text.parse::<SocketAddr>().ok().map(Some).or_else(|| {
                r.fail(
                    "metrics_listen",
                    "must be an address and port, like 127.0.0.1:9090",
                )
            }),
        });
    let limits = limits(r, top);
    let http = http(r, top);
    let sled = sled(r, top, store.as_ref());
    let postgres = postgres(r, top, store.as_ref());
    let events = events(r, top);
    let orgs = orgs(r, top);
    Some(Config {
        listen: listen?,
        public_url: public_url?,
        session_ttl: Duration::from_secs(ttl?),
        store: store?,
        show_all_sections: show_all_sections?,
        trusted_proxies: trusted_proxies?,
        default_locale: default_locale?,
        log_format: log_format?,
        metrics_listen: metrics_listen?,
        metrics_allow: metrics_allow?,
        limits: limits?,
        http: http?,
        sled: sled?,
        postgres: postgres?,
        events: events?,
        orgs: orgs?,
    })
}

/// The clients that may read `/metrics` on `listen` unless `metrics_allow` says otherwise.
const LOOPBACK: [IpNet; 2] = [
    IpNet::V4(ipnet::Ipv4Net::new_assert(
        std::net::Ipv4Addr::new(127, 0, 0, 0),
        8,
    )),
    IpNet::V6(ipnet::Ipv6Net::new_assert(
        std::net::Ipv6Addr::LOCALHOST,
        128,
    )),
];

/// A list of networks (`10.0.0.0/8`, or an address alone): `Some(None)` when absent.
fn networks(r: &Report<'_>, top: &DeTable<'_>, key: &str) -> Option<Option<Vec<IpNet>>> {
    let items = r.strings(top, "", key).ok()?;
    if !top.contains_key(key) {
        return Some(None);
    }
    all(items
        .into_iter()
        .map(|(path, text)| {
            let text = text?;
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .ok()
                .or_else(|| {
                    r.fail(
                        &path,
                        "must be an IP address or a network in CIDR form, like 10.0.0.0/8",
                    )
                })
        })
        .collect())
    .map(Some)
}

fn limits(r: &Report<'_>, top: &DeTable<'_>) -> Option<Limits> {
    let empty = DeTable::new();
    let table = r
        .table(top, "", "limits", LIMITS_KEYS)
        .ok()
        .flatten()
        .unwrap_or(&empty);
    let at = "limits";
    let window = r.seconds(table, at, "window_seconds", 60.0, 1.0..=86_400.0);
    let max_clients = r.count(table, at, "max_clients", 100_000, 1..=10_000_000);
    let enabled = r
        .boolean(table, at, "enabled")
        .ok()
        .map(|e| e.unwrap_or(true));
    let failures = |key| r.count(table, at, key, 20, 0..=1_000_000);
    let (links, cookies, api_keys) = (
        failures("link_failures"),
        failures("cookie_failures"),
        failures("api_key_failures"),
    );
    let (window, max_clients, enabled) = (window?, max_clients?, enabled?);
    let limit = |failures: u64| {
        (enabled && failures > 0).then(|| AttemptLimit {
            max_failures: u32::try_from(failures).unwrap_or(u32::MAX),
            window,
            max_clients: to_usize(max_clients),
        })
    };
    Some(Limits {
        links: limit(links?),
        cookies: limit(cookies?),
        api_keys: limit(api_keys?),
    })
}

fn http(r: &Report<'_>, top: &DeTable<'_>) -> Option<HttpLimits> {
    let empty = DeTable::new();
    let table = r
        .table(top, "", "http", HTTP_KEYS)
        .ok()
        .flatten()
        .unwrap_or(&empty);
    let at = "http";
    let header_timeout = r.seconds(table, at, "header_timeout_seconds", 10.0, 0.05..=3_600.0);
    let body_timeout = r.seconds(table, at, "body_timeout_seconds", 30.0, 0.05..=3_600.0);
    let max_connections = r.count(table, at, "max_connections", 1024, 1..=1_000_000);
    let per_client = r.count(table, at, "max_connections_per_client", 256, 1..=1_000_000);
    let shutdown_grace = r.seconds(table, at, "shutdown_grace_seconds", 10.0, 0.0..=3_600.0);
    Some(HttpLimits {
        header_timeout: header_timeout?,
        body_timeout: body_timeout?,
        max_connections: to_usize(max_connections?),
        max_connections_per_client: to_usize(per_client?),
        shutdown_grace: shutdown_grace?,
    })
}

fn events(r: &Report<'_>, top: &DeTable<'_>) -> Option<EventSettings> {
    let empty = DeTable::new();
    let table = r
        .table(top, "", "events", EVENTS_KEYS)
        .ok()
        .flatten()
        .unwrap_or(&empty);
    let at = "events";
    let defaults = EventSettings::default();
    let seconds =
        |key, default: Duration, range| r.seconds(table, at, key, default.as_secs_f64(), range);
    let poll_interval = seconds(
        "poll_interval_seconds",
        defaults.poll_interval,
        0.01..=3_600.0,
    );
    let lease = seconds("lease_seconds", defaults.lease, 0.1..=86_400.0);
    let max_in_flight = r.count(table, at, "max_in_flight", 32, 1..=10_000);
    let request_timeout = seconds(
        "request_timeout_seconds",
        defaults.request_timeout,
        0.05..=3_600.0,
    );
    let retry_base = seconds("retry_base_seconds", defaults.retry_base, 0.01..=86_400.0);
    let retry_max = seconds("retry_max_seconds", defaults.retry_max, 0.01..=86_400.0);
    let mut ok = true;
    if let (Some(request_timeout), Some(lease)) = (request_timeout, lease) {
        if request_timeout >= lease {
            r.error(
                "events.request_timeout_seconds",
                "must be less than events.lease_seconds (a delivery must end while its session \
                 is still this server's)",
            );
            ok = false;
        }
    }
    if let (Some(retry_base), Some(retry_max)) = (retry_base, retry_max) {
        if retry_max < retry_base {
            r.error(
                "events.retry_max_seconds",
                "must be at least events.retry_base_seconds",
            );
            ok = false;
        }
    }
    let settings = EventSettings {
        poll_interval: poll_interval?,
        lease: lease?,
        max_in_flight: to_usize(max_in_flight?),
        request_timeout: request_timeout?,
        retry_base: retry_base?,
        retry_max: retry_max?,
    };
    ok.then_some(settings)
}

fn sled(r: &Report<'_>, top: &DeTable<'_>, store: Option<&StoreSpec>) -> Option<SledSettings> {
    let empty = DeTable::new();
    let table = r
        .table(top, "", "sled", SLED_KEYS)
        .ok()
        .flatten()
        .unwrap_or(&empty);
    let given = SLED_KEYS.iter().any(|key| table.contains_key(*key));
    let mut ok = true;
    if given && store.is_some_and(|store| !matches!(store, StoreSpec::Sled(_))) {
        r.error("sled", "is only for a sled: store");
        ok = false;
    }
    let default = i64::try_from(SledSettings::default().min_free_bytes).unwrap_or(i64::MAX);
    let min_free_bytes = r.count(table, "sled", "min_free_bytes", default, 0..=i64::MAX);
    let settings = SledSettings {
        min_free_bytes: min_free_bytes?,
    };
    ok.then_some(settings)
}

fn postgres(
    r: &Report<'_>,
    top: &DeTable<'_>,
    store: Option<&StoreSpec>,
) -> Option<PostgresSettings> {
    let empty = DeTable::new();
    let table = r
        .table(top, "", "postgres", POSTGRES_KEYS)
        .ok()
        .flatten()
        .unwrap_or(&empty);
    let at = "postgres";
    let mut ok = true;
    let given = POSTGRES_KEYS.iter().any(|key| table.contains_key(*key));
    if given && store.is_some_and(|store| !matches!(store, StoreSpec::Postgres(_))) {
        r.error("postgres", "is only for a postgres:// store");
        ok = false;
    }
    let schema = r
        .string(table, at, "schema")
        .ok()
        .and_then(|schema| match schema {
            None => Some(None),
            Some(schema) => match portal_sessions_postgres::SchemaName::new(&schema) {
                Ok(_) => Some(Some(schema)),
                Err(error) => r.fail("postgres.schema", error.to_string()),
            },
        });
    let max_connections = r
        .integer(table, at, "max_connections")
        .ok()
        .and_then(|max| match max {
            None => Some(None),
            Some(max) => r
                .in_range("postgres.max_connections", max, 1..=10_000)
                .map(|max| Some(to_usize(max))),
        });
    let root_certificates =
        r.string(table, at, "root_certificates")
            .ok()
            .and_then(|path| match path {
                Some(path) if !std::path::Path::new(&path).is_file() => {
                    r.fail("postgres.root_certificates", "must be a readable PEM file")
                }
                path => Some(path),
            });
    let startup_timeout = r.seconds(
        table,
        at,
        "startup_timeout_seconds",
        DEFAULT_STARTUP_TIMEOUT.as_secs_f64(),
        1.0..=86_400.0,
    );
    let settings = PostgresSettings {
        schema: schema?,
        max_connections: max_connections?,
        root_certificates: root_certificates?,
        startup_timeout: startup_timeout?,
    };
    ok.then_some(settings)
}

fn orgs(r: &Report<'_>, top: &DeTable<'_>) -> Option<Vec<Org>> {
    let tables = r.tables(top, "", "orgs", ORG_KEYS).ok()?;
    if tables.is_empty() {
        return r.fail("orgs", "at least one organisation is needed");
    }
    let mut org_ids = HashSet::new();
    let mut all_keys = HashSet::new();
    all(tables
        .into_iter()
        .map(|(at, table)| org(r, &at, table?, &mut org_ids, &mut all_keys))
        .collect())
}

fn org(
    r: &Report<'_>,
    at: &str,
    table: &DeTable<'_>,
    org_ids: &mut HashSet<OrgId>,
    all_keys: &mut HashSet<String>,
) -> Option<Org> {
    let path = |key| join(at, key);
    let required = |key| r.required(at, key, r.string(table, at, key));
    let id = required("id").and_then(|text| {
        let id = text
            .parse::<OrgId>()
            .ok()
            .or_else(|| r.fail(&path("id"), "must be a UUID"))?;
        if org_ids.insert(id) {
            Some(id)
        } else {
            r.fail(&path("id"), "is used by another organisation")
        }
    });
    let name = required("name").and_then(|name| r.text(&path("name"), name, 200));
    let secret_keys = r.strings(table, at, "secret_keys").ok().and_then(|keys| {
        if keys.is_empty() {
            return r.fail(&path("secret_keys"), "at least one secret key is needed");
        }
        all(keys
            .into_iter()
            .map(|(path, key)| {
                let key = key?;
                if !is_strong_secret_key(&key) {
                    r.fail(
                        &path,
                        "must be mf_sk_ followed by at least 20 printable characters without \
                         spaces, at least 10 of them different (generate one; never reuse a \
                         published key)",
                    )
                } else if !all_keys.insert(key.clone()) {
                    r.fail(&path, "is configured twice")
                } else {
                    Some(key)
                }
            })
            .collect())
    });
    let publishable_keys = r
        .strings(table, at, "publishable_keys")
        .ok()
        .and_then(|keys| {
            all(keys
                .into_iter()
                .map(|(path, key)| {
                    let key = key?;
                    if !key.starts_with("mf_pk_") || key.bytes().any(|b| !b.is_ascii_graphic()) {
                        r.fail(&path, "must start with mf_pk_ and have no spaces")
                    } else if !all_keys.insert(key.clone()) {
                        r.fail(&path, "is configured twice")
                    } else {
                        Some(key)
                    }
                })
                .collect())
        });
    let logo_url = r
        .string(table, at, "logo_url")
        .ok()
        .and_then(|url| match url {
            Some(url)
                if !url.starts_with("https://")
                    || portal_sessions::validate_return_url(&url).is_err() =>
            {
                r.fail(&path("logo_url"), "must be an https URL")
            }
            url => Some(url),
        });
    let brand_color = r
        .string(table, at, "brand_color")
        .ok()
        .and_then(|color| match color {
            Some(color)
                if !(color.len() == 7
                    && color.starts_with('#')
                    && color[1..].bytes().all(|b| b.is_ascii_hexdigit())) =>
            {
                r.fail(&path("brand_color"), "must be a colour as #rrggbb")
            }
            color => Some(color),
        });
    let webhooks = r
        .tables(table, at, "webhooks", WEBHOOK_KEYS)
        .ok()
        .and_then(|tables| {
            let mut urls = HashSet::new();
            all(tables
                .into_iter()
                .map(|(at, table)| webhook(r, &at, table?, &mut urls))
                .collect())
        });
    let customers = r
        .tables(table, at, "customers", CUSTOMER_KEYS)
        .ok()
        .and_then(|tables| {
            let (mut ids, mut external_ids) = (HashSet::new(), HashSet::new());
            all(tables
                .into_iter()
                .map(|(at, table)| customer(r, &at, table?, &mut ids, &mut external_ids))
                .collect())
        });
    let name = name?;
    let (logo_url, brand_color) = (logo_url?, brand_color?);
    Some(Org {
        id: id?,
        branding: Branding {
            name,
            logo_url,
            brand_color,
        },
        secret_keys: secret_keys?,
        publishable_keys: publishable_keys?,
        customers: customers?,
        webhooks: webhooks?,
    })
}

fn webhook(
    r: &Report<'_>,
    at: &str,
    table: &DeTable<'_>,
    urls: &mut HashSet<axum::http::Uri>,
) -> Option<Webhook> {
    let url = r.required(at, "url", r.string(table, at, "url"));
    let secret = r.required(at, "secret", r.string(table, at, "secret"));
    let url_path = join(at, "url");
    let secret_path = join(at, "secret");
    let secret = secret.and_then(|secret| {
        if crate::webhooks::is_strong_webhook_secret(&secret) {
            Some(secret)
        } else {
            r.fail(&secret_path, WebhookError::Secret.to_string())
        }
    });
    let url = url?;
    let webhook = Webhook::new(&url, secret.as_deref().unwrap_or(PROBE_WEBHOOK_SECRET))
        .map_err(|error| match error {
            WebhookError::Url => r.error(&url_path, error.to_string()),
            WebhookError::Secret => r.error(&secret_path, error.to_string()),
        })
        .ok()?;
    if !urls.insert(webhook.url().clone()) {
        return r.fail(&url_path, "is configured twice for this organisation");
    }
    secret.map(|_| webhook)
}

fn customer(
    r: &Report<'_>,
    at: &str,
    table: &DeTable<'_>,
    ids: &mut HashSet<CustomerId>,
    external_ids: &mut HashSet<String>,
) -> Option<(CustomerSnapshot, CustomerBilling)> {
    let path = |key| join(at, key);
    let required = |key| r.required(at, key, r.string(table, at, key));
    let id = required("id").and_then(|text| {
        let id = text
            .parse::<CustomerId>()
            .ok()
            .or_else(|| r.fail(&path("id"), "must be a UUID"))?;
        if ids.insert(id) {
            Some(id)
        } else {
            r.fail(
                &path("id"),
                "is used by another customer of this organisation",
            )
        }
    });
    let external_id = required("external_id").and_then(|external_id| {
        if let Err(error) = portal_sessions::validate_external_id(&external_id) {
            r.fail(&path("external_id"), error.to_string())
        } else if !external_ids.insert(external_id.clone()) {
            r.fail(
                &path("external_id"),
                "is used by another customer of this organisation",
            )
        } else {
            Some(external_id)
        }
    });
    let name = required("name")
        .and_then(|name| r.text(&path("name"), name, portal_sessions::MAX_NAME_BYTES));
    let email = r
        .string(table, at, "email")
        .ok()
        .and_then(|email| match email {
            None => Some(None),
            Some(email) => {
                let email = r.text(&path("email"), email, portal_sessions::MAX_EMAIL_BYTES)?;
                if email.contains('@') {
                    Some(Some(email))
                } else {
                    r.fail(&path("email"), "must be an email address")
                }
            }
        });
    let subscription = r
        .table(table, at, "subscription", SUBSCRIPTION_KEYS)
        .ok()
        .and_then(|sub| match sub {
            None => Some(None),
            Some(sub) => subscription(r, &path("subscription"), sub).map(Some),
        });
    let invoices = r
        .tables(table, at, "invoices", INVOICE_KEYS)
        .ok()
        .and_then(|tables| {
            all(tables
                .into_iter()
                .map(|(at, table)| invoice(r, &at, table?))
                .collect())
        });
    let usage = r
        .tables(table, at, "usage", USAGE_KEYS)
        .ok()
        .and_then(|tables| {
            all(tables
                .into_iter()
                .map(|(at, table)| usage_line(r, &at, table?))
                .collect())
        });
    let snapshot = CustomerSnapshot {
        id: id?,
        external_id: external_id?,
        name: name?,
        email: email?,
    };
    let billing = CustomerBilling {
        subscription: subscription?,
        invoices: invoices?,
        usage: usage?,
    };
    Some((snapshot, billing))
}

fn subscription(r: &Report<'_>, at: &str, table: &DeTable<'_>) -> Option<Subscription> {
    let path = |key| join(at, key);
    let required = |key| r.required(at, key, r.string(table, at, key));
    let plan = required("plan").and_then(|plan| r.text(&path("plan"), plan, 200));
    let status = required("status").and_then(|status| {
        r.one_of(
            &path("status"),
            status,
            &["active", "trialing", "past_due", "canceled"],
        )
    });
    let amount_cents = r
        .required(at, "amount_cents", r.integer(table, at, "amount_cents"))
        .and_then(|amount| r.not_negative(&path("amount_cents"), amount));
    let currency =
        required("currency").and_then(|currency| r.currency(&path("currency"), currency));
    let interval = required("interval")
        .and_then(|interval| r.one_of(&path("interval"), interval, &["month", "year"]));
    let renews_on = r
        .string(table, at, "renews_on")
        .ok()
        .and_then(|date| match date {
            None => Some(None),
            Some(date) => r.date(&path("renews_on"), date).map(Some),
        });
    Some(Subscription {
        plan: plan?,
        status: status?,
        amount_cents: amount_cents?,
        currency: currency?,
        interval: interval?,
        renews_on: renews_on?,
    })
}

fn invoice(r: &Report<'_>, at: &str, table: &DeTable<'_>) -> Option<Invoice> {
    let path = |key| join(at, key);
    let required = |key| r.required(at, key, r.string(table, at, key));
    let number = required("number").and_then(|number| r.text(&path("number"), number, 100));
    let issued_on = required("issued_on").and_then(|date| r.date(&path("issued_on"), date));
    let amount_cents = r.required(at, "amount_cents", r.integer(table, at, "amount_cents"));
    let currency =
        required("currency").and_then(|currency| r.currency(&path("currency"), currency));
    let status = required("status")
        .and_then(|status| r.one_of(&path("status"), status, &["paid", "open", "void"]));
    Some(Invoice {
        number: number?,
        issued_on: issued_on?,
        amount_cents: amount_cents?,
        currency: currency?,
        status: status?,
    })
}

fn usage_line(r: &Report<'_>, at: &str, table: &DeTable<'_>) -> Option<UsageLine> {
    let path = |key| join(at, key);
    let required = |key| r.required(at, key, r.string(table, at, key));
    let metric = required("metric").and_then(|metric| r.text(&path("metric"), metric, 200));
    let quantity = r
        .required(at, "quantity", r.integer(table, at, "quantity"))
        .and_then(|quantity| r.not_negative(&path("quantity"), quantity));
    let unit = required("unit").and_then(|unit| r.text(&path("unit"), unit, 50));
    let period = required("period").and_then(|period| r.text(&path("period"), period, 100));
    Some(UsageLine {
        metric: metric?,
        quantity: quantity?,
        unit: unit?,
        period: period?,
    })
}

/// The process's `PORTAL_SESSIONS_*` variables (every other one left out), for [`load_config`].
///
/// # Errors
///
/// A variable whose name or value is not UTF-8, named (as far as it can be) and never shown.
pub fn process_environment() -> Result<Vec<(String, String)>, ConfigErrors> {
    let mut variables = Vec::new();
    let mut errors = Vec::new();
    for (name, value) in std::env::vars_os() {
        let shown = name.to_string_lossy();
        if !shown.starts_with(ENV_PREFIX) || ENV_IGNORED.iter().any(|p| shown.starts_with(p)) {
            continue;
        }
        match (name.to_str(), value.into_string()) {
            (Some(name), Ok(value)) => variables.push((name.to_owned(), value)),
            _ => errors.push(ConfigError::new(
                ENVIRONMENT,
                shown,
                "must be UTF-8, its name and its value",
            )),
        }
    }
    if errors.is_empty() {
        Ok(variables)
    } else {
        Err(ConfigErrors { errors })
    }
}

fn top_level_keys() -> Vec<&'static str> {
    TOP_LEVEL.iter().map(|(key, _)| *key).collect()
}

/// Puts the environment's `PORTAL_SESSIONS_*` variables over the file's values in `top`.
fn environment<'s>(report: &mut Report<'s>, top: &mut DeTable<'s>, env: &'s [(String, String)]) {
    let mut variables: Vec<&(String, String)> = env
        .iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .filter(|(name, _)| !ENV_IGNORED.iter().any(|prefix| name.starts_with(prefix)))
        .collect();
    variables.sort();
    for (name, value) in variables {
        let suffix = &name[ENV_PREFIX.len()..];
        let Some(&(key, shape)) = TOP_LEVEL
            .iter()
            .find(|(key, _)| key.to_ascii_uppercase() == suffix)
        else {
            let names: Vec<String> = top_level_keys()
                .iter()
                .map(|key| key.to_ascii_uppercase())
                .collect();
            let reason = match closest(
                &suffix.to_ascii_uppercase(),
                names.iter().map(String::as_str),
            ) {
                Some(meant) => format!("unknown variable (did you mean {ENV_PREFIX}{meant}?)"),
                None => format!(
                    "unknown variable (each top-level key of the configuration has one: \
                     {ENV_PREFIX} and the key in capitals, like {ENV_PREFIX}STORE)"
                ),
            };
            report.push(1, ConfigError::new(ENVIRONMENT, name.as_str(), reason));
            continue;
        };
        report.origins.insert(key, Origin::Env(name));
        let parsed = match shape {
            Shape::Text => Ok(Spanned::new(
                0..value.len(),
                DeValue::String(DeString::Borrowed(value)),
            )),
            Shape::Toml(example) => DeValue::parse(value).map_err(|error| {
                format!(
                    "must be a TOML value, like {example} ({})",
                    without_values(error.message())
                )
            }),
        };
        match parsed {
            Ok(parsed) => {
                report.broken.remove(key);
                top.insert(Spanned::new(0..0, DeString::Borrowed(key)), parsed);
            }
            Err(reason) => {
                report.broken.insert(key);
                top.remove(key);
                report.push(1, ConfigError::new(ENVIRONMENT, name.as_str(), reason));
            }
        }
    }
}

/// Reads and validates a configuration: the file (or the demo), then the environment's
/// `PORTAL_SESSIONS_*` variables over it, then the flags over both (see the [module](self) docs).
///
/// `env` is the environment as `(name, value)` pairs ([`process_environment`] for the process's);
/// variables without the `PORTAL_SESSIONS_` prefix are ignored.
///
/// # Errors
///
/// Every problem found, each with where it is, its key and its reason.
pub fn load_config(
    source: ConfigSource<'_>,
    env: &[(String, String)],
    overrides: &Overrides,
) -> Result<Config, ConfigErrors> {
    let (file, text) = match source {
        ConfigSource::File { path, text } => (path, text),
        ConfigSource::Demo => (DEMO_NAME, DEMO),
    };
    let mut report = Report {
        file,
        text,
        syntax: Vec::new(),
        origins: HashMap::new(),
        broken: HashSet::new(),
        spans: RefCell::new(HashMap::new()),
        errors: RefCell::new(Vec::new()),
    };
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    for error in &syntax_errors {
        let line = error.span().map(|span| report.line_at(span.start));
        if let Some(span) = error.span() {
            report.syntax.push(span);
        }
        report.push(
            0,
            ConfigError {
                file: file.to_owned(),
                line,
                key: "syntax".to_owned(),
                reason: without_values(error.message()),
            },
        );
    }
    let mut top = DeTable::new();
    for (key, value) in document.into_inner() {
        if TOP_LEVEL.iter().any(|(known, _)| *known == key.get_ref()) {
            top.insert(key, value);
        } else {
            report.record(key.get_ref(), &key.span());
            report.error(key.get_ref(), unknown_key(key.get_ref(), &top_level_keys()));
        }
    }
    environment(&mut report, &mut top, env);
    let flags = [
        ("listen", "--listen", &overrides.listen),
        ("store", "--store", &overrides.store),
    ];
    for (key, flag, value) in flags {
        if let Some(value) = value {
            report.origins.insert(key, Origin::Flag(flag));
            report.broken.remove(key);
            top.insert(
                Spanned::new(0..0, DeString::Borrowed(key)),
                Spanned::new(0..value.len(), DeValue::String(DeString::Borrowed(value))),
            );
        }
    }

    let config = read_config(&report, &top);
    let mut errors = report.errors.into_inner();
    errors.sort_by_key(|(rank, line, _)| (*rank, *line));
    let errors: Vec<ConfigError> = errors.into_iter().map(|(_, _, error)| error).collect();
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ if errors.is_empty() => Err(ConfigErrors::from(ConfigError::new(
            file,
            "(configuration)",
            "could not be read",
        ))),
        _ => Err(ConfigErrors { errors }),
    }
}

/// Parses and validates a configuration file's text; `file` names it in errors. The environment
/// is not read.
///
/// # Errors
///
/// The first problem found (see [`load_config`] for all of them).
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    parse_with(file, text, &Overrides::default())
}

/// [`parse`], with the flags' values over the file's.
///
/// # Errors
///
/// The first problem found (see [`load_config`] for all of them).
pub fn parse_with(file: &str, text: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
    load_config(ConfigSource::File { path: file, text }, &[], overrides)
        .map_err(ConfigErrors::into_first)
}

/// How log lines are written (`log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable text, one line an event (the default).
    #[default]
    Text,
    /// One JSON object a line (tracing-subscriber's JSON format), for log collectors.
    Json,
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
        assert_eq!(
            without_values(r#"invalid basic string, expected `"`"#),
            r#"invalid basic string, expected `"`"#
        );
    }

    #[test]
    fn the_demo_is_valid() {
        let config = parse("<demo>", DEMO).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.orgs.len(), 1);
        assert_eq!(config.store, StoreSpec::Sled("./portal-data".into()));
        assert_eq!(config.orgs[0].customers[0].1.invoices.len(), 3);
    }

    #[test]
    fn metrics_are_for_this_machine_and_connections_shared_unless_configured() {
        let config = parse("<demo>", DEMO).unwrap_or_else(|e| panic!("{e}"));
        let allowed = |ip: &str| {
            let ip: std::net::IpAddr = ip.parse().unwrap_or_else(|e| panic!("{e}"));
            config.metrics_allow.iter().any(|net| net.contains(&ip))
        };
        assert!(allowed("127.0.0.1") && allowed("127.9.9.9") && allowed("::1"));
        assert!(!allowed("10.0.0.1") && !allowed("::2") && !allowed("192.0.2.1"));
        assert_eq!(config.http.max_connections_per_client, 256);
        let none = format!("metrics_allow = []\n{DEMO}");
        let config = parse("<demo>", &none).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.metrics_allow.is_empty());
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
                "orgs[0].webhooks[0].secret",
                "is required",
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
                "events.batch",
                "unknown key",
            ),
        ];
        for (webhooks, events, key, reason) in cases {
            let error = parse("x.toml", &with(webhooks, events))
                .err()
                .unwrap_or_else(|| panic!("{webhooks} {events} was accepted"));
            assert_eq!(error.key, *key, "{webhooks} {events}: {error}");
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
            (
                "store = \"postgres://u:s3cretPW@[bad\"",
                "store",
                "malformed PostgreSQL connection string",
            ),
            (
                "store = \"postgresql://u:s3cretPW@db/x?sslmode=always\"",
                "store",
                "sslmode",
            ),
            ("public_url = \"ftp://x\"", "public_url", "http"),
            ("colour = \"red\"", "colour", "unknown key"),
            ("default_locale = \"pt-BR\"", "default_locale", "fr-CA"),
            (
                "default_locale = \"fr_CA\"",
                "default_locale",
                "en, fr, de or es",
            ),
            (
                "session_ttl_seconds = \"an hour\"",
                "session_ttl_seconds",
                "must be an integer, not a string",
            ),
        ];
        for (line, key, reason) in cases {
            let text = format!("{line}\n{}", &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..]);
            let error = parse("x.toml", &text)
                .err()
                .unwrap_or_else(|| panic!("{line} was accepted"));
            assert_eq!(error.file, "x.toml");
            assert_eq!(error.line, Some(1), "{line}: {error}");
            assert_eq!(error.key, *key, "{line}: {error}");
            assert!(error.reason.contains(reason), "{line}: {error}");
            assert!(!error.to_string().contains("s3cretPW"), "{error}");
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

    const ORG_ID: &str = "3f1c2a9e-4b7d-4e21-9a55-0c6d8e7f1a23";
    const KEY: &str = "mf_sk_test_demo_5f1e8c2a9b7d4e63";

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn load(
        text: &str,
        env: &[(&str, &str)],
        overrides: &Overrides,
    ) -> Result<Config, ConfigErrors> {
        load_config(
            ConfigSource::File {
                path: "x.toml",
                text,
            },
            &vars(env),
            overrides,
        )
    }

    fn errors(result: Result<Config, ConfigErrors>) -> Vec<ConfigError> {
        match result {
            Ok(config) => panic!("accepted: {config:?}"),
            Err(errors) => errors.into_iter().collect(),
        }
    }

    /// (file, line, key, a part of the reason) of each error.
    fn assert_errors(found: &[ConfigError], expected: &[(&str, Option<usize>, &str, &str)]) {
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), expected.len(), "{shown:#?}");
        for (error, (file, line, key, reason)) in found.iter().zip(expected) {
            assert_eq!(
                (error.file.as_str(), error.line, error.key.as_str()),
                (*file, *line, *key),
                "{shown:#?}"
            );
            assert!(error.reason.contains(reason), "{error}: {shown:#?}");
        }
    }

    #[test]
    fn every_error_of_a_file_is_reported_with_its_line() {
        let text = format!(
            r#"listen = "127.0.0.1:8080"
storr = "memory"
session_ttl_seconds = 0
trusted_proxies = ["10.0.0.0/8", "not-a-network"]

[[orgs]]
id = "{ORG_ID}"
name = "Demo Co"
secret_keys = ["{KEY}"]

[[orgs.webhooks]]
url = "ftp://hooks.example.com/portal"
secret = "whsec_7f3a9c1e5b0d2f4a6c8e1b3d5f7a"

[[orgs.customers]]
id = "550e8400-e29b-41d4-a716-446655440000"
external_id = "acme-001"
name = "Acme Corp"
nickname = "Acme"
"#
        );
        let found = errors(load(&text, &[], &Overrides::default()));
        assert_errors(
            &found,
            &[
                ("x.toml", Some(2), "storr", "did you mean store?"),
                (
                    "x.toml",
                    Some(3),
                    "session_ttl_seconds",
                    "between 1 and 86400",
                ),
                ("x.toml", Some(4), "trusted_proxies[1]", "CIDR"),
                (
                    "x.toml",
                    Some(12),
                    "orgs[0].webhooks[0].url",
                    "http or https",
                ),
                (
                    "x.toml",
                    Some(19),
                    "orgs[0].customers[0].nickname",
                    "unknown key",
                ),
            ],
        );
        assert_eq!(
            found[0].to_string(),
            "x.toml: line 2: storr: unknown key (did you mean store?)"
        );
        let all = ConfigErrors {
            errors: found.clone(),
        };
        let shown = all.to_string();
        assert_eq!(shown.lines().count(), 5, "{shown}");
        assert!(
            shown
                .lines()
                .nth(3)
                .is_some_and(|line| line.starts_with("x.toml: line 12: "))
        );
        // parse keeps giving the first.
        assert_eq!(parse("x.toml", &text).err(), Some(found[0].clone()));
        for secret in ["not-a-network", "ftp://", "whsec_7f3a", "Acme\""] {
            assert!(!shown.contains(secret), "{secret} echoed: {shown}");
        }
    }

    #[test]
    fn every_syntax_error_is_reported_and_its_value_left_out() {
        let text = format!(
            "listen = \"127.0.0.1:8080\nstore = \"memory\"\n[limits]\nenabled = tru\n\
             [[orgs]]\nid = \"{ORG_ID}\"\nname = \"Demo Co\"\nsecret_keys = [\"{KEY}\"]\n"
        );
        let found = errors(load(&text, &[], &Overrides::default()));
        assert_errors(
            &found,
            &[
                ("x.toml", Some(1), "syntax", ""),
                ("x.toml", Some(4), "syntax", "true"),
            ],
        );
        // Two errors on one line, and one on the last line without a newline.
        let text = "a = 1 b = 2\nlisten = ";
        let found = errors(load(text, &[], &Overrides::default()));
        let lines: Vec<Option<usize>> = found.iter().map(|error| error.line).collect();
        assert!(
            lines.contains(&Some(1)) && lines.contains(&Some(2)),
            "{found:#?}"
        );
    }

    #[test]
    fn a_wrong_value_is_reported_once_and_what_depends_on_it_is_skipped() {
        let orgs = &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..];
        let cases: &[(&str, &str, &str)] = &[
            // public_url defaults to http://{listen}: not checked without a listen.
            ("listen = \"nowhere\"", "listen", "address"),
            // [postgres] is only for a postgres store: not checked without a store.
            (
                "store = \"mysql://x\"\n[postgres]\nschema = \"s\"",
                "store",
                "memory",
            ),
            // Not a list: neither "at least one" nor the key itself.
            (
                "listen = \"127.0.0.1:8080\"",
                "orgs[0].secret_keys",
                "must be a list, not a string",
            ),
            (
                "[events]\nlease_seconds = -1\nrequest_timeout_seconds = 5",
                "events.lease_seconds",
                "between",
            ),
            ("orgs = 3", "orgs", "must be a list, not an integer"),
        ];
        for (head, key, reason) in cases {
            let text = if key.starts_with("orgs[0]") {
                format!(
                    "{head}\n{}",
                    orgs.replace(&format!("[\"{KEY}\"]"), &format!("\"{KEY}\""))
                )
            } else if *key == "orgs" {
                (*head).to_owned()
            } else {
                format!("{head}\n{orgs}")
            };
            let found = errors(load(&text, &[], &Overrides::default()));
            assert_eq!(found.len(), 1, "{head}: {found:#?}");
            assert_eq!(found[0].key, *key, "{head}: {found:#?}");
            assert!(found[0].reason.contains(reason), "{head}: {found:#?}");
            assert!(!found[0].to_string().contains(KEY), "{}", found[0]);
        }
        // A missing key is required where its table starts.
        let text = DEMO.replacen(&format!("id = \"{ORG_ID}\"\n"), "", 1);
        let found = errors(load(&text, &[], &Overrides::default()));
        assert_errors(&found, &[("x.toml", Some(8), "orgs[0].id", "is required")]);
    }

    #[test]
    fn every_kind_of_value_comes_from_the_environment() {
        let orgs = format!(
            r#"[{{ id = "{ORG_ID}", name = "Env Co", secret_keys = ["{KEY}"], customers = [
                {{ id = "550e8400-e29b-41d4-a716-446655440000", external_id = "e-1", name = "E",
                   subscription = {{ plan = "P", status = "active", amount_cents = 1,
                                     currency = "EUR", interval = "year" }} }} ] }}]"#
        );
        let env = [
            ("PORTAL_SESSIONS_LISTEN", "127.0.0.1:9999"),
            ("PORTAL_SESSIONS_PUBLIC_URL", "https://portal.example.com/"),
            ("PORTAL_SESSIONS_SESSION_TTL_SECONDS", "600"),
            ("PORTAL_SESSIONS_STORE", "memory"),
            ("PORTAL_SESSIONS_SHOW_ALL_SECTIONS", "true"),
            (
                "PORTAL_SESSIONS_TRUSTED_PROXIES",
                r#"["10.0.0.0/8", "192.0.2.1"]"#,
            ),
            ("PORTAL_SESSIONS_DEFAULT_LOCALE", "fr-CA"),
            ("PORTAL_SESSIONS_LOG_FORMAT", "json"),
            ("PORTAL_SESSIONS_METRICS_LISTEN", "127.0.0.1:9090"),
            ("PORTAL_SESSIONS_METRICS_ALLOW", r#"["10.1.0.0/16"]"#),
            ("PORTAL_SESSIONS_LIMITS", "{ enabled = false }"),
            (
                "PORTAL_SESSIONS_HTTP",
                "{ max_connections = 8, max_connections_per_client = 2, body_timeout_seconds = 2.5 }",
            ),
            ("PORTAL_SESSIONS_EVENTS", "{ max_in_flight = 4 }"),
            ("PORTAL_SESSIONS_ORGS", &orgs),
            ("PATH", "/usr/bin"),
        ];
        let config = load(DEMO, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.listen,
            "127.0.0.1:9999".parse().unwrap_or_else(|e| panic!("{e}"))
        );
        assert_eq!(config.public_url, "https://portal.example.com");
        assert_eq!(config.session_ttl, Duration::from_secs(600));
        assert_eq!(config.store, StoreSpec::Memory);
        assert!(config.show_all_sections);
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.default_locale.to_string(), "fr-CA");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.metrics_listen.map(|a| a.port()), Some(9090));
        assert_eq!(config.metrics_allow.len(), 1);
        assert_eq!(config.limits.links, None);
        assert_eq!(config.http.max_connections, 8);
        assert_eq!(config.http.max_connections_per_client, 2);
        assert_eq!(config.http.body_timeout, Duration::from_millis(2500));
        assert_eq!(config.events.max_in_flight, 4);
        assert_eq!(config.orgs.len(), 1);
        assert_eq!(config.orgs[0].branding.name, "Env Co");
        let billing = &config.orgs[0].customers[0].1;
        assert_eq!(
            billing.subscription.as_ref().map(|s| s.interval.as_str()),
            Some("year")
        );

        let env = [
            ("PORTAL_SESSIONS_STORE", "postgres://app@db.internal/portal"),
            (
                "PORTAL_SESSIONS_POSTGRES",
                "{ schema = \"tenant_a\", max_connections = 4 }",
            ),
        ];
        let config = load(DEMO, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.postgres.schema.as_deref(), Some("tenant_a"));
        assert_eq!(config.postgres.max_connections, Some(4));
        assert_eq!(config.postgres.startup_timeout, DEFAULT_STARTUP_TIMEOUT);
    }

    #[test]
    fn the_startup_timeout_is_seconds_within_a_day() {
        let store = ("PORTAL_SESSIONS_STORE", "postgres://app@db.internal/portal");
        let env = [
            store,
            (
                "PORTAL_SESSIONS_POSTGRES",
                "{ startup_timeout_seconds = 2.5 }",
            ),
        ];
        let config = load(DEMO, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.postgres.startup_timeout,
            Duration::from_millis(2_500)
        );
        for wrong in ["0", "86401", "\"soon\""] {
            let table = format!("{{ startup_timeout_seconds = {wrong} }}");
            let env = [store, ("PORTAL_SESSIONS_POSTGRES", table.as_str())];
            let error = load(DEMO, &env, &Overrides::default()).err();
            assert!(
                error.is_some_and(|e| e.to_string().contains("startup_timeout_seconds")),
                "{wrong} was accepted"
            );
        }
    }

    #[test]
    fn a_bad_variable_is_named_and_never_echoed() {
        let secret = "hunter2hunter2";
        let env_cases: &[(&str, String, &str, &str)] = &[
            (
                "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
                secret.to_owned(),
                "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
                "TOML value",
            ),
            (
                "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
                format!("\"{secret}\""),
                "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
                "must be an integer, not a string",
            ),
            (
                "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
                "0".to_owned(),
                "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
                "between",
            ),
            (
                "PORTAL_SESSIONS_STORE",
                format!("mysql://app:{secret}@db"),
                "PORTAL_SESSIONS_STORE",
                "memory",
            ),
            (
                "PORTAL_SESSIONS_LISTEN",
                secret.to_owned(),
                "PORTAL_SESSIONS_LISTEN",
                "address",
            ),
            (
                "PORTAL_SESSIONS_TRUSTED_PROXIES",
                format!("[\"{secret}\"]"),
                "PORTAL_SESSIONS_TRUSTED_PROXIES[0]",
                "CIDR",
            ),
            (
                "PORTAL_SESSIONS_LIMITS",
                "{ window_seconds = 0 }".to_owned(),
                "PORTAL_SESSIONS_LIMITS.window_seconds",
                "between",
            ),
            (
                "PORTAL_SESSIONS_ORGS",
                format!(
                    "[{{ id = \"{ORG_ID}\", name = \"N\", secret_keys = [\"mf_sk_{secret}\"] }}]"
                ),
                "PORTAL_SESSIONS_ORGS[0].secret_keys[0]",
                "mf_sk_",
            ),
            (
                "PORTAL_SESSIONS_ORGS",
                format!("[{{ id = \"{secret}\""),
                "PORTAL_SESSIONS_ORGS",
                "TOML value",
            ),
        ];
        for (name, value, key, reason) in env_cases {
            let found = errors(load(DEMO, &[(name, value)], &Overrides::default()));
            let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
            assert_eq!(found[0].file, "environment", "{value}: {shown:#?}");
            assert_eq!(found[0].line, None);
            assert_eq!(found[0].key, *key, "{value}: {shown:#?}");
            assert!(found[0].reason.contains(reason), "{value}: {shown:#?}");
            assert_eq!(found.len(), 1, "{value}: {shown:#?}");
            assert!(
                !shown.concat().contains(secret),
                "{name} echoed its value: {shown:#?}"
            );
        }
    }

    #[test]
    fn an_unknown_variable_is_refused_and_the_projects_own_are_ignored() {
        for (name, meant) in [
            ("PORTAL_SESSIONS_STORRE", "PORTAL_SESSIONS_STORE"),
            ("PORTAL_SESSIONS_store", "PORTAL_SESSIONS_STORE"),
            (
                "PORTAL_SESSIONS_SESSION_TTL",
                "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
            ),
            ("PORTAL_SESSIONS_LISTN", "PORTAL_SESSIONS_LISTEN"),
        ] {
            let found = errors(load(DEMO, &[(name, "memory")], &Overrides::default()));
            assert_errors(&found, &[("environment", None, name, meant)]);
        }
        let found = errors(load(
            DEMO,
            &[("PORTAL_SESSIONS_", "x")],
            &Overrides::default(),
        ));
        assert_errors(
            &found,
            &[("environment", None, "PORTAL_SESSIONS_", "unknown variable")],
        );

        let ignored = [
            (
                "PORTAL_SESSIONS_TEST_DATABASE_URL",
                "postgres://postgres@127.0.0.1/postgres",
            ),
            ("PORTAL_SESSIONS_REQUIRE_POSTGRES", "1"),
            ("PORTAL_SESSIONS_REQUIRE_BROWSER", "1"),
            ("PORTAL_SESSIONS_REQUIRE_OPENAPI_VALIDATOR", "1"),
            ("PORTAL_SESSIONS_REQUIRE_PROMTOOL", "1"),
            ("PORTAL_SESSIONS_BENCH_BACKENDS", "sled"),
            ("PORTAL_SESSIONS_BENCH_SIZES", "1000"),
            ("PORTAL_SESSIONS_BENCH_OPEN_N", "10"),
            ("PORTAL_SESSIONS_BENCH_OPEN_LIST_N", "10"),
            ("PORTAL_SESSIONS_SLED_UPGRADE_CHILD_DB", "/tmp/x"),
            ("PORTAL_SESSIONS_SLED_CRASH_CHILD_DB", "/tmp/x"),
            ("PORTAL_SESSIONS_SLED_HOLDER_DB", "/tmp/x"),
            ("HOME", "/root"),
            ("portal_sessions_store", "bogus"),
        ];
        let config = load(DEMO, &ignored, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.store, StoreSpec::Sled("./portal-data".into()));
    }

    #[test]
    fn a_bad_flag_is_blamed_on_the_flag() {
        let store = Overrides {
            store: Some("bogus".into()),
            ..Overrides::default()
        };
        let listen = Overrides {
            listen: Some("nowhere".into()),
            ..Overrides::default()
        };
        for source in [
            ConfigSource::Demo,
            ConfigSource::File {
                path: "x.toml",
                text: DEMO,
            },
        ] {
            let found = errors(load_config(source, &[], &store));
            assert_errors(&found, &[("--store", None, "store", "memory")]);
            assert_eq!(
                found[0].to_string(),
                "--store: store: must be \"memory\", \"sled:<path>\" or a postgres:// URL"
            );
            let found = errors(load_config(source, &[], &listen));
            assert_errors(&found, &[("--listen", None, "listen", "address")]);
        }
        // A flag hides the environment's mistake, and the file's.
        let text = DEMO.replace("store = \"sled:./portal-data\"", "store = \"bogus\"");
        let config = load(
            &text,
            &[("PORTAL_SESSIONS_STORE", "nope")],
            &Overrides {
                store: Some("memory".into()),
                ..Overrides::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.store, StoreSpec::Memory);
    }

    #[test]
    fn the_environment_alone_configures_the_demo() {
        let env = vars(&[
            ("PORTAL_SESSIONS_LISTEN", "127.0.0.1:18080"),
            ("PORTAL_SESSIONS_STORE", "memory"),
            ("PORTAL_SESSIONS_SESSION_TTL_SECONDS", "900"),
        ]);
        let config = load_config(ConfigSource::Demo, &env, &Overrides::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen.port(), 18080);
        assert_eq!(config.public_url, "http://127.0.0.1:18080");
        assert_eq!(config.store, StoreSpec::Memory);
        assert_eq!(config.session_ttl, Duration::from_secs(900));
        assert_eq!(config.orgs[0].secret_keys, vec![KEY.to_owned()]);
        // The demo's own errors are named after it, the environment's after their variable.
        let env = vars(&[("PORTAL_SESSIONS_LIMITS", "{ enabled = 1 }")]);
        let found = errors(load_config(ConfigSource::Demo, &env, &Overrides::default()));
        assert_errors(
            &found,
            &[(
                "environment",
                None,
                "PORTAL_SESSIONS_LIMITS.enabled",
                "must be true or false, not an integer",
            )],
        );
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file() {
        let text = DEMO.replace("127.0.0.1:8080", "127.0.0.1:1001");
        let env = [
            ("PORTAL_SESSIONS_LISTEN", "127.0.0.1:1002"),
            ("PORTAL_SESSIONS_STORE", "memory"),
        ];
        let flag = Overrides {
            listen: Some("127.0.0.1:1003".into()),
            store: None,
        };
        let port = |env: &[(&str, &str)], overrides: &Overrides| {
            let config = load(&text, env, overrides).unwrap_or_else(|e| panic!("{e}"));
            (config.listen.port(), config.store)
        };
        let sled = StoreSpec::Sled("./portal-data".into());
        assert_eq!(port(&[], &Overrides::default()), (1001, sled.clone()));
        assert_eq!(port(&env, &Overrides::default()), (1002, StoreSpec::Memory));
        assert_eq!(port(&env, &flag), (1003, StoreSpec::Memory));
        assert_eq!(port(&[], &flag), (1003, sled));
        // The default, under all three.
        let config = load(
            &DEMO.replace("listen = \"127.0.0.1:8080\"\n", ""),
            &[],
            &Overrides::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen.port(), 8080);
        // A variable replaces the file's value whole, mistakes included.
        let text = format!("{DEMO}\n[limits]\nwindow_seconds = 0\n");
        let env = [("PORTAL_SESSIONS_LIMITS", "{ max_clients = 10 }")];
        let config = load(&text, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config
                .limits
                .links
                .map(|limit| (limit.window, limit.max_clients)),
            Some((Duration::from_secs(60), 10))
        );
    }

    #[test]
    fn the_sled_table_is_checked() {
        let orgs = &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..];
        let config = parse(
            "x.toml",
            &format!("store = \"sled:./d\"\n[sled]\nmin_free_bytes = 0\n{orgs}"),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(config.sled.min_free_bytes, 0);
        let config = parse("x.toml", &format!("store = \"sled:./d\"\n{orgs}"))
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(config.sled.min_free_bytes, 64 << 20, "the default floor");
        for (text, key, reason) in [
            (
                "store = \"sled:./d\"\n[sled]\nmin_free_bytes = -1",
                "sled.min_free_bytes",
                "between",
            ),
            (
                "store = \"sled:./d\"\n[sled]\nmin_free = 1",
                "sled.min_free",
                "unknown key",
            ),
            (
                "store = \"memory\"\n[sled]\nmin_free_bytes = 1",
                "sled",
                "only for a sled: store",
            ),
        ] {
            let error = parse("x.toml", &format!("{text}\n{orgs}"))
                .err()
                .unwrap_or_else(|| panic!("{text} was accepted"));
            assert_eq!(error.key, key, "{text}: {error}");
            assert!(error.reason.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn the_reference_names_every_key_and_variable() {
        let source = include_str!("config.rs");
        let docs: String = source
            .lines()
            .take_while(|line| line.starts_with("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        let tables = [
            LIMITS_KEYS,
            HTTP_KEYS,
            EVENTS_KEYS,
            SLED_KEYS,
            POSTGRES_KEYS,
            ORG_KEYS,
            WEBHOOK_KEYS,
            CUSTOMER_KEYS,
            SUBSCRIPTION_KEYS,
            INVOICE_KEYS,
            USAGE_KEYS,
        ];
        for (key, _) in TOP_LEVEL {
            let variable = format!("`{ENV_PREFIX}{}`", key.to_ascii_uppercase());
            assert!(docs.contains(&variable), "{variable} is not documented");
            let documented =
                docs.contains(&format!("//! {key} = ")) || docs.contains(&format!("//! [{key}]"));
            assert!(
                documented || matches!(*key, "orgs"),
                "{key} is not in the reference"
            );
        }
        for key in tables.iter().flat_map(|keys| keys.iter()) {
            let documented = docs.contains(&format!("//! {key} = "))
                || docs.contains(&format!("[orgs.{key}]"))
                || docs.contains(&format!("[orgs.customers.{key}]"));
            assert!(documented, "{key} is not in the reference");
        }
    }
}
