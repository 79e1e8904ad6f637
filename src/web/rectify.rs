//! `/rectification`: 整改 items by state; a unit records its answer (as
//! `/rectify` does); an admin accepts it or sends it back (退回) with a
//! reason the unit is told in chat.

use super::layout::{self, csrf, time};
use super::{Console, PageResult, Viewer, WebError, actor};
use crate::rectification::{Item, ItemState, Review};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// An [`ItemState`] id; empty: the items not yet 已整改.
    #[serde(default)]
    state: String,
    /// What the last action did.
    #[serde(default)]
    said: String,
}

fn said_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "responded" => {
            "已记录整改反馈（已反馈待核实），系统将在后续巡检中核实，管理员也可直接核实。"
        }
        "none" => "此账号没有待整改的事项，反馈未记录（可能已整改或已反馈）。",
        "accepted" => "已核实通过，事项已整改。",
        "returned" => "已退回，单位会收到退回理由；事项重新待整改。",
        _ => return None,
    })
}

const SHOWN: usize = 300;

pub async fn page(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> PageResult {
    let register = console.store.load_register().await?;
    let today = crate::calendar::local_date(console.now());
    let all: Vec<Item> = console
        .store
        .rectification_items(None, false)
        .await?
        .into_iter()
        .filter(|i| viewer.signin.grant.sees_unit(&i.unit_id))
        .collect();
    let wanted = ItemState::from_id(&f.state);
    let items: Vec<&Item> = all
        .iter()
        .filter(|i| match (wanted, f.state.as_str()) {
            (Some(state), _) => i.state == state,
            (None, "all") => true,
            (None, _) => !i.state.is_done(),
        })
        .collect();
    let count = |state: ItemState| all.iter().filter(|i| i.state == state).count();
    let name_of = |id: &str| {
        register
            .account(id)
            .map_or(id.to_string(), |a| a.name.clone())
    };
    let unit_of = |id: &str| register.unit(id).map_or(id.to_string(), |u| u.name.clone());
    let tabs = [
        (
            "",
            format!(
                "未完成 {}",
                all.iter().filter(|i| !i.state.is_done()).count()
            ),
        ),
        (
            "responded",
            format!("已反馈待核实 {}", count(ItemState::Responded)),
        ),
        ("overdue", format!("逾期 {}", count(ItemState::Overdue))),
        ("open", format!("待整改 {}", count(ItemState::Open))),
        ("fixed", format!("已整改 {}", count(ItemState::Fixed))),
        ("all", format!("全部 {}", all.len())),
    ];
    let body = html! {
        h1 { "整改事项" }
        @if let Some(text) = said_text(&f.said) { div.note.done #said { (text) } }
        p.acts { @for (id, label) in &tabs {
            @if *id == f.state { strong { (label) } } @else { a href={ "/rectification?state=" (id) } { (label) } }
        } }
        @if items.is_empty() { p #none { "没有此类整改事项。" } }
        @for i in items.iter().take(SHOWN) {
            div.note.done[i.state.is_done()] id={ "item-" (i.id) } {
                p {
                    strong { (unit_of(&i.unit_id)) " · " (name_of(&i.account_id)) }
                    " [" (i.label) "] " (i.message)
                }
                p.muted {
                    (i.report_title) " · 整改期限 " (i.deadline)
                    @if i.deadline < today && !i.state.is_done() { " " span.tag.bad { "已逾期" } }
                    " · " span.tag.gray.state { (i.state.label()) }
                }
                @if let Some(response) = &i.response {
                    p { "单位反馈：" (response)
                        @if let (Some(by), Some(at)) = (&i.responded_by, i.responded_at) { span.muted { "（" (crate::domain::person_of(by)) "，" (time(at)) "）" } } }
                }
                @if let Some(evidence) = &i.evidence { p.muted { "核实：" (evidence) } }
                @if matches!(i.state, ItemState::Open | ItemState::Overdue) {
                    form method="post" action={ "/rectification/" (i.id) "/respond" } class="acts" {
                        (csrf(&viewer))
                        input type="text" name="note" required maxlength="500" placeholder="整改情况，如：已恢复每周更新" aria-label="整改情况";
                        button type="submit" { "提交整改反馈" }
                    }
                }
                @if i.state == ItemState::Responded && viewer.is_admin() {
                    form method="post" action={ "/rectification/" (i.id) "/review" } class="acts" {
                        (csrf(&viewer))
                        input type="text" name="reason" maxlength="300" placeholder="退回理由（退回时必填）/ 核实说明" aria-label="理由";
                        button.accept type="submit" name="decision" value="accept" { "核实通过" }
                        button.plain.return type="submit" name="decision" value="return" { "退回" }
                    }
                }
            }
        }
        (layout::cut_note(items.len(), SHOWN))
    };
    Ok(layout::page(&viewer, "/rectification", "整改事项", body))
}

/// The item `id` if the viewer may see it (404 otherwise).
async fn item_of(console: &Console, viewer: &Viewer, id: i64) -> Result<Item, WebError> {
    console
        .store
        .rectification_items(None, false)
        .await?
        .into_iter()
        .find(|i| i.id == id && viewer.signin.grant.sees_unit(&i.unit_id))
        .ok_or(WebError::NotFound)
}

#[derive(serde::Deserialize)]
pub struct RespondForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// A unit's answer for the item's account (what `/rectify` records).
pub async fn respond(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<RespondForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let item = item_of(&console, &viewer, id).await?;
    let note = crate::parse::truncate(form.note.trim(), 500);
    if note.is_empty() {
        return Err(WebError::BadRequest(
            "请写明整改情况，例如：已恢复每周更新。".to_string(),
        ));
    }
    let changed = console
        .store
        .respond_rectification(
            &item.account_id,
            &note,
            &actor(&viewer.signin),
            console.now(),
        )
        .await?;
    let said = if changed == 0 { "none" } else { "responded" };
    Ok(Redirect::to(&format!("/rectification?said={said}")).into_response())
}

#[derive(serde::Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// An admin accepts a unit's answer or sends it back, telling the unit why.
pub async fn review(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ReviewForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let item = item_of(&console, &viewer, id).await?;
    if item.state != ItemState::Responded {
        return Err(WebError::BadRequest(format!(
            "此事项现为「{}」，只有「已反馈待核实」的事项可以核实或退回。",
            item.state.label()
        )));
    }
    let now = console.now();
    let today = crate::calendar::local_date(now);
    let reason = crate::parse::truncate(form.reason.trim(), 300);
    let by = actor(&viewer.signin);
    let said = if form.decision == "accept" {
        "accepted"
    } else {
        "returned"
    };
    let (review, messages) = match form.decision.as_str() {
        "accept" => (Review::Accept { note: reason }, Vec::new()),
        "return" if reason.is_empty() => {
            return Err(WebError::BadRequest(
                "退回须写明理由，单位会在聊天中收到它。".to_string(),
            ));
        }
        "return" => {
            let register = console.store.load_register().await?;
            let messages = crate::rectification::returned_notice(
                &item,
                &reason,
                &by,
                today,
                &register,
                &console.settings,
            );
            let is_overdue = item.deadline < today;
            (Review::SendBack { reason, is_overdue }, messages)
        }
        _ => {
            return Err(WebError::BadRequest(
                "请选择「核实通过」或「退回」。".to_string(),
            ));
        }
    };
    let done = console
        .store
        .review_rectification(item.id, &review, &by, &messages, now)
        .await?;
    if !done {
        return Err(WebError::BadRequest(
            "此事项已由他人处理，请刷新页面查看。".to_string(),
        ));
    }
    Ok(Redirect::to(&format!("/rectification?state=all&said={said}")).into_response())
}
