//! Inspections (巡检): poll what is due, evaluate every account, keep a
//! snapshot that reports count from.
//!
//! In: the store, the settings, the calendar, `now`. Out: a [`CheckResult`],
//! stored as an inspection, and its text for people.

use crate::calendar::{Calendar, local_date, to_local};
use crate::config::Settings;
use crate::poll::Poller;
use crate::rules::{CheckInputs, CheckResult, CheckWindow, Severity, Verdict, evaluate_all};
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

    /// The same inspector on another calendar (see [`stored_calendar`]).
    pub fn with_calendar(mut self, calendar: Calendar) -> Inspector {
        self.calendar = calendar;
        self
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
        self.verify_rectification(&result, now)
            .await
            .context("while verifying the 整改 items")?;
        crate::screening::remind_tasks(&self.store, &self.settings, &self.calendar, now)
            .await
            .context("while reminding the 转载任务")?;
        crate::screening::prune_texts(&self.store, &self.settings, now)
            .await
            .context("while forgetting old post texts")?;
        Ok(result)
    }

    /// Moves the 整改 items this inspection has evidence about (已整改,
    /// 逾期未整改) and queues the overdue reminders.
    pub async fn verify_rectification(
        &self,
        result: &CheckResult,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        use crate::rectification::{Change, overdue_messages, verify};
        let open = self.store.rectification_items(None, true).await?;
        if open.is_empty() {
            return Ok(0);
        }
        let changes = verify(&open, result, now);
        if changes.is_empty() {
            return Ok(0);
        }
        let overdue: Vec<&crate::rectification::Item> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Overdue { id, .. } => open.iter().find(|i| i.id == *id),
                Change::Fixed { .. } => None,
            })
            .collect();
        let register = self.store.load_register().await?;
        let messages = overdue_messages(&overdue, &register, &self.settings);
        let changed = self
            .store
            .apply_rectification(&changes, &messages, now)
            .await?;
        tracing::info!(changed, "rectification items verified");
        Ok(changed)
    }

    /// Opens, escalates, resolves and reminds alerts for a check, writing the
    /// grouped messages to the outbox in the same transaction.
    pub async fn decide_alerts(
        &self,
        result: &CheckResult,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<crate::alerts::Event>> {
        use crate::alerts::{Event, candidates, compose, decide, next_send_time, seen};
        let open = self.store.open_alerts().await?;
        let silenced = self.store.silences().await?;
        let remind_every = chrono::Duration::hours(i64::from(self.settings.alerts.remind_hours));
        let events = decide(
            &open,
            &candidates(result),
            &seen(result),
            &silenced,
            remind_every,
            now,
        );
        let register = self.store.load_register().await?;
        let quiet_until = next_send_time(now, &self.settings.alerts, &self.calendar);
        let settings = &self.settings;
        // The messages are rendered inside the transaction that stores the
        // new alerts, so they can show the alerts' numbers.
        let compose = |numbered: &[Event]| {
            // A snoozed subject still records its state, but only recoveries are announced.
            let announced: Vec<Event> = numbered
                .iter()
                .filter(|e| {
                    matches!(e, Event::Resolved { .. })
                        || silenced.get(e.subject()).is_none_or(|until| *until <= now)
                })
                .cloned()
                .collect();
            compose::route(&announced, &register, settings, now)
                .into_iter()
                .map(|m| {
                    let at = if m.is_urgent { now } else { quiet_until };
                    (m, at)
                })
                .collect()
        };
        Ok(self.store.commit_alerts(&events, &compose, now).await?)
    }

    /// Evaluates the register at `now` without storing anything.
    pub async fn evaluate(&self, now: DateTime<Utc>) -> anyhow::Result<CheckResult> {
        let register = self.store.load_register().await?;
        let window = CheckWindow::new(now, &self.calendar, &self.settings.rules);
        // The reads are independent: each on its own pooled connection, so
        // the summaries' scan and the fetch states load at the same time.
        let (summaries, fetch, proxies, registered_at, content) = tokio::try_join!(
            async { Ok::<_, anyhow::Error>(self.store.post_summaries(&window, &register).await?) },
            async { Ok(self.store.fetch_states().await?) },
            async { Ok(self.store.proxy_health().await?) },
            async { Ok(self.store.registered_at().await?) },
            content_inputs(&self.store, &self.settings),
        )?;
        let inputs = CheckInputs {
            summaries: &summaries,
            fetch: &fetch,
            proxies: &proxies,
            registered_at: &registered_at,
            calendar: &self.calendar,
            rules: &self.settings.rules,
            content: &content,
        };
        Ok(evaluate_all(&register, &inputs, now))
    }
}

/// What the content rules need: open findings, open tasks and who did
/// them, and the 拟关停 accounts' 停更公告.
pub async fn content_inputs(
    store: &Store,
    settings: &Settings,
) -> anyhow::Result<crate::rules::ContentInputs> {
    let mut findings: std::collections::HashMap<String, Vec<crate::content::ContentFinding>> =
        std::collections::HashMap::new();
    for f in store.content_findings(true, None).await? {
        findings.entry(f.account_id.clone()).or_default().push(f);
    }
    Ok(crate::rules::ContentInputs {
        findings,
        tasks: store.tasks(false).await?,
        done: store.tasks_done().await?,
        closing: if settings.content.is_enabled {
            store.closing_facts().await?
        } else {
            std::collections::HashMap::new()
        },
        closing_notice_days: settings.content.closing_notice_days,
    })
}

/// The built-in calendar overlaid with `calendar.dir` (the years the
/// database keeps are added by [`stored_calendar`]).
pub fn load_calendar(settings: &Settings) -> anyhow::Result<Calendar> {
    Ok(match &settings.calendar.dir {
        Some(dir) => Calendar::with_dir(dir)?,
        None => Calendar::builtin(),
    })
}

/// The calendar as the daemon and the commands use it: built in, then the
/// years imported with `xunjian holidays import`, then `calendar.dir`;
/// warns when the year of `now` (or, in December, the next) has no data.
pub async fn stored_calendar(
    settings: &Settings,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<Calendar> {
    let calendar = stored_calendar_quiet(settings, store).await?;
    if let Some(warning) = calendar.missing_data_warning(local_date(now)) {
        tracing::warn!("{warning}");
    }
    Ok(calendar)
}

/// [`stored_calendar`] without the warning (`holidays list` prints it itself).
pub async fn stored_calendar_quiet(settings: &Settings, store: &Store) -> anyhow::Result<Calendar> {
    let mut calendar = Calendar::builtin();
    for (year, data, source) in store.holiday_years().await? {
        calendar
            .add_json(&format!("{year} 年（导入自 {source}）"), &data)
            .with_context(|| format!("the stored holidays of {year}"))?;
    }
    if let Some(dir) = &settings.calendar.dir {
        calendar.overlay(&Calendar::from_dir(dir)?);
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
    let rate = crate::reports::render::pass_rate(s.pass_rate);
    let _ = writeln!(
        out,
        "共 {} 个账号参与评定：合格 {}，不合格 {}，正在注销 {}，合格率 {rate}",
        s.assessed, s.qualified, s.failed, s.closing
    );
    if s.unknown > 0 {
        let _ = writeln!(
            out,
            "另有 {} 个账号无法监测，未纳入评定（见下方「无法监测」）",
            s.unknown
        );
    }
    if s.manual > 0 {
        let _ = writeln!(
            out,
            "另有 {} 个账号无订阅来源，由人工检查，未纳入评定（见下方「人工检查」）",
            s.manual
        );
    }
    // Each account once per section; the counts are the verdict counts above.
    let assessed = || result.accounts.iter().filter(|a| a.is_assessed);
    // An account's note (why it could not be judged) stands for it only in
    // the section of its verdict; other sections list findings only.
    let lines = |accounts: Vec<&crate::rules::AccountResult>,
                 severities: &[Severity],
                 is_listing_all: bool| {
        accounts
            .into_iter()
            .filter_map(|a| {
                let parts: Vec<String> = a
                    .findings
                    .iter()
                    .filter(|f| severities.contains(&f.severity))
                    .map(|f| format!("[{}] {}", f.label, f.message))
                    .collect();
                let platform = crate::registry::Platform::from_id(&a.platform)
                    .map_or(a.platform.as_str(), |p| p.label());
                match (parts.is_empty(), &a.note) {
                    (false, _) => Some(format!("  {}", parts.join("；"))),
                    (true, Some(note)) if is_listing_all => {
                        Some(format!("  「{}」({platform})：{note}", a.name))
                    }
                    (true, _) if is_listing_all => Some(format!(
                        "  「{}」({platform})：{}",
                        a.name,
                        a.verdict.label()
                    )),
                    (true, _) => None,
                }
            })
            .collect::<Vec<String>>()
    };
    let sections = [
        (
            "不合格",
            lines(
                assessed()
                    .filter(|a| a.verdict == Verdict::Failed)
                    .collect(),
                &[Severity::Failure],
                true,
            ),
        ),
        (
            "无法监测",
            lines(
                assessed()
                    .filter(|a| a.verdict == Verdict::Unknown)
                    .collect(),
                &[Severity::Unknown],
                true,
            ),
        ),
        (
            "人工检查",
            lines(
                assessed()
                    .filter(|a| a.verdict == Verdict::Manual)
                    .collect(),
                &[],
                true,
            ),
        ),
        (
            "正在注销",
            lines(
                assessed()
                    .filter(|a| a.verdict == Verdict::Closing)
                    .collect(),
                &[Severity::Failure, Severity::Warning, Severity::Unknown],
                true,
            ),
        ),
        (
            "需关注",
            lines(assessed().collect(), &[Severity::Warning], false),
        ),
        (
            "更新预警",
            lines(assessed().collect(), &[Severity::Advisory], false),
        ),
        (
            "已注销账号（不参与评定）",
            lines(
                result.accounts.iter().filter(|a| !a.is_assessed).collect(),
                &[Severity::Failure, Severity::Warning],
                false,
            ),
        ),
    ];
    for (title, lines) in sections {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title}（{}）：", lines.len());
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out.push_str(&crate::screening::check_details(result));
    if !result.findings.is_empty() {
        let _ = writeln!(out, "\n运行提示：");
        for f in &result.findings {
            let _ = writeln!(out, "  [{}] {}", f.label, f.message);
        }
    }
    out
}

/// When the next inspection is due after `after`, honouring `workdays_only`.
pub fn next_inspection_after(
    schedule: &crate::schedule::CronSchedule,
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

/// Why the monitoring check fails: more than `max_share` of the accounts in
/// scope (assessed or 无法监测) could not be judged. `None` when it holds.
pub fn monitoring_problem(summary: &crate::rules::Summary, max_share: f64) -> Option<String> {
    let in_scope = summary.assessed + summary.unknown;
    if in_scope == 0 || summary.unknown == 0 {
        return None;
    }
    let share = summary.unknown as f64 / in_scope as f64;
    (share > max_share).then(|| {
        format!(
            "{} 个账号中 {} 个无法监测（{}，超过 {}）：检查监测代理和抓取失败的原因",
            in_scope,
            summary.unknown,
            crate::reports::render::percent(Some(share)),
            crate::reports::render::percent(Some(max_share))
        )
    })
}
