//! The command line: clap's parser over the server's subcommands.

use clap::{Args, Parser, Subcommand};

/// One-time customer billing-portal links: the portal-sessions service.
///
/// Without a subcommand it serves (`serve`). Every configuration key can also come from the
/// environment: `PORTAL_SESSIONS_<KEY>` for a top-level key (`PORTAL_SESSIONS_STORE`,
/// `PORTAL_SESSIONS_LISTEN`, ...), over the file; the flags below override both.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "portal-sessions-server", version, about, long_about = None)]
#[command(
    args_conflicts_with_subcommands = false,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// What to do; `serve` when none is given.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Where the configuration comes from.
    #[command(flatten)]
    pub source: Source,
}

/// The configuration's sources, shared by every subcommand that reads one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct Source {
    /// A TOML configuration file (without it: the built-in demo).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<String>,
    /// The address to listen on, like 127.0.0.1:8080 (over the file and the environment).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The session store: `memory`, `sled:<path>` or `postgres://user@host:5432/db` (over the file and
    /// the environment).
    #[arg(long, global = true, value_name = "SPEC")]
    pub store: Option<String>,
}

/// The subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the API, the links and the portal (the default).
    Serve,
    /// Apply the PostgreSQL store's migrations (a sled store is converted to its current layout by
    /// opening it), then exit.
    Migrate,
    /// Delete sessions that expired long enough ago, then exit.
    Purge {
        /// How long after expiry a session is kept, in seconds (the server's own purge keeps a
        /// day).
        #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
        grace_seconds: u64,
    },
    /// Rewrite a sled store into a fresh database, giving purged space back (offline: stop the
    /// server first).
    Compact,
    /// Check the configuration and report every error in it, then exit (0 when it is valid).
    CheckConfig,
    /// Print a fresh secret: an API key (`mf_sk_live_...`), or a webhook secret with `--webhook`.
    GenKey {
        /// A webhook signing secret (`whsec_...`) instead of an API key.
        #[arg(long)]
        webhook: bool,
    },
}

impl Cli {
    /// The subcommand, `serve` when none was given.
    pub fn command(&self) -> Command {
        self.command.clone().unwrap_or(Command::Serve)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("portal-sessions-server").chain(args.iter().copied()))
    }

    #[test]
    fn every_form_a_cli_accepts() {
        let cli = parse(&["--config=a.toml", "--listen", "127.0.0.1:1"]).unwrap();
        assert_eq!(cli.command(), Command::Serve);
        assert_eq!(cli.source.config.as_deref(), Some("a.toml"));
        let cli = parse(&["purge", "--grace-seconds=60", "--store", "memory"]).unwrap();
        assert_eq!(cli.command(), Command::Purge { grace_seconds: 60 });
        assert_eq!(cli.source.store.as_deref(), Some("memory"));
        let cli = parse(&["--config", "b.toml", "check-config"]).unwrap();
        assert_eq!(cli.command(), Command::CheckConfig);
        assert_eq!(cli.source.config.as_deref(), Some("b.toml"));
        assert_eq!(
            parse(&["gen-key", "--webhook"]).unwrap().command(),
            Command::GenKey { webhook: true }
        );
        for help in [&["--help"][..], &["-h"], &["purge", "--help"]] {
            let error = parse(help).unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp);
        }
        let error = parse(&["--version"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::DisplayVersion);
        for bad in [
            &["--bogus"][..],
            &["serve", "extra"],
            &["purge", "--grace-seconds", "-1"],
            &["--config"],
            &["--config", "a", "--config", "b"],
            &["launch"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
