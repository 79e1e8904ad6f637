//! The register (台账) as an Excel workbook, the way clerks keep it.
//!
//! In: a [`Register`] ([`write`]) or the bytes of an `.xlsx` file ([`read`]).
//! Out: the workbook, or a validated [`Register`] with every problem located
//! by sheet, row and column letter, in Chinese.
//!
//! Layout (what [`write`] produces and [`read`] expects):
//! - sheet 账号: one row per account, columns [`ACCOUNT_COLUMNS`];
//! - sheet 单位: one row per unit: 单位ID, 单位名称, 单位类型, then for each
//!   contact 联系人N, 联系人N电话, 联系人N Telegram ID, 联系人N 钉钉ID (optional),
//!   联系人N 飞书OpenID (optional);
//! - sheet 阈值 (optional): per-account threshold overrides in days.

mod account;
mod build;
mod cells;
pub mod read;
pub mod write;

use super::{AccountState, Platform, Register, UnitKind};
use std::fmt;

pub const ACCOUNT_SHEET: &str = "账号";
pub const UNIT_SHEET: &str = "单位";
pub const THRESHOLD_SHEET: &str = "阈值";

/// The columns of sheet 账号, in the order they are written.
pub const ACCOUNT_COLUMNS: [&str; 15] = [
    "账号ID",
    "账号名称",
    "主办单位ID",
    "主办单位",
    "单位类型",
    "平台",
    "代理",
    "路由或订阅地址",
    "状态",
    "注销日期",
    "备案文号",
    "互动功能",
    "联系人",
    "电话",
    NOTE_COLUMN,
];

/// Sheet 账号: the clerk's note, kept with the account.
pub const NOTE_COLUMN: &str = "备注";
/// Sheet 账号 (and 单位): a row number clerks add; read and ignored.
pub const SERIAL_COLUMN: &str = "序号";

/// The fixed columns of sheet 单位; contact columns follow.
pub const UNIT_COLUMNS: [&str; 3] = ["单位ID", "单位名称", "单位类型"];
/// Sheet 单位, after the contacts: the unit's own group (optional).
pub const UNIT_CHAT_COLUMN: &str = "单位群聊";

/// Sheet 阈值: the account, then one column per threshold key.
pub const THRESHOLD_ID_COLUMN: &str = "账号ID";

/// (`accounts.toml` key, column header) of each threshold override.
pub const THRESHOLD_COLUMNS: [(&str, &str); 5] = [
    ("warning_days", "更新预警天数"),
    ("stale_days", "超两周未更新天数"),
    ("stale_1m_days", "超1个月未更新天数"),
    ("zombie_days", "疑似僵尸账号天数"),
    ("stale_6m_days", "超6个月未更新天数"),
];

/// The five column headers of contact `n` (1-based) in sheet 单位.
pub fn contact_columns(n: usize) -> [String; CONTACT_COLUMN_COUNT] {
    [
        format!("联系人{n}"),
        format!("联系人{n}电话"),
        format!("联系人{n} Telegram ID"),
        format!("联系人{n} 钉钉ID"),
        format!("联系人{n} 飞书OpenID"),
    ]
}

/// How many columns each contact has in sheet 单位.
pub const CONTACT_COLUMN_COUNT: usize = 5;

/// The most rows read from one sheet; a longer sheet is refused.
pub const MAX_ROWS: u32 = 200_000;
/// The most columns read from one sheet; content further right is refused.
/// (The three unit columns and five for each of 20 contacts fit.)
pub const MAX_COLUMNS: u32 = 104;
/// The largest file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;
/// The most bytes the parts of the file may unpack to (a zip bomb is refused).
pub const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;

/// A platform from its label (微博), a common name (公众号) or its id
/// (weibo): the same names the TOML file, the CLI and chat accept.
pub fn platform_from_text(text: &str) -> Option<Platform> {
    Platform::from_name(text)
}

/// A state from its label (正常运维), a common name (拟关停) or its id.
pub fn state_from_text(text: &str) -> Option<AccountState> {
    let aliases: [(&str, AccountState); 4] = [
        ("正常", AccountState::Active),
        ("拟关停", AccountState::Closing),
        ("正在注销", AccountState::Closing),
        ("已注销（已备案）", AccountState::Deregistered),
    ];
    AccountState::ALL
        .into_iter()
        .find(|s| s.label() == text || s.id() == text.to_ascii_lowercase())
        .or_else(|| aliases.iter().find(|(a, _)| *a == text).map(|(_, s)| *s))
}

/// A unit kind from its label (部门, 镇街) or its id.
pub fn unit_kind_from_text(text: &str) -> Option<UnitKind> {
    [UnitKind::Department, UnitKind::Town]
        .into_iter()
        .find(|k| k.label() == text || k.id() == text.to_ascii_lowercase())
        .or(match text {
            "镇" | "街道" | "镇街园区" | "园区" => Some(UnitKind::Town),
            _ => None,
        })
}

/// 是/否 and the other ways a yes/no is written.
pub fn bool_from_text(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "是" | "有" | "true" | "yes" | "y" | "1" => Some(true),
        "否" | "无" | "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

pub fn bool_label(value: bool) -> &'static str {
    if value { "是" } else { "否" }
}

/// The column letters of a 0-based column index: 0 → A, 26 → AA.
pub fn column_letters(index: u32) -> String {
    // A sheet has at most 16,384 columns (XFD); anything beyond is shown as the last.
    rust_xlsxwriter::column_number_to_name(u16::try_from(index).unwrap_or(u16::MAX))
}

/// Where a problem is: the sheet, and the cell (with its column's header) if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    pub file: String,
    pub sheet: Option<String>,
    /// 0-based (row, column) of the cell.
    pub cell: Option<(u32, u32)>,
    /// The header of the cell's column, named in the message.
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(sheet) = &self.sheet {
            write!(f, " {sheet}")?;
            if let Some((row, col)) = self.cell {
                write!(f, "!{}{}", column_letters(col), row + 1)?;
            }
        }
        if let Some(column) = &self.column {
            write!(f, "（{column}）")?;
        }
        write!(f, "：{}", self.message)
    }
}

/// Everything wrong with a register workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbookError {
    pub problems: Vec<CellProblem>,
}

impl fmt::Display for WorkbookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "台账有 {} 处问题：", self.problems.len())?;
        for problem in &self.problems {
            writeln!(f, "  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WorkbookError {}

/// The contacts of a unit as the 账号 sheet shows them: names, and phones.
pub fn contact_summary(register: &Register, unit: &str) -> (String, String) {
    let Some(unit) = register.unit(unit) else {
        return (String::new(), String::new());
    };
    let names: Vec<&str> = unit.contacts.iter().map(|c| c.name.as_str()).collect();
    let phones: Vec<&str> = unit
        .contacts
        .iter()
        .filter_map(|c| c.phone.as_deref())
        .collect();
    (names.join("、"), phones.join("、"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_run_like_excel() {
        for (index, letters) in [
            (0, "A"),
            (5, "F"),
            (25, "Z"),
            (26, "AA"),
            (63, "BL"),
            (701, "ZZ"),
            (702, "AAA"),
        ] {
            assert_eq!(column_letters(index), letters);
        }
    }

    #[test]
    fn display_values_and_ids_are_both_understood() {
        assert_eq!(platform_from_text("微博"), Some(Platform::Weibo));
        assert_eq!(platform_from_text("weibo"), Some(Platform::Weibo));
        assert_eq!(
            platform_from_text("公众号"),
            Some(Platform::WechatSubscription)
        );
        assert_eq!(platform_from_text("网站/RSS"), Some(Platform::Website));
        assert_eq!(platform_from_text("抖音号"), Some(Platform::Douyin));
        assert_eq!(platform_from_text("视频号"), Some(Platform::WechatChannels));
        assert_eq!(platform_from_text("传真号"), None);
        assert_eq!(state_from_text("已注销"), Some(AccountState::Deregistered));
        assert_eq!(state_from_text("拟关停"), Some(AccountState::Closing));
        assert_eq!(state_from_text("closing"), Some(AccountState::Closing));
        assert_eq!(unit_kind_from_text("镇街"), Some(UnitKind::Town));
        assert_eq!(
            unit_kind_from_text("department"),
            Some(UnitKind::Department)
        );
        assert_eq!(bool_from_text("否"), Some(false));
        assert_eq!(bool_from_text("TRUE"), Some(true));
        assert_eq!(bool_from_text("也许"), None);
    }
}
