//! The client side of the CLI: `alerts`, `events`, `status`, `rules
//! reload`, talking to a running agent over its unix socket (default) or
//! TCP with TLS.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::api::client::{self, AlertsArgs, ClientTls, OutputFormat, Target, parse_since};

/// Where the agent listens.
#[derive(Debug, clap::Args)]
pub struct Connect {
    /// The agent's unix socket.
    #[arg(long, default_value = crate::api::server::DEFAULT_SOCKET, global = true)]
    pub socket: PathBuf,
    /// Connect over TCP+TLS instead, e.g. `https://node-3:7443`.
    #[arg(long, global = true)]
    pub addr: Option<String>,
    /// CA certificate (PEM) that signed the agent's certificate.
    #[arg(long, global = true, requires = "addr")]
    pub ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for mTLS.
    #[arg(long, global = true, requires = "key")]
    pub cert: Option<PathBuf>,
    #[arg(long, global = true, requires = "cert")]
    pub key: Option<PathBuf>,
}

impl Connect {
    pub fn target(&self) -> anyhow::Result<Target> {
        let Some(uri) = &self.addr else {
            return Ok(Target::Unix(self.socket.clone()));
        };
        let read =
            |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let ca_pem = match &self.ca {
            Some(p) => read(p)?,
            None => anyhow::bail!("--addr needs --ca (the CA of the agent's certificate)"),
        };
        let identity = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            _ => None,
        };
        Ok(Target::Tcp {
            uri: uri.clone(),
            tls: ClientTls {
                ca_pem,
                domain: None,
                identity,
            },
        })
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

impl From<Format> for OutputFormat {
    fn from(f: Format) -> OutputFormat {
        match f {
            Format::Text => OutputFormat::Text,
            Format::Json => OutputFormat::Json,
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

/// `kestrel alerts`.
pub fn alerts(
    connect: &Connect,
    follow: bool,
    since: Option<&str>,
    filter: Option<String>,
    output: Format,
) -> anyhow::Result<std::process::ExitCode> {
    let target = connect.target()?;
    let args = AlertsArgs {
        follow,
        since: since
            .map(parse_since)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
        filter,
        output: output.into(),
        colour: std::io::IsTerminal::is_terminal(&std::io::stdout()),
        ..AlertsArgs::default()
    };
    let mut out = std::io::stdout();
    runtime()?.block_on(client::alerts(&target, &args, &mut out))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// `kestrel events`.
pub fn events(
    connect: &Connect,
    filter: Option<&str>,
    output: Format,
    limit: Option<u64>,
) -> anyhow::Result<std::process::ExitCode> {
    let target = connect.target()?;
    let mut out = std::io::stdout();
    runtime()?.block_on(client::events(
        &target,
        filter,
        output.into(),
        limit,
        &mut out,
    ))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// `kestrel status`.
pub fn status(connect: &Connect, output: Format) -> anyhow::Result<std::process::ExitCode> {
    let target = connect.target()?;
    let mut out = std::io::stdout();
    runtime()?.block_on(client::status(&target, output.into(), &mut out))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// `kestrel rules reload`.
pub fn reload(connect: &Connect, paths: &[PathBuf]) -> anyhow::Result<std::process::ExitCode> {
    let target = connect.target()?;
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut out = std::io::stdout();
    let ok = runtime()?.block_on(client::rules_reload(&target, &paths, &mut out))?;
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
