//! One row of sheet 账号 → an [`Account`], with the checks `accounts.toml`
//! gets: the unit, the platform, the source (proxy and route, or feed URL),
//! the state and its filing data.

use super::build::{checked_id, checked_name};
use super::cells::Row;
use super::read::Problems;
use super::{contact_summary, platform_from_text, state_from_text, unit_kind_from_text};
use crate::registry::check::{check_feed_url, check_route};
use crate::registry::load::Context;
use crate::registry::{
    Account, AccountState, Platform, Register, Source, ThresholdOverrides, Unit,
};
use std::collections::HashMap;

pub fn account(
    p: &mut Problems,
    ctx: &Context<'_>,
    row: &Row<'_, '_>,
    register: &Register,
    unit_ids: Option<&HashMap<String, u32>>,
    seen: &mut HashMap<String, u32>,
) -> Option<Account> {
    let before = p.list.len();
    let id = checked_id(p, row, "账号ID", "账号ID", seen);
    let name = checked_name(p, row, "账号名称");
    let unit = account_unit(p, row, register, unit_ids);
    let platform = row.required(p, "平台").and_then(|text| {
        let platform = platform_from_text(&text);
        if platform.is_none() {
            let labels: Vec<&str> = Platform::ALL.iter().map(|p| p.label()).collect();
            let hint = crate::registry::check::platform_hint(&text);
            row.problem(
                p,
                "平台",
                format!("未知平台「{text}」{hint}（可选：{}）", labels.join("、")),
            );
        }
        platform
    });
    let source = source(p, ctx, row, platform);
    let state = match row.text(p, "状态") {
        None => Some(AccountState::Active),
        Some(text) => {
            let state = state_from_text(&text);
            if state.is_none() {
                row.problem(
                    p,
                    "状态",
                    format!("未知状态「{text}」，可选：正常运维、正在注销、已注销"),
                );
            }
            state
        }
    };
    let deregistered_on = row.date(p, "注销日期");
    let filing_ref = row.text(p, "备案文号");
    // An unreadable date was reported as such, not again as missing.
    let has_date = deregistered_on.is_some() || row.is_filled("注销日期");
    check_filing(p, row, state, has_date, filing_ref.is_some());
    let is_interactive = row.yes_no(p, "互动功能").unwrap_or(true);
    let note = row.text(p, super::NOTE_COLUMN).and_then(|text| {
        crate::registry::check::checked_note(&text).unwrap_or_else(|why| {
            row.problem(p, super::NOTE_COLUMN, why);
            None
        })
    });
    if p.list.len() != before {
        return None;
    }
    Some(Account {
        id: id?,
        unit: unit?,
        name: name?,
        platform: platform?,
        source: source?,
        state: state?,
        deregistered_on,
        filing_ref,
        is_interactive,
        thresholds: ThresholdOverrides::default(),
        note,
    })
}

/// The unit by id (or by name when the id is left empty), compared with
/// the columns that repeat sheet 单位.
fn account_unit(
    p: &mut Problems,
    row: &Row<'_, '_>,
    register: &Register,
    unit_ids: Option<&HashMap<String, u32>>,
) -> Option<String> {
    let by_name = row.text(p, "主办单位");
    let id = match row.text(p, "主办单位ID") {
        Some(id) => id,
        None => {
            let named: Vec<&Unit> = by_name
                .as_ref()
                .map(|n| register.units.iter().filter(|u| &u.name == n).collect())
                .unwrap_or_default();
            match named[..] {
                [unit] => unit.id.clone(),
                _ => {
                    row.problem(p, "主办单位ID", "不能为空".to_string());
                    return None;
                }
            }
        }
    };
    let unit_ids = unit_ids?;
    // A unit's name where its id goes is the unit, as clerks write it —
    // when only one unit has that name.
    let id = if unit_ids.contains_key(&id) {
        id
    } else {
        let named: Vec<&Unit> = register
            .units
            .iter()
            .filter(|u| u.name == id.trim())
            .collect();
        match named[..] {
            [unit] => unit.id.clone(),
            [_, _, ..] => {
                let ids: Vec<&str> = named.iter().map(|u| u.id.as_str()).collect();
                row.problem(
                    p,
                    "主办单位ID",
                    format!(
                        "「{id}」是 {} 个单位的名称（{}），请写单位ID",
                        ids.len(),
                        ids.join("、")
                    ),
                );
                return None;
            }
            [] => id,
        }
    };
    if !unit_ids.contains_key(&id) {
        let hint = crate::registry::check::unit_hint(
            &id,
            register
                .units
                .iter()
                .map(|u| (u.id.as_str(), u.name.as_str())),
        );
        row.problem(
            p,
            "主办单位ID",
            format!("未知单位「{id}」{hint}（「单位」表中没有此单位ID或名称）"),
        );
        return None;
    }
    // A unit whose row has problems is reported there, not again here.
    let unit = register.unit(&id)?;
    let (contacts, phones) = contact_summary(register, &id);
    let kind = row.text(p, "单位类型");
    let copies: [(&str, Option<String>, String); 4] = [
        ("主办单位", by_name, unit.name.clone()),
        (
            "单位类型",
            kind.filter(|k| unit_kind_from_text(k) != Some(unit.kind)),
            unit.kind.label().to_string(),
        ),
        ("联系人", row.text(p, "联系人"), contacts),
        ("电话", row.phone(p, "电话"), phones),
    ];
    for (column, typed, stored) in copies {
        if let Some(typed) = typed {
            if column == "单位类型" || typed != stored {
                row.problem(
                    p,
                    column,
                    format!(
                        "与「单位」表不一致：单位「{id}」的{column}是「{stored}」；请在「单位」表中修改，此列仅供查看"
                    ),
                );
            }
        }
    }
    Some(id)
}

fn source(
    p: &mut Problems,
    ctx: &Context<'_>,
    row: &Row<'_, '_>,
    platform: Option<Platform>,
) -> Option<Source> {
    const ADDRESS: &str = "路由或订阅地址";
    let proxy = row.text(p, "代理");
    let address = row.text(p, ADDRESS);
    match (proxy, address) {
        (Some(proxy), Some(route)) => {
            let mut is_ok = true;
            if !ctx.proxies.contains(&proxy) {
                let known = if ctx.proxies.is_empty() {
                    "设置中没有配置任何代理".to_string()
                } else {
                    format!("已配置：{}", ctx.proxies.join("、"))
                };
                row.problem(p, "代理", format!("未配置的代理「{proxy}」（{known}）"));
                is_ok = false;
            }
            if let Err(why) = check_route(&route) {
                row.problem(p, ADDRESS, format!("{why}（实际为「{route}」）"));
                is_ok = false;
            }
            is_ok.then_some(Source::Proxy { proxy, route })
        }
        (Some(_), None) => {
            row.problem(p, ADDRESS, "填写了代理，还须填写路由".to_string());
            None
        }
        (None, Some(address)) if address.starts_with('/') => {
            row.problem(p, "代理", format!("路由「{address}」须填写代理"));
            None
        }
        (None, Some(feed)) => match check_feed_url(&feed) {
            Ok(()) => Some(Source::Feed { feed }),
            Err(why) => {
                row.problem(p, ADDRESS, format!("订阅地址「{feed}」无效：{why}"));
                None
            }
        },
        // 视频号, 人民号 …: registered for the record, checked by hand.
        (None, None) if platform.is_some_and(Platform::is_without_route) => Some(Source::Manual {}),
        (None, None) => {
            if row.table.columns.contains_key(ADDRESS) {
                row.problem(
                    p,
                    ADDRESS,
                    "不能为空：填写代理和路由，或完整的订阅地址".to_string(),
                );
            }
            None
        }
    }
}

fn check_filing(
    p: &mut Problems,
    row: &Row<'_, '_>,
    state: Option<AccountState>,
    has_date: bool,
    has_filing: bool,
) {
    if state == Some(AccountState::Deregistered) {
        if !has_date && row.table.columns.contains_key("注销日期") {
            row.problem(p, "注销日期", "状态为已注销，须填写注销日期".to_string());
        }
        if !has_filing && row.table.columns.contains_key("备案文号") {
            row.problem(p, "备案文号", "状态为已注销，须填写备案文号".to_string());
        }
    } else if state.is_some() {
        for (column, is_filled) in [("注销日期", has_date), ("备案文号", has_filing)] {
            if is_filled {
                row.problem(p, column, "只有状态为已注销的账号才填写此项".to_string());
            }
        }
    }
}
