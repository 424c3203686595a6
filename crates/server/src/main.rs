//! `portal-sessions-server`: see the library documentation for what it does.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use portal_sessions_server::config::Overrides;
use portal_sessions_server::{Command, USAGE, load, parse_args, serve};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let (config, listen, store) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run {
            config,
            listen,
            store,
        }) => (config, listen, store),
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let overrides = Overrides { listen, store };
    let (config, demo) = match load(config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {}", portal_sessions::ErrorChain(&error));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(config, demo));
    // Connections still open after the grace period are dropped with the runtime, without waiting.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", portal_sessions::ErrorChain(&error));
            ExitCode::FAILURE
        }
    }
}
