//! The daemon's loops. Each loop body is a one-step function that tests call
//! directly; the loops only add waiting, cancellation and health reports.
//! A loop returns an error when a step fails: its supervisor logs it, counts
//! it and starts the loop again after a backoff (see [`supervise`]).

pub mod supervise;

pub use crate::schedule::{CronSchedule, JOB_LEASE};

use crate::health::{Health, Part};
use crate::poll::Poller;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the poll loop looks for due accounts.
pub const POLL_TICK: Duration = Duration::from_secs(30);
/// How often the inspection loop looks for a due (or missed) slot.
pub const INSPECTION_TICK: Duration = Duration::from_secs(60);
/// How often the outbox is looked at.
pub const DELIVERY_TICK: Duration = Duration::from_secs(5);
/// How often due reports are looked for.
pub const REPORT_TICK: Duration = Duration::from_secs(60);
/// How far back a missed inspection slot is still caught up.
pub const INSPECTION_CATCH_UP: chrono::Duration = chrono::Duration::days(8);

/// What one poll step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollStep {
    pub polled: usize,
    pub failed: usize,
    /// Results the database did not take.
    pub unsaved: usize,
    pub new_posts: u64,
}

/// Polls what is due once, records metrics and health.
pub async fn poll_step(
    poller: &Poller,
    health: &Health,
    now: DateTime<Utc>,
) -> anyhow::Result<PollStep> {
    let started = std::time::Instant::now();
    let reports = poller.poll_due(now).await?;
    metrics::histogram!("xunjian_poll_cycle_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    let mut step = PollStep {
        polled: reports.len(),
        ..PollStep::default()
    };
    for report in &reports {
        metrics::counter!("xunjian_polls_total", "outcome" => report.outcome.id(), "proxy" => report.source.clone())
            .increment(1);
        if report.is_unsaved {
            step.unsaved += 1;
        }
        if report.outcome.is_failure() || report.is_unsaved {
            step.failed += 1;
        }
        step.new_posts += report.new_posts;
    }
    if step.unsaved > 0 {
        let error = format!("{} 个账号的抓取结果未能写入数据库", step.unsaved);
        health.failed(Part::Database, &error, Utc::now());
    } else if step.polled > 0 {
        health.succeeded(Part::Database, Utc::now());
    }
    Ok(step)
}

/// Polls due accounts until `shutdown` is cancelled.
pub async fn poll_loop(
    poller: Arc<Poller>,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        // Cancelling mid-cycle is safe: each account's result is saved in its own transaction.
        let Some(step) = unless_stopped(&shutdown, poll_step(&poller, &health, Utc::now())).await
        else {
            return Ok(());
        };
        let step = step.context("poll cycle failed")?;
        if step.polled > 0 {
            tracing::info!(
                polled = step.polled,
                failed = step.failed,
                unsaved = step.unsaved,
                new_posts = step.new_posts,
                "poll cycle done"
            );
        }
        if step.unsaved > 0 && step.unsaved == step.polled {
            anyhow::bail!("poll cycle failed: no result could be saved to the database");
        }
        health.succeeded(Part::Poll, Utc::now());
        if !tick_or_stop(&shutdown, POLL_TICK).await {
            return Ok(());
        }
    }
}

/// The latest scheduled inspection slot at or before `now` (within the
/// catch-up window), honouring `workdays_only`.
pub fn latest_inspection_slot(
    schedule: &CronSchedule,
    calendar: &crate::calendar::Calendar,
    is_workdays_only: bool,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut after = now - INSPECTION_CATCH_UP;
    let mut latest = None;
    while let Some(slot) =
        crate::inspection::next_inspection_after(schedule, calendar, is_workdays_only, after)
    {
        if slot > now {
            break;
        }
        latest = Some(slot);
        after = slot;
    }
    latest
}

/// Runs the latest inspection slot that is due and has not run (a slot
/// missed while the daemon or the database was down is caught up once).
/// Claimed in the database, so several daemons run each slot once.
pub async fn run_due_inspection(
    inspector: &crate::inspection::Inspector,
    schedule: &CronSchedule,
    now: DateTime<Utc>,
    owner: &str,
) -> anyhow::Result<Option<(DateTime<Utc>, crate::rules::CheckResult)>> {
    let Some(slot) = latest_inspection_slot(
        schedule,
        &inspector.calendar,
        inspector.settings.inspection.workdays_only,
        now,
    ) else {
        return Ok(None);
    };
    let store = &inspector.store;
    if !store
        .claim_job("inspection", slot, owner, now, JOB_LEASE)
        .await
        .context("while claiming the inspection")?
    {
        return Ok(None);
    }
    match inspector.run_once(now, true).await {
        Ok(result) => {
            store
                .finish_job("inspection", slot, Utc::now())
                .await
                .context("while marking the inspection finished")?;
            Ok(Some((slot, result)))
        }
        Err(err) => {
            // Let the next tick (or another daemon) try this slot again.
            if let Err(release) = store.release_job("inspection", slot, owner).await {
                tracing::error!(error = %release, "cannot release the inspection claim");
            }
            Err(err)
        }
    }
}

/// Runs scheduled inspections until `shutdown` is cancelled; each scheduled
/// time runs once even with several daemons on one database.
pub async fn inspection_loop(
    inspector: Arc<crate::inspection::Inspector>,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let schedule = CronSchedule::parse(&inspector.settings.inspection.cron)
        .map_err(|e| anyhow::anyhow!("inspection.cron is invalid: {e}"))?;
    let owner = owner();
    loop {
        let Some(step) = unless_stopped(
            &shutdown,
            run_due_inspection(&inspector, &schedule, Utc::now(), &owner),
        )
        .await
        else {
            return Ok(());
        };
        if let Some((slot, result)) = step.context("inspection failed")? {
            let s = &result.summary;
            record_verdicts(s);
            tracing::info!(
                slot = %crate::calendar::to_local(slot),
                assessed = s.assessed,
                failed = s.failed,
                unknown = s.unknown,
                "inspection done"
            );
            health.succeeded(Part::Database, Utc::now());
            let max_share = inspector.settings.inspection.max_unmonitored_share;
            match crate::inspection::monitoring_problem(s, max_share) {
                None => health.succeeded(Part::Monitoring, Utc::now()),
                Some(problem) => health.failed(Part::Monitoring, &problem, Utc::now()),
            }
        }
        health.succeeded(Part::Inspection, Utc::now());
        if !tick_or_stop(&shutdown, INSPECTION_TICK).await {
            return Ok(());
        }
    }
}

fn record_verdicts(summary: &crate::rules::Summary) {
    for (verdict, count) in [
        ("qualified", summary.qualified),
        ("failed", summary.failed),
        ("closing", summary.closing),
        ("unknown", summary.unknown),
        ("manual", summary.manual),
    ] {
        metrics::gauge!("xunjian_accounts", "verdict" => verdict).set(count as f64);
    }
}

pub use crate::process::{is_gone, owner};

/// Waits `tick`; false when shutdown came first.
async fn tick_or_stop(shutdown: &CancellationToken, tick: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(tick) => true,
    }
}

/// Runs one step unless shutdown comes first (then the step is dropped).
async fn unless_stopped<T>(
    shutdown: &CancellationToken,
    step: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        _ = shutdown.cancelled() => None,
        out = step => Some(out),
    }
}

/// How long a delivery pass may go on after shutdown begins: the step in
/// flight finishes, then every claim is handed back.
pub const DELIVERY_STOP_GRACE: Duration = Duration::from_secs(8);

/// Delivers the outbox until `shutdown` is cancelled; then finishes the
/// step in flight (within [`DELIVERY_STOP_GRACE`]) and hands back every
/// message this daemon still holds.
pub async fn delivery_loop(
    notifier: crate::notify::Notifier,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let pass = notifier.deliver_until(Utc::now(), &shutdown);
        tokio::pin!(pass);
        let report = tokio::select! {
            report = &mut pass => report.context("delivery failed")?,
            _ = shutdown.cancelled() => {
                let _ = tokio::time::timeout(DELIVERY_STOP_GRACE, &mut pass).await;
                return hand_back(&notifier).await;
            }
        };
        if report.sent + report.retried > 0 {
            tracing::info!(
                sent = report.sent,
                retried = report.retried,
                lost = report.lost,
                "outbox delivered"
            );
        }
        if report.sent > 0 {
            health.succeeded(Part::Database, Utc::now());
        }
        health.succeeded(Part::Delivery, Utc::now());
        if !tick_or_stop(&shutdown, DELIVERY_TICK).await {
            return hand_back(&notifier).await;
        }
    }
}

/// Hands back every message this daemon still holds (at shutdown).
async fn hand_back(notifier: &crate::notify::Notifier) -> anyhow::Result<()> {
    match notifier.store().release_claims(notifier.owner()).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "claimed messages handed back at shutdown"),
        Err(err) => {
            tracing::warn!(error = %err, "cannot hand back the claimed messages at shutdown")
        }
    }
    Ok(())
}

/// Queues due scheduled reports (and catches up missed ones) every minute.
pub async fn report_loop(
    store: crate::storage::Store,
    settings: crate::config::Settings,
    calendar: crate::calendar::Calendar,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let owner = owner();
    loop {
        let Some(step) = unless_stopped(
            &shutdown,
            crate::publish::run_due_reports(&store, &settings, &calendar, Utc::now(), &owner),
        )
        .await
        else {
            return Ok(());
        };
        step.context("scheduled reports failed")?;
        health.succeeded(Part::Reports, Utc::now());
        if !tick_or_stop(&shutdown, REPORT_TICK).await {
            return Ok(());
        }
    }
}

/// Proves the database takes writes, then tells the admins about parts
/// failing for 10 minutes, and their recovery, on a channel that works.
pub async fn watchdog_step(
    notifier: &crate::notify::Notifier,
    store: &crate::storage::Store,
    health: &Health,
    now: DateTime<Utc>,
) {
    match tokio::time::timeout(Duration::from_secs(10), store.write_probe(now)).await {
        Ok(Ok(())) => health.succeeded(Part::Database, now),
        Ok(Err(err)) => health.failed(Part::Database, &format!("写入失败：{err}"), now),
        Err(_) => health.failed(Part::Database, "写入 10 秒未完成", now),
    }
    for announcement in health.announcements(now, chrono::Duration::minutes(10)) {
        let text = health.redact(&announcement.text());
        let channel = notifier.announce_to_admins(&text).await;
        tracing::warn!(channel, message = %text, "told the admins");
    }
}

/// Runs [`watchdog_step`] every 30 s until `shutdown`.
pub async fn watchdog_loop(
    notifier: crate::notify::Notifier,
    store: crate::storage::Store,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        watchdog_step(&notifier, &store, &health, Utc::now()).await;
        if !tick_or_stop(&shutdown, Duration::from_secs(30)).await {
            return Ok(());
        }
    }
}
