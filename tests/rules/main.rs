//! Rule engine tests on crafted events: the default rules (attacks fire,
//! ordinary workloads stay quiet), Falco's rule files as a compatibility
//! corpus, and parser robustness.

mod default_rules;
mod falco_compat;
mod parser_fuzz;
mod syscall_rules;
