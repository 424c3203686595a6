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
//! login_posts = 10                        # posts to login pages per window, found or not;
//!                                         # 0: no limit
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
//! [email]                                 # how the server sends mail (recovery, login pages)
//! smtp_url = "smtps://user:pw@smtp.example.com:465" # lettre's forms: smtps:// (TLS),
//!                                         # smtp://host:587?tls=required (STARTTLS), smtp://host
//!                                         # (plain, a relay on this machine only); never printed
//! from = "Billing <billing@example.com>"  # the sender, unless an organisation names its own
//!
//! [[orgs]]
//! id = "<uuid>"
//! name = "Demo Co"
//! secret_keys = ["mf_sk_test_..."]        # at least one; mf_sk_ and 20 or more characters
//!                                         # after it, at least 10 of them different
//! publishable_keys = ["mf_pk_test_..."]   # optional; always refused by the API
//! logo_url = "https://..."                # optional, https only
//! brand_color = "#4f46e5"                 # optional, #rrggbb
//! frame_ancestors = ["https://app.example.com"] # optional: origins whose pages may frame this
//!                                         # organisation's link and portal pages (https, or
//!                                         # http on localhost; no path, no wildcard); needs an
//!                                         # https public_url (or http on localhost)
//!
//! [orgs.recovery]                         # optional; needs [email]
//! enabled = false                         # true: used and expired links offer "Email me a new
//!                                         # link", sent to the customer's address on file
//! window_days = 7                         # 1..=90: how long after the first session of a chain
//!                                         # of recoveries a link may ask; expired sessions are
//!                                         # kept (not purged) that long
//! login_page = false                      # true: {mount}/login/{org id} sends a link to a
//!                                         # customer who types their address
//! max_emails_per_hour = 5                 # 1..=1000 per customer, recovery and login page
//!                                         # together, counted from the store (all instances)
//! from = "Acme Billing <billing@acme.test>" # optional: this organisation's own sender
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
//! email = "billing@acme.test"             # optional; where recovered links go
//! locale = "fr-CA"                        # optional: the customer's pages and emails, unless
//!                                         # a create names a locale
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
//! pay_url = "https://pay.example.com/..." # optional, https only: "Pay" on an open invoice
//! pdf_url = "https://files.example.com/..." # optional, https only: "PDF"
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
//! `PORTAL_SESSIONS_SLED`, `PORTAL_SESSIONS_POSTGRES`, `PORTAL_SESSIONS_EVENTS`,
//! `PORTAL_SESSIONS_EMAIL` and `PORTAL_SESSIONS_ORGS`. A variable replaces the file's value whole: a
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
//!
//! # How it is read
//!
//! The keys are declared once, as the fields of the structs in `schema.rs` (serde derives);
//! everything else reads them from there. The file is parsed (every syntax error reported), the
//! environment and the flags put over it (`env.rs`), then three passes run, each reporting every
//! error it finds and leaving the wrong value out for the next: unknown keys and wrong types at
//! any depth (`check.rs`, against the shape the derives declare, `shape.rs`), serde into the
//! schema, and the rules a type cannot say (`validate.rs`: ranges, formats, required keys, the
//! rules between keys). Errors are named by their key's path, which gives their line
//! (`report.rs`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use portal_sessions::{CustomerSnapshot, Locale, OrgId};
use portal_sessions_axum::{AttemptLimit, Branding, CustomerBilling, OrgRecovery};
use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use crate::http::HttpLimits;
use crate::webhooks::{EventSettings, Webhook};

mod check;
mod env;
mod report;
mod schema;
mod shape;
#[cfg(test)]
mod tests;
mod validate;

pub use env::{ENV_IGNORED, ENV_PREFIX, process_environment};
pub use report::{ConfigError, ConfigErrors, ENVIRONMENT};

use report::{Report, without_values};
use shape::Shape;

/// The built-in demo configuration.
pub const DEMO: &str = include_str!("../demo.toml");

/// What the built-in demo is called in errors.
pub const DEMO_NAME: &str = "<built-in demo>";

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
    /// Its recovery settings, when it has recovery on (`[orgs.recovery] enabled = true`).
    pub recovery: Option<OrgRecovery>,
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
            .field("recovery", &self.recovery)
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
    /// Posts to login pages, found or not.
    pub login_posts: Option<AttemptLimit>,
}

/// How the server sends mail (`[email]`). Its `Debug` hides the URL's password.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// lettre's URL form: `smtps://`, `smtp://...?tls=required` or `smtp://` to a local relay.
    pub smtp_url: String,
    /// The default sender.
    pub from: String,
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp_url", &redact_url(&self.smtp_url))
            .finish_non_exhaustive()
    }
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

/// How log lines are written (`log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable text, one line an event (the default).
    #[default]
    Text,
    /// One JSON object a line (tracing-subscriber's JSON format), for log collectors.
    Json,
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
    /// How mail is sent, when it is.
    pub email: Option<EmailSettings>,
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
    let shape = Shape::of::<schema::File>();
    let mut report = Report::new(file, text);
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    for error in &syntax_errors {
        report.syntax_error(error.span(), error.message());
    }
    let mut top = document.into_inner();
    env::environment(&mut report, &mut top, env, &shape);
    env::flags(&mut report, &mut top, overrides);
    check::check_table(&report, "", &mut top, &shape);
    let config =
        match schema::File::deserialize(toml::de::Deserializer::from(Spanned::new(0..0, top))) {
            Ok(values) => validate::config(&report, values),
            // The checks leave out whatever serde would refuse; should one be missed, it is still
            // reported, without its value.
            Err(error) => report.fail(
                "(configuration)",
                format!("could not be read ({})", without_values(error.message())),
            ),
        };
    let errors = report.into_errors();
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
