//! When things are due, as pure functions of typed values and `now`: cron
//! schedules and the leases of scheduled jobs. No I/O, no settings.
//!
//! In: cron expressions (parsed once). Out: due times.

mod cron;

pub use cron::CronSchedule;

/// A claimed inspection or report whose daemon died is taken over after this.
pub const JOB_LEASE: chrono::Duration = chrono::Duration::hours(1);
