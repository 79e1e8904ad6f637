//! Reports on demand and on schedule: load the period's snapshots and posts,
//! build the report, render it, and queue it for the channels.

use crate::alerts::compose::Message;
use crate::calendar::{Calendar, local_date, start_of_day, to_local};
use crate::config::Settings;
use crate::domain::{Channel, ChatTarget, FileKind};
use crate::reports::{self, Report, ReportInput, ReportKind, chart, docx, render, xlsx};
use crate::schedule::CronSchedule;
use crate::storage::{Attachment, Store};
use anyhow::Context as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};

/// Output formats of `xunjian report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Md,
    Json,
    Xlsx,
    Png,
    /// The 通报 as a Word document (党政机关公文格式).
    Docx,
}

/// Builds the report of `kind` for `from..=to` from what is stored.
pub async fn load_report(
    store: &Store,
    calendar: &Calendar,
    kind: ReportKind,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    let (start, end) = (start_of_day(from), start_of_day(to + Duration::days(1)));
    let register = store.load_register().await?;
    let inspections = store.snapshots(start, end).await?;
    let previous = store.snapshot_before(start).await?;
    let (posts, _) = store.period_posts(start, end).await?;
    // A week belongs to the period holding its Sunday: its posts may precede `from`.
    let first_monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let (_, post_weeks) = store.period_posts(start_of_day(first_monday), end).await?;
    let items = store.previous_rectification(kind.id(), from).await?;
    let issued = crate::rectification::as_rectification(&items, &register);
    Ok(reports::build(&ReportInput {
        kind,
        from,
        to,
        register: &register,
        inspections: &inspections,
        previous: previous.as_ref(),
        posts: &posts,
        post_weeks: &post_weeks,
        calendar,
        generated_at: now,
        issued: Some(&issued),
    }))
}

/// Issues a report: records its 整改 items with their deadline and queues one
/// 整改通知 per unit with problems, in one transaction. False when it was
/// issued before (or has nothing to rectify).
pub async fn issue_report(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    report: &Report,
    actor: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    use crate::rectification::{deadline, new_items, notices, report_key};
    if !report.is_assessable {
        return Ok(false);
    }
    let register = store.load_register().await?;
    let items = new_items(report, &register);
    if items.is_empty() {
        return Ok(false);
    }
    let due = deadline(
        calendar,
        local_date(now),
        settings.office.rectification_days,
    );
    let messages = notices(&items, &report.title, due, &register, settings);
    let key = report_key(report);
    let issue = crate::storage::Issue {
        key: &key,
        title: &report.title,
        report_to: NaiveDate::parse_from_str(&report.to, "%Y-%m-%d")
            .context("the report's last day")?,
        deadline: due,
        actor,
    };
    let issued = store
        .issue_rectification(&issue, &items, &messages, now)
        .await?;
    if issued {
        tracing::info!(report = %key, items = items.len(), deadline = %due, "rectification notices queued");
    }
    Ok(issued)
}

/// Renders a report in one format; the calendar counts the 整改期限 of the .docx.
pub fn render_bytes(
    report: &Report,
    format: Format,
    settings: &Settings,
    calendar: &Calendar,
) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        Format::Text => render::text(report).into_bytes(),
        Format::Md => render::markdown(report).into_bytes(),
        Format::Json => serde_json::to_vec_pretty(report)?,
        Format::Xlsx => xlsx::workbook(report).context("while writing the XLSX")?,
        Format::Png => chart::png(report, &settings.reports.font)?,
        Format::Docx => docx_bytes(report, settings, calendar)?,
    })
}

/// The 通报 as .docx bytes, issued by `[office]`.
pub fn docx_bytes(
    report: &Report,
    settings: &Settings,
    calendar: &Calendar,
) -> anyhow::Result<Vec<u8>> {
    let issue = docx::Issue::new(report, &settings.office, calendar);
    docx::document(report, &issue).context("while writing the .docx")
}

/// [`attachments`] rendered on a blocking thread: the .docx, XLSX and PNG
/// are CPU work that must not hold up the async workers (the bots, delivery).
pub async fn render_attachments(
    report: &Report,
    settings: &Settings,
    calendar: &Calendar,
) -> anyhow::Result<Vec<Attachment>> {
    let (report, settings, calendar) = (report.clone(), settings.clone(), calendar.clone());
    tokio::task::spawn_blocking(move || attachments(&report, &settings, &calendar))
        .await
        .context("while rendering the report's files")?
}

/// The 通报 (.docx), spreadsheet and chart of a report as attachments.
pub fn attachments(
    report: &Report,
    settings: &Settings,
    calendar: &Calendar,
) -> anyhow::Result<Vec<Attachment>> {
    let stem = format!("xunjian-{}-{}-{}", report.kind, report.from, report.to);
    let mut files = vec![
        Attachment {
            name: format!("{stem}.docx"),
            kind: FileKind::Document,
            data: docx_bytes(report, settings, calendar)?,
        },
        Attachment {
            name: format!("{stem}.xlsx"),
            kind: FileKind::Document,
            data: xlsx::workbook(report).context("while writing the XLSX")?,
        },
    ];
    match chart::png(report, &settings.reports.font) {
        Ok(png) => files.push(Attachment {
            name: format!("{stem}.png"),
            kind: FileKind::Photo,
            data: png,
        }),
        Err(err) => tracing::error!(error = %err, "the report goes out without its chart"),
    }
    Ok(files)
}

/// Queues a report: text + .docx + XLSX + chart to the contacts chat, text
/// (and the documents, for WeCom) to the robots, the console when nothing is configured.
pub async fn queue_report(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    report: &Report,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    queue_report_finishing(store, settings, calendar, report, None, now).await
}

/// [`queue_report`], marking `job` finished in the same transaction.
async fn queue_report_finishing(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    report: &Report,
    job: Option<(&str, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let text = render::text(report);
    let files = render_attachments(report, settings, calendar).await?;
    let mut batch: Vec<(Message, Vec<Attachment>)> = Vec::new();
    for chat in settings.contacts_chats() {
        // The DingTalk and Feishu bots send text only.
        let files = if chat.channel == Channel::Telegram {
            files.clone()
        } else {
            Vec::new()
        };
        batch.push((Message::plain(&chat, &text), files));
    }
    for (name, robot) in &settings.robots {
        let message = Message::plain(&ChatTarget::robot(name), &text);
        // WeCom robots can carry the documents (.docx and XLSX) too.
        let documents: Vec<Attachment> = if robot.kind.takes_files() {
            files
                .iter()
                .filter(|f| f.kind == FileKind::Document)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        batch.push((message, documents));
    }
    if batch.is_empty() {
        batch.push((Message::plain(&ChatTarget::console(), &text), Vec::new()));
    }
    store.enqueue_all(&batch, job, now).await?;
    Ok(())
}

/// The most recent scheduled time of each report kind at or before `now`.
pub fn latest_due(
    settings: &Settings,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Vec<(ReportKind, DateTime<Utc>)> {
    let mut due = Vec::new();
    for (kind, cron) in [
        (ReportKind::Weekly, &settings.reports.weekly_cron),
        (ReportKind::Monthly, &settings.reports.monthly_cron),
    ] {
        if cron.trim().is_empty() {
            continue;
        }
        let Ok(schedule) = CronSchedule::parse(cron) else {
            continue;
        };
        // Look back far enough for a monthly schedule.
        if let Some(last) = schedule.between(now - Duration::days(40), now).last() {
            due.push((kind, *last));
        }
    }
    if let Ok(time) = NaiveTime::parse_from_str(&settings.reports.quarterly_time, "%H:%M") {
        let today = local_date(now);
        for back in 0..2 {
            let months_back = chrono::Months::new(3 * back);
            let Some(anchor) = today.checked_sub_months(months_back) else {
                continue;
            };
            let quarter_start =
                NaiveDate::from_ymd_opt(anchor.year(), (anchor.month() - 1) / 3 * 3 + 1, 1)
                    .expect("valid");
            let mut day = quarter_start;
            while !calendar.is_workday(day) {
                day = day.succ_opt().unwrap_or(day);
            }
            let at = start_of_day(day) + (time - NaiveTime::MIN);
            if at <= now {
                due.push((ReportKind::Quarterly, at));
                break;
            }
        }
    }
    due
}

/// Runs every scheduled report that is due and has not run (caught up on
/// start, claimed in the database so several daemons run each once).
pub async fn run_due_reports(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    now: DateTime<Utc>,
    owner: &str,
) -> anyhow::Result<Vec<(ReportKind, DateTime<Utc>)>> {
    let mut ran = Vec::new();
    for (kind, due) in latest_due(settings, calendar, now) {
        let job = format!("report:{}", kind.id());
        if !store
            .claim_job(&job, due, owner, now, crate::schedule::JOB_LEASE)
            .await?
        {
            continue;
        }
        match run_claimed_report(store, settings, calendar, kind, due, now).await {
            Ok(true) => ran.push((kind, due)),
            Ok(false) => {}
            Err(err) => {
                // Let the next tick (or another daemon) try this report again.
                if let Err(release) = store.release_job(&job, due, owner).await {
                    tracing::error!(error = %release, "cannot release the report claim");
                }
                return Err(err);
            }
        }
    }
    Ok(ran)
}

/// Builds and queues one claimed scheduled report; false when skipped.
async fn run_claimed_report(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    kind: ReportKind,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let job = format!("report:{}", kind.id());
    let (from, to) = kind.previous_period(local_date(due));
    let report = load_report(store, calendar, kind, from, to, now).await?;
    if !report.is_assessable {
        // No inspection ran in the period (a fresh install catching up, or a
        // daemon that was down): a 通报 that cannot judge anything is not sent.
        store.finish_job(&job, due, now).await?;
        tracing::warn!(kind = kind.id(), %from, %to, "scheduled report skipped: no inspection in its period");
        return Ok(false);
    }
    let problems = reports::reconcile::discrepancies(&report);
    if !problems.is_empty() {
        tracing::error!(kind = kind.id(), problems = %problems.join("；"), "the report does not add up");
    }
    // Issuing is idempotent per report, so it goes first: a crash before the
    // report is queued runs the job again without sending the notices twice.
    if matches!(kind, ReportKind::Monthly | ReportKind::Quarterly) {
        issue_report(store, settings, calendar, &report, "schedule", now).await?;
    }
    queue_report_finishing(store, settings, calendar, &report, Some((&job, due)), now).await?;
    tracing::info!(kind = kind.id(), due = %to_local(due), "scheduled report queued");
    Ok(true)
}
