//! Kestrel's rule engine: loads Falco-compatible rule files (YAML), compiles
//! their conditions against the field catalog, and judges events.
//!
//! The agent uses:
//! * [`default_sources`] / [`RuleSource::from_path`] to gather rule files
//!   (defaults first, then user files; or user files only),
//! * [`load`] to build an [`Engine`] (errors: [`LoadError`], each with
//!   file:line:col), or [`check`] for the `rules check` summary,
//! * [`Engine::evaluate`] on every event (no allocation when nothing
//!   matches), then [`Engine::render`] for each [`Match`] to get an [`Alert`],
//! * [`fields::CATALOG`] for `kestrel rules fields`.

pub mod check;
pub mod compile;
pub mod eval;
pub mod evttypes;
pub mod fdinfo;
pub mod fields;
pub mod lexer;
pub mod load;
pub mod output;
pub mod parser;
pub mod sysargs;
pub mod testing;

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

pub use check::{CheckReport, Summary};
pub use eval::{Engine, HostOpens, Match, RuleInfo, Scratch};

/// A 1-based line and column in a rule file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// An error or warning about a rule file, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub pos: Option<Pos>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(file: &Arc<str>, pos: Option<Pos>, message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            pos,
            message,
        }
    }

    pub fn warning(file: &Arc<str>, pos: Option<Pos>, message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            file: file.to_string(),
            pos,
            message,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.col)?,
            None => write!(f, "{}: ", self.file)?,
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.message)
    }
}

/// Loading failed: every error found (and the warnings so far).
#[derive(Debug, thiserror::Error)]
#[error("{} error(s) in rule files; first: {}", errors.len(), errors.first().map(ToString::to_string).unwrap_or_default())]
pub struct LoadError {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// Falco's priorities, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Informational,
    Debug,
}

impl Priority {
    /// Parses a priority, case-insensitively (`INFO` = `informational`).
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" | "warn" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule file's text and the name used in messages.
#[derive(Clone, Debug)]
pub struct RuleSource {
    pub name: String,
    pub text: String,
}

impl RuleSource {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> RuleSource {
        RuleSource {
            name: name.into(),
            text: text.into(),
        }
    }

    pub fn from_path(path: &std::path::Path) -> std::io::Result<RuleSource> {
        Ok(RuleSource {
            name: path.display().to_string(),
            text: std::fs::read_to_string(path)?,
        })
    }
}

/// The default rule files, embedded in the binary. (In the agent the
/// directory is the repository's top-level `rules/`.)
pub static DEFAULT_RULES: &[(&str, &str)] = &[
    (
        "default_rules/kestrel_macros.yaml",
        include_str!("../../../rules/kestrel_macros.yaml"),
    ),
    (
        "default_rules/kestrel_process.yaml",
        include_str!("../../../rules/kestrel_process.yaml"),
    ),
    (
        "default_rules/kestrel_files.yaml",
        include_str!("../../../rules/kestrel_files.yaml"),
    ),
    (
        "default_rules/kestrel_network.yaml",
        include_str!("../../../rules/kestrel_network.yaml"),
    ),
    (
        "default_rules/kestrel_escape.yaml",
        include_str!("../../../rules/kestrel_escape.yaml"),
    ),
];

/// The default rule files as sources, in load order.
pub fn default_sources() -> Vec<RuleSource> {
    DEFAULT_RULES
        .iter()
        .map(|(n, t)| RuleSource::new(*n, *t))
        .collect()
}

/// A loaded engine with the warnings and summary of the load.
pub struct Loaded {
    pub engine: Engine,
    pub warnings: Vec<Diagnostic>,
    pub summary: Summary,
}

/// Loads rule files in order (later files may append to / override earlier
/// ones) and compiles them. Any error fails the load.
pub fn load(sources: &[RuleSource]) -> Result<Loaded, LoadError> {
    let (engine, diags) = compile::build(sources);
    let (errors, warnings): (Vec<_>, Vec<_>) = diags.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        return Err(LoadError { errors, warnings });
    }
    let summary = Summary::of(&engine, sources);
    Ok(Loaded {
        engine,
        warnings,
        summary,
    })
}

/// Validates rule files without failing: errors, warnings and a summary
/// (for `kestrel rules check`; exit 1 when `errors` is not empty).
pub fn check(sources: &[RuleSource]) -> CheckReport {
    let (engine, diags) = compile::build(sources);
    let (errors, warnings): (Vec<_>, Vec<_>) = diags.into_iter().partition(Diagnostic::is_error);
    CheckReport {
        summary: Summary::of(&engine, sources),
        errors,
        warnings,
    }
}

/// An alert for one matched rule: what the agent emits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub rule: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub source: String,
    /// The rule's output with every `%field` filled in (`<NA>` if absent).
    pub output: String,
    /// Every field the rule's condition and output use, with its value
    /// (`None`: no value).
    pub fields: Vec<(String, Option<String>)>,
}

#[cfg(test)]
mod syscall_tests;
#[cfg(test)]
mod tests;
