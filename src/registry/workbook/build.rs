//! Tables of the 台账 workbook → units, accounts and threshold overrides,
//! with the checks `accounts.toml` gets (ids, names, proxies, routes, feed
//! URLs, filing data), each problem at its cell.

use super::cells::Row;
use super::read::{Grid, Grids, Problems, Table, table};
use super::{
    ACCOUNT_COLUMNS, ACCOUNT_SHEET, THRESHOLD_COLUMNS, THRESHOLD_ID_COLUMN, THRESHOLD_SHEET,
    UNIT_COLUMNS, UNIT_SHEET, unit_kind_from_text,
};
use crate::registry::check::check_name;
use crate::registry::load::Context;
use crate::registry::{Contact, Register, ThresholdOverrides, Unit, is_valid_id};
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
        let is_known = |h: &str| {
            UNIT_COLUMNS.contains(&h)
                || h == super::UNIT_CHAT_COLUMN
                || h == super::SERIAL_COLUMN
                || contact_column(h).is_some()
        };
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
    let mut has_accounts = false;
    if let Some(grid) = sheet(p, grids, ACCOUNT_SHEET, true) {
        let is_known = |h: &str| ACCOUNT_COLUMNS.contains(&h) || h == super::SERIAL_COLUMN;
        let required = REQUIRED_ACCOUNT_COLUMNS;
        if let Some(t) = table(p, ACCOUNT_SHEET, grid, "账号ID", &required, &is_known) {
            has_accounts = true;
            for &row in &t.rows {
                let row = Row { table: &t, row };
                // Without sheet 单位 (reported) every unit would be unknown.
                let units = has_units.then_some(&unit_ids);
                let found =
                    super::account::account(p, ctx, &row, &register, units, &mut account_ids);
                if let Some(account) = found {
                    register.accounts.push(account);
                }
            }
        }
    }
    // Without a readable sheet 账号 (reported) every account would be unknown.
    if let Some(grid) = sheet(p, grids, THRESHOLD_SHEET, false).filter(|_| has_accounts) {
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

/// 联系人2 → (2, 0), 联系人2电话 → (2, 1), 联系人2 Telegram ID → (2, 2),
/// 联系人2 钉钉ID → (2, 3), 联系人2 飞书OpenID → (2, 4).
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
        "钉钉id" | "钉钉 id" | "钉钉" | "dingtalk id" | "dingtalk" => 3,
        "飞书openid" | "飞书 openid" | "飞书 open id" | "飞书open_id" | "飞书 open_id" | "飞书"
        | "feishu openid" | "feishu open id" | "feishu open_id" | "feishu" => 4,
        _ => return None,
    };
    Some((n, kind))
}

/// Checks an id's form and that it is the first of its kind.
pub(super) fn checked_id(
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

pub(super) fn checked_name(p: &mut Problems, row: &Row<'_, '_>, column: &str) -> Option<String> {
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
        let [name_col, phone_col, telegram_col, dingtalk_col, feishu_col] =
            super::contact_columns(n);
        let name = row.text(p, &name_col);
        let phone = row.phone(p, &phone_col);
        let telegram_id = row.integer(p, &telegram_col);
        // Optional: workbooks written before it was added have no such column.
        let dingtalk_id = row.phone(p, &dingtalk_col).filter(|id| {
            let is_valid = id.chars().count() <= 64
                && !id.chars().any(|c| c.is_whitespace() || c.is_control());
            if !is_valid {
                row.problem(
                    p,
                    &dingtalk_col,
                    format!("钉钉ID应为 1 到 64 个字符、不含空格（实际为「{id}」）"),
                );
            }
            is_valid
        });
        // Optional too: workbooks written before it was added have none.
        let feishu_open_id = row.phone(p, &feishu_col).filter(|id| {
            let is_valid = crate::domain::is_open_id(id);
            if !is_valid {
                row.problem(
                    p,
                    &feishu_col,
                    format!(
                        "飞书OpenID应以 ou_ 开头、不超过 64 个字符、不含空格（实际为「{id}」）"
                    ),
                );
            }
            is_valid
        });
        match name {
            Some(name) => match check_name(&name) {
                Ok(()) => contacts.push(Contact {
                    name,
                    telegram_id,
                    dingtalk_id,
                    feishu_open_id,
                    phone,
                }),
                Err(why) => row.problem(p, &name_col, why.to_string()),
            },
            None if phone.is_some()
                || telegram_id.is_some()
                || dingtalk_id.is_some()
                || feishu_open_id.is_some() =>
            {
                row.problem(
                    p,
                    &name_col,
                    "填写了电话、Telegram ID、钉钉ID 或飞书OpenID，但没有联系人姓名".to_string(),
                )
            }
            None => {}
        }
    }
    // Optional: workbooks written before it was added have no such column.
    let chat =
        row.text(p, super::UNIT_CHAT_COLUMN).and_then(
            |text| match crate::registry::parse_unit_chat(&text) {
                Ok(_) => Some(text.trim().to_string()),
                Err(why) => {
                    row.problem(p, super::UNIT_CHAT_COLUMN, why);
                    None
                }
            },
        );
    if p.list.len() != before {
        return None;
    }
    Some(Unit {
        id: id?,
        name: name?,
        kind: kind?,
        contacts,
        chat,
    })
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
        assert_eq!(contact_column("联系人2 钉钉ID"), Some((2, 3)));
        assert_eq!(contact_column("联系人2 飞书OpenID"), Some((2, 4)));
        assert_eq!(contact_column("联系人4 飞书 open_id"), Some((4, 4)));
        assert_eq!(contact_column("联系人"), None);
        assert_eq!(contact_column("联系人0"), None);
        assert_eq!(contact_column("联系人1微信"), None);
        assert_eq!(contact_column("联系人99999999999999999999"), None);
    }
}
