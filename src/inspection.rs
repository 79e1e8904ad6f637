//! Inspections (巡检): poll what is due, evaluate every account, keep a
//! snapshot that reports count from.
//!
//! In: the store, the settings, the calendar, `now`. Out: a [`CheckResult`],
//! stored as an inspection, and its text for people.

use crate::calendar::{Calendar, local_date, to_local};
use crate::config::Settings;
use crate::poll::Poller;
use crate::rules::{CheckInputs, CheckResult, CheckWindow, Severity, evaluate_all};
use crate::storage::Store;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// Runs inspections.
pub struct Inspector {
    pub store: Store,
    pub settings: Settings,
    pub calendar: Calendar,
    poller: std::sync::Arc<Poller>,
}

impl Inspector {
    pub fn new(store: Store, settings: Settings) -> anyhow::Result<Inspector> {
        let poller = std::sync::Arc::new(Poller::new(&settings, store.clone())?);
        Inspector::with_poller(store, settings, poller)
    }

    /// An inspector that polls with `poller` (the daemon's one poller, shared
    /// with the poll loop, so the per-proxy caps hold for both).
    pub fn with_poller(
        store: Store,
        settings: Settings,
        poller: std::sync::Arc<Poller>,
    ) -> anyhow::Result<Inspector> {
        let calendar = load_calendar(&settings)?;
        Ok(Inspector {
            store,
            settings,
            calendar,
            poller,
        })
    }

    /// One inspection at `now`: poll what is due (unless `is_polling` is
    /// false), evaluate, store the snapshot.
    pub async fn run_once(
        &self,
        now: DateTime<Utc>,
        is_polling: bool,
    ) -> anyhow::Result<CheckResult> {
        if is_polling {
            self.poller
                .poll_due(now)
                .await
                .context("while polling before the inspection")?;
        }
        let result = self.evaluate(now).await?;
        self.store
            .save_inspection(&result, now)
            .await
            .context("while saving the inspection")?;
        self.decide_alerts(&result, now)
            .await
            .context("while deciding the alerts")?;
        Ok(result)
    }

    /// Opens, escalates, resolves and reminds alerts for a check, writing the
    /// grouped messages to the outbox in the same transaction.
    pub async fn decide_alerts(
        &self,
        result: &CheckResult,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<crate::alerts::Event>> {
        use crate::alerts::{Event, candidates, compose, decide, next_send_time};
        let open = self.store.open_alerts().await?;
        let silenced = self.store.silences().await?;
        let remind_every = chrono::Duration::hours(i64::from(self.settings.alerts.remind_hours));
        let events = decide(&open, &candidates(result), &silenced, remind_every, now);
        // A snoozed subject still records its state, but only recoveries are announced.
        let announced: Vec<Event> = events
            .iter()
            .filter(|e| {
                matches!(e, Event::Resolved { .. })
                    || silenced.get(e.subject()).is_none_or(|until| *until <= now)
            })
            .cloned()
            .collect();
        let register = self.store.load_register().await?;
        let quiet_until = next_send_time(now, &self.settings.alerts, &self.calendar);
        let messages: Vec<_> = compose::route(&announced, &register, &self.settings, now)
            .into_iter()
            .map(|m| {
                let at = if m.is_urgent { now } else { quiet_until };
                (m, at)
            })
            .collect();
        self.store.commit_alerts(&events, &messages, now).await?;
        Ok(events)
    }

    /// Evaluates the register at `now` without storing anything.
    pub async fn evaluate(&self, now: DateTime<Utc>) -> anyhow::Result<CheckResult> {
        let register = self.store.load_register().await?;
        let window = CheckWindow::new(now, &self.calendar, &self.settings.rules);
        let summaries = self.store.post_summaries(&window, &register).await?;
        let fetch = self.store.fetch_states().await?;
        let proxies = self.store.proxy_health().await?;
        let registered_at = self.store.registered_at().await?;
        let inputs = CheckInputs {
            summaries: &summaries,
            fetch: &fetch,
            proxies: &proxies,
            registered_at: &registered_at,
            calendar: &self.calendar,
            rules: &self.settings.rules,
        };
        Ok(evaluate_all(&register, &inputs, now))
    }
}

/// The built-in calendar, overlaid with `calendar.dir`; warns loudly when the
/// current (or, in December, the next) year has no data.
pub fn load_calendar(settings: &Settings) -> anyhow::Result<Calendar> {
    let calendar = match &settings.calendar.dir {
        Some(dir) => Calendar::with_dir(dir)?,
        None => Calendar::builtin(),
    };
    if let Some(warning) = calendar.missing_data_warning(local_date(Utc::now())) {
        tracing::warn!("{warning}");
    }
    Ok(calendar)
}

/// A check as text for people (the `check` command, the console).
pub fn render_text(result: &CheckResult) -> String {
    let mut out = String::new();
    let s = &result.summary;
    let checked = DateTime::parse_from_rfc3339(&result.checked_at)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| result.checked_at.clone());
    let _ = writeln!(out, "巡检时间 {checked}");
    let rate = s
        .pass_rate
        .map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0));
    let _ = writeln!(
        out,
        "共 {} 个账号：合格 {}，不合格 {}，正在注销 {}，无法监测 {}，合格率 {rate}",
        s.assessed, s.qualified, s.failed, s.closing, s.unknown
    );
    let sections = [
        ("不合格", Severity::Failure),
        ("无法监测", Severity::Unknown),
        ("需关注", Severity::Warning),
        ("更新预警", Severity::Advisory),
    ];
    for (title, severity) in sections {
        let lines: Vec<String> = result
            .accounts
            .iter()
            .flat_map(|a| a.findings.iter().filter(|f| f.severity == severity))
            .map(|f| format!("  [{}] {}", f.rule.label(), f.message))
            .collect();
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title}（{}）：", lines.len());
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    let notes: Vec<String> = result
        .accounts
        .iter()
        .filter_map(|a| a.note.as_ref().map(|n| format!("  {}：{n}", a.name)))
        .collect();
    if !result.findings.is_empty() || !notes.is_empty() {
        let _ = writeln!(out, "\n运行提示：");
        for f in &result.findings {
            let _ = writeln!(out, "  [{}] {}", f.rule.label(), f.message);
        }
        for note in notes {
            let _ = writeln!(out, "{note}");
        }
    }
    out
}

/// When the next inspection is due after `after`, honouring `workdays_only`.
pub fn next_inspection_after(
    schedule: &crate::scheduler::CronSchedule,
    calendar: &Calendar,
    is_workdays_only: bool,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut t = after;
    for _ in 0..1000 {
        let next = schedule.next_after(t)?;
        if !is_workdays_only || calendar.is_workday(to_local(next).date_naive()) {
            return Some(next);
        }
        t = next;
    }
    None
}
