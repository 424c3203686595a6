//! No error chain in the workspace repeats itself: an error either prints its cause or returns it
//! from `source()`, never both. Every public error type, every variant that has a cause, and real
//! failures of each backend and of the server (a missing config file, a sled path that is a file, a
//! PostgreSQL that refuses the connection, a port already taken) are walked link by link.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

use std::error::Error;
use std::io;

use portal_sessions::{
    DirectoryError, DirectoryInsertError, EngineError, ErrorChain, IdError, InvalidRequest,
    InvalidTimestamp, InvalidTtl, Rejection, StoreError, TokenError, UnknownFeature,
};
use portal_sessions_axum::{AuthError, PortalDataError};
use portal_sessions_server::ServerError;
use portal_sessions_server::config::{ConfigError, Overrides};

/// Fails when any link of `error`'s chain contains the text of its own source.
fn assert_no_echo(error: &(dyn Error + 'static)) {
    let mut current = error;
    let mut depth = 0;
    while let Some(source) = current.source() {
        let (outer, inner) = (current.to_string(), source.to_string());
        assert!(
            !outer.contains(&inner),
            "{outer:?} prints its source {inner:?} and also returns it (chain: {})",
            ErrorChain(error)
        );
        current = source;
        depth += 1;
        assert!(depth < 32, "a cycle in the chain of {}", ErrorChain(error));
    }
}

/// Fails when the printed chain names one cause twice in a row.
fn assert_chain_reads_once(error: &(dyn Error + 'static)) {
    let line = ErrorChain(error).to_string();
    let parts: Vec<&str> = line.split(": ").collect();
    for pair in parts.windows(2) {
        assert_ne!(pair[0], pair[1], "{line}");
    }
}

fn io_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused")
}

fn engine_errors() -> Vec<EngineError> {
    vec![
        EngineError::InvalidRequest(InvalidRequest::ReturnUrl),
        EngineError::from(InvalidRequest::MissingCustomer),
        EngineError::CustomerNotFound,
        EngineError::SessionNotFound,
        EngineError::LinkMalformed(TokenError::BadEncoding),
        EngineError::LinkUnknown,
        EngineError::LinkUsed,
        EngineError::LinkExpired,
        EngineError::LinkRevoked,
        EngineError::ViewerRejected(Rejection::Revoked),
        EngineError::Store(StoreError::Unavailable(Box::new(io_error()))),
        EngineError::Directory(DirectoryError(Box::new(io_error()))),
        EngineError::ClockOutOfRange,
        EngineError::Contention,
    ]
}

fn store_errors() -> Vec<StoreError> {
    vec![
        StoreError::Duplicate,
        StoreError::corrupt("bad format byte", Some(Box::new(io_error()))),
        StoreError::corrupt("bad format byte", None),
        StoreError::Unavailable(Box::new(io_error())),
        StoreError::Timeout,
        StoreError::config("bad schema name", Some(Box::new(io_error()))),
        StoreError::Backend(Box::new(io_error())),
    ]
}

#[test]
fn core_and_axum_errors_print_their_cause_once() {
    let mut errors: Vec<Box<dyn Error + 'static>> = Vec::new();
    errors.extend(
        engine_errors()
            .into_iter()
            .map(|e| Box::new(e) as Box<dyn Error>),
    );
    errors.extend(
        store_errors()
            .into_iter()
            .map(|e| Box::new(e) as Box<dyn Error>),
    );
    errors.push(Box::new(DirectoryError(Box::new(io_error()))));
    errors.push(Box::new(DirectoryInsertError::Invalid(
        InvalidRequest::CustomerRecord,
    )));
    errors.push(Box::new(DirectoryInsertError::DuplicateId));
    errors.push(Box::new(IdError::NotUuid));
    errors.push(Box::new(InvalidTtl));
    errors.push(Box::new(InvalidTimestamp));
    errors.push(Box::new(UnknownFeature));
    errors.push(Box::new(PortalDataError(Box::new(io_error()))));
    errors.push(Box::new(AuthError::unavailable(io_error())));
    errors.push(Box::new(AuthError::unauthenticated("send a host key")));
    errors.push(Box::new(
        portal_sessions_sled::codec::DecodeError::Truncated("expires_at"),
    ));
    for error in &errors {
        assert_no_echo(error.as_ref());
        assert_chain_reads_once(error.as_ref());
    }
}

#[test]
fn server_errors_print_their_cause_once() {
    let config = ConfigError {
        file: "portal.toml".into(),
        line: Some(3),
        key: "store".into(),
        reason: "must be memory, sled:<path> or postgres://...".into(),
    };
    let errors: Vec<ServerError> = vec![
        ServerError::Config(config.clone().into()),
        ServerError::from(config),
        ServerError::ReadConfig {
            path: "portal.toml".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "No such file or directory"),
        },
        ServerError::Store(StoreError::Unavailable(Box::new(io_error()))),
        ServerError::Listen {
            address: "127.0.0.1:1".into(),
            source: io::Error::new(io::ErrorKind::AddrInUse, "Address in use"),
        },
    ];
    for error in &errors {
        assert_no_echo(error);
        assert_chain_reads_once(error);
    }
    let missing =
        portal_sessions_server::load(Some("/nonexistent/portal.toml"), &Overrides::default())
            .err()
            .unwrap();
    assert_no_echo(&missing);
    let invalid = portal_sessions_server::config::parse_with(
        "portal.toml",
        "store = 7\n",
        &Overrides::default(),
    )
    .err()
    .unwrap();
    let invalid = ServerError::from(invalid);
    assert_no_echo(&invalid);
    assert_chain_reads_once(&invalid);
}

#[test]
fn real_backend_failures_print_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"x").unwrap();
    let sled = portal_sessions_sled::SledStore::open(&file).err().unwrap();
    assert_no_echo(&sled);
    assert_chain_reads_once(&sled);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = runtime
        .block_on(portal_sessions_postgres::PostgresStore::connect(
            portal_sessions_postgres::PostgresConfig::new(
                "postgres://postgres@127.0.0.1:1/postgres",
            ),
        ))
        .err()
        .unwrap();
    // The store's sentence, the driver's, the operating system's: each printed once.
    let ours = refused.to_string();
    let first_cause = refused.source().unwrap().to_string();
    assert!(!ours.contains(&first_cause), "{ours}");
    assert_chain_reads_once(&refused);
    let line = ErrorChain(&refused).to_string();
    assert_eq!(
        line.matches("Connection refused").count(),
        1,
        "the refusal is printed once: {line}"
    );

    let bad_schema = portal_sessions_postgres::SchemaName::new("no spaces allowed")
        .err()
        .unwrap();
    assert_no_echo(&bad_schema);
}

#[test]
fn webhook_errors_print_their_cause_once() {
    use portal_sessions::webhook::SignatureError;
    use portal_sessions_axum::webhooks::{HyperClient, WebhookClient, WebhookRequest};
    use portal_sessions_server::webhooks::{StartError, WebhookError};

    let mut errors: Vec<Box<dyn Error + 'static>> = vec![
        Box::new(SignatureError::Malformed("no t")),
        Box::new(SignatureError::NoMatch),
        Box::new(SignatureError::OutsideTolerance {
            timestamp: 1,
            now: 1000,
            tolerance_seconds: 300,
        }),
        Box::new(WebhookError::Url),
        Box::new(WebhookError::Secret),
        Box::new(ServerError::Webhooks(StartError::NoFeed)),
    ];
    // A real refused connection, through the client the server posts with.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = runtime
        .block_on(async {
            let timeout = std::time::Duration::from_secs(5);
            let client = HyperClient::new(timeout)?;
            let url = "http://127.0.0.1:1/hook".parse().unwrap();
            let request = WebhookRequest::new(url, "{}".into(), timeout);
            Ok::<_, Box<dyn Error>>(client.post(request).await)
        })
        .unwrap()
        .err()
        .unwrap();
    let line = ErrorChain(&refused).to_string();
    assert_eq!(
        line.matches("onnection refused").count(),
        1,
        "the refusal is printed once: {line}"
    );
    errors.push(Box::new(refused));
    for error in &errors {
        assert_no_echo(error.as_ref());
        assert_chain_reads_once(error.as_ref());
    }
}
