//! `/accounts` 台账 with filters, and `/accounts/{id}`: one account's posts,
//! fetch state, findings, alerts and 整改 history.

use super::layout::{self, time};
use super::{Console, PageResult, Viewer, WebError};
use crate::registry::{AccountState, Platform};
use crate::rules::{Rule, Verdict};
use axum::extract::{Path, Query, State};
use maud::html;
use std::sync::Arc;

/// The filters of the list (all optional; empty means any).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    state: String,
    /// A verdict id (`failed`, `unknown` …) or a rule id (`stale_update` …).
    #[serde(default)]
    problem: String,
    /// A part of the account's name or id.
    #[serde(default)]
    q: String,
}

const SHOWN: usize = 500;

pub async fn list(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> PageResult {
    let check = console.check().await?;
    let register = console.store.load_register().await?;
    let grant = &viewer.signin.grant;
    let q = f.q.trim().to_lowercase();
    // A unit by id, or by name as the clerk types it.
    let unit = match f.unit.trim() {
        "" => String::new(),
        text => register
            .find_unit(text)
            .map_or(text.to_string(), |u| u.id.clone()),
    };
    let results: std::collections::HashMap<&str, &crate::rules::AccountResult> =
        check.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    // Every account of the register (已注销 ones too), with its evaluation if any.
    let rows: Vec<_> = register
        .accounts
        .iter()
        .filter(|a| grant.sees_unit(&a.unit))
        .filter(|a| unit.is_empty() || a.unit == unit)
        .filter(|a| f.platform.is_empty() || a.platform.id() == f.platform)
        .filter(|a| f.state.is_empty() || a.state.id() == f.state)
        .map(|a| (a, results.get(a.id.as_str()).copied()))
        .filter(|(_, r)| match (f.problem.as_str(), r) {
            ("", _) => true,
            (_, None) => false,
            (p, Some(r)) => r.verdict.id() == p || r.findings.iter().any(|x| x.rule.id() == p),
        })
        .filter(|(a, _)| {
            q.is_empty() || a.name.to_lowercase().contains(&q) || a.id.to_lowercase().contains(&q)
        })
        .collect();
    let units: Vec<_> = register
        .units
        .iter()
        .filter(|u| grant.sees_unit(&u.id))
        .collect();
    let unit_of = |id: &str| register.unit(id).map_or(id.to_string(), |u| u.name.clone());
    let verdicts = [
        Verdict::Failed,
        Verdict::Unknown,
        Verdict::Closing,
        Verdict::Qualified,
        Verdict::Manual,
    ];
    let body = html! {
        h1 { "台账" }
        form.filters method="get" action="/accounts" {
            select name="unit" aria-label="单位" {
                option value="" { "全部单位" }
                @for u in &units { option value=(u.id) selected[unit == u.id] { (u.name) } }
            }
            select name="platform" aria-label="平台" {
                option value="" { "全部平台" }
                @for p in Platform::ALL { option value=(p.id()) selected[f.platform == p.id()] { (p.label()) } }
            }
            select name="state" aria-label="状态" {
                option value="" { "全部状态" }
                @for s in AccountState::ALL { option value=(s.id()) selected[f.state == s.id()] { (s.label()) } }
            }
            select name="problem" aria-label="问题" {
                option value="" { "全部评定与问题" }
                optgroup label="评定" {
                    @for v in verdicts { option value=(v.id()) selected[f.problem == v.id()] { "评定：" (v.label()) } }
                }
                optgroup label="问题" {
                    @for r in Rule::ALL { option value=(r.id()) selected[f.problem == r.id()] { (r.label()) } }
                }
            }
            input type="search" name="q" value=(f.q) placeholder="账号名称或ID" aria-label="搜索";
            button type="submit" { "筛选" }
            a href="/accounts" { "清除" }
        }
        p.muted #count { "共 " (rows.len()) " 个账号" }
        div.scroll { table #accounts {
            thead { tr { th { "单位" } th { "账号" } th { "平台" } th { "状态" } th { "评定" } th { "最近发文" } th { "问题" } } }
            tbody {
                @for (a, r) in rows.iter().take(SHOWN) {
                    tr {
                        td { (unit_of(&a.unit)) }
                        td { a href={ "/accounts/" (a.id) } { (a.name) } }
                        td { (a.platform.label()) }
                        td { (a.state.label()) }
                        @match r {
                            Some(r) => {
                                td { (layout::verdict(r.verdict)) }
                                td { @match r.days_since_post { Some(d) => { (d) " 天前" }, None => "—" } }
                                td {
                                    @if r.findings.is_empty() { (r.note.as_deref().unwrap_or("")) }
                                    @else { (r.findings.iter().map(|x| x.label.as_str()).collect::<Vec<_>>().join("、")) }
                                }
                            }
                            None => { td { span.tag.gray { "不参与评定" } } td { "—" } td {} }
                        }
                    }
                }
            }
        } }
        (layout::cut_note(rows.len(), SHOWN))
    };
    Ok(layout::page(&viewer, "/accounts", "台账", body))
}

pub async fn detail(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let register = console.store.load_register().await?;
    let account = register
        .account(&id)
        .filter(|a| viewer.signin.grant.sees_unit(&a.unit))
        .ok_or(WebError::NotFound)?;
    let check = console.check().await?;
    let result = check.accounts.iter().find(|a| a.id == id);
    let fetch = console
        .store
        .fetch_states_of(std::slice::from_ref(&id))
        .await?;
    let fetch = fetch.get(&id);
    let posts = console.store.recent_posts(&id, 20).await?;
    let findings: Vec<_> = console
        .store
        .content_findings(false, None)
        .await?
        .into_iter()
        .filter(|f| f.account_id == id)
        .collect();
    let alerts: Vec<_> = console
        .store
        .open_alerts()
        .await?
        .into_iter()
        .filter(|a| a.subject == id)
        .collect();
    let items: Vec<_> = console
        .store
        .rectification_items(Some(&account.unit), false)
        .await?
        .into_iter()
        .filter(|i| i.account_id == id)
        .collect();
    // Newest first; events of one second keep the order they happened in.
    let mut events = Vec::new();
    for item in &items {
        for (order, event) in console
            .store
            .rectification_history(item.id)
            .await?
            .into_iter()
            .enumerate()
        {
            events.push((item.report_title.clone(), order, event));
        }
    }
    events.sort_by_key(|(_, order, (at, ..))| std::cmp::Reverse((*at, *order)));
    let unit = register
        .unit(&account.unit)
        .map_or(account.unit.clone(), |u| u.name.clone());
    let now = console.now();
    let redactor = crate::config::Redactor::from_settings(&console.settings);
    let body = html! {
        h1 { (account.name) }
        p { (unit) " · " (account.platform.label()) " · " (account.state.label()) " · ID " code { (account.id) } }
        @if let Some(note) = &account.note { p.muted { "备注：" (note) } }
        @if result.is_none() { p { "当前评定：" span.tag.gray { "不参与评定" } "（" (account.state.label()) "）" } }
        @if let Some(r) = result {
            p { "当前评定：" (layout::verdict(r.verdict))
                @if let Some(d) = r.days_since_post { "，最近发文 " (d) " 天前" }
                @if let Some(note) = &r.note { "；" (note) } }
            @if !r.findings.is_empty() {
                ul { @for f in &r.findings { li { "[" (f.label) "] " (f.message) } } }
            }
        }
        h2 { "抓取状态" }
        @match fetch {
            Some(s) => {
                p #fetch {
                    "最近抓取：" (s.last_checked_at.map(time).unwrap_or_else(|| "—".into()))
                    "（" (s.outcome.map_or("—", |o| o.label())) "）"
                    @if let Some(o) = s.outcome.filter(|o| o.is_failure()) { "：" (o.explain()) }
                    @if viewer.is_admin() { @if let Some(m) = s.message.as_deref().filter(|_| s.outcome.is_some_and(|o| o.is_failure())) { br; span.muted { "详情：" (redactor.redact(m)) } } }
                    br; "最近成功：" (s.last_success_at.map(time).unwrap_or_else(|| "—".into()))
                    @if s.consecutive_failures > 0 { "；连续失败 " (s.consecutive_failures) " 次" }
                    @if let Some(next) = s.next_check_at { "；下次抓取 " (time(next)) }
                }
            }
            None => p #fetch { "尚未抓取。" },
        }
        h2 { "最近发文" }
        @if posts.is_empty() { p.muted { "没有保存的发文。" } } @else {
            div.scroll { table #posts {
                thead { tr { th { "发布时间" } th { "标题" } th { "类型" } } }
                tbody { @for p in &posts {
                    @let title = p.title.as_deref().unwrap_or("（无标题）");
                    tr {
                        td { (time(p.published_at)) @if p.is_date_estimated { span.muted { "（估计）" } } }
                        td { @match p.link.as_deref().filter(|l| l.starts_with("http://") || l.starts_with("https://")) {
                            Some(l) => a href=(l) rel="noopener noreferrer" target="_blank" { (title) },
                            None => (title),
                        } }
                        td { (match p.kind.as_str() { "original" => "原创", "repost" => "转载", _ => "未判定" }) }
                    }
                } }
            } }
        }
        h2 { "错敏信息" }
        @if findings.is_empty() { p.muted { "没有发现。" } } @else {
            ul { @for f in &findings {
                li { "#" (f.id) " " (time(f.published_at)) "「" (f.post_title.as_deref().unwrap_or("（无标题）")) "」 " (f.category) "：" (f.matched) " → " (f.suggestion) " " span.tag.gray { (finding_state(f.state)) } }
            } }
        }
        h2 { "未恢复的告警" }
        @if alerts.is_empty() { p.muted { "无。" } } @else {
            ul { @for a in &alerts {
                li { "#" (a.id) " [" (crate::rules::label_of(a.rule, &a.evidence)) "] " (a.message_at(now)) @if a.is_acked { " " span.tag.gray { "已确认" } } }
            } }
            p { a href="/alerts" { "去处理告警 →" } }
        }
        h2 { "整改记录" }
        @if items.is_empty() { p.muted { "没有整改事项。" } } @else {
            ul { @for i in &items { li { (i.report_title) "：" (i.label) "，期限 " (i.deadline) "，" (i.state.label()) } } }
            ul.muted { @for (title, _, (at, actor, action, detail)) in &events {
                li { (time(*at)) " " (title) " " (action_label(action)) "（" (crate::domain::person_of(actor)) "）" @if !detail.is_empty() { "：" (detail) } }
            } }
        }
    };
    Ok(layout::page(&viewer, "/accounts", &account.name, body))
}

/// A 整改 event as clerks read it.
pub fn action_label(action: &str) -> &str {
    match action {
        "created" | "issued" => "下发",
        "responded" => "单位反馈",
        "accepted" => "管理员核实通过",
        "returned" => "退回",
        "fixed" => "巡检核实已整改",
        "overdue" => "逾期未整改",
        other => other,
    }
}

/// A content finding's state in Chinese.
pub fn finding_state(state: crate::content::FindingState) -> &'static str {
    use crate::content::FindingState as S;
    match state {
        S::Open => "待处理",
        S::Dismissed => "误报",
        S::Fixed => "已更正",
    }
}
