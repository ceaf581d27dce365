//! Alerts: the record a rule match becomes, and the bus that fans alerts
//! out to subscribers with per-subscriber bounded queues and gap reports.

pub mod bus;
pub mod record;
