//! A year's 法定节假日安排 brought in by hand (`xunjian holidays import`):
//! holiday-cn's JSON, or the State Council notice's dates typed as a small
//! TOML file:
//!
//! ```toml
//! year = 2027
//! [[holiday]]
//! name = "春节"
//! off = ["2027-02-06", "2027-02-07", "2027-02-08"]   # 放假
//! work = ["2027-01-31"]                               # 调休上班
//! ```
//!
//! Out: the year in holiday-cn's JSON (what the database keeps), or a
//! Chinese error that says what and where.

use chrono::{Datelike as _, NaiveDate, Weekday};
use serde::Deserialize;
use serde_json::json;

/// One year's arrangement, ready to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct HolidayYear {
    pub year: i32,
    /// holiday-cn JSON of the year.
    pub json: String,
    /// Days off and make-up workdays.
    pub off_days: usize,
    pub work_days: usize,
    /// The holidays, in date order.
    pub names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedYear {
    year: i32,
    #[serde(default)]
    holiday: Vec<TypedHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedHoliday {
    name: String,
    #[serde(default)]
    off: Vec<String>,
    #[serde(default)]
    work: Vec<String>,
}

#[derive(Deserialize)]
struct JsonYear {
    year: i32,
    days: Vec<JsonDay>,
}

#[derive(Deserialize)]
struct JsonDay {
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// Reads a holiday file (`.json` as holiday-cn, anything else as the TOML
/// above); `file` names it in errors.
pub fn read_holidays(file: &str, text: &str) -> Result<HolidayYear, String> {
    let is_json =
        file.to_ascii_lowercase().ends_with(".json") || text.trim_start().starts_with('{');
    let (year, days) = if is_json {
        let parsed: JsonYear = serde_json::from_str(text)
            .map_err(|e| format!("{file}：不是 holiday-cn 格式的 JSON（{e}）"))?;
        let days = parsed
            .days
            .into_iter()
            .map(|d| (d.name, d.date, d.is_off_day))
            .collect::<Vec<_>>();
        (parsed.year, days)
    } else {
        let parsed: TypedYear =
            toml::from_str(text).map_err(|e| crate::domain::toml_error::explain(file, text, &e))?;
        let mut days = Vec::new();
        for h in parsed.holiday {
            for date in h.off {
                days.push((h.name.clone(), date, true));
            }
            for date in h.work {
                days.push((h.name.clone(), date, false));
            }
        }
        (parsed.year, days)
    };
    if !(2000..=2100).contains(&year) {
        return Err(format!("{file}：年份 {year} 无效"));
    }
    if days.is_empty() {
        return Err(format!(
            "{file}：{year} 年没有任何放假或调休日期（通知尚未发布时无需导入）"
        ));
    }
    let mut checked: Vec<(String, NaiveDate, bool)> = Vec::new();
    for (name, text, is_off) in days {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(format!("{file}：日期 {text} 缺少节日名称"));
        }
        if name.chars().any(crate::domain::is_hidden_control) || name.chars().count() > 20 {
            return Err(format!(
                "{file}：日期 {text} 的节日名称无效（最多 20 个字符，不能含控制字符）"
            ));
        }
        let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{file}：{name}的日期「{text}」无效，请写作 {year}-01-01"))?;
        // 调休 may fall in the last days of the year before (元旦, 春节).
        if date.year() != year && !(date.year() == year - 1 && date.month() == 12) {
            return Err(format!("{file}：{name}的日期 {date} 不在 {year} 年"));
        }
        let is_weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if !is_off && !is_weekend {
            return Err(format!(
                "{file}：{name}的调休上班日 {date} 不是周末（调休上班日应为周六或周日）"
            ));
        }
        if let Some((other, _, _)) = checked.iter().find(|(_, d, _)| *d == date) {
            return Err(format!("{file}：日期 {date} 出现两次（{other}、{name}）"));
        }
        checked.push((name, date, is_off));
    }
    checked.sort_by_key(|(_, date, _)| *date);
    let mut names: Vec<String> = Vec::new();
    for (name, _, _) in &checked {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let off_days = checked.iter().filter(|(_, _, off)| *off).count();
    let days: Vec<serde_json::Value> = checked
        .iter()
        .map(|(name, date, off)| json!({ "name": name, "date": date.to_string(), "isOffDay": off }))
        .collect();
    Ok(HolidayYear {
        year,
        json: json!({ "year": year, "papers": [], "days": days }).to_string(),
        off_days,
        work_days: checked.len() - off_days,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_notice_becomes_holiday_cn_data_and_mistakes_are_named() {
        let typed = "year = 2027\n[[holiday]]\nname = \"元旦\"\noff = [\"2027-01-01\"]\n\n\
                     [[holiday]]\nname = \"春节\"\noff = [\"2027-02-06\", \"2027-02-07\"]\nwork = [\"2027-01-31\"]\n";
        let year = read_holidays("2027.toml", typed).expect("reads");
        assert_eq!((year.year, year.off_days, year.work_days), (2027, 3, 1));
        assert_eq!(year.names, vec!["元旦", "春节"]);
        let mut calendar = super::super::Calendar::default();
        calendar
            .add_json("2027.toml", &year.json)
            .expect("valid holiday-cn");
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert!(!calendar.is_workday(day("2027-02-08") - chrono::Days::new(1)));
        assert!(calendar.is_workday(day("2027-01-31")), "调休上班");
        assert!(calendar.has_year(2027));

        let json = year.json.clone();
        assert_eq!(read_holidays("2027.json", &json).map(|y| y.off_days), Ok(3));
        let cases = [
            ("year = 2027\n", "没有任何放假或调休日期"),
            (
                "year = 2027\n[[holiday]]\nname = \"春节\"\noff = [\"2027-2-30\"]\n",
                "春节的日期「2027-2-30」无效",
            ),
            (
                "year = 2027\n[[holiday]]\nname = \"春节\"\nwork = [\"2027-02-03\"]\n",
                "不是周末",
            ),
            (
                "year = 2027\n[[holiday]]\nname = \"国庆\"\noff = [\"2028-10-01\"]\n",
                "不在 2027 年",
            ),
            ("year = 2027\nholidays = 1\n", "是否为 `holiday`"),
            ("{\"year\": 2027}", "不是 holiday-cn 格式"),
            (
                "year = 2027\n[[holiday]]\nname = \"春\\u0007节\\n假行\"\noff = [\"2027-02-06\"]\n",
                "节日名称无效",
            ),
        ];
        for (text, wanted) in cases {
            let err = read_holidays("x.toml", text).expect_err(wanted);
            assert!(err.contains(wanted), "{text}: {err}");
        }
    }
}
