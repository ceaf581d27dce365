//! `kestrel run`: see [`crate::daemon`].

pub use crate::daemon::run;
