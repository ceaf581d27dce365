//! What the API needs from the agent: [`AgentControl`] (status, containers,
//! rules, reload) and the plain data types it returns. The agent implements
//! the trait; the tests use a test implementation (see `tests/`). These
//! types are proto-free; `convert` maps them to the wire.

use crate::alert::record::Priority;

/// One eBPF program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramInfo {
    pub name: String,
    /// "attached", "loaded", "failed", "disabled", ...
    pub state: String,
    pub attach_point: String,
    pub error: Option<String>,
}

/// Agent counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentCounters {
    pub events: u64,
    pub decode_errors: u64,
    /// (cpu, drops).
    pub drops_per_cpu: Vec<(u32, u64)>,
    /// (container id, drops).
    pub drops_per_container: Vec<(String, u64)>,
    /// (queue name, items lost).
    pub queue_losses: Vec<(String, u64)>,
}

/// What `Status` reports (the alert-hub part is filled in by the server).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentStatus {
    pub version: String,
    pub kernel: String,
    pub hostname: String,
    pub uptime_secs: u64,
    pub programs: Vec<ProgramInfo>,
    pub counters: AgentCounters,
}

/// A known container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_digest: String,
    pub runtime: String,
    pub k8s_namespace: String,
    pub k8s_pod: String,
    pub labels: Vec<(String, String)>,
}

/// A loaded rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub name: String,
    pub description: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub source_file: String,
}

/// One problem found while validating rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleErrorInfo {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Result of a reload: on any error the old rules stay in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadOutcome {
    pub ok: bool,
    /// Rules in force after the call.
    pub rules_loaded: u32,
    pub errors: Vec<RuleErrorInfo>,
}

/// Implemented by the agent. Calls may block briefly (they run on a
/// blocking thread); they must not panic on any input.
pub trait AgentControl: Send + Sync {
    fn status(&self) -> AgentStatus;
    fn list_containers(&self) -> Vec<ContainerInfo>;
    fn list_rules(&self) -> Vec<RuleInfo>;
    /// Validates first; on error keeps the current rules and returns the
    /// errors. `paths` empty = the configured rules files.
    fn reload_rules(&self, paths: &[String]) -> ReloadOutcome;
}
