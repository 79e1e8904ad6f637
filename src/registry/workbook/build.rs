//! Tables of the 台账 workbook → units, accounts and threshold overrides,
//! with the checks `accounts.toml` gets (ids, names, proxies, routes, feed
//! URLs, filing data), each problem at its cell.

use super::cells::Row;
use super::read::{Grid, Grids, Problems, Table, table};
use super::{
    ACCOUNT_COLUMNS, ACCOUNT_SHEET, THRESHOLD_COLUMNS, THRESHOLD_ID_COLUMN, THRESHOLD_SHEET,
    UNIT_COLUMNS, UNIT_SHEET, contact_summary, platform_from_text, state_from_text,
    unit_kind_from_text,
};
use crate::registry::check::{check_feed_url, check_name, check_route};
use crate::registry::load::Context;
use crate::registry::{
    Account, AccountState, Contact, Platform, Register, Source, ThresholdOverrides, Unit,
    is_valid_id,
};
use std::collections::HashMap;

/// Columns of sheet 账号 that must be there; the others repeat what sheet
/// 单位 holds and are only compared with it.
const REQUIRED_ACCOUNT_COLUMNS: [&str; 10] = [
    "账号ID",
    "账号名称",
    "主办单位ID",
    "平台",
    "代理",
    "路由或订阅地址",
    "状态",
    "注销日期",
    "备案文号",
    "互动功能",
];

/// Builds the register; the caller checks `p` for problems.
pub fn register(p: &mut Problems, grids: &Grids, ctx: &Context<'_>) -> Register {
    let mut register = Register::default();
    let mut unit_ids = HashMap::new();
    let units_grid = sheet(p, grids, UNIT_SHEET, true);
    let has_units = units_grid.is_some();
    if let Some(grid) = units_grid {
        let is_known = |h: &str| UNIT_COLUMNS.contains(&h) || contact_column(h).is_some();
        if let Some(t) = table(p, UNIT_SHEET, grid, "单位ID", &UNIT_COLUMNS, &is_known) {
            for &row in &t.rows {
                let row = Row { table: &t, row };
                if let Some(unit) = unit(p, &row, &mut unit_ids) {
                    register.units.push(unit);
                }
            }
        }
    }
    let mut account_ids = HashMap::new();
    if let Some(grid) = sheet(p, grids, ACCOUNT_SHEET, true) {
        let is_known = |h: &str| ACCOUNT_COLUMNS.contains(&h);
        let required = REQUIRED_ACCOUNT_COLUMNS;
        if let Some(t) = table(p, ACCOUNT_SHEET, grid, "账号ID", &required, &is_known) {
            for &row in &t.rows {
                let row = Row { table: &t, row };
                // Without sheet 单位 (reported) every unit would be unknown.
                let units = has_units.then_some(&unit_ids);
                let found = account(p, ctx, &row, &register, units, &mut account_ids);
                if let Some(account) = found {
                    register.accounts.push(account);
                }
            }
        }
    }
    if let Some(grid) = sheet(p, grids, THRESHOLD_SHEET, false) {
        thresholds(p, grid, &mut register, &account_ids);
    }
    register
}

fn sheet<'g>(
    p: &mut Problems,
    grids: &'g Grids,
    name: &str,
    is_required: bool,
) -> Option<&'g Grid> {
    match grids.get(name) {
        Some(Ok(grid)) => Some(grid),
        Some(Err(why)) => {
            p.sheet(name, why.clone());
            None
        }
        None if is_required => {
            let names: Vec<&str> = grids.keys().map(String::as_str).collect();
            p.sheet(
                name,
                format!(
                    "缺少工作表「{name}」（工作簿中有：{}）",
                    if names.is_empty() {
                        "无".to_string()
                    } else {
                        names.join("、")
                    }
                ),
            );
            None
        }
        None => None,
    }
}

/// 联系人2 → (2, 0), 联系人2电话 → (2, 1), 联系人2 Telegram ID → (2, 2).
fn contact_column(header: &str) -> Option<(usize, usize)> {
    let rest = header.strip_prefix("联系人")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let n: usize = rest[..digits]
        .parse()
        .ok()
        .filter(|n| (1..=20).contains(n))?;
    let kind = match rest[digits..].trim().to_ascii_lowercase().as_str() {
        "" => 0,
        "电话" => 1,
        "telegram id" | "telegramid" | "telegram" => 2,
        _ => return None,
    };
    Some((n, kind))
}

/// Checks an id's form and that it is the first of its kind.
fn checked_id(
    p: &mut Problems,
    row: &Row<'_, '_>,
    column: &str,
    what: &str,
    seen: &mut HashMap<String, u32>,
) -> Option<String> {
    let id = row.required(p, column)?;
    if !is_valid_id(&id) {
        row.problem(
            p,
            column,
            format!("{what}只能由英文字母、数字、- 和 _ 组成（实际为「{id}」）"),
        );
        return None;
    }
    if let Some(first) = seen.get(&id) {
        row.problem(
            p,
            column,
            format!("{what}「{id}」重复（第 {} 行已有）", first + 1),
        );
        return None;
    }
    seen.insert(id.clone(), row.row);
    Some(id)
}

fn checked_name(p: &mut Problems, row: &Row<'_, '_>, column: &str) -> Option<String> {
    let name = row.required(p, column)?;
    match check_name(&name) {
        Ok(()) => Some(name),
        Err(why) => {
            row.problem(p, column, why.to_string());
            None
        }
    }
}

fn unit(p: &mut Problems, row: &Row<'_, '_>, seen: &mut HashMap<String, u32>) -> Option<Unit> {
    let before = p.list.len();
    let id = checked_id(p, row, "单位ID", "单位ID", seen);
    let name = checked_name(p, row, "单位名称");
    let kind = row.required(p, "单位类型").and_then(|text| {
        let kind = unit_kind_from_text(&text);
        if kind.is_none() {
            row.problem(
                p,
                "单位类型",
                format!("未知单位类型「{text}」，可选：部门、镇街"),
            );
        }
        kind
    });
    let mut groups: Vec<usize> = row
        .table
        .columns
        .keys()
        .filter_map(|h| contact_column(h).map(|(n, _)| n))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let mut contacts = Vec::new();
    for n in groups {
        let [name_col, phone_col, telegram_col] = super::contact_columns(n);
        let name = row.text(p, &name_col);
        let phone = row.phone(p, &phone_col);
        let telegram_id = row.integer(p, &telegram_col);
        match name {
            Some(name) => match check_name(&name) {
                Ok(()) => contacts.push(Contact {
                    name,
                    telegram_id,
                    phone,
                }),
                Err(why) => row.problem(p, &name_col, why.to_string()),
            },
            None if phone.is_some() || telegram_id.is_some() => row.problem(
                p,
                &name_col,
                "填写了电话或 Telegram ID，但没有联系人姓名".to_string(),
            ),
            None => {}
        }
    }
    if p.list.len() != before {
        return None;
    }
    Some(Unit {
        id: id?,
        name: name?,
        kind: kind?,
        contacts,
    })
}

fn account(
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
            row.problem(
                p,
                "平台",
                format!("未知平台「{text}」，可选：{}", labels.join("、")),
            );
        }
        platform
    });
    let source = source(p, ctx, row);
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
    if !unit_ids.contains_key(&id) {
        row.problem(
            p,
            "主办单位ID",
            format!("未知单位「{id}」（「单位」表中没有此单位ID）"),
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

fn source(p: &mut Problems, ctx: &Context<'_>, row: &Row<'_, '_>) -> Option<Source> {
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

/// Sheet 阈值: overrides in days for accounts of sheet 账号.
fn thresholds(
    p: &mut Problems,
    grid: &Grid,
    register: &mut Register,
    account_ids: &HashMap<String, u32>,
) {
    let is_known =
        |h: &str| h == THRESHOLD_ID_COLUMN || THRESHOLD_COLUMNS.iter().any(|(_, c)| *c == h);
    let required = [THRESHOLD_ID_COLUMN];
    let Some(t): Option<Table<'_>> = table(
        p,
        THRESHOLD_SHEET,
        grid,
        THRESHOLD_ID_COLUMN,
        &required,
        &is_known,
    ) else {
        return;
    };
    let mut seen = HashMap::new();
    for &row in &t.rows {
        let row = Row { table: &t, row };
        let Some(id) = checked_id(p, &row, THRESHOLD_ID_COLUMN, "账号ID", &mut seen) else {
            continue;
        };
        if !account_ids.contains_key(&id) {
            row.problem(
                p,
                THRESHOLD_ID_COLUMN,
                format!("未知账号「{id}」（「账号」表中没有此账号ID）"),
            );
            continue;
        }
        let mut overrides = ThresholdOverrides::default();
        for (key, column) in THRESHOLD_COLUMNS {
            let Some(days) = row.integer(p, column) else {
                continue;
            };
            match u32::try_from(days) {
                Ok(days) if days > 0 => {
                    overrides.set(key, days);
                }
                _ => row.problem(p, column, format!("应为正整数天数（实际为 {days}）")),
            }
        }
        if let Some(account) = register.accounts.iter_mut().find(|a| a.id == id) {
            account.thresholds = overrides;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_columns_are_recognised_by_number_and_kind() {
        assert_eq!(contact_column("联系人1"), Some((1, 0)));
        assert_eq!(contact_column("联系人2电话"), Some((2, 1)));
        assert_eq!(contact_column("联系人3 Telegram ID"), Some((3, 2)));
        assert_eq!(contact_column("联系人"), None);
        assert_eq!(contact_column("联系人0"), None);
        assert_eq!(contact_column("联系人1微信"), None);
        assert_eq!(contact_column("联系人99999999999999999999"), None);
    }
}
