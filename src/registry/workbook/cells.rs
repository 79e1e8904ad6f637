//! One row of a 台账 table read cell by cell: text, dates, numbers and yes/no
//! as clerks type them (trailing spaces, phone numbers stored as numbers,
//! dates as date cells, serials or text), each problem at its cell.

use super::read::{Problems, Table, Value};
use chrono::NaiveDate;

/// A data row of a table.
pub struct Row<'t, 'g> {
    pub table: &'t Table<'g>,
    pub row: u32,
}

impl Row<'_, '_> {
    /// Reports a problem at this row's cell in `column`.
    pub fn problem(&self, p: &mut Problems, column: &str, message: String) {
        let col = self.table.columns.get(column).copied().unwrap_or(0);
        p.at(self.table.sheet, (self.row, col), Some(column), message);
    }

    /// True when the cell holds anything but spaces, readable or not.
    pub fn is_filled(&self, column: &str) -> bool {
        self.value(column)
            .is_some_and(|v| !matches!(v, Value::Text(t) if t.trim().is_empty()))
    }

    fn value(&self, column: &str) -> Option<&Value> {
        self.table.get(self.row, column).map(|(_, v)| v)
    }

    /// Trimmed text; `None` when empty or not text (reported).
    pub fn text(&self, p: &mut Problems, column: &str) -> Option<String> {
        let value = self.value(column)?;
        match as_text(value) {
            Ok(text) => text,
            Err(why) => {
                self.problem(p, column, why);
                None
            }
        }
    }

    /// Text that must be there. A column missing from the header was
    /// reported once already, so its cells are not reported again.
    pub fn required(&self, p: &mut Problems, column: &str) -> Option<String> {
        if !self.table.columns.contains_key(column) {
            return None;
        }
        let text = self.text(p, column);
        if text.is_none() && !self.has_wrong_type(column) {
            self.problem(p, column, "不能为空".to_string());
        }
        text
    }

    fn has_wrong_type(&self, column: &str) -> bool {
        self.value(column).is_some_and(|v| as_text(v).is_err())
    }

    /// A phone number: text, or a number without its decimal point.
    pub fn phone(&self, p: &mut Problems, column: &str) -> Option<String> {
        match self.value(column)? {
            Value::Number(f) if f.fract() != 0.0 => {
                self.problem(p, column, format!("电话号码不应有小数（实际为 {f}）"));
                None
            }
            _ => self.text(p, column),
        }
    }

    /// A whole number, typed as a number or as text.
    pub fn integer(&self, p: &mut Problems, column: &str) -> Option<i64> {
        let value = self.value(column)?;
        let parsed = match value {
            Value::Number(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Value::Text(t) if t.trim().is_empty() => return None,
            Value::Text(t) => t.trim().parse::<i64>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.problem(p, column, format!("应为整数（实际为{}）", shown(value)));
        }
        parsed
    }

    /// A date cell, an Excel serial number, 20260301, or text such as
    /// 2026-03-01, 2026/3/1 or 2026年3月1日.
    pub fn date(&self, p: &mut Problems, column: &str) -> Option<NaiveDate> {
        let value = self.value(column)?;
        match as_date(value) {
            Ok(date) => date,
            Err(why) => {
                self.problem(p, column, why);
                None
            }
        }
    }

    /// 是/否 (and TRUE/FALSE, 有/无, 1/0); `None` when empty.
    pub fn yes_no(&self, p: &mut Problems, column: &str) -> Option<bool> {
        let value = self.value(column)?;
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::Number(f) if *f == 0.0 || *f == 1.0 => Some(*f == 1.0),
            Value::Text(t) if t.trim().is_empty() => return None,
            Value::Text(t) => super::bool_from_text(t.trim()),
            _ => None,
        };
        if parsed.is_none() {
            self.problem(
                p,
                column,
                format!("应填写「是」或「否」（实际为{}）", shown(value)),
            );
        }
        parsed
    }
}

/// How a value is named in a message: 「text」, a number, a date.
fn shown(value: &Value) -> String {
    match value {
        Value::Text(t) => format!("「{}」", t.trim()),
        Value::Number(f) => format!("数字 {}", number_text(*f)),
        Value::Bool(b) => format!("逻辑值 {}", if *b { "TRUE" } else { "FALSE" }),
        Value::Date(Some(d)) => format!("日期 {d}"),
        Value::Date(None) => "无效日期".to_string(),
        Value::Error(e) => format!("错误值 {e}"),
    }
}

/// Text of a cell: trimmed (spaces, full-width spaces, non-breaking spaces);
/// a number as Excel shows it without a format.
fn as_text(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Text(t) => {
            let t = t.trim();
            Ok((!t.is_empty()).then(|| t.to_string()))
        }
        Value::Number(f) => Ok(Some(number_text(*f))),
        Value::Bool(_) | Value::Date(_) => Err(format!("应为文字（实际为{}）", shown(value))),
        Value::Error(e) => Err(format!("单元格是错误值 {e}（公式出错？请改为数值）")),
    }
}

/// 13800138000.0 → "13800138000"; 1.5 → "1.5".
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn as_date(value: &Value) -> Result<Option<NaiveDate>, String> {
    let wrong =
        |text: &str| format!("无法识别的日期「{text}」，请写作 2026-03-01 或使用日期格式的单元格");
    match value {
        Value::Date(Some(date)) => Ok(Some(*date)),
        Value::Date(None) => Err("不是有效的日期".to_string()),
        Value::Number(f) if f.fract() == 0.0 => {
            let n = *f as i64;
            let date = if (19_000_101..=29_991_231).contains(&n) {
                NaiveDate::parse_from_str(&n.to_string(), "%Y%m%d").ok()
            } else if (1..=2_958_465).contains(&n) {
                // An Excel serial (1900 system): day 1 is 1900-01-01, with
                // Excel's phantom 1900-02-29, hence the 1899-12-30 epoch.
                NaiveDate::from_ymd_opt(1899, 12, 30)
                    .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(n.unsigned_abs())))
            } else {
                None
            };
            date.map(Some).ok_or_else(|| wrong(&number_text(*f)))
        }
        Value::Text(t) => {
            let t = t.trim();
            if t.is_empty() {
                return Ok(None);
            }
            // "2026-03-01 00:00:00" and "2026-03-01T00:00": the day is what counts.
            let day = t.split([' ', 'T']).next().unwrap_or(t);
            ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
                .iter()
                .find_map(|format| NaiveDate::parse_from_str(day, format).ok())
                .map(Some)
                .ok_or_else(|| wrong(t))
        }
        other => Err(format!("应为日期（实际为{}）", shown(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn dates_are_read_from_cells_serials_and_text() {
        for (value, expected) in [
            (Value::Date(Some(day("2026-03-01"))), "2026-03-01"),
            (Value::Number(46082.0), "2026-03-01"),
            (Value::Number(20260301.0), "2026-03-01"),
            (Value::Text(" 2026-03-01 ".into()), "2026-03-01"),
            (Value::Text("2026/3/1".into()), "2026-03-01"),
            (Value::Text("2026年3月1日".into()), "2026-03-01"),
            (Value::Text("2026-03-01 00:00:00".into()), "2026-03-01"),
        ] {
            assert_eq!(as_date(&value), Ok(Some(day(expected))), "{value:?}");
        }
        for value in [
            Value::Text("2026-02-30".into()),
            Value::Text("下个月".into()),
            Value::Number(-5.0),
            Value::Number(1.5),
            Value::Number(9.9e300),
            Value::Bool(true),
            Value::Date(None),
        ] {
            assert!(as_date(&value).is_err(), "{value:?}");
        }
        assert_eq!(as_date(&Value::Text("  ".into())), Ok(None));
    }

    #[test]
    fn numbers_read_as_text_lose_no_digit_and_gain_no_decimal_point() {
        assert_eq!(number_text(13_800_138_000.0), "13800138000");
        assert_eq!(number_text(1.5), "1.5");
        assert_eq!(
            as_text(&Value::Text("兰山发布 \u{3000}".into())),
            Ok(Some("兰山发布".to_string()))
        );
        assert!(as_text(&Value::Error("#N/A".into())).is_err());
    }
}
