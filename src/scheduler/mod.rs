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

/// Runs scheduled inspections until `shutdown` is cancelled; each scheduled
/// time runs once even with several daemons on one database.
pub async fn inspection_loop(inspector: crate::inspection::Inspector, shutdown: CancellationToken) {
    let schedule = match CronSchedule::parse(&inspector.settings.inspection.cron) {
        Ok(schedule) => schedule,
        Err(err) => {
            tracing::error!(error = %err, "inspection.cron is invalid; no scheduled inspections");
            return;
        }
    };
    let owner = format!("{}:{}", hostname(), std::process::id());
    let mut after = Utc::now();
    loop {
        let is_workdays_only = inspector.settings.inspection.workdays_only;
        let Some(due) = crate::inspection::next_inspection_after(
            &schedule,
            &inspector.calendar,
            is_workdays_only,
            after,
        ) else {
            tracing::warn!(
                cron = schedule.as_str(),
                "the inspection schedule never fires"
            );
            return;
        };
        tracing::info!(next = %crate::calendar::to_local(due), "next inspection");
        let wait = (due - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        after = due;
        match inspector
            .store
            .claim_job("inspection", due, &owner, Utc::now())
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(err) => {
                tracing::error!(error = %err, "cannot claim the inspection");
                continue;
            }
        }
        match inspector.run_once(Utc::now(), true).await {
            Ok(result) => {
                let s = result.summary;
                tracing::info!(
                    assessed = s.assessed,
                    failed = s.failed,
                    unknown = s.unknown,
                    "inspection done"
                );
            }
            Err(err) => tracing::error!(error = format!("{err:#}"), "inspection failed"),
        }
        if let Err(err) = inspector
            .store
            .finish_job("inspection", due, Utc::now())
            .await
        {
            tracing::error!(error = %err, "cannot mark the inspection finished");
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "xunjian".to_string())
}

/// How often the outbox is looked at.
pub const DELIVERY_TICK: Duration = Duration::from_secs(5);

/// Delivers the outbox until `shutdown` is cancelled.
pub async fn delivery_loop(notifier: crate::notify::Notifier, shutdown: CancellationToken) {
    loop {
        match notifier.deliver_pending(Utc::now()).await {
            Ok(report) if report.sent + report.retried > 0 => {
                tracing::info!(
                    sent = report.sent,
                    retried = report.retried,
                    "outbox delivered"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = format!("{err:#}"), "delivery failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(DELIVERY_TICK) => {}
        }
    }
}

/// Queues due scheduled reports (and catches up missed ones) every minute.
pub async fn report_loop(
    store: crate::storage::Store,
    settings: crate::config::Settings,
    calendar: crate::calendar::Calendar,
    shutdown: CancellationToken,
) {
    let owner = format!("{}:{}", hostname(), std::process::id());
    loop {
        if let Err(err) =
            crate::publish::run_due_reports(&store, &settings, &calendar, Utc::now(), &owner).await
        {
            tracing::error!(error = format!("{err:#}"), "scheduled reports failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}
