//! The daemon's loops. Each loop body is a one-step function that tests call
//! directly; the loops only add waiting and cancellation.

mod cron;

pub use cron::CronSchedule;

use crate::poll::Poller;
use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the poll loop looks for due accounts.
pub const POLL_TICK: Duration = Duration::from_secs(30);

/// Polls due accounts until `shutdown` is cancelled.
pub async fn poll_loop(poller: Poller, shutdown: CancellationToken) {
    loop {
        // Cancelling mid-cycle is safe: each account's result is saved in its own transaction.
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            result = poller.poll_due(Utc::now()) => result,
        };
        match result {
            Ok(reports) if !reports.is_empty() => {
                let failed = reports.iter().filter(|r| r.outcome.is_failure()).count();
                let new_posts: u64 = reports.iter().map(|r| r.new_posts).sum();
                tracing::info!(polled = reports.len(), failed, new_posts, "poll cycle done");
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = format!("{err:#}"), "poll cycle failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(POLL_TICK) => {}
        }
    }
}
