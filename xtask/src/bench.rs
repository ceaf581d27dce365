//! Benchmarks that print figures (never timed assertions).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Which {
    /// Exec storm: fork+exec of /bin/true under the agent; events/s and losses.
    ExecStorm {
        /// Number of fork+exec to run.
        #[arg(long, default_value_t = 10_000)]
        count: u32,
    },
}

pub fn run(which: Which) -> anyhow::Result<()> {
    match which {
        Which::ExecStorm { count } => {
            crate::setup::build_tools()?;
            crate::cargo(&["build", "--release", "--package", "kestrel"])?;
            crate::cargo(&[
                "run",
                "--release",
                "--package",
                "kestrel",
                "--example",
                "exec_storm",
                "--",
                &count.to_string(),
            ])
        }
    }
}
