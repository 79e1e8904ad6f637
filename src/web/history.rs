//! `/history`: the register's audit trail (who changed what, from where:
//! file, chat, command line, web), filtered as `xunjian history` is.

use super::layout;
use super::{Console, PageResult, Viewer, WebError};
use crate::registry::history::{self, HistoryFilter};
use axum::extract::{Query, State};
use chrono::NaiveDate;
use maud::html;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    account: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    since: String,
}

/// The newest lines shown.
const SHOWN: usize = 1000;

pub async fn page(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> PageResult {
    let grant = &viewer.signin.grant;
    let register = console.store.load_register().await?;
    let since = match f.since.trim() {
        "" => None,
        text => Some(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            WebError::BadRequest(format!(
                "日期「{}」无效：请写作 2026-12-01。",
                text.chars().take(20).collect::<String>()
            ))
        })?),
    };
    let account = Some(f.account.trim().to_string()).filter(|a| !a.is_empty());
    if let Some(id) = &account {
        // Another unit's account is as unknown as a missing one (for a
        // contact, a missing one is 404 too: no probing for ids).
        let is_visible = register
            .account(id)
            .is_some_and(|a| grant.sees_unit(&a.unit));
        if !is_visible && !grant.is_admin() {
            return Err(WebError::NotFound);
        }
    }
    // A contact reads their units' trail only.
    let units: Vec<Option<String>> = match (grant, f.unit.trim()) {
        (_, unit) if !unit.is_empty() => {
            if !grant.sees_unit(unit) {
                return Err(WebError::NotFound);
            }
            vec![Some(unit.to_string())]
        }
        (crate::domain::Grant::Admin, _) => vec![None],
        (crate::domain::Grant::Units(mine), _) => mine.iter().cloned().map(Some).collect(),
    };
    let events = console
        .store
        .register_events_since(since.map(crate::calendar::start_of_day))
        .await?;
    let mut shown = Vec::new();
    for unit in units {
        let filter = HistoryFilter {
            account: account.clone(),
            unit,
            since: since.map(crate::calendar::start_of_day),
        };
        shown.extend(events.iter().filter(|e| filter.matches(e, &register)));
    }
    shown.sort_by_key(|e| std::cmp::Reverse(e.id));
    shown.dedup_by_key(|e| e.id);
    let total = shown.len();
    shown.truncate(SHOWN);
    let text = history::render(&shown, &register, viewer.is_admin());
    let visible: Vec<_> = register
        .units
        .iter()
        .filter(|u| grant.sees_unit(&u.id))
        .collect();
    let body = html! {
        h1 { "变更记录" }
        p.muted { "最新的在前。" }
        form.filters method="get" action="/history" {
            select name="unit" aria-label="单位" {
                option value="" { "全部单位" }
                @for u in &visible { option value=(u.id) selected[f.unit == u.id] { (u.name) } }
            }
            input type="text" name="account" value=(f.account) placeholder="账号ID" aria-label="账号ID";
            input type="date" name="since" value=(f.since) aria-label="起始日期";
            button type="submit" { "筛选" }
            a href="/history" { "清除" }
        }
        (layout::cut_note(total, SHOWN))
        pre.report #history { (text) }
    };
    Ok(layout::page(&viewer, "/history", "变更记录", body))
}
