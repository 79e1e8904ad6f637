//! `/` 总览: the 合格率 and the counts of `check`, the trend, problems now,
//! open alerts, 整改 items due, and monitoring health.

use super::layout::{self, time};
use super::{Console, PageResult, Viewer};
use crate::rules::{AccountResult, Summary, Verdict};
use axum::extract::State;
use chrono::{Duration, NaiveDate};
use maud::{Markup, html};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The summary of what the viewer sees: `check`'s for an admin, their
/// units' (counted the same way) for a contact.
pub fn summary_for(viewer: &Viewer, accounts: &[&AccountResult], all: &Summary) -> Summary {
    if viewer.is_admin() {
        *all
    } else {
        Summary::from_verdicts(accounts.iter().filter(|a| a.is_assessed).map(|a| a.verdict))
    }
}

pub async fn page(State(console): State<Arc<Console>>, viewer: Viewer) -> PageResult {
    let now = console.now();
    let check = console.check().await?;
    let register = console.store.load_register().await?;
    let grant = &viewer.signin.grant;
    let mine: Vec<&AccountResult> = check
        .accounts
        .iter()
        .filter(|a| grant.sees_unit(&a.unit))
        .collect();
    let s = summary_for(&viewer, &mine, &check.summary);
    let failed: Vec<&&AccountResult> = mine
        .iter()
        .filter(|a| a.is_assessed && a.verdict == Verdict::Failed)
        .collect();
    let unknown: Vec<&&AccountResult> = mine
        .iter()
        .filter(|a| a.verdict == Verdict::Unknown)
        .collect();
    let alerts: Vec<_> = console
        .store
        .open_alerts()
        .await?
        .into_iter()
        .filter(|a| match &a.unit_id {
            Some(unit) => grant.sees_unit(unit),
            None => viewer.is_admin(),
        })
        .collect();
    let today = crate::calendar::local_date(now);
    let soon = today + Duration::days(7);
    let mut due: Vec<_> = console
        .store
        .rectification_items(None, true)
        .await?
        .into_iter()
        .filter(|i| grant.sees_unit(&i.unit_id) && i.deadline <= soon)
        .collect();
    due.sort_by_key(|i| i.deadline);
    let since = now - Duration::days(30);
    let trend = match grant {
        crate::domain::Grant::Admin => {
            daily_rates(&console.store.inspection_summaries(since).await?)
        }
        crate::domain::Grant::Units(units) => {
            let mut each = Vec::new();
            for unit in units {
                each.extend(console.store.unit_inspection_summaries(unit, since).await?);
            }
            daily_rates(&merged(each))
        }
    };
    let proxies = console.store.proxy_health().await?;
    let redactor = crate::config::Redactor::from_settings(&console.settings);
    let name_of = |id: &str| {
        register
            .account(id)
            .map_or(id.to_string(), |a| a.name.clone())
    };
    let unit_of = |id: &str| register.unit(id).map_or(id.to_string(), |u| u.name.clone());
    let scope = match grant {
        crate::domain::Grant::Admin => "全部账号".to_string(),
        crate::domain::Grant::Units(units) => units
            .iter()
            .map(|u| unit_of(u))
            .collect::<Vec<_>>()
            .join("、"),
    };
    let checked = chrono::DateTime::parse_from_rfc3339(&check.checked_at)
        .map(|t| time(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| check.checked_at.clone());
    let body = html! {
        h1 { "总览" }
        p.muted { "范围：" (scope) "；按已保存的发文于 " (checked) " 评定，与 xunjian check 的口径相同。" }
        div.cards {
            div.card.main { div.n #pass-rate { (crate::reports::render::pass_rate(s.pass_rate)) } div.l { "合格率" } }
            (card("assessed", s.assessed, "参与评定"))
            (card("qualified", s.qualified, "合格"))
            (card("failed", s.failed, "不合格"))
            (card("closing", s.closing, "正在注销"))
            (card("unknown", s.unknown, "无法监测（未纳入评定）"))
            (card("manual", s.manual, "人工检查"))
            (card("alerts", alerts.len() as u64, "未恢复告警"))
        }
        h2 { "近 30 天合格率（" (if viewer.is_admin() { "全部账号" } else { "本单位账号" }) "，每日最后一次巡检）" }
        (trend_chart(&trend))
        h2 { "当前问题（不合格 " (failed.len()) " 个）" }
        @if failed.is_empty() {
            p.muted { "没有不合格的账号。" }
        } @else {
            div.scroll { table #problems {
                thead { tr { th { "单位" } th { "账号" } th { "平台" } th { "问题" } } }
                tbody {
                    @for a in failed.iter().take(50) {
                        tr {
                            td { (unit_of(&a.unit)) }
                            td { a href={ "/accounts/" (a.id) } { (a.name) } }
                            td { (platform_label(&a.platform)) }
                            td { (a.findings.iter().filter(|f| f.severity == crate::rules::Severity::Failure).map(|f| f.label.as_str()).collect::<Vec<_>>().join("、")) }
                        }
                    }
                }
            } }
            (layout::cut_note(failed.len(), 50))
        }
        h2 { "整改事项（逾期或 7 天内到期 " (due.len()) " 项）" }
        @if due.is_empty() {
            p.muted { "没有即将到期的整改事项。" }
        } @else {
            div.scroll { table {
                thead { tr { th { "期限" } th { "单位" } th { "账号" } th { "问题" } th { "状态" } } }
                tbody {
                    @for i in due.iter().take(50) {
                        tr {
                            td { (i.deadline) @if i.deadline < today { " " span.tag.bad { "已逾期" } } }
                            td { (unit_of(&i.unit_id)) }
                            td { (name_of(&i.account_id)) }
                            td { (i.label) }
                            td { (i.state.label()) }
                        }
                    }
                }
            } }
            p { a href="/rectification" { "全部整改事项 →" } }
        }
        h2 { "监测状况" }
        @if viewer.is_admin() {
            div.scroll { table #proxies {
                thead { tr { th { "订阅代理" } th { "状态" } th { "检查时间" } th { "说明" } } }
                tbody {
                    @for p in &proxies {
                        tr {
                            td { (p.name) }
                            td { @if p.is_up { span.tag.ok { "正常" } } @else { span.tag.bad { "不可用" } } }
                            td { (time(p.checked_at)) }
                            td {
                                @if let Some(since) = p.down_since { "自 " (time(since)) " 起不可用，其账号暂无法监测。" }
                                @if let Some(m) = p.message.as_deref().filter(|_| !p.is_up) { br; span.muted { "详情：" (redactor.redact(m)) } }
                            }
                        }
                    }
                    @if proxies.is_empty() { tr { td colspan="4" { "尚未检查代理。" } } }
                }
            } }
        }
        @if unknown.is_empty() {
            p { "没有无法监测的账号。" }
        } @else {
            p { "无法监测的账号 " (unknown.len()) " 个（不计入合格率，须人工核查）：" }
            ul #unknown {
                @for a in unknown.iter().take(50) {
                    li { a href={ "/accounts/" (a.id) } { (a.name) } "（" (unit_of(&a.unit)) "）" @if let Some(note) = &a.note { "：" (note) } }
                }
            }
        }
    };
    Ok(layout::page(&viewer, "/", "总览", body))
}

fn card(id: &str, n: u64, label: &str) -> Markup {
    html! { div.card { div.n id=(id) { (n) } div.l { (label) } } }
}

pub fn platform_label(id: &str) -> String {
    crate::registry::Platform::from_id(id).map_or(id.to_string(), |p| p.label().to_string())
}

/// Several units' summaries of the same inspections as one, counted as
/// [`Summary::from_verdicts`] counts.
fn merged(
    each: Vec<(chrono::DateTime<chrono::Utc>, Summary)>,
) -> Vec<(chrono::DateTime<chrono::Utc>, Summary)> {
    let mut by_time: BTreeMap<chrono::DateTime<chrono::Utc>, Vec<Verdict>> = BTreeMap::new();
    for (at, s) in each {
        let verdicts = by_time.entry(at).or_default();
        for (verdict, n) in [
            (Verdict::Qualified, s.qualified),
            (Verdict::Failed, s.failed),
            (Verdict::Closing, s.closing),
            (Verdict::Unknown, s.unknown),
            (Verdict::Manual, s.manual),
        ] {
            verdicts.extend(std::iter::repeat_n(
                verdict,
                usize::try_from(n).unwrap_or(0),
            ));
        }
    }
    by_time
        .into_iter()
        .map(|(at, verdicts)| (at, Summary::from_verdicts(verdicts)))
        .collect()
}

/// The last inspection's 合格率 of each (Beijing) day.
fn daily_rates(
    summaries: &[(chrono::DateTime<chrono::Utc>, Summary)],
) -> BTreeMap<NaiveDate, Option<f64>> {
    summaries
        .iter()
        .map(|(at, s)| (crate::calendar::local_date(*at), s.pass_rate))
        .collect()
}

/// Bars of the daily 合格率 as inline SVG (no script); a day that could not
/// be assessed is a grey stub.
fn trend_chart(days: &BTreeMap<NaiveDate, Option<f64>>) -> Markup {
    if days.is_empty() {
        return html! { p.muted { "近 30 天没有巡检记录。" } };
    }
    let (w, h, gap) = (20.0, 120.0, 4.0);
    let width = days.len() as f64 * (w + gap) + 40.0;
    html! {
        svg #trend viewBox={ "0 0 " (width) " " (h + 40.0) } width=(width) role="img" aria-label="近 30 天合格率" {
            line x1="34" y1=(h) x2=(width) y2=(h) stroke="#aab3bd" {}
            text x="0" y="12" font-size="10" { "100%" }
            text x="8" y=(h) font-size="10" { "0%" }
            @for (i, (day, rate)) in days.iter().enumerate() {
                @let x = 38.0 + i as f64 * (w + gap);
                @match rate {
                    Some(r) => {
                        @let bar = (r * (h - 10.0)).max(1.0);
                        rect x=(x) y=(h - bar) width=(w) height=(bar) fill=(if *r >= 0.9 { "#2da44e" } else { "#cf222e" }) {
                            title { (day) " 合格率 " (crate::reports::render::pass_rate(Some(*r))) }
                        }
                    }
                    None => {
                        rect x=(x) y=(h - 3.0) width=(w) height="3" fill="#aab3bd" { title { (day) " 无法评定" } }
                    }
                }
                @if i % 5 == 0 || i + 1 == days.len() {
                    text x=(x) y=(h + 14.0) font-size="9" { (day.format("%m-%d")) }
                }
            }
        }
    }
}
