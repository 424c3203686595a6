//! The runnable portal-sessions service.
//!
//! `portal-sessions-server` with no arguments runs a built-in demo (one organisation, one customer,
//! a sled store under `./portal-data`) and prints the demo's secret key and a ready `curl` command.
//! `--config FILE` loads a TOML configuration (documented in [`config`]), the environment's
//! `PORTAL_SESSIONS_<KEY>` variables override it, and `--listen ADDR` and `--store SPEC` override
//! both. A configuration is validated whole before anything starts, and refused with every error's
//! file (or variable), line, key and reason. The command line ([`cli`], clap) also has `migrate`,
//! `purge`, `compact`, `check-config` and `gen-key`.
//!
//! Running, it serves the API, the links and the portal of `portal-sessions-axum`; `/healthz`;
//! `/metrics` ([`metrics`]: requests, latencies, sessions, refusals, rate limits, the store, webhook
//! deliveries; on the listen address only for the clients of `metrics_allow`); logs every request
//! through `tracing`, as text or JSON (method, path with link tokens redacted and cut to a bounded
//! length, status, duration; never a token, a cookie or a key; in JSON, the banner and a fatal error
//! are JSON too); sends `Strict-Transport-Security` when its public URL is https; bounds the
//! connections of each client ([`http`]); purges sessions that expired more
//! than a day ago every ten minutes; applies the PostgreSQL migrations at start (safe when several
//! servers start at once), waiting for a database that cannot be reached yet for up to `[postgres]
//! startup_timeout_seconds`; delivers every session event to the organisation's webhooks, signed, at
//! least once and in order per session, surviving restarts ([`webhooks`]); and on SIGTERM or Ctrl-C
//! stops accepting connections and finishes the requests and deliveries in flight before it exits.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod http;
mod log_fields;
mod log_format;
pub mod log_lines;
mod log_time;
mod mail;
mod metered;
pub mod metrics;
pub mod webhooks;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portal_sessions::{Engine, SessionStore, StaticDirectory, StoreError};
use portal_sessions_axum::{
    IpNet, PortalService, Purger, RequestLogLayer, StaticApiKeys, StaticPortalData, TrustedProxies,
    health_check,
};
use portal_sessions_memory::MemoryStore;
use portal_sessions_postgres::{PostgresConfig, PostgresStore};
use portal_sessions_sled::{SledConfig, SledStore};

use crate::config::{
    Config, ConfigError, ConfigErrors, ConfigSource, LogFormat, Overrides, StoreSpec,
};
use crate::log_lines::LogLines;
use crate::metered::MeteredStore;
use crate::metrics::{Metrics, MetricsError};

/// How long after expiry a session is kept, and how often expired sessions are purged (the
/// library's defaults, which the server keeps).
pub use portal_sessions_axum::{PURGE_EVERY, PURGE_GRACE};

/// How long after expiry the server keeps a session: [`PURGE_GRACE`], or longer when an
/// organisation has recovery on, whose used and expired links may ask for a new one until its
/// window ends. The horizon is the longest window of all: records of every organisation are kept
/// that long (about 300 bytes each in memory, a row in PostgreSQL, a few hundred bytes in sled).
pub fn purge_grace(config: &Config) -> Duration {
    config
        .orgs
        .iter()
        .filter_map(|org| org.recovery.as_ref())
        .map(|recovery| recovery.policy.window)
        .fold(PURGE_GRACE, Duration::max)
}

/// Why the server did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid: every error found, one a line. The message includes them
    /// (so they are not also the error's `source`).
    #[error("invalid configuration:\n{0}")]
    Config(ConfigErrors),
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}")]
    ReadConfig {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be opened or migrated.
    #[error("cannot open the session store")]
    Store(#[from] StoreError),
    /// PostgreSQL could not be reached for the whole of `[postgres] startup_timeout_seconds`.
    #[error(
        "the database could not be reached in {} s of trying ([postgres] startup_timeout_seconds)",
        .waited.as_secs_f64()
    )]
    DatabaseUnreachable {
        /// How long the server kept trying.
        waited: Duration,
        /// Why the last attempt failed.
        #[source]
        last: StoreError,
    },
    /// Webhook deliveries could not start.
    #[error("cannot deliver webhooks")]
    Webhooks(#[from] webhooks::StartError),
    /// The webhook client could not be built.
    #[error("cannot build the webhook client")]
    WebhookClient(#[from] portal_sessions_axum::webhooks::ClientError),
    /// The metrics could not be set up (a bug).
    #[error("cannot set up the metrics")]
    Metrics(#[from] MetricsError),
    /// A subcommand that does not apply to the configured store.
    #[error("{command} does not apply to a {store} store")]
    Unsupported {
        /// The subcommand.
        command: &'static str,
        /// The store's kind.
        store: &'static str,
    },
    /// The operating system's randomness failed.
    #[error("the operating system's randomness failed")]
    Random,
    /// The listener failed.
    #[error("cannot serve on {address}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<ConfigError> for ServerError {
    fn from(error: ConfigError) -> ServerError {
        ServerError::Config(error.into())
    }
}

impl From<ConfigErrors> for ServerError {
    fn from(errors: ConfigErrors) -> ServerError {
        ServerError::Config(errors)
    }
}

/// Loads the configuration the command asks for.
///
/// # Errors
///
/// [`ServerError::ReadConfig`] or [`ServerError::Config`].
pub fn load(config: Option<&str>, overrides: &Overrides) -> Result<(Config, bool), ServerError> {
    let env = config::process_environment()?;
    match config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ServerError::ReadConfig {
                path: path.to_owned(),
                source,
            })?;
            let source = ConfigSource::File { path, text: &text };
            Ok((config::load_config(source, &env, overrides)?, false))
        }
        None => {
            let mut demo = config::load_config(ConfigSource::Demo, &env, overrides)?;
            // Organisations from the environment are not the demo's: no demo key to replace, no
            // demo banner.
            let own_orgs = env
                .iter()
                .any(|(name, _)| name == &format!("{}ORGS", config::ENV_PREFIX));
            if own_orgs {
                return Ok((demo, false));
            }
            if reaches_beyond_this_machine(&demo) {
                // The demo's key is published in the README: anyone could use it on a server
                // that others can reach, or on a database that outlives the demo.
                let key = fresh_secret_key()?;
                for org in &mut demo.orgs {
                    org.secret_keys = vec![key.clone()];
                }
            }
            Ok((demo, true))
        }
    }
}

async fn open_store(config: &Config) -> Result<Arc<dyn SessionStore>, ServerError> {
    Ok(match &config.store {
        StoreSpec::Memory => Arc::new(MemoryStore::new().with_event_feed()),
        StoreSpec::Sled(path) => {
            let path = path.clone();
            let config = SledConfig::new(path).min_free_bytes(config.sled.min_free_bytes);
            let store = tokio::task::spawn_blocking(move || config.open())
                .await
                .map_err(|error| StoreError::Backend(Box::new(error)))??;
            Arc::new(store)
        }
        StoreSpec::Postgres(url) => {
            let (store, applied) = open_postgres(url, &config.postgres).await?;
            tracing::info!(applied, "PostgreSQL migrations checked");
            Arc::new(store)
        }
    })
}

/// The first wait between two attempts to reach PostgreSQL at start; each next one is twice as
/// long, up to [`LAST_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(250);
/// The longest wait between two attempts.
const LAST_RETRY_WAIT: Duration = Duration::from_secs(5);

/// Connects to PostgreSQL and applies its migrations. A database that cannot be reached yet (the
/// server started before it, or during a failover: refused, no answer, a name that does not
/// resolve) is waited for, with backoff and a warning per failed attempt, for `[postgres]
/// startup_timeout_seconds`; an attempt still running then is cut off. A refused login, an unknown
/// database or a failed TLS handshake fails at once: waiting would not fix them.
/// `PostgresStore::connect` itself never retries.
async fn open_postgres(
    url: &str,
    settings: &config::PostgresSettings,
) -> Result<(PostgresStore, u32), ServerError> {
    let started = Instant::now();
    let deadline = started + settings.startup_timeout;
    let mut wait = FIRST_RETRY_WAIT;
    let mut last = None;
    for attempt in 1u32.. {
        let left = deadline.saturating_duration_since(Instant::now());
        let opened = async {
            let store = PostgresStore::connect(postgres_config(url, settings)).await?;
            let applied = store.migrate().await?;
            Ok::<_, StoreError>((store, applied))
        };
        match tokio::time::timeout(left, opened).await {
            Ok(Ok(opened)) => return Ok(opened),
            Ok(Err(error @ (StoreError::Unavailable(_) | StoreError::Timeout))) => {
                last = Some(error);
            }
            Ok(Err(error)) => return Err(error.into()),
            // Cut off at the deadline: the previous attempt's error says more.
            Err(_) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let pause = wait.min(left);
        if let Some(error) = &last {
            tracing::warn!(
                attempt,
                retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                error = %portal_sessions::ErrorChain(error),
                "the database cannot be reached yet; trying again"
            );
        }
        tokio::time::sleep(pause).await;
        wait = (wait * 2).min(LAST_RETRY_WAIT);
    }
    Err(ServerError::DatabaseUnreachable {
        waited: settings.startup_timeout,
        last: last.unwrap_or(StoreError::Timeout),
    })
}

/// Whether the demo would be reachable from elsewhere (a listen address that is not loopback) or
/// keep its sessions somewhere shared (PostgreSQL).
fn reaches_beyond_this_machine(config: &Config) -> bool {
    !config.listen.ip().is_loopback() || matches!(config.store, StoreSpec::Postgres(_))
}

/// A fresh secret key: `mf_sk_demo_` and 128 random bits in hex.
fn fresh_secret_key() -> Result<String, ServerError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| {
        ConfigError::new(
            config::DEMO_NAME,
            "secret_keys",
            "the operating system's randomness failed, so no fresh demo key could be made",
        )
    })?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("mf_sk_demo_{hex}"))
}

/// The PostgreSQL configuration of a store URL and the `[postgres]` table.
fn postgres_config(url: &str, settings: &config::PostgresSettings) -> PostgresConfig {
    let mut config = PostgresConfig::new(url.to_owned());
    if let Some(schema) = &settings.schema {
        config = config.schema(schema.clone());
    }
    if let Some(max) = settings.max_connections {
        config = config.max_connections(max);
    }
    if let Some(roots) = &settings.root_certificates {
        config = config.root_certificates(roots.clone());
    }
    config
}

/// The layers the server puts around its router, innermost first: the request metrics (labelled
/// by the matched route's template) and the request log. What they cost beside a bare handler is
/// measured by `cargo bench -p portal-sessions-benches --bench layers`, and counted in
/// instructions by `hot_paths layers-empty` (`benches/examples/hot_paths.rs`).
pub fn operations_layers(app: axum::Router, metrics: &Metrics) -> axum::Router {
    // The metrics and the log as one layer of the router: every layer a router is given wraps
    // each route in a service of its own, which a request clones and calls again.
    app.layer(
        tower::ServiceBuilder::new()
            .layer(RequestLogLayer::new())
            .layer(metrics::TrackLayer::new(metrics)),
    )
}

/// Who may read `/metrics` on the public listener (`metrics_allow`), the client resolved as the
/// rate limits resolve it.
struct MetricsAccess {
    allow: Vec<IpNet>,
    proxies: TrustedProxies,
}

/// Lets a request to `/metrics` through when its client is in `metrics_allow`; 403 otherwise (and
/// when the connection's address is unknown).
async fn metrics_allowed(
    State(access): State<Arc<MetricsAccess>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| access.proxies.client(peer.ip(), request.headers()));
    match client {
        Some(ip) if access.allow.iter().any(|network| network.contains(&ip)) => {
            next.run(request).await
        }
        _ => (StatusCode::FORBIDDEN, "forbidden\n").into_response(),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: no new connections, finishing requests in flight");
}

/// Sets up logging to standard error in the configured format: text, or one JSON object a line.
/// Lines are written by a thread of their own ([`log_lines`]); keep the handle and call
/// [`LogLines::finish`] before the process exits, so that the last lines are out.
pub fn init_logging(format: LogFormat) -> Option<LogLines> {
    init_logging_to(format, std::io::stderr())
}

/// [`init_logging`], writing to `out` instead of standard error (the benches write to
/// `/dev/null`). Where the writer thread cannot start, lines go straight to standard error.
pub fn init_logging_to(
    format: LogFormat,
    out: impl std::io::Write + Send + 'static,
) -> Option<LogLines> {
    match LogLines::start(out) {
        Ok((sender, lines)) => {
            install_logging(format, sender);
            Some(lines)
        }
        Err(_) => {
            install_logging(format, std::io::stderr);
            None
        }
    }
}

fn install_logging<W>(format: LogFormat, writer: W)
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_timer(log_time::LineTime)
        .with_max_level(tracing::Level::INFO);
    match format {
        LogFormat::Text => {
            let _ = builder
                .fmt_fields(log_fields::LineFields)
                .event_format(log_format::LineFormat::new(log_time::LineTime))
                .try_init();
        }
        LogFormat::Json => {
            let _ = builder.json().try_init();
            std::panic::set_hook(Box::new(|panic| {
                tracing::error!(panic = %panic, "a thread panicked");
            }));
        }
    }
}

/// The log format a configuration that could not be loaded asks for, as far as it can be told:
/// `PORTAL_SESSIONS_LOG_FORMAT`, else the file's top-level `log_format` (read even from a file
/// with errors elsewhere), else text. So that a server told to log JSON says even why it cannot
/// start in JSON.
pub fn requested_log_format(config: Option<&str>) -> LogFormat {
    let json = |text: &str| {
        if text == "json" {
            LogFormat::Json
        } else {
            LogFormat::Text
        }
    };
    if let Ok(value) = std::env::var(format!("{}LOG_FORMAT", config::ENV_PREFIX)) {
        return json(&value);
    }
    let Some(text) = config.and_then(|path| std::fs::read_to_string(path).ok()) else {
        return LogFormat::Text;
    };
    let (document, _) = toml::de::DeTable::parse_recoverable(&text);
    document
        .into_inner()
        .into_iter()
        .find(|(key, _)| key.get_ref() == "log_format")
        .and_then(|(_, value)| value.get_ref().as_str().map(json))
        .unwrap_or(LogFormat::Text)
}

/// `migrate`: applies the PostgreSQL store's migrations, or converts a sled store to its current
/// layout by opening it; says what it did.
///
/// # Errors
///
/// A [`ServerError`] when the store cannot be opened or migrated.
pub async fn migrate(config: &Config) -> Result<String, ServerError> {
    match &config.store {
        StoreSpec::Memory => {
            Ok("the memory store keeps nothing on disk: nothing to migrate".into())
        }
        StoreSpec::Sled(path) => {
            open_store(config).await?;
            Ok(format!("the sled store at {path} is at its current layout"))
        }
        StoreSpec::Postgres(url) => {
            let (store, applied) = open_postgres(url, &config.postgres).await?;
            Ok(format!(
                "applied {applied} migration(s) to schema {}",
                store.schema().as_str()
            ))
        }
    }
}

/// `purge`: deletes the sessions that expired `grace` or longer ago; returns how many.
///
/// # Errors
///
/// A [`ServerError`] when the store cannot be opened or fails.
pub async fn purge(config: &Config, grace: Duration) -> Result<u64, ServerError> {
    let store = open_store(config).await?;
    let engine = Engine::new(store, StaticDirectory::default());
    engine
        .purge_expired(grace)
        .await
        .map_err(|error| match error {
            portal_sessions::EngineError::Store(store) => ServerError::Store(store),
            other => ServerError::Store(StoreError::Backend(Box::new(other))),
        })
}

/// `compact`: rewrites a sled store into a fresh database (offline), giving purged space back;
/// says what it did.
///
/// # Errors
///
/// [`ServerError::Unsupported`] for other stores; a store error when compaction fails.
pub async fn compact(config: &Config) -> Result<String, ServerError> {
    let StoreSpec::Sled(path) = &config.store else {
        return Err(ServerError::Unsupported {
            command: "compact",
            store: match config.store {
                StoreSpec::Memory => "memory",
                _ => "PostgreSQL",
            },
        });
    };
    let path = path.clone();
    let compaction = tokio::task::spawn_blocking(move || SledStore::compact(path))
        .await
        .map_err(|error| StoreError::Backend(Box::new(error)))??;
    Ok(format!("{compaction:?}"))
}

/// `gen-key`: a fresh secret: an API key `mf_sk_live_` and 256 random bits in hex, or a webhook
/// secret `whsec_` and the same.
///
/// # Errors
///
/// [`ServerError::Random`] when the operating system's randomness fails.
pub fn fresh_key(webhook: bool) -> Result<String, ServerError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| ServerError::Random)?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(if webhook {
        format!("whsec_{hex}")
    } else {
        format!("mf_sk_live_{hex}")
    })
}

/// Runs the server until SIGTERM or Ctrl-C.
///
/// # Errors
///
/// A [`ServerError`] when the store cannot be opened or the address cannot be bound.
pub async fn serve(config: Config, demo: bool) -> Result<(), ServerError> {
    let metrics = Metrics::new()?;
    let store: Arc<dyn SessionStore> = Arc::new(MeteredStore::new(
        open_store(&config).await?,
        metrics.clone(),
    ));
    let mut directory = StaticDirectory::default();
    let mut keys = StaticApiKeys::default();
    let mut data = StaticPortalData::default();
    for org in &config.orgs {
        for key in &org.secret_keys {
            keys.add_secret(key, org.id);
        }
        for key in &org.publishable_keys {
            keys.add_publishable(key, org.id);
        }
        data.set_branding(org.id, org.branding.clone());
        if let Some(recovery) = &org.recovery {
            data.set_recovery(org.id, recovery.clone());
        }
        for (customer, billing) in &org.customers {
            directory
                .insert(org.id, customer.clone())
                .map_err(|error| {
                    ConfigError::new(
                        "<configuration>",
                        format!("customer {}", customer.id),
                        error.to_string(),
                    )
                })?;
            data.set_billing(org.id, customer.id, billing.clone());
        }
    }
    let longest_window = config
        .orgs
        .iter()
        .filter_map(|org| org.recovery.as_ref())
        .map(|recovery| recovery.policy.window)
        .max()
        .unwrap_or(Duration::ZERO);
    let engine = Engine::new(store, directory)
        .with_recovery_horizon(longest_window)
        .with_ttl(config.session_ttl)
        .map_err(|error| {
            ConfigError::new("<configuration>", "session_ttl_seconds", error.to_string())
        })?;
    // Sessions are counted from the engine's committed changes.
    let engine = Arc::new(engine.with_listener(metrics.clone()));
    // Over https the browser is told to come back over https only (this host, a year).
    let https = config
        .public_url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    let portal = PortalService::new(engine.clone(), keys, data)
        .public_url(&config.public_url)
        .strict_transport_security(https)
        .show_all_sections(config.show_all_sections)
        .default_locale(config.default_locale)
        .trusted_proxies(config.trusted_proxies.iter().copied())
        .link_attempt_limit(config.limits.links)
        .cookie_attempt_limit(config.limits.cookies)
        .api_key_attempt_limit(config.limits.api_keys)
        .login_post_limit(config.limits.login_posts);
    let portal = match &config.email {
        Some(email) => portal.mailer(mail::MeteredMailer {
            inner: mail::smtp_mailer(&email.smtp_url, &email.from)
                .map_err(|reason| ConfigError::new("<configuration>", "email.smtp_url", reason))?,
            metrics: metrics.clone(),
        }),
        None => portal,
    };
    let app = portal
        .router()
        .route("/healthz", health_check(engine.clone()));
    let app = match config.metrics_listen {
        None => {
            let access = Arc::new(MetricsAccess {
                allow: config.metrics_allow.clone(),
                proxies: TrustedProxies::new(config.trusted_proxies.iter().copied()),
            });
            app.route(
                "/metrics",
                get(metrics::scrape)
                    .with_state(metrics.clone())
                    .route_layer(middleware::from_fn_with_state(access, metrics_allowed)),
            )
        }
        Some(_) => app,
    };
    let app = operations_layers(app, &metrics);

    let webhooks: HashMap<_, _> = config
        .orgs
        .iter()
        .filter(|org| !org.webhooks.is_empty())
        .map(|org| (org.id, org.webhooks.clone()))
        .collect();

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Listen {
            address: config.listen.to_string(),
            source,
        })?;
    let address = listener.local_addr().unwrap_or(config.listen);
    let purger = Purger::new(engine.clone())
        .every(PURGE_EVERY)
        .grace(purge_grace(&config))
        .spawn();
    // One signal stops both the HTTP side and the deliveries, which drain side by side.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics_server = match config.metrics_listen {
        None => None,
        Some(metrics_address) => {
            let listener = tokio::net::TcpListener::bind(metrics_address)
                .await
                .map_err(|source| ServerError::Listen {
                    address: metrics_address.to_string(),
                    source,
                })?;
            let router = axum::Router::new()
                .route("/metrics", get(metrics::scrape))
                .with_state(metrics.clone());
            let mut stopping = stopped.clone();
            tracing::info!(address = %metrics_address, "metrics served on their own address");
            Some(tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopping.wait_for(|stop| *stop).await;
                    })
                    .await;
                if let Err(error) = served {
                    tracing::error!(error = %error, "the metrics listener failed");
                }
            }))
        }
    };
    let deliveries = webhooks::start(
        engine.clone(),
        webhooks,
        config.events,
        stopped,
        config.http.shutdown_grace,
        metrics.clone(),
    )?;
    print_banner(&config, address, demo);
    tracing::info!(%address, "portal-sessions-server listening");
    let signal = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let proxies = TrustedProxies::new(config.trusted_proxies.iter().copied());
    http::serve(listener, app, config.http, proxies, signal).await;
    deliveries.finished().await;
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    purger.stop();
    tracing::info!("stopped");
    Ok(())
}

/// Prints what the server is and, for the demo, its key and a command to try: as text, or with
/// `log_format = "json"` as one JSON object (`message`, `address`, `public_url`, `store`, and for
/// the demo `demo`: `organisation`, `customer`, `secret_key`, `command`). A closed or broken
/// standard output is no reason to stop serving, so a failed write is ignored.
fn print_banner(config: &Config, address: SocketAddr, demo: bool) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let (store, path) = match &config.store {
        StoreSpec::Memory => ("memory", None),
        StoreSpec::Sled(path) => ("sled", Some(path.as_str())),
        StoreSpec::Postgres(_) => ("postgres", None),
    };
    let demo = demo.then(|| config.orgs.first()).flatten().map(|org| {
        let key = org.secret_keys.first().map_or("", String::as_str);
        let customer = org
            .customers
            .first()
            .map_or("acme-001", |(customer, _)| customer.external_id.as_str());
        let command = format!(
            "curl -s -X POST {}/v1/portal-sessions -H 'x-api-key: {key}' \
             -H 'Content-Type: application/json' -d '{{\"customerExternalId\": \"{customer}\"}}'",
            config.public_url
        );
        (org.branding.name.as_str(), customer, key, command)
    });
    if config.log_format == LogFormat::Json {
        let mut banner = serde_json::json!({
            "message": "portal-sessions-server listening",
            "address": address.to_string(),
            "public_url": config.public_url,
            "store": store,
        });
        if let Some(path) = path {
            banner["store_path"] = path.into();
        }
        if let Some((organisation, customer, key, command)) = &demo {
            banner["demo"] = serde_json::json!({
                "organisation": organisation,
                "customer": customer,
                "secret_key": key,
                "command": command,
            });
        }
        let _ = writeln!(out, "{banner}");
        return;
    }
    let store = path.map_or_else(|| store.to_owned(), |path| format!("{store}:{path}"));
    let _ = writeln!(
        out,
        "portal-sessions-server listening on http://{address} (store: {store})"
    );
    if let Some((organisation, customer, key, command)) = demo {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "This is the built-in demo: organisation \"{organisation}\", customer {customer}."
        );
        let _ = writeln!(out, "Demo secret key: {key}");
        let _ = writeln!(out);
        let _ = writeln!(out, "Mint a portal link:");
        let _ = writeln!(out, "  {command}");
        let _ = writeln!(out, "then open the \"url\" it returns in a browser.");
    }
}
