//! `/alerts`: open alerts, 确认 (ack) and 暂缓 (snooze, with a reason), on
//! the same storage calls and limits as `/ack` and `/snooze` in chat.

use super::layout::{self, csrf, time};
use super::{Console, PageResult, Viewer, WebError, actor};
use crate::alerts::{CONTACT_SNOOZE_DAYS, MAX_SNOOZE_DAYS, OpenAlert};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use std::sync::Arc;

/// Whether the viewer may see and act on an alert: a unit's alert for its
/// contacts, operator alerts (no unit) for admins.
fn sees(viewer: &Viewer, alert: &OpenAlert) -> bool {
    match &alert.unit_id {
        Some(unit) => viewer.signin.grant.sees_unit(unit),
        None => viewer.is_admin(),
    }
}

/// What the last action did (`?said=`), shown above the list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Said {
    #[serde(default)]
    said: String,
}

fn said_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "acked" => "已确认，将不再重复提醒；问题解决后会发送恢复通知。",
        "already" => "此告警此前已确认。",
        "snoozed" => "已暂缓提醒（见下方「暂缓至」）；问题仍会列入通报，到期后如未解决将继续提醒。",
        "kept" => "此账号已有更长的暂缓，未更改。",
        _ => return None,
    })
}

pub async fn page(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(said): Query<Said>,
) -> PageResult {
    let now = console.now();
    let register = console.store.load_register().await?;
    let alerts: Vec<OpenAlert> = console
        .store
        .open_alerts()
        .await?
        .into_iter()
        .filter(|a| sees(&viewer, a))
        .collect();
    let silences = console.store.silence_notes().await?;
    let longest = if viewer.is_admin() {
        MAX_SNOOZE_DAYS
    } else {
        CONTACT_SNOOZE_DAYS
    };
    let lengths: Vec<i64> = [1, 3, 7, 14, 30, 90]
        .into_iter()
        .filter(|d| *d <= longest)
        .collect();
    let body = html! {
        h1 { "告警（未恢复 " (alerts.len()) " 条）" }
        @if let Some(text) = said_text(&said.said) { div.note.done #said { (text) } }
        p.muted { "确认：表示已知悉，不再重复提醒，问题解决后仍会发送恢复通知。暂缓：在期限内不提醒，问题仍列入通报"
            @if !viewer.is_admin() { "；单位联系人最多暂缓 " (CONTACT_SNOOZE_DAYS) " 天" } "。" }
        @if alerts.is_empty() { p #none { "没有未恢复的告警。" } }
        @for a in &alerts {
            @let account = register.account(&a.subject);
            div.note.done[a.is_acked] id={ "alert-" (a.id) } {
                p {
                    strong { "#" (a.id) " [" (crate::rules::label_of(a.rule, &a.evidence)) "] " }
                    @if let Some(acc) = account { a href={ "/accounts/" (acc.id) } { (acc.name) } "：" }
                    (a.message_at(now))
                }
                p.muted {
                    "开始于 " (time(a.opened_at))
                    @if let Some(unit) = a.unit_id.as_deref().and_then(|u| register.unit(u)) { " · " (unit.name) }
                    @if let Some((who, when)) = &a.acked { " · " span.tag.gray.acked { "已确认" } " " (crate::domain::person_of(who)) " " (time(*when)) }
                    @if let Some((until, by, reason)) = silences.get(&a.subject).filter(|(until, ..)| *until > now) {
                        " · " span.tag.warn { "暂缓至 " (time(*until)) } " " (crate::domain::person_of(by))
                        @if !reason.is_empty() { "，理由：" (reason) }
                    }
                }
                div.acts {
                    @if !a.is_acked {
                        form.inline method="post" action={ "/alerts/" (a.id) "/ack" } {
                            (csrf(&viewer))
                            button.ack type="submit" { "确认" }
                        }
                    }
                    form.inline method="post" action={ "/alerts/" (a.id) "/snooze" } {
                        (csrf(&viewer))
                        select name="days" aria-label="暂缓天数" {
                            @for d in &lengths { option value=(d) { "暂缓 " (d) " 天" } }
                        }
                        input type="text" name="reason" required maxlength="200" placeholder="暂缓理由（必填）" aria-label="暂缓理由";
                        button.plain type="submit" { "暂缓" }
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, "/alerts", "告警", body))
}

/// The open alert `id` if the viewer may act on it (404 otherwise).
async fn alert_of(console: &Console, viewer: &Viewer, id: i64) -> Result<OpenAlert, WebError> {
    console
        .store
        .open_alerts()
        .await?
        .into_iter()
        .find(|a| a.id == id && sees(viewer, a))
        .ok_or(WebError::NotFound)
}

#[derive(serde::Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf: String,
}

pub async fn ack(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<AckForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let alert = alert_of(&console, &viewer, id).await?;
    if alert.is_acked {
        return Ok(Redirect::to("/alerts?said=already").into_response());
    }
    console
        .store
        .ack_alert(alert.id, &actor(&viewer.signin), console.now())
        .await?;
    console.changed();
    Ok(Redirect::to("/alerts?said=acked").into_response())
}

#[derive(serde::Deserialize)]
pub struct SnoozeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

pub async fn snooze(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<SnoozeForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let alert = alert_of(&console, &viewer, id).await?;
    let longest = if viewer.is_admin() {
        MAX_SNOOZE_DAYS
    } else {
        CONTACT_SNOOZE_DAYS
    };
    let days: i64 = form
        .days
        .trim()
        .parse()
        .ok()
        .filter(|d| (1..=longest).contains(d))
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "暂缓天数「{}」无效：应为 1 到 {longest} 天。",
                form.days.chars().take(20).collect::<String>()
            ))
        })?;
    let reason = crate::parse::truncate(form.reason.trim(), 200);
    if reason.is_empty() {
        return Err(WebError::BadRequest(
            "请写明暂缓理由（例如：账号正在改版，预计下周恢复）。".to_string(),
        ));
    }
    let now = console.now();
    let until = now + chrono::Duration::days(days);
    // A contact never shortens a longer pause (an admin's, say).
    let current = console.store.silenced_until(&alert.subject).await?;
    if !viewer.is_admin() && current.is_some_and(|c| c >= until) {
        return Ok(Redirect::to("/alerts?said=kept").into_response());
    }
    console
        .store
        .snooze(&alert.subject, until, &actor(&viewer.signin), &reason, now)
        .await?;
    console.changed();
    Ok(Redirect::to("/alerts?said=snoozed").into_response())
}
