//! Reports on demand and on schedule: load the period's snapshots and posts,
//! build the report, render it, and queue it for the channels.

use crate::alerts::compose::Message;
use crate::calendar::{Calendar, local_date, start_of_day, to_local};
use crate::config::Settings;
use crate::domain::{ChatTarget, FileKind};
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

/// The report of `kind` for `from..=to`: the record when it was issued
/// (the same document however often it is rendered), else a draft built
/// from what is stored.
pub async fn load_report(
    store: &Store,
    calendar: &Calendar,
    kind: ReportKind,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    let key = format!("{}:{from}:{to}", kind.id());
    if let Some(issued) = store.issued_report(&key).await? {
        return serde_json::from_str(&issued.report_json)
            .with_context(|| format!("the issued report {key} cannot be read back"));
    }
    let (start, end) = (start_of_day(from), start_of_day(to + Duration::days(1)));
    let register = store.load_register().await?;
    let inspections = store.snapshots(start, end).await?;
    let previous = store.snapshot_before(start).await?;
    let (posts, _) = store.period_posts(start, end).await?;
    // A week belongs to the period holding its Sunday: its posts may precede `from`.
    let first_monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let (_, post_weeks) = store.period_posts(start_of_day(first_monday), end).await?;
    // 上期通报 is the previous issued report of this kind, if there was one.
    let (issued, previous_title) = match store.previous_issue(kind.id(), from).await? {
        Some((previous_key, title)) => {
            let items = store.report_items(&previous_key).await?;
            (
                Some(crate::rectification::as_rectification(&items, &register)),
                Some(title),
            )
        }
        None => (None, None),
    };
    let content = store.content_findings(false, Some((start, end))).await?;
    let tasks = crate::screening::tasks_due_in(store, &register, from, to).await?;
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
        issued: issued.as_deref(),
        previous_report: previous_title.as_deref(),
        content: &content,
        tasks: &tasks,
    }))
}

/// What `issue_report` did.
#[derive(Debug)]
pub enum Issued {
    /// Issued now: the record, the units notified and the new 整改 items.
    Now {
        report: Box<Report>,
        units_notified: usize,
        new_items: usize,
    },
    /// It had been issued before: the record, unchanged.
    Before(Box<Report>),
}

impl Issued {
    pub fn report(&self) -> &Report {
        match self {
            Issued::Now { report, .. } | Issued::Before(report) => report,
        }
    }
}

/// Issues a monthly or quarterly report: records it (发文字号, date, 整改期限
/// and its problem list), creates one 整改 item per problem not already
/// being rectified, and queues one 整改通知 per unit, in one transaction.
/// `doc_number` overrides the office's template.
pub async fn issue_report(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    report: &Report,
    actor: &str,
    doc_number: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Issued> {
    use crate::rectification::{assign_deadlines, deadline, new_items, notices, report_key};
    if report.issue.is_some() {
        return Ok(Issued::Before(Box::new(report.clone())));
    }
    let what = match ReportKind::from_id(&report.kind) {
        Some(ReportKind::Weekly) => Some("周报"),
        Some(ReportKind::Scoring) => Some("评分表"),
        Some(ReportKind::Annual) => Some("年度统计"),
        _ => None,
    };
    if let Some(what) = what {
        anyhow::bail!(
            "《{}》是{what}，不下发整改：只有月度和季度通报可以下发",
            report.title
        );
    }
    if !report.is_assessable {
        anyhow::bail!("《{}》本期无巡检记录，无法评定，不能下发", report.title);
    }
    let register = store.load_register().await?;
    let issued_on = local_date(now);
    let due = deadline(calendar, issued_on, settings.office.rectification_days);
    let record = report.clone();
    let key = report_key(&record);
    let from =
        NaiveDate::parse_from_str(&record.from, "%Y-%m-%d").context("the report's first day")?;
    let to = NaiveDate::parse_from_str(&record.to, "%Y-%m-%d").context("the report's last day")?;
    let issue = crate::storage::Issue {
        key: &key,
        kind: &record.kind,
        from,
        title: &record.title,
        report_to: to,
        issued_on,
        deadline: due,
        actor,
    };
    let made = std::sync::Mutex::new(None);
    // The open items are read inside the issuing transaction, which one
    // issue at a time holds: two daemons issuing the monthly and the
    // quarterly report at once carry each other's items on, never doubling them.
    let content = |seq: i64, open: &[crate::rectification::Item]| {
        let number = doc_number
            .map(str::to_string)
            .or_else(|| settings.office.doc_number(issued_on.year(), seq));
        let mut issued = record.clone();
        assign_deadlines(&mut issued, open, due);
        issued.generated_at = reports::time_for_people(now);
        issued.issue = Some(reports::IssueRecord {
            doc_number: number.clone(),
            issued_on: issued_on.to_string(),
            deadline: due.to_string(),
            issued_at: reports::time_for_people(now),
            issued_by: actor.to_string(),
        });
        let items = new_items(&issued);
        let messages = notices(&issued, open, issued_on, &register, settings);
        let report_json = serde_json::to_string(&issued).expect("a report always serializes");
        let units = crate::reports::problems::units_named(&issued.problems).len();
        let count = items.len();
        *made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((issued, units, count));
        crate::storage::IssueContent {
            doc_number: number,
            report_json,
            items,
            notices: messages,
        }
    };
    let stored = store.issue_report(&issue, &content, now).await?;
    let made = made
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match (stored, made) {
        (Some(_), Some((issued, units_notified, new_items))) => {
            tracing::info!(report = %key, items = new_items, units = units_notified, deadline = %due, "report issued, rectification notices queued");
            Ok(Issued::Now {
                report: Box::new(issued),
                units_notified,
                new_items,
            })
        }
        _ => {
            // Issued by someone else meanwhile: theirs is the record.
            let again = store
                .issued_report(&key)
                .await?
                .map(|r| serde_json::from_str::<Report>(&r.report_json))
                .transpose()?
                .unwrap_or(record);
            Ok(Issued::Before(Box::new(again)))
        }
    }
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

/// Queues a report: text + .docx + XLSX + chart to each contacts group
/// (Telegram, DingTalk, Feishu), text (and the documents, for WeCom) to the
/// robots, the console when nothing is configured.
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
        batch.push((Message::plain(&chat, &text), files.clone()));
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
    let report = if matches!(kind, ReportKind::Monthly | ReportKind::Quarterly) {
        issue_report(store, settings, calendar, &report, "定时任务", None, now)
            .await?
            .report()
            .clone()
    } else {
        report
    };
    queue_report_finishing(store, settings, calendar, &report, Some((&job, due)), now).await?;
    tracing::info!(kind = kind.id(), due = %to_local(due), "scheduled report queued");
    Ok(true)
}
