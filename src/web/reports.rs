//! `/reports`: the periods and the issued 通报; a report's text, its .docx,
//! XLSX and chart; an admin issues one after a confirmation page (the same
//! calls as `/issue` and `report --issue`).

use super::layout::{self, csrf, time};
use super::{Console, PageResult, Viewer, WebError, actor};
use crate::publish::Format;
use crate::reports::{ReportKind, parse_period};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{Datelike, Duration, NaiveDate};
use maud::html;
use std::sync::Arc;

#[derive(Debug, serde::Deserialize)]
pub struct Which {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    format: String,
}

/// The kind and dates a query names, or why not (in Chinese).
fn period_of(
    which: &Which,
    today: NaiveDate,
) -> Result<(ReportKind, NaiveDate, NaiveDate), WebError> {
    let kind = ReportKind::from_id(&which.kind).ok_or_else(|| {
        WebError::BadRequest("通报种类应为 weekly、monthly、quarterly、scoring 或 annual。".into())
    })?;
    let period = Some(which.period.trim()).filter(|p| !p.is_empty());
    let (from, to) = parse_period(kind, period, None, None, today).map_err(|why| {
        WebError::BadRequest(format!("期间无效：{}", why.replace("--period ", "")))
    })?;
    Ok((kind, from, to))
}

/// A contact reads the 通报 as issued (sent to every unit), not drafts.
async fn may_read(
    console: &Console,
    viewer: &Viewer,
    kind: ReportKind,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), WebError> {
    if viewer.is_admin() {
        return Ok(());
    }
    let key = format!("{}:{from}:{to}", kind.id());
    match console.store.issued_report(&key).await? {
        Some(_) => Ok(()),
        None => Err(WebError::NotFound),
    }
}

/// The report a query names, if the viewer may read it.
async fn readable(
    console: &Console,
    viewer: &Viewer,
    which: &Which,
) -> Result<(ReportKind, NaiveDate, NaiveDate, crate::reports::Report), WebError> {
    let now = console.now();
    let (kind, from, to) = period_of(which, crate::calendar::local_date(now))?;
    may_read(console, viewer, kind, from, to).await?;
    let report =
        crate::publish::load_report(&console.store, &console.calendar, kind, from, to, now).await?;
    Ok((kind, from, to, report))
}

/// The recent periods of each kind, newest first: (kind, period text, label).
fn periods(today: NaiveDate) -> Vec<(ReportKind, String, String)> {
    let mut out = Vec::new();
    let mut month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    for _ in 0..7 {
        out.push((
            ReportKind::Monthly,
            month.format("%Y-%m").to_string(),
            format!("{}年{}月", month.year(), month.month()),
        ));
        month = (month - Duration::days(1)).with_day(1).unwrap_or(month);
    }
    let (mut year, mut quarter) = (today.year(), (today.month() - 1) / 3 + 1);
    for _ in 0..5 {
        out.push((
            ReportKind::Quarterly,
            format!("{year}-Q{quarter}"),
            format!("{year}年第{quarter}季度"),
        ));
        if quarter == 1 {
            (year, quarter) = (year - 1, 4);
        } else {
            quarter -= 1;
        }
    }
    let mut day = today;
    for _ in 0..6 {
        let week = day.iso_week();
        out.push((
            ReportKind::Weekly,
            format!("{}-W{:02}", week.year(), week.week()),
            format!("{}年第{}周", week.year(), week.week()),
        ));
        day -= Duration::days(7);
    }
    for year in [today.year(), today.year() - 1] {
        out.push((ReportKind::Annual, year.to_string(), format!("{year}年度")));
        out.push((
            ReportKind::Scoring,
            year.to_string(),
            format!("{year}年考核评分表"),
        ));
    }
    out
}

fn kind_label(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Weekly => "周报",
        ReportKind::Monthly => "月度通报",
        ReportKind::Quarterly => "季度通报",
        ReportKind::Scoring => "考核评分表",
        ReportKind::Annual => "年度",
    }
}

pub async fn page(State(console): State<Arc<Console>>, viewer: Viewer) -> PageResult {
    let today = crate::calendar::local_date(console.now());
    let issued = console.store.issued_reports().await?;
    let body = html! {
        h1 { "通报" }
        h2 { "已下发（" (issued.len()) "）" }
        @if issued.is_empty() { p.muted { "尚未下发通报。" } } @else {
            div.scroll { table #issued {
                thead { tr { th { "通报" } th { "发文字号" } th { "下发时间" } th { "下发人" } th { "查看与下载" } } }
                tbody { @for (kind, from, _to, title, number, at, by) in &issued {
                    @let period = period_text(kind, *from);
                    tr {
                        td { (title) }
                        td { (number.as_deref().unwrap_or("—")) }
                        td { (time(*at)) }
                        td { (crate::domain::person_of(by)) }
                        td { (links(kind, &period)) }
                    }
                } }
            } }
        }
        @if viewer.is_admin() {
        h2 { "各期间" }
        p.muted { "未下发的为草稿；单位联系人只能看到已下发的通报。" }
        div.scroll { table #periods {
            thead { tr { th { "种类" } th { "期间" } th { "查看与下载" } @if viewer.is_admin() { th { "下发" } } } }
            tbody { @for (kind, period, label) in periods(today) {
                tr {
                    td { (kind_label(kind)) }
                    td { (label) }
                    td { (links(kind.id(), &period)) }
                    @if viewer.is_admin() { td {
                        @if issued.iter().any(|i| i.0 == kind.id() && period_text(&i.0, i.1) == period) {
                            span.tag.ok { "已下发" }
                        } @else if matches!(kind, ReportKind::Monthly | ReportKind::Quarterly) {
                            a href={ "/reports/issue?kind=" (kind.id()) "&period=" (period) } { "下发…" }
                        }
                    } }
                }
            } }
        } }
        }
    };
    Ok(layout::page(&viewer, "/reports", "通报", body))
}

/// The period text `parse_period` reads back for an issued report.
fn period_text(kind: &str, from: NaiveDate) -> String {
    match kind {
        "monthly" => from.format("%Y-%m").to_string(),
        "quarterly" => format!("{}-Q{}", from.year(), (from.month() - 1) / 3 + 1),
        "weekly" => {
            let week = from.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        _ => from.year().to_string(),
    }
}

fn links(kind: &str, period: &str) -> maud::Markup {
    let q = format!("kind={kind}&period={period}");
    html! {
        span.acts {
            a href={ "/reports/view?" (q) } { "查看" }
            a href={ "/reports/file?" (q) "&format=docx" } class="docx" { ".docx" }
            a href={ "/reports/file?" (q) "&format=xlsx" } { "XLSX" }
            a href={ "/reports/file?" (q) "&format=png" } { "图表" }
        }
    }
}

pub async fn view(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(which): Query<Which>,
) -> PageResult {
    let (kind, from, _, report) = readable(&console, &viewer, &which).await?;
    let text = crate::reports::render::text(&report);
    let period = period_text(kind.id(), from);
    let body = html! {
        h1 { (report.title) }
        p { (links(kind.id(), &period)) }
        pre.report #report { (text) }
    };
    Ok(layout::page(&viewer, "/reports", &report.title, body))
}

pub async fn file(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(which): Query<Which>,
) -> PageResult {
    let (format, mime) = match which.format.as_str() {
        "docx" => (
            Format::Docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "xlsx" => (
            Format::Xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "png" => (Format::Png, "image/png"),
        "md" => (Format::Md, "text/markdown; charset=utf-8"),
        "json" => (Format::Json, "application/json"),
        _ => {
            return Err(WebError::BadRequest(
                "文件格式应为 docx、xlsx、png、md 或 json。".into(),
            ));
        }
    };
    let (kind, from, to, report) = readable(&console, &viewer, &which).await?;
    let (settings, calendar) = (console.settings.clone(), console.calendar.clone());
    let bytes = tokio::task::spawn_blocking(move || {
        crate::publish::render_bytes(&report, format, &settings, &calendar)
    })
    .await??;
    let name = format!("xunjian-{}-{from}-{to}.{}", kind.id(), which.format);
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The confirmation step: what issuing will do.
pub async fn confirm(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(which): Query<Which>,
) -> PageResult {
    viewer.require_admin()?;
    let now = console.now();
    let (kind, from, to) = period_of(&which, crate::calendar::local_date(now))?;
    if !matches!(kind, ReportKind::Monthly | ReportKind::Quarterly) {
        return Err(WebError::BadRequest("只有月度和季度通报可以下发。".into()));
    }
    let key = format!("{}:{from}:{to}", kind.id());
    let before = console.store.issued_report(&key).await?;
    let report =
        crate::publish::load_report(&console.store, &console.calendar, kind, from, to, now).await?;
    let units = crate::reports::problems::units_named(&report.problems).len();
    let body = html! {
        h1 { "下发《" (report.title) "》" }
        @if let Some(issued) = &before {
            p #already { "此通报此前已下发" @if let Some(n) = &issued.doc_number { "（" (n) "）" } "，不会重复下发。" }
            p { a href={ "/reports/view?kind=" (kind.id()) "&period=" (which.period) } { "查看已下发的通报" } }
        } @else if !report.is_assessable {
            p { "本期无巡检记录，无法评定，不能下发。" }
        } @else {
            p { "合格率 " (crate::reports::render::pass_rate(report.summary.pass_rate)) "；附件1 列出问题账号 " strong #problems { (report.problems.len()) } " 个，涉及 " strong #units { (units) } " 个单位。" }
            p { "下发将：记录下发日期和发文字号（下方填写，留空则按设置生成，设置为空则不编号）；按办公室设置计算整改期限；把通报（.docx、XLSX、图表）发往联系人群；向每个涉及的单位发送整改通知，并建立整改事项。此操作不能撤回。" }
            @if to >= crate::calendar::local_date(now) {
                div.note #unfinished { "注意：本期尚未结束（至 " (to) "），现在下发的是截至今天的通报，下发后不再更新。" }
            }
            form method="post" action="/reports/issue" {
                (csrf(&viewer))
                input type="hidden" name="kind" value=(kind.id());
                input type="hidden" name="period" value=(which.period);
                p { label { "发文字号 " input type="text" name="doc_number" maxlength="60" placeholder="留空则按设置 office.doc_number 生成"; } }
                button type="submit" #confirm { "确认下发" }
                " "
                a href="/reports" { "取消" }
            }
        }
    };
    Ok(layout::page(&viewer, "/reports", "下发通报", body))
}

#[derive(serde::Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    period: String,
    /// 发文字号; empty: `office.doc_number`.
    #[serde(default)]
    doc_number: String,
}

pub async fn issue(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    axum::Form(form): axum::Form<IssueForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let now = console.now();
    let number = crate::parse::truncate(form.doc_number.trim(), 60);
    let which = Which {
        kind: form.kind,
        period: form.period,
        format: String::new(),
    };
    let (kind, from, to) = period_of(&which, crate::calendar::local_date(now))?;
    if !matches!(kind, ReportKind::Monthly | ReportKind::Quarterly) {
        return Err(WebError::BadRequest("只有月度和季度通报可以下发。".into()));
    }
    let (store, settings, calendar) = (&console.store, &console.settings, &console.calendar);
    let report = crate::publish::load_report(store, calendar, kind, from, to, now).await?;
    if !report.is_assessable {
        return Err(WebError::BadRequest(format!(
            "《{}》本期无巡检记录，无法评定，未下发。",
            report.title
        )));
    }
    let issued = crate::publish::issue_report(
        store,
        settings,
        calendar,
        &report,
        &actor(&viewer.signin),
        Some(number.as_str()).filter(|n| !n.is_empty()),
        now,
    )
    .await?;
    let said = match issued {
        crate::publish::Issued::Now {
            report,
            units_notified,
            new_items,
        } => {
            crate::publish::queue_report(store, settings, calendar, &report, now).await?;
            format!(
                "已下发《{}》{}：新增整改事项{new_items}项，整改通知已发往{units_notified}个单位。",
                report.title,
                report.number_in_brackets()
            )
        }
        crate::publish::Issued::Before(report) => {
            format!("《{}》此前已下发，未重复下发。", report.title)
        }
    };
    let body = html! {
        h1 { "下发通报" }
        p #said { (said) }
        p { a href="/reports" { "返回通报" } " · " a href="/rectification" { "查看整改事项" } }
    };
    Ok(layout::page(&viewer, "/reports", "下发通报", body))
}
