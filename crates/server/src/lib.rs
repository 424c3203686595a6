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
//! deliveries); logs every request through `tracing`, as text or JSON (method, path with link tokens
//! redacted, status, duration; never a token, a cookie or a key); purges sessions that expired more
//! than a day ago every ten minutes; applies the PostgreSQL migrations at start (safe when several
//! servers start at once); delivers every session event to the organisation's webhooks, signed, at
//! least once and in order per session, surviving restarts ([`webhooks`]); and on SIGTERM or Ctrl-C
//! stops accepting connections and finishes the requests and deliveries in flight before it exits.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod http;
mod metered;
pub mod metrics;
pub mod webhooks;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portal_sessions::{Engine, SessionId, SessionStore, StaticDirectory, StoreError};
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_memory::MemoryStore;
use portal_sessions_postgres::{PostgresConfig, PostgresStore};
use portal_sessions_sled::SledStore;

use crate::config::{
    Config, ConfigError, ConfigErrors, ConfigSource, LogFormat, Overrides, StoreSpec,
};
use crate::metered::MeteredStore;
use crate::metrics::{Metrics, MetricsError};

/// How long after expiry a session is kept (so that lists with `includeExpired` still show it).
pub const PURGE_GRACE: Duration = Duration::from_secs(24 * 60 * 60);
/// How often expired sessions are purged.
pub const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

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
    /// Webhook deliveries could not start.
    #[error("cannot deliver webhooks")]
    Webhooks(#[from] webhooks::StartError),
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
            let store = tokio::task::spawn_blocking(move || SledStore::open(path))
                .await
                .map_err(|error| StoreError::Backend(Box::new(error)))??;
            Arc::new(store)
        }
        StoreSpec::Postgres(url) => {
            let store = PostgresStore::connect(postgres_config(url, &config.postgres)).await?;
            let applied = store.migrate().await?;
            tracing::info!(applied, "PostgreSQL migrations checked");
            Arc::new(store)
        }
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

/// The path as it may be logged: link tokens are secrets, so `/r/{token}` becomes `/r/<link>`.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with("/r/") {
        "/r/<link>"
    } else {
        path
    }
}

async fn log_requests(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = loggable_path(request.uri().path()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// `GET /healthz`: 200 when the store answers a read, 503 when it does not.
async fn healthz(State(engine): State<Arc<Engine<Arc<dyn SessionStore>>>>) -> Response {
    match engine.store().get(&SessionId::from_bytes([0; 16])).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::error!(error = %error, "health check: the session store did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
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
pub fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
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
            let store = PostgresStore::connect(postgres_config(url, &config.postgres)).await?;
            let applied = store.migrate().await?;
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
    let engine = Engine::new(store, directory)
        .with_ttl(config.session_ttl)
        .map_err(|error| {
            ConfigError::new("<configuration>", "session_ttl_seconds", error.to_string())
        })?;
    // Sessions are counted from the engine's committed changes.
    let engine = Arc::new(engine.with_listener(metrics.clone()));
    let app = PortalService::new(engine.clone(), keys, data)
        .public_url(&config.public_url)
        .show_all_sections(config.show_all_sections)
        .default_locale(config.default_locale)
        .trusted_proxies(config.trusted_proxies.iter().copied())
        .link_attempt_limit(config.limits.links)
        .cookie_attempt_limit(config.limits.cookies)
        .api_key_attempt_limit(config.limits.api_keys)
        .router()
        .route("/healthz", get(healthz).with_state(engine.clone()));
    let app = match config.metrics_listen {
        None => app.route("/metrics", get(metrics::scrape).with_state(metrics.clone())),
        Some(_) => app,
    };
    let app = app
        .route_layer(middleware::from_fn(metrics::route_of))
        .layer(middleware::from_fn_with_state(
            metrics.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn(log_requests));

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
    let purger = {
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PURGE_EVERY);
            loop {
                every.tick().await;
                match engine.purge_expired(PURGE_GRACE).await {
                    Ok(purged) => tracing::info!(purged, "purged long-expired sessions"),
                    Err(error) => tracing::warn!(error = %error, "purging expired sessions failed"),
                }
            }
        })
    };
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
    http::serve(listener, app, config.http, signal).await;
    deliveries.finished().await;
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    purger.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Prints what the server is and, for the demo, its key and a command to try. A closed or broken
/// standard output is no reason to stop serving, so a failed write is ignored.
fn print_banner(config: &Config, address: SocketAddr, demo: bool) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let store = match &config.store {
        StoreSpec::Memory => "memory".to_owned(),
        StoreSpec::Sled(path) => format!("sled:{path}"),
        StoreSpec::Postgres(_) => "postgres".to_owned(),
    };
    let _ = writeln!(
        out,
        "portal-sessions-server listening on http://{address} (store: {store})"
    );
    if let (true, Some(org)) = (demo, config.orgs.first()) {
        let key = org.secret_keys.first().map_or("", String::as_str);
        let customer = org
            .customers
            .first()
            .map_or("acme-001", |(customer, _)| customer.external_id.as_str());
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "This is the built-in demo: organisation \"{}\", customer {customer}.",
            org.branding.name
        );
        let _ = writeln!(out, "Demo secret key: {key}");
        let _ = writeln!(out);
        let _ = writeln!(out, "Mint a portal link:");
        let _ = writeln!(
            out,
            "  curl -s -X POST {}/v1/portal-sessions -H 'x-api-key: {key}' \
             -H 'Content-Type: application/json' -d '{{\"customerExternalId\": \"{customer}\"}}'",
            config.public_url
        );
        let _ = writeln!(out, "then open the \"url\" it returns in a browser.");
    }
}
