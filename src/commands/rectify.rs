//! `/rectify` (also `/整改`), `/rectification` and `/issue`: the 整改 loop in chat.

use super::{Request, Role, actor};
use crate::rectification::render_items;

/// `/rectify ACCOUNT 说明`: a unit contact reports what was done.
pub async fn rectify(req: &Request<'_>, role: &Role) -> anyhow::Result<String> {
    let Some((account, words)) = req.args.split_first() else {
        return Ok(
            "用法：/rectify 账号ID 整改说明（也可用 /整改），例如 /rectify yt-weibo 已恢复每周更新"
                .to_string(),
        );
    };
    let found = match super::find_account(req.register, role, account) {
        Ok(found) => found,
        Err(why) => return Ok(why),
    };
    let is_allowed = match role {
        Role::Admin => true,
        Role::Contact(units) => units.contains(&found.unit),
        Role::Stranger => false,
    };
    if !is_allowed {
        tracing::warn!(
            user = %req.caller.user,
            account,
            "rectify refused: not a contact of this unit"
        );
        let Role::Contact(units) = role else {
            return Ok(super::REFUSAL.to_string());
        };
        let owner = req
            .register
            .unit(&found.unit)
            .map_or(found.unit.as_str(), |u| u.name.as_str());
        return Ok(format!(
            "账号「{}」属于{owner}，不属于您的单位{}，不能反馈整改。",
            found.name,
            super::unit_names(req.register, units)
        ));
    }
    let note = words.join(" ");
    if note.trim().is_empty() {
        return Ok("请写明整改情况，例如：/rectify 账号ID 已恢复每周更新".to_string());
    }
    let note = crate::parse::truncate(note.trim(), 500);
    let changed = req
        .ctx
        .store
        .respond_rectification(&found.id, &note, &actor(req.caller), req.now)
        .await?;
    Ok(if changed == 0 {
        format!("「{}」没有待整改的事项。", found.name)
    } else {
        format!(
            "已记录「{}」的整改反馈（{changed} 项，已反馈待核实），系统将在后续巡检中核实。",
            found.name
        )
    })
}

/// `/rectification [UNIT]`: the items and their state (contacts: their units).
pub async fn list(req: &Request<'_>, role: &Role) -> anyhow::Result<String> {
    let unit = req.args.first().copied();
    let units: Vec<String> = match (role, unit) {
        (Role::Admin, Some(unit)) => vec![unit.to_string()],
        (Role::Admin, None) => Vec::new(),
        (Role::Contact(own), Some(unit)) if own.iter().any(|u| u == unit) => vec![unit.to_string()],
        (Role::Contact(own), None) => own.clone(),
        _ => return Ok(super::REFUSAL.to_string()),
    };
    if let Some(unit) = unit {
        if req.register.unit(unit).is_none() {
            return Ok(format!("未找到单位「{}」。", super::quoted(unit)));
        }
    }
    let mut items = Vec::new();
    if units.is_empty() {
        items = req.ctx.store.rectification_items(None, false).await?;
    } else {
        for unit in &units {
            items.extend(req.ctx.store.rectification_items(Some(unit), false).await?);
        }
    }
    items.truncate(200);
    Ok(format!(
        "整改事项：\n{}",
        render_items(&items, req.register)
    ))
}

/// `/issue KIND [PERIOD]`: issue a 通报 (admins): send it to the contacts
/// chat and each unit with problems its 整改通知.
pub async fn issue(req: &Request<'_>) -> anyhow::Result<String> {
    use crate::reports::{ReportKind, parse_period};
    let Some(kind) = req.args.first().and_then(|k| ReportKind::from_id(k)) else {
        return Ok("用法：/issue monthly|quarterly [2026-10 | 2026-Q3]".to_string());
    };
    let today = crate::calendar::local_date(req.now);
    let (from, to) = match parse_period(kind, req.args.get(1).copied(), None, None, today) {
        Ok(period) => period,
        Err(why) => return Ok(format!("期间无效：{why}")),
    };
    let ctx = req.ctx;
    let calendar = crate::inspection::stored_calendar(&ctx.settings, &ctx.store, req.now).await?;
    let report =
        crate::publish::load_report(&ctx.store, &calendar, kind, from, to, req.now).await?;
    if !report.is_assessable {
        return Ok(format!(
            "《{}》本期无巡检记录，无法评定，未下发。",
            report.title
        ));
    }
    if matches!(
        kind,
        ReportKind::Weekly | ReportKind::Scoring | ReportKind::Annual
    ) {
        return Ok("只有月度和季度通报可以下发：/issue monthly|quarterly [期间]".to_string());
    }
    let issued = crate::publish::issue_report(
        &ctx.store,
        &ctx.settings,
        &calendar,
        &report,
        &actor(req.caller),
        None,
        req.now,
    )
    .await?;
    let (report, units, items) = match issued {
        crate::publish::Issued::Now {
            report,
            units_notified,
            new_items,
        } => (report, units_notified, new_items),
        crate::publish::Issued::Before(report) => {
            return Ok(format!(
                "《{}》此前已下发，未重复发送整改通知。",
                report.title
            ));
        }
    };
    crate::publish::queue_report(&ctx.store, &ctx.settings, &calendar, &report, req.now).await?;
    let number = report.number_in_brackets();
    Ok(format!(
        "已下发《{}》{number}：新增整改事项{items}项，整改通知已发往{units}个单位。",
        report.title
    ))
}
