//! The command line: one binary, subcommands for the daemon and its tools.

mod client;
mod rules;
mod run;

pub use rules::sources as rules_sources;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, OutputFormat};

#[derive(Debug, Parser)]
#[command(
    name = "kestrel",
    version,
    about = "Runtime security for containers: eBPF sensor, rules, alerts"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent: load the eBPF sensor, judge events, print alerts on stdout.
    Run(RunArgs),
    /// Rule files: check them, list the fields rules can use, reload them in
    /// a running agent.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Follow a running agent's alert stream (resumable: `--since SEQ`).
    Alerts {
        /// Keep streaming new alerts (else stop after the history).
        #[arg(long, short)]
        follow: bool,
        /// Start at a seq (`1234`), a time (RFC 3339) or a duration ago (`10m`).
        #[arg(long)]
        since: Option<String>,
        /// Only alerts matching this condition (e.g. `priority >= warning and container.image startswith nginx`).
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, short, value_enum, default_value = "text")]
        output: client::Format,
        #[command(flatten)]
        connect: client::Connect,
    },
    /// Follow a running agent's enriched events.
    Events {
        /// Only events matching this condition.
        #[arg(long)]
        filter: Option<String>,
        /// Stop after this many events.
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long, short, value_enum, default_value = "text")]
        output: client::Format,
        #[command(flatten)]
        connect: client::Connect,
    },
    /// A running agent's status: programs, counters, losses.
    Status {
        #[arg(long, short, value_enum, default_value = "text")]
        output: client::Format,
        #[command(flatten)]
        connect: client::Connect,
    },
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// TOML configuration file (every key optional; see `kestrel config defaults`).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, short, value_enum)]
    pub output: Option<OutputFormat>,
    /// Ring buffer size in bytes (power of two).
    #[arg(long)]
    pub ring_bytes: Option<u32>,
    /// Rule files to load after the embedded defaults.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Load only the `--rules` files, not the embedded defaults.
    #[arg(long)]
    pub no_default_rules: bool,
    /// Also print every event (enriched), not only alerts.
    #[arg(long)]
    pub events: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule files: errors with file:line:col (exit 1), then a summary.
    Check {
        /// Rule files, loaded in order (later ones may append/override).
        paths: Vec<PathBuf>,
        /// Check the files on top of the embedded defaults.
        #[arg(long)]
        with_defaults: bool,
    },
    /// List every field rules can use, with whether it has a value today.
    Fields,
    /// Reload the rules of a running agent (validated first; on error the
    /// agent keeps its rules and the errors are printed).
    Reload {
        /// Rule files to load instead of the configured ones.
        paths: Vec<PathBuf>,
        #[command(flatten)]
        connect: client::Connect,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the default configuration as TOML.
    Defaults,
}

/// Parse arguments and run the chosen command; returns the exit code.
pub fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            init_logging();
            let mut config = match &args.config {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            if let Some(format) = args.output {
                config.output.format = format;
            }
            if let Some(bytes) = args.ring_bytes {
                config.sensor.ring_bytes = bytes;
            }
            config.rules.files.extend(args.rules);
            if args.no_default_rules {
                config.rules.default_rules = false;
            }
            if args.events {
                config.output.events = true;
            }
            config
                .validate()
                .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
            run::run(config)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Check {
            paths,
            with_defaults,
        }) => rules::check(&paths, with_defaults),
        Command::Rules(RulesCommand::Fields) => {
            rules::fields();
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Reload { paths, connect }) => client::reload(&connect, &paths),
        Command::Alerts {
            follow,
            since,
            filter,
            output,
            connect,
        } => client::alerts(&connect, follow, since.as_deref(), filter, output),
        Command::Events {
            filter,
            limit,
            output,
            connect,
        } => client::events(&connect, filter.as_deref(), output, limit),
        Command::Status { output, connect } => client::status(&connect, output),
        Command::Config(ConfigCommand::Defaults) => {
            print!("{}", Config::defaults_toml());
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Logs go to stderr (stdout carries records); `RUST_LOG` filters them.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
