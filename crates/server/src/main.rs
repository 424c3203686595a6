//! `portal-sessions-server`: see the library documentation for what it does, and `--help` for how.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use portal_sessions::ErrorChain;
use portal_sessions_server::cli::{Cli, Command};
use portal_sessions_server::config::{Config, LogFormat, Overrides};
use portal_sessions_server::{
    ServerError, compact, fresh_key, init_logging, load, migrate, purge, requested_log_format,
    serve,
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
            Err(error) => fail(LogFormat::Text, &error),
        };
    }
    let overrides = Overrides {
        listen: cli.source.listen.clone(),
        store: cli.source.store.clone(),
    };
    let (config, demo) = match load(cli.source.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(error) => {
            // check-config prints its result as it is; the server says why it cannot start in the
            // format its configuration asks for, as far as that can be told.
            let format = match command {
                Command::CheckConfig => LogFormat::Text,
                _ => requested_log_format(cli.source.config.as_deref()),
            };
            let logging = (format == LogFormat::Json).then(|| init_logging(format));
            report(format, &ErrorChain(&error));
            drop(logging);
            return ExitCode::from(USAGE_ERROR);
        }
    };
    if command == Command::CheckConfig {
        println!("the configuration is valid");
        return ExitCode::SUCCESS;
    }
    let format = config.log_format;
    let logging = init_logging(format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report(
                format,
                &format_args!("cannot start the async runtime: {error}"),
            );
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(command, config, demo));
    // Connections still open after the grace period are dropped with the runtime, without waiting.
    runtime.shutdown_timeout(Duration::from_millis(100));
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format, &error),
    };
    // Every line logged is out before the process ends.
    if let Some(logging) = logging {
        logging.finish();
    }
    code
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

/// Says why the command failed: `error: ...` on standard error, or one JSON log line (logging set
/// up as JSON first), so that with `log_format = "json"` every line stays JSON.
fn report(format: LogFormat, message: &dyn std::fmt::Display) {
    match format {
        LogFormat::Text => eprintln!("error: {message}"),
        LogFormat::Json => tracing::error!("{message}"),
    }
}

fn fail(format: LogFormat, error: &ServerError) -> ExitCode {
    report(format, &ErrorChain(error));
    match error {
        ServerError::Unsupported { .. } => ExitCode::from(USAGE_ERROR),
        _ => ExitCode::FAILURE,
    }
}
