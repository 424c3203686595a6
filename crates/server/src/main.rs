//! `portal-sessions-server`: see the library documentation for what it does, and `--help` for how.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use portal_sessions::ErrorChain;
use portal_sessions_server::cli::{Cli, Command};
use portal_sessions_server::config::{Config, Overrides};
use portal_sessions_server::{
    ServerError, compact, fresh_key, init_logging, load, migrate, purge, serve,
};

/// The exit code of a refused configuration or command line.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints help and version to stdout (exit 0) and errors to stderr (exit 2).
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(USAGE_ERROR));
        }
    };
    let command = cli.command();
    if let Command::GenKey { webhook } = command {
        return match fresh_key(webhook) {
            Ok(key) => {
                println!("{key}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        };
    }
    let overrides = Overrides {
        listen: cli.source.listen.clone(),
        store: cli.source.store.clone(),
    };
    let (config, demo) = match load(cli.source.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {}", ErrorChain(&error));
            return ExitCode::from(USAGE_ERROR);
        }
    };
    if command == Command::CheckConfig {
        println!("the configuration is valid");
        return ExitCode::SUCCESS;
    }
    init_logging(config.log_format);
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
    let outcome = runtime.block_on(run(command, config, demo));
    // Connections still open after the grace period are dropped with the runtime, without waiting.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Runs a subcommand that needs the configuration and the runtime.
async fn run(command: Command, config: Config, demo: bool) -> Result<(), ServerError> {
    match command {
        Command::Serve => serve(config, demo).await,
        Command::Migrate => {
            println!("{}", migrate(&config).await?);
            Ok(())
        }
        Command::Purge { grace_seconds } => {
            let purged = purge(&config, Duration::from_secs(grace_seconds)).await?;
            println!("purged {purged} session(s) that expired {grace_seconds} s or longer ago");
            Ok(())
        }
        Command::Compact => {
            println!("{}", compact(&config).await?);
            Ok(())
        }
        // Handled before the runtime starts.
        Command::CheckConfig | Command::GenKey { .. } => Ok(()),
    }
}

fn fail(error: &ServerError) -> ExitCode {
    eprintln!("error: {}", ErrorChain(error));
    match error {
        ServerError::Unsupported { .. } => ExitCode::from(USAGE_ERROR),
        _ => ExitCode::FAILURE,
    }
}
